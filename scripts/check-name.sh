#!/usr/bin/env bash
# The product was renamed to Keybearer; the old name must not linger anywhere a
# user or a developer would meet it: the source tree, the command line's help
# (every subcommand) and the built user interface. Run by `make test` after
# the build. The old name is spelled here in pieces so this file passes itself.
set -euo pipefail
cd "$(dirname "$0")/.."

old_words=("agent""-vault" "Agent"" Vault" "AGENT""_VAULT" "agent""_vault")
pattern="$(IFS='|'; echo "${old_words[*]}")"

# The check must be able to fail: each spelling is found in a sample.
for word in "${old_words[@]}"; do
    if ! printf 'x %s y\n' "$word" | grep -qE "$pattern"; then
        echo "check-name: the pattern misses \"$word\"" >&2
        exit 1
    fi
done

found=0
report() { echo "check-name: the old name is still in $1:" >&2; echo "$2" | head -20 >&2; found=1; }

# 1. Every text file in the tree (tracked or new, not ignored).
hits="$(git ls-files -z --cached --others --exclude-standard \
    | xargs -0 grep -I -n -E "$pattern" -- 2>/dev/null || true)"
[ -z "$hits" ] || report "the source tree" "$hits"

# 2. The command line's help, for every command and subcommand.
cli=target/debug/keybearer
if [ ! -x "$cli" ]; then
    echo "check-name: $cli is missing; build it first (make app)" >&2
    exit 1
fi
subcommands() { "$@" --help | awk '/^Commands:/{on=1;next} on&&/^  [a-z]/{print $1} on&&/^$/{on=0}' | grep -v '^help$' || true; }
help_pages=0
check_help() {
    local text
    text="$("$@" --help)"
    help_pages=$((help_pages + 1))
    if echo "$text" | grep -qE "$pattern"; then report "\`$* --help\`" "$(echo "$text" | grep -E "$pattern")"; fi
    local sub
    for sub in $(subcommands "$@"); do check_help "$@" "$sub"; done
}
check_help "$cli"
if [ "$help_pages" -lt 10 ]; then
    echo "check-name: only $help_pages help pages were read; the subcommand listing changed?" >&2
    exit 1
fi

# 3. The built user interface.
if [ ! -f ui/dist/index.html ]; then
    echo "check-name: ui/dist is missing; build the UI first (make ui)" >&2
    exit 1
fi
hits="$(grep -r -I -n -o -E ".{0,40}($pattern).{0,40}" ui/dist || true)"
[ -z "$hits" ] || report "the built UI (ui/dist)" "$hits"

if [ "$found" -ne 0 ]; then exit 1; fi
echo "check-name: no trace of the old name (tree, $help_pages help pages, built UI)"
