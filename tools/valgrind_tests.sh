#!/usr/bin/env bash
# valgrind_tests.sh - builds the tests (RelWithDebInfo, own build directory)
# and runs every tests/test_* binary under valgrind memcheck with a kernel set
# valgrind can execute (it has no AVX-512): LOSSBLAS_ISA=avx2 by default, or
# scalar.
#
# Criterion runs each test in a child process that it re-executes from the
# binary, so valgrind must follow children (--trace-children=yes) to see the
# test code at all. Criterion ignores a child's exit status once the test
# reported a result, so --error-exitcode only covers the runner process: the
# script writes one log per process (--log-file=...%p) and fails when any log
# has a non-zero "ERROR SUMMARY" (invalid accesses, uninitialised values,
# definite/possible leaks). Known benign reports are in tools/valgrind.supp.
#
# Caveats: valgrind computes x87 long double in double precision, so tests
# whose oracle is a long-double computation can fail under valgrind only
# (reported as "test failures (memcheck clean)"); and a test that fails a
# cr_assert leaves its own buffers unfreed (Criterion jumps out of the test),
# which memcheck reports as definite leaks in that test's process. Judge leak
# reports together with the test failures listed next to them.
#
# usage: tools/valgrind_tests.sh [test-name ...]   (default: every test_* binary)
# env:   LOSSBLAS_VG_BUILD_DIR   build directory (default build-vg)
#        LOSSBLAS_ISA            avx2 (default) or scalar
# Exit: 0 clean; 1 memcheck errors or failing tests (both are listed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LOSSBLAS_VG_BUILD_DIR:-$root/build-vg}
isa=${LOSSBLAS_ISA:-avx2}
case $isa in scalar | avx2) ;; *) echo "LOSSBLAS_ISA must be scalar or avx2 under valgrind" >&2; exit 2 ;; esac

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOSSBLAS_BUILD_TESTS=ON \
    -DLOSSBLAS_BUILD_BENCH=OFF -DLOSSBLAS_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null

if (($#)); then
    tests=("$@")
else
    mapfile -t tests < <(find "$build/tests" -maxdepth 1 -type f -name 'test_*' -perm -u+x \
        -printf '%f\n' | sort)
fi
logs=$build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs"
memcheck_failed=()
tests_failed=()
for t in "${tests[@]}"; do
    start=$SECONDS
    rc=0
    LOSSBLAS_ISA=$isa valgrind --trace-children=yes --error-exitcode=1 \
        --leak-check=full --errors-for-leak-kinds=definite,possible \
        --suppressions="$root/tools/valgrind.supp" --log-file="$logs/$t.%p.log" \
        "$build/tests/$t" --jobs 1 >"$logs/$t.out" 2>&1 || rc=$?
    dirty=$(grep -l "ERROR SUMMARY: [1-9]" "$logs/$t".*.log 2>/dev/null || true)
    processes=$(find "$logs" -name "$t.*.log" | wc -l)
    status=clean
    if [[ -n $dirty ]]; then
        status="MEMCHECK ERRORS"
        memcheck_failed+=("$t")
    fi
    if ((rc != 0)); then
        tests_failed+=("$t")
        [[ $status == clean ]] && status="test failures (memcheck clean)"
    fi
    printf '%-24s %4ss  %3s processes  %s\n' "$t" $((SECONDS - start)) "$processes" "$status"
    for f in $dirty; do echo "    $f"; done
    if ((rc != 0)); then grep -E "^\[(FAIL|----)\]" "$logs/$t.out" | head -8 | sed 's/^/    /'; fi
done
if ((${#memcheck_failed[@]} + ${#tests_failed[@]})); then
    ((${#memcheck_failed[@]})) && echo "memcheck errors in: ${memcheck_failed[*]}"
    ((${#tests_failed[@]})) && echo "failing tests in: ${tests_failed[*]}"
    exit 1
fi
echo "valgrind: all clean (LOSSBLAS_ISA=$isa)"
