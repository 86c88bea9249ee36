#!/usr/bin/env bash
# Prepares the Wine prefix that runs Keybearer's Windows build in `make test`
# (scripts/windows-test.sh): a 64-bit prefix in .tools/wine, with the
# ProcessPrng stand-in built from scripts/windows/bcryptprimitives.c (Rust's
# standard library needs it; Wine 8 lacks it). Needs Debian's wine64 and
# gcc-mingw-w64-x86-64 (scripts/install-deps.sh test installs both) and no
# display. Idempotent: the prefix is made once, the DLL rebuilt when its
# source changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source="$root/scripts/windows/bcryptprimitives.c"
export WINEPREFIX="$root/.tools/wine"
export WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine=/usr/lib/wine/wine64
system32="$WINEPREFIX/drive_c/windows/system32"
stamp="$WINEPREFIX/.bcryptprimitives.sha256"

if [ ! -x "$wine" ]; then
    echo "Wine (Debian's wine64) is missing: run scripts/install-deps.sh test" >&2
    exit 1
fi
# A prefix whose first start was cut short has no system32: make it again.
if [ -d "$WINEPREFIX" ] && [ ! -f "$system32/kernel32.dll" ]; then
    rm -rf "$WINEPREFIX"
fi
if [ ! -d "$WINEPREFIX" ]; then
    echo "Creating the Wine prefix for the Windows tests"
    mkdir -p "$(dirname "$WINEPREFIX")"
    "$wine" wineboot -i >/dev/null 2>&1
    /usr/lib/wine/wineserver -w
fi
want="$(sha256sum "$source" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -f "$system32/bcryptprimitives.dll" ]; then
    x86_64-w64-mingw32-gcc -shared -O2 -s -static-libgcc -Wall -Werror \
        -o "$system32/bcryptprimitives.dll" "$source" -ladvapi32
    echo "$want" > "$stamp"
fi
