#!/usr/bin/env bash
# bench/run.sh - build lossblas (Release) and run its benchmarks.
#
#   bench/run.sh                 quick report: f32, 10 and 1000 classes, 4 batch
#                                sizes, 1 and 2 threads, 5 repetitions (~4 min)
#   bench/run.sh --full          every kernel, f32 and f64, batch 1..65536,
#                                classes 10..131072 (long: see bench/README.md)
#   bench/run.sh --build-dir DIR build directory (default: build-bench)
#   bench/run.sh --out DIR       results directory (default: bench/results)
#   bench/run.sh --no-build      use the binary already built in the build dir
#   bench/run.sh -- ARGS         extra Google Benchmark flags, for example
#                                -- --benchmark_filter='^softmax/'
#
# Writes DIR/<suite>.json (Google Benchmark JSON), DIR/<suite>.txt (the report
# tables) and DIR/throughput-c10.svg, throughput-c1000.svg (the README figures), and prints the tables.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
suite=quick
build_dir="$root/build-bench"
out_dir="$here/results"
build=1
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --full) suite=full ;;
    --quick) suite=quick ;;
    --build-dir) build_dir=$(realpath -m "$2"); shift ;;
    --out) out_dir=$(realpath -m "$2"); shift ;;
    --no-build) build=0 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [[ $build == 1 ]]; then
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLOSSBLAS_BUILD_BENCH=ON >/dev/null
  cmake --build "$build_dir" --target lossblas_bench -j2 >/dev/null
fi
bench="$build_dir/bench/lossblas_bench"
[[ -x $bench ]] || { echo "run.sh: $bench not built" >&2; exit 1; }

mkdir -p "$out_dir"
if [[ $suite == quick ]]; then
  flags=(--benchmark_min_time=0.05 --benchmark_repetitions=5)
  # the representative operations; the Jacobian output capped at 64 MiB
  export LB_BENCH_OPS=${LB_BENCH_OPS:-softmax,log_softmax,softmax_backward,log_softmax_backward,jacobian_full,xent_sparse,xent_sparse_loss,xent_dense,probs_sparse,mse,mae,accuracy_sparse,memcpy}
  export LB_BENCH_JAC_MAX_MIB=${LB_BENCH_JAC_MAX_MIB:-64}
else
  flags=(--benchmark_min_time=0.05 --benchmark_repetitions=1)
fi
# Benchmarks run shape by shape (each shape's buffers are filled once);
# medians over repetitions absorb most of a shared machine's noise.
LB_BENCH_SUITE=$suite "$bench" "${flags[@]}" \
  --benchmark_out="$out_dir/$suite.json" --benchmark_out_format=json \
  --benchmark_counters_tabular=false "${extra[@]}" >"$out_dir/$suite.console.txt"

python3 "$here/report.py" "$out_dir/$suite.json" --cols 10,1000 \
  --plot "$out_dir/throughput-c10.svg" | tee "$out_dir/$suite.txt"
# the same figure for 1000 classes (the plot shows the first --cols value)
python3 "$here/report.py" "$out_dir/$suite.json" --cols 1000 \
  --plot "$out_dir/throughput-c1000.svg" >/dev/null
