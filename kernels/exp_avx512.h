/*
 * exp_avx512.h - vector exp for the AVX-512 kernels (AVX512F/DQ/VL/BW), and
 * the helpers they share. Included only by files compiled with -mavx512f
 * and friends (CMakeLists.txt).
 *
 * The arithmetic is that of exp_avx2.h, sixteen lanes at a time: the same
 * Cody-Waite reduction, the same degree-6 polynomial evaluated in the same
 * order, so exp(x - m) has the same bits on both paths (tested:
 * test_isa_agreement sum_exp_bits_match_avx2). One step is done differently:
 * AVX2 folds 2^-64 into the polynomial and builds 2^(n + 64) in the exponent
 * field, so that the final product is the only rounding; here VSCALEFPS
 * multiplies the unscaled polynomial by 2^n with that single rounding itself
 * (one instruction instead of a shift and a multiply, any n). Both round the
 * exact p * 2^n once, so the results agree to the bit, subnormals included.
 */
#ifndef LOSSBLAS_EXP_AVX512_H
#define LOSSBLAS_EXP_AVX512_H

#include "exp_avx2.h" /* LB_EXP_F32_LOWEST, lb_diff_mode, floors: scalar helpers */

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define LB_ALWAYS_INLINE static inline __attribute__((always_inline))
#define LB_NOINLINE __attribute__((noinline))

/* exp(t + t_lo) in three stages, as lb_exp_reduce_f32 / lb_exp_poly_f32 /
 * lb_exp_scale_f32: reduction (t, t_lo -> r, n), polynomial (r -> p),
 * scaling (p * 2^n). The magic constant rounds t / ln2 to the integer n. */
typedef struct lb_exp512_reduced_f32 {
    __m512 r; /* reduced argument, |r| <= ln2/2 (plus t_lo) */
    __m512 n; /* round(t / ln2), an integer-valued float */
} lb_exp512_reduced_f32;

LB_ALWAYS_INLINE lb_exp512_reduced_f32 lb_exp512_reduce_f32(__m512 t, __m512 t_lo)
{
    /* 1.5 * 2^23 + 191, exp_avx2.h's constant: the bias and offset it
     * carries there are unused here, but they decide which way a tie rounds,
     * so n (hence r) is the same as on the AVX2 path */
    const __m512 magic = _mm512_set1_ps(12582912.0f + 127.0f + 64.0f);
    lb_exp512_reduced_f32 q;
    __m512 z = _mm512_fmadd_ps(t, _mm512_set1_ps(0x1.715476p+0f), magic);
    q.n = _mm512_sub_ps(z, magic);
    __m512 r = _mm512_fmadd_ps(q.n, _mm512_set1_ps(-0x1.62e430p-1f), t);
    q.r = _mm512_add_ps(r, _mm512_fmadd_ps(q.n, _mm512_set1_ps(0x1.05c610p-29f), t_lo));
    return q;
}

/* The polynomial of lb_exp_poly_f32 without its 2^-64 factor (every
 * coefficient times 2^64, exactly), in the same Estrin-inside-Horner order. */
LB_ALWAYS_INLINE __m512 lb_exp512_poly_f32(__m512 r)
{
    __m512 r2 = _mm512_mul_ps(r, r);
    __m512 s01 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.fffffcp-2f), r, _mm512_set1_ps(1.0f));
    __m512 s34 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555794p-5f), r, _mm512_set1_ps(0x1.55540cp-3f));
    __m512 s56 = _mm512_fmadd_ps(_mm512_set1_ps(0x1.6b4e12p-10f), r, _mm512_set1_ps(0x1.126d24p-7f));
    __m512 s = _mm512_fmadd_ps(_mm512_fmadd_ps(s56, r2, s34), r2, s01);
    return _mm512_fmadd_ps(s, r, _mm512_set1_ps(1.0f));
}

LB_ALWAYS_INLINE __m512 lb_exp512_scale_f32(__m512 p, __m512 n) { return _mm512_scalef_ps(p, n); }

/* The reduction stage of exp(x - m) for a row maximum m (finite), x <= m or
 * NaN, as lb_exp_shifted_reduce_f32: entries raised to `floor` (exp gives
 * exactly 0 below it, -inf included), x - m formed exactly as t + t_lo by
 * TwoSum or Fast2Sum (`mode`, see lb_diff_mode_f32), t clamped at
 * LB_EXP_F32_LOWEST when `clamp` (|m| > 2^24). */
LB_ALWAYS_INLINE lb_exp512_reduced_f32 lb_exp512_shifted_reduce_f32(__m512 x, __m512 minus_m,
                                                                    __m512 floor, bool floored,
                                                                    bool clamp,
                                                                    enum lb_diff_mode mode)
{
    if (floored) x = _mm512_max_ps(floor, x); /* operand order keeps a NaN x */
    __m512 t = _mm512_add_ps(x, minus_m), t_lo;
    if (mode == LB_DIFF_TWOSUM) {
        __m512 x_part = _mm512_sub_ps(t, minus_m);
        __m512 m_part = _mm512_sub_ps(t, x_part);
        t_lo = _mm512_add_ps(_mm512_sub_ps(x, x_part), _mm512_sub_ps(minus_m, m_part));
    } else {
        t_lo = mode == LB_DIFF_FAST_X ? _mm512_sub_ps(minus_m, _mm512_sub_ps(t, x))
                                      : _mm512_sub_ps(x, _mm512_sub_ps(t, minus_m));
    }
    if (clamp) t = _mm512_max_ps(_mm512_set1_ps(LB_EXP_F32_LOWEST), t);
    return lb_exp512_reduce_f32(t, t_lo);
}

LB_ALWAYS_INLINE __m512 lb_exp512_shifted_f32(__m512 x, __m512 minus_m, __m512 floor,
                                              bool floored, bool clamp, enum lb_diff_mode mode)
{
    lb_exp512_reduced_f32 q = lb_exp512_shifted_reduce_f32(x, minus_m, floor, floored, clamp, mode);
    return lb_exp512_scale_f32(lb_exp512_poly_f32(q.r), q.n);
}

/* exp(t) for any float t, as lb_exp_any_f32_avx2 (clamped to [-110, 89],
 * Horner's polynomial in the same order); its two-factor scaling rounds
 * once, as VSCALEFPS does, so the bits agree. */
LB_ALWAYS_INLINE __m512 lb_exp512_any_f32(__m512 t)
{
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    t = _mm512_max_ps(_mm512_set1_ps(LB_EXP_F32_LOWEST), t);
    t = _mm512_min_ps(_mm512_set1_ps(89.0f), t);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(t, _mm512_set1_ps(0x1.715476p+0f), magic), magic);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0x1.62e430p-1f), t);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(0x1.05c610p-29f), r);
    __m512 p = _mm512_set1_ps(0x1.6b4e12p-10f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.126d24p-7f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.555794p-5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.55540cp-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.fffffcp-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* ---- f64 ------------------------------------------------------------- */

/* lb_exp_poly_f64 in eight lanes: the same coefficients, the same Estrin
 * order. */
LB_ALWAYS_INLINE __m512d lb_exp512_poly_f64(__m512d r)
{
    __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2);
    __m512d a = _mm512_fmadd_pd(_mm512_set1_pd(0x1.0000000000011p-1), r, _mm512_set1_pd(1.0));
    __m512d b = _mm512_fmadd_pd(_mm512_set1_pd(0x1.555555554f000p-5), r, _mm512_set1_pd(0x1.555555555555ap-3));
    __m512d c = _mm512_fmadd_pd(_mm512_set1_pd(0x1.6c16c18826db1p-10), r, _mm512_set1_pd(0x1.111111110f1e5p-7));
    __m512d d = _mm512_fmadd_pd(_mm512_set1_pd(0x1.a01991399f987p-16), r, _mm512_set1_pd(0x1.a01a01b15de9dp-13));
    __m512d f = _mm512_fmadd_pd(_mm512_set1_pd(0x1.28b46faf8c24cp-22), r, _mm512_set1_pd(0x1.71ddf52ded199p-19));
    __m512d fg = _mm512_fmadd_pd(_mm512_set1_pd(0x1.af639fa6e1b0bp-26), r2, f);
    __m512d ab = _mm512_fmadd_pd(b, r2, a), cd = _mm512_fmadd_pd(d, r2, c);
    __m512d s = _mm512_fmadd_pd(_mm512_fmadd_pd(fg, r4, cd), r4, ab);
    return _mm512_fmadd_pd(s, r, _mm512_set1_pd(1.0));
}

/* exp(t) for t <= 710 (NaN propagates), t raised to LB_EXP_F64_LOWEST
 * first: the Cody-Waite reduction of lb_exp_reduce_f64, the polynomial
 * above, and VSCALEFPD for p 2^n. AVX2 builds 2^(n + 512) in the exponent
 * field and multiplies by 2^-512 (lb_exp_shifted_f64_avx2), or multiplies
 * by two factors 2^(n/2) (lb_exp_any_f64_avx2); either way the exact p 2^n
 * is rounded once, as VSCALEFPD rounds it, so the bits agree. `magic` is
 * the AVX2 function's constant: its parity decides which way a tie of
 * t / ln2 rounds, so it makes n (hence r) the same. */
LB_ALWAYS_INLINE __m512d lb_exp512_f64(__m512d t, double magic_value)
{
    const __m512d magic = _mm512_set1_pd(magic_value);
    t = _mm512_max_pd(_mm512_set1_pd(LB_EXP_F64_LOWEST), t); /* operand order keeps a NaN t */
    __m512d n = _mm512_sub_pd(_mm512_fmadd_pd(t, _mm512_set1_pd(0x1.71547652b82fep+0), magic), magic);
    __m512d r = _mm512_fmadd_pd(n, _mm512_set1_pd(-0x1.62e42fefa39efp-1), t);
    r = _mm512_fmadd_pd(n, _mm512_set1_pd(-0x1.abc9e3b39803fp-56), r);
    return _mm512_scalef_pd(lb_exp512_poly_f64(r), n);
}

/* exp(x - m) for a finite row maximum m, as lb_exp_shifted_f64_avx2 */
LB_ALWAYS_INLINE __m512d lb_exp512_shifted_f64(__m512d x, __m512d m)
{
    return lb_exp512_f64(_mm512_sub_pd(x, m), 0x1.8p52 + 1023.0 + 512.0);
}

/* exp(t) for any double t, as lb_exp_any_f64_avx2 (clamped to [-746, 710]) */
LB_ALWAYS_INLINE __m512d lb_exp512_any_f64(__m512d t)
{
    return lb_exp512_f64(_mm512_min_pd(_mm512_set1_pd(710.0), t), 0x1.8p52);
}

/* ---- shared helpers ---------------------------------------------------- */

/* Mask of the first rem (0..16) lanes. */
static inline __mmask16 lb_mask16(size_t rem) { return (__mmask16)((1u << rem) - 1u); }

/* acc += the 16 floats of v, widened to double (exactly): lanes 0-7 into
 * lo, 8-15 into hi. */
LB_ALWAYS_INLINE void lb_acc16_f32_in_f64(__m512d *lo, __m512d *hi, __m512 v)
{
    *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    *hi = _mm512_add_pd(*hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

/* Lanes summed in a fixed order: halves, then as lb_hsum_f64. */
static inline double lb_hsum512_f64(__m512d v)
{
    return lb_hsum_f64(_mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1)));
}

/* Elements before p's first 64-byte boundary (at most n): the streaming
 * stores of the AVX-512 kernels write whole aligned vectors. */
static inline size_t lb_head_to_align64(const void *p, size_t elem, size_t n)
{
    size_t head = ((64 - ((uintptr_t)p & 63)) & 63) / elem;
    return head < n ? head : n;
}

/* ---- log1p ------------------------------------------------------------- */

/* log1p(v) of four doubles v >= 0, as lb_log1p_nonneg (exp_avx2.h) computes
 * it: u = 1 + v rounded, its rounding error e = v - (u - 1), and log1p(v) =
 * log(u) + e / u. log(u) = k ln2 + log f with u = 2^k f, f in about
 * [0.75, 1.5] (k from the exponent of 4u/3, f = u 2^-k exactly), and log f =
 * 2 atanh(s), s = (f - 1) / (f + 1), |s| <= 0.2, by its series to s^23
 * (truncation below 1e-18 relative). Within a few double ulp of log1p: the
 * row groups take four logarithms in one go instead of four library calls,
 * which were most of the time of a 10-class log-softmax or cross-entropy
 * row. The caller ensures v < 2^52 (NaN and larger v: lb_log1p_nonneg). */
LB_ALWAYS_INLINE __m256d lb_log1p4_nonneg(__m256d v)
{
    const __m256d one = _mm256_set1_pd(1.0);
    __m256d u = _mm256_add_pd(one, v);
    __m256d e = _mm256_sub_pd(v, _mm256_sub_pd(u, one));
    __m256d k = _mm256_getexp_pd(_mm256_mul_pd(u, _mm256_set1_pd(4.0 / 3.0)));
    __m256d f = _mm256_scalef_pd(u, _mm256_sub_pd(_mm256_setzero_pd(), k));
    __m256d s = _mm256_div_pd(_mm256_sub_pd(f, one), _mm256_add_pd(f, one));
    __m256d z = _mm256_mul_pd(s, s);
    __m256d p = _mm256_set1_pd(1.0 / 23);
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 21));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 19));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 17));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 15));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 13));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 11));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 9));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 7));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 5));
    p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 3));
    __m256d two_s = _mm256_add_pd(s, s);
    /* k ln2 + 2s + 2s z p + e/u, ln2 split so that k ln2_hi is exact */
    __m256d hi = _mm256_fmadd_pd(k, _mm256_set1_pd(0x1.62e42fefa3800p-1), two_s);
    __m256d lo = _mm256_fmadd_pd(_mm256_mul_pd(two_s, z), p,
                                 _mm256_fmadd_pd(k, _mm256_set1_pd(0x1.ef35793c76730p-45),
                                                 _mm256_div_pd(e, u)));
    return _mm256_add_pd(hi, lo);
}

/* lb_log1p4_nonneg of the first `count` (<= 4) entries of v (v_j >= 0 or
 * NaN), the others unused; lanes with v >= 2^52 or NaN through
 * lb_log1p_nonneg. */
static inline void lb_log1p_nonneg_n(int count, const double *v, double *out)
{
    double lanes[4] = {0.0, 0.0, 0.0, 0.0};
    bool scalar = false;
    for (int r = 0; r < count; r++) {
        lanes[r] = v[r];
        if (!(v[r] < 0x1p52)) scalar = true;
    }
    double result[4];
    _mm256_storeu_pd(result, lb_log1p4_nonneg(_mm256_loadu_pd(lanes)));
    for (int r = 0; r < count; r++) out[r] = scalar && !(v[r] < 0x1p52) ? lb_log1p_nonneg(v[r]) : result[r];
}

/* ---- short rows -------------------------------------------------------- */

/* Rows of up to 16 floats are one vector each: a masked load, then max,
 * exp, sums and a masked store from registers (AVX2 needs two vectors and
 * piecewise stores for them). */
#define LB_SHORT_ROW_F32_AVX512 16

/* Loads an n <= 16 float row (lanes past n hold -inf) and returns its
 * maximum (a NaN entry may or may not show in it). */
LB_ALWAYS_INLINE float lb_short16_load_max(size_t n, const float *x, __m512 *v)
{
    *v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lb_mask16(n), x);
    return _mm512_reduce_max_ps(*v);
}

/* Rows of 17 to 64 floats are two to four vectors each, in registers the
 * same way (the medium rows' sweeps, stage and scale pass cost these more
 * than their arithmetic: 64 x 20 softmax in cache tied oneDNN). */
#define LB_SHORT4_ROW_F32_AVX512 64

/* Vectors of a short row of n <= LB_SHORT4_ROW_F32_AVX512 floats. */
static inline int lb_short_vectors(size_t n) { return (int)((n + 15) / 16); }

/* The lanes of vector k of a short row that lie in the row. */
static inline size_t lb_short_lanes(size_t n, int k)
{
    size_t first = 16 * (size_t)k;
    return n - first < 16 ? n - first : 16;
}

/* A short-row kernel KERNEL(..., vectors) returning bool, called with its
 * vector count lb_short_vectors(n) as a constant (1 to 4), so that its rows
 * stay in registers. */
#define LB_SHORT_SWITCH(n, KERNEL, ...)                                                       \
    (lb_short_vectors(n) == 1   ? KERNEL(__VA_ARGS__, 1)                                      \
     : lb_short_vectors(n) == 2 ? KERNEL(__VA_ARGS__, 2)                                      \
     : lb_short_vectors(n) == 3 ? KERNEL(__VA_ARGS__, 3)                                      \
                                : KERNEL(__VA_ARGS__, 4))
/* Loads a row of n floats into `vectors` = lb_short_vectors(n) vectors
 * (lanes past n hold -inf) and returns its maximum (a NaN entry may or may
 * not show in it). */
LB_ALWAYS_INLINE float lb_short_load_max_n(size_t n, const float *x, int vectors, __m512 *v)
{
    if (vectors == 1) return lb_short16_load_max(n, x, v);
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    __m512 mx = neg_inf;
    for (int k = 0; k < vectors; k++) {
        v[k] = k + 1 < vectors ? _mm512_loadu_ps(x + 16 * k)
                               : _mm512_mask_loadu_ps(neg_inf, lb_mask16(lb_short_lanes(n, k)), x + 16 * k);
        mx = _mm512_max_ps(mx, v[k]);
    }
    return _mm512_reduce_max_ps(mx);
}

/* Rows of two to four vectors fetch the next group's x (into L1) and y
 * rows (L2), as the medium rows do. Out of cache, 1 thread, interleaved A/B:
 * without it, registers ran 4096 x 64 12-35 % slower than the medium sweeps;
 * with it, log-softmax at 40-64 classes took 0.67-0.92x the time it took
 * without, softmax and log-softmax at 32 classes 0.84-0.96x; in cache
 * 0.88-1.2x (noise). One-vector rows stay without. Past the matrix a
 * prefetch is harmless. */
LB_ALWAYS_INLINE void lb_short_prefetch_next(int rows, const float *x, size_t ldx, const float *y,
                                             size_t ldy, int vectors)
{
    if (vectors < 2) return;
    for (int r = 0; r < rows; r++) {
        for (int k = 0; k < vectors; k++) {
            _mm_prefetch((const char *)(x + (size_t)(r + rows) * ldx + 16 * k), _MM_HINT_T0);
            _mm_prefetch((const char *)(y + (size_t)(r + rows) * ldy + 16 * k), _MM_HINT_T1);
        }
    }
}

/* exp(v - m) of a short row (m finite, |m| <= 2^24), 0 past the row; the
 * padding lanes take m inside exp, as lb_short_exp_f32. TwoSum difference,
 * floor m - 129 (lb_exp_floor_moderate_f32) for -inf entries. */
LB_ALWAYS_INLINE __m512 lb_short16_exp(size_t n, __m512 v, float m)
{
    __mmask16 in_row = lb_mask16(n);
    __m512 x = _mm512_mask_mov_ps(_mm512_set1_ps(m), in_row, v);
    return _mm512_maskz_mov_ps(in_row, lb_exp512_shifted_f32(x, _mm512_set1_ps(-m),
                                                             _mm512_set1_ps(lb_exp_floor_moderate_f32(m)),
                                                             true, false, LB_DIFF_TWOSUM));
}

/* The 16 floats of v summed in double (widened exactly, lanes in a fixed
 * order). */
LB_ALWAYS_INLINE double lb_sum16_in_f64(__m512 v)
{
    __m512d lo = _mm512_setzero_pd(), hi = lo;
    lb_acc16_f32_in_f64(&lo, &hi, v);
    return lb_hsum512_f64(_mm512_add_pd(lo, hi));
}

/* ---- medium rows -------------------------------------------------------- */

/* Rows of LB_SHORT4_ROW_F32_AVX512 + 1 (softmax backward: 17) to
 * LB_MEDIUM_ROW_F32 floats: too long for registers, too short for one row
 * to keep the core busy (64 x 100 took 350 cycles a row
 * one by one, most of it the row's chain of dependent steps: maximum,
 * horizontal reduction, exp sweep, sum, reciprocal, scaling). */
#define LB_MEDIUM_ROW_F32 256

/* The maxima m and minima lo of a group of medium rows (the next group's
 * x and y rows prefetched, one line per 16 entries: past the matrix a
 * prefetch is harmless), each row's exp floor, whether any row needs it
 * and the Fast2Sum form all rows allow (else TwoSum). False when some
 * row's maximum is not finite with |m| <= 2^24: such groups go row by row
 * to the general path, as one such row alone would. */
typedef struct lb_medium_rows {
    float m[4], lo[4], floor[4];
    bool floored;
    enum lb_diff_mode mode;
} lb_medium_rows;

LB_ALWAYS_INLINE bool lb_medium_max_min(int rows, size_t n, const float *x, size_t ldx,
                                     const float *y, size_t ldy, lb_medium_rows *g)
{
    const size_t full = n / 16;
    const __mmask16 tail = lb_mask16(n % 16);
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY), pos_inf = _mm512_set1_ps(INFINITY);
    __m512 mx[4], mn[4];
    for (int r = 0; r < rows; r++) mx[r] = neg_inf, mn[r] = pos_inf;
    for (size_t v = 0; v < full; v++) {
        for (int r = 0; r < rows; r++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)r * ldx + 16 * v);
            mx[r] = _mm512_max_ps(mx[r], xv);
            mn[r] = _mm512_min_ps(mn[r], xv);
            _mm_prefetch((const char *)(x + (size_t)(r + rows) * ldx + 16 * v), _MM_HINT_T0);
            _mm_prefetch((const char *)(y + (size_t)(r + rows) * ldy + 16 * v), _MM_HINT_T1);
        }
    }
    if (tail) {
        for (int r = 0; r < rows; r++) {
            const float *x_tail = x + (size_t)r * ldx + 16 * full;
            mx[r] = _mm512_max_ps(mx[r], _mm512_mask_loadu_ps(neg_inf, tail, x_tail));
            mn[r] = _mm512_min_ps(mn[r], _mm512_mask_loadu_ps(pos_inf, tail, x_tail));
        }
    }
    bool all_fast_m = true, all_fast_x = true;
    g->floored = false;
    for (int r = 0; r < rows; r++) {
        g->m[r] = _mm512_reduce_max_ps(mx[r]);
        g->lo[r] = _mm512_reduce_min_ps(mn[r]);
        if (!(fabsf(g->m[r]) <= 0x1p24f)) return false;
        g->floor[r] = lb_exp_floor_moderate_f32(g->m[r]); /* |m| <= 2^24 */
        g->floored |= !(g->lo[r] >= g->floor[r]);
        enum lb_diff_mode mode = lb_diff_mode_f32(g->m[r], g->lo[r]);
        all_fast_m &= mode == LB_DIFF_FAST_M;
        all_fast_x &= mode == LB_DIFF_FAST_X;
    }
    g->mode = all_fast_m ? LB_DIFF_FAST_M : all_fast_x ? LB_DIFF_FAST_X : LB_DIFF_TWOSUM;
    return true;
}

/* Runs SWEEPS(floored, mode) with the group's floor flag and difference
 * form as constants. */
#define LB_MEDIUM_DISPATCH(g, SWEEPS)                                                            \
    do {                                                                                      \
        switch ((g).mode) {                                                                   \
        case LB_DIFF_FAST_M: if ((g).floored) SWEEPS(true, LB_DIFF_FAST_M); else SWEEPS(false, LB_DIFF_FAST_M); break; \
        case LB_DIFF_FAST_X: if ((g).floored) SWEEPS(true, LB_DIFF_FAST_X); else SWEEPS(false, LB_DIFF_FAST_X); break; \
        case LB_DIFF_TWOSUM: if ((g).floored) SWEEPS(true, LB_DIFF_TWOSUM); else SWEEPS(false, LB_DIFF_TWOSUM); break; \
        }                                                                                     \
    } while (0)

#endif /* LOSSBLAS_EXP_AVX512_H */
