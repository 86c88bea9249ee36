#!/usr/bin/env bash
# make fuzz (docs/architecture.md, "Fuzzing"): builds the fuzz targets of
# fuzz/ with cargo fuzz on the nightly toolchain, runs each for
# FUZZ_SECONDS seconds (default 60) from its committed corpus, then merges
# what it found into fuzz/corpus/<target>/ (libFuzzer's -merge=1: only
# inputs that add coverage are kept, so the folders stay small) and copies
# any crash into fuzz/regressions/<target>/, where `make test` replays it.
# A run stops at a target's first crash; the script then goes on with the
# next target and exits non-zero at the end, naming the crash files.
# Usage: scripts/fuzz.sh [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
# Inputs longer than this are not tried (and never kept): every target's
# finds so far fit in a few hundred bytes, and short inputs run faster.
max_len="${FUZZ_MAX_LEN:-2048}"
# A merged corpus keeps the fewest inputs that reach every branch reached
# (libFuzzer's set cover, hit counts left out), and at most this many of
# them, the smallest first, so the folders stay small and make test fast.
corpus_max="${FUZZ_CORPUS_MAX:-300}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
work="$target_dir/work"
# Release build with debug assertions and overflow checks; no sanitizer:
# Keybearer's crates forbid unsafe code, and the fuzzer runs about three
# times as many inputs a second without AddressSanitizer.
flags=(--fuzz-dir fuzz -O -a --sanitizer none --target-dir "$target_dir")

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
cargo +nightly fuzz build "${flags[@]}"

crashes=()
summary=()
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    run="$work/$target"
    rm -rf "$run"
    mkdir -p "$corpus" "$run/new" "$run/merged" "$run/artifacts"
    echo "== $target: ${seconds} s"
    status=0
    cargo +nightly fuzz run "${flags[@]}" "$target" "$run/new" "$corpus" -- \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
        -artifact_prefix="$run/artifacts/" -print_final_stats=1 \
        >"$run/log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$run/log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$run/log" | tail -1 | grep -o '[0-9]*$' || echo "?")
    # Keep only what adds coverage, old and new together.
    cargo +nightly fuzz run "${flags[@]}" "$target" "$run/merged" "$corpus" "$run/new" -- \
        -set_cover_merge=1 -use_counters=0 -max_len="$max_len" -timeout=10 \
        -artifact_prefix="$run/merge-" \
        >"$run/merge.log" 2>&1
    find "$corpus" -maxdepth 1 -type f -delete
    # (awk reads to the end: `head` would stop sort with SIGPIPE, which
    # pipefail turns into a failure.)
    find "$run/merged" -maxdepth 1 -type f -printf '%s %p\n' | sort -n |
        awk -v n="$corpus_max" 'NR <= n' | cut -d' ' -f2- | xargs -r cp -t "$corpus"/
    kept=$(find "$corpus" -maxdepth 1 -type f | wc -l)
    found=0
    for crash in "$run/artifacts"/*; do
        [ -f "$crash" ] || continue
        mkdir -p "fuzz/regressions/$target"
        cp "$crash" "fuzz/regressions/$target/"
        crashes+=("fuzz/regressions/$target/$(basename "$crash")")
        found=$((found + 1))
    done
    if [ "$status" -ne 0 ] && [ "$found" -eq 0 ]; then
        echo "$target: the fuzzer failed without a crash file; see $run/log" >&2
        crashes+=("$target: see $run/log")
    fi
    summary+=("$(printf '%-16s %10s runs  coverage %6s  corpus %4s files  crashes %s' "$target" "$runs" "$cov" "$kept" "$found")")
done

echo
printf '%s\n' "${summary[@]}"
if [ "${#crashes[@]}" -gt 0 ]; then
    echo
    echo "Crashes (each now replayed by make test; fix, then commit the file):" >&2
    printf '  %s\n' "${crashes[@]}" >&2
    exit 1
fi
