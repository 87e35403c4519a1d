/*
 * internal.h - what the kernel files share and users never see: the table of
 * per-row kernels chosen once per process (dispatch.c), argument checks used
 * by every public function, and the fixed-order row partition that keeps
 * reductions bitwise identical for every thread count.
 */
#ifndef LOSSBLAS_INTERNAL_H
#define LOSSBLAS_INTERNAL_H

#include "lossblas.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Per-row kernels                                                          */
/* ------------------------------------------------------------------------ */

/* Coefficients of one cross-entropy row: a_j = w_j * (target_coef * t_j +
 * smooth_coef), with t_j = targets[j] (dense) or [j == target] (sparse) and
 * w_j = weights[j] or 1. A plain sparse row has weights == NULL,
 * dense_targets == NULL, smooth_coef == 0 and target_coef == w_t. */
typedef struct lb_xent_coef_f32 {
    const float *dense_targets; /* one targets row, or NULL for a sparse target */
    size_t target;              /* sparse class index, when dense_targets == NULL */
    const float *weights;       /* cols class weights, or NULL for all 1 */
    double target_coef;         /* (1 - eps) [times w_t on the plain path] */
    double smooth_coef;         /* eps / cols */
} lb_xent_coef_f32;

typedef struct lb_xent_coef_f64 {
    const double *dense_targets;
    size_t target;
    const double *weights;
    double target_coef;
    double smooth_coef;
} lb_xent_coef_f64;

/* One row of each operation; n >= 1 columns, pointers to the row's start.
 * In-place use (y == x, dx == dy, grad == x) must work. xent_row returns the
 * row's loss -sum_j a_j log p_j and, if grad != NULL, writes
 * grad_j = grad_mul * (p_j * sum_k a_k - a_j). */
typedef struct lb_kernel_table {
    const char *name; /* "scalar", "avx2", "avx512" */

    void (*softmax_f32)(size_t n, const float *x, float *y);
    void (*softmax_f64)(size_t n, const double *x, double *y);
    void (*log_softmax_f32)(size_t n, const float *x, float *y);
    void (*log_softmax_f64)(size_t n, const double *x, double *y);
    void (*softmax_backward_f32)(size_t n, const float *y, const float *dy, float *dx);
    void (*softmax_backward_f64)(size_t n, const double *y, const double *dy, double *dx);
    void (*log_softmax_backward_f32)(size_t n, const float *logy, const float *dy, float *dx);
    void (*log_softmax_backward_f64)(size_t n, const double *logy, const double *dy,
                                     double *dx);
    /* Optional (NULL when absent): cross-entropy of four plain sparse rows
     * (target t_r, coefficient a_r = w_t, no smoothing) of n columns (any
     * n; the API groups up to xent_plain_rows4_max_cols_f32), row r at x +
     * r ldx, its gradient (grad may be NULL) at grad + r ld_grad, its loss
     * in losses[r]: the same bits as four xent_row calls. */
    void (*xent_plain_rows4_f32)(size_t n, const float *x, size_t ldx, const size_t *targets,
                                 const double *target_coefs, float *grad, size_t ld_grad,
                                 double grad_mul, double *losses);
    size_t xent_plain_rows4_max_cols_f32; /* the widest rows the API groups for it */
    /* Optional (NULL when absent): softmax / log-softmax of four rows of n
     * columns (row r at x + r ldx, y + r ldy), the same bits as four calls
     * of the one-row kernel, for any n. Short and medium rows are
     * latency-bound; a group lets their chains overlap. */
    void (*softmax_rows4_f32)(size_t n, const float *x, size_t ldx, float *y, size_t ldy);
    void (*log_softmax_rows4_f32)(size_t n, const float *x, size_t ldx, float *y, size_t ldy);
    /* The widest rows the two group kernels above take as groups (wider
     * ones they do row by row); the API groups rows up to this width. */
    size_t softmax_rows4_max_cols_f32, log_softmax_rows4_max_cols_f32;
    /* Optional: the softmax backward pass of four rows of n columns, the
     * same bits as four one-row calls (stream: as the _stream kernel, for
     * the rows the group writes by whole-row sweeps; register and
     * interleaved rows take regular stores either way). */
    void (*softmax_backward_rows4_f32)(size_t n, const float *y, size_t ldy, const float *dy,
                                       size_t lddy, float *dx, size_t lddx, bool stream);
    size_t softmax_backward_rows4_max_cols_f32; /* the widest rows the API groups for it */
    /* Optional: the same for the log-softmax backward pass (logy for y). */
    void (*log_softmax_backward_rows4_f32)(size_t n, const float *logy, size_t ldlogy,
                                           const float *dy, size_t lddy, float *dx, size_t lddx,
                                           bool stream);
    size_t log_softmax_backward_rows4_max_cols_f32;
    /* The same four operations, same results bit for bit, with the output
     * row written by non-temporal stores: for passes larger than the caches
     * (LB_STREAM_MIN_BYTES), whose outputs will not be read back soon. A
     * table may put its cached kernel here where streaming does not pay. */
    void (*softmax_stream_f32)(size_t n, const float *x, float *y);
    void (*softmax_stream_f64)(size_t n, const double *x, double *y);
    void (*log_softmax_stream_f32)(size_t n, const float *x, float *y);
    void (*log_softmax_stream_f64)(size_t n, const double *x, double *y);
    void (*softmax_backward_stream_f32)(size_t n, const float *y, const float *dy, float *dx);
    void (*softmax_backward_stream_f64)(size_t n, const double *y, const double *dy,
                                        double *dx);
    void (*log_softmax_backward_stream_f32)(size_t n, const float *logy, const float *dy,
                                            float *dx);
    void (*log_softmax_backward_stream_f64)(size_t n, const double *logy, const double *dy,
                                            double *dx);
    double (*xent_row_f32)(size_t n, const float *x, const lb_xent_coef_f32 *coef, float *grad,
                           double grad_mul);
    double (*xent_row_f64)(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                           double *grad, double grad_mul);
    /* The same row, the same bits, with the gradient row written by
     * non-temporal stores: for passes larger than the caches
     * (LB_STREAM_MIN_BYTES). */
    double (*xent_row_stream_f32)(size_t n, const float *x, const lb_xent_coef_f32 *coef,
                                  float *grad, double grad_mul);
    double (*xent_row_stream_f64)(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                                  double *grad, double grad_mul);
    /* FULL Jacobian of one row: jac[i*n + j] = (i == j ? y_i : 0) - y_i * y_j */
    void (*jacobian_full_f32)(size_t n, const float *y, float *jac);
    void (*jacobian_full_f64)(size_t n, const double *y, double *jac);
    /* MSE / MAE of one row: loss_out[j] (when non-NULL) = the element's loss,
     * dpred[j] (when non-NULL) = its derivative times grad_mul; returns the
     * row's loss sum (in double). dpred may be pred. stream_stores: the
     * outputs will not be read back soon (the pass is larger than the
     * caches), so a kernel may write them with non-temporal stores. */
    double (*mse_row_f32)(size_t n, const float *pred, const float *target, float *loss_out,
                          float *dpred, double grad_mul, bool stream_stores);
    double (*mse_row_f64)(size_t n, const double *pred, const double *target, double *loss_out,
                          double *dpred, double grad_mul, bool stream_stores);
    double (*mae_row_f32)(size_t n, const float *pred, const float *target, float *loss_out,
                          float *dpred, double grad_mul, bool stream_stores);
    double (*mae_row_f64)(size_t n, const double *pred, const double *target, double *loss_out,
                          double *dpred, double grad_mul, bool stream_stores);
    /* Index of the first maximum of a row, the first NaN if there is one
     * (numpy.argmax); accuracy compares these. */
    size_t (*argmax_f32)(size_t n, const float *v);
    size_t (*argmax_f64)(size_t n, const double *v);
    /* The same index for each of `rows` rows of n columns (row i at v +
     * i ld) into idx[i]: one call per block of rows, so that short rows'
     * independent reductions overlap instead of paying a call each. */
    void (*argmax_rows_f32)(size_t rows, size_t n, const float *v, size_t ld, size_t *idx);
    void (*argmax_rows_f64)(size_t rows, size_t n, const double *v, size_t ld, size_t *idx);
    /* max_j |v_j| of a row, a NaN if some v_j is NaN: the maximum of the
     * bit patterns with the sign cleared, as unsigned integers (they order
     * as the magnitudes, and every NaN lies above +inf). The dense
     * cross-entropy scans each target row with it for its overflow bound. */
    double (*abs_max_f32)(size_t n, const float *v);
    double (*abs_max_f64)(size_t n, const double *v);
} lb_kernel_table;

/* The table in use (chosen once; see dispatch.c). Never NULL. */
const lb_kernel_table *lb_kernels(void);

/* Every ISA's table; the reference one is complete, the others start as a
 * copy of it and override the slots they improve. */
void lb_fill_reference_kernels(lb_kernel_table *t);
void lb_fill_avx2_kernels(lb_kernel_table *t);
/* On top of the AVX2 set (call lb_fill_avx2_kernels first). */
void lb_fill_avx512_kernels(lb_kernel_table *t);

/* Reference kernels, also called directly by SIMD kernels for cases they do
 * not specialise (the general cross-entropy coefficients, for instance). */
void lb_ref_softmax_f32(size_t n, const float *x, float *y);
void lb_ref_softmax_f64(size_t n, const double *x, double *y);
void lb_ref_log_softmax_f32(size_t n, const float *x, float *y);
void lb_ref_log_softmax_f64(size_t n, const double *x, double *y);
void lb_ref_softmax_backward_f32(size_t n, const float *y, const float *dy, float *dx);
void lb_ref_softmax_backward_f64(size_t n, const double *y, const double *dy, double *dx);
void lb_ref_log_softmax_backward_f32(size_t n, const float *logy, const float *dy, float *dx);
void lb_ref_log_softmax_backward_f64(size_t n, const double *logy, const double *dy,
                                     double *dx);
double lb_ref_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef, float *grad,
                           double grad_mul);
double lb_ref_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                           double *grad, double grad_mul);
void lb_ref_jacobian_full_f32(size_t n, const float *y, float *jac);
void lb_ref_jacobian_full_f64(size_t n, const double *y, double *jac);
double lb_ref_mse_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                          float *dpred, double grad_mul, bool stream_stores);
double lb_ref_mse_row_f64(size_t n, const double *pred, const double *target, double *loss_out,
                          double *dpred, double grad_mul, bool stream_stores);
double lb_ref_mae_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                          float *dpred, double grad_mul, bool stream_stores);
double lb_ref_mae_row_f64(size_t n, const double *pred, const double *target, double *loss_out,
                          double *dpred, double grad_mul, bool stream_stores);
size_t lb_ref_argmax_f32(size_t n, const float *v);
size_t lb_ref_argmax_f64(size_t n, const double *v);
void lb_ref_argmax_rows_f32(size_t rows, size_t n, const float *v, size_t ld, size_t *idx);
void lb_ref_argmax_rows_f64(size_t rows, size_t n, const double *v, size_t ld, size_t *idx);
double lb_ref_abs_max_f32(size_t n, const float *v);
double lb_ref_abs_max_f64(size_t n, const double *v);

/* AVX2+FMA kernels that live outside softmax_avx2.c (which fills the table). */
double lb_avx2_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef, float *grad,
                            double grad_mul);
void lb_avx2_xent_plain_rows4_f32(size_t n, const float *x, size_t ldx, const size_t *targets,
                                  const double *target_coefs, float *grad, size_t ld_grad,
                                  double grad_mul, double *losses);
double lb_avx2_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                            double *grad, double grad_mul);
void lb_avx2_jacobian_full_f32(size_t n, const float *y, float *jac);
void lb_avx2_jacobian_full_f64(size_t n, const double *y, double *jac);
double lb_avx2_mse_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                           float *dpred, double grad_mul, bool stream_stores);
double lb_avx2_mse_row_f64(size_t n, const double *pred, const double *target, double *loss_out,
                           double *dpred, double grad_mul, bool stream_stores);
double lb_avx2_mae_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                           float *dpred, double grad_mul, bool stream_stores);
double lb_avx2_mae_row_f64(size_t n, const double *pred, const double *target, double *loss_out,
                           double *dpred, double grad_mul, bool stream_stores);
size_t lb_avx2_argmax_f32(size_t n, const float *v);
size_t lb_avx2_argmax_f64(size_t n, const double *v);
void lb_avx2_argmax_rows_f32(size_t rows, size_t n, const float *v, size_t ld, size_t *idx);
void lb_avx2_argmax_rows_f64(size_t rows, size_t n, const double *v, size_t ld, size_t *idx);
double lb_avx2_abs_max_f32(size_t n, const float *v);
double lb_avx2_abs_max_f64(size_t n, const double *v);

/* AVX-512 kernels that live outside softmax_avx512.c. */
double lb_avx512_mse_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                             float *dpred, double grad_mul, bool stream_stores);
double lb_avx512_mae_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                             float *dpred, double grad_mul, bool stream_stores);
double lb_avx512_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef,
                              float *grad, double grad_mul);
double lb_avx512_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                              double *grad, double grad_mul);
void lb_avx512_argmax_rows_f32(size_t rows, size_t n, const float *v, size_t ld, size_t *idx);
void lb_avx512_argmax_rows_f64(size_t rows, size_t n, const double *v, size_t ld, size_t *idx);
double lb_avx512_abs_max_f32(size_t n, const float *v);
double lb_avx512_abs_max_f64(size_t n, const double *v);
void lb_avx512_xent_plain_rows4_f32(size_t n, const float *x, size_t ldx, const size_t *targets,
                                    const double *target_coefs, float *grad, size_t ld_grad,
                                    double grad_mul, double *losses);

/* ------------------------------------------------------------------------ */
/* Argument checks                                                          */
/* ------------------------------------------------------------------------ */

/* Largest byte extent a matrix may span: pointer differences must fit. */
#define LB_MAX_BYTES ((size_t)PTRDIFF_MAX)

/* True when a rows x cols matrix with leading dimension ld of elem-byte
 * elements spans more than LB_MAX_BYTES. Assumes ld >= cols. */
static inline bool lb_extent_overflows(size_t rows, size_t cols, size_t ld, size_t elem)
{
    if (rows == 0) return false;
    size_t limit = LB_MAX_BYTES / elem;
    if (cols > limit) return true;
    /* (rows - 1) * ld + cols <= limit, without overflowing */
    if (rows - 1 != 0 && ld > (limit - cols) / (rows - 1)) return true;
    return false;
}

/* True when count elements of elem bytes exceed LB_MAX_BYTES, or a*b
 * overflows; *product receives a*b otherwise. */
static inline bool lb_product_overflows(size_t a, size_t b, size_t elem, size_t *product)
{
    if (a != 0 && b > LB_MAX_BYTES / elem / a) return true;
    *product = a * b;
    return false;
}

static inline bool lb_reduction_valid(lb_reduction r)
{
    return r == LB_MEAN || r == LB_SUM || r == LB_NONE;
}

/* ------------------------------------------------------------------------ */
/* Threads and fixed-order reductions                                       */
/* ------------------------------------------------------------------------ */

/* Widest rows the four-row group kernels take. */
#define LB_ROW_GROUP_MAX_COLS 16

/* Passes touching more than this many bytes outrun the caches (L3 is 32 MiB
 * on the target machine, shared): their outputs are written with
 * non-temporal stores where a kernel supports them. Not the AVX-512 f32
 * forward passes and cross-entropy, which are bound by their exp sweep:
 * their streaming sweeps (a staged row, then a store-only loop) stalled
 * the core where ordinary stores drain behind the next row's arithmetic.
 * On an AMD EPYC Zen 4 host, ordinary stores took 0.70x (cross-entropy),
 * 0.86-0.91x (softmax) and 0.90-0.94x (log-softmax) the time at 4096 and
 * 16384 x 1000, 0.70-0.84x at 65536 x 500 (same-process A/B, medians).
 * The bandwidth-bound backward passes keep streaming (softmax backward
 * 1.26x slower without it there). The AVX2 f32 forward passes and
 * log-softmax backward followed (0.84-0.96x the time without streaming on
 * an AVX2-only EPYC VM, neutral on Zen 4); the AVX2 f64 log-softmax keeps
 * it (1.07-1.09x slower without). */
#define LB_STREAM_MIN_BYTES ((size_t)24 << 20)

/* ... and only whole-row sweeps of at least min_row_bytes take them (a
 * group of contiguous rows counts as one sweep). Each sweep writes the
 * cache lines it shares with the neighbouring rows by ordinary stores. The
 * forward passes, cross-entropy, MSE/MAE and the log-softmax backward pass
 * stream rows of at least LB_STREAM_MIN_ROW_BYTES: at 100-200 floats their
 * streaming kernels measured 3-35 % slower than the cached ones on AVX2 and
 * even on AVX-512 (65536 rows, 1 thread). The softmax backward pass
 * streams from LB_STREAM_MIN_ROW_BYTES_SOFTMAX_BACKWARD: at 100 and 200
 * floats its streaming sweep took 0.80-0.93x the time on both ISAs. (Before
 * the kernels stopped fencing every row, see lb_stream_fence, any row
 * under 1 KiB lost from streaming.) */
#define LB_STREAM_MIN_ROW_BYTES ((size_t)1024)
#define LB_STREAM_MIN_ROW_BYTES_SOFTMAX_BACKWARD ((size_t)256)

/* Whether a pass moving pass_bytes, written in sweeps of row_bytes each,
 * takes streaming stores. Depends only on the shape. */
static inline bool lb_stream_pass(double pass_bytes, size_t row_bytes, size_t min_row_bytes)
{
    return pass_bytes >= (double)LB_STREAM_MIN_BYTES && row_bytes >= min_row_bytes;
}

/* Row kernels with streaming stores do not fence: an sfence per row waits
 * for the row's lines to reach memory (a microbenchmark streaming rows of
 * 100 floats over 52 MB: 28.1 ms with a fence per row, 6.7 ms without; of
 * 4 KiB rows, 1.3x the time). A thread's own loads see its streaming
 * stores anyway; other threads, and the caller after an OpenMP region,
 * need them ordered before the range ends, so every range function that
 * streamed calls this once at its end. (The Jacobian kernels, whose rows
 * are whole n x n matrices, still fence their own.) */
static inline void lb_stream_fence(void)
{
#if defined(__SSE__)
    _mm_sfence();
#endif
}

/* Threads to use for a pass over rows rows of work_per_row elements: 1 for
 * small work (entering a parallel region costs microseconds), else the
 * configured count, at most rows. Passes that take an exp per element count
 * each element LB_EXP_WORK times: one costs about 0.65 ns (f32) against
 * ~0.1 ns for a streaming element, so 16 x 1000 softmax (~10 us on one
 * core) is worth a second thread while 16 x 1000 MSE is not. */
int lb_threads_for(size_t rows, size_t work_per_row);
#define LB_EXP_WORK 8

/* Calls range(ctx, begin, end) over [0, n) split into `threads` contiguous
 * blocks, one per OpenMP thread. With one thread it calls range(ctx, 0, n)
 * directly: even an `if (false)` parallel region costs about 0.5 us to enter
 * and leave, which would dominate small batches. */
typedef void (*lb_range_fn)(void *ctx, size_t begin, size_t end);
void lb_parallel_for(size_t n, int threads, lb_range_fn range, void *ctx);

/* Rows are summed in chunks whose size depends only on rows, at most
 * LB_MAX_CHUNKS of them; chunk sums are then added in chunk order. So any
 * thread count gives the same bits. */
#define LB_MAX_CHUNKS 512
static inline size_t lb_chunk_rows(size_t rows)
{
    size_t chunk = (rows + LB_MAX_CHUNKS - 1) / LB_MAX_CHUNKS;
    return chunk < 8 ? 8 : chunk;
}

/* Sum of n doubles in index order (the chunk sums). */
static inline double lb_sum_in_order(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return s;
}

/* Blocked summation for long rows: terms are added into a block of up to 256,
 * blocks into the total, so the rounding error grows as (256 + n/256) eps
 * rather than n eps (about 1e-13 relative at 131072 terms in double). */
typedef struct lb_blocked_sum {
    double total, block;
    unsigned count;
} lb_blocked_sum;

static inline void lb_bsum_add(lb_blocked_sum *s, double v)
{
    s->block += v;
    if (++s->count == 256) {
        s->total += s->block;
        s->block = 0.0;
        s->count = 0;
    }
}

static inline double lb_bsum_value(const lb_blocked_sum *s) { return s->total + s->block; }

#endif /* LOSSBLAS_INTERNAL_H */
