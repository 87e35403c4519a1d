/*
 * bench_lossblas.c - the lossblas kernels, f32 and f64 (bench_lossblas.inc),
 * and the memcpy reference benchmark: a copy of rows*cols elements, the
 * traffic of a softmax forward, at every grid shape and thread count.
 */
#include "bench_common.h"

#include <lossblas.h>

#define REAL float
#define SFXSTR "f32"
#define LB(name) lb_##name##_f32
#define BN(name) name##_f32
#include "bench_lossblas.inc"
#undef REAL
#undef SFXSTR
#undef LB
#undef BN

#define REAL double
#define SFXSTR "f64"
#define LB(name) lb_##name##_f64
#define BN(name) name##_f64
#include "bench_lossblas.inc"
#undef REAL
#undef SFXSTR
#undef LB
#undef BN

/* memcpy of one matrix into another: the bandwidth reference that
 * bench/ci_check.py and bench/report.py pair with each kernel (bytes = read
 * + write, as for the kernels). */
static int call_memcpy(const bench_call_args *a)
{
    bench_copy(a->p[1], a->p[0], a->rows * a->cols * 4, a->nthr);
    return 0;
}
static void bm_memcpy_f32(gb_state *st)
{
    size_t n = (size_t)gb_arg(st, 0) * (size_t)gb_arg(st, 1);
    bench_buf_spec spec[] = {{FILL_LOGITS, n, 4}, {FILL_ZERO, n, 4}};
    bench_run(st, spec, 2, bench_shape_sets((size_t)gb_arg(st, 0), (size_t)gb_arg(st, 1), 4), 1,
              call_memcpy, gb_arg(st, 0), (int64_t)(2 * n * 4));
}
static size_t fp_memcpy(size_t r, size_t c, size_t e) { return 2 * r * c * e; }

void bench_register_lossblas(void)
{
    register_all_f32();
    register_all_f64();
    bench_register_grid("memcpy", "f32", "memcpy", bm_memcpy_f32, fp_memcpy, bench_max_bytes());
}
