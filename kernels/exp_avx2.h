/*
 * exp_avx2.h - vector exp for the AVX2+FMA kernels, and the small helpers
 * they share (tail masks, horizontal reductions). Included only by files
 * compiled with -mavx2 -mfma.
 *
 * exp(t) = 2^n * exp(r), n = round(t / ln2), r = t - n ln2 in [-ln2/2, ln2/2]
 * (Cody-Waite reduction with ln2 split in a high and a low part; the high
 * product is exact under FMA), exp(r) by a polynomial, and 2^n built in the
 * exponent field. The rounding of n comes from adding a "magic" constant
 * 1.5 * 2^23 (2^52 for double), whose low mantissa bits then hold n plus the
 * exponent bias; shifting them into the exponent field gives 2^n directly
 * (the idea of XNNPACK's exp microkernels and of Dukhan & Ablavatski's
 * two-pass softmax paper).
 *
 * Underflow: 2^n alone is not representable below 2^-126, so the scale is
 * 2^(n + 64) and the 2^-64 goes elsewhere (into the polynomial for float, a
 * last multiply for double): the one inexact step then rounds once into the
 * subnormal range (or to 0), giving the right subnormal, not a flushed value.
 */
#ifndef LOSSBLAS_EXP_AVX2_H
#define LOSSBLAS_EXP_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <stdbool.h>

/* Smallest argument the shifted f32 exp takes; exp(-104) already rounds to
 * 0 in float, so clamping there changes nothing. */
#define LB_EXP_F32_LOWEST (-110.0f)
/* Same for double: exp(-746) rounds to 0. */
#define LB_EXP_F64_LOWEST (-746.0)

/* exp(t + t_lo) for t in [LB_EXP_F32_LOWEST, 0] (NaN propagates), t_lo a
 * small correction (|t_lo| <= ulp(t)/2) carrying the rounding error of the
 * subtraction that produced t. Polynomial: degree 6, fitted to the relative
 * error of exp on [-ln2/2, ln2/2] (max 1.7e-8 with these float
 * coefficients). Its coefficients carry the factor 2^-64 of the underflow
 * offset (scaling by a power of two is exact), so p * 2^(n+64) is the only
 * rounding of the scaling: exact for normal results, a single correct
 * rounding for subnormal ones.
 * It comes in three stages, range reduction (t, t_lo -> r, z), polynomial
 * (r -> p) and scaling (p, z -> exp), so that row sweeps can software-
 * pipeline them: one vector's scaling, the next one's polynomial and the
 * one after's reduction in the same iteration. The sweeps are bound by the
 * ~50-cycle dependency chain of one vector, not by the FP pipes: the FP
 * scheduler (Zen 3) holds too few waiting operations to overlap enough
 * vectors when each enters it at its chain's start; pipelined, each stage
 * enters with its inputs ready (18 % faster sweeps, the same operations). */
typedef struct lb_exp_reduced_f32 {
    __m256 r; /* reduced argument */
    __m256 z; /* magic + n: its low bits hold n + 127 + 64 */
} lb_exp_reduced_f32;

static inline __attribute__((always_inline)) lb_exp_reduced_f32 lb_exp_reduce_f32(__m256 t,
                                                                                  __m256 t_lo)
{
    /* magic = 1.5 * 2^23 + 127 (bias) + 64 (underflow offset) */
    const __m256 magic = _mm256_set1_ps(12582912.0f + 127.0f + 64.0f);
    const __m256 log2e = _mm256_set1_ps(0x1.715476p+0f);
    const __m256 minus_ln2_hi = _mm256_set1_ps(-0x1.62e430p-1f);
    const __m256 minus_ln2_lo = _mm256_set1_ps(0x1.05c610p-29f);
    lb_exp_reduced_f32 q;
    q.z = _mm256_fmadd_ps(t, log2e, magic);
    __m256 n = _mm256_sub_ps(q.z, magic);
    __m256 r = _mm256_fmadd_ps(n, minus_ln2_hi, t);
    q.r = _mm256_add_ps(r, _mm256_fmadd_ps(n, minus_ln2_lo, t_lo));
    return q;
}

/* p = c0 + r s, s = (c1 + c2 r) + r^2 ((c3 + c4 r) + r^2 (c5 + c6 r)):
 * Estrin's scheme inside, four dependent FMAs after r instead of Horner's
 * seven (3 % faster sweeps); the last step is Horner's own last step, so the
 * rounding that matters is the same. */
static inline __attribute__((always_inline)) __m256 lb_exp_poly_f32(__m256 r)
{
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 s01 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.fffffcp-66f), r, _mm256_set1_ps(0x1p-64f));
    __m256 s34 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555794p-69f), r, _mm256_set1_ps(0x1.55540cp-67f));
    __m256 s56 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.6b4e12p-74f), r, _mm256_set1_ps(0x1.126d24p-71f));
    __m256 s = _mm256_fmadd_ps(_mm256_fmadd_ps(s56, r2, s34), r2, s01);
    return _mm256_fmadd_ps(s, r, _mm256_set1_ps(0x1p-64f));
}

/* low bits of z hold n + 127 + 64: shift them into the exponent */
static inline __attribute__((always_inline)) __m256 lb_exp_scale_f32(__m256 p, __m256 z)
{
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(z), 23)));
}

static inline __attribute__((always_inline)) __m256 lb_exp_f32_avx2(__m256 t, __m256 t_lo)
{
    lb_exp_reduced_f32 q = lb_exp_reduce_f32(t, t_lo);
    return lb_exp_scale_f32(lb_exp_poly_f32(q.r), q.z);
}

/* The per-row floor for lb_exp_shifted_f32_avx2: a float L <= m - 128 (so
 * exp(L - m) is 0 in float) for which L - m stays finite and its rounding
 * error small; entries below L (including -inf) are raised to L. */
static inline float lb_exp_floor_f32(float m)
{
    double want = (double)m - 128.0;
    if (want < -0x1.fffffep127) return -0x1.fffffep127f; /* m near -FLT_MAX */
    float floor_value = (float)want;
    /* m - floor_value is exact in double (the two are close); step down
     * while it is short of 128 (want itself may have rounded for huge m) */
    while ((double)m - (double)floor_value < 128.0 && floor_value > -0x1.fffffep127f)
        floor_value = nextafterf(floor_value, -INFINITY);
    return floor_value;
}

/* exp(x - m) for a row maximum m (finite), x <= m or NaN; minus_m = -m,
 * floor = lb_exp_floor_f32(m). The difference is formed exactly as t + t_lo
 * by Knuth's TwoSum (all additions: they run on the FP add pipes, which the
 * FMA-heavy rest leaves idle), so the rounding error of x - m (up to half an
 * ulp of |x - m| <= 130, many ulps of the result) reaches the reduced
 * argument. Entries below the floor (and -inf) give exactly 0; NaN gives
 * NaN (the operand order of max keeps a NaN).
 * clamp: bound t below by LB_EXP_F32_LOWEST. Needed only when |m| > 2^24:
 * otherwise the floor is within 130 of m, so t >= -130 and 2^(n+64) stays a
 * normal number. */
static inline __m256 lb_exp_shifted_f32_avx2(__m256 x, __m256 minus_m, __m256 floor, bool clamp)
{
    x = _mm256_max_ps(floor, x);
    __m256 t = _mm256_add_ps(x, minus_m);
    __m256 x_part = _mm256_sub_ps(t, minus_m);
    __m256 m_part = _mm256_sub_ps(t, x_part);
    __m256 t_lo = _mm256_add_ps(_mm256_sub_ps(x, x_part), _mm256_sub_ps(minus_m, m_part));
    if (clamp) t = _mm256_max_ps(_mm256_set1_ps(LB_EXP_F32_LOWEST), t);
    return lb_exp_f32_avx2(t, t_lo);
}

/* How a row forms x - m exactly. TwoSum (above) needs no order between its
 * operands; Fast2Sum, t = a + b then t_lo = b - (t - a), needs half the
 * additions and is exact when a's exponent is at least b's. For a row with
 * maximum m and minimum lo:
 *   m < 0: every x <= m < 0, so |x| >= |m|: a = x, b = -m (LB_DIFF_FAST_X);
 *   m >= 0 and lo > -2^e, 2^e the power of two above m (frexpf): every |x|
 *     has at most m's exponent: a = -m, b = x (LB_DIFF_FAST_M);
 *   otherwise TwoSum. Entries raised to the floor stay within [lo, m].
 * All three give the same exact difference, hence the same bits. */
enum lb_diff_mode { LB_DIFF_TWOSUM, LB_DIFF_FAST_M, LB_DIFF_FAST_X };

static inline enum lb_diff_mode lb_diff_mode_f32(float m, float lo)
{
    if (m < 0.0f) return LB_DIFF_FAST_X;
    if (!(m >= 0.0f) || !(m <= 0x1p127f)) return LB_DIFF_TWOSUM; /* NaN (edge rows) */
    if (m == 0.0f) return LB_DIFF_FAST_M; /* -m = 0: t = x, t_lo = 0 */
    float above; /* 2^e = the power of two above m, frexpf's e (m = f 2^e, f in [0.5, 1)) */
    if (m >= 0x1p-126f) { /* normal: m's exponent field plus one (2^128 = inf for m = 2^127) */
        uint32_t bits;
        memcpy(&bits, &m, sizeof bits);
        bits = (bits & 0x7f800000u) + 0x00800000u;
        memcpy(&above, &bits, sizeof above);
    } else {
        int e;
        (void)frexpf(m, &e);
        above = ldexpf(1.0f, e);
    }
    return lo > -above ? LB_DIFF_FAST_M : LB_DIFF_TWOSUM;
}

/* The reduction stage of lb_exp_shifted_f32_avx2 with x - m formed as
 * `mode` says (a constant in the callers, so the branch folds away). */
static inline __attribute__((always_inline)) lb_exp_reduced_f32
lb_exp_shifted_reduce_f32(__m256 x, __m256 minus_m, __m256 floor, bool clamp,
                          enum lb_diff_mode mode)
{
    x = _mm256_max_ps(floor, x);
    __m256 t = _mm256_add_ps(x, minus_m), t_lo;
    if (mode == LB_DIFF_TWOSUM) {
        __m256 x_part = _mm256_sub_ps(t, minus_m);
        __m256 m_part = _mm256_sub_ps(t, x_part);
        t_lo = _mm256_add_ps(_mm256_sub_ps(x, x_part), _mm256_sub_ps(minus_m, m_part));
    } else {
        t_lo = mode == LB_DIFF_FAST_X ? _mm256_sub_ps(minus_m, _mm256_sub_ps(t, x))
                                      : _mm256_sub_ps(x, _mm256_sub_ps(t, minus_m));
    }
    if (clamp) t = _mm256_max_ps(_mm256_set1_ps(LB_EXP_F32_LOWEST), t);
    return lb_exp_reduce_f32(t, t_lo);
}

/* lb_exp_shifted_f32_avx2 with x - m formed as `mode` says. */
static inline __attribute__((always_inline)) __m256
lb_exp_shifted_mode_f32_avx2(__m256 x, __m256 minus_m, __m256 floor, bool clamp,
                             enum lb_diff_mode mode)
{
    lb_exp_reduced_f32 q = lb_exp_shifted_reduce_f32(x, minus_m, floor, clamp, mode);
    return lb_exp_scale_f32(lb_exp_poly_f32(q.r), q.z);
}

/* Whether rows with maximum m need the clamped form above. */
static inline bool lb_exp_needs_clamp_f32(float m) { return !(fabsf(m) <= 0x1p24f); }

/* exp(t) for any float t: overflow gives +inf, underflow 0 or the right
 * subnormal, NaN stays NaN. The scale 2^n is applied as two factors
 * 2^floor(n/2) * 2^(n - floor(n/2)), each a normal number for n in
 * [-160, 128]. Used where the argument is not known to be <= 0. */
static inline __m256 lb_exp_any_f32_avx2(__m256 t)
{
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 log2e = _mm256_set1_ps(0x1.715476p+0f);
    t = _mm256_max_ps(_mm256_set1_ps(LB_EXP_F32_LOWEST), t);
    t = _mm256_min_ps(_mm256_set1_ps(89.0f), t); /* exp(89) overflows float */
    __m256 z = _mm256_fmadd_ps(t, log2e, magic);
    __m256 n = _mm256_sub_ps(z, magic);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0x1.62e430p-1f), t);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(0x1.05c610p-29f), r);

    __m256 p = _mm256_set1_ps(0x1.6b4e12p-10f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.126d24p-7f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.555794p-5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.55540cp-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.fffffcp-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));

    __m256i ni = _mm256_cvtps_epi32(n); /* NaN lanes give INT_MIN; p is NaN there */
    __m256i half = _mm256_srai_epi32(ni, 1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* exp(r) for |r| <= ln2/2: degree-11 near-minimax polynomial (Chebyshev
 * fit, coefficients rounded to double), relative error 1.4e-17, i.e. 0.13
 * ulp before the rounding of the evaluation. p = 1 + r s with s (degree 10)
 * by Estrin's scheme: five dependent operations after r instead of Horner's
 * eleven (the sweeps wait on this chain, see the f32 exp); the last step is
 * Horner's, so the rounding that matters is the same. */
static inline __attribute__((always_inline)) __m256d lb_exp_poly_f64(__m256d r)
{
    __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2);
    __m256d a = _mm256_fmadd_pd(_mm256_set1_pd(0x1.0000000000011p-1), r, _mm256_set1_pd(1.0));
    __m256d b = _mm256_fmadd_pd(_mm256_set1_pd(0x1.555555554f000p-5), r, _mm256_set1_pd(0x1.555555555555ap-3));
    __m256d c = _mm256_fmadd_pd(_mm256_set1_pd(0x1.6c16c18826db1p-10), r, _mm256_set1_pd(0x1.111111110f1e5p-7));
    __m256d d = _mm256_fmadd_pd(_mm256_set1_pd(0x1.a01991399f987p-16), r, _mm256_set1_pd(0x1.a01a01b15de9dp-13));
    __m256d f = _mm256_fmadd_pd(_mm256_set1_pd(0x1.28b46faf8c24cp-22), r, _mm256_set1_pd(0x1.71ddf52ded199p-19));
    __m256d fg = _mm256_fmadd_pd(_mm256_set1_pd(0x1.af639fa6e1b0bp-26), r2, f);
    __m256d ab = _mm256_fmadd_pd(b, r2, a), cd = _mm256_fmadd_pd(d, r2, c);
    __m256d s = _mm256_fmadd_pd(_mm256_fmadd_pd(fg, r4, cd), r4, ab);
    return _mm256_fmadd_pd(s, r, _mm256_set1_pd(1.0));
}

/* exp(t) for double t in [LB_EXP_F64_LOWEST, 0] (NaN propagates).
 * Underflow as in the float version, with offset 2^512. In stages as the
 * float version: reduction (t -> r, z), polynomial, scaling. */
typedef struct lb_exp_reduced_f64 {
    __m256d r, z; /* reduced argument; magic + n */
} lb_exp_reduced_f64;

static inline __attribute__((always_inline)) lb_exp_reduced_f64 lb_exp_reduce_f64(__m256d t)
{
    const __m256d magic = _mm256_set1_pd(0x1.8p52 + 1023.0 + 512.0);
    lb_exp_reduced_f64 q;
    q.z = _mm256_fmadd_pd(t, _mm256_set1_pd(0x1.71547652b82fep+0), magic);
    __m256d n = _mm256_sub_pd(q.z, magic);
    __m256d r = _mm256_fmadd_pd(n, _mm256_set1_pd(-0x1.62e42fefa39efp-1), t);
    q.r = _mm256_fmadd_pd(n, _mm256_set1_pd(-0x1.abc9e3b39803fp-56), r);
    return q;
}

static inline __attribute__((always_inline)) __m256d lb_exp_scale_f64(__m256d p, __m256d z)
{
    __m256d scale = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(z), 52));
    return _mm256_mul_pd(_mm256_mul_pd(p, scale), _mm256_set1_pd(0x1p-512));
}

static inline __attribute__((always_inline)) __m256d lb_exp_f64_avx2(__m256d t)
{
    lb_exp_reduced_f64 q = lb_exp_reduce_f64(t);
    return lb_exp_scale_f64(lb_exp_poly_f64(q.r), q.z);
}

/* exp(x - m), m finite, x <= m or NaN; far below m (and -inf) gives 0. The
 * difference is rounded as the reference kernels round it. */
static inline __attribute__((always_inline)) lb_exp_reduced_f64
lb_exp_shifted_reduce_f64(__m256d x, __m256d m)
{
    __m256d t = _mm256_sub_pd(x, m);
    return lb_exp_reduce_f64(_mm256_max_pd(_mm256_set1_pd(LB_EXP_F64_LOWEST), t));
}

static inline __attribute__((always_inline)) __m256d lb_exp_shifted_f64_avx2(__m256d x, __m256d m)
{
    lb_exp_reduced_f64 q = lb_exp_shifted_reduce_f64(x, m);
    return lb_exp_scale_f64(lb_exp_poly_f64(q.r), q.z);
}

/* exp(t) for any double t: as lb_exp_any_f32_avx2, two scale factors for n
 * in [-1077, 1025]. */
static inline __m256d lb_exp_any_f64_avx2(__m256d t)
{
    t = _mm256_max_pd(_mm256_set1_pd(LB_EXP_F64_LOWEST), t);
    t = _mm256_min_pd(_mm256_set1_pd(710.0), t); /* exp(710) overflows double */
    /* exp(t) = exp(t/2)^2 would lose accuracy; split the scale instead */
    const __m256d magic = _mm256_set1_pd(0x1.8p52);
    __m256d z = _mm256_fmadd_pd(t, _mm256_set1_pd(0x1.71547652b82fep+0), magic);
    __m256d n = _mm256_sub_pd(z, magic);
    __m256d r = _mm256_fmadd_pd(n, _mm256_set1_pd(-0x1.62e42fefa39efp-1), t);
    r = _mm256_fmadd_pd(n, _mm256_set1_pd(-0x1.abc9e3b39803fp-56), r);
    __m256d p = lb_exp_poly_f64(r);
    /* n is an integer in [-1077, 1025] (or NaN): halves as doubles, then
     * 2^k by the magic-number trick on each half */
    __m256d half = _mm256_floor_pd(_mm256_mul_pd(n, _mm256_set1_pd(0.5)));
    __m256d rest = _mm256_sub_pd(n, half);
    const __m256d bias = _mm256_set1_pd(0x1.8p52 + 1023.0);
    __m256d s1 = _mm256_castsi256_pd(
        _mm256_slli_epi64(_mm256_castpd_si256(_mm256_add_pd(half, bias)), 52));
    __m256d s2 = _mm256_castsi256_pd(
        _mm256_slli_epi64(_mm256_castpd_si256(_mm256_add_pd(rest, bias)), 52));
    return _mm256_mul_pd(_mm256_mul_pd(p, s1), s2);
}

/* ---- shared helpers ---------------------------------------------------- */

/* Lane mask selecting the first rem (1..7) float lanes, or 1..3 double lanes
 * (as 64-bit lanes: rem doubles = 2*rem ints). */
static inline __m256i lb_tail_mask_f32(size_t rem)
{
    static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(bits + 8 - rem));
}

static inline __m256i lb_tail_mask_f64(size_t rem) { return lb_tail_mask_f32(2 * rem); }

/* v's last `left` (1..7) lanes moved down to lanes 0..left-1 (the lanes
 * above hold the others, rotated) */
static inline __m256 lb_rotate_tail_f32(__m256 v, size_t left)
{
    static const int32_t rotate[16] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7};
    /* lane i takes lane 8 - left + i */
    return _mm256_permutevar8x32_ps(v, _mm256_loadu_si256((const __m256i *)(rotate + 8 - left)));
}

/* The floats p[j..n) of a row p of n floats, 1 <= n - j <= 7, in the low
 * lanes and +0 above: the bits of _mm256_maskload_ps(p + j,
 * lb_tail_mask_f32(n - j)). Rows of 8 floats or more take no masked load:
 * their last 8 floats (in bounds) are loaded and rotated down into place.
 * On an AMD EPYC (Zen 1) VM a masked load cost 4.1 ns, an ordinary load
 * and a mask 0.65 ns; rows of 10 classes paid it twice per row. */
static inline __m256 lb_load_part_f32(const float *p, size_t n, size_t j)
{
    size_t left = n - j;
    __m256i mask = lb_tail_mask_f32(left);
    if (n < 8) return _mm256_maskload_ps(p + j, mask);
    /* lane i takes float n - 8 + (8 - left + i) = j + i */
    return _mm256_and_ps(lb_rotate_tail_f32(_mm256_loadu_ps(p + n - 8), left),
                         _mm256_castsi256_ps(mask));
}

/* Stores the first left (0..7) lanes of v at p as 4-, 2- and 1-float
 * pieces (a masked store costs tens of cycles on AMD Zen 1 to 3; the
 * pieces' branches repeat row after row, so they predict). */
static inline void lb_store_part_f32(float *p, size_t left, __m256 v)
{
    __m128 part = _mm256_castps256_ps128(v);
    if (left & 4) {
        _mm_storeu_ps(p, part);
        part = _mm256_extractf128_ps(v, 1);
        p += 4;
    }
    if (left & 2) {
        _mm_storel_pi((__m64 *)p, part);
        part = _mm_movehl_ps(part, part);
        p += 2;
    }
    if (left & 1) _mm_store_ss(p, part);
}

/* The doubles p[j..n) of a row of n doubles, 1 <= n - j <= 3, in the low
 * lanes and +0 above: the bits of _mm256_maskload_pd(p + j,
 * lb_tail_mask_f64(n - j)). A double is two float lanes, so this is
 * lb_load_part_f32 on the row as 2n floats (the loads copy bits). */
static inline __m256d lb_load_part_f64(const double *p, size_t n, size_t j)
{
    return _mm256_castps_pd(lb_load_part_f32((const float *)p, 2 * n, 2 * j));
}

/* Stores the first left (0..3) lanes of v at p (lb_store_part_f32 of the
 * 2 left float lanes holding them). */
static inline void lb_store_part_f64(double *p, size_t left, __m256d v)
{
    lb_store_part_f32((float *)p, 2 * left, _mm256_castpd_ps(v));
}

/* v's last `left` (1..3) doubles moved down to lanes 0..left-1 */
static inline __m256d lb_rotate_tail_f64(__m256d v, size_t left)
{
    return _mm256_castps_pd(lb_rotate_tail_f32(_mm256_castpd_ps(v), 2 * left));
}

static inline float lb_hmax_f32(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline double lb_hmax_f64(__m256d v)
{
    __m128d m = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    m = _mm_max_sd(m, _mm_unpackhi_pd(m, m));
    return _mm_cvtsd_f64(m);
}

/* Lanes summed in a fixed order: (0+2) + (1+3). */
static inline double lb_hsum_f64(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* acc += the 8 floats of v, widened to double (exactly) */
static inline void lb_acc_f32_in_f64(__m256d *acc_lo, __m256d *acc_hi, __m256 v)
{
    *acc_lo = _mm256_add_pd(*acc_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    *acc_hi = _mm256_add_pd(*acc_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

/* log1p(v) for v >= 0 (NaN and +inf propagate) by glibc's log, whose
 * latency is well below its log1p's (measured 16 vs 26 ns here; a short row
 * waits for it): u = 1 + v rounds, its rounding error e = v - (u - 1) is
 * exact for 0 <= v < 2^52, and log1p(v) = log(u + e) = log(u) + e / u with
 * the neglected second-order term below 2^-100 relative. So a tiny v (u = 1)
 * returns v itself, and the result stays within about 1 double ulp of
 * log1p(v). */
static inline double lb_log1p_nonneg(double v)
{
    if (!(v < 0x1p52)) return log(v); /* NaN, +inf, and v where the 1 is negligible */
    double u = 1.0 + v;
    double e = v - (u - 1.0);
    return log(u) + e / u;
}

/* ---- short rows -------------------------------------------------------- */

/* Rows of up to LB_SHORT_ROW_F32 floats are held whole in up to 4 vectors:
 * one masked load each, then max, exp, sums and stores from registers, with
 * no separate sweeps, prefetches or tail loops (for 10..32 columns those
 * fixed costs outweigh the arithmetic). */
#define LB_SHORT_ROW_F32 32

/* Lane mask of vector k (lanes 8k..8k+7) of an n-float row, n <= 32. */
static inline __m256i lb_short_mask_f32(size_t n, int k)
{
    static const int32_t lanes[64] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1};
    return _mm256_loadu_si256((const __m256i *)(lanes + 32 + 8 * k - n));
}

/* Loads the n <= 8 * vectors floats of x into v (lanes past n hold -inf)
 * and returns their maximum (a NaN entry may or may not show in it). */
static inline __attribute__((always_inline)) float
lb_short_load_max_f32(size_t n, const float *x, int vectors, __m256 *v, __m256i *mask)
{
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    __m256 mx = neg_inf;
    for (int k = 0; k < vectors; k++) {
        mask[k] = lb_short_mask_f32(n, k);
        if ((size_t)(8 * k + 8) <= n) v[k] = _mm256_loadu_ps(x + 8 * k);
        else v[k] = _mm256_blendv_ps(neg_inf, lb_load_part_f32(x, n, (size_t)(8 * k)),
                                     _mm256_castsi256_ps(mask[k]));
        mx = _mm256_max_ps(mx, v[k]);
    }
    return lb_hmax_f32(mx);
}

/* The floor of lb_exp_shifted_f32_avx2 for |m| <= 2^24 without the search
 * of lb_exp_floor_f32: m - 129 rounds by at most 1 there (ulp <= 2), so it
 * is <= m - 128 and >= m - 130. */
static inline float lb_exp_floor_moderate_f32(float m) { return m - 129.0f; }

/* exp(v - m) of a short-row vector (v from lb_short_load_max_f32; m
 * finite, |m| <= 2^24), 0 in the lanes past the row. Those lanes take the
 * value m inside exp rather than -inf: an underflowing product costs a
 * microcode assist of ~100 cycles on Zen 3, and padding must not pay it. */
static inline __m256 lb_short_exp_f32(__m256 v, __m256i mask, __m256 vm, __m256 minus_m,
                                      __m256 floor)
{
    __m256 in_row = _mm256_castsi256_ps(mask);
    return _mm256_and_ps(lb_exp_shifted_f32_avx2(_mm256_blendv_ps(vm, v, in_row), minus_m, floor,
                                                 false),
                         in_row);
}

/* Stores vector k of a short row: whole when all its lanes are in the row,
 * else its first n - 8k lanes (lb_store_part_f32). */
static inline void lb_short_store_f32(size_t n, float *y, int k, __m256 v)
{
    size_t left = n - (size_t)(8 * k);
    float *p = y + 8 * k;
    if (left >= 8) _mm256_storeu_ps(p, v);
    else lb_store_part_f32(p, left, v);
}

#endif /* LOSSBLAS_EXP_AVX2_H */
