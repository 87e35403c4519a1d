/*
 * xent_avx2.c - AVX2+FMA cross-entropy row kernels.
 *
 * Plain sparse rows (a_j = w_t [j == t]: no class weights vector, no
 * smoothing, no dense targets): maximum m, then rest = sum_{j != t}
 * exp(x_j - m) (the target left out, so a tiny loss survives) with
 * e_j = exp(x_j - m) stored into the gradient row, then
 * grad_j = e_j * (w_t grad_mul / s), s = rest + e_t, and the target entry
 * recomputed in double as (p_t w_t - w_t) grad_mul, as the reference does
 * (that is where p_t - 1 cancels). The loss is w_t log1p(rest / e_t). Long
 * rows take the online pass on both sides of the target and recompute exp in
 * the gradient sweep instead of re-reading stored values from memory.
 *
 * General rows (class weights, label smoothing, dense targets; see
 * "General coefficients" below): maximum, one sweep for the sums, one for the
 * gradient.
 */
#include "internal.h"
#include "rows_avx2.h"
#include "exp_avx2.h"

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
double lb_xent_plain_loss(double a, double rest, double e_t, double shifted_t)
{
    if (lb_xent_loss_by_log1p(a, shifted_t)) return a * lb_log1p_nonneg(rest / e_t);
    if (a == 0.0) return 0.0;
    return a * (log(rest + e_t) - shifted_t);
}

/* Row maximum and rest of a long row in two online passes around the
 * target; false for a row the reference must handle (NaN, infinities). */
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

/* ------------------------------------------------------------------------ */
/* General coefficients                                                     */
/* ------------------------------------------------------------------------ */

/* a_j = w_j (target_coef t_j + smooth_coef) for any coefficient set. With
 * A = sum_j a_j, s = sum_j exp(x_j - m) and D = sum_{a_j != 0} a_j (x_j - m)
 * (zero coefficients masked out: there x_j - m may be -inf):
 *   loss   = sum_{a_j != 0} a_j (log s - (x_j - m)) = A log s - D,
 *            both parts >= 0 for a_j >= 0, so no cancellation;
 *   grad_j = grad_mul (p_j A - a_j) = e_j (A grad_mul / s) - a_j grad_mul.
 * log s = log1p(s - 1) as in the reference: s - 1 = rest + (ties - 1), where
 * rest sums exp over the lanes with x_j != m and ties counts the lanes equal
 * to m (each exactly 1), so the maximum's own 1 never enters a rounded sum
 * and a small loss keeps its relative precision, without locating the
 * maximum first.
 * Sweep 1 (after the maximum): e_j stored into grad (the same index is read
 * first, so grad may be x), rest, ties, A and D. Sweep 2: the gradient from
 * the stored e_j. Rows with NaN/+inf or all -inf, and f32 rows whose maximum
 * is near -FLT_MAX, go to the reference (before anything is written); a NaN
 * hidden below a finite maximum shows up as a NaN rest after sweep 1.
 *
 * f32: a_j is formed in float (fmadd, then times w_j: a few u), widened, and
 * A and D summed in double lanes (x_j - m in double: no overflow); the exp
 * terms (each <= 1) are added in float pairs of vectors, then widened. All
 * lanes are folded into a running total every LB_XENT_FOLD vectors. The loss
 * so stays within a few float ulps of the reference, far inside the 1e-6
 * relative bound. */
#define LB_XENT_FOLD 64

typedef struct xent_sums {
    double rest;     /* sum exp(x_j - m) over x_j != m */
    double ties;     /* entries equal to m */
    double coef_sum; /* A */
    double coef_dot; /* D */
} xent_sums;

/* The 8 floats of the n-float row p at j, or when masked its last n - j
 * (< 8) and zeros (lb_load_part_f32) */
static inline __m256 masked_load_f32(const float *p, size_t n, size_t j, bool masked)
{
    return masked ? lb_load_part_f32(p, n, j) : _mm256_loadu_ps(p + j);
}

/* a for the 8 columns at j: tc, sc the coefficients (possibly times
 * grad_mul); idx holds j..j+7 and tgt the sparse target, as int32 */
static inline __attribute__((always_inline)) __m256
coef8_f32(const lb_xent_coef_f32 *c, size_t n, size_t j, __m256i idx, __m256i tgt, __m256 tc, __m256 sc,
          __m256i mask, bool masked, bool dense, bool weighted)
{
    __m256 t = dense ? masked_load_f32(c->dense_targets, n, j, masked)
                     : _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(idx, tgt)),
                                     _mm256_set1_ps(1.0f));
    __m256 a = _mm256_fmadd_ps(tc, t, sc);
    if (weighted) a = _mm256_mul_ps(a, masked_load_f32(c->weights, n, j, masked));
    if (masked) a = _mm256_and_ps(a, _mm256_castsi256_ps(mask));
    return a;
}

/* Per-vector terms of sweep 1: e_rest, a, and x with the lanes of a == 0
 * replaced by m (their term a (x - m) must be 0, also where x = -inf). */
typedef struct xent_terms_f32 {
    __m256 rest, coef, x_used;
} xent_terms_f32;

/* dot += a (x - m) in double lanes: x - m cannot overflow there and the
 * product of a large weight and a large logit difference stays finite. */
static inline void acc_coef_dot_f32(__m256d *coef, __m256d *dot, __m256 a, __m256 x, __m256d m)
{
    __m256d a_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
    __m256d a_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    __m256d x_lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)), m);
    __m256d x_hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)), m);
    *coef = _mm256_add_pd(*coef, _mm256_add_pd(a_lo, a_hi));
    *dot = _mm256_fmadd_pd(a_hi, x_hi, _mm256_fmadd_pd(a_lo, x_lo, *dot));
}

/* The terms of the 8 columns at j given their e = exp(x_j - m). */
static inline __attribute__((always_inline)) xent_terms_f32
xent_terms8_from_exp_f32(size_t n, const float *x, const lb_xent_coef_f32 *c, float *e_out, size_t j,
                         __m256i idx, __m256i tgt, __m256 tc, __m256 sc, __m256 vm, __m256 e,
                         __m256i *ties, __m256i mask, bool masked, bool dense, bool weighted)
{
    __m256 xv = masked_load_f32(x, n, j, masked);
    __m256 eq = _mm256_cmp_ps(xv, vm, _CMP_EQ_OQ);
    if (masked) {
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
        eq = _mm256_and_ps(eq, _mm256_castsi256_ps(mask));
        if (e_out) lb_store_part_f32(e_out + j, n - j, e);
    } else if (e_out) {
        _mm256_storeu_ps(e_out + j, e);
    }
    *ties = _mm256_sub_epi32(*ties, _mm256_castps_si256(eq)); /* eq lanes are -1 */
    __m256 a = coef8_f32(c, n, j, idx, tgt, tc, sc, mask, masked, dense, weighted);
    __m256 nonzero = _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NEQ_UQ); /* NaN counts */
    xent_terms_f32 r;
    r.rest = _mm256_andnot_ps(eq, e);
    r.coef = a;
    r.x_used = _mm256_blendv_ps(vm, xv, nonzero);
    return r;
}

static inline __attribute__((always_inline)) xent_terms_f32
xent_terms8_f32(size_t n, const float *x, const lb_xent_coef_f32 *c, float *e_out, size_t j, __m256i idx,
                __m256i tgt, __m256 tc, __m256 sc, __m256 vm, __m256 minus_m, __m256 floor,
                __m256i *ties, __m256i mask, bool masked, bool dense, bool weighted, bool clamp)
{
    __m256 e = lb_exp_shifted_f32_avx2(masked_load_f32(x, n, j, masked), minus_m, floor, clamp);
    return xent_terms8_from_exp_f32(n, x, c, e_out, j, idx, tgt, tc, sc, vm, e, ties, mask, masked,
                                    dense, weighted);
}

/* ahead (lb_next_rows3_f32): the next row's arrays, fetched into L2 a line
 * per 16 entries as the sweep goes, so that the fetches overlap the
 * arithmetic (xent_avx512.c's general_sweep does the same). */
static inline __attribute__((always_inline)) xent_sums
xent_sweep_f32(size_t n, const float *x, const lb_xent_coef_f32 *c, float m, float *e_out,
               bool dense, bool weighted, bool clamp, const float *const ahead[3])
{
    const __m256 vm = _mm256_set1_ps(m), minus_m = _mm256_set1_ps(-m);
    const __m256d m_d = _mm256_set1_pd(m);
    const __m256 floor = _mm256_set1_ps(lb_exp_floor_f32(m));
    const __m256 tc = _mm256_set1_ps((float)c->target_coef);
    const __m256 sc = _mm256_set1_ps((float)c->smooth_coef);
    const __m256i tgt = _mm256_set1_epi32(dense ? -1 : (int32_t)c->target);
    const __m256i step = _mm256_set1_epi32(8);
    const __m256i none = _mm256_setzero_si256();
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), ties = none;
    __m256d rest = _mm256_setzero_pd(), coef = rest, dot = rest;
    size_t j = 0;
    if (n >= 32) {
        /* the pairs software-pipelined (exp_avx2.h): pair k's terms and sums,
         * pair k + 1's polynomial, pair k + 2's reduction; the same sums in
         * the same order as the loop below */
        const size_t pairs = n / 16;
        const __m256d zero = _mm256_setzero_pd();
        __m256d r_lo = zero, r_hi = zero, a0 = zero, d0 = zero;
        lb_exp_reduced_f32 q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x), minus_m, floor, clamp, LB_DIFF_TWOSUM);
        lb_exp_reduced_f32 q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 8), minus_m, floor, clamp, LB_DIFF_TWOSUM);
        __m256 p0 = lb_exp_poly_f32(q0.r), p1 = lb_exp_poly_f32(q1.r), z0 = q0.z, z1 = q1.z;
        q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 16), minus_m, floor, clamp, LB_DIFF_TWOSUM);
        q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + 24), minus_m, floor, clamp, LB_DIFF_TWOSUM);
        for (size_t k = 0; k < pairs; k++, j += 16) {
            lb_prefetch_ahead3_f32(ahead, j);
            __m256 e0 = lb_exp_scale_f32(p0, z0), e1 = lb_exp_scale_f32(p1, z1);
            if (k + 1 < pairs) p0 = lb_exp_poly_f32(q0.r), p1 = lb_exp_poly_f32(q1.r), z0 = q0.z, z1 = q1.z;
            if (k + 2 < pairs) {
                q0 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + j + 32), minus_m, floor, clamp, LB_DIFF_TWOSUM);
                q1 = lb_exp_shifted_reduce_f32(_mm256_loadu_ps(x + j + 40), minus_m, floor, clamp, LB_DIFF_TWOSUM);
            }
            xent_terms_f32 t0 = xent_terms8_from_exp_f32(n, x, c, e_out, j, idx, tgt, tc, sc, vm, e0,
                                                         &ties, none, false, dense, weighted);
            idx = _mm256_add_epi32(idx, step);
            xent_terms_f32 t1 = xent_terms8_from_exp_f32(n, x, c, e_out, j + 8, idx, tgt, tc, sc, vm,
                                                         e1, &ties, none, false, dense, weighted);
            idx = _mm256_add_epi32(idx, step);
            lb_acc_f32_in_f64(&r_lo, &r_hi, _mm256_add_ps(t0.rest, t1.rest)); /* e <= 1 */
            acc_coef_dot_f32(&a0, &d0, t0.coef, t0.x_used, m_d);
            acc_coef_dot_f32(&a0, &d0, t1.coef, t1.x_used, m_d);
            if ((k + 1) % (LB_XENT_FOLD / 2) == 0 || k + 1 == pairs) {
                rest = _mm256_add_pd(rest, _mm256_add_pd(r_lo, r_hi));
                coef = _mm256_add_pd(coef, a0);
                dot = _mm256_add_pd(dot, d0);
                r_lo = r_hi = a0 = d0 = zero;
            }
        }
    }
    while (j + 16 <= n) {
        __m256d r_lo = _mm256_setzero_pd(), r_hi = r_lo, a0 = r_lo, d0 = r_lo;
        size_t block_end = j + 8 * LB_XENT_FOLD < n ? j + 8 * LB_XENT_FOLD : n;
        for (; j + 16 <= block_end; j += 16) {
            lb_prefetch_ahead3_f32(ahead, j);
            xent_terms_f32 t0 = xent_terms8_f32(n, x, c, e_out, j, idx, tgt, tc, sc, vm, minus_m,
                                                floor, &ties, none, false, dense, weighted, clamp);
            idx = _mm256_add_epi32(idx, step);
            xent_terms_f32 t1 = xent_terms8_f32(n, x, c, e_out, j + 8, idx, tgt, tc, sc, vm, minus_m,
                                                floor, &ties, none, false, dense, weighted, clamp);
            idx = _mm256_add_epi32(idx, step);
            lb_acc_f32_in_f64(&r_lo, &r_hi, _mm256_add_ps(t0.rest, t1.rest)); /* e <= 1 */
            acc_coef_dot_f32(&a0, &d0, t0.coef, t0.x_used, m_d);
            acc_coef_dot_f32(&a0, &d0, t1.coef, t1.x_used, m_d);
        }
        rest = _mm256_add_pd(rest, _mm256_add_pd(r_lo, r_hi));
        coef = _mm256_add_pd(coef, a0);
        dot = _mm256_add_pd(dot, d0);
    }
    /* up to 15 left: one full vector, then a masked one */
    while (j < n) {
        size_t left = n - j;
        __m256i mask = lb_tail_mask_f32(left < 8 ? left : 7);
        xent_terms_f32 t = left >= 8
            ? xent_terms8_f32(n, x, c, e_out, j, idx, tgt, tc, sc, vm, minus_m, floor, &ties, none,
                              false, dense, weighted, clamp)
            : xent_terms8_f32(n, x, c, e_out, j, idx, tgt, tc, sc, vm, minus_m, floor, &ties, mask,
                              true, dense, weighted, clamp);
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        lb_acc_f32_in_f64(&lo, &hi, t.rest);
        rest = _mm256_add_pd(rest, _mm256_add_pd(lo, hi));
        acc_coef_dot_f32(&coef, &dot, t.coef, t.x_used, m_d);
        idx = _mm256_add_epi32(idx, step);
        j += left >= 8 ? 8 : left;
    }
    int32_t tie_lanes[8];
    _mm256_storeu_si256((__m256i *)tie_lanes, ties);
    int64_t tie_count = 0;
    for (int l = 0; l < 8; l++) tie_count += tie_lanes[l];
    return (xent_sums){lb_hsum_f64(rest), (double)tie_count, lb_hsum_f64(coef), lb_hsum_f64(dot)};
}

/* grad_j = (e_j k - a_j) grad_mul, k = A / s, e_j read from grad (sweep 1
 * stored it), a_j formed as sweep 1 formed it: p = 1 then gives exactly 0,
 * and grad_mul scales the gradient with one last rounding. */
static inline __attribute__((always_inline)) void
xent_grad_sweep_f32(size_t n, const lb_xent_coef_f32 *c, float *grad, double k, double grad_mul,
                    bool dense, bool weighted)
{
    const __m256 vk = _mm256_set1_ps((float)k), gm = _mm256_set1_ps((float)grad_mul);
    const __m256 tc = _mm256_set1_ps((float)c->target_coef);
    const __m256 sc = _mm256_set1_ps((float)c->smooth_coef);
    const __m256i tgt = _mm256_set1_epi32(dense ? -1 : (int32_t)c->target);
    const __m256i step = _mm256_set1_epi32(8), none = _mm256_setzero_si256();
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 a = coef8_f32(c, n, j, idx, tgt, tc, sc, none, false, dense, weighted);
        _mm256_storeu_ps(grad + j, _mm256_mul_ps(_mm256_fmsub_ps(_mm256_loadu_ps(grad + j), vk, a), gm));
        idx = _mm256_add_epi32(idx, step);
    }
    if (j < n) {
        __m256i mask = lb_tail_mask_f32(n - j);
        __m256 a = coef8_f32(c, n, j, idx, tgt, tc, sc, mask, true, dense, weighted);
        lb_store_part_f32(grad + j, n - j,
                          _mm256_mul_ps(_mm256_fmsub_ps(lb_load_part_f32(grad, n, j), vk, a), gm));
    }
}

/* Loss from the sums, log s = log1p(s - 1). */
static double xent_loss_from_sums(const xent_sums *u, double *s)
{
    double s_minus_one = u->rest + (u->ties - 1.0);
    *s = 1.0 + s_minus_one;
    return u->coef_sum * lb_log1p_nonneg(s_minus_one) - u->coef_dot;
}

static inline __attribute__((always_inline)) double
general_row_f32_impl(size_t n, const float *x, const lb_xent_coef_f32 *c, float *grad,
                     double grad_mul, float m, bool dense, bool weighted, bool clamp)
{
    /* the next row's arrays, fetched during the sweep (a burst of one
     * prefetch per line before it waited for free fill buffers) */
    const float *ahead[3];
    lb_next_rows3_f32(n, x, dense ? c->dense_targets : NULL, grad, ahead);
    xent_sums u = xent_sweep_f32(n, x, c, m, grad, dense, weighted, clamp, ahead);
    if (isnan(u.rest)) { /* a NaN entry (x may already be overwritten: decide here) */
        if (grad) lb_avx2_fill_f32(n, grad, NAN);
        return NAN;
    }
    double s;
    double loss = xent_loss_from_sums(&u, &s);
    if (grad) xent_grad_sweep_f32(n, c, grad, u.coef_sum / s, grad_mul, dense, weighted);
    return loss;
}

/* Instantiations for (dense targets, class weights, clamped exp). */
#define XENT_F32_CASE(d, w, cl)                                                                \
    static double general_row_f32_##d##w##cl(size_t n, const float *x,                         \
                                             const lb_xent_coef_f32 *c, float *grad,          \
                                             double grad_mul, float m)                        \
    {                                                                                          \
        return general_row_f32_impl(n, x, c, grad, grad_mul, m, d, w, cl);                     \
    }
XENT_F32_CASE(0, 0, 0)
XENT_F32_CASE(0, 0, 1)
XENT_F32_CASE(0, 1, 0)
XENT_F32_CASE(0, 1, 1)
XENT_F32_CASE(1, 0, 0)
XENT_F32_CASE(1, 0, 1)
XENT_F32_CASE(1, 1, 0)
XENT_F32_CASE(1, 1, 1)
#undef XENT_F32_CASE

typedef double (*general_row_f32_fn)(size_t, const float *, const lb_xent_coef_f32 *, float *,
                                     double, float);

static double general_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *c,
                                   float *grad, double grad_mul)
{
    static const general_row_f32_fn cases[8] = {
        general_row_f32_000, general_row_f32_001, general_row_f32_010, general_row_f32_011,
        general_row_f32_100, general_row_f32_101, general_row_f32_110, general_row_f32_111};
    float m = lb_avx2_row_max_f32(n, x);
    /* edge rows, a maximum too close to -FLT_MAX for the vector exp's floor,
     * sparse indices beyond int32 lanes, a grad_mul beyond float range (the
     * gradient sweep scales in float): the reference */
    if (lb_avx2_classify_f32(n, x, m) != AVX2_ROW_FINITE || m < -0x1.fffffep127f + 0x1p105f ||
        (!c->dense_targets && n > (size_t)INT32_MAX) || !(fabs(grad_mul) <= 0x1.fffffep127))
        return lb_ref_xent_row_f32(n, x, c, grad, grad_mul);
    int which = (c->dense_targets != NULL) * 4 + (c->weights != NULL) * 2 +
                lb_exp_needs_clamp_f32(m);
    return cases[which](n, x, c, grad, grad_mul, m);
}

/* f64: the same sweeps in double lanes (4 per vector); sums in double,
 * folded every LB_XENT_FOLD vectors. */
static inline __m256d masked_load_f64(const double *p, size_t n, size_t j, bool masked)
{
    return masked ? lb_load_part_f64(p, n, j) : _mm256_loadu_pd(p + j);
}

static inline __attribute__((always_inline)) __m256d
coef4_f64(const lb_xent_coef_f64 *c, size_t n, size_t j, __m256i idx, __m256i tgt, __m256d tc,
          __m256d sc, __m256i mask, bool masked, bool dense, bool weighted)
{
    __m256d t = dense ? masked_load_f64(c->dense_targets, n, j, masked)
                      : _mm256_and_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(idx, tgt)),
                                      _mm256_set1_pd(1.0));
    __m256d a = _mm256_fmadd_pd(tc, t, sc);
    if (weighted) a = _mm256_mul_pd(a, masked_load_f64(c->weights, n, j, masked));
    if (masked) a = _mm256_and_pd(a, _mm256_castsi256_pd(mask));
    return a;
}

static inline __attribute__((always_inline)) void
xent_terms4_f64(size_t n, const double *x, const lb_xent_coef_f64 *c, double *e_out, size_t j,
                __m256i idx, __m256i tgt, __m256d tc, __m256d sc, __m256d vm, __m256i *ties,
                __m256d *rest, __m256d *coef, __m256d *dot, __m256i mask, bool masked,
                bool dense, bool weighted)
{
    __m256d xv = masked_load_f64(x, n, j, masked);
    __m256d e = lb_exp_shifted_f64_avx2(xv, vm);
    __m256d eq = _mm256_cmp_pd(xv, vm, _CMP_EQ_OQ);
    if (masked) {
        e = _mm256_and_pd(e, _mm256_castsi256_pd(mask));
        eq = _mm256_and_pd(eq, _mm256_castsi256_pd(mask));
        if (e_out) lb_store_part_f64(e_out + j, n - j, e);
    } else if (e_out) {
        _mm256_storeu_pd(e_out + j, e);
    }
    *ties = _mm256_sub_epi64(*ties, _mm256_castpd_si256(eq));
    __m256d a = coef4_f64(c, n, j, idx, tgt, tc, sc, mask, masked, dense, weighted);
    __m256d nonzero = _mm256_cmp_pd(a, _mm256_setzero_pd(), _CMP_NEQ_UQ);
    *rest = _mm256_add_pd(*rest, _mm256_andnot_pd(eq, e));
    *coef = _mm256_add_pd(*coef, a);
    *dot = _mm256_add_pd(*dot, _mm256_and_pd(nonzero, _mm256_mul_pd(a, _mm256_sub_pd(xv, vm))));
}

static inline __attribute__((always_inline)) xent_sums
xent_sweep_f64(size_t n, const double *x, const lb_xent_coef_f64 *c, double m, double *e_out,
               bool dense, bool weighted, const double *const ahead[3])
{
    const __m256d vm = _mm256_set1_pd(m);
    const __m256d tc = _mm256_set1_pd(c->target_coef), sc = _mm256_set1_pd(c->smooth_coef);
    const __m256i tgt = _mm256_set1_epi64x(dense ? -1 : (int64_t)c->target);
    const __m256i step = _mm256_set1_epi64x(4), none = _mm256_setzero_si256();
    __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3), ties = none;
    __m256d rest = _mm256_setzero_pd(), coef = rest, dot = rest;
    size_t j = 0;
    while (j + 4 <= n) {
        __m256d r0 = _mm256_setzero_pd(), a0 = r0, d0 = r0;
        size_t block_end = j + 4 * LB_XENT_FOLD < n ? j + 4 * LB_XENT_FOLD : n;
        for (; j + 4 <= block_end; j += 4) {
            if (j % 8 == 0) lb_prefetch_ahead3_f64(ahead, j); /* a line per 8 entries */
            xent_terms4_f64(n, x, c, e_out, j, idx, tgt, tc, sc, vm, &ties, &r0, &a0, &d0, none,
                            false, dense, weighted);
            idx = _mm256_add_epi64(idx, step);
        }
        rest = _mm256_add_pd(rest, r0);
        coef = _mm256_add_pd(coef, a0);
        dot = _mm256_add_pd(dot, d0);
    }
    if (j < n)
        xent_terms4_f64(n, x, c, e_out, j, idx, tgt, tc, sc, vm, &ties, &rest, &coef, &dot,
                        lb_tail_mask_f64(n - j), true, dense, weighted);
    int64_t tie_lanes[4];
    _mm256_storeu_si256((__m256i *)tie_lanes, ties);
    int64_t tie_count = tie_lanes[0] + tie_lanes[1] + tie_lanes[2] + tie_lanes[3];
    return (xent_sums){lb_hsum_f64(rest), (double)tie_count, lb_hsum_f64(coef), lb_hsum_f64(dot)};
}

static inline __attribute__((always_inline)) void
xent_grad_sweep_f64(size_t n, const lb_xent_coef_f64 *c, double *grad, double k,
                    double grad_mul, bool dense, bool weighted)
{
    const __m256d vk = _mm256_set1_pd(k), gm = _mm256_set1_pd(grad_mul);
    const __m256d tc = _mm256_set1_pd(c->target_coef), sc = _mm256_set1_pd(c->smooth_coef);
    const __m256i tgt = _mm256_set1_epi64x(dense ? -1 : (int64_t)c->target);
    const __m256i step = _mm256_set1_epi64x(4), none = _mm256_setzero_si256();
    __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d a = coef4_f64(c, n, j, idx, tgt, tc, sc, none, false, dense, weighted);
        _mm256_storeu_pd(grad + j, _mm256_mul_pd(_mm256_fmsub_pd(_mm256_loadu_pd(grad + j), vk, a), gm));
        idx = _mm256_add_epi64(idx, step);
    }
    if (j < n) {
        __m256i mask = lb_tail_mask_f64(n - j);
        __m256d a = coef4_f64(c, n, j, idx, tgt, tc, sc, mask, true, dense, weighted);
        lb_store_part_f64(grad + j, n - j,
                          _mm256_mul_pd(_mm256_fmsub_pd(lb_load_part_f64(grad, n, j), vk, a), gm));
    }
}

static inline __attribute__((always_inline)) double
general_row_f64_impl(size_t n, const double *x, const lb_xent_coef_f64 *c, double *grad,
                     double grad_mul, double m, bool dense, bool weighted)
{
    const double *ahead[3];
    lb_next_rows3_f64(n, x, dense ? c->dense_targets : NULL, grad, ahead);
    xent_sums u = xent_sweep_f64(n, x, c, m, grad, dense, weighted, ahead);
    if (isnan(u.rest)) {
        if (grad) lb_avx2_fill_f64(n, grad, NAN);
        return NAN;
    }
    double s;
    double loss = xent_loss_from_sums(&u, &s);
    if (grad) xent_grad_sweep_f64(n, c, grad, u.coef_sum / s, grad_mul, dense, weighted);
    return loss;
}

#define XENT_F64_CASE(d, w)                                                                    \
    static double general_row_f64_##d##w(size_t n, const double *x, const lb_xent_coef_f64 *c, \
                                         double *grad, double grad_mul, double m)             \
    {                                                                                          \
        return general_row_f64_impl(n, x, c, grad, grad_mul, m, d, w);                         \
    }
XENT_F64_CASE(0, 0)
XENT_F64_CASE(0, 1)
XENT_F64_CASE(1, 0)
XENT_F64_CASE(1, 1)
#undef XENT_F64_CASE

typedef double (*general_row_f64_fn)(size_t, const double *, const lb_xent_coef_f64 *, double *,
                                     double, double);

static double general_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *c,
                                   double *grad, double grad_mul)
{
    static const general_row_f64_fn cases[4] = {general_row_f64_00, general_row_f64_01,
                                                general_row_f64_10, general_row_f64_11};
    double m = lb_avx2_row_max_f64(n, x);
    if (lb_avx2_classify_f64(n, x, m) != AVX2_ROW_FINITE)
        return lb_ref_xent_row_f64(n, x, c, grad, grad_mul);
    return cases[(c->dense_targets != NULL) * 2 + (c->weights != NULL)](n, x, c, grad, grad_mul, m);
}

/* `rows` plain rows (rows <= 4) of up to 32 columns in registers: one
 * masked load per vector, e_j = exp(x_j - m), rest = sum_{j != t} e_j in
 * double, e_t taken from its lane (the vector exp is within ~1 float ulp, so
 * log1p(rest / e_t) keeps ~1e-7 relative error however small the loss; an
 * e_t near float underflow is recomputed in double), the gradient e_j k
 * stored from registers, the target entry as the long path forms it. Row r
 * is x + r ldx with target t[r], coefficient a[r], gradient grad + r ldg (or
 * none), loss loss[r]. Each row's arithmetic is the same whatever `rows` is;
 * more rows interleave independent rows so that their latency chains (the
 * horizontal sums, divisions and the logarithm) overlap. False, with nothing
 * written, when some row is an edge row or has |m| > 2^24: the general path
 * takes those, row by row. */
static inline __attribute__((always_inline)) bool
plain_short_rows_f32(int rows, size_t n, const float *x, size_t ldx, const size_t *t,
                     const double *a, float *grad, size_t ldg, double grad_mul, int vectors,
                     double *loss)
{
    __m256 v[4][4], e[4][4];
    __m256i mask[4][4];
    float m[4], x_t[4];
    double rest[4];
    for (int r = 0; r < rows; r++) {
        const float *x_row = x + (size_t)r * ldx;
        x_t[r] = x_row[t[r]]; /* grad may be x: read before any store */
        m[r] = lb_short_load_max_f32(n, x_row, vectors, v[r], mask[r]);
        if (!(fabsf(m[r]) <= 0x1p24f) || isnan(x_t[r])) return false;
    }
    const __m256i step = _mm256_set1_epi32(8);
    __m256 target_vector[4];
    for (int r = 0; r < rows; r++) {
        const __m256 vm = _mm256_set1_ps(m[r]), minus_m = _mm256_set1_ps(-m[r]);
        const __m256 floor = _mm256_set1_ps(lb_exp_floor_moderate_f32(m[r]));
        const __m256i target = _mm256_set1_epi32((int32_t)t[r]);
        __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        target_vector[r] = _mm256_setzero_ps();
        for (int k = 0; k < vectors; k++) {
            e[r][k] = lb_short_exp_f32(v[r][k], mask[r][k], vm, minus_m, floor);
            __m256 is_target = _mm256_castsi256_ps(_mm256_cmpeq_epi32(idx, target));
            lb_acc_f32_in_f64(&lo, &hi, _mm256_andnot_ps(is_target, e[r][k]));
            if (t[r] / 8 == (size_t)k) target_vector[r] = e[r][k];
            idx = _mm256_add_epi32(idx, step);
        }
        rest[r] = lb_hsum_f64(_mm256_add_pd(lo, hi));
    }
    for (int r = 0; r < rows; r++) {
        float *g = grad ? grad + (size_t)r * ldg : NULL;
        if (isnan(rest[r])) { /* a NaN entry */
            if (g) lb_avx2_fill_f32(n, g, NAN);
            loss[r] = NAN;
            continue;
        }
        double shifted_t = (double)x_t[r] - (double)m[r];
        double e_t = shifted_t > -80.0
                         ? (double)_mm256_cvtss_f32(_mm256_permutevar8x32_ps(
                               target_vector[r], _mm256_set1_epi32((int32_t)(t[r] % 8))))
                         : exp(shifted_t);
        double s = rest[r] + e_t;
        if (g) {
            const __m256 vk = _mm256_set1_ps((float)(a[r] * grad_mul / s));
            for (int k = 0; k < vectors; k++) lb_short_store_f32(n, g, k, _mm256_mul_ps(e[r][k], vk));
            double p_t = e_t / s;
            g[t[r]] = (float)((p_t * a[r] - a[r]) * grad_mul);
        }
        loss[r] = lb_xent_plain_loss(a[r], rest[r], e_t, shifted_t);
    }
    return true;
}

/* Four plain rows of up to LB_ROW_GROUP_MAX_COLS columns (the table's
 * xent_plain_rows4 slot): the same bits as four lb_avx2_xent_row_f32 calls
 * (a group with an edge row is done row by row). */
void lb_avx2_xent_plain_rows4_f32(size_t n, const float *x, size_t ldx, const size_t *targets,
                                  const double *target_coefs, float *grad, size_t ld_grad,
                                  double grad_mul, double *losses)
{
    bool done = false;
    if (n <= 8)
        done = plain_short_rows_f32(4, n, x, ldx, targets, target_coefs, grad, ld_grad, grad_mul,
                                    1, losses);
    else if (n <= 16)
        done = plain_short_rows_f32(4, n, x, ldx, targets, target_coefs, grad, ld_grad, grad_mul,
                                    2, losses);
    if (done) return;
    for (size_t r = 0; r < 4; r++) {
        lb_xent_coef_f32 coef = {.target = targets[r], .target_coef = target_coefs[r]};
        losses[r] = lb_avx2_xent_row_f32(n, x + r * ldx, &coef, grad ? grad + r * ld_grad : NULL,
                                         grad_mul);
    }
}

/* A plain row longer than LB_CACHED_ROW_BYTES in chunks (rows_avx2.h), the
 * given sweeps (AVX2 here, AVX-512 in xent_avx512.c): e_j = exp(x_j - m_c)
 * stored into grad, the target left out of rest. The chunks write as they
 * go, so rows for the reference are told first: by a maximum sweep when
 * the gradient may overwrite x, otherwise by the chunk sweeps themselves. */
double lb_long_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef, float *grad,
                            double grad_mul, const lb_chunk_sweeps_f32 *sweeps)
{
    size_t t = coef->target;
    double a = coef->target_coef;
    float x_t = x[t], lo; /* grad may be x: keep the target logit */
    if (grad && (lb_avx2_classify_f32(n, x, sweeps->max_min(n, x, &lo)) != AVX2_ROW_FINITE ||
                 isnan(x_t)))
        return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
    lb_long_row_f32 row;
    enum avx2_row_kind kind = lb_long_row_exp_f32(n, x, grad, t, &row, sweeps);
    if (kind == AVX2_ROW_NAN && grad) { /* a NaN under a finite maximum */
        lb_avx2_fill_f32(n, grad, NAN);
        return NAN;
    }
    if (kind != AVX2_ROW_FINITE || isnan(x_t) || !(x_t <= row.m))
        return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
    double shifted_t = (double)x_t - (double)row.m;
    double e_t = exp(shifted_t);
    double s = row.s + e_t;
    if (grad) {
        lb_long_row_scale_f32(n, grad, &row, a * grad_mul / s, sweeps);
        grad[t] = (float)((e_t / s * a - a) * grad_mul);
    }
    return lb_xent_plain_loss(a, row.s, e_t, shifted_t);
}

double lb_avx2_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef, float *grad,
                            double grad_mul)
{
    if (!plain_f32(coef)) return general_xent_row_f32(n, x, coef, grad, grad_mul);
    size_t t = coef->target;
    double a = coef->target_coef;
    double short_loss;
    bool short_done = false;
    switch ((n + 7) / 8) {
    case 1: short_done = plain_short_rows_f32(1, n, x, n, &t, &a, grad, n, grad_mul, 1, &short_loss); break;
    case 2: short_done = plain_short_rows_f32(1, n, x, n, &t, &a, grad, n, grad_mul, 2, &short_loss); break;
    case 3: short_done = plain_short_rows_f32(1, n, x, n, &t, &a, grad, n, grad_mul, 3, &short_loss); break;
    case 4: short_done = plain_short_rows_f32(1, n, x, n, &t, &a, grad, n, grad_mul, 4, &short_loss); break;
    default: break;
    }
    if (short_done) return short_loss;
    if (n * sizeof(float) > LB_CACHED_ROW_BYTES)
        return lb_long_xent_row_f32(n, x, coef, grad, grad_mul, &lb_avx2_chunk_sweeps);
    float x_t = x[t]; /* grad may be x: keep the target logit */
    float lo, m = lb_avx2_row_max_min_f32(n, x, &lo);
    if (lb_avx2_classify_f32(n, x, m) != AVX2_ROW_FINITE || isnan(x_t))
        return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
    /* the sum around the target, e_j stored into grad; the next row's
     * logits fetched as it goes */
    const float *ahead = next_row_f32(x, n);
    double rest = lb_avx2_sum_exp_lo_ahead_f32(t, x, m, lo, grad, ahead) +
                  lb_avx2_sum_exp_lo_ahead_f32(n - t - 1, x + t + 1, m, lo, grad ? grad + t + 1 : NULL,
                                               ahead ? ahead + t + 1 : NULL);
    if (isnan(rest)) { /* a NaN entry (x may already be overwritten: decide here) */
        if (grad) lb_avx2_fill_f32(n, grad, NAN);
        return NAN;
    }
    double shifted_t = (double)x_t - (double)m;
    double e_t = exp(shifted_t);
    double s = rest + e_t;
    if (grad) {
        lb_avx2_scale_f32(n, grad, (float)(a * grad_mul / s));
        double p_t = e_t / s;
        grad[t] = (float)((p_t * a - a) * grad_mul);
    }
    return lb_xent_plain_loss(a, rest, e_t, shifted_t);
}

double lb_avx2_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                            double *grad, double grad_mul)
{
    if (!plain_f64(coef)) return general_xent_row_f64(n, x, coef, grad, grad_mul);
    size_t t = coef->target;
    double a = coef->target_coef;
    double x_t = x[t];
    double m, rest;
    bool cached = n * sizeof(double) <= LB_CACHED_ROW_BYTES;
    if (cached) {
        m = lb_avx2_row_max_f64(n, x);
        if (lb_avx2_classify_f64(n, x, m) != AVX2_ROW_FINITE || isnan(x_t))
            return lb_ref_xent_row_f64(n, x, coef, grad, grad_mul);
        const double *ahead = next_row_f64(x, n); /* fetched during the sums */
        rest = lb_avx2_sum_exp_ahead_f64(t, x, m, grad, ahead) +
               lb_avx2_sum_exp_ahead_f64(n - t - 1, x + t + 1, m, grad ? grad + t + 1 : NULL,
                                         ahead ? ahead + t + 1 : NULL);
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
    return lb_xent_plain_loss(a, rest, e_t, shifted_t);
}

/* ---- target scan ------------------------------------------------------- */

/* max_j |v_j| as lb_ref_abs_max: the unsigned maximum of the bit patterns
 * with the sign cleared, four vectors in flight, the tail masked (zeros).
 * f64 compares signed 64-bit lanes (AVX2 has no unsigned 64-bit maximum),
 * which order the same once the sign bit is clear. */
double lb_avx2_abs_max_f32(size_t n, const float *v)
{
    const __m256i magnitude = _mm256_set1_epi32(0x7fffffff);
    __m256i top[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    size_t j = 0;
    for (; j + 32 <= n; j += 32)
        for (int k = 0; k < 4; k++)
            top[k] = _mm256_max_epu32(top[k], _mm256_and_si256(magnitude,
                                                               _mm256_loadu_si256((const __m256i *)(v + j + 8 * k))));
    for (; j < n; j += 8) {
        __m256i mask = lb_tail_mask_f32(n - j < 8 ? n - j : 8);
        top[0] = _mm256_max_epu32(top[0], _mm256_and_si256(magnitude, _mm256_maskload_epi32((const int *)(v + j), mask)));
    }
    __m256i t = _mm256_max_epu32(_mm256_max_epu32(top[0], top[1]), _mm256_max_epu32(top[2], top[3]));
    __m128i h = _mm_max_epu32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    h = _mm_max_epu32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
    h = _mm_max_epu32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
    return (double)_mm_cvtss_f32(_mm_castsi128_ps(h));
}

static inline __attribute__((always_inline)) __m256i max_epi64_avx2(__m256i a, __m256i b)
{
    return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(b, a));
}

double lb_avx2_abs_max_f64(size_t n, const double *v)
{
    const __m256i magnitude = _mm256_set1_epi64x(0x7fffffffffffffffLL);
    __m256i top[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 4; k++)
            top[k] = max_epi64_avx2(top[k], _mm256_and_si256(magnitude,
                                                             _mm256_loadu_si256((const __m256i *)(v + j + 4 * k))));
    for (; j < n; j += 4) {
        __m256i mask = lb_tail_mask_f64(n - j < 4 ? n - j : 4);
        top[0] = max_epi64_avx2(top[0], _mm256_and_si256(magnitude, _mm256_maskload_epi64((const long long *)(v + j), mask)));
    }
    __m256i t = max_epi64_avx2(max_epi64_avx2(top[0], top[1]), max_epi64_avx2(top[2], top[3]));
    uint64_t lanes[4], best = 0;
    _mm256_storeu_si256((__m256i *)lanes, t);
    for (int k = 0; k < 4; k++) best = lanes[k] > best ? lanes[k] : best;
    double result;
    memcpy(&result, &best, sizeof result);
    return result;
}
