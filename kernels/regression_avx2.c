/*
 * regression_avx2.c - AVX2+FMA per-row MSE and MAE. The float forms widen
 * to double (e = pred - target is exact there), so element losses and
 * derivatives round exactly as the reference rounds them; only the row sum
 * is grouped differently (vector lanes, folded every LB_REG_FOLD vectors).
 * These loops are bandwidth-bound: two streams in, one or two out; passes
 * larger than the caches write their outputs with non-temporal stores
 * (no read-for-ownership of lines that are overwritten whole).
 */
#include "internal.h"
#include "exp_avx2.h"

#include <math.h>

#define LB_REG_FOLD 64

/* MAE derivative: 1, -1, 0 for e > 0, e < 0, e == 0; e itself when NaN. */
static inline __m256d sign_pd(__m256d e)
{
    const __m256d zero = _mm256_setzero_pd();
    __m256d pos = _mm256_and_pd(_mm256_cmp_pd(e, zero, _CMP_GT_OQ), _mm256_set1_pd(1.0));
    __m256d neg = _mm256_and_pd(_mm256_cmp_pd(e, zero, _CMP_LT_OQ), _mm256_set1_pd(-1.0));
    return _mm256_blendv_pd(_mm256_or_pd(pos, neg), e, _mm256_cmp_pd(e, e, _CMP_UNORD_Q));
}

/* MAE derivative of 8 floats: sign(e) * mul as (float)(sign * grad_mul)
 * rounds it (+-mul or 0), e itself (NaN) where e is NaN. */
static inline __m256 sign_times_ps(__m256 e, __m256 mul)
{
    const __m256 zero = _mm256_setzero_ps();
    __m256 pos = _mm256_and_ps(_mm256_cmp_ps(e, zero, _CMP_GT_OQ), mul);
    __m256 neg = _mm256_and_ps(_mm256_cmp_ps(e, zero, _CMP_LT_OQ), _mm256_sub_ps(zero, mul));
    return _mm256_blendv_ps(_mm256_or_ps(pos, neg), e, _mm256_cmp_ps(e, e, _CMP_UNORD_Q));
}

static inline __m256d abs_pd(__m256d e)
{
    return _mm256_andnot_pd(_mm256_set1_pd(-0.0), e);
}

/* One group of 4 elements in double: accumulates the loss, returns the loss
 * and derivative vectors through l and d. */
static inline void element_pd(bool squared, __m256d e, __m256d mul, __m256d *l, __m256d *d)
{
    if (squared) {
        *l = _mm256_mul_pd(e, e);
        *d = _mm256_mul_pd(e, mul); /* mul = 2 grad_mul: (2e) grad_mul exactly */
    } else {
        *l = abs_pd(e);
        *d = _mm256_mul_pd(sign_pd(e), mul);
    }
}

/* Non-temporal stores need 32-byte aligned addresses; rows that are not
 * aligned keep plain stores (a NULL output does not count). */
static bool aligned_32(const void *p) { return ((uintptr_t)p & 31) == 0; }

static inline void store_ps(float *p, __m256 v, bool stream)
{
    if (stream) _mm256_stream_ps(p, v);
    else _mm256_storeu_ps(p, v);
}

static inline void store_pd(double *p, __m256d v, bool stream)
{
    if (stream) _mm256_stream_pd(p, v);
    else _mm256_storeu_pd(p, v);
}

static double regression_row_f32(bool squared, size_t n, const float *pred, const float *target,
                                 float *loss_out, float *dpred, double grad_mul,
                                 bool stream_stores)
{
    bool stream = stream_stores && aligned_32(dpred) && aligned_32(loss_out);
    const __m256d mul = _mm256_set1_pd(squared ? 2.0 * grad_mul : grad_mul);
    const __m256 mul_f32 = _mm256_set1_ps((float)grad_mul);
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    while (j + 8 <= n) {
        __m256d acc_lo = _mm256_setzero_pd(), acc_hi = acc_lo;
        size_t block_end = j + 8 * LB_REG_FOLD < n ? j + 8 * LB_REG_FOLD : n;
        for (; j + 8 <= block_end; j += 8) {
            __m256 p = _mm256_loadu_ps(pred + j), t = _mm256_loadu_ps(target + j);
            __m256d e_lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(p)),
                                         _mm256_cvtps_pd(_mm256_castps256_ps128(t)));
            __m256d e_hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)),
                                         _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1)));
            __m256d l_lo, l_hi, d_lo, d_hi;
            element_pd(squared, e_lo, mul, &l_lo, &d_lo);
            element_pd(squared, e_hi, mul, &l_hi, &d_hi);
            acc_lo = _mm256_add_pd(acc_lo, l_lo);
            acc_hi = _mm256_add_pd(acc_hi, l_hi);
            if (dpred && squared)
                store_ps(dpred + j, _mm256_insertf128_ps(
                    _mm256_castps128_ps256(_mm256_cvtpd_ps(d_lo)), _mm256_cvtpd_ps(d_hi), 1), stream);
            if (dpred && !squared) /* sign(e) is the sign of the float difference */
                store_ps(dpred + j, sign_times_ps(_mm256_sub_ps(p, t), mul_f32), stream);
            if (loss_out)
                store_ps(loss_out + j, _mm256_insertf128_ps(
                    _mm256_castps128_ps256(_mm256_cvtpd_ps(l_lo)), _mm256_cvtpd_ps(l_hi), 1), stream);
        }
        total = _mm256_add_pd(total, _mm256_add_pd(acc_lo, acc_hi));
    }
    double sum = lb_hsum_f64(total);
    double scalar_mul = squared ? 2.0 * grad_mul : grad_mul;
    for (; j < n; j++) {
        double e = (double)pred[j] - (double)target[j];
        double l = squared ? e * e : fabs(e);
        double d = squared ? e : (e > 0.0 ? 1.0 : (e < 0.0 ? -1.0 : (e == 0.0 ? 0.0 : e)));
        if (dpred) dpred[j] = (float)(d * scalar_mul);
        if (loss_out) loss_out[j] = (float)l;
        sum += l;
    }
    return sum;
}

static double regression_row_f64(bool squared, size_t n, const double *pred,
                                 const double *target, double *loss_out, double *dpred,
                                 double grad_mul, bool stream_stores)
{
    bool stream = stream_stores && aligned_32(dpred) && aligned_32(loss_out);
    const __m256d mul = _mm256_set1_pd(squared ? 2.0 * grad_mul : grad_mul);
    __m256d total = _mm256_setzero_pd();
    size_t j = 0;
    while (j + 4 <= n) {
        __m256d acc = _mm256_setzero_pd();
        size_t block_end = j + 4 * LB_REG_FOLD < n ? j + 4 * LB_REG_FOLD : n;
        for (; j + 4 <= block_end; j += 4) {
            __m256d e = _mm256_sub_pd(_mm256_loadu_pd(pred + j), _mm256_loadu_pd(target + j));
            __m256d l, d;
            element_pd(squared, e, mul, &l, &d);
            acc = _mm256_add_pd(acc, l);
            if (dpred) store_pd(dpred + j, d, stream);
            if (loss_out) store_pd(loss_out + j, l, stream);
        }
        total = _mm256_add_pd(total, acc);
    }
    double sum = lb_hsum_f64(total);
    double scalar_mul = squared ? 2.0 * grad_mul : grad_mul;
    for (; j < n; j++) {
        double e = pred[j] - target[j];
        double l = squared ? e * e : fabs(e);
        double d = squared ? e : (e > 0.0 ? 1.0 : (e < 0.0 ? -1.0 : (e == 0.0 ? 0.0 : e)));
        if (dpred) dpred[j] = d * scalar_mul;
        if (loss_out) loss_out[j] = l;
        sum += l;
    }
    return sum;
}

double lb_avx2_mse_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                           float *dpred, double grad_mul, bool stream_stores)
{
    return regression_row_f32(true, n, pred, target, loss_out, dpred, grad_mul, stream_stores);
}

double lb_avx2_mse_row_f64(size_t n, const double *pred, const double *target, double *loss_out,
                           double *dpred, double grad_mul, bool stream_stores)
{
    return regression_row_f64(true, n, pred, target, loss_out, dpred, grad_mul, stream_stores);
}

double lb_avx2_mae_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                           float *dpred, double grad_mul, bool stream_stores)
{
    return regression_row_f32(false, n, pred, target, loss_out, dpred, grad_mul, stream_stores);
}

double lb_avx2_mae_row_f64(size_t n, const double *pred, const double *target, double *loss_out,
                           double *dpred, double grad_mul, bool stream_stores)
{
    return regression_row_f64(false, n, pred, target, loss_out, dpred, grad_mul, stream_stores);
}

/* ------------------------------------------------------------------------ */
/* Argmax (accuracy)                                                        */
/* ------------------------------------------------------------------------ */

/* numpy.argmax of a row: one sweep for the maximum and a NaN flag (the
 * unordered compare of each entry with itself), then a scan for the first
 * entry equal to the maximum, or the first NaN; the scan stops at the hit
 * and re-reads a row that is still in cache. */
/* A row of up to 32 entries: loaded whole (padding -inf, past every row
 * entry), then the first NaN lane, else the first lane equal to the
 * maximum (exact without NaN), from the lane bits of all vectors at once. */
static inline __attribute__((always_inline)) size_t argmax_short_f32(size_t n, const float *v,
                                                                     int vectors)
{
    __m256 x[4];
    __m256i mask[4];
    const __m256 m = _mm256_set1_ps(lb_short_load_max_f32(n, v, vectors, x, mask));
    uint32_t nan_bits = 0, max_bits = 0;
    for (int k = 0; k < vectors; k++) {
        nan_bits |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(x[k], x[k], _CMP_UNORD_Q)) << (8 * k);
        max_bits |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(x[k], m, _CMP_EQ_OQ)) << (8 * k);
    }
    return (size_t)__builtin_ctz(nan_bits ? nan_bits : max_bits);
}

size_t lb_avx2_argmax_f32(size_t n, const float *v)
{
    switch ((n + 7) / 8) {
    case 1: return argmax_short_f32(n, v, 1);
    case 2: return argmax_short_f32(n, v, 2);
    case 3: return argmax_short_f32(n, v, 3);
    case 4: return argmax_short_f32(n, v, 4);
    default: break;
    }
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    __m256 nan0 = _mm256_setzero_ps(), nan1 = nan0;
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m256 x0 = _mm256_loadu_ps(v + j), x1 = _mm256_loadu_ps(v + j + 8);
        m0 = _mm256_max_ps(m0, x0);
        m1 = _mm256_max_ps(m1, x1);
        nan0 = _mm256_or_ps(nan0, _mm256_cmp_ps(x0, x0, _CMP_UNORD_Q));
        nan1 = _mm256_or_ps(nan1, _mm256_cmp_ps(x1, x1, _CMP_UNORD_Q));
    }
    /* the last 16 entries (overlapping the sweep: max and flags are idempotent) */
    if (j < n) {
        __m256 x0 = _mm256_loadu_ps(v + n - 16), x1 = _mm256_loadu_ps(v + n - 8);
        m0 = _mm256_max_ps(m0, x0);
        m1 = _mm256_max_ps(m1, x1);
        nan0 = _mm256_or_ps(nan0, _mm256_cmp_ps(x0, x0, _CMP_UNORD_Q));
        nan1 = _mm256_or_ps(nan1, _mm256_cmp_ps(x1, x1, _CMP_UNORD_Q));
    }
    bool has_nan = _mm256_movemask_ps(_mm256_or_ps(nan0, nan1)) != 0;
    /* without NaN the lane maxima are exact; with one, only the flag is used */
    const __m256 target = _mm256_set1_ps(lb_hmax_f32(_mm256_max_ps(m0, m1)));
    for (j = 0; j + 8 <= n; j += 8) {
        __m256 x = _mm256_loadu_ps(v + j);
        __m256 hit = has_nan ? _mm256_cmp_ps(x, x, _CMP_UNORD_Q) : _mm256_cmp_ps(x, target, _CMP_EQ_OQ);
        int bits = _mm256_movemask_ps(hit);
        if (bits) return j + (size_t)__builtin_ctz((unsigned)bits);
    }
    float m = _mm256_cvtss_f32(target);
    for (; j < n; j++)
        if (has_nan ? isnan(v[j]) : v[j] == m) return j;
    return 0; /* not reached: the maximum or the NaN is in the row */
}

/* Rows of up to 32 entries take the short form inline, row after row, so
 * that their reductions overlap; the width's case is chosen once. */
void lb_avx2_argmax_rows_f32(size_t rows, size_t n, const float *v, size_t ld, size_t *idx)
{
    switch ((n + 7) / 8) {
    case 1: for (size_t i = 0; i < rows; i++) idx[i] = argmax_short_f32(n, v + i * ld, 1); return;
    case 2: for (size_t i = 0; i < rows; i++) idx[i] = argmax_short_f32(n, v + i * ld, 2); return;
    case 3: for (size_t i = 0; i < rows; i++) idx[i] = argmax_short_f32(n, v + i * ld, 3); return;
    case 4: for (size_t i = 0; i < rows; i++) idx[i] = argmax_short_f32(n, v + i * ld, 4); return;
    default:
        for (size_t i = 0; i < rows; i++) idx[i] = lb_avx2_argmax_f32(n, v + i * ld);
        return;
    }
}

size_t lb_avx2_argmax_f64(size_t n, const double *v)
{
    if (n < 8) return lb_ref_argmax_f64(n, v);
    __m256d m0 = _mm256_set1_pd(-INFINITY), m1 = m0;
    __m256d nan0 = _mm256_setzero_pd(), nan1 = nan0;
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256d x0 = _mm256_loadu_pd(v + j), x1 = _mm256_loadu_pd(v + j + 4);
        m0 = _mm256_max_pd(m0, x0);
        m1 = _mm256_max_pd(m1, x1);
        nan0 = _mm256_or_pd(nan0, _mm256_cmp_pd(x0, x0, _CMP_UNORD_Q));
        nan1 = _mm256_or_pd(nan1, _mm256_cmp_pd(x1, x1, _CMP_UNORD_Q));
    }
    if (j < n) {
        __m256d x0 = _mm256_loadu_pd(v + n - 8), x1 = _mm256_loadu_pd(v + n - 4);
        m0 = _mm256_max_pd(m0, x0);
        m1 = _mm256_max_pd(m1, x1);
        nan0 = _mm256_or_pd(nan0, _mm256_cmp_pd(x0, x0, _CMP_UNORD_Q));
        nan1 = _mm256_or_pd(nan1, _mm256_cmp_pd(x1, x1, _CMP_UNORD_Q));
    }
    bool has_nan = _mm256_movemask_pd(_mm256_or_pd(nan0, nan1)) != 0;
    const __m256d target = _mm256_set1_pd(lb_hmax_f64(_mm256_max_pd(m0, m1)));
    for (j = 0; j + 4 <= n; j += 4) {
        __m256d x = _mm256_loadu_pd(v + j);
        __m256d hit = has_nan ? _mm256_cmp_pd(x, x, _CMP_UNORD_Q) : _mm256_cmp_pd(x, target, _CMP_EQ_OQ);
        int bits = _mm256_movemask_pd(hit);
        if (bits) return j + (size_t)__builtin_ctz((unsigned)bits);
    }
    double m = _mm256_cvtsd_f64(target);
    for (; j < n; j++)
        if (has_nan ? isnan(v[j]) : v[j] == m) return j;
    return 0;
}

void lb_avx2_argmax_rows_f64(size_t rows, size_t n, const double *v, size_t ld, size_t *idx)
{
    for (size_t i = 0; i < rows; i++) idx[i] = lb_avx2_argmax_f64(n, v + i * ld);
}
