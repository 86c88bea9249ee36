#!/usr/bin/env bash
# The desktop app's own figures, from the release build (`make deb` makes
# it): the .deb's size; cold start, from launch to the moment the window's
# first screen asks for the app's status (the app logs it); and memory once
# idle — the app's resident set and, since the window's web view runs in
# processes of its own, the proportional set (PSS) of the whole process tree.
# Each start uses a new, empty data folder. Runs under Xvfb and a private
# Secret Service, like the tests. A start right after a build reads the new
# binary and WebKit from disk and takes seconds; the figures that follow are
# warm. Usage: scripts/desktop-figures.sh [STARTS]
set -euo pipefail

if [ -z "${DISPLAY:-}" ]; then
    exec xvfb-run -a -s "-screen 0 1280x860x24" "$0" "$@"
fi
if [ -z "${KEYBEARER_KEYRING_SESSION:-}" ]; then
    exec "$(dirname "$0")/with-secret-service.sh" "$0" "$@"
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
app="$root/target/release/keybearer-app"
starts="${1:-4}"
idle_seconds=10
[ -x "$app" ] || { echo "no release build at $app: run make deb first" >&2; exit 1; }

deb="$(ls -t "$root"/target/release/bundle/deb/*.deb 2>/dev/null | head -n 1 || true)"
if [ -n "$deb" ]; then
    echo "package: $(basename "$deb") $(($(stat -c %s "$deb") / 1024)) KiB"
fi
echo "binary: $(($(stat -c %s "$app") / 1024)) KiB"

# Every process in the tree under $1 (the web view's processes are children).
tree() {
    local pid="$1"
    echo "$pid"
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        tree "$child"
    done
}

kib() { awk -v key="$2:" '$1 == key { print $2 }' "$1" 2>/dev/null || echo 0; }

for start in $(seq 1 "$starts"); do
    data="$(mktemp -d -t keybearer-figures.XXXXXX)"
    launched_ns="$(date +%s%N)"
    KEYBEARER_HOME="$data" "$app" >/dev/null 2>&1 &
    pid=$!
    line=""
    for _ in $(seq 1 1200); do
        line="$(grep -m1 'window up' "$data/keybearer.log" 2>/dev/null || true)"
        [ -n "$line" ] && break
        sleep 0.05
    done
    if [ -z "$line" ]; then
        echo "start $start: the window did not come up within 60 s" >&2
        kill "$pid" 2>/dev/null || true
        exit 1
    fi
    # The log line's own time (RFC 3339, UTC) against the launch.
    stamp="$(awk '{ print $1 }' <<<"$line")"
    up_ns="$(date -d "$stamp" +%s%N)"
    after_ms="$(grep -o 'after_ms=[0-9]*' <<<"$line" | cut -d= -f2)"
    sleep "$idle_seconds"
    rss="$(kib /proc/"$pid"/status VmRSS)"
    pss=0
    processes=0
    for each in $(tree "$pid"); do
        value="$(kib /proc/"$each"/smaps_rollup Pss)"
        pss=$((pss + ${value:-0}))
        processes=$((processes + 1))
    done
    echo "start $start: window up $(((up_ns - launched_ns) / 1000000)) ms after launch" \
        "($after_ms ms after main); idle after ${idle_seconds} s: app RSS $((rss / 1024)) MiB," \
        "$processes processes PSS $((pss / 1024)) MiB"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$data"
done
