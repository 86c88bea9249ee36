#!/usr/bin/env bash
# The Windows build's tests, run under Wine (`make test`): the engine and
# the keychain (Windows Credential Manager), OAuth sign-in, the proxy and
# the credential test against the official Python SDK's servers, the
# command line from `init` to an app's bridge (crates/cli/tests/cli_smoke.rs),
# the platform layer and sessions (the agent in its Job Object, the approval
# pipe). What cannot run under Wine: a ConPTY's output (Wine 8 gives none),
# the desktop window (no WebView2). See the README, "Platforms".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-wine.sh

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/scripts/wine-runner.sh"
# The keychain is Wine's Credential Manager in the test prefix (.tools/wine).
export KEYBEARER_KEYRING_SESSION=ready
# The TypeScript peers' Node, by its Linux path (see crates/vault/tests/support/host.rs).
KEYBEARER_HOST_NODE="$(command -v node)"
export KEYBEARER_HOST_NODE

# The peers (Python, Node) are started on the Linux side by tests/wine/launcher.py:
# Wine cannot give a Linux program pipes, nor end it.
announce="$(mktemp -t keybearer-launcher.XXXXXX)"
.venv/bin/python tests/wine/launcher.py .venv/bin/python "$KEYBEARER_HOST_NODE" >"$announce" &
launcher=$!
stop() {
    kill "$launcher" 2>/dev/null || true
    wait "$launcher" 2>/dev/null || true
    rm -f "$announce"
    WINEPREFIX="$PWD/.tools/wine" /usr/lib/wine/wineserver -k 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 1 100); do
    [ -s "$announce" ] && break
    sleep 0.1
done
KEYBEARER_PEER_LAUNCHER="$(.venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["url"])' <"$announce")"
export KEYBEARER_PEER_LAUNCHER

target=(--target x86_64-pc-windows-gnu)
# Not oauth_refresh: its access tokens live 2 s, too short for a request
# under Wine on a busy machine (one CI run saw a renewed token expire before
# its first use); renewal has no Windows-specific code.
cargo test "${target[@]}" --no-fail-fast -p keybearer-vault --lib \
    --test engine --test engine_catalog --test engine_connections --test engine_keys \
    --test engine_wal --test oauth --test oauth_listener --test oauth_interop \
    --test probe --test probe_env --test proxy --test proxy_env --test proxy_rotation \
    --test proxy_rules --test proxy_upstream
cargo test "${target[@]}" --no-fail-fast -p keybearer-cli --test cli_smoke
# The platform layer (Job Objects, process facts, the named pipe, the TCP
# table) with real helper processes. Skipped, as Wine 8 does not enforce
# them (they are for a real Windows): a pipe's access list, and
# FILE_FLAG_FIRST_PIPE_INSTANCE.
cargo test "${target[@]}" --no-fail-fast -p keybearer-platform --lib -- \
    --skip pipe::tests::a_pipe_for_another_user_cannot_be_opened \
    --skip pipe::tests::a_second_listener_cannot_take_the_name
# Sessions: the agent in its job (hidden console and ConPTY; Wine shows no
# ConPTY output, so agents report over TCP), records, stops, the approval pipe.
cargo test "${target[@]}" --no-fail-fast -p keybearer-session --lib --test sessions_windows
