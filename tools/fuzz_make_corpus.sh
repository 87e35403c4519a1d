#!/usr/bin/env bash
# fuzz_make_corpus.sh - (re)creates the committed seed corpora fuzz/corpus/<harness>/.
#
# Each harness gets 40 deterministic candidate inputs: the first two bytes walk
# through the element type and operation selectors, the rest is a fixed
# pseudo-random stream (an LCG seeded per file), which every decoder accepts
# (all decoding is modular). libFuzzer's -merge=1 then keeps only the
# candidates that add coverage, so each corpus stays a few dozen small files.
# Files named regress-* (inputs that once exposed a bug) are kept as they are.
#
# usage: tools/fuzz_make_corpus.sh [build-dir]   (default build-fuzz; the
#        harnesses must be built: tools/fuzz_run.sh builds them)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
harnesses=(fuzz_softmax fuzz_jacobian fuzz_xent_logits fuzz_xent_probs fuzz_regression)

# Writes n pseudo-random bytes after the bytes b0 b1 to file.
write_seed() {
    local file=$1 b0=$2 b1=$3 seed=$4 n=$5 s hex lcg i
    printf -v s '\\x%02x\\x%02x' "$b0" "$b1"
    lcg=$seed
    for ((i = 0; i < n; i++)); do
        lcg=$(((lcg * 1103515245 + 12345) & 0x7fffffff))
        printf -v hex '%02x' $(((lcg >> 16) & 255))
        s+="\\x$hex"
    done
    printf "$s" >"$file"
}

for h in "${harnesses[@]}"; do
    candidates=$(mktemp -d)
    for k in $(seq 0 39); do
        # byte 0: type (bit 0) and, for fuzz_regression, the operation;
        # byte 1: the operation of the other harnesses
        write_seed "$candidates/seed-$k" "$k" "$((k / 2))" "$((k * 7919 + ${#h}))" $((64 + k * 8))
    done
    out=$root/fuzz/corpus/$h
    mkdir -p "$out"
    find "$out" -type f ! -name 'regress-*' -delete
    # (a regress-* seed may crash while unfixed: its artifact goes to the temp dir)
    "$build/fuzz/$h" -merge=1 -artifact_prefix="$candidates/" "$out" "$candidates" >/dev/null 2>&1 || true
    rm -rf "$candidates"
    echo "$h: $(find "$out" -type f | wc -l) files"
done
