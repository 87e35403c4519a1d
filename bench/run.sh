#!/usr/bin/env bash
# bench/run.sh - build lossblas (Release) and run its benchmarks.
#
#   bench/run.sh                 quick report: f32, 10 and 1000 classes, 4 batch
#                                sizes, 1 and 2 threads, 5 repetitions interleaved
#                                in random order within each shape (~8 min)
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
if [[ $suite == full ]]; then
  # One repetition each, shape by shape (each shape's buffers are filled once).
  LB_BENCH_SUITE=$suite "$bench" "${flags[@]}" \
    --benchmark_out="$out_dir/$suite.json" --benchmark_out_format=json \
    --benchmark_counters_tabular=false "${extra[@]}" >"$out_dir/$suite.console.txt"
else
  # One process per shape (rows x cols): every benchmark of that shape - each
  # operation, implementation, thread count, in-cache variant, and the memcpy
  # reference - with the repetitions of all of them in random interleaved
  # order, so that a burst of load on this shared machine costs one
  # repetition of each rather than every repetition of one; the medians and
  # the ratios between columns then come from the same stretch of time.
  # (Run back to back instead, the same code read 0.61-0.87x for 2 threads
  # over 1 on calls that never leave the first thread; interleaved, 1.00.)
  # Shapes still run one after another; the parts are merged into one JSON.
  parts=$(mktemp -d)
  trap 'rm -rf "$parts"' EXIT
  LB_BENCH_SUITE=$suite "$bench" --benchmark_list_tests "${extra[@]}" 2>/dev/null \
    | grep '/rows:[0-9]*/cols:[0-9]*/' >"$parts/names.txt" || true
  [[ -s $parts/names.txt ]] || { echo "run.sh: no benchmark matches" >&2; exit 1; }
  : >"$out_dir/$suite.console.txt"
  while read -r shape; do
    # the exact names of this shape (names hold only [A-Za-z0-9_/:])
    filter="^($(grep -F "/$shape/" "$parts/names.txt" | paste -sd'|'))\$"
    LB_BENCH_SUITE=$suite "$bench" "${flags[@]}" "${extra[@]}" \
      --benchmark_enable_random_interleaving=true --benchmark_filter="$filter" \
      --benchmark_out="$parts/${shape//[:\/]/_}.json" --benchmark_out_format=json \
      --benchmark_counters_tabular=false >>"$out_dir/$suite.console.txt"
  done < <(sed 's|.*/\(rows:[0-9]*/cols:[0-9]*\)/.*|\1|' "$parts/names.txt" | sort -u -t: -k2,2n -k3,3n)
  python3 - "$out_dir/$suite.json" "$parts"/*.json <<'PY'
import json, sys
merged = None
for path in sys.argv[2:]:
    with open(path) as f:
        part = json.load(f)
    if merged is None:
        merged = part
    else:
        merged["benchmarks"].extend(part["benchmarks"])
with open(sys.argv[1], "w") as f:
    json.dump(merged, f, indent=1)
PY
fi

python3 "$here/report.py" "$out_dir/$suite.json" --cols 10,1000 \
  --plot "$out_dir/throughput-c10.svg" | tee "$out_dir/$suite.txt"
# the same figure for 1000 classes (the plot shows the first --cols value)
python3 "$here/report.py" "$out_dir/$suite.json" --cols 1000 \
  --plot "$out_dir/throughput-c1000.svg" >/dev/null
