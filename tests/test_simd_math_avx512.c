/*
 * test_simd_math_avx512.c - the AVX-512 vector exp (kernels/exp_avx512.h)
 * against the AVX2 one (kernels/exp_avx2.h), bit for bit. test_simd_math.c
 * bounds the AVX2 exp (<= 1 ulp); equal bits carry that bound over.
 *
 *   exp(t) on [-104, 0]          every 61st float, and every float of the
 *                                subnormal-result range [-104, -87];
 *                                LB_TEST_EXHAUSTIVE=1: every float (about
 *                                1.1e9, a few seconds in a Release build)
 *   exp(x - m), each way of forming x - m, with and without the floor
 *   exp(t) for any t (the log-softmax backward form): every 61st float of
 *                                [-120, 100], and NaN, +-inf
 *   f64 exp(x - m) and exp(t) for any t: random arguments over their
 *                                ranges, the subnormal-result range, t / ln2
 *                                at half-integers, edge values
 *   log1p of four doubles (the short-row groups' logarithms): within 4
 *                                double ulp of log1pl (measured max 1.93 over
 *                                [0, 2^52), log-uniform, and edge values)
 * Run only in the avx512 pass (skipped elsewhere, and where the CPU lacks
 * AVX-512).
 */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void require_avx512(void)
{
    const char *want = getenv("LOSSBLAS_ISA");
    /* testutil.c has already skipped the avx512 pass on a CPU without it */
    if (!want || strcmp(want, "avx512") != 0) cr_skip_test("runs in the avx512 pass only");
}

TestSuite(simd_exp_avx512, .init = require_avx512);

/* Everything below may use AVX-512: it runs only after the check above. */
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#include "exp_avx512.h"


/* 16 exps both ways; false (with the first lane that differs) unless the
 * bits agree. NaN results only have to agree in being NaN. */
static bool same_exps(const float t[16], bool any_argument, int *lane, float *a, float *b)
{
    float e5[16], e2[16];
    __m512 v = _mm512_loadu_ps(t);
    if (any_argument) {
        _mm512_storeu_ps(e5, lb_exp512_any_f32(v));
        _mm256_storeu_ps(e2, lb_exp_any_f32_avx2(_mm256_loadu_ps(t)));
        _mm256_storeu_ps(e2 + 8, lb_exp_any_f32_avx2(_mm256_loadu_ps(t + 8)));
    } else {
        lb_exp512_reduced_f32 q = lb_exp512_reduce_f32(v, _mm512_setzero_ps());
        _mm512_storeu_ps(e5, lb_exp512_scale_f32(lb_exp512_poly_f32(q.r), q.n));
        _mm256_storeu_ps(e2, lb_exp_f32_avx2(_mm256_loadu_ps(t), _mm256_setzero_ps()));
        _mm256_storeu_ps(e2 + 8, lb_exp_f32_avx2(_mm256_loadu_ps(t + 8), _mm256_setzero_ps()));
    }
    for (int k = 0; k < 16; k++) {
        bool same = isnan(e5[k]) ? isnan(e2[k]) : tu_bits_f32(e5[k]) == tu_bits_f32(e2[k]);
        if (!same) {
            *lane = k, *a = e5[k], *b = e2[k];
            return false;
        }
    }
    return true;
}

/* Checks the floats with bit patterns from, from + stride, ... up to `to`
 * (the same sign, increasing magnitude); returns how many were checked. */
static uint64_t check_range(uint32_t from, uint32_t to, uint32_t stride, bool any_argument)
{
    float t[16];
    uint64_t checked = 0;
    for (uint64_t u = from; u <= to; u += 16 * (uint64_t)stride) {
        for (int k = 0; k < 16; k++) {
            uint64_t v = u + (uint64_t)k * stride;
            t[k] = tu_from_bits_f32((uint32_t)(v > to ? to : v));
        }
        int lane;
        float a, b;
        if (!same_exps(t, any_argument, &lane, &a, &b))
            cr_assert_fail("exp(%a): %a (avx512) vs %a (avx2)", (double)t[lane], (double)a,
                           (double)b);
        checked += 16;
    }
    return checked;
}

Test(simd_exp_avx512, exp_matches_avx2_over_the_kernel_range)
{
    const char *exhaustive = getenv("LB_TEST_EXHAUSTIVE");
    uint32_t stride = exhaustive && strcmp(exhaustive, "1") == 0 ? 1 : 61;
    uint64_t n = check_range(tu_bits_f32(-0.0f), tu_bits_f32(-104.0f), stride, false);
    n += check_range(tu_bits_f32(-87.0f), tu_bits_f32(-104.0f), 1, false); /* subnormal results */
    cr_log_info("exp f32 avx512 == avx2 on %llu floats of [-104, 0] (stride %u)",
                (unsigned long long)n, stride);
}

Test(simd_exp_avx512, any_argument_matches_avx2)
{
    check_range(tu_bits_f32(0.0f), tu_bits_f32(100.0f), 61, true);
    check_range(tu_bits_f32(-0.0f), tu_bits_f32(-120.0f), 61, true);
    const float specials[16] = {NAN, INFINITY, -INFINITY, 88.7f, 89.0f, 89.5f, -103.9f, -104.0f,
                                -110.0f, -1e30f, 1e30f, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN, 0.0f};
    int lane;
    float a, b;
    cr_assert(same_exps(specials, true, &lane, &a, &b), "exp(%a): %a (avx512) vs %a (avx2)",
              (double)specials[lane], (double)a, (double)b);
}

/* exp(x - m) for random rows x <= m: every way of forming x - m (the one
 * lb_diff_mode_f32 picks, and TwoSum always), with the floor applied and,
 * where no entry is below it, skipped. */
Test(simd_exp_avx512, shifted_forms_match_avx2)
{
    tu_rng r = {5120};
    const enum lb_diff_mode modes[3] = {LB_DIFF_TWOSUM, LB_DIFF_FAST_M, LB_DIFF_FAST_X};
    size_t compared = 0;
    for (int rep = 0; rep < 20000; rep++) {
        float m = (float)tu_uniform(&r, -3e4, 3e4), width = (float)tu_uniform(&r, 1, 140);
        if (rep % 4 == 0) m = (float)tu_uniform(&r, -2, 2);
        float x[16], lo = m;
        for (int k = 0; k < 16; k++) {
            x[k] = m - (float)tu_uniform(&r, 0, width);
            if (k == 3) x[k] = m;
            if (rep % 7 == 0 && k == 5) x[k] = -INFINITY;
            if (x[k] < lo) lo = x[k];
        }
        float floor = lb_exp_floor_f32(m);
        enum lb_diff_mode chosen = lb_diff_mode_f32(m, lo);
        for (int f = 0; f < 2; f++) {
            bool floored = f == 0;
            if (!floored && !(lo >= floor)) continue; /* the kernels never skip it then */
            for (int md = 0; md < 3; md++) {
                enum lb_diff_mode mode = modes[md];
                if (mode != LB_DIFF_TWOSUM && mode != chosen) continue; /* not exact there */
                __m512 e5 = lb_exp512_shifted_f32(_mm512_loadu_ps(x), _mm512_set1_ps(-m),
                                                  _mm512_set1_ps(floor), floored, false, mode);
                float a[16], b[16];
                _mm512_storeu_ps(a, e5);
                for (int h = 0; h < 2; h++)
                    _mm256_storeu_ps(b + 8 * h, lb_exp_shifted_mode_f32_avx2(
                                                    _mm256_loadu_ps(x + 8 * h), _mm256_set1_ps(-m),
                                                    _mm256_set1_ps(floor), false, mode));
                for (int k = 0; k < 16; k++)
                    cr_assert(tu_bits_f32(a[k]) == tu_bits_f32(b[k]),
                              "exp(%a - %a), mode %d, floor %d: %a (avx512) vs %a (avx2)",
                              (double)x[k], (double)m, (int)mode, f, (double)a[k], (double)b[k]);
                compared += 16;
            }
        }
    }
    cr_assert(compared > 20000 * 16, "%zu compared", compared);
}

/* f64: eight exps both ways, bitwise (NaN: both NaN). */
static void check_f64_lanes(const double t[8], const double m_or_nan)
{
    double a[8], b[8];
    bool shifted = !isnan(m_or_nan);
    if (shifted) {
        _mm512_storeu_pd(a, lb_exp512_shifted_f64(_mm512_loadu_pd(t), _mm512_set1_pd(m_or_nan)));
        for (int h = 0; h < 2; h++)
            _mm256_storeu_pd(b + 4 * h, lb_exp_shifted_f64_avx2(_mm256_loadu_pd(t + 4 * h),
                                                                _mm256_set1_pd(m_or_nan)));
    } else {
        _mm512_storeu_pd(a, lb_exp512_any_f64(_mm512_loadu_pd(t)));
        for (int h = 0; h < 2; h++)
            _mm256_storeu_pd(b + 4 * h, lb_exp_any_f64_avx2(_mm256_loadu_pd(t + 4 * h)));
    }
    for (int k = 0; k < 8; k++)
        cr_assert(isnan(a[k]) ? isnan(b[k]) : tu_bits_f64(a[k]) == tu_bits_f64(b[k]),
                  "exp f64 (%s) of %a (m %a): %a (avx512) vs %a (avx2)",
                  shifted ? "shifted" : "any", t[k], m_or_nan, a[k], b[k]);
}

/* exp(x - m) for x <= m (the f64 softmax, log-softmax and cross-entropy
 * sweeps) and exp(t) for any t (the f64 log-softmax backward): random
 * arguments over the whole range each form takes, the subnormal-result
 * range densely, ties of t / ln2 at half-integers, and the edge values. */
Test(simd_exp_avx512, f64_forms_match_avx2)
{
    tu_rng r = {5121};
    double t[8];
    for (int rep = 0; rep < 400000; rep++) {
        double m = rep % 3 == 0 ? tu_uniform(&r, -1e6, 1e6) : tu_uniform(&r, -5, 5);
        double width = rep % 5 == 0 ? 800.0 : rep % 5 == 1 ? 0.5 : tu_uniform(&r, 1, 60);
        for (int k = 0; k < 8; k++) t[k] = m - tu_uniform(&r, 0, width);
        if (rep % 11 == 0) t[2] = m;
        if (rep % 13 == 0) t[5] = -INFINITY;
        check_f64_lanes(t, m);
        for (int k = 0; k < 8; k++) t[k] = tu_uniform(&r, -760, 720);
        check_f64_lanes(t, NAN);
    }
    for (int rep = 0; rep < 100000; rep++) { /* results near and below DBL_MIN */
        for (int k = 0; k < 8; k++) t[k] = tu_uniform(&r, -746.5, -700);
        check_f64_lanes(t, 0.0);
        check_f64_lanes(t, NAN);
    }
    for (int k = -1600; k < 1600; k += 8) { /* t / ln2 near half-integers */
        for (int l = 0; l < 8; l++) t[l] = (k + l + 0.5) * 0x1.62e42fefa39efp-1;
        check_f64_lanes(t, NAN);
        for (int l = 0; l < 8; l++) t[l] = -fabs(t[l]);
        check_f64_lanes(t, 0.0);
    }
    const double specials[8] = {NAN, INFINITY, -INFINITY, 709.78, 710.0, 711.0, -745.2, -746.0};
    check_f64_lanes(specials, NAN);
    const double specials2[8] = {-DBL_MAX, DBL_MAX, DBL_MIN, -DBL_MIN, 0.0, -0.0, -1e300, 1e-300};
    check_f64_lanes(specials2, NAN);
}

static double ulps_from(double got, long double want)
{
    long double d = fabsl((long double)got - want);
    double w = (double)want;
    return (double)(d / (long double)(nextafter(fabs(w), INFINITY) - fabs(w)));
}

Test(simd_exp_avx512, log1p4_against_long_double)
{
    tu_rng r = {1024};
    double worst = 0, worst_at = 0;
    const double edges[] = {0.0, 0x1p-1074, 1e-300, 1e-20, 0x1p-53, 0x1p-52, 1e-10, 0.25, 0.4999999,
                            0.5, 0.5000001, 1.0, 1.5, 2.0, 3.0, 1e3, 1e10, 0x1p52 - 1.0};
    const size_t n_edges = sizeof edges / sizeof *edges;
    for (size_t i = 0; i < 400000 + n_edges; i += 4) {
        double v[4], out[4];
        for (int k = 0; k < 4; k++) {
            size_t at = i + (size_t)k;
            v[k] = at < n_edges ? edges[at] : exp2(tu_uniform(&r, -60.0, 51.99));
        }
        _mm256_storeu_pd(out, lb_log1p4_nonneg(_mm256_loadu_pd(v)));
        for (int k = 0; k < 4; k++) {
            long double want = log1pl((long double)v[k]);
            if (want == 0) {
                cr_assert(out[k] == 0.0, "log1p(%a) = %a, not 0", v[k], out[k]);
                continue;
            }
            double u = ulps_from(out[k], want);
            if (u > worst) worst = u, worst_at = v[k];
        }
    }
    cr_assert(worst <= 4.0, "log1p4: %.2f ulp at v = %a", worst, worst_at);
    cr_log_info("log1p4: max %.2f ulp (at %a)", worst, worst_at);
    /* lanes beyond the vector form: NaN and huge v go through the scalar one */
    double v[4] = {NAN, INFINITY, 0x1p60, 1.0}, out[4];
    lb_log1p_nonneg_n(4, v, out);
    cr_assert(isnan(out[0]) && out[1] == INFINITY && out[2] == log(0x1p60) && out[3] == out[3]);
}

#pragma GCC pop_options
