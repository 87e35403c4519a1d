#!/usr/bin/env bash
# fuzz_run.sh - builds the libFuzzer harnesses (clang, ASan + UBSan) and runs
# each for a bounded time, starting from the committed seed corpus
# fuzz/corpus/<harness>/. Fails (exit 1) if any harness finds a crash, a
# sanitizer report or a violated invariant; the inputs are left under
# <build>/fuzz-work/<harness>/ (crash-*), and each harness prints the decoded
# call of a violation ("call: ...").
#
# usage: tools/fuzz_run.sh [seconds-total]      (default 60, split evenly)
# env:   LOSSBLAS_FUZZ_BUILD_DIR   build directory (default build-fuzz)
#        LOSSBLAS_ISA=scalar       fuzz the scalar kernels instead of the
#                                  best the CPU has
# Replay one input: <build>/fuzz/<harness> <file>
set -euo pipefail
total=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LOSSBLAS_FUZZ_BUILD_DIR:-$root/build-fuzz}
harnesses=(fuzz_softmax fuzz_jacobian fuzz_xent_logits fuzz_xent_probs fuzz_regression)

cmake -S "$root" -B "$build" -DLOSSBLAS_BUILD_FUZZERS=ON -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DLOSSBLAS_BUILD_TESTS=OFF -DLOSSBLAS_BUILD_BENCH=OFF \
    -DLOSSBLAS_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target "${harnesses[@]}" isa_diff >/dev/null

per=$((total / ${#harnesses[@]}))
((per >= 1)) || per=1
failed=()
for h in "${harnesses[@]}"; do
    work=$build/fuzz-work/$h
    rm -rf "$work"
    mkdir -p "$work/corpus"
    echo "== $h: ${per}s"
    # Fork mode with -ignore_crashes: one finding does not end the run, so
    # every harness fuzzes for its whole share and reports all it finds (each
    # as an artifact file). New inputs go to the first (scratch) directory;
    # the seeds stay as committed.
    "$build/fuzz/$h" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
        "$work/corpus" "$root/fuzz/corpus/$h" >"$work/log" 2>&1 || true
    findings=$(find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o \
        -name 'timeout-*' -o -name 'oom-*' \) | sort)
    if [[ -n $findings ]]; then
        failed+=("$h")
        for f in $findings; do
            echo "   $f"
            "$build/fuzz/$h" "$f" 2>&1 | grep -E -A1 "invariant violated|SUMMARY|runtime error" |
                head -3 | sed 's/^/     /' || true
        done
    fi
    grep -E "^#[0-9]+: cov" "$work/log" | tail -1 || true
done
if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all harnesses clean"
