/*
 * bench_common.h - what every bench_*.c shares: the shape grid and memory
 * caps, the rotating input buffers (bigger than the last-level cache, so
 * timings are out-of-cache figures), the memcpy bandwidth reference, the
 * counters, and the injected-slowdown switch used to test CI tracking.
 *
 * Benchmark names follow  op/dtype/impl/rows:R/cols:C/nthr:T/real_time
 * (impl = lossblas, naive, onednn, blas, memcpy); bench/report.py and
 * bench/ci_check.py parse exactly this form.
 */
#ifndef LOSSBLAS_BENCH_COMMON_H
#define LOSSBLAS_BENCH_COMMON_H

#include "gbench_shim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the grid ----------------------------------------------------------- */

/* Which shapes and dtypes get registered (chosen by LB_BENCH_SUITE:
 * "quick" (default), "ci" or "full"; see bench_common.c). */
typedef struct bench_grid {
    const int64_t *rows;
    int n_rows;
    const int64_t *cols;
    int n_cols;
    const int64_t *threads;
    int n_threads;
    bool f32, f64;
} bench_grid;
const bench_grid *bench_suite_grid(void);
const char *bench_suite_name(void);

/* Byte caps: a benchmark whose buffers (one rotation set) exceed the cap is
 * not registered. LB_BENCH_MAX_MIB (default 1024) and LB_BENCH_JAC_MAX_MIB
 * (default 256, the Jacobian writes rows*cols^2 values). */
size_t bench_max_bytes(void);
size_t bench_jacobian_max_bytes(void);

/* True when op (e.g. "softmax") passes LB_BENCH_OPS, a comma-separated list
 * of operation names (all when unset); lets the CI subset register little. */
bool bench_op_selected(const char *op);

/* ---- rotating, prewarmed buffers ---------------------------------------- */

/* Kinds of buffer content. */
typedef enum bench_fill {
    FILL_LOGITS,   /* uniform in [-4, 4): logits, predictions, scores */
    FILL_GRAD,     /* uniform in [-1, 1): upstream gradients, regression targets */
    FILL_PROBS,    /* rows of a softmax of random logits (sum to 1) */
    FILL_LOGPROBS, /* rows of a log-softmax of random logits */
    FILL_TARGETS,  /* int64 class indices in [0, cols) */
    FILL_ZERO      /* outputs: zeroed (so every page is touched beforehand) */
} bench_fill;

/* A buffer replicated nsets times; copy s starts at base + s * stride bytes. */
typedef struct bench_buf {
    char *base;
    size_t stride;
} bench_buf;

/* Up to 6 buffers for one benchmark; count = rows * cols elements of elem
 * bytes for matrices (FILL_TARGETS: rows int64), or an explicit count. */
typedef struct bench_buf_spec {
    bench_fill fill;
    size_t count; /* elements per copy */
    size_t elem;  /* 4, 8 (or 8 for targets) */
} bench_buf_spec;

/* Number of copies so that one cycle through copies of 'set_bytes' touches
 * more than the last-level cache (LB_BENCH_ROTATE_MIB, default 96). */
size_t bench_rotation_sets(size_t set_bytes);

/* Places and fills the buffers (outside any timing). Buffers with the same
 * (fill, count, elem, rows, cols, nsets) are shared across benchmarks and
 * filled once. Returns false (with a reason in *why) when the arena cannot
 * hold them. */
bool bench_buffers(const bench_buf_spec *spec, int n, size_t rows, size_t cols, size_t nsets,
                   bench_buf *out, const char **why);

static inline void *bench_at(bench_buf b, size_t set) { return b.base + set * b.stride; }

/* ---- threads, counters, references -------------------------------------- */

/* Sets lossblas's and OpenMP's thread count for this benchmark. */
void bench_set_threads(int nthreads);

/* Copy bandwidth (bytes read + written per second) of a memcpy of
 * copy_bytes, rotating through buffers like the kernels do, with up to
 * nthreads OpenMP threads (the better of 1 and nthreads). Measured once per
 * (size, threads) per process. */
double bench_memcpy_rate(size_t copy_bytes, int nthreads);

/* memcpy of n bytes split over t OpenMP threads (plain memcpy for t <= 1
 * or under 256 KiB, where a parallel region costs more than it saves). */
void bench_copy(void *dst, const void *src, size_t n, int t);

/* Sets items/s, bytes/s and the bandwidth fraction counter "bw_frac"
 * (bytes/s divided by memcpy bytes/s for a copy of bytes/2, same threads).
 * bytes_per_iter = the minimum traffic of one call. */
void bench_finish(gb_state *st, int64_t items_per_iter, int64_t bytes_per_iter, int nthreads);

/* How many times lossblas kernels run per timed iteration: 1, or the value
 * of LB_BENCH_INJECT_SLOWDOWN (bench code only; the library never reads
 * it). CI's self-test uses 2 to check that a 2x slowdown is caught. */
int bench_lossblas_repeat(void);

/* In-cache ("hot") variants: every shape whose rows x cols matrix takes at
 * most this many bytes is registered a second time as hot/op/dtype/impl/...,
 * with one buffer set reused every call instead of the rotation, so inputs
 * and outputs stay in L2/L3 (not in the ci suite). */
#define BENCH_HOT_MAX_BYTES ((size_t)1 << 20)
/* True inside the hot variant of a benchmark (bench_run then uses 1 set). */
bool bench_is_hot(const gb_state *st);

/* Queues op/dtype/impl for every grid shape whose buffers fit the cap;
 * bytes_for(rows, cols) gives the footprint of one rotation set. */
typedef size_t (*bench_bytes_fn)(size_t rows, size_t cols, size_t elem);
void bench_register_grid(const char *op, const char *dtype, const char *impl, gb_fn fn,
                         bench_bytes_fn footprint, size_t cap);

/* ---- the timed loop ----------------------------------------------------- */

/* One call of the measured operation on buffer copy p[0..nbuf-1]; returns
 * an lb_status (0 = LB_OK). */
typedef struct bench_call_args {
    size_t rows, cols;
    int nthr;
    void *p[6];
} bench_call_args;
typedef int (*bench_call_fn)(const bench_call_args *a);

/* Reads rows/cols/nthr from the arguments, sets the threads, places the
 * buffers (nsets copies), then times call() cycling through the copies,
 * repeat times per iteration, and sets the counters. A failed buffer
 * placement is a skip; a non-zero status fails the benchmark. */
void bench_run(gb_state *st, const bench_buf_spec *spec, int nbuf, size_t nsets, int repeat,
               bench_call_fn call, int64_t items_per_iter, int64_t bytes_per_iter);

/* Copies for a shape: enough that two matrices plus targets per copy exceed
 * the cache. Benchmarks at the same shape share these (and their fills). */
size_t bench_shape_sets(size_t rows, size_t cols, size_t elem);

/* Registers everything bench_register_grid collected, shape by shape
 * (dtype, cols, rows), so each shape's buffers are filled once. */
void bench_register_commit(void);

/* Uniform pseudo-random numbers (xorshift64*), deterministic per seed. */
uint64_t bench_rand_u64(uint64_t *state);
double bench_rand_unit(uint64_t *state); /* [0, 1) */

#endif /* LOSSBLAS_BENCH_COMMON_H */
