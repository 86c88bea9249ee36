#!/usr/bin/env bash
# Regenerates every app icon from the one source image, icons/source.svg.
# Needs rsvg-convert (Debian: librsvg2-bin) and npm. The results are committed.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rsvg-convert -w 1024 -h 1024 icons/source.svg -o "$tmp/icon-1024.png"
npx --yes @tauri-apps/cli@2.12.5 icon "$tmp/icon-1024.png" --output icons
# Only the desktop sizes are used; mobile folders are not needed.
rm -rf icons/android icons/ios
