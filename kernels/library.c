/*
 * library.c - status strings, version, and the thread-count setting.
 */
#include "internal.h"

#include <stdatomic.h>

#ifdef _OPENMP
#include <omp.h>
#endif

const char *lb_status_string(lb_status s)
{
    switch (s) {
    case LB_OK: return "success";
    case LB_ERR_NULL_POINTER: return "a required pointer was NULL";
    case LB_ERR_BAD_DIMENSION: return "bad dimension: cols == 0 or a leading dimension < cols";
    case LB_ERR_BAD_TARGET: return "a target class index is outside [0, cols) and not ignore_index";
    case LB_ERR_BAD_VALUE: return "an option or class weight is out of range";
    case LB_ERR_OVERFLOW: return "sizes too large to index or to pass to BLAS";
    case LB_ERR_NO_MEMORY: return "a workspace could not be allocated";
    case LB_ERR_UNSUPPORTED: return "operation not supported by this build or CPU";
    }
    return "unknown lb_status";
}

unsigned lb_version(void) { return LB_VERSION; }

/* 0 means "OpenMP's default", read at each call. */
static atomic_int configured_threads;

void lb_set_num_threads(int n) { atomic_store(&configured_threads, n > 0 ? n : 0); }

int lb_get_num_threads(void)
{
    int n = atomic_load(&configured_threads);
    if (n > 0) return n;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Below this many elements a pass stays on one thread: a parallel region costs
 * 1-3 us to enter, about what one core needs for 32K elements of a streaming
 * pass such as MSE (exp-bound passes weigh their elements: LB_EXP_WORK). */
#define LB_PARALLEL_MIN_ELEMENTS ((size_t)1 << 15)

int lb_threads_for(size_t rows, size_t work_per_row)
{
    if (rows < 2) return 1;
    if (work_per_row < LB_PARALLEL_MIN_ELEMENTS / rows + 1) return 1;
    int n = lb_get_num_threads();
    if ((size_t)n > rows) n = (int)rows;
    return n < 1 ? 1 : n;
}

void lb_parallel_for(size_t n, int threads, lb_range_fn range, void *ctx)
{
    if (threads <= 1 || n <= 1) {
        range(ctx, 0, n);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(threads)
    {
        /* static blocks: the first n % teams threads take one index more */
        size_t team = (size_t)omp_get_num_threads(), me = (size_t)omp_get_thread_num();
        size_t base = n / team, extra = n % team;
        size_t begin = me * base + (me < extra ? me : extra);
        range(ctx, begin, begin + base + (me < extra));
    }
#else
    range(ctx, 0, n);
#endif
}
