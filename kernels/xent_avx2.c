/*
 * xent_avx2.c - AVX2+FMA cross-entropy row kernels for the plain sparse case
 * (a_j = w_t [j == t]: no class weights vector, no smoothing, no dense
 * targets); every other coefficient set goes to the reference kernel.
 *
 * One row: maximum m, then rest = sum_{j != t} exp(x_j - m) (the target left
 * out, so a tiny loss survives) with e_j = exp(x_j - m) stored into the
 * gradient row, then grad_j = e_j * (w_t grad_mul / s), s = rest + e_t, and
 * the target entry recomputed in double as (p_t w_t - w_t) grad_mul, as the
 * reference does (that is where p_t - 1 cancels). The loss is
 * w_t log1p(rest / e_t). Long rows take the online pass on both sides of
 * the target and recompute exp in the gradient sweep instead of re-reading
 * stored values from memory.
 */
#include "internal.h"
#include "rows_avx2.h"

#include <math.h>

static bool plain_f32(const lb_xent_coef_f32 *c)
{
    return !c->dense_targets && !c->weights && c->smooth_coef == 0.0;
}

static bool plain_f64(const lb_xent_coef_f64 *c)
{
    return !c->dense_targets && !c->weights && c->smooth_coef == 0.0;
}

/* Loss of a plain row from rest = sum_{j != t} exp(x_j - m) and the target's
 * e_t = exp(x_t - m): L = log(s) - (x_t - m) = log1p(rest / e_t). The log1p
 * form keeps a tiny loss (dominant target: s = 1 + tiny) that log(s) would
 * round away; it needs e_t well inside double range. */
static double plain_loss(double a, double rest, double e_t, double shifted_t)
{
    if (a == 0.0) return 0.0;
    if (shifted_t > -600.0) return a * log1p(rest / e_t);
    return a * (log(rest + e_t) - shifted_t);
}

/* Row maximum and rest of a long row in two online passes around the
 * target; false for a row the reference must handle (NaN, infinities). */
static bool long_row_rest_f32(size_t n, const float *x, size_t t, float *m, double *rest)
{
    float m1 = -INFINITY, m2 = -INFINITY;
    double r1 = 0.0, r2 = 0.0;
    bool nan1 = false, nan2 = false;
    if (t > 0) r1 = lb_avx2_online_max_sum_f32(t, x, &m1, &nan1);
    if (t + 1 < n) r2 = lb_avx2_online_max_sum_f32(n - t - 1, x + t + 1, &m2, &nan2);
    float mx = m1 > m2 ? m1 : m2;
    if (x[t] > mx) mx = x[t];
    if (nan1 || nan2 || isnan(x[t]) || !isfinite(mx) || m1 == INFINITY || m2 == INFINITY)
        return false;
    *m = mx;
    *rest = r1 * exp((double)m1 - (double)mx) + r2 * exp((double)m2 - (double)mx);
    return true;
}

static bool long_row_rest_f64(size_t n, const double *x, size_t t, double *m, double *rest)
{
    double m1 = -INFINITY, m2 = -INFINITY, r1 = 0.0, r2 = 0.0;
    bool nan1 = false, nan2 = false;
    if (t > 0) r1 = lb_avx2_online_max_sum_f64(t, x, &m1, &nan1);
    if (t + 1 < n) r2 = lb_avx2_online_max_sum_f64(n - t - 1, x + t + 1, &m2, &nan2);
    double mx = m1 > m2 ? m1 : m2;
    if (x[t] > mx) mx = x[t];
    if (nan1 || nan2 || isnan(x[t]) || !isfinite(mx) || m1 == INFINITY || m2 == INFINITY)
        return false;
    *m = mx;
    *rest = r1 * exp(m1 - mx) + r2 * exp(m2 - mx);
    return true;
}

double lb_avx2_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef, float *grad,
                            double grad_mul)
{
    if (!plain_f32(coef)) return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
    size_t t = coef->target;
    double a = coef->target_coef;
    float x_t = x[t]; /* grad may be x: keep the target logit */
    float m;
    double rest;
    bool cached = n * sizeof(float) <= LB_CACHED_ROW_BYTES;
    if (cached) {
        m = lb_avx2_row_max_f32(n, x);
        if (lb_avx2_classify_f32(n, x, m) != AVX2_ROW_FINITE || isnan(x_t))
            return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
        lb_avx2_prefetch_next_row(x + n, n * sizeof(float));
        if (grad && grad != x) lb_avx2_prefetch_next_row(grad + n, n * sizeof(float));
        /* the sum around the target, e_j stored into grad */
        rest = lb_avx2_sum_exp_f32(t, x, m, grad) +
               lb_avx2_sum_exp_f32(n - t - 1, x + t + 1, m, grad ? grad + t + 1 : NULL);
        if (isnan(rest)) { /* a NaN entry (x may already be overwritten: decide here) */
            if (grad) lb_avx2_fill_f32(n, grad, NAN);
            return NAN;
        }
    } else if (!long_row_rest_f32(n, x, t, &m, &rest)) {
        return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
    }
    double shifted_t = (double)x_t - (double)m;
    double e_t = exp(shifted_t);
    double s = rest + e_t;
    if (grad) {
        float k = (float)(a * grad_mul / s);
        if (cached) lb_avx2_scale_f32(n, grad, k);
        else lb_avx2_write_scaled_exp_f32(n, x, m, k, grad);
        double p_t = e_t / s;
        grad[t] = (float)((p_t * a - a) * grad_mul);
    }
    return plain_loss(a, rest, e_t, shifted_t);
}

double lb_avx2_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                            double *grad, double grad_mul)
{
    if (!plain_f64(coef)) return lb_ref_xent_row_f64(n, x, coef, grad, grad_mul);
    size_t t = coef->target;
    double a = coef->target_coef;
    double x_t = x[t];
    double m, rest;
    bool cached = n * sizeof(double) <= LB_CACHED_ROW_BYTES;
    if (cached) {
        m = lb_avx2_row_max_f64(n, x);
        if (lb_avx2_classify_f64(n, x, m) != AVX2_ROW_FINITE || isnan(x_t))
            return lb_ref_xent_row_f64(n, x, coef, grad, grad_mul);
        lb_avx2_prefetch_next_row(x + n, n * sizeof(double));
        if (grad && grad != x) lb_avx2_prefetch_next_row(grad + n, n * sizeof(double));
        rest = lb_avx2_sum_exp_f64(t, x, m, grad) +
               lb_avx2_sum_exp_f64(n - t - 1, x + t + 1, m, grad ? grad + t + 1 : NULL);
        if (isnan(rest)) {
            if (grad) lb_avx2_fill_f64(n, grad, NAN);
            return NAN;
        }
    } else if (!long_row_rest_f64(n, x, t, &m, &rest)) {
        return lb_ref_xent_row_f64(n, x, coef, grad, grad_mul);
    }
    double shifted_t = x_t - m;
    double e_t = exp(shifted_t);
    double s = rest + e_t;
    if (grad) {
        double k = a * grad_mul / s;
        if (cached) lb_avx2_scale_f64(n, grad, k);
        else lb_avx2_write_scaled_exp_f64(n, x, m, k, grad);
        double p_t = e_t / s;
        grad[t] = (p_t * a - a) * grad_mul;
    }
    return plain_loss(a, rest, e_t, shifted_t);
}
