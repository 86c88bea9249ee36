#!/usr/bin/env bash
# Installs what Agent Vault needs to build and test on Debian/Ubuntu, and
# nothing that is already there. Safe to run again; never prompts.
set -euo pipefail

# Build: a C toolchain for bundled SQLite, libdbus for the Secret Service client.
# Tests: a real Secret Service (GNOME Keyring on a private D-Bus) and secret-tool
# to wipe keychain entries the way a user's tool would.
packages=(
    build-essential pkg-config libdbus-1-dev
    dbus-daemon dbus-x11 gnome-keyring libsecret-tools
    curl ca-certificates
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        echo "Rust is installed in ~/.cargo/bin; add it to PATH (source ~/.cargo/env)." >&2
    else
        echo "Installing the Rust toolchain with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    fi
fi
export PATH="$HOME/.cargo/bin:$PATH"
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done
