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
    if (stream) _mm_sfence(); /* order the streaming stores before later plain ones */
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
    if (stream) _mm_sfence(); /* order the streaming stores before later plain ones */
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
