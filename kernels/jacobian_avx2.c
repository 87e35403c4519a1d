/*
 * jacobian_avx2.c - AVX2 direct fill of a full softmax Jacobian row block:
 * jac[i*n + j] = -(y_i * y_j) off the diagonal (computed as (-y_i) * y_j,
 * the same bits), y_i - y_i*y_i on it, as the reference rounds it.
 *
 * The fill is write-bound. A Jacobian of LB_STREAM_JACOBIAN_BYTES or more
 * cannot stay in cache anyway, so it is written with non-temporal stores:
 * no read-for-ownership of the destination lines, and the cache keeps y.
 */
#include "internal.h"

#include <immintrin.h>

#define LB_STREAM_JACOBIAN_BYTES ((size_t)1 << 20)

/* The 8 entries (i, j..j+7) with the diagonal patched in. */
static inline __m256 jacobian_vec_f32(__m256 minus_yi, __m256 yj, size_t i, size_t j, float diag)
{
    __m256 v = _mm256_mul_ps(minus_yi, yj);
    if (i - j < 8) { /* the diagonal falls in this vector (i >= j) */
        __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256 is_diag = _mm256_castsi256_ps(
            _mm256_cmpeq_epi32(lane, _mm256_set1_epi32((int)(i - j))));
        v = _mm256_blendv_ps(v, _mm256_set1_ps(diag), is_diag);
    }
    return v;
}

static inline __m256d jacobian_vec_f64(__m256d minus_yi, __m256d yj, size_t i, size_t j,
                                       double diag)
{
    __m256d v = _mm256_mul_pd(minus_yi, yj);
    if (i - j < 4) {
        __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
        __m256d is_diag = _mm256_castsi256_pd(
            _mm256_cmpeq_epi64(lane, _mm256_set1_epi64x((long long)(i - j))));
        v = _mm256_blendv_pd(v, _mm256_set1_pd(diag), is_diag);
    }
    return v;
}

void lb_avx2_jacobian_full_f32(size_t n, const float *y, float *jac)
{
    bool stream = n * n * sizeof(float) >= LB_STREAM_JACOBIAN_BYTES;
    for (size_t i = 0; i < n; i++) {
        float *row = jac + i * n;
        float yi = y[i];
        float product = yi * yi;
        float diag = yi - product;
        __m256 minus_yi = _mm256_set1_ps(-yi);
        size_t j = 0;
        if (stream) {
            /* scalar head up to a 32-byte boundary, then streaming stores */
            for (; j < n && ((uintptr_t)(row + j) & 31) != 0; j++)
                row[j] = j == i ? diag : -yi * y[j];
            for (; j + 8 <= n; j += 8)
                _mm256_stream_ps(row + j, jacobian_vec_f32(minus_yi, _mm256_loadu_ps(y + j), i, j, diag));
        } else {
            for (; j + 8 <= n; j += 8)
                _mm256_storeu_ps(row + j, jacobian_vec_f32(minus_yi, _mm256_loadu_ps(y + j), i, j, diag));
        }
        for (; j < n; j++) row[j] = j == i ? diag : -yi * y[j];
    }
    if (stream) _mm_sfence(); /* streaming stores visible before return */
}

void lb_avx2_jacobian_full_f64(size_t n, const double *y, double *jac)
{
    bool stream = n * n * sizeof(double) >= LB_STREAM_JACOBIAN_BYTES;
    for (size_t i = 0; i < n; i++) {
        double *row = jac + i * n;
        double yi = y[i];
        double product = yi * yi;
        double diag = yi - product;
        __m256d minus_yi = _mm256_set1_pd(-yi);
        size_t j = 0;
        if (stream) {
            for (; j < n && ((uintptr_t)(row + j) & 31) != 0; j++)
                row[j] = j == i ? diag : -yi * y[j];
            for (; j + 4 <= n; j += 4)
                _mm256_stream_pd(row + j, jacobian_vec_f64(minus_yi, _mm256_loadu_pd(y + j), i, j, diag));
        } else {
            for (; j + 4 <= n; j += 4)
                _mm256_storeu_pd(row + j, jacobian_vec_f64(minus_yi, _mm256_loadu_pd(y + j), i, j, diag));
        }
        for (; j < n; j++) row[j] = j == i ? diag : -yi * y[j];
    }
    if (stream) _mm_sfence();
}
