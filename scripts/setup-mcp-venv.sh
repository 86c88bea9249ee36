#!/usr/bin/env bash
# Creates .venv at the repo root with the official MCP Python SDK, used by the
# end-to-end tests as real MCP peers (tests/mcp-peers). Idempotent and quiet:
# pip runs only when .venv is missing or tests/mcp-peers/requirements.txt changed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
requirements="$root/tests/mcp-peers/requirements.txt"
stamp="$venv/.mcp-requirements.sha256"

# A venv whose interpreter no longer runs (e.g. its base Python was removed) is rebuilt.
if [ -d "$venv" ] && ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
fi

if [ ! -d "$venv" ]; then
    # Debian's python3 ships without ensurepip unless python3-venv is installed.
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    python3 -m venv "$venv"
fi

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$want" > "$stamp"
fi
