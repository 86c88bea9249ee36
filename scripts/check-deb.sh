#!/usr/bin/env bash
# Checks the .deb `make deb` built (target/release/bundle/deb/): its control
# data declares what the features need — the desktop libraries, bubblewrap
# for sandboxed sessions (the default), a Secret Service provider as a
# recommendation — names a maintainer and says what it is; and it holds both
# programs and the menu entry. Usage: scripts/check-deb.sh [PACKAGE.deb]
set -euo pipefail
cd "$(dirname "$0")/.."
deb="${1:-$(ls -t target/release/bundle/deb/*.deb | head -n 1)}"
fail() { echo "$deb: $*" >&2; exit 1; }

field() { dpkg-deb --field "$deb" "$1"; }
depends="$(field Depends)"
for needed in libwebkit2gtk-4.1-0 libgtk-3-0 bubblewrap; do
    grep -qw -- "$needed" <<<"$depends" || fail "Depends lacks $needed: $depends"
done
grep -qw gnome-keyring <<<"$(field Recommends)" || fail "Recommends lacks a Secret Service provider"
maintainer="$(field Maintainer)"
grep -Eq '^[^<]+ <[^@>]+@[^>]+>$' <<<"$maintainer" || fail "Maintainer is not 'Name <address>': $maintainer"
description="$(field Description)"
[ "$(wc -l <<<"$description")" -ge 2 ] || fail "Description has no long text: $description"
[ "$(field Package)" = "keybearer" ] || fail "Package is $(field Package)"

contents="$(dpkg-deb --contents "$deb")"
# Paths as dpkg-deb lists them, with or without a leading "./".
for path in usr/bin/keybearer usr/bin/keybearer-app; do
    grep -Eq " (\./)?$path\$" <<<"$contents" || fail "does not install /$path"
done
grep -Eq ' (\./)?usr/share/applications/[^/]+\.desktop$' <<<"$contents" || fail "has no menu entry"
echo "$deb: control data and contents as expected"
