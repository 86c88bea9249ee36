#!/usr/bin/env bash
# Installs what the macOS compile check (scripts/macos-check.sh) needs: the
# Rust target aarch64-apple-darwin and a Python virtual environment in
# .tools/macos-check with zig and cargo-zigbuild (PyPI, versions in
# scripts/macos-check/requirements.txt). Idempotent and quiet: pip runs only
# when the venv is missing or the requirements changed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/macos-check"
requirements="$root/scripts/macos-check/requirements.txt"
stamp="$venv/.requirements.sha256"
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-apple-darwin; then
    echo "Adding the Rust target for the macOS build check"
    rustup target add aarch64-apple-darwin
fi

# A venv whose interpreter no longer runs (its base Python was removed) is rebuilt.
if [ -d "$venv" ] && ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
fi
if [ ! -d "$venv" ]; then
    # Debian's python3 ships without ensurepip unless python3-venv is installed
    # (scripts/install-deps.sh test installs it before calling this).
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
fi
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing zig and cargo-zigbuild for the macOS build check"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$want" > "$stamp"
fi
