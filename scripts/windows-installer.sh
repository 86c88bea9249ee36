#!/usr/bin/env bash
# Builds Keybearer's Windows installer (installer/windows/keybearer.nsi) with
# Debian's makensis, then checks what it holds (scripts/check-windows-installer.sh).
# Usage: scripts/windows-installer.sh [release|debug]
#   release (`make windows-installer`): optimised programs, LZMA; the
#     installer lands in target/x86_64-pc-windows-gnu/release/bundle/nsis/.
#   debug (`make test`): the test build's programs, zlib (quick to pack);
#     the same script and the same contents, only bigger.
# The check lists it with 7-Zip and installs and uninstalls it under Wine
# (scripts/check-windows-installer.sh); the app it installs cannot be opened
# there (no WebView2).
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"
target=x86_64-pc-windows-gnu
dir="target/$target/$profile"

flags=(--target "$target" -p keybearer-app -p keybearer-cli)
compressor=zlib
if [ "$profile" = "release" ]; then
    flags+=(--release)
    compressor=lzma
fi
cargo build "${flags[@]}"

# The MinGW build of the window loads WebView2Loader.dll at run time; the
# webview2-com-sys build script leaves Microsoft's copy in its output folder.
loader="$(ls -t "$dir"/build/webview2-com-sys-*/out/x64/WebView2Loader.dll | head -n 1)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
out="$dir/bundle/nsis/Keybearer_${version}_x64-setup.exe"
mkdir -p "$(dirname "$out")"
makensis -V2 -INPUTCHARSET UTF8 \
    -DVERSION="$version" \
    -DAPP_EXE="$PWD/$dir/keybearer-app.exe" \
    -DCLI_EXE="$PWD/$dir/keybearer.exe" \
    -DLOADER_DLL="$PWD/$loader" \
    -DICON="$PWD/icons/icon.ico" \
    -DOUTFILE="$PWD/$out" \
    -DCOMPRESSOR="$compressor" \
    installer/windows/keybearer.nsi
scripts/check-windows-installer.sh "$out" "$dir"
