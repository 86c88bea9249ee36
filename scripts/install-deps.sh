#!/usr/bin/env bash
# Installs what Keybearer needs to build, run and test on Debian/Ubuntu,
# and nothing that is already there. Safe to run again; never prompts.
# Usage: scripts/install-deps.sh [run|test|bench|fuzz]   (test adds the
# test-only tools; bench adds nginx and wrk; fuzz adds the nightly Rust
# toolchain and cargo-fuzz, which only `make fuzz` uses: `make test` never
# needs nightly)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-test}"

packages=(
    # Rust build: C toolchain (bundled SQLite), libdbus (Secret Service client)
    build-essential pkg-config libdbus-1-dev curl ca-certificates file
    # Tauri 2 desktop shell
    libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev patchelf
    # the sandbox agents run in (bubblewrap)
    bubblewrap
    # Python virtual environments: Node from PyPI where the system's is too
    # old (scripts/setup-node.sh), the test peers, the macOS check's tools
    python3-venv
)
if [ "$purpose" = "bench" ]; then
    # the benchmark's reference proxy and load generator
    packages+=(nginx-light wrk)
fi
if [ "$purpose" = "test" ]; then
    packages+=(
        # a real Secret Service on a private D-Bus, and secret-tool to wipe entries
        dbus-daemon dbus-x11 gnome-keyring libsecret-tools
        # the real window, headless, driven through WebDriver
        xvfb xauth webkit2gtk-driver
        # a root nginx whose workers run as another user, for the loopback
        # owner check (crates/vault/tests/proxy_loopback.rs)
        nginx-light
        # the Windows build check (cargo clippy --target x86_64-pc-windows-gnu):
        # bundled SQLite and ring are C, compiled with MinGW
        gcc-mingw-w64-x86-64
        # the Windows build's tests run under Wine (scripts/windows-test.sh);
        # its installer is built with makensis and listed with 7-Zip
        wine64 nsis p7zip-full
        # settings files killed mid-write: SIGKILL injected at every file
        # system call (crates/cli/tests/apps_crash.rs)
        strace
    )
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js 20 or newer for the UI build: the system's, or official binaries
# from PyPI in .tools/node (which the Makefile puts first on the PATH).
# Fuzzing builds no UI.
if [ "$purpose" != "fuzz" ]; then
    scripts/setup-node.sh
    export PATH="$PWD/.tools/node/bin:$PATH"
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    echo "Installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
fi
export PATH="$HOME/.cargo/bin:$PATH"
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done

if [ "$purpose" = "fuzz" ]; then
    # cargo fuzz needs a nightly toolchain (libFuzzer's coverage
    # instrumentation); it sits beside the stable one, which builds
    # everything else.
    if ! rustc +nightly --version >/dev/null 2>&1; then
        echo "Installing the nightly Rust toolchain for cargo fuzz"
        rustup toolchain install nightly --profile minimal
    fi
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        echo "Installing cargo-fuzz"
        cargo install cargo-fuzz --version 0.13.2 --locked --quiet
    fi
    exit 0
fi

# The web UI's packages, exactly as locked.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    echo "Installing the UI's npm packages"
    npm ci --prefix ui --no-audit --no-fund --loglevel=error
fi

if [ "$purpose" = "test" ]; then
    if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
        echo "Adding the Rust target for the Windows build check"
        rustup target add x86_64-pc-windows-gnu
    fi
    # The macOS build check (scripts/macos-check.sh): its Rust target, zig and cargo-zigbuild.
    scripts/setup-macos-check.sh
    if ! command -v tauri-driver >/dev/null 2>&1; then
        echo "Installing tauri-driver"
        cargo install tauri-driver --version 2.1.0 --locked --quiet
    fi
    scripts/setup-mcp-venv.sh
    # The OpenBao server the team-vault tests start (crates/team/tests).
    scripts/setup-openbao.sh
    # The TypeScript SDK v2 MCP peers (tests/mcp-peers-ts), exactly as locked.
    if [ ! -d tests/mcp-peers-ts/node_modules ] || [ tests/mcp-peers-ts/package-lock.json -nt tests/mcp-peers-ts/node_modules/.package-lock.json ]; then
        echo "Installing the TypeScript MCP peers' npm packages"
        npm ci --prefix tests/mcp-peers-ts --no-audit --no-fund --loglevel=error
    fi
    # The OpenID Connect provider the team OIDC sign-in test trusts (tests/oidc-peer), exactly as locked.
    if [ ! -d tests/oidc-peer/node_modules ] || [ tests/oidc-peer/package-lock.json -nt tests/oidc-peer/node_modules/.package-lock.json ]; then
        echo "Installing the OIDC provider's npm packages"
        npm ci --prefix tests/oidc-peer --no-audit --no-fund --loglevel=error
    fi
    # The real AI agent clients the app-connection tests run (tests/agents), exactly as locked.
    if [ ! -d tests/agents/node_modules ] || [ tests/agents/package-lock.json -nt tests/agents/node_modules/.package-lock.json ]; then
        echo "Installing the agent clients' npm packages"
        npm ci --prefix tests/agents --no-audit --no-fund --loglevel=error
    fi
fi
if [ "$purpose" = "bench" ]; then
    # mcp-remote, for the bridge's start-up comparison (tests/bench-peers).
    if [ ! -d tests/bench-peers/node_modules ] || [ tests/bench-peers/package-lock.json -nt tests/bench-peers/node_modules/.package-lock.json ]; then
        echo "Installing mcp-remote for the benchmarks"
        npm ci --prefix tests/bench-peers --no-audit --no-fund --loglevel=error
    fi
fi
