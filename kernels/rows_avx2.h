/*
 * rows_avx2.h - row sweeps shared by the AVX2 kernel files (defined in
 * softmax_avx2.c): maximum, sum of exp, the online max/normalizer pass for
 * long rows, scaling. All take n >= 1 elements.
 */
#ifndef LOSSBLAS_ROWS_AVX2_H
#define LOSSBLAS_ROWS_AVX2_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>

/* Rows up to this many bytes are treated as cache-resident (L2 holds the
 * input and output row together); longer rows take the online pass. */
#define LB_CACHED_ROW_BYTES ((size_t)128 * 1024)

/* The row kinds of reference.inc. */
enum avx2_row_kind { AVX2_ROW_FINITE, AVX2_ROW_ALL_NEG_INF, AVX2_ROW_NAN };

/* Row maximum; a NaN entry may or may not show (the normalizer catches it). */
float lb_avx2_row_max_f32(size_t n, const float *x);
/* The same, also storing the row minimum in *lo (it chooses how x - m is
 * formed exactly: lb_diff_mode_f32). */
float lb_avx2_row_max_min_f32(size_t n, const float *x, float *lo);
double lb_avx2_row_max_f64(size_t n, const double *x);
/* Kind of a row from its maximum m: +inf -> NAN, -inf -> ALL_NEG_INF unless
 * a NaN is present; a finite m means FINITE (a NaN shows up later as a NaN
 * normalizer). */
enum avx2_row_kind lb_avx2_classify_f32(size_t n, const float *x, float m);
enum avx2_row_kind lb_avx2_classify_f64(size_t n, const double *x, double m);
/* sum_j exp(x_j - m) (m finite) in double; e != NULL receives exp(x_j - m)
 * (e may be x). A NaN entry makes the sum NaN. */
double lb_avx2_sum_exp_f32(size_t n, const float *x, float m, float *e);
double lb_avx2_sum_exp_f64(size_t n, const double *x, double m, double *e);
/* The f64 softmax backward rows (the table's slots), for the AVX-512 file's
 * short rows. */
void lb_avx2_softmax_backward_f64(size_t n, const double *y, const double *dy, double *dx);
void lb_avx2_softmax_backward_stream_f64(size_t n, const double *y, const double *dy, double *dx);
/* The same, fetching ahead (or NULL), the next n doubles the caller reads,
 * into L2 a line per 8 entries as the sweep goes (rows of 16 or more; see
 * lb_avx2_sum_exp_lo_ahead_f32). */
double lb_avx2_sum_exp_ahead_f64(size_t n, const double *x, double m, double *e,
                                 const double *ahead);
/* lb_avx2_sum_exp_f32 for a row whose minimum lo (lb_avx2_row_max_min_f32) is
 * known: the same bits, x - m by Fast2Sum where that is exact. */
double lb_avx2_sum_exp_lo_f32(size_t n, const float *x, float m, float lo, float *e);
/* The same, fetching ahead (or NULL: nothing), the n floats the caller
 * reads next (the next row), into L2 a line per 16 entries as the sweep
 * goes (rows of 32 or more): spread out, the fetches overlap the
 * arithmetic, where a burst of them before the sweep waits for free fill
 * buffers. */
double lb_avx2_sum_exp_lo_ahead_f32(size_t n, const float *x, float m, float lo, float *e,
                                    const float *ahead);
/* One pass for long rows: *m_out = row maximum, returns sum exp(x - m);
 * *nan_seen when an entry is NaN. */
double lb_avx2_online_max_sum_f32(size_t n, const float *x, float *m_out, bool *nan_seen);
double lb_avx2_online_max_sum_f64(size_t n, const double *x, double *m_out, bool *nan_seen);
void lb_avx2_fill_f32(size_t n, float *y, float v);
void lb_avx2_fill_f64(size_t n, double *y, double v);
/* y_j *= k */
void lb_avx2_scale_f32(size_t n, float *y, float k);
void lb_avx2_scale_f64(size_t n, double *y, double k);
/* y_j = exp(x_j - m) * k (y may be x); f64 long rows (f32 ones go in chunks) */
void lb_avx2_write_scaled_exp_f64(size_t n, const double *x, double m, double k, double *y);

/* Row kernels of the AVX2 table, also the AVX-512 kernels' path for the
 * rows those leave to AVX2 (short rows in registers, long rows in chunks or
 * online passes, rows with huge logits). */
void lb_avx2_softmax_f64(size_t n, const double *x, double *y);
void lb_avx2_log_softmax_f64(size_t n, const double *x, double *y);
void lb_avx2_log_softmax_stream_f64(size_t n, const double *x, double *y);
void lb_avx2_softmax_f32(size_t n, const float *x, float *y);
void lb_avx2_log_softmax_f32(size_t n, const float *x, float *y);
void lb_avx2_softmax_backward_f32(size_t n, const float *y, const float *dy, float *dx);
/* Four rows (in registers up to LB_ROW_GROUP_MAX_COLS columns, longer rows
 * one by one, by the _stream kernel when stream): the same bits as four
 * calls of lb_avx2_softmax_backward_f32. */
void lb_avx2_softmax_backward_rows4_f32(size_t n, const float *y, size_t ldy, const float *dy,
                                        size_t lddy, float *dx, size_t lddx, bool stream);
void lb_avx2_softmax_backward_stream_f32(size_t n, const float *y, const float *dy, float *dx);
/* Loss of a plain cross-entropy row (xent_avx2.c): a * log1p(rest / e_t)
 * where lb_xent_loss_by_log1p says so (e_t = exp(shifted_t) well inside
 * double range, a != 0), else 0 for a == 0 or a (log(s) - shifted_t). */
double lb_xent_plain_loss(double a, double rest, double e_t, double shifted_t);
static inline bool lb_xent_loss_by_log1p(double a, double shifted_t)
{
    return a != 0.0 && shifted_t > -600.0;
}

#define LB_LONG_CHUNK 8192
#define LB_LONG_MAX_CHUNKS 256

/* Elements per chunk of a long row: LB_LONG_CHUNK, more for rows of over
 * LB_LONG_MAX_CHUNKS chunks, a multiple of 16. */
static inline size_t lb_long_chunk_length(size_t n)
{
    size_t len = LB_LONG_CHUNK;
    if (n > len * LB_LONG_MAX_CHUNKS) len = (n + LB_LONG_MAX_CHUNKS - 1) / LB_LONG_MAX_CHUNKS;
    return (len + 15) / 16 * 16;
}

typedef struct lb_long_row_f32 {
    size_t chunk;                   /* elements per chunk (the last may be shorter) */
    float chunk_max[LB_LONG_MAX_CHUNKS];
    float m;                        /* row maximum */
    double s;                       /* sum_j exp(x_j - m), without the skipped index */
} lb_long_row_f32;

/* The three sweeps of a chunk: maximum and minimum; sum exp(x - m) with
 * e_j stored when e != NULL (ahead: the next chunk, which the sweep may
 * fetch into L2; at_least_one: the terms hold the chunk maximum's
 * exp(0) = 1, as lb_avx512_sum_exp_lo_f32 takes them); y *= k. */
typedef struct lb_chunk_sweeps_f32 {
    float (*max_min)(size_t n, const float *x, float *lo);
    double (*sum_exp)(size_t n, const float *x, float m, float lo, float *e, const float *ahead,
                      bool at_least_one);
    void (*scale)(size_t n, float *y, float k);
} lb_chunk_sweeps_f32;

/* The chunk loop of a long row with the given sweeps (the long-row comment
 * in softmax_avx2.c): y (may be x, or NULL for the sums alone) receives
 * exp(x_j - m_c); index skip (n for none) is left out of the sum and its y
 * entry unwritten. Returns the row kind: chunks of -inf get y = 0; a NaN
 * or +inf anywhere gives AVX2_ROW_NAN with y partly written. */
enum avx2_row_kind lb_long_row_exp_f32(size_t n, const float *x, float *y, size_t skip,
                                       lb_long_row_f32 *row, const lb_chunk_sweeps_f32 *sweeps);
/* y_j *= exp(m_c - m) k over every chunk, after lb_long_row_exp_f32. */
void lb_long_row_scale_f32(size_t n, float *y, const lb_long_row_f32 *row, double k,
                           const lb_chunk_sweeps_f32 *sweeps);
/* Softmax of a long row (y may be x): the chunk loop, then the scaling. */
void lb_long_row_softmax_f32(size_t n, const float *x, float *y, const lb_chunk_sweeps_f32 *sweeps);
/* Cross-entropy of a plain long row (xent_avx2.c), as the xent_row kernels
 * take it: returns the loss, grad (or NULL; may be x) the gradient. */
struct lb_xent_coef_f32;
double lb_long_xent_row_f32(size_t n, const float *x, const struct lb_xent_coef_f32 *coef,
                            float *grad, double grad_mul, const lb_chunk_sweeps_f32 *sweeps);
/* The AVX2 sweeps (no prefetch; one summation for all). */
extern const lb_chunk_sweeps_f32 lb_avx2_chunk_sweeps;

/* While a cached row is computed, fetch what is most likely the next row of
 * the batch (rows are usually contiguous) into L2: the memory stream then
 * overlaps the arithmetic. Prefetches never fault, so a guess past the end
 * of the matrix is harmless. Only for rows up to LB_PREFETCH_ROW_BYTES,
 * where the hardware prefetcher has too little run-up within one row.
 * For the exp-bound kernels (forward softmax, log-softmax, cross-entropy);
 * the bandwidth-bound backward passes measured faster without it (log-
 * softmax backward 750 vs 910 us at 1024 x 1000 f32, one thread).
 * Only inputs are fetched ahead: a burst prefetch of the next output row
 * (y or grad) before its sweep measured 0.93x the time without it on an
 * AMD EPYC Zen 4 host (AVX-512 softmax, log-softmax and sparse
 * cross-entropy, 64 x 1000 in cache; per-round lossblas_ab medians), and
 * 0.65-0.90x out of cache at 1024 x 1000 (AVX2 0.72-0.89x).
 * Always inlined: GCC treats a prefetch as free of side effects, so an
 * out-of-line helper can be judged pure and its calls deleted (which had
 * silently happened to the callers in softmax_avx2.c). */
#define LB_PREFETCH_ROW_BYTES ((size_t)16 * 1024)
/* The row after x's, when short enough to be fetched ahead (else NULL). */
static inline const float *next_row_f32(const float *x, size_t n)
{
    return n * sizeof(float) <= LB_PREFETCH_ROW_BYTES ? x + n : NULL;
}
static inline const double *next_row_f64(const double *x, size_t n)
{
    return n * sizeof(double) <= LB_PREFETCH_ROW_BYTES ? x + n : NULL;
}
/* The three rows a general cross-entropy sweep fetches ahead: the next
 * row's logits, targets (targets may be NULL: none) and gradient (none
 * when grad is NULL or the logits themselves), each NULL past
 * LB_PREFETCH_ROW_BYTES. lb_prefetch_ahead3_* fetches element j of each
 * into L2. */
static inline void lb_next_rows3_f32(size_t n, const float *x, const float *targets,
                                     const float *grad, const float *ahead[3])
{
    ahead[0] = next_row_f32(x, n);
    ahead[1] = targets ? next_row_f32(targets, n) : NULL;
    ahead[2] = grad && grad != x ? next_row_f32(grad, n) : NULL;
}
static inline void lb_next_rows3_f64(size_t n, const double *x, const double *targets,
                                     const double *grad, const double *ahead[3])
{
    ahead[0] = next_row_f64(x, n);
    ahead[1] = targets ? next_row_f64(targets, n) : NULL;
    ahead[2] = grad && grad != x ? next_row_f64(grad, n) : NULL;
}
static inline __attribute__((always_inline)) void lb_prefetch_ahead3_f32(const float *const ahead[3],
                                                                          size_t j)
{
    for (int k = 0; k < 3; k++)
        if (ahead[k]) _mm_prefetch((const char *)(ahead[k] + j), _MM_HINT_T1);
}
static inline __attribute__((always_inline)) void lb_prefetch_ahead3_f64(const double *const ahead[3],
                                                                          size_t j)
{
    for (int k = 0; k < 3; k++)
        if (ahead[k]) _mm_prefetch((const char *)(ahead[k] + j), _MM_HINT_T1);
}
static inline __attribute__((always_inline)) void lb_avx2_prefetch_next_row(const void *next,
                                                                             size_t bytes)
{
    if (bytes > LB_PREFETCH_ROW_BYTES) return;
    for (size_t off = 0; off < bytes; off += 64) _mm_prefetch((const char *)next + off, _MM_HINT_T1);
}

#endif /* LOSSBLAS_ROWS_AVX2_H */
