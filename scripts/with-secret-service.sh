#!/usr/bin/env bash
# Runs a command against a real, private Secret Service: a new D-Bus session
# bus with GNOME Keyring unlocked inside it, and a throwaway HOME so the
# user's own keyring is never touched. Usage: scripts/with-secret-service.sh CMD...
set -euo pipefail

if [ -z "${KEYBEARER_KEYRING_SESSION:-}" ]; then
    export KEYBEARER_KEYRING_SESSION=starting
    exec dbus-run-session -- "$0" "$@"
fi

# Keep the toolchain where it is while HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
keyring_home="$(mktemp -d -t keybearer-keyring.XXXXXX)"
trap 'rm -rf "$keyring_home"' EXIT
export HOME="$keyring_home"
export XDG_DATA_HOME="$keyring_home/.local/share"
export XDG_RUNTIME_DIR="$keyring_home/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

password="test-keyring-$RANDOM$RANDOM"
eval "$(printf '%s' "$password" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL

for _ in $(seq 1 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'; then
        break
    fi
    sleep 0.1
done
if ! dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q 'boolean true'; then
    echo "with-secret-service: gnome-keyring did not start a Secret Service" >&2
    exit 1
fi

# Who owns the Secret Service now; if another process (or none) owns it
# when the command ends, the daemon died and the bus started a fresh, empty
# keyring for whoever asked next: every keychain call after that said "no
# result found". Say so, so such a failure is not taken for a bug in the
# code under test.
keyring_owner() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null |
        awk '/uint32/ { print $2 }'
}
keyring_pid="$(keyring_owner)"

export KEYBEARER_KEYRING_SESSION=ready
status=0
"$@" || status=$?
if [ "$(keyring_owner)" != "$keyring_pid" ]; then
    echo "with-secret-service: the Secret Service (gnome-keyring-daemon, pid $keyring_pid) ended during the run; failures that say the keychain is locked or has no result came from that" >&2
fi
exit "$status"
