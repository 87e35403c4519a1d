#!/usr/bin/env bash
# bench/ci_check.sh - build lossblas_bench (Release) if needed and run the
# ratio-based performance regression check (bench/ci_check.py).
#
#   bench/ci_check.sh [--build-dir DIR] [ci_check.py options]
#   bench/ci_check.sh --update-baseline     refresh bench/baseline.json
#
# Exit status: 0 no clear regression, 1 regression, 2 error. About a minute.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build_dir="$root/build-bench"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$(realpath -m "$2"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DLOSSBLAS_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" --target lossblas_bench -j2 >/dev/null
exec python3 "$here/ci_check.py" --bench "$build_dir/bench/lossblas_bench" "${args[@]}"
