#!/usr/bin/env bash
# Checks a Windows installer built by scripts/windows-installer.sh, twice:
# 7-Zip lists it (it must hold the app, the command line and
# WebView2Loader.dll, the programs byte for byte the ones built in FOLDER),
# then it is run under Wine, silently, in a throwaway copy of the test prefix
# (scripts/setup-wine.sh): the files land in %LOCALAPPDATA%\Programs\Keybearer
# (no administrator prompt), the Start-menu entry and the Settings → Apps
# entry exist, the installed command line runs; then the uninstaller removes
# all of that and leaves the user's data (%APPDATA%\keybearer) alone.
# Usage: scripts/check-windows-installer.sh SETUP.exe FOLDER
set -euo pipefail
cd "$(dirname "$0")/.."
setup="$1"
built="$2"
fail() { echo "$setup: $*" >&2; exit 1; }

work="$(mktemp -d -t keybearer-installer.XXXXXX)"
export WINEPREFIX="$work/prefix" WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine=/usr/lib/wine/wine64
cleanup() {
    /usr/lib/wine/wineserver -k 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

7z x -y -o"$work/unpacked" "$setup" >/dev/null || fail "7-Zip cannot read it"
for file in keybearer-app.exe keybearer.exe WebView2Loader.dll uninstall.exe; do
    [ -f "$work/unpacked/$file" ] || fail "does not hold $file (holds: $(ls "$work/unpacked" | tr '\n' ' '))"
done
cmp -s "$work/unpacked/keybearer-app.exe" "$built/keybearer-app.exe" || fail "keybearer-app.exe is not the one built"
cmp -s "$work/unpacked/keybearer.exe" "$built/keybearer.exe" || fail "keybearer.exe is not the one built"

scripts/setup-wine.sh
cp -a .tools/wine "$WINEPREFIX"
user="$WINEPREFIX/drive_c/users/$(id -un)"
installed="$user/AppData/Local/Programs/Keybearer"
shortcut="$user/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Keybearer.lnk"
key='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\Keybearer'

"$wine" "$setup" /S
/usr/lib/wine/wineserver -w
for file in keybearer-app.exe keybearer.exe WebView2Loader.dll uninstall.exe; do
    [ -f "$installed/$file" ] || fail "did not install $file in %LOCALAPPDATA%\\Programs\\Keybearer"
done
[ -f "$shortcut" ] || fail "made no Start-menu entry"
entry="$("$wine" reg query "$key" 2>/dev/null | tr -d '\r')"
grep -q 'DisplayName *REG_SZ *Keybearer$' <<<"$entry" || fail "is not listed in Settings → Apps: $entry"
grep -q 'UninstallString *REG_SZ *"C:\\users\\.*\\uninstall.exe"$' <<<"$entry" || fail "names no uninstaller: $entry"
version="$("$wine" "$installed/keybearer.exe" --version | tr -d '\r')"
[[ "$version" == keybearer* ]] || fail "the installed command line does not run: $version"

# The user's data, which the uninstaller must leave alone.
data="$user/AppData/Roaming/keybearer"
mkdir -p "$data"
echo "the user's vaults" >"$data/kept"
"$wine" "$installed/uninstall.exe" /S
/usr/lib/wine/wineserver -w
[ ! -e "$installed" ] || fail "the uninstaller left $(ls "$installed" | tr '\n' ' ')"
[ ! -e "$shortcut" ] || fail "the uninstaller left the Start-menu entry"
if "$wine" reg query "$key" >/dev/null 2>&1; then fail "the uninstaller left the Settings → Apps entry"; fi
[ -f "$data/kept" ] || fail "the uninstaller removed the user's data"
echo "$setup ($(du -h "$setup" | cut -f1)): installs per user (app, command line, WebView2Loader.dll, Start menu, Settings → Apps) and uninstalls cleanly, keeping the user's data (under Wine)"
