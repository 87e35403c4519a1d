#!/usr/bin/env bash
# bench/test_ci_check.sh BENCH_BINARY - self-test of the performance check:
#   1. record a fresh baseline with the binary as it is,
#   2. rerun unchanged: ci_check must pass (exit 0),
#   3. rerun with every lossblas kernel called twice per iteration
#      (LB_BENCH_INJECT_SLOWDOWN=2, honoured by the bench code only): ci_check
#      must report a regression (exit 1),
#   4. the same slowdown against the baseline relabelled as another
#      processor's: shown, not gated (exit 0).
# Uses a few operations and 9 repetitions to stay near a minute.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=${1:?usage: test_ci_check.sh path/to/lossblas_bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check=(python3 "$here/ci_check.py" --bench "$bench" --baseline "$tmp/baseline.json"
       --ops softmax,xent_sparse,memcpy)
fail=0
"${check[@]}" --update-baseline || { echo "FAIL: could not record a baseline"; exit 1; }

"${check[@]}" >"$tmp/same.txt"; rc=$?
cat "$tmp/same.txt"
if [[ $rc == 0 ]]; then echo "ok: unchanged rerun not flagged"
else echo "FAIL: unchanged rerun flagged (exit $rc)"; fail=1; fi

"${check[@]}" --inject-slowdown 2 >"$tmp/slow.txt"; rc=$?
cat "$tmp/slow.txt"
if [[ $rc == 1 ]]; then echo "ok: injected 2x slowdown flagged"
else echo "FAIL: injected 2x slowdown not flagged (exit $rc)"; fail=1; fi

python3 - "$tmp/baseline.json" "$tmp/other.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["machine"]["Model name"] = "some other processor"
json.dump(b, open(sys.argv[2], "w"))
PY
python3 "$here/ci_check.py" --bench "$bench" --baseline "$tmp/other.json" \
  --ops softmax,xent_sparse,memcpy --inject-slowdown 2 >"$tmp/other.txt"; rc=$?
if [[ $rc == 0 ]] && grep -q "none gates" "$tmp/other.txt"; then
  echo "ok: a baseline from another processor shown, not gated"
else cat "$tmp/other.txt"; echo "FAIL: foreign baseline gated (exit $rc)"; fail=1; fi

exit $fail
