#!/usr/bin/env bash
# The macOS compile check: clippy, warnings as errors, for the whole
# workspace built for Apple silicon (aarch64-apple-darwin), with zig as the
# C cross compiler (docs/architecture.md, "Platforms"). Check only: linking
# a macOS binary needs Apple's SDK frameworks, which are not here, so
# nothing built here runs on a Mac. Installed by scripts/setup-macos-check.sh
# (run by scripts/install-deps.sh test).
#
# It shares cargo's target folder with the other checks: the macOS units
# live under target/aarch64-apple-darwin, and the build scripts and
# procedural macros built for this machine are reused.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/macos-check"
if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
    echo "The macOS check's tools are missing: run scripts/install-deps.sh test" >&2
    exit 1
fi
export PATH="$venv/bin:$HOME/.cargo/bin:$PATH"
# Only for this check: the empty <sys/syscall.h> jemalloc's configure looks for.
export CPPFLAGS="-I$root/scripts/macos-check/include${CPPFLAGS:+ $CPPFLAGS}"
cd "$root"
exec cargo-zigbuild clippy --workspace --all-targets --target aarch64-apple-darwin "$@" -- -D warnings
