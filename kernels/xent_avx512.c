/*
 * xent_avx512.c - AVX-512 cross-entropy row kernel (f32).
 *
 * Plain sparse rows (no class weights, no smoothing, no dense targets) that
 * stay in cache take the AVX2 kernel's algorithm (xent_avx2.c) with the
 * AVX-512 sweeps: maximum and minimum, rest = sum_{j != t} exp(x_j - m) with
 * e_j stored into the gradient row, the row scaled by w_t grad_mul / s and
 * the target entry recomputed in double. Every other row (short, long,
 * general coefficients, huge logits) is the AVX2 kernel's; rows the
 * reference must take (NaN, infinities) go there directly.
 */
#include "internal.h"
#include "exp_avx512.h"
#include "rows_avx2.h"
#include "rows_avx512.h"

#include <math.h>

double lb_avx512_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef,
                              float *grad, double grad_mul)
{
    bool plain = !coef->dense_targets && !coef->weights && coef->smooth_coef == 0.0;
    if (!plain || n <= LB_SHORT_ROW_F32 || n * sizeof(float) > LB_CACHED_ROW_BYTES)
        return lb_avx2_xent_row_f32(n, x, coef, grad, grad_mul);
    size_t t = coef->target;
    double a = coef->target_coef;
    float x_t = x[t]; /* grad may be x: keep the target logit */
    float lo, m = lb_avx512_row_max_min_f32(n, x, &lo);
    if (lb_avx2_classify_f32(n, x, m) != AVX2_ROW_FINITE || isnan(x_t))
        return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
    if (!(fabsf(m) <= 0x1p24f)) return lb_avx2_xent_row_f32(n, x, coef, grad, grad_mul);
    lb_avx2_prefetch_next_row(x + n, n * sizeof(float));
    if (grad && grad != x) lb_avx2_prefetch_next_row(grad + n, n * sizeof(float));
    double rest = lb_avx512_sum_exp_lo_f32(t, x, m, lo, grad) +
                  lb_avx512_sum_exp_lo_f32(n - t - 1, x + t + 1, m, lo, grad ? grad + t + 1 : NULL);
    if (isnan(rest)) { /* a NaN entry (x may already be overwritten: decide here) */
        if (grad) lb_avx2_fill_f32(n, grad, NAN);
        return NAN;
    }
    double shifted_t = (double)x_t - (double)m;
    double e_t = exp(shifted_t);
    double s = rest + e_t;
    if (grad) {
        lb_avx512_scale_f32(n, grad, (float)(a * grad_mul / s));
        grad[t] = (float)((e_t / s * a - a) * grad_mul);
    }
    return lb_xent_plain_loss(a, rest, e_t, shifted_t);
}
