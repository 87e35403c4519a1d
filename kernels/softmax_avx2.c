/*
 * softmax_avx2.c - AVX2+FMA per-row kernels for softmax, log-softmax and
 * their backward passes (f32 and f64), and the AVX2 kernel table.
 *
 * Forward rows that stay in cache (up to LB_CACHED_ROW_BYTES) take three
 * sweeps: the maximum, then exp(x - m) stored into y while its sum is
 * accumulated, then y scaled by 1/sum; memory sees one read of x and one
 * write of y, the later sweeps hit L1/L2. Longer rows take two sweeps over x:
 * an online pass that keeps a running maximum and a normalizer rescaled
 * whenever a block raises the maximum, then one pass writing y (exp
 * recomputed), so no sweep re-reads y from memory.
 *
 * Accuracy: every row sum (normalizer, dot product) is accumulated in double
 * lanes, folded every LB_FOLD_VECTORS vectors into a running total, so the
 * f32 results carry only the error of exp and of the final scaling.
 *
 * Edge rows (NaN/+inf anywhere, all -inf) are detected from the maximum and
 * from the normalizer (a NaN entry makes it NaN), so the common path has no
 * extra per-element check.
 *
 * Rows of up to 32 floats are held in registers; up to 16, the API takes
 * them four at a time (the *_rows4 kernels: the same code with the rows
 * interleaved, so their latency chains overlap). Passes larger than the
 * caches use the *_stream kernels where the table has one of its own
 * (softmax backward, f64 log-softmax), which write their output with
 * non-temporal stores (the same arithmetic; see stream_span_of).
 */
#include "internal.h"
#include "exp_avx2.h"
#include "rows_avx2.h"

#include <math.h>

/* Elements per block of the online pass (fits L1 with room to spare). */
#define LB_ONLINE_BLOCK 2048
/* Vector sums are folded into the running total after this many vectors. */
#define LB_FOLD_VECTORS 64

/* ------------------------------------------------------------------------ */
/* Shared row sweeps                                                        */
/* ------------------------------------------------------------------------ */

/* Maximum of x[0..n) and, when lo != NULL, its minimum (the minimum decides
 * how the exp sweeps form x - m, lb_diff_mode_f32; it rides along free in
 * this load-bound sweep). NaN entries may or may not be seen here (callers
 * catch them through the normalizer or nan_check). */
static inline __attribute__((always_inline)) float row_max_min_impl_f32(size_t n, const float *x,
                                                                          float *lo)
{
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, l0 = _mm256_set1_ps(INFINITY), l1 = l0;
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m256 a = _mm256_loadu_ps(x + j), b = _mm256_loadu_ps(x + j + 8);
        m0 = _mm256_max_ps(m0, a);
        m1 = _mm256_max_ps(m1, b);
        if (lo) {
            l0 = _mm256_min_ps(l0, a);
            l1 = _mm256_min_ps(l1, b);
        }
    }
    if (j + 8 <= n) {
        __m256 a = _mm256_loadu_ps(x + j);
        m0 = _mm256_max_ps(m0, a);
        if (lo) l0 = _mm256_min_ps(l0, a);
        j += 8;
    }
    if (j < n) {
        __m256i mask = lb_tail_mask_f32(n - j);
        __m256 v = lb_load_part_f32(x, n, j), in_row = _mm256_castsi256_ps(mask);
        m1 = _mm256_max_ps(m1, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), v, in_row));
        if (lo) l1 = _mm256_min_ps(l1, _mm256_blendv_ps(_mm256_set1_ps(INFINITY), v, in_row));
    }
    if (lo) *lo = -lb_hmax_f32(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_min_ps(l0, l1)));
    return lb_hmax_f32(_mm256_max_ps(m0, m1));
}

float lb_avx2_row_max_min_f32(size_t n, const float *x, float *lo)
{
    return row_max_min_impl_f32(n, x, lo);
}

float lb_avx2_row_max_f32(size_t n, const float *x) { return row_max_min_impl_f32(n, x, NULL); }

double lb_avx2_row_max_f64(size_t n, const double *x)
{
    __m256d m0 = _mm256_set1_pd(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        m0 = _mm256_max_pd(m0, _mm256_loadu_pd(x + j));
        m1 = _mm256_max_pd(m1, _mm256_loadu_pd(x + j + 4));
        m2 = _mm256_max_pd(m2, _mm256_loadu_pd(x + j + 8));
        m3 = _mm256_max_pd(m3, _mm256_loadu_pd(x + j + 12));
    }
    for (; j + 4 <= n; j += 4) m0 = _mm256_max_pd(m0, _mm256_loadu_pd(x + j));
    if (j < n) {
        __m256i mask = lb_tail_mask_f64(n - j);
        __m256d v = lb_load_part_f64(x, n, j);
        m1 = _mm256_max_pd(m1, _mm256_blendv_pd(_mm256_set1_pd(-INFINITY), v,
                                                 _mm256_castsi256_pd(mask)));
    }
    return lb_hmax_f64(_mm256_max_pd(_mm256_max_pd(m0, m1), _mm256_max_pd(m2, m3)));
}

static bool has_nan_f32(size_t n, const float *x)
{
    for (size_t j = 0; j < n; j++)
        if (isnan(x[j])) return true;
    return false;
}

static bool has_nan_f64(size_t n, const double *x)
{
    for (size_t j = 0; j < n; j++)
        if (isnan(x[j])) return true;
    return false;
}

void lb_avx2_fill_f32(size_t n, float *y, float v)
{
    for (size_t j = 0; j < n; j++) y[j] = v;
}

void lb_avx2_fill_f64(size_t n, double *y, double v)
{
    for (size_t j = 0; j < n; j++) y[j] = v;
}

/* The three row kinds of reference.inc, from the row maximum m (NaN entries
 * may be invisible to m; a finite-m row with a NaN is caught later by the
 * normalizer). */
enum avx2_row_kind lb_avx2_classify_f32(size_t n, const float *x, float m)
{
    if (m == INFINITY) return AVX2_ROW_NAN;
    if (m == -INFINITY) return has_nan_f32(n, x) ? AVX2_ROW_NAN : AVX2_ROW_ALL_NEG_INF;
    return AVX2_ROW_FINITE;
}

enum avx2_row_kind lb_avx2_classify_f64(size_t n, const double *x, double m)
{
    if (m == INFINITY) return AVX2_ROW_NAN;
    if (m == -INFINITY) return has_nan_f64(n, x) ? AVX2_ROW_NAN : AVX2_ROW_ALL_NEG_INF;
    return AVX2_ROW_FINITE;
}

/* sum_j exp(x_j - m) in double; when e != NULL also stores e_j = exp(x_j - m)
 * (e may be x). NaN in x makes the sum NaN. */
/* A row whose maximum is -FLT_MAX has no float floor below it (see
 * lb_exp_floor_f32): its -inf entries could not be told from -FLT_MAX, so
 * such rows take this scalar path. */
static bool needs_scalar_exp_f32(float m) { return m < -0x1.fffffep127f + 0x1p105f; }

static double sum_exp_scalar_f32(size_t n, const float *x, float m, float *e)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++) {
        double v = exp((double)x[j] - (double)m);
        if (e) e[j] = (float)v;
        s += v;
    }
    return s;
}

/* The pairs of vectors of sum_exp_f32_impl, software-pipelined (exp_avx2.h):
 * iteration k scales pair k, evaluates the polynomial of pair k + 1 and
 * reduces pair k + 2. Sums and stores exactly as the plain loop below: even
 * vectors into lo0/hi0, odd ones into lo1/hi1, folded into *total every
 * LB_FOLD_VECTORS vectors and at the end. For n >= 32; returns the index
 * after the last pair. ahead (or NULL): as in lb_avx2_sum_exp_lo_ahead_f32. */
static inline __attribute__((always_inline)) size_t
sum_exp_pairs_f32(size_t n, const float *x, __m256 minus_m, __m256 floor, float *e, bool clamp,
                  enum lb_diff_mode mode, __m256d *total, const float *ahead)
{
    const size_t pairs = n / 16;
    const __m256d zero = _mm256_setzero_pd();
    __m256d lo0 = zero, hi0 = zero, lo1 = zero, hi1 = zero;
    lb_exp_reduced_f32 q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x), minus_m, floor, clamp, mode);
    lb_exp_reduced_f32 q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 8), minus_m, floor, clamp, mode);
    __m256 p0 = lb_exp_poly_f32(q0.r), p1 = lb_exp_poly_f32(q1.r), z0 = q0.z, z1 = q1.z;
    q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 16), minus_m, floor, clamp, mode);
    q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 24), minus_m, floor, clamp, mode);
    for (size_t k = 0; k < pairs; k++) {
        size_t j = 16 * k;
        if (ahead) _mm_prefetch((const char *)(ahead + j), _MM_HINT_T1);
        __m256 e0 = lb_exp_scale_f32(p0, z0), e1 = lb_exp_scale_f32(p1, z1);
        if (k + 1 < pairs) {
            p0 = lb_exp_poly_f32(q0.r), p1 = lb_exp_poly_f32(q1.r), z0 = q0.z, z1 = q1.z;
        }
        if (k + 2 < pairs) {
            q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + j + 32), minus_m, floor, clamp, mode);
            q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + j + 40), minus_m, floor, clamp, mode);
        }
        if (e) {
            _mm256_storeu_ps(e + j, e0);
            _mm256_storeu_ps(e + j + 8, e1);
        }
        lb_acc_f32_in_f64(&lo0, &hi0, e0);
        lb_acc_f32_in_f64(&lo1, &hi1, e1);
        if ((k + 1) % (LB_FOLD_VECTORS / 2) == 0 || k + 1 == pairs) {
            *total = _mm256_add_pd(*total, _mm256_add_pd(_mm256_add_pd(lo0, hi0),
                                                         _mm256_add_pd(lo1, hi1)));
            lo0 = hi0 = lo1 = hi1 = zero;
        }
    }
    return 16 * pairs;
}

static inline __attribute__((always_inline)) double
sum_exp_f32_impl(size_t n, const float *x, float m, float *e, bool clamp, enum lb_diff_mode mode,
                 const float *ahead)
{
    const __m256 vm = _mm256_set1_ps(-m), floor = _mm256_set1_ps(lb_exp_floor_f32(m));
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    if (n >= 32) j = sum_exp_pairs_f32(n, x, vm, floor, e, clamp, mode, &total, ahead);
    while (j + 8 <= n) {
        __m256d lo0 = _mm256_setzero_pd(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
        size_t block_end = j + 8 * LB_FOLD_VECTORS < n ? j + 8 * LB_FOLD_VECTORS : n;
        for (; j + 16 <= block_end; j += 16) {
            __m256 e0 = lb_exp_shifted_mode_f32_avx2(_mm256_loadu_ps(x + j), vm, floor, clamp, mode);
            __m256 e1 = lb_exp_shifted_mode_f32_avx2(_mm256_loadu_ps(x + j + 8), vm, floor, clamp, mode);
            if (e) {
                _mm256_storeu_ps(e + j, e0);
                _mm256_storeu_ps(e + j + 8, e1);
            }
            lb_acc_f32_in_f64(&lo0, &hi0, e0);
            lb_acc_f32_in_f64(&lo1, &hi1, e1);
        }
        if (j + 8 <= block_end) {
            __m256 e0 = lb_exp_shifted_mode_f32_avx2(_mm256_loadu_ps(x + j), vm, floor, clamp, mode);
            if (e) _mm256_storeu_ps(e + j, e0);
            lb_acc_f32_in_f64(&lo0, &hi0, e0);
            j += 8;
        }
        total = _mm256_add_pd(total, _mm256_add_pd(_mm256_add_pd(lo0, hi0),
                                                   _mm256_add_pd(lo1, hi1)));
    }
    if (j < n) {
        __m256i mask = lb_tail_mask_f32(n - j);
        __m256 v = lb_load_part_f32(x, n, j);
        __m256 e0 = _mm256_and_ps(lb_exp_shifted_mode_f32_avx2(v, vm, floor, clamp, mode),
                                  _mm256_castsi256_ps(mask));
        if (e) lb_store_part_f32(e + j, n - j, e0);
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        lb_acc_f32_in_f64(&lo, &hi, e0);
        total = _mm256_add_pd(total, _mm256_add_pd(lo, hi));
    }
    return lb_hsum_f64(total);
}

double lb_avx2_sum_exp_f32(size_t n, const float *x, float m, float *e)
{
    if (needs_scalar_exp_f32(m)) return sum_exp_scalar_f32(n, x, m, e);
    if (lb_exp_needs_clamp_f32(m)) return sum_exp_f32_impl(n, x, m, e, true, LB_DIFF_TWOSUM, NULL);
    return sum_exp_f32_impl(n, x, m, e, false, LB_DIFF_TWOSUM, NULL);
}

/* The same for a row whose minimum lo is known: x - m by Fast2Sum where
 * lb_diff_mode_f32 allows it (the same bits, ~10 % faster sweep). */
double lb_avx2_sum_exp_lo_ahead_f32(size_t n, const float *x, float m, float lo, float *e,
                                    const float *ahead)
{
    if (needs_scalar_exp_f32(m) || lb_exp_needs_clamp_f32(m)) return lb_avx2_sum_exp_f32(n, x, m, e);
    switch (lb_diff_mode_f32(m, lo)) {
    case LB_DIFF_FAST_M: return sum_exp_f32_impl(n, x, m, e, false, LB_DIFF_FAST_M, ahead);
    case LB_DIFF_FAST_X: return sum_exp_f32_impl(n, x, m, e, false, LB_DIFF_FAST_X, ahead);
    case LB_DIFF_TWOSUM: break;
    }
    return sum_exp_f32_impl(n, x, m, e, false, LB_DIFF_TWOSUM, ahead);
}

double lb_avx2_sum_exp_lo_f32(size_t n, const float *x, float m, float lo, float *e)
{
    return lb_avx2_sum_exp_lo_ahead_f32(n, x, m, lo, e, NULL);
}

/* The pairs of vectors of lb_avx2_sum_exp_f64, software-pipelined as
 * sum_exp_pairs_f32 (the same sums in the same order as the plain loop
 * there). For n >= 16; returns the index after the last pair. ahead (or
 * NULL): the next row, fetched into L2 a line per pair. */
static inline __attribute__((always_inline)) size_t sum_exp_pairs_f64(size_t n, const double *x,
                                                                      __m256d vm, double *e,
                                                                      __m256d *total,
                                                                      const double *ahead)
{
    const size_t pairs = n / 8;
    const __m256d zero = _mm256_setzero_pd();
    __m256d a0 = zero, a1 = zero;
    lb_exp_reduced_f64 q0 = lb_exp_shifted_reduce_f64(_mm256_loadu_pd(x), vm);
    lb_exp_reduced_f64 q1 = lb_exp_shifted_reduce_f64(_mm256_loadu_pd(x + 4), vm);
    __m256d p0 = lb_exp_poly_f64(q0.r), p1 = lb_exp_poly_f64(q1.r), z0 = q0.z, z1 = q1.z;
    q0 = lb_exp_shifted_reduce_f64(_mm256_loadu_pd(x + 8), vm);
    q1 = lb_exp_shifted_reduce_f64(_mm256_loadu_pd(x + 12), vm);
    for (size_t k = 0; k < pairs; k++) {
        size_t j = 8 * k;
        if (ahead) _mm_prefetch((const char *)(ahead + j), _MM_HINT_T1);
        __m256d e0 = lb_exp_scale_f64(p0, z0), e1 = lb_exp_scale_f64(p1, z1);
        if (k + 1 < pairs) {
            p0 = lb_exp_poly_f64(q0.r), p1 = lb_exp_poly_f64(q1.r), z0 = q0.z, z1 = q1.z;
        }
        if (k + 2 < pairs) {
            q0 = lb_exp_shifted_reduce_f64(_mm256_loadu_pd(x + j + 16), vm);
            q1 = lb_exp_shifted_reduce_f64(_mm256_loadu_pd(x + j + 20), vm);
        }
        if (e) {
            _mm256_storeu_pd(e + j, e0);
            _mm256_storeu_pd(e + j + 4, e1);
        }
        a0 = _mm256_add_pd(a0, e0);
        a1 = _mm256_add_pd(a1, e1);
        if ((k + 1) % (LB_FOLD_VECTORS / 2) == 0 || k + 1 == pairs) {
            *total = _mm256_add_pd(*total, _mm256_add_pd(a0, a1));
            a0 = a1 = zero;
        }
    }
    return 8 * pairs;
}

double lb_avx2_sum_exp_f64(size_t n, const double *x, double m, double *e)
{
    return lb_avx2_sum_exp_ahead_f64(n, x, m, e, NULL);
}

double lb_avx2_sum_exp_ahead_f64(size_t n, const double *x, double m, double *e,
                                 const double *ahead)
{
    const __m256d vm = _mm256_set1_pd(m);
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    if (n >= 16) j = sum_exp_pairs_f64(n, x, vm, e, &total, ahead);
    while (j + 4 <= n) {
        __m256d a0 = _mm256_setzero_pd(), a1 = a0;
        size_t block_end = j + 4 * LB_FOLD_VECTORS < n ? j + 4 * LB_FOLD_VECTORS : n;
        for (; j + 8 <= block_end; j += 8) {
            __m256d e0 = lb_exp_shifted_f64_avx2(_mm256_loadu_pd(x + j), vm);
            __m256d e1 = lb_exp_shifted_f64_avx2(_mm256_loadu_pd(x + j + 4), vm);
            if (e) {
                _mm256_storeu_pd(e + j, e0);
                _mm256_storeu_pd(e + j + 4, e1);
            }
            a0 = _mm256_add_pd(a0, e0);
            a1 = _mm256_add_pd(a1, e1);
        }
        if (j + 4 <= block_end) {
            __m256d e0 = lb_exp_shifted_f64_avx2(_mm256_loadu_pd(x + j), vm);
            if (e) _mm256_storeu_pd(e + j, e0);
            a0 = _mm256_add_pd(a0, e0);
            j += 4;
        }
        total = _mm256_add_pd(total, _mm256_add_pd(a0, a1));
    }
    if (j < n) {
        __m256i mask = lb_tail_mask_f64(n - j);
        __m256d v = lb_load_part_f64(x, n, j);
        __m256d e0 = _mm256_and_pd(lb_exp_shifted_f64_avx2(v, vm), _mm256_castsi256_pd(mask));
        if (e) lb_store_part_f64(e + j, n - j, e0);
        total = _mm256_add_pd(total, e0);
    }
    return lb_hsum_f64(total);
}

/* Online pass for long rows: the row maximum *m_out and s = sum exp(x - m).
 * Per block: its maximum; when that raises the running maximum M, the sum so
 * far is rescaled by exp(M_old - M_new) (in double, exact enough), then the
 * block's exp(x - M) is added. Returns s; *nan_seen reports NaN entries. */
double lb_avx2_online_max_sum_f32(size_t n, const float *x, float *m_out, bool *nan_seen)
{
    float m = -INFINITY;
    double s = 0.0;
    bool nan = false;
    for (size_t b = 0; b < n; b += LB_ONLINE_BLOCK) {
        size_t len = n - b < LB_ONLINE_BLOCK ? n - b : LB_ONLINE_BLOCK;
        float bm = lb_avx2_row_max_f32(len, x + b);
        if (bm == -INFINITY) {
            nan = nan || has_nan_f32(len, x + b);
            continue;
        }
        if (bm == INFINITY) {
            m = INFINITY;
            break;
        }
        if (bm > m) {
            s *= exp((double)m - (double)bm);
            m = bm;
        }
        s += lb_avx2_sum_exp_f32(len, x + b, m, NULL);
    }
    *m_out = m;
    *nan_seen = nan || isnan(s);
    return s;
}

double lb_avx2_online_max_sum_f64(size_t n, const double *x, double *m_out, bool *nan_seen)
{
    double m = -INFINITY;
    double s = 0.0;
    bool nan = false;
    for (size_t b = 0; b < n; b += LB_ONLINE_BLOCK) {
        size_t len = n - b < LB_ONLINE_BLOCK ? n - b : LB_ONLINE_BLOCK;
        double bm = lb_avx2_row_max_f64(len, x + b);
        if (bm == -INFINITY) {
            nan = nan || has_nan_f64(len, x + b);
            continue;
        }
        if (bm == INFINITY) {
            m = INFINITY;
            break;
        }
        if (bm > m) {
            s *= exp(m - bm);
            m = bm;
        }
        s += lb_avx2_sum_exp_f64(len, x + b, m, NULL);
    }
    *m_out = m;
    *nan_seen = nan || isnan(s);
    return s;
}

/* y_j *= k */
void lb_avx2_scale_f32(size_t n, float *y, float k)
{
    const __m256 vk = _mm256_set1_ps(k);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), vk));
        _mm256_storeu_ps(y + j + 8, _mm256_mul_ps(_mm256_loadu_ps(y + j + 8), vk));
    }
    for (; j < n; j++) y[j] *= k;
}

void lb_avx2_scale_f64(size_t n, double *y, double k)
{
    const __m256d vk = _mm256_set1_pd(k);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        _mm256_storeu_pd(y + j, _mm256_mul_pd(_mm256_loadu_pd(y + j), vk));
        _mm256_storeu_pd(y + j + 4, _mm256_mul_pd(_mm256_loadu_pd(y + j + 4), vk));
    }
    for (; j < n; j++) y[j] *= k;
}

void lb_avx2_write_scaled_exp_f64(size_t n, const double *x, double m, double k, double *y)
{
    const __m256d vm = _mm256_set1_pd(m), vk = _mm256_set1_pd(k);
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        _mm256_storeu_pd(y + j,
                         _mm256_mul_pd(lb_exp_shifted_f64_avx2(_mm256_loadu_pd(x + j), vm), vk));
    if (j < n) {
        __m256d e = lb_exp_shifted_f64_avx2(lb_load_part_f64(x, n, j), vm);
        lb_store_part_f64(y + j, n - j, _mm256_mul_pd(e, vk));
    }
}

/* ------------------------------------------------------------------------ */
/* Long rows in chunks                                                      */
/* ------------------------------------------------------------------------ */

/* Rows longer than LB_CACHED_ROW_BYTES are taken in chunks of
 * LB_LONG_CHUNK elements (more for rows over LB_LONG_MAX_CHUNKS of them), each
 * small enough to stay in L1/L2 between its two sweeps: its maximum m_c, then
 * y_j = exp(x_j - m_c) stored and summed as for a cached row. The row's
 * maximum is M = max m_c and its normalizer s = sum_c s_c exp(m_c - M) (in
 * double); a last sweep multiplies each chunk by exp(m_c - M) k. One exp per
 * element, where the online pass followed by a recomputing write took two.
 * y_j = e_j f_c has the cached path's error terms (the exp, the rounded
 * factor, the product). A factor below FLT_MIN loses relative precision, but
 * its outputs (e_j <= 1) are subnormal too: their absolute error stays under
 * one subnormal ulp. f32 only: x - m_c and m_c - M are exact there (TwoSum,
 * and floats in double), so chunks change nothing of the accuracy. f64 rows
 * keep the online pass and the recomputing write: f64 rounds x - m as its
 * reference does, and per-chunk maxima would round differently (46 ulp
 * apart from the reference at x - M = -60, measured). */

enum avx2_row_kind lb_long_row_exp_f32(size_t n, const float *x, float *y, size_t skip,
                                       lb_long_row_f32 *row, const lb_chunk_sweeps_f32 *sweeps)
{
    size_t len = lb_long_chunk_length(n);
    float m = -INFINITY;
    double s = 0.0;
    row->chunk = len;
    for (size_t c = 0, b = 0; b < n; b += len, c++) {
        size_t l = n - b < len ? n - b : len;
        float lo, mc = sweeps->max_min(l, x + b, &lo);
        enum avx2_row_kind kind = lb_avx2_classify_f32(l, x + b, mc);
        if (kind == AVX2_ROW_NAN) return AVX2_ROW_NAN;
        row->chunk_max[c] = mc;
        if (kind == AVX2_ROW_ALL_NEG_INF) {
            if (y) lb_avx2_fill_f32(l, y + b, 0.0f);
            continue;
        }
        float *yc = y ? y + b : NULL;
        const float *ahead = b + l < n ? x + b + l : NULL; /* the next chunk */
        double sc;
        if (skip >= b && skip < b + l) {
            size_t t = skip - b;
            sc = sweeps->sum_exp(t, x + b, mc, lo, yc, ahead, false) +
                 sweeps->sum_exp(l - t - 1, x + skip + 1, mc, lo, yc ? yc + t + 1 : NULL,
                                 ahead ? ahead + t + 1 : NULL, false);
        } else {
            sc = sweeps->sum_exp(l, x + b, mc, lo, yc, ahead, true); /* holds exp(mc - mc) = 1 */
        }
        if (isnan(sc)) return AVX2_ROW_NAN; /* a NaN below a finite maximum */
        if (mc > m) {
            s = s * exp((double)m - (double)mc) + sc;
            m = mc;
        } else {
            s += sc * exp((double)mc - (double)m);
        }
    }
    if (m == -INFINITY) return AVX2_ROW_ALL_NEG_INF;
    row->m = m;
    row->s = s;
    return AVX2_ROW_FINITE;
}

void lb_long_row_scale_f32(size_t n, float *y, const lb_long_row_f32 *row, double k,
                           const lb_chunk_sweeps_f32 *sweeps)
{
    for (size_t c = 0, b = 0; b < n; b += row->chunk, c++) {
        size_t l = n - b < row->chunk ? n - b : row->chunk;
        if (row->chunk_max[c] == -INFINITY) continue; /* zeros already */
        sweeps->scale(l, y + b, (float)(exp((double)row->chunk_max[c] - (double)row->m) * k));
    }
}

void lb_long_row_softmax_f32(size_t n, const float *x, float *y, const lb_chunk_sweeps_f32 *sweeps)
{
    lb_long_row_f32 row;
    switch (lb_long_row_exp_f32(n, x, y, n, &row, sweeps)) {
    case AVX2_ROW_NAN: lb_avx2_fill_f32(n, y, NAN); return;
    case AVX2_ROW_ALL_NEG_INF: return; /* every chunk was filled with 0 */
    case AVX2_ROW_FINITE: break;
    }
    lb_long_row_scale_f32(n, y, &row, 1.0 / row.s, sweeps);
}

static double avx2_chunk_sum_exp(size_t n, const float *x, float m, float lo, float *e,
                                 const float *ahead, bool at_least_one)
{
    (void)ahead;
    (void)at_least_one;
    return lb_avx2_sum_exp_lo_f32(n, x, m, lo, e);
}
const lb_chunk_sweeps_f32 lb_avx2_chunk_sweeps = {lb_avx2_row_max_min_f32, avx2_chunk_sum_exp,
                                                  lb_avx2_scale_f32};

/* ------------------------------------------------------------------------ */
/* Softmax                                                                  */
/* ------------------------------------------------------------------------ */

/* Streaming (non-temporal) stores: for passes larger than the caches
 * (LB_STREAM_MIN_BYTES), the output rows are written around the caches, so
 * memory sees one write of y instead of a read for ownership and a later
 * write-back. Only whole 64-byte lines take them: the elements before the
 * row's first line boundary and after its last are written by ordinary
 * (whole or masked) vectors of the same arithmetic, so the results are the
 * same bits. A line written half by streaming and half by ordinary stores
 * costs a read for ownership and a partial write-combining flush: with
 * 32-byte heads, 65536 x 100 rows ran 1.7-2.3x the time of ordinary stores.
 * No row ends with an sfence either: one per row made short-row passes up
 * to 4x slower (each waits for the row's lines to reach memory); the API
 * fences once at the end of each thread's range (lb_stream_fence). */
typedef struct stream_span {
    size_t head, body; /* [0, head) and [body, n) ordinary, [head, body) streamed */
} stream_span;

static inline stream_span stream_span_of(const void *out, size_t elem, size_t n)
{
    size_t head = ((64 - ((uintptr_t)out & 63)) & 63) / elem;
    if (head > n) head = n;
    size_t per_line = 64 / elem;
    return (stream_span){head, head + (n - head) / per_line * per_line};
}

/* out[0, n) = the values VEC(j) (one vector of LANES elements from element
 * j) and MVEC(j, mask) (the same, masked), streamed as stream_span_of says;
 * SUF and T name the intrinsics' and masks' element type (ps / f32, pd /
 * f64). */
#define STREAM_SWEEP(SUF, T, LANES, n, out, VEC, MVEC)                                       \
    do {                                                                                      \
        stream_span sp_ = stream_span_of(out, sizeof *(out), n);                              \
        size_t j_ = 0;                                                                        \
        for (; j_ + LANES <= sp_.head; j_ += LANES) _mm256_storeu_##SUF((out) + j_, VEC(j_)); \
        if (j_ < sp_.head) { /* a whole vector is in the row: no masked load or store */     \
            if (j_ + LANES <= (n)) {                                                          \
                lb_store_part_##T((out) + j_, sp_.head - j_, VEC(j_));                        \
            } else {                                                                          \
                __m256i m_ = lb_tail_mask_##T(sp_.head - j_);                                 \
                _mm256_maskstore_##SUF((out) + j_, m_, MVEC(j_, m_));                         \
            }                                                                                 \
            j_ = sp_.head;                                                                    \
        }                                                                                     \
        for (; j_ < sp_.body; j_ += LANES) _mm256_stream_##SUF((out) + j_, VEC(j_));          \
        for (; j_ + LANES <= (n); j_ += LANES) _mm256_storeu_##SUF((out) + j_, VEC(j_));      \
        if (j_ < (n) && (n) >= LANES) { /* the row's last vector, its tail rotated down */  \
            lb_store_part_##T((out) + j_, (n) - j_,                                           \
                              lb_rotate_tail_##T(VEC((n) - LANES), (n) - j_));                \
        } else if (j_ < (n)) {                                                                \
            __m256i m_ = lb_tail_mask_##T((n) - j_);                                          \
            _mm256_maskstore_##SUF((out) + j_, m_, MVEC(j_, m_));                             \
        }                                                                                     \
    } while (0)
#define STREAM_SWEEP_F32(n, out, VEC, MVEC) STREAM_SWEEP(ps, f32, 8, n, out, VEC, MVEC)
#define STREAM_SWEEP_F64(n, out, VEC, MVEC) STREAM_SWEEP(pd, f64, 4, n, out, VEC, MVEC)

/* Softmax of `rows` short rows (n <= 8 * vectors; rows <= 4) in registers,
 * as the long path computes it (exp, double sum, one rounded reciprocal).
 * Each row's arithmetic is the same whatever `rows` is; more rows only
 * interleave independent rows, whose latency chains (horizontal maximum and
 * sum, the division) then overlap. False, with nothing written, when some
 * row's maximum is not a finite value of magnitude <= 2^24 (edge rows,
 * clamped exp): the general path takes those, row by row. */
static inline __attribute__((always_inline)) bool
softmax_short_f32(int rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy,
                  int vectors)
{
    __m256 v[4][4], e[4][4];
    __m256i mask[4][4];
    float m[4];
    double s[4];
    for (int r = 0; r < rows; r++) {
        m[r] = lb_short_load_max_f32(n, x + (size_t)r * ldx, vectors, v[r], mask[r]);
        if (!(fabsf(m[r]) <= 0x1p24f)) return false;
    }
    for (int r = 0; r < rows; r++) {
        const __m256 vm = _mm256_set1_ps(m[r]), minus_m = _mm256_set1_ps(-m[r]);
        const __m256 floor = _mm256_set1_ps(lb_exp_floor_moderate_f32(m[r]));
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        for (int k = 0; k < vectors; k++) {
            e[r][k] = lb_short_exp_f32(v[r][k], mask[r][k], vm, minus_m, floor);
            lb_acc_f32_in_f64(&lo, &hi, e[r][k]);
        }
        s[r] = lb_hsum_f64(_mm256_add_pd(lo, hi));
    }
    for (int r = 0; r < rows; r++) {
        float *y_row = y + (size_t)r * ldy;
        if (isnan(s[r])) {
            lb_avx2_fill_f32(n, y_row, NAN);
            continue;
        }
        const __m256 vk = _mm256_set1_ps((float)(1.0 / s[r]));
        for (int k = 0; k < vectors; k++) lb_short_store_f32(n, y_row, k, _mm256_mul_ps(e[r][k], vk));
    }
    return true;
}

/* y = exp(x - m) * (1/s): the reciprocal is rounded once from double, so an
 * output carries the exp error plus two roundings. */
void lb_avx2_softmax_f32(size_t n, const float *x, float *y)
{
    float m;
    double s;
    switch ((n + 7) / 8) {
    case 1: if (softmax_short_f32(1, n, x, n, y, n, 1)) return; break;
    case 2: if (softmax_short_f32(1, n, x, n, y, n, 2)) return; break;
    case 3: if (softmax_short_f32(1, n, x, n, y, n, 3)) return; break;
    case 4: if (softmax_short_f32(1, n, x, n, y, n, 4)) return; break;
    default: break;
    }
    if (n * sizeof(float) <= LB_CACHED_ROW_BYTES) {
        float lo;
        m = lb_avx2_row_max_min_f32(n, x, &lo);
        switch (lb_avx2_classify_f32(n, x, m)) {
        case AVX2_ROW_NAN: lb_avx2_fill_f32(n, y, NAN); return;
        case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f32(n, y, 0.0f); return;
        case AVX2_ROW_FINITE: break;
        }
        s = lb_avx2_sum_exp_lo_ahead_f32(n, x, m, lo, y, next_row_f32(x, n));
        if (isnan(s)) {
            lb_avx2_fill_f32(n, y, NAN);
            return;
        }
        lb_avx2_scale_f32(n, y, (float)(1.0 / s));
        return;
    }
    lb_long_row_softmax_f32(n, x, y, &lb_avx2_chunk_sweeps);
}

void lb_avx2_softmax_f64(size_t n, const double *x, double *y)
{
    double m, s;
    bool nan;
    if (n * sizeof(double) <= LB_CACHED_ROW_BYTES) {
        m = lb_avx2_row_max_f64(n, x);
        switch (lb_avx2_classify_f64(n, x, m)) {
        case AVX2_ROW_NAN: lb_avx2_fill_f64(n, y, NAN); return;
        case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f64(n, y, 0.0); return;
        case AVX2_ROW_FINITE: break;
        }
        s = lb_avx2_sum_exp_ahead_f64(n, x, m, y, next_row_f64(x, n));
        if (isnan(s)) {
            lb_avx2_fill_f64(n, y, NAN);
            return;
        }
        lb_avx2_scale_f64(n, y, 1.0 / s);
        return;
    }
    s = lb_avx2_online_max_sum_f64(n, x, &m, &nan);
    if (nan || m == INFINITY) lb_avx2_fill_f64(n, y, NAN);
    else if (m == -INFINITY) lb_avx2_fill_f64(n, y, 0.0);
    else lb_avx2_write_scaled_exp_f64(n, x, m, 1.0 / s, y);
}

/* ------------------------------------------------------------------------ */
/* Log-softmax                                                              */
/* ------------------------------------------------------------------------ */

/* rest = sum exp(x_j - m) over the entries x_j != m, *ties = the number of
 * entries equal to m (each contributes exactly 1): s - 1 = rest + ties - 1
 * without locating the maximum. NaN entries make rest NaN. touch (or NULL):
 * the output row the caller writes next; one of its cache lines is
 * prefetched into L1 per 16 entries, so the output sweep does not wait on
 * its stores' misses (log-softmax 15-17 % faster out of cache at 1 to 1024
 * rows of 1000 floats; fetching the whole row up front was slower).
 * f32: pairs of vectors are added in float before the widening to double
 * (half the conversions); that rounding is at most u of the pair, so log s
 * moves by at most u absolute, inside log-softmax's 4 u (1 + |y|) bound.
 * Ties are counted from the compare masks in a general-purpose register, and
 * one pair of double accumulators is live: with the exp constants that keeps
 * the loop within the 16 vector registers (a spilled accumulator puts a
 * store-to-load round trip into the loop-carried chain). */
/* The pairs of vectors of sum_exp_rest_f32_impl, software-pipelined as in
 * sum_exp_pairs_f32 (the same sums in the same order as the plain loop
 * there). For n >= 32; returns the index after the last pair. touch: the
 * output row, into L1 a line per pair; ahead: the next row, into L2. */
static inline __attribute__((always_inline)) size_t
sum_exp_rest_pairs_f32(size_t n, const float *x, __m256 vm, __m256 minus_m, __m256 floor,
                       bool clamp, const float *touch, enum lb_diff_mode mode, int64_t *count,
                       __m256d *total, const float *ahead)
{
    const size_t pairs = n / 16;
    const __m256d zero = _mm256_setzero_pd();
    __m256d lo = zero, hi = zero;
    lb_exp_reduced_f32 q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x), minus_m, floor, clamp, mode);
    lb_exp_reduced_f32 q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 8), minus_m, floor, clamp, mode);
    __m256 p0 = lb_exp_poly_f32(q0.r), p1 = lb_exp_poly_f32(q1.r), z0 = q0.z, z1 = q1.z;
    q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 16), minus_m, floor, clamp, mode);
    q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 24), minus_m, floor, clamp, mode);
    for (size_t k = 0; k < pairs; k++) {
        size_t j = 16 * k;
        __m256 e0 = lb_exp_scale_f32(p0, z0), e1 = lb_exp_scale_f32(p1, z1);
        if (k + 1 < pairs) {
            p0 = lb_exp_poly_f32(q0.r), p1 = lb_exp_poly_f32(q1.r), z0 = q0.z, z1 = q1.z;
        }
        if (k + 2 < pairs) {
            q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + j + 32), minus_m, floor, clamp, mode);
            q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + j + 40), minus_m, floor, clamp, mode);
        }
        if (touch) _mm_prefetch((const char *)(touch + j), _MM_HINT_T0);
        if (ahead) _mm_prefetch((const char *)(ahead + j), _MM_HINT_T1);
        __m256 eq0 = _mm256_cmp_ps(_mm256_loadu_ps(x + j), vm, _CMP_EQ_OQ);
        __m256 eq1 = _mm256_cmp_ps(_mm256_loadu_ps(x + j + 8), vm, _CMP_EQ_OQ);
        *count += __builtin_popcount((unsigned)_mm256_movemask_ps(eq0)) +
                  __builtin_popcount((unsigned)_mm256_movemask_ps(eq1));
        lb_acc_f32_in_f64(&lo, &hi, _mm256_add_ps(_mm256_andnot_ps(eq0, e0), _mm256_andnot_ps(eq1, e1)));
        if ((k + 1) % (LB_FOLD_VECTORS / 2) == 0 || k + 1 == pairs) {
            *total = _mm256_add_pd(*total, _mm256_add_pd(lo, hi));
            lo = hi = zero;
        }
    }
    return 16 * pairs;
}

static inline __attribute__((always_inline)) double
sum_exp_rest_f32_impl(size_t n, const float *x, float m, int64_t *ties, bool clamp,
                      const float *touch, const float *ahead, enum lb_diff_mode mode)
{
    const __m256 vm = _mm256_set1_ps(m), minus_m = _mm256_set1_ps(-m);
    const __m256 floor = _mm256_set1_ps(lb_exp_floor_f32(m));
    int64_t count = 0;
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    if (n >= 32)
        j = sum_exp_rest_pairs_f32(n, x, vm, minus_m, floor, clamp, touch, mode, &count, &total, ahead);
    while (j + 16 <= n) {
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        size_t block_end = j + 8 * LB_FOLD_VECTORS < n ? j + 8 * LB_FOLD_VECTORS : n;
        for (; j + 16 <= block_end; j += 16) {
            __m256 x0 = _mm256_loadu_ps(x + j), x1 = _mm256_loadu_ps(x + j + 8);
            __m256 eq0 = _mm256_cmp_ps(x0, vm, _CMP_EQ_OQ), eq1 = _mm256_cmp_ps(x1, vm, _CMP_EQ_OQ);
            count += __builtin_popcount((unsigned)_mm256_movemask_ps(eq0)) +
                     __builtin_popcount((unsigned)_mm256_movemask_ps(eq1));
            if (touch) _mm_prefetch((const char *)(touch + j), _MM_HINT_T0);
            __m256 e0 = _mm256_andnot_ps(eq0, lb_exp_shifted_mode_f32_avx2(x0, minus_m, floor, clamp, mode));
            __m256 e1 = _mm256_andnot_ps(eq1, lb_exp_shifted_mode_f32_avx2(x1, minus_m, floor, clamp, mode));
            lb_acc_f32_in_f64(&lo, &hi, _mm256_add_ps(e0, e1));
        }
        total = _mm256_add_pd(total, _mm256_add_pd(lo, hi));
    }
    while (j < n) { /* up to 15 left: full vector, then masked */
        size_t left = n - j;
        __m256i mask = lb_tail_mask_f32(left < 8 ? left : 7);
        if (left >= 8) mask = _mm256_set1_epi32(-1);
        __m256 v = left >= 8 ? _mm256_loadu_ps(x + j) : lb_load_part_f32(x, n, j);
        __m256 eq = _mm256_and_ps(_mm256_cmp_ps(v, vm, _CMP_EQ_OQ), _mm256_castsi256_ps(mask));
        __m256 e = _mm256_and_ps(lb_exp_shifted_mode_f32_avx2(v, minus_m, floor, clamp, mode),
                                 _mm256_castsi256_ps(mask));
        count += __builtin_popcount((unsigned)_mm256_movemask_ps(eq));
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        lb_acc_f32_in_f64(&lo, &hi, _mm256_andnot_ps(eq, e));
        total = _mm256_add_pd(total, _mm256_add_pd(lo, hi));
        j += left >= 8 ? 8 : left;
    }
    *ties = count;
    return lb_hsum_f64(total);
}

static double sum_exp_rest_f32(size_t n, const float *x, float m, float lo, int64_t *ties,
                               const float *touch, const float *ahead)
{
    if (needs_scalar_exp_f32(m)) {
        double rest = 0.0;
        int64_t count = 0;
        for (size_t j = 0; j < n; j++) {
            if (x[j] == m) count++;
            else rest += exp((double)x[j] - (double)m);
        }
        *ties = count;
        return rest;
    }
    if (lb_exp_needs_clamp_f32(m))
        return sum_exp_rest_f32_impl(n, x, m, ties, true, touch, ahead, LB_DIFF_TWOSUM);
    switch (lb_diff_mode_f32(m, lo)) {
    case LB_DIFF_FAST_M: return sum_exp_rest_f32_impl(n, x, m, ties, false, touch, ahead, LB_DIFF_FAST_M);
    case LB_DIFF_FAST_X: return sum_exp_rest_f32_impl(n, x, m, ties, false, touch, ahead, LB_DIFF_FAST_X);
    case LB_DIFF_TWOSUM: break;
    }
    return sum_exp_rest_f32_impl(n, x, m, ties, false, touch, ahead, LB_DIFF_TWOSUM);
}

static double sum_exp_rest_f64(size_t n, const double *x, double m, int64_t *ties)
{
    const __m256d vm = _mm256_set1_pd(m);
    __m256i tie = _mm256_setzero_si256();
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    while (j + 4 <= n) {
        __m256d a0 = _mm256_setzero_pd(), a1 = a0;
        size_t block_end = j + 4 * LB_FOLD_VECTORS < n ? j + 4 * LB_FOLD_VECTORS : n;
        for (; j + 8 <= block_end; j += 8) {
            __m256d x0 = _mm256_loadu_pd(x + j), x1 = _mm256_loadu_pd(x + j + 4);
            __m256d eq0 = _mm256_cmp_pd(x0, vm, _CMP_EQ_OQ), eq1 = _mm256_cmp_pd(x1, vm, _CMP_EQ_OQ);
            a0 = _mm256_add_pd(a0, _mm256_andnot_pd(eq0, lb_exp_shifted_f64_avx2(x0, vm)));
            a1 = _mm256_add_pd(a1, _mm256_andnot_pd(eq1, lb_exp_shifted_f64_avx2(x1, vm)));
            tie = _mm256_sub_epi64(tie, _mm256_castpd_si256(eq0));
            tie = _mm256_sub_epi64(tie, _mm256_castpd_si256(eq1));
        }
        if (j + 4 <= block_end) {
            __m256d x0 = _mm256_loadu_pd(x + j);
            __m256d eq0 = _mm256_cmp_pd(x0, vm, _CMP_EQ_OQ);
            a0 = _mm256_add_pd(a0, _mm256_andnot_pd(eq0, lb_exp_shifted_f64_avx2(x0, vm)));
            tie = _mm256_sub_epi64(tie, _mm256_castpd_si256(eq0));
            j += 4;
        }
        total = _mm256_add_pd(total, _mm256_add_pd(a0, a1));
    }
    if (j < n) {
        __m256i mask = lb_tail_mask_f64(n - j);
        __m256d v = lb_load_part_f64(x, n, j);
        __m256d eq = _mm256_and_pd(_mm256_cmp_pd(v, vm, _CMP_EQ_OQ), _mm256_castsi256_pd(mask));
        __m256d e = _mm256_and_pd(lb_exp_shifted_f64_avx2(v, vm), _mm256_castsi256_pd(mask));
        total = _mm256_add_pd(total, _mm256_andnot_pd(eq, e));
        tie = _mm256_sub_epi64(tie, _mm256_castpd_si256(eq));
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, tie);
    *ties = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    return lb_hsum_f64(total);
}

/* The row maximum m and log s of a finite row, or the row kind. As in the
 * reference, log s = log1p(s - 1) with the maximum's own term (exactly 1)
 * kept out of the sum (s - 1 = rest + ties - 1, see sum_exp_rest_f32), so a
 * dominant class keeps the relative precision of its log-probability
 * -log s. Long rows (online pass) take log(s). */
static enum avx2_row_kind max_and_log_sum_f32(size_t n, const float *x, float *m, double *log_s,
                                              const float *touch)
{
    bool nan;
    if (n * sizeof(float) <= LB_CACHED_ROW_BYTES) {
        float lo;
        *m = lb_avx2_row_max_min_f32(n, x, &lo);
        enum avx2_row_kind kind = lb_avx2_classify_f32(n, x, *m);
        if (kind != AVX2_ROW_FINITE) return kind;
        int64_t ties;
        double rest = sum_exp_rest_f32(n, x, *m, lo, &ties, touch, next_row_f32(x, n));
        if (isnan(rest) || ties == 0) return AVX2_ROW_NAN; /* ties == 0: m is a NaN */
        *log_s = lb_log1p_nonneg(rest + (double)(ties - 1));
        return AVX2_ROW_FINITE;
    }
    double s = lb_avx2_online_max_sum_f32(n, x, m, &nan);
    if (nan || *m == INFINITY) return AVX2_ROW_NAN;
    *log_s = log(s);
    return *m == -INFINITY ? AVX2_ROW_ALL_NEG_INF : AVX2_ROW_FINITE;
}

static enum avx2_row_kind max_and_log_sum_f64(size_t n, const double *x, double *m,
                                              double *log_s)
{
    bool nan;
    if (n * sizeof(double) <= LB_CACHED_ROW_BYTES) {
        *m = lb_avx2_row_max_f64(n, x);
        enum avx2_row_kind kind = lb_avx2_classify_f64(n, x, *m);
        if (kind != AVX2_ROW_FINITE) return kind;
        int64_t ties;
        double rest = sum_exp_rest_f64(n, x, *m, &ties);
        if (isnan(rest) || ties == 0) return AVX2_ROW_NAN;
        *log_s = lb_log1p_nonneg(rest + (double)(ties - 1));
        return AVX2_ROW_FINITE;
    }
    double s = lb_avx2_online_max_sum_f64(n, x, m, &nan);
    if (nan || *m == INFINITY) return AVX2_ROW_NAN;
    *log_s = log(s);
    return *m == -INFINITY ? AVX2_ROW_ALL_NEG_INF : AVX2_ROW_FINITE;
}

/* Log-softmax of `rows` short rows (rows <= 4) in registers: rest and ties
 * as sum_exp_rest_f32 forms them (each vector widened to double), log s =
 * log1p(rest + ties - 1), then y = (x - c_hi) - c_lo as the cached path.
 * As softmax_short_f32, more rows only interleave independent rows: here
 * their logarithms (a library call each) run back to back instead of each
 * stalling its own row. False, with nothing written, when some maximum is
 * not finite with |m| <= 2^24 (edge rows, huge logits): the general path
 * takes those, row by row. */
static inline __attribute__((always_inline)) bool
log_softmax_short_f32(int rows, size_t n, const float *x, size_t ldx, float *y, size_t ldy,
                      int vectors)
{
    __m256 v[4][4];
    __m256i mask[4][4];
    float m[4];
    double rest[4], log_s[4];
    int ties[4];
    for (int r = 0; r < rows; r++) {
        m[r] = lb_short_load_max_f32(n, x + (size_t)r * ldx, vectors, v[r], mask[r]);
        if (!(fabsf(m[r]) <= 0x1p24f)) return false;
    }
    for (int r = 0; r < rows; r++) {
        const __m256 vm = _mm256_set1_ps(m[r]), minus_m = _mm256_set1_ps(-m[r]);
        const __m256 floor = _mm256_set1_ps(lb_exp_floor_moderate_f32(m[r]));
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        ties[r] = 0;
        for (int k = 0; k < vectors; k++) {
            __m256 e = lb_short_exp_f32(v[r][k], mask[r][k], vm, minus_m, floor);
            __m256 eq = _mm256_cmp_ps(v[r][k], vm, _CMP_EQ_OQ); /* padding is -inf: never equal */
            ties[r] += __builtin_popcount((unsigned)_mm256_movemask_ps(eq));
            lb_acc_f32_in_f64(&lo, &hi, _mm256_andnot_ps(eq, e));
        }
        rest[r] = lb_hsum_f64(_mm256_add_pd(lo, hi));
    }
    for (int r = 0; r < rows; r++) /* (0 for a NaN row, which takes the fill below) */
        log_s[r] = !isnan(rest[r]) && ties[r] != 0 ? lb_log1p_nonneg(rest[r] + (double)(ties[r] - 1))
                                                    : 0.0;
    for (int r = 0; r < rows; r++) {
        float *y_row = y + (size_t)r * ldy;
        if (isnan(rest[r]) || ties[r] == 0) {
            lb_avx2_fill_f32(n, y_row, NAN);
            continue;
        }
        float c_hi = (float)((double)m[r] + log_s[r]);
        float c_lo = (float)(((double)m[r] - (double)c_hi) + log_s[r]);
        const __m256 vhi = _mm256_set1_ps(c_hi), vlo = _mm256_set1_ps(c_lo);
        for (int k = 0; k < vectors; k++)
            lb_short_store_f32(n, y_row, k, _mm256_sub_ps(_mm256_sub_ps(v[r][k], vhi), vlo));
    }
    return true;
}

/* y_j = (x_j - m) - log s with streaming stores */
static void stream_shifted_f64(size_t n, const double *x, __m256d vm, __m256d vl, double *y)
{
#define VEC(j) _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(x + (j)), vm), vl)
#define MVEC(j, mask) _mm256_sub_pd(_mm256_sub_pd(_mm256_maskload_pd(x + (j), mask), vm), vl)
    STREAM_SWEEP_F64(n, y, VEC, MVEC);
#undef VEC
#undef MVEC
}

/* y = (x - m) - log s evaluated in double (x - m is exact there), rounded
 * once to float: the same bits as the reference. Used for a huge m, where a
 * split of m + log s into two floats would lose log s. */
static inline __m128 log_softmax_half_f32(__m128 x, __m256d m, __m256d log_s)
{
    return _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_sub_pd(_mm256_cvtps_pd(x), m), log_s));
}

void lb_avx2_log_softmax_f32(size_t n, const float *x, float *y)
{
    switch ((n + 7) / 8) {
    case 1: if (log_softmax_short_f32(1, n, x, n, y, n, 1)) return; break;
    case 2: if (log_softmax_short_f32(1, n, x, n, y, n, 2)) return; break;
    case 3: if (log_softmax_short_f32(1, n, x, n, y, n, 3)) return; break;
    case 4: if (log_softmax_short_f32(1, n, x, n, y, n, 4)) return; break;
    default: break;
    }
    float m;
    double log_s;
    switch (max_and_log_sum_f32(n, x, &m, &log_s, y)) {
    case AVX2_ROW_NAN: lb_avx2_fill_f32(n, y, NAN); return;
    case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f32(n, y, -INFINITY); return;
    case AVX2_ROW_FINITE: break;
    }
    /* the next row's x was fetched during the sum (max_and_log_sum_f32) */
    size_t j = 0;
    if (fabsf(m) <= 0x1p24f) {
        /* Split c = m + log s into floats c_hi + c_lo and take
         * y = (x - c_hi) - c_lo: two roundings, within 1 ulp (x - c_hi is
         * exact near the maximum), -inf stays -inf. c_lo is formed as
         * (m - c_hi) + log s, m - c_hi exact in double, so a log s far below
         * m's ulp (a dominant class, log s ~ 1e-26) survives in c_lo rather
         * than vanishing in the double sum m + log s. */
        float c_hi = (float)((double)m + log_s);
        float c_lo = (float)(((double)m - (double)c_hi) + log_s);
        const __m256 vhi = _mm256_set1_ps(c_hi), vlo = _mm256_set1_ps(c_lo);
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(y + j, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vhi), vlo));
        for (; j < n; j++) y[j] = (x[j] - c_hi) - c_lo;
        return;
    }
    const __m256d vm = _mm256_set1_pd(m), vl = _mm256_set1_pd(log_s);
    for (; j + 8 <= n; j += 8) {
        __m256 v = _mm256_loadu_ps(x + j);
        __m128 lo = log_softmax_half_f32(_mm256_castps256_ps128(v), vm, vl);
        __m128 hi = log_softmax_half_f32(_mm256_extractf128_ps(v, 1), vm, vl);
        _mm256_storeu_ps(y + j, _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1));
    }
    for (; j < n; j++) y[j] = (float)(((double)x[j] - (double)m) - log_s);
}

/* y = (x - m) - log s, rounded as the reference rounds it. */
static inline __attribute__((always_inline)) void
log_softmax_f64_impl(size_t n, const double *x, double *y, bool stream)
{
    double m, log_s;
    switch (max_and_log_sum_f64(n, x, &m, &log_s)) {
    case AVX2_ROW_NAN: lb_avx2_fill_f64(n, y, NAN); return;
    case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f64(n, y, -INFINITY); return;
    case AVX2_ROW_FINITE: break;
    }
    lb_avx2_prefetch_next_row(x + n, n * sizeof(double));
    const __m256d vm = _mm256_set1_pd(m), vl = _mm256_set1_pd(log_s);
    if (stream) {
        stream_shifted_f64(n, x, vm, vl, y);
        return;
    }
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        _mm256_storeu_pd(y + j, _mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(x + j), vm), vl));
    for (; j < n; j++) y[j] = (x[j] - m) - log_s;
}

/* ------------------------------------------------------------------------ */
/* Backward passes                                                          */
/* ------------------------------------------------------------------------ */

/* <a, b> for float rows, products exact in double, summed in double lanes. */
static double dot_f32(size_t n, const float *a, const float *b)
{
    /* Groups of 32 terms: the 4 products of each lane are summed in float
     * (FMA: one rounding per step, error <= 3u of the group's magnitude),
     * then the group is widened into double lanes, so the error stays a few
     * u of sum |a_j b_j| whatever n is, at a quarter of the conversions. */
    __m256d lo = _mm256_setzero_pd(), hi = lo;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 g01 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8),
                                     _mm256_mul_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j)));
        __m256 g23 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 24), _mm256_loadu_ps(b + j + 24),
                                     _mm256_mul_ps(_mm256_loadu_ps(a + j + 16),
                                                   _mm256_loadu_ps(b + j + 16)));
        lb_acc_f32_in_f64(&lo, &hi, _mm256_add_ps(g01, g23));
    }
    for (; j + 8 <= n; j += 8)
        lb_acc_f32_in_f64(&lo, &hi, _mm256_mul_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j)));
    double d = lb_hsum_f64(_mm256_add_pd(lo, hi));
    for (; j < n; j++) d += (double)a[j] * (double)b[j];
    return d;
}

static double dot_f64(size_t n, const double *a, const double *b)
{
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    while (j + 4 <= n) {
        __m256d a0 = _mm256_setzero_pd(), a1 = a0;
        size_t block_end = j + 4 * LB_FOLD_VECTORS < n ? j + 4 * LB_FOLD_VECTORS : n;
        for (; j + 8 <= block_end; j += 8) {
            a0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j), _mm256_loadu_pd(b + j), a0);
            a1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j + 4), _mm256_loadu_pd(b + j + 4), a1);
        }
        if (j + 4 <= block_end) {
            a0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j), _mm256_loadu_pd(b + j), a0);
            j += 4;
        }
        total = _mm256_add_pd(total, _mm256_add_pd(a0, a1));
    }
    double d = lb_hsum_f64(total);
    for (; j < n; j++) d += a[j] * b[j];
    return d;
}

/* sum of a float row in double lanes */
static double sum_f32(size_t n, const float *a)
{
    /* as dot_f32: groups of 4 vectors summed in float, then widened */
    __m256d lo = _mm256_setzero_pd(), hi = lo;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256 g01 = _mm256_add_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(a + j + 8));
        __m256 g23 = _mm256_add_ps(_mm256_loadu_ps(a + j + 16), _mm256_loadu_ps(a + j + 24));
        lb_acc_f32_in_f64(&lo, &hi, _mm256_add_ps(g01, g23));
    }
    for (; j + 8 <= n; j += 8) lb_acc_f32_in_f64(&lo, &hi, _mm256_loadu_ps(a + j));
    double s = lb_hsum_f64(_mm256_add_pd(lo, hi));
    for (; j < n; j++) s += a[j];
    return s;
}

static double sum_f64(size_t n, const double *a)
{
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    while (j + 4 <= n) {
        __m256d a0 = _mm256_setzero_pd();
        size_t block_end = j + 4 * LB_FOLD_VECTORS < n ? j + 4 * LB_FOLD_VECTORS : n;
        for (; j + 4 <= block_end; j += 4) a0 = _mm256_add_pd(a0, _mm256_loadu_pd(a + j));
        total = _mm256_add_pd(total, a0);
    }
    double s = lb_hsum_f64(total);
    for (; j < n; j++) s += a[j];
    return s;
}

/* dx = y * (dy - d), d = <dy, y> in double split d = d_hi + d_lo in floats:
 * (dy - d_hi) is exact where dy is near d, so the cancellation keeps its
 * accuracy. */
/* Softmax backward of `rows` short rows (n <= 8 * vectors, rows <= 4) in
 * registers: masked loads (zeros past the row), d = <y, dy> with float
 * products widened to double lanes, d split into floats d_hi + d_lo, then
 * dx = y * ((dy - d_hi) - d_lo) as the long path. The arithmetic of a row
 * does not depend on `rows`; more rows interleave independent rows. */
static inline __attribute__((always_inline)) void
softmax_backward_short_f32(int rows, size_t n, const float *y, size_t ldy, const float *dy,
                           size_t lddy, float *dx, size_t lddx, int vectors)
{
    __m256 yv[4][2], dyv[4][2];
    __m256d acc[4];
    for (int r = 0; r < rows; r++) {
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        for (int k = 0; k < vectors; k++) {
            const float *y_row = y + (size_t)r * ldy, *dy_row = dy + (size_t)r * lddy;
            if ((size_t)(8 * k + 8) <= n) {
                yv[r][k] = _mm256_loadu_ps(y_row + 8 * k);
                dyv[r][k] = _mm256_loadu_ps(dy_row + 8 * k);
            } else {
                yv[r][k] = lb_load_part_f32(y_row, n, (size_t)(8 * k));
                dyv[r][k] = lb_load_part_f32(dy_row, n, (size_t)(8 * k));
            }
            lb_acc_f32_in_f64(&lo, &hi, _mm256_mul_ps(yv[r][k], dyv[r][k]));
        }
        acc[r] = _mm256_add_pd(lo, hi);
    }
    /* d_r = lb_hsum_f64(acc[r]) = (a0 + a2) + (a1 + a3), split into floats
     * d_hi = (float)d, d_lo = (float)(d - d_hi); four rows at once through
     * a 4 x 4 transpose (the same sums in the same order, so the same bits;
     * the one-row reductions were a latency chain per row) */
    __m256 vhi[4], vlo[4];
    if (rows == 4 && vectors == 2) {
        __m256d even01 = _mm256_unpacklo_pd(acc[0], acc[1]), odd01 = _mm256_unpackhi_pd(acc[0], acc[1]);
        __m256d even23 = _mm256_unpacklo_pd(acc[2], acc[3]), odd23 = _mm256_unpackhi_pd(acc[2], acc[3]);
        __m256d s_even = _mm256_add_pd(_mm256_permute2f128_pd(even01, even23, 0x20),
                                       _mm256_permute2f128_pd(even01, even23, 0x31));
        __m256d s_odd = _mm256_add_pd(_mm256_permute2f128_pd(odd01, odd23, 0x20),
                                      _mm256_permute2f128_pd(odd01, odd23, 0x31));
        __m256d d4 = _mm256_add_pd(s_even, s_odd);
        /* through memory: a broadcast from L1 beat vpermps from the
         * register (0.90x the time at 10 classes on Zen 1) */
        float d_hi[4], d_lo[4];
        __m128 hi4 = _mm256_cvtpd_ps(d4);
        _mm_storeu_ps(d_hi, hi4);
        _mm_storeu_ps(d_lo, _mm256_cvtpd_ps(_mm256_sub_pd(d4, _mm256_cvtps_pd(hi4))));
        for (int r = 0; r < 4; r++) {
            vhi[r] = _mm256_broadcast_ss(d_hi + r);
            vlo[r] = _mm256_broadcast_ss(d_lo + r);
        }
    } else {
        for (int r = 0; r < rows; r++) {
            double d = lb_hsum_f64(acc[r]);
            float d_hi = (float)d, d_lo = (float)(d - (double)d_hi);
            vhi[r] = _mm256_set1_ps(d_hi);
            vlo[r] = _mm256_set1_ps(d_lo);
        }
    }
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < vectors; k++) {
            __m256 g = _mm256_sub_ps(_mm256_sub_ps(dyv[r][k], vhi[r]), vlo[r]);
            lb_short_store_f32(n, dx + (size_t)r * lddx, k, _mm256_mul_ps(yv[r][k], g));
        }
    }
}

static inline __attribute__((always_inline)) void
softmax_backward_f32_impl(size_t n, const float *y, const float *dy, float *dx, bool stream)
{
    if (n <= 8) {
        softmax_backward_short_f32(1, n, y, n, dy, n, dx, n, 1);
        return;
    }
    if (n <= 16) {
        softmax_backward_short_f32(1, n, y, n, dy, n, dx, n, 2);
        return;
    }
    double d = dot_f32(n, y, dy);
    float d_hi = (float)d, d_lo = (float)(d - (double)d_hi);
    const __m256 vhi = _mm256_set1_ps(d_hi), vlo = _mm256_set1_ps(d_lo);
    size_t j = 0;
    if (stream) {
#define VEC(j) _mm256_mul_ps(_mm256_loadu_ps(y + (j)), _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(dy + (j)), vhi), vlo))
#define MVEC(j, mask)                                                                         \
    _mm256_mul_ps(_mm256_maskload_ps(y + (j), mask),                                          \
                  _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(dy + (j), mask), vhi), vlo))
        STREAM_SWEEP_F32(n, dx, VEC, MVEC);
#undef VEC
#undef MVEC
        return;
    }
    for (; j + 8 <= n; j += 8) {
        __m256 g = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(dy + j), vhi), vlo);
        _mm256_storeu_ps(dx + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), g));
    }
    for (; j < n; j++) dx[j] = y[j] * ((dy[j] - d_hi) - d_lo);
}

static inline __attribute__((always_inline)) void
softmax_backward_f64_impl(size_t n, const double *y, const double *dy, double *dx,
                          bool stream)
{
    double d = dot_f64(n, y, dy);
    const __m256d vd = _mm256_set1_pd(d);
    size_t j = 0;
    if (stream) {
#define VEC(j) _mm256_mul_pd(_mm256_loadu_pd(y + (j)), _mm256_sub_pd(_mm256_loadu_pd(dy + (j)), vd))
#define MVEC(j, mask) \
    _mm256_mul_pd(_mm256_maskload_pd(y + (j), mask), _mm256_sub_pd(_mm256_maskload_pd(dy + (j), mask), vd))
        STREAM_SWEEP_F64(n, dx, VEC, MVEC);
#undef VEC
#undef MVEC
        return;
    }
    for (; j + 4 <= n; j += 4)
        _mm256_storeu_pd(dx + j, _mm256_mul_pd(_mm256_loadu_pd(y + j),
                                               _mm256_sub_pd(_mm256_loadu_pd(dy + j), vd)));
    for (; j < n; j++) dx[j] = y[j] * (dy[j] - d);
}

/* dx = dy - exp(logy) * s, s = sum dy in double split s = s_hi + s_lo. */
static inline __attribute__((always_inline)) __m256
log_softmax_backward_vec_f32(__m256 logy, __m256 dy, __m256 vhi, __m256 vlo)
{
    __m256 p = lb_exp_any_f32_avx2(logy);
    return _mm256_fnmadd_ps(p, vlo, _mm256_fnmadd_ps(p, vhi, dy));
}

static void
log_softmax_backward_f32(size_t n, const float *logy, const float *dy, float *dx)
{
    double s = sum_f32(n, dy);
    float s_hi = (float)s, s_lo = (float)(s - (double)s_hi);
    const __m256 vhi = _mm256_set1_ps(s_hi), vlo = _mm256_set1_ps(s_lo);
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(dx + j, log_softmax_backward_vec_f32(_mm256_loadu_ps(logy + j),
                                                              _mm256_loadu_ps(dy + j), vhi, vlo));
    if (j < n) {
        __m256 g = log_softmax_backward_vec_f32(lb_load_part_f32(logy, n, j),
                                                lb_load_part_f32(dy, n, j), vhi, vlo);
        lb_store_part_f32(dx + j, n - j, g);
    }
}

static void log_softmax_backward_f64_avx2(size_t n, const double *logy, const double *dy,
                                          double *dx)
{
    double s = sum_f64(n, dy);
    const __m256d vs = _mm256_set1_pd(s);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d p = lb_exp_any_f64_avx2(_mm256_loadu_pd(logy + j));
        _mm256_storeu_pd(dx + j, _mm256_fnmadd_pd(p, vs, _mm256_loadu_pd(dy + j)));
    }
    if (j < n) {
        __m256d p = lb_exp_any_f64_avx2(lb_load_part_f64(logy, n, j));
        lb_store_part_f64(dx + j, n - j, _mm256_fnmadd_pd(p, vs, lb_load_part_f64(dy, n, j)));
    }
}

/* Four rows at once for rows of up to LB_ROW_GROUP_MAX_COLS columns: the
 * short-row kernels above with their rows interleaved; the same bits as
 * four calls of the one-row kernel (a group with an edge row is done row by
 * row). */
static void softmax_rows4_f32_avx2(size_t n, const float *x, size_t ldx, float *y, size_t ldy)
{
    bool done = false;
    if (n <= 8) done = softmax_short_f32(4, n, x, ldx, y, ldy, 1);
    else if (n <= 16) done = softmax_short_f32(4, n, x, ldx, y, ldy, 2);
    if (!done)
        for (size_t r = 0; r < 4; r++) lb_avx2_softmax_f32(n, x + r * ldx, y + r * ldy);
}

void lb_avx2_softmax_backward_rows4_f32(size_t n, const float *y, size_t ldy, const float *dy,
                                        size_t lddy, float *dx, size_t lddx, bool stream)
{
    if (n <= 8) softmax_backward_short_f32(4, n, y, ldy, dy, lddy, dx, lddx, 1);
    else if (n <= 16) softmax_backward_short_f32(4, n, y, ldy, dy, lddy, dx, lddx, 2);
    else
        for (size_t r = 0; r < 4; r++)
            softmax_backward_f32_impl(n, y + r * ldy, dy + r * lddy, dx + r * lddx, stream);
}

static void log_softmax_rows4_f32_avx2(size_t n, const float *x, size_t ldx, float *y,
                                       size_t ldy)
{
    bool done = false;
    if (n <= 8) done = log_softmax_short_f32(4, n, x, ldx, y, ldy, 1);
    else if (n <= 16) done = log_softmax_short_f32(4, n, x, ldx, y, ldy, 2);
    if (!done)
        for (size_t r = 0; r < 4; r++) lb_avx2_log_softmax_f32(n, x + r * ldx, y + r * ldy);
}

/* The regular and the streaming-store form of each kernel above (f32
 * softmax, log-softmax and log-softmax backward have only the regular one:
 * see the table below). */
void lb_avx2_log_softmax_f64(size_t n, const double *x, double *y)
{
    log_softmax_f64_impl(n, x, y, false);
}
void lb_avx2_log_softmax_stream_f64(size_t n, const double *x, double *y)
{
    log_softmax_f64_impl(n, x, y, true);
}
void lb_avx2_softmax_backward_f32(size_t n, const float *y, const float *dy, float *dx)
{
    softmax_backward_f32_impl(n, y, dy, dx, false);
}
void lb_avx2_softmax_backward_stream_f32(size_t n, const float *y, const float *dy, float *dx)
{
    softmax_backward_f32_impl(n, y, dy, dx, true);
}
void lb_avx2_softmax_backward_f64(size_t n, const double *y, const double *dy, double *dx)
{
    softmax_backward_f64_impl(n, y, dy, dx, false);
}
void lb_avx2_softmax_backward_stream_f64(size_t n, const double *y, const double *dy,
                                         double *dx)
{
    softmax_backward_f64_impl(n, y, dy, dx, true);
}
/* ------------------------------------------------------------------------ */
/* The AVX2 table                                                           */
/* ------------------------------------------------------------------------ */

void lb_fill_avx2_kernels(lb_kernel_table *t)
{
    t->name = "avx2";
    t->softmax_f32 = lb_avx2_softmax_f32;
    t->softmax_f64 = lb_avx2_softmax_f64;
    t->log_softmax_f32 = lb_avx2_log_softmax_f32;
    t->log_softmax_f64 = lb_avx2_log_softmax_f64;
    t->softmax_backward_f32 = lb_avx2_softmax_backward_f32;
    t->softmax_backward_f64 = lb_avx2_softmax_backward_f64;
    t->log_softmax_backward_f32 = log_softmax_backward_f32;
    t->log_softmax_backward_f64 = log_softmax_backward_f64_avx2;
    t->softmax_rows4_f32 = softmax_rows4_f32_avx2;
    t->softmax_rows4_max_cols_f32 = LB_ROW_GROUP_MAX_COLS;
    t->log_softmax_rows4_max_cols_f32 = LB_ROW_GROUP_MAX_COLS;
    t->softmax_backward_rows4_f32 = lb_avx2_softmax_backward_rows4_f32;
    t->softmax_backward_rows4_max_cols_f32 = LB_ROW_GROUP_MAX_COLS;
    t->xent_plain_rows4_f32 = lb_avx2_xent_plain_rows4_f32;
    t->xent_plain_rows4_max_cols_f32 = LB_ROW_GROUP_MAX_COLS;
    t->log_softmax_rows4_f32 = log_softmax_rows4_f32_avx2;
    /* The f32 softmax, log-softmax and log-softmax backward are bound by
     * their exp sweeps, not by memory: their streaming stores (a staged row
     * and a store-only sweep for softmax) cost more than they saved. Without
     * them: 0.84-0.96x the time at 4096 x 1000 (both A/B orders, twice
     * each), 0.93-0.96x at 16384 x 1000, 0.94x for log-softmax at
     * 256 x 32768 (an AVX2-only AMD EPYC VM, 2026-12-02; neutral on Zen 4).
     * The f64 log-softmax and both softmax backward passes keep streaming
     * (without it 1.07-1.09x and 1.19-1.34x the time there). */
    t->softmax_stream_f32 = lb_avx2_softmax_f32;
    /* f64 softmax is bound by its exp: streaming measured 5 % slower (7.4 vs
     * 7.0 ms at 4096 x 1000, one thread) */
    t->softmax_stream_f64 = lb_avx2_softmax_f64;
    t->log_softmax_stream_f32 = lb_avx2_log_softmax_f32;
    t->log_softmax_stream_f64 = lb_avx2_log_softmax_stream_f64;
    t->softmax_backward_stream_f32 = lb_avx2_softmax_backward_stream_f32;
    t->softmax_backward_stream_f64 = lb_avx2_softmax_backward_stream_f64;
    t->log_softmax_backward_stream_f32 = log_softmax_backward_f32;
    /* f64 log-softmax backward is bound by its exp: streaming measured 6 %
     * slower (7.36 vs 6.95 ms at 4096 x 1000, one thread) */
    t->log_softmax_backward_stream_f64 = log_softmax_backward_f64_avx2;
    t->xent_row_f32 = lb_avx2_xent_row_f32;
    t->xent_row_f64 = lb_avx2_xent_row_f64;
    /* the fused cross-entropy gradient with streaming stores measured no
     * faster on the AVX2 machine (Zen 3: +7 %, then equal) */
    t->xent_row_stream_f32 = lb_avx2_xent_row_f32;
    t->xent_row_stream_f64 = lb_avx2_xent_row_f64;
    t->jacobian_full_f32 = lb_avx2_jacobian_full_f32;
    t->jacobian_full_f64 = lb_avx2_jacobian_full_f64;
    t->mse_row_f32 = lb_avx2_mse_row_f32;
    t->mse_row_f64 = lb_avx2_mse_row_f64;
    t->mae_row_f32 = lb_avx2_mae_row_f32;
    t->mae_row_f64 = lb_avx2_mae_row_f64;
    t->argmax_f32 = lb_avx2_argmax_f32;
    t->argmax_f64 = lb_avx2_argmax_f64;
    t->argmax_rows_f32 = lb_avx2_argmax_rows_f32;
    t->argmax_rows_f64 = lb_avx2_argmax_rows_f64;
    t->abs_max_f32 = lb_avx2_abs_max_f32;
    t->abs_max_f64 = lb_avx2_abs_max_f64;
}
