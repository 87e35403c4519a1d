/*
 * test_simd_math.c - accuracy of the vector exp used by the AVX2 kernels
 * (kernels/exp_avx2.h), in ULPs against exp computed in double and rounded
 * (correctly rounded float results, up to double-rounding ties that cannot
 * move a result by a whole ulp) or against expl for double.
 *
 * Bounds (all measured maxima; the exhaustive run over every float in
 * [-104, 0], a one-off tool, also found 1 ulp):
 *   f32 exp on [-104, 0]           <= 1 ulp (dense: every 61st float; every
 *                                   float of the subnormal range [-104, -87])
 *   f32 exp(x - m), any x <= m     <= 1 ulp of exp((double)x - m)
 *   f32 exp on [-110, 89]          <= 1 ulp, +inf beyond ln(FLT_MAX)
 *   f64 exp on [-746, 0], any      <= 1 ulp of expl rounded to double (degree-11
 *                                   minimax polynomial, 1.4e-17 relative)
 * Run only in the avx2 pass (skipped elsewhere, and where the CPU lacks
 * AVX2+FMA).
 */
#define _DEFAULT_SOURCE /* mmap, MAP_ANONYMOUS, sysconf: the guard pages of the tail tests */
#pragma GCC target("avx2,fma")

#include "exp_avx2.h"
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void require_avx2(void)
{
    const char *want = getenv("LOSSBLAS_ISA");
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        cr_skip_test("CPU lacks AVX2+FMA");
    if (want && strcmp(want, "avx2") != 0) cr_skip_test("runs in the avx2 pass only");
}

TestSuite(simd_exp, .init = require_avx2);

/* ULP distance of two floats of the same sign (or zero), by bit patterns. */
static uint64_t ulp_f32(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    return ia > ib ? (uint64_t)((int64_t)ia - ib) : (uint64_t)((int64_t)ib - ia);
}

static uint64_t ulp_f64(double a, double b)
{
    int64_t ia, ib;
    memcpy(&ia, &a, 8);
    memcpy(&ib, &b, 8);
    if (ia < 0) ia = INT64_MIN - ia;
    if (ib < 0) ib = INT64_MIN - ib;
    return ia > ib ? (uint64_t)ia - (uint64_t)ib : (uint64_t)ib - (uint64_t)ia;
}


/* exp(x - m) of the kernels, one lane, in the form they pick for m (or
 * with the clamp forced) */
static float shifted_exp_form(float x, float m, bool clamp)
{
    __m256 e = lb_exp_shifted_f32_avx2(_mm256_set1_ps(x), _mm256_set1_ps(-m),
                                       _mm256_set1_ps(lb_exp_floor_f32(m)), clamp);
    return _mm_cvtss_f32(_mm256_castps256_ps128(e));
}

static float shifted_exp(float x, float m)
{
    return shifted_exp_form(x, m, lb_exp_needs_clamp_f32(m));
}

/* Max ulp error of the f32 exp over the floats of [lo_bits, hi_bits] (bit
 * patterns of negative floats, so increasing magnitude) taken with stride. */
static uint64_t max_ulp_negative_range(uint32_t from, uint32_t to, uint32_t stride, float *worst)
{
    uint64_t max = 0;
    float t[8], e[8];
    for (uint64_t u = from; u <= to; u += 8 * (uint64_t)stride) {
        for (int k = 0; k < 8; k++) {
            uint64_t v = u + (uint64_t)k * stride;
            t[k] = tu_from_bits_f32((uint32_t)(v > to ? to : v));
        }
        _mm256_storeu_ps(e, lb_exp_f32_avx2(_mm256_loadu_ps(t), _mm256_setzero_ps()));
        for (int k = 0; k < 8; k++) {
            uint64_t d = ulp_f32(e[k], (float)exp((double)t[k]));
            if (d > max) {
                max = d;
                *worst = t[k];
            }
        }
    }
    return max;
}

Test(simd_exp, f32_dense_over_the_kernel_range)
{
    float worst = 0;
    uint64_t max = max_ulp_negative_range(tu_bits_f32(-0.0f), tu_bits_f32(-104.0f), 61, &worst);
    cr_expect(max <= 1, "exp f32 on [-104, 0]: %llu ulp at %a", (unsigned long long)max, worst);
    cr_log_info("exp f32 dense [-104,0]: max %llu ulp", (unsigned long long)max);
}

Test(simd_exp, f32_every_float_of_the_underflow_range)
{
    /* results below FLT_MIN: must be the right subnormal (or 0), not flushed */
    float worst = 0;
    uint64_t max = max_ulp_negative_range(tu_bits_f32(-87.0f), tu_bits_f32(-104.0f), 1, &worst);
    cr_expect(max <= 1, "exp f32 on [-104, -87]: %llu ulp at %a", (unsigned long long)max, worst);
    float e = shifted_exp(-100.0f, 0.0f);
    cr_expect(e > 0 && e < FLT_MIN, "exp(-100) = %a must be subnormal", e);
    cr_expect_eq(shifted_exp(-104.0f, 0.0f), 0.0f, "exp(-104) rounds to 0 in float");
    cr_expect_eq(shifted_exp(-1000.0f, 0.0f), 0.0f);
}

Test(simd_exp, f32_shifted_difference_is_exact)
{
    /* x - m rounds in float (up to 2^-18 absolute, many ulps of the result);
     * the kernels carry that error into the reduction */
    tu_rng r = {20};
    uint64_t max = 0;
    for (int i = 0; i < 2000000; i++) {
        float m = (float)tu_uniform(&r, -200, 200);
        if (i % 4 == 0) m = (float)tu_uniform(&r, -1e30, 1e30);
        if (i % 8 == 1) m = (float)tu_uniform(&r, -0x1p24, 0x1p24); /* largest unclamped */
        float x = (float)(m - tu_uniform(&r, 0, 110));
        if (i % 3 == 0) x = (float)tu_uniform(&r, -3, 3); /* small x, large |m| */
        if (x > m) continue;
        float want = (float)exp((double)x - (double)m);
        uint64_t d = ulp_f32(shifted_exp(x, m), want);
        if (d > max) max = d;
        cr_assert(d <= 1, "exp(%a - %a) = %a, want %a", x, m, shifted_exp(x, m), want);
        /* the unclamped form, where the kernels use it, is the clamped one */
        if (!lb_exp_needs_clamp_f32(m))
            cr_assert(shifted_exp_form(x, m, false) == shifted_exp_form(x, m, true));
    }
    cr_log_info("exp f32 shifted: max %llu ulp", (unsigned long long)max);
}

Test(simd_exp, f32_shifted_special_values)
{
    const float big = FLT_MAX;
    cr_expect_eq(shifted_exp(-INFINITY, 0.0f), 0.0f);
    cr_expect_eq(shifted_exp(-INFINITY, 1e30f), 0.0f);
    /* m = -FLT_MAX has no float floor below it: the kernels route such rows
     * to a scalar path (checked in test_isa_agreement); here only m above */
    cr_expect_eq(shifted_exp(-INFINITY, nextafterf(-big, 0)), 0.0f);
    cr_expect_eq(shifted_exp(-big, big), 0.0f);
    cr_expect_eq(shifted_exp(big, big), 1.0f);
    cr_expect_eq(shifted_exp(-big, -big), 1.0f);
    cr_expect_eq(shifted_exp(nextafterf(big, 0), big), 0.0f);
    cr_expect_eq(shifted_exp(3.0f, 3.0f), 1.0f);
    cr_expect(isnan(shifted_exp(NAN, 0.0f)));
    cr_expect(isnan(shifted_exp(NAN, -big)));
    cr_expect(isnan(shifted_exp(NAN, big)));
    cr_expect_eq(signbit(shifted_exp(-200.0f, 0.0f)), 0, "underflow gives +0");
}

Test(simd_exp, f32_any_argument)
{
    float worst = 0;
    uint64_t max = 0;
    tu_rng r = {21};
    for (int i = 0; i < 1000000; i++) {
        float t = (float)tu_uniform(&r, -110, 88.7);
        float e = _mm_cvtss_f32(_mm256_castps256_ps128(lb_exp_any_f32_avx2(_mm256_set1_ps(t))));
        uint64_t d = ulp_f32(e, (float)exp((double)t));
        if (d > max) {
            max = d;
            worst = t;
        }
    }
    cr_expect(max <= 1, "exp_any f32: %llu ulp at %a", (unsigned long long)max, worst);
    float inf = _mm_cvtss_f32(_mm256_castps256_ps128(lb_exp_any_f32_avx2(_mm256_set1_ps(89.0f))));
    cr_expect(isinf(inf) && inf > 0);
    inf = _mm_cvtss_f32(_mm256_castps256_ps128(lb_exp_any_f32_avx2(_mm256_set1_ps(INFINITY))));
    cr_expect(isinf(inf) && inf > 0);
    float zero =
        _mm_cvtss_f32(_mm256_castps256_ps128(lb_exp_any_f32_avx2(_mm256_set1_ps(-INFINITY))));
    cr_expect_eq(zero, 0.0f);
    float nan = _mm_cvtss_f32(_mm256_castps256_ps128(lb_exp_any_f32_avx2(_mm256_set1_ps(NAN))));
    cr_expect(isnan(nan));
}

static double exp_f64_lane(double t)
{
    return _mm_cvtsd_f64(_mm256_castpd256_pd128(lb_exp_shifted_f64_avx2(_mm256_set1_pd(t),
                                                                        _mm256_setzero_pd())));
}

static double exp_any_f64_lane(double t)
{
    return _mm_cvtsd_f64(_mm256_castpd256_pd128(lb_exp_any_f64_avx2(_mm256_set1_pd(t))));
}

Test(simd_exp, f64_sampled)
{
    tu_rng r = {22};
    uint64_t max = 0, max_any = 0;
    double worst = 0;
    for (int i = 0; i < 2000000; i++) {
        double t = i % 2 ? tu_uniform(&r, -746, 0) : -ldexp(tu_uniform(&r, 0, 1), -(i % 60));
        double want = (double)expl((long double)t);
        uint64_t d = ulp_f64(exp_f64_lane(t), want);
        if (d > max) {
            max = d;
            worst = t;
        }
        double t_any = tu_uniform(&r, -746, 709);
        d = ulp_f64(exp_any_f64_lane(t_any), (double)expl((long double)t_any));
        if (d > max_any) max_any = d;
    }
    cr_expect(max <= 1, "exp f64: %llu ulp at %a", (unsigned long long)max, worst);
    cr_expect(max_any <= 1, "exp_any f64: %llu ulp", (unsigned long long)max_any);
    cr_log_info("exp f64: max %llu ulp, any-argument %llu ulp", (unsigned long long)max,
                (unsigned long long)max_any);
}

Test(simd_exp, f64_underflow_and_specials)
{
    double e = exp_f64_lane(-740.0);
    cr_expect(e > 0 && e < DBL_MIN, "exp(-740) = %a must be subnormal", e);
    cr_expect(ulp_f64(e, (double)expl(-740.0L)) <= 1);
    cr_expect_eq(exp_f64_lane(-746.0), 0.0);
    cr_expect_eq(exp_f64_lane(-INFINITY), 0.0);
    cr_expect(isnan(exp_f64_lane(NAN)));
    cr_expect_eq(exp_f64_lane(0.0), 1.0);
    double inf = exp_any_f64_lane(710.0);
    cr_expect(isinf(inf) && inf > 0);
    cr_expect_eq(exp_any_f64_lane(-INFINITY), 0.0);
    cr_expect(isnan(exp_any_f64_lane(NAN)));
}

/* lb_log1p_nonneg (log1p through glibc's log and the rounding error of
 * 1 + v) against log1pl: at most 2 double ulps over v in [2^-1074, 2^1023]
 * (log-uniform samples, plus 1 +- tiny, powers of two and integers), and v
 * itself for v below 2^-60; 0, +inf and NaN map to 0, +inf, NaN. */
Test(simd_exp, log1p_nonneg_against_long_double)
{
    tu_rng r = {77};
    double worst = 0.0, worst_v = 0.0;
    for (int i = 0; i < 400000; i++) {
        double v;
        switch (i % 4) {
        case 0: v = ldexp(1.0 + tu_uniform(&r, 0, 1), (int)(tu_next(&r) % 2098) - 1074); break;
        case 1: v = ldexp(1.0, (int)(tu_next(&r) % 2097) - 1074); break;
        case 2: v = ldexp(tu_uniform(&r, 0, 1), -(int)(tu_next(&r) % 60)); break; /* near 0..1 */
        default: v = (double)(tu_next(&r) % 100000); break;
        }
        if (!(v >= 0.0) || isinf(v)) continue;
        double got = lb_log1p_nonneg(v);
        long double want = log1pl((long double)v);
        if (want == 0.0L) {
            cr_assert_eq(got, 0.0, "log1p(%a) = %a, want 0", v, got);
            continue;
        }
        double ulp = nextafter(fabs((double)want), INFINITY) - fabs((double)want);
        double err = (double)(fabsl((long double)got - want) / (long double)ulp);
        if (err > worst) worst = err, worst_v = v;
        if (v < 0x1p-60) cr_assert_eq(got, v, "log1p(%a) = %a, want the argument", v, got);
    }
    cr_log_info("lb_log1p_nonneg: max %.3f ulp (at %a)", worst, worst_v);
    cr_assert(worst <= 2.0, "lb_log1p_nonneg: %.3f ulp at %a", worst, worst_v);
    cr_assert_eq(lb_log1p_nonneg(0.0), 0.0);
    cr_assert(isinf(lb_log1p_nonneg(INFINITY)));
    cr_assert(isnan(lb_log1p_nonneg(NAN)));
    cr_assert_eq(lb_log1p_nonneg(0x1p-1074), 0x1p-1074);
}

/* lb_diff_mode_f32's power of two above m (read off m's exponent field for
 * normal m) is frexpf's 2^e: at every exponent, for the mantissas at its
 * ends and random ones, subnormals included, the mode switches exactly at
 * lo = -2^e (up to m = 2^127, the largest maximum Fast2Sum is tried for). */
Test(simd_exp, diff_mode_bound_is_frexpf)
{
    tu_rng r = {93};
    long checked = 0;
    cr_assert_eq(lb_diff_mode_f32(0x1p127f, -FLT_MAX), LB_DIFF_FAST_M); /* 2^e = 2^128: any finite lo */
    cr_assert_eq(lb_diff_mode_f32(0x1p127f, -INFINITY), LB_DIFF_TWOSUM);
    cr_assert_eq(lb_diff_mode_f32(nextafterf(0x1p127f, INFINITY), -1.0f), LB_DIFF_TWOSUM);
    for (uint32_t field = 0; field <= 253; field++) {
        for (int k = 0; k < 8; k++) {
            uint32_t mant = k == 0 ? 0u : k == 1 ? 1u : k == 2 ? 0x7fffffu : (uint32_t)(tu_next(&r) & 0x7fffffu);
            if (field == 0 && mant == 0) continue; /* m = 0 has its own rule */
            float m = tu_from_bits_f32(field << 23 | mant);
            int e;
            (void)frexpf(m, &e);
            float bound = ldexpf(1.0f, e);
            cr_assert_eq(lb_diff_mode_f32(m, -bound), LB_DIFF_TWOSUM, "m=%a", m);
            cr_assert_eq(lb_diff_mode_f32(m, nextafterf(-bound, 0.0f)), LB_DIFF_FAST_M, "m=%a", m);
            cr_assert_eq(lb_diff_mode_f32(m, -m), LB_DIFF_FAST_M, "m=%a", m);
            checked++;
        }
    }
    cr_assert(checked > 2000);
}

/* Fast2Sum forms of x - m (lb_diff_mode_f32) are exact wherever the mode
 * allows them, so exp(x - m) has the same bits as with TwoSum: negative
 * maxima (FAST_X), positive maxima with every entry above -2^e (FAST_M; e
 * from frexpf, entries up to the boundary), m = 0, entries below the floor
 * and -inf. Also the mode choice itself at the exponent boundary. */
Test(simd_exp, fast2sum_difference_matches_twosum)
{
    cr_assert_eq(lb_diff_mode_f32(-3.0f, -1e30f), LB_DIFF_FAST_X);
    cr_assert_eq(lb_diff_mode_f32(0.0f, -1e30f), LB_DIFF_FAST_M);
    cr_assert_eq(lb_diff_mode_f32(1.5f, nextafterf(-2.0f, 0.0f)), LB_DIFF_FAST_M);
    cr_assert_eq(lb_diff_mode_f32(1.5f, -2.0f), LB_DIFF_TWOSUM);  /* -2 has exponent 1 > 0 */
    cr_assert_eq(lb_diff_mode_f32(2.0f, -3.9f), LB_DIFF_FAST_M); /* 2 = 0.5 * 2^2: bound 4 */
    cr_assert_eq(lb_diff_mode_f32(2.0f, -4.0f), LB_DIFF_TWOSUM);
    cr_assert_eq(lb_diff_mode_f32(NAN, 0.0f), LB_DIFF_TWOSUM);
    tu_rng r = {91};
    float x[8], got[8], want[8];
    long checked = 0;
    for (int trial = 0; trial < 200000; trial++) {
        float m;
        switch (trial % 4) {
        case 0: m = -(float)ldexp(1.0 + tu_uniform(&r, 0, 1), (int)(tu_next(&r) % 40) - 20); break;
        case 1: m = (float)ldexp(1.0 + tu_uniform(&r, 0, 1), (int)(tu_next(&r) % 40) - 20); break;
        case 2: m = (float)ldexp(1.0, (int)(tu_next(&r) % 40) - 20); break; /* powers of two */
        default: m = trial % 8 == 3 ? 0.0f : (float)tu_uniform(&r, -5, 5); break;
        }
        int e;
        (void)frexpf(m, &e);
        float bound = m > 0.0f ? ldexpf(1.0f, e) : INFINITY; /* |x| < bound keeps FAST_M */
        for (int l = 0; l < 8; l++) {
            double u = tu_uniform(&r, 0, 1);
            switch (tu_next(&r) % 6) {
            case 0: x[l] = m; break;
            case 1: x[l] = m - (float)(u * 200.0); break;                   /* some below the floor */
            case 2: x[l] = m > 0.0f ? nextafterf(-bound, 0.0f) : m - (float)(u * 1e-3); break;
            case 3: x[l] = (float)(u * 1e-30) * (m > 0.0f ? 1.0f : -1.0f) + (m > 0.0f ? 0.0f : m); break;
            case 4: x[l] = m > 0.0f ? (float)(-bound + u * (bound + m)) : m * (float)(1.0 + u * 50.0); break;
            default: x[l] = -INFINITY; break;
            }
            if (x[l] > m) x[l] = m;
            if (m > 0.0f && !(x[l] > -bound)) x[l] = m;
        }
        float lo = x[0];
        for (int l = 1; l < 8; l++) lo = fminf(lo, x[l]);
        enum lb_diff_mode mode = lb_diff_mode_f32(m, lo);
        cr_assert(mode != LB_DIFF_TWOSUM || (m > 0.0f && !(lo > -bound)),
                  "m=%a lo=%a: Fast2Sum should apply", m, lo);
        const __m256 minus_m = _mm256_set1_ps(-m), floor = _mm256_set1_ps(lb_exp_floor_f32(m));
        __m256 v = _mm256_loadu_ps(x);
        _mm256_storeu_ps(want, lb_exp_shifted_f32_avx2(v, minus_m, floor, false));
        if (mode == LB_DIFF_FAST_M)
            _mm256_storeu_ps(got, lb_exp_shifted_mode_f32_avx2(v, minus_m, floor, false, LB_DIFF_FAST_M));
        else if (mode == LB_DIFF_FAST_X)
            _mm256_storeu_ps(got, lb_exp_shifted_mode_f32_avx2(v, minus_m, floor, false, LB_DIFF_FAST_X));
        else
            continue;
        for (int l = 0; l < 8; l++)
            cr_assert(memcmp(&got[l], &want[l], sizeof(float)) == 0,
                      "mode %d, m=%a x=%a: Fast2Sum gives %a, TwoSum %a", (int)mode, m, x[l], got[l], want[l]);
        checked++;
    }
    cr_log_info("fast2sum: %ld vectors checked", checked);
    cr_assert(checked > 150000);
}

/* ------------------------------------------------------------------------ */
/* Row tails without masked loads (lb_load_part_*, lb_store_part_*)          */
/* ------------------------------------------------------------------------ */

/* Two pages, the second PROT_NONE: a row placed to end at the first page's
 * end faults on any read or write past it. NULL if mmap is refused. */
static unsigned char *guarded_page(long *page)
{
    *page = sysconf(_SC_PAGESIZE);
    unsigned char *p = mmap(NULL, (size_t)(2 * *page), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    cr_assert(mprotect(p + *page, (size_t)*page, PROT_NONE) == 0);
    return p;
}

/* The three forms of a tail, on raw bytes, for one element type: the
 * masked load, lb_load_part_* and lb_store_part_* (a vector in memory). */
typedef struct tail_forms {
    size_t elem, lanes;
    void (*masked_load)(const void *row, size_t j, size_t left, void *vec);
    void (*part_load)(const void *row, size_t n, size_t j, void *vec);
    void (*part_store)(void *dst, size_t left, const void *vec);
} tail_forms;

/* The three forms for element type C (f32 / f64, intrinsics suffix SUF) */
#define TAIL_FORMS(T, C, SUF)                                                              \
    static void masked_load_##T(const void *row, size_t j, size_t left, void *vec)         \
    {                                                                                      \
        _mm256_storeu_##SUF(vec, _mm256_maskload_##SUF((const C *)row + j, lb_tail_mask_##T(left))); \
    }                                                                                      \
    static void part_load_##T(const void *row, size_t n, size_t j, void *vec)              \
    {                                                                                      \
        _mm256_storeu_##SUF(vec, lb_load_part_##T(row, n, j));                             \
    }                                                                                      \
    static void part_store_##T(void *dst, size_t left, const void *vec)                    \
    {                                                                                      \
        lb_store_part_##T(dst, left, _mm256_loadu_##SUF(vec));                             \
    }
TAIL_FORMS(f32, float, ps)
TAIL_FORMS(f64, double, pd)
#undef TAIL_FORMS

/* Byte i of element k of the test row: distinct, NaN payloads among them. */
static void fill_row(unsigned char *row, size_t n, size_t elem)
{
    for (size_t b = 0; b < n * elem; b++) row[b] = (unsigned char)(0x7f - 3 * (b / elem) + (b % elem ? 0x40 : 0));
}

/* Every tail (1 .. lanes-1 elements) of every row of 1..max_n elements,
 * the row ending where a PROT_NONE page starts: the tail load has the
 * masked load's bits, and the tail store writes exactly the tail's
 * elements, nothing before them (after them is the guard page). */
static long check_tails(const tail_forms *t, size_t max_n)
{
    long page;
    unsigned char *mem = guarded_page(&page);
    cr_assert(mem);
    long checked = 0;
    for (size_t n = 1; n <= max_n; n++) {
        unsigned char *row = mem + page - n * t->elem;
        for (size_t left = 1; left < t->lanes && left <= n; left++) {
            size_t j = n - left;
            unsigned char want[32], got[32];
            fill_row(row, n, t->elem);
            t->masked_load(row, j, left, want);
            t->part_load(row, n, j, got);
            cr_assert(memcmp(want, got, 32) == 0, "elem %zu, n=%zu j=%zu: load differs", t->elem, n, j);
            memset(row, 0xA5, n * t->elem);
            t->part_store(row + j * t->elem, left, got);
            for (size_t b = 0; b < n * t->elem; b++) {
                if (b < j * t->elem) cr_assert(row[b] == 0xA5, "elem %zu, n=%zu j=%zu: byte %zu overwritten", t->elem, n, j, b);
                else cr_assert(row[b] == got[b - j * t->elem], "elem %zu, n=%zu j=%zu: byte %zu not stored", t->elem, n, j, b);
            }
            checked++;
        }
    }
    munmap(mem, (size_t)(2 * page));
    return checked;
}

Test(simd_exp, f32_tail_load_and_store_match_masked_forms)
{
    const tail_forms f32 = {sizeof(float), 8, masked_load_f32, part_load_f32, part_store_f32};
    cr_assert(check_tails(&f32, 40) == 7 * 40 - 21);
}

Test(simd_exp, f64_tail_load_and_store_match_masked_forms)
{
    const tail_forms f64 = {sizeof(double), 4, masked_load_f64, part_load_f64, part_store_f64};
    cr_assert(check_tails(&f64, 20) == 3 * 20 - 3);
}
