/*
 * xent_avx512.c - AVX-512 cross-entropy row kernel (f32).
 *
 * Plain sparse rows (no class weights, no smoothing, no dense targets) that
 * stay in cache take the AVX2 kernel's algorithm (xent_avx2.c) with the
 * AVX-512 sweeps: maximum and minimum, rest = sum_{j != t} exp(x_j - m) with
 * e_j stored into the gradient row, the row scaled by w_t grad_mul / s and
 * the target entry recomputed in double. Rows of up to 16 classes are one
 * vector each in registers, four rows at a time through the
 * xent_plain_rows4 slot. Rows with general coefficients (class weights with
 * smoothing, dense targets) take the AVX2 kernel's sweeps in 16 lanes
 * ("general coefficients" below). Plain rows of 17 to 32 classes, long
 * plain rows and rows with huge logits are the AVX2 kernel's; rows the
 * reference must take (NaN, infinities) go there directly. f64: rows of 33
 * entries or more, plain ones when they stay in cache, general ones at any
 * length (the rest: AVX2).
 */
#include "internal.h"
#include "exp_avx512.h"
#include "rows_avx2.h"
#include "rows_avx512.h"

#include <math.h>

/* ---- general coefficients ---------------------------------------------- */

/* Rows with class weights and label smoothing, or dense targets: the AVX2
 * kernel's sweeps (xent_avx2.c, "General coefficients", which gives the
 * formulas) sixteen lanes at a time, tails masked. a_j = w_j (tc t_j + sc)
 * is formed as there (the same bits); the exp terms below the maximum are
 * widened to double vector by vector, A = sum a_j and D = sum a_j (x_j - m)
 * accumulate in double lanes, all folded every 512 entries. */
typedef struct xent_sums512 {
    double rest, ties, coef_sum, coef_dot;
} xent_sums512;

LB_ALWAYS_INLINE __m512 coef16(const lb_xent_coef_f32 *c, size_t j, __m512i idx, __m512i tgt,
                               __m512 tc, __m512 sc, __mmask16 mask, bool dense, bool weighted)
{
    __m512 t = dense ? _mm512_maskz_loadu_ps(mask, c->dense_targets + j)
                     : _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(idx, tgt), _mm512_set1_ps(1.0f));
    __m512 a = _mm512_fmadd_ps(tc, t, sc);
    if (weighted) a = _mm512_mul_ps(a, _mm512_maskz_loadu_ps(mask, c->weights + j));
    return _mm512_maskz_mov_ps(mask, a);
}

/* 16 lanes widened to double: dot += a (x - m), coef += a */
LB_ALWAYS_INLINE void acc_coef_dot16(__m512d *coef, __m512d *dot, __m512 a, __m512 x, __m512d m)
{
    __m512d a_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    __m512d a_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m512d x_lo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)), m);
    __m512d x_hi = _mm512_sub_pd(
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))), m);
    *coef = _mm512_add_pd(*coef, _mm512_add_pd(a_lo, a_hi));
    *dot = _mm512_fmadd_pd(a_hi, x_hi, _mm512_fmadd_pd(a_lo, x_lo, *dot));
}

/* Sweep 1: e_j stored into e_out (may be x), rest, ties, A, D. ahead[k]
 * (each may be NULL): n entries the caller reads or writes next (the next
 * row's logits, targets and gradient), fetched into L2 a line per 16
 * entries as the sweep goes, so the fetches overlap the arithmetic. */
LB_ALWAYS_INLINE xent_sums512 general_sweep(size_t n, const float *x, const lb_xent_coef_f32 *c,
                                            float m, float *e_out, bool dense, bool weighted,
                                            const float *const ahead[3])
{
    const __m512 vm = _mm512_set1_ps(m), minus_m = _mm512_set1_ps(-m);
    const __m512 floor = _mm512_set1_ps(lb_exp_floor_f32(m));
    const __m512d m_d = _mm512_set1_pd(m), zero = _mm512_setzero_pd();
    const __m512 tc = _mm512_set1_ps((float)c->target_coef), sc = _mm512_set1_ps((float)c->smooth_coef);
    const __m512i tgt = _mm512_set1_epi32(dense ? -1 : (int32_t)c->target);
    const __m512i step = _mm512_set1_epi32(16);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512d rest = zero, coef = zero, dot = zero, r_lo = zero, r_hi = zero, a_sum = zero, d_sum = zero;
    int64_t ties = 0;
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 mask = lb_mask16(n - j < 16 ? n - j : 16);
        lb_prefetch_ahead3_f32(ahead, j);
        __m512 xv = _mm512_mask_loadu_ps(vm, mask, x + j); /* padding: m, exp 1, masked out */
        __m512 e = _mm512_maskz_mov_ps(
            mask, lb_exp512_shifted_f32(xv, minus_m, floor, true, false, LB_DIFF_TWOSUM));
        if (e_out) _mm512_mask_storeu_ps(e_out + j, mask, e);
        __mmask16 eq = _mm512_mask_cmp_ps_mask(mask, xv, vm, _CMP_EQ_OQ);
        ties += __builtin_popcount(eq);
        __m512 a = coef16(c, j, idx, tgt, tc, sc, mask, dense, weighted);
        __mmask16 nonzero = _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_NEQ_UQ); /* NaN counts */
        lb_acc16_f32_in_f64(&r_lo, &r_hi, _mm512_maskz_mov_ps((__mmask16)~eq, e));
        acc_coef_dot16(&a_sum, &d_sum, a, _mm512_mask_mov_ps(vm, nonzero, xv), m_d);
        idx = _mm512_add_epi32(idx, step);
        if ((j + 16) % 512 == 0 || j + 16 >= n) {
            rest = _mm512_add_pd(rest, _mm512_add_pd(r_lo, r_hi));
            coef = _mm512_add_pd(coef, a_sum);
            dot = _mm512_add_pd(dot, d_sum);
            r_lo = r_hi = a_sum = d_sum = zero;
        }
    }
    return (xent_sums512){lb_hsum512_f64(rest), (double)ties, lb_hsum512_f64(coef),
                          lb_hsum512_f64(dot)};
}

/* Sweep 2: grad_j = (e_j k - a_j) grad_mul from the stored e_j. */
LB_ALWAYS_INLINE void general_grad_sweep(size_t n, const lb_xent_coef_f32 *c, float *grad,
                                         double k, double grad_mul, bool dense, bool weighted)
{
    const __m512 vk = _mm512_set1_ps((float)k), gm = _mm512_set1_ps((float)grad_mul);
    const __m512 tc = _mm512_set1_ps((float)c->target_coef), sc = _mm512_set1_ps((float)c->smooth_coef);
    const __m512i tgt = _mm512_set1_epi32(dense ? -1 : (int32_t)c->target);
    const __m512i step = _mm512_set1_epi32(16);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 mask = lb_mask16(n - j < 16 ? n - j : 16);
        __m512 a = coef16(c, j, idx, tgt, tc, sc, mask, dense, weighted);
        __m512 g = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(mask, grad + j), vk, a);
        _mm512_mask_storeu_ps(grad + j, mask, _mm512_mul_ps(g, gm));
        idx = _mm512_add_epi32(idx, step);
    }
}

LB_ALWAYS_INLINE double general_row_impl(size_t n, const float *x, const lb_xent_coef_f32 *c,
                                         float *grad, double grad_mul, float m, bool dense,
                                         bool weighted)
{
    /* the next row's arrays: fetched during the sweep (a burst of one
     * prefetch per line before it waited for free fill buffers) */
    const float *ahead[3];
    lb_next_rows3_f32(n, x, dense ? c->dense_targets : NULL, grad, ahead);
    xent_sums512 u = general_sweep(n, x, c, m, grad, dense, weighted, ahead);
    if (isnan(u.rest)) { /* a NaN entry (x may already be overwritten: decide here) */
        if (grad) lb_avx2_fill_f32(n, grad, NAN);
        return NAN;
    }
    double s_minus_one = u.rest + (u.ties - 1.0), s = 1.0 + s_minus_one;
    double loss = u.coef_sum * lb_log1p_nonneg(s_minus_one) - u.coef_dot;
    if (grad) general_grad_sweep(n, c, grad, u.coef_sum / s, grad_mul, dense, weighted);
    return loss;
}

static double general_row_00(size_t n, const float *x, const lb_xent_coef_f32 *c, float *g, double gm, float m) { return general_row_impl(n, x, c, g, gm, m, false, false); }
static double general_row_01(size_t n, const float *x, const lb_xent_coef_f32 *c, float *g, double gm, float m) { return general_row_impl(n, x, c, g, gm, m, false, true); }
static double general_row_10(size_t n, const float *x, const lb_xent_coef_f32 *c, float *g, double gm, float m) { return general_row_impl(n, x, c, g, gm, m, true, false); }
static double general_row_11(size_t n, const float *x, const lb_xent_coef_f32 *c, float *g, double gm, float m) { return general_row_impl(n, x, c, g, gm, m, true, true); }

/* Edge rows and what the AVX2 kernel sends to the reference go there too;
 * rows with |max| > 2^24 (clamped exp) take the AVX2 kernel. */
static double general_xent_row(size_t n, const float *x, const lb_xent_coef_f32 *c, float *grad,
                               double grad_mul)
{
    float lo, m = lb_avx512_row_max_min_f32(n, x, &lo);
    if (lb_avx2_classify_f32(n, x, m) != AVX2_ROW_FINITE ||
        (!c->dense_targets && n > (size_t)INT32_MAX) || !(fabs(grad_mul) <= 0x1.fffffep127))
        return lb_ref_xent_row_f32(n, x, c, grad, grad_mul);
    if (!(fabsf(m) <= 0x1p24f)) return lb_avx2_xent_row_f32(n, x, c, grad, grad_mul);
    switch ((c->dense_targets != NULL) * 2 + (c->weights != NULL)) {
    case 0: return general_row_00(n, x, c, grad, grad_mul, m);
    case 1: return general_row_01(n, x, c, grad, grad_mul, m);
    case 2: return general_row_10(n, x, c, grad, grad_mul, m);
    default: return general_row_11(n, x, c, grad, grad_mul, m);
    }
}

/* The losses of a group of plain rows: a log1p(rest / e_t) (ratio = rest
 * / e_t) with the rows' logarithms in one vector log1p; rows that form it
 * otherwise (zero coefficient, e_t far below double's range) take
 * lb_xent_plain_loss, NaN rows (rest NaN) NaN. */
static inline void group_losses(int rows, const double *a, const double *rest, const double *e_t,
                                const double *shifted_t, const double *ratio, double *loss)
{
    double log1p_ratio[4];
    lb_log1p_nonneg_n(rows, ratio, log1p_ratio);
    for (int r = 0; r < rows; r++) {
        if (isnan(rest[r])) loss[r] = NAN;
        else if (lb_xent_loss_by_log1p(a[r], shifted_t[r])) loss[r] = a[r] * log1p_ratio[r];
        else loss[r] = lb_xent_plain_loss(a[r], rest[r], e_t[r], shifted_t[r]);
    }
}

/* `rows` (<= 4) plain rows of n columns, `vectors` = lb_short_vectors(n)
 * <= 4 each, in registers (one vector: as plain_short_rows_f32 in
 * xent_avx2.c): e_j = exp(x_j - m), rest = sum_{j != t} e_j in double, e_t
 * from its lane (recomputed in double near float underflow), the gradient
 * e_j k stored from the registers, the target entry as the long path forms
 * it; rows of two or more vectors prefetch the next group's rows. Row r is
 * x + r ldx with target t[r], coefficient a[r], gradient grad + r ldg (or
 * none), loss loss[r]. A row's arithmetic does not depend on `rows`.
 * False, with nothing written, when some row is an edge row or has |m| >
 * 2^24. */
LB_ALWAYS_INLINE bool plain_short(int rows, size_t n, const float *x, size_t ldx,
                                  const size_t *t, const double *a, float *grad, size_t ldg,
                                  double grad_mul, double *loss, int vectors)
{
    __m512 v[4][4], e[4][4];
    float m[4], x_t[4];
    double rest[4], e_t_lane[4];
    for (int r = 0; r < rows; r++) {
        const float *x_row = x + (size_t)r * ldx;
        x_t[r] = x_row[t[r]]; /* grad may be x: read before any store */
        m[r] = lb_short_load_max_n(n, x_row, vectors, v[r]);
        if (!(fabsf(m[r]) <= 0x1p24f) || isnan(x_t[r])) return false;
    }
    lb_short_prefetch_next(rows, x, ldx, grad ? grad : x, grad ? ldg : ldx, vectors);
    for (int r = 0; r < rows; r++) {
        __m512d lo = _mm512_setzero_pd(), hi = lo;
        size_t t_vector = t[r] / 16, t_lane = t[r] % 16;
        e_t_lane[r] = 0.0;
        for (int k = 0; k < vectors; k++) {
            e[r][k] = lb_short16_exp(lb_short_lanes(n, k), v[r][k], m[r]);
            __mmask16 rest_lanes = (size_t)k == t_vector ? (__mmask16) ~(1u << t_lane) : (__mmask16)0xffff;
            lb_acc16_f32_in_f64(&lo, &hi, _mm512_maskz_mov_ps(rest_lanes, e[r][k]));
            if ((size_t)k == t_vector)
                e_t_lane[r] = (double)_mm_cvtss_f32(_mm512_castps512_ps128(
                    _mm512_permutexvar_ps(_mm512_set1_epi32((int)t_lane), e[r][k])));
        }
        rest[r] = lb_hsum512_f64(_mm512_add_pd(lo, hi));
    }
    double e_t[4], shifted_t[4], ratio[4];
    for (int r = 0; r < rows; r++) {
        float *g = grad ? grad + (size_t)r * ldg : NULL;
        ratio[r] = e_t[r] = shifted_t[r] = 0.0; /* unused for a NaN row */
        if (isnan(rest[r])) { /* a NaN entry */
            if (g) lb_avx2_fill_f32(n, g, NAN);
            continue;
        }
        shifted_t[r] = (double)x_t[r] - (double)m[r];
        e_t[r] = shifted_t[r] > -80.0 ? e_t_lane[r] : exp(shifted_t[r]);
        double s = rest[r] + e_t[r];
        if (g) {
            const __m512 k_scale = _mm512_set1_ps((float)(a[r] * grad_mul / s));
            for (int k = 0; k < vectors; k++)
                _mm512_mask_storeu_ps(g + 16 * k, lb_mask16(lb_short_lanes(n, k)),
                                      _mm512_mul_ps(e[r][k], k_scale));
            g[t[r]] = (float)((e_t[r] / s * a[r] - a[r]) * grad_mul);
        }
        ratio[r] = rest[r] / e_t[r];
    }
    group_losses(rows, a, rest, e_t, shifted_t, ratio, loss);
    return true;
}

/* `rows` (<= 4) plain rows of 16 < n <= LB_MEDIUM_ROW_F32 columns, their
 * sweeps interleaved as the softmax groups (lb_medium_max_min); a row's
 * arithmetic does not depend on `rows`. Per row: e_j = exp(x_j - m) (into
 * the gradient row when there is one), rest = sum_{j != t} e_j with every
 * vector widened into double lanes (rest keeps its relative precision
 * beside a dominant target), e_t from its lane (recomputed in double near
 * float underflow), the loss a log1p(rest / e_t) with the group's
 * logarithms in one vector, the gradient e_j k scaled in place and its
 * target entry as the long path forms it; arguments as plain_short
 * (plain_medium: false, with nothing written, for an edge row or
 * |m| > 2^24). */
LB_ALWAYS_INLINE void plain_medium_sweeps(int rows, size_t n, const float *x, size_t ldx,
                                          const size_t *t, const double *a, float *grad,
                                          size_t ldg, double grad_mul, double *loss,
                                          const lb_medium_rows *g, const float *x_t,
                                          bool floored, enum lb_diff_mode mode)
{
    const size_t full = n / 16;
    const __mmask16 tail = lb_mask16(n % 16);
    __m512 vm[4], minus_m[4], floor[4], e_t_lane[4];
    __m512d acc_lo[4], acc_hi[4];
    for (int r = 0; r < rows; r++) {
        vm[r] = _mm512_set1_ps(g->m[r]);
        minus_m[r] = _mm512_set1_ps(-g->m[r]);
        floor[r] = _mm512_set1_ps(g->floor[r]);
        e_t_lane[r] = _mm512_setzero_ps();
        acc_lo[r] = acc_hi[r] = _mm512_setzero_pd();
    }
#define ROW_TERMS(r, v, in_row)                                                               \
    do {                                                                                      \
        const float *at = x + (size_t)(r) * ldx + 16 * (v);                                   \
        __m512 e = _mm512_maskz_mov_ps(in_row, lb_exp512_shifted_f32(                         \
                                                   _mm512_mask_loadu_ps(vm[r], in_row, at),   \
                                                   minus_m[r], floor[r], floored, false, mode)); \
        if (grad) _mm512_mask_storeu_ps(grad + (size_t)(r) * ldg + 16 * (v), in_row, e);      \
        __mmask16 target = t[r] / 16 == (v) ? (__mmask16)(1u << (t[r] % 16)) : 0;            \
        e_t_lane[r] = _mm512_mask_mov_ps(e_t_lane[r], target, e);                             \
        lb_acc16_f32_in_f64(&acc_lo[r], &acc_hi[r], _mm512_maskz_mov_ps((__mmask16)~target, e)); \
    } while (0)
    for (size_t v = 0; v < full; v++)
        for (int r = 0; r < rows; r++) ROW_TERMS(r, v, (__mmask16)0xffff);
    if (tail)
        for (int r = 0; r < rows; r++) ROW_TERMS(r, full, tail);
#undef ROW_TERMS
    double rest[4], e_t[4], shifted_t[4], ratio[4];
    for (int r = 0; r < rows; r++) {
        rest[r] = lb_hsum512_f64(_mm512_add_pd(acc_lo[r], acc_hi[r]));
        ratio[r] = 0.0;
        float *gr = grad ? grad + (size_t)r * ldg : NULL;
        if (isnan(rest[r])) { /* a NaN entry */
            if (gr) lb_avx2_fill_f32(n, gr, NAN);
            continue;
        }
        shifted_t[r] = (double)x_t[r] - (double)g->m[r];
        e_t[r] = shifted_t[r] > -80.0
                     ? (double)_mm_cvtss_f32(_mm512_castps512_ps128(_mm512_permutexvar_ps(
                           _mm512_set1_epi32((int)(t[r] % 16)), e_t_lane[r])))
                     : exp(shifted_t[r]);
        double s = rest[r] + e_t[r];
        if (gr) {
            const __m512 vk = _mm512_set1_ps((float)(a[r] * grad_mul / s));
            for (size_t v = 0; v < full; v++)
                _mm512_storeu_ps(gr + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(gr + 16 * v), vk));
            if (tail)
                _mm512_mask_storeu_ps(gr + 16 * full, tail,
                                      _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, gr + 16 * full), vk));
            gr[t[r]] = (float)((e_t[r] / s * a[r] - a[r]) * grad_mul);
        }
        ratio[r] = rest[r] / e_t[r];
    }
    group_losses(rows, a, rest, e_t, shifted_t, ratio, loss);
}

LB_ALWAYS_INLINE bool plain_medium(int rows, size_t n, const float *x, size_t ldx,
                                   const size_t *t, const double *a, float *grad, size_t ldg,
                                   double grad_mul, double *loss)
{
    float x_t[4];
    for (int r = 0; r < rows; r++) {
        x_t[r] = x[(size_t)r * ldx + t[r]]; /* grad may be x: read before any store */
        if (isnan(x_t[r])) return false;
    }
    lb_medium_rows g;
    if (!lb_medium_max_min(rows, n, x, ldx, grad ? grad : x, grad ? ldg : ldx, &g)) return false;
#define SWEEPS(floored, mode) \
    plain_medium_sweeps(rows, n, x, ldx, t, a, grad, ldg, grad_mul, loss, &g, x_t, floored, mode)
    LB_MEDIUM_DISPATCH(g, SWEEPS);
#undef SWEEPS
    return true;
}

double lb_avx512_xent_row_f32(size_t n, const float *x, const lb_xent_coef_f32 *coef,
                              float *grad, double grad_mul)
{
    bool plain = !coef->dense_targets && !coef->weights && coef->smooth_coef == 0.0;
    double short_loss;
    if (plain && n <= LB_SHORT4_ROW_F32_AVX512 &&
        LB_SHORT_SWITCH(n, plain_short, 1, n, x, n, &coef->target, &coef->target_coef, grad, n,
                        grad_mul, &short_loss))
        return short_loss;
    if (plain && n > LB_SHORT4_ROW_F32_AVX512 && n <= LB_MEDIUM_ROW_F32 &&
        plain_medium(1, n, x, n, &coef->target, &coef->target_coef, grad, n, grad_mul, &short_loss))
        return short_loss;
    if (!plain) return general_xent_row(n, x, coef, grad, grad_mul);
    if (n * sizeof(float) > LB_CACHED_ROW_BYTES)
        return lb_long_xent_row_f32(n, x, coef, grad, grad_mul, &lb_avx512_chunk_sweeps);
    if (n <= LB_SHORT_ROW_F32) return lb_avx2_xent_row_f32(n, x, coef, grad, grad_mul);
    size_t t = coef->target;
    double a = coef->target_coef;
    float x_t = x[t]; /* grad may be x: keep the target logit */
    float lo, m = lb_avx512_row_max_min_f32(n, x, &lo);
    if (lb_avx2_classify_f32(n, x, m) != AVX2_ROW_FINITE || isnan(x_t))
        return lb_ref_xent_row_f32(n, x, coef, grad, grad_mul);
    if (!(fabsf(m) <= 0x1p24f)) return lb_avx2_xent_row_f32(n, x, coef, grad, grad_mul);
    const float *ahead = n * sizeof(float) <= LB_PREFETCH_ROW_BYTES ? x + n : NULL;
    /* e_t first: its exp then runs beside the sweeps, off the row's chain */
    double shifted_t = (double)x_t - (double)m;
    double e_t = exp(shifted_t);
    /* A target below the maximum leaves the maximum's exp(0) = 1 in rest:
     * the split sums' absolute error is then below 2^-29 of rest, as for a
     * softmax normalizer, though one of the two parts may be tiny. A target
     * at the maximum may leave rest tiny: double lanes throughout. */
    bool rest_has_one = x_t < m;
    double rest = lb_avx512_sum_exp_lo_f32(t, x, m, lo, grad, ahead, rest_has_one) +
                  lb_avx512_sum_exp_lo_f32(n - t - 1, x + t + 1, m, lo, grad ? grad + t + 1 : NULL,
                                           ahead ? ahead + t + 1 : NULL, rest_has_one);
    if (isnan(rest)) { /* a NaN entry (x may already be overwritten: decide here) */
        if (grad) lb_avx2_fill_f32(n, grad, NAN);
        return NAN;
    }
    double s = rest + e_t;
    if (grad) {
        float k = (float)(a * grad_mul / s), g_t = (float)((e_t / s * a - a) * grad_mul);
        lb_avx512_scale_f32(n, grad, k);
        grad[t] = g_t;
    }
    return lb_xent_plain_loss(a, rest, e_t, shifted_t);
}

/* Four plain rows (the table's xent_plain_rows4 slot): in registers up to
 * 64 columns, interleaved sweeps up to LB_MEDIUM_ROW_F32; the same bits
 * as four lb_avx512_xent_row_f32 calls (a group with an edge row, or of
 * longer rows, is done row by row). */
/* Each kind of group in a function of its own (as the softmax groups). */
static LB_NOINLINE bool plain_short_group(size_t n, const float *x, size_t ldx, const size_t *t,
                                          const double *a, float *grad, size_t ldg,
                                          double grad_mul, double *loss)
{
    return LB_SHORT_SWITCH(n, plain_short, 4, n, x, ldx, t, a, grad, ldg, grad_mul, loss);
}
static LB_NOINLINE bool plain_medium_group(size_t n, const float *x, size_t ldx, const size_t *t,
                                           const double *a, float *grad, size_t ldg,
                                           double grad_mul, double *loss)
{
    return plain_medium(4, n, x, ldx, t, a, grad, ldg, grad_mul, loss);
}
void lb_avx512_xent_plain_rows4_f32(size_t n, const float *x, size_t ldx, const size_t *targets,
                                    const double *target_coefs, float *grad, size_t ld_grad,
                                    double grad_mul, double *losses)
{
    if (n <= LB_SHORT4_ROW_F32_AVX512
            ? plain_short_group(n, x, ldx, targets, target_coefs, grad, ld_grad, grad_mul, losses)
            : n <= LB_MEDIUM_ROW_F32 &&
                  plain_medium_group(n, x, ldx, targets, target_coefs, grad, ld_grad, grad_mul, losses))
        return;
    for (size_t r = 0; r < 4; r++) {
        lb_xent_coef_f32 coef = {.target = targets[r], .target_coef = target_coefs[r]};
        losses[r] = lb_avx512_xent_row_f32(n, x + r * ldx, &coef, grad ? grad + r * ld_grad : NULL,
                                           grad_mul);
    }
}

/* ---- f64 ---------------------------------------------------------------- */

/* f64 rows with general coefficients (class weights with smoothing, dense
 * targets), as xent_sweep_f64 / xent_grad_sweep_f64 in xent_avx2.c form
 * them, eight lanes at a time with masked tails: a_j = w_j (tc t_j + sc),
 * e_j = exp(x_j - m) stored into the gradient row, rest = sum of e_j off
 * the maximum, ties, A = sum a_j, D = sum_{a_j != 0} a_j (x_j - m), folded
 * every FOLD_VECTORS_F64_XENT vectors; then grad_j = (e_j A / s - a_j)
 * grad_mul. */
#define FOLD_VECTORS_F64_XENT 64

LB_ALWAYS_INLINE __m512d coef8_f64(const lb_xent_coef_f64 *c, size_t j, __m512i idx, __m512i tgt,
                                   __m512d tc, __m512d sc, __mmask8 mask, bool dense,
                                   bool weighted)
{
    __m512d t = dense ? _mm512_maskz_loadu_pd(mask, c->dense_targets + j)
                      : _mm512_maskz_mov_pd(_mm512_cmpeq_epi64_mask(idx, tgt), _mm512_set1_pd(1.0));
    __m512d a = _mm512_fmadd_pd(tc, t, sc);
    if (weighted) a = _mm512_mul_pd(a, _mm512_maskz_loadu_pd(mask, c->weights + j));
    return _mm512_maskz_mov_pd(mask, a);
}

LB_ALWAYS_INLINE double general_row_f64_impl(size_t n, const double *x,
                                             const lb_xent_coef_f64 *c, double *grad,
                                             double grad_mul, double m, bool dense, bool weighted)
{
    const __m512d vm = _mm512_set1_pd(m), zero = _mm512_setzero_pd();
    const __m512d tc = _mm512_set1_pd(c->target_coef), sc = _mm512_set1_pd(c->smooth_coef);
    const __m512i tgt = _mm512_set1_epi64(dense ? -1 : (int64_t)c->target);
    const __m512i step = _mm512_set1_epi64(8);
    __m512i idx = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    __m512d rest = zero, coef = zero, dot = zero, r0 = zero, a0 = zero, d0 = zero;
    int64_t ties = 0;
    size_t since_fold = 0;
    /* the next row's arrays, a line per 8 entries during the sweep (as
     * general_sweep) */
    const double *ahead[3];
    lb_next_rows3_f64(n, x, dense ? c->dense_targets : NULL, grad, ahead);
    for (size_t j = 0; j < n; j += 8) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j < 8 ? n - j : 8);
        lb_prefetch_ahead3_f64(ahead, j);
        __m512d xv = _mm512_maskz_loadu_pd(mask, x + j);
        __m512d e = _mm512_maskz_mov_pd(mask, lb_exp512_shifted_f64(xv, vm));
        if (grad) _mm512_mask_storeu_pd(grad + j, mask, e);
        __mmask8 eq = _mm512_mask_cmp_pd_mask(mask, xv, vm, _CMP_EQ_OQ);
        ties += __builtin_popcount(eq);
        __m512d a = coef8_f64(c, j, idx, tgt, tc, sc, mask, dense, weighted);
        __mmask8 nonzero = _mm512_cmp_pd_mask(a, zero, _CMP_NEQ_UQ); /* NaN counts */
        r0 = _mm512_add_pd(r0, _mm512_maskz_mov_pd((__mmask8)~eq, e));
        a0 = _mm512_add_pd(a0, a);
        d0 = _mm512_add_pd(d0, _mm512_maskz_mov_pd(nonzero, _mm512_mul_pd(a, _mm512_sub_pd(xv, vm))));
        idx = _mm512_add_epi64(idx, step);
        if (++since_fold == FOLD_VECTORS_F64_XENT || j + 8 >= n) {
            rest = _mm512_add_pd(rest, r0);
            coef = _mm512_add_pd(coef, a0);
            dot = _mm512_add_pd(dot, d0);
            r0 = a0 = d0 = zero;
            since_fold = 0;
        }
    }
    double rest_sum = lb_hsum512_f64(rest), coef_sum = lb_hsum512_f64(coef);
    if (isnan(rest_sum)) { /* a NaN entry (x may already be overwritten: decide here) */
        if (grad) lb_avx2_fill_f64(n, grad, NAN);
        return NAN;
    }
    double s_minus_one = rest_sum + ((double)ties - 1.0), s = 1.0 + s_minus_one;
    double loss = coef_sum * lb_log1p_nonneg(s_minus_one) - lb_hsum512_f64(dot);
    if (grad) {
        const __m512d vk = _mm512_set1_pd(coef_sum / s), gm = _mm512_set1_pd(grad_mul);
        idx = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
        for (size_t j = 0; j < n; j += 8) {
            __mmask8 mask = (__mmask8)lb_mask16(n - j < 8 ? n - j : 8);
            __m512d a = coef8_f64(c, j, idx, tgt, tc, sc, mask, dense, weighted);
            __m512d g = _mm512_fmsub_pd(_mm512_maskz_loadu_pd(mask, grad + j), vk, a);
            _mm512_mask_storeu_pd(grad + j, mask, _mm512_mul_pd(g, gm));
            idx = _mm512_add_epi64(idx, step);
        }
    }
    return loss;
}

static double general_row_f64_00(size_t n, const double *x, const lb_xent_coef_f64 *c, double *g, double gm, double m) { return general_row_f64_impl(n, x, c, g, gm, m, false, false); }
static double general_row_f64_01(size_t n, const double *x, const lb_xent_coef_f64 *c, double *g, double gm, double m) { return general_row_f64_impl(n, x, c, g, gm, m, false, true); }
static double general_row_f64_10(size_t n, const double *x, const lb_xent_coef_f64 *c, double *g, double gm, double m) { return general_row_f64_impl(n, x, c, g, gm, m, true, false); }
static double general_row_f64_11(size_t n, const double *x, const lb_xent_coef_f64 *c, double *g, double gm, double m) { return general_row_f64_impl(n, x, c, g, gm, m, true, true); }

/* Edge rows go to the reference, as general_xent_row_f64 in xent_avx2.c
 * sends them; any row length (the sweeps stream through the row twice). */
static double general_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *c,
                                   double *grad, double grad_mul)
{
    double m = lb_avx512_row_max_f64(n, x);
    if (lb_avx2_classify_f64(n, x, m) != AVX2_ROW_FINITE)
        return lb_ref_xent_row_f64(n, x, c, grad, grad_mul);
    switch ((c->dense_targets != NULL) * 2 + (c->weights != NULL)) {
    case 0: return general_row_f64_00(n, x, c, grad, grad_mul, m);
    case 1: return general_row_f64_01(n, x, c, grad, grad_mul, m);
    case 2: return general_row_f64_10(n, x, c, grad, grad_mul, m);
    default: return general_row_f64_11(n, x, c, grad, grad_mul, m);
    }
}

/* Plain f64 rows that stay in cache, as lb_avx2_xent_row_f64 forms them:
 * rest = sum_{j != t} exp(x_j - m) with e_j stored into the gradient row
 * (eight lanes: the AVX2 exp bits, sums grouped differently), the row
 * scaled by a grad_mul / s, the target entry (p_t a - a) grad_mul. Other
 * rows (weights, smoothing, dense targets, long rows) and edge rows go to
 * the AVX2 kernel, which hands edge rows to the reference. */
double lb_avx512_xent_row_f64(size_t n, const double *x, const lb_xent_coef_f64 *coef,
                              double *grad, double grad_mul)
{
    /* rows of up to 32 entries: AVX2 (the two masked sweeps around the
     * target cost more than they save there: 1024 x 10 took 72-85 us against
     * AVX2's 64-71); long plain rows: AVX2's online passes */
    bool plain = !coef->dense_targets && !coef->weights && coef->smooth_coef == 0.0;
    if (n <= 32 || (plain && n * sizeof(double) > LB_CACHED_ROW_BYTES))
        return lb_avx2_xent_row_f64(n, x, coef, grad, grad_mul);
    if (!plain) return general_xent_row_f64(n, x, coef, grad, grad_mul);
    size_t t = coef->target;
    double a = coef->target_coef;
    double x_t = x[t]; /* grad may be x: keep the target logit */
    double m = lb_avx512_row_max_f64(n, x);
    if (lb_avx2_classify_f64(n, x, m) != AVX2_ROW_FINITE || isnan(x_t))
        return lb_ref_xent_row_f64(n, x, coef, grad, grad_mul);
    const double *ahead = next_row_f64(x, n); /* fetched during the sums */
    double rest = lb_avx512_sum_exp_f64(t, x, m, grad, ahead) +
                  lb_avx512_sum_exp_f64(n - t - 1, x + t + 1, m, grad ? grad + t + 1 : NULL,
                                        ahead ? ahead + t + 1 : NULL);
    if (isnan(rest)) { /* a NaN entry (x may already be overwritten: decide here) */
        if (grad) lb_avx2_fill_f64(n, grad, NAN);
        return NAN;
    }
    double shifted_t = x_t - m;
    double e_t = exp(shifted_t);
    double s = rest + e_t;
    if (grad) {
        lb_avx512_scale_f64(n, grad, a * grad_mul / s);
        grad[t] = (e_t / s * a - a) * grad_mul;
    }
    return lb_xent_plain_loss(a, rest, e_t, shifted_t);
}

/* ---- target scan ------------------------------------------------------- */

/* max_j |v_j| as lb_ref_abs_max: unsigned maxima of the bit patterns with
 * the sign cleared, four vectors in flight, the tail masked (zeros). */
double lb_avx512_abs_max_f32(size_t n, const float *v)
{
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
    __m512i top[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    size_t j = 0;
    for (; j + 64 <= n; j += 64)
        for (int k = 0; k < 4; k++)
            top[k] = _mm512_max_epu32(top[k], _mm512_and_si512(magnitude, _mm512_loadu_si512(v + j + 16 * k)));
    for (; j < n; j += 16) {
        __mmask16 mask = lb_mask16(n - j < 16 ? n - j : 16);
        top[0] = _mm512_max_epu32(top[0], _mm512_and_si512(magnitude, _mm512_maskz_loadu_epi32(mask, v + j)));
    }
    uint32_t best = _mm512_reduce_max_epu32(
        _mm512_max_epu32(_mm512_max_epu32(top[0], top[1]), _mm512_max_epu32(top[2], top[3])));
    float result;
    memcpy(&result, &best, sizeof result);
    return (double)result;
}

double lb_avx512_abs_max_f64(size_t n, const double *v)
{
    const __m512i magnitude = _mm512_set1_epi64(0x7fffffffffffffffLL);
    __m512i top[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    size_t j = 0;
    for (; j + 32 <= n; j += 32)
        for (int k = 0; k < 4; k++)
            top[k] = _mm512_max_epu64(top[k], _mm512_and_si512(magnitude, _mm512_loadu_si512(v + j + 8 * k)));
    for (; j < n; j += 8) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j < 8 ? n - j : 8);
        top[0] = _mm512_max_epu64(top[0], _mm512_and_si512(magnitude, _mm512_maskz_loadu_epi64(mask, v + j)));
    }
    uint64_t best = _mm512_reduce_max_epu64(
        _mm512_max_epu64(_mm512_max_epu64(top[0], top[1]), _mm512_max_epu64(top[2], top[3])));
    double result;
    memcpy(&result, &best, sizeof result);
    return result;
}
