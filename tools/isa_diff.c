/*
 * isa_diff.c - measures how far each ISA's per-row kernels are from the
 * scalar reference kernels and from a long-double oracle, on random rows of
 * many widths. A measuring tool, not a test: it prints a table and asserts
 * nothing.
 *
 *   build: cmake --build build-fuzz --target isa_diff   (fuzz/CMakeLists.txt)
 *          or tools/fuzz_run.sh, which builds it too
 *   run:   build-fuzz/fuzz/isa_diff
 *
 * Reported per element type and input spread:
 *  - softmax and log-softmax: maximum ULP distance, SIMD vs scalar and each
 *    vs a long-double oracle rounded to the type. The oracle computes
 *    log(s) as log1p(sum of the non-maximal terms), so a dominant entry's
 *    log-probability (tiny, near 0) is exact to its last bit; a kernel that
 *    computes log(s) directly shows large ULP counts there although its
 *    absolute error is about one unit roundoff;
 *  - backward passes and the cross-entropy gradient: the largest difference
 *    SIMD vs scalar relative to the magnitude of the terms forming each
 *    element, in units of the type's unit roundoff u: softmax backward
 *    |y_j| (|dy_j| + sum_k |dy_k y_k|), log-softmax backward |dy_j| +
 *    exp(logy_j) sum_k |dy_k|, cross-entropy p_j + [j == t] (ULP and plain
 *    relative error are meaningless where a result cancels to near 0);
 *  - cross-entropy row loss: maximum relative error, SIMD vs scalar and each
 *    vs the oracle.
 * Inputs: logits uniform in [-5, 5] and [-60, 60] (most probabilities tiny),
 * 40 rows per width, widths 1..131072; a sparse target drawn per row.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x1234567887654321ull;

static double uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) * 0x1.0p-53;
}

static int64_t ordered32(float f)
{
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}

static uint64_t ulp32(float a, float b)
{
    if (isnan(a) || isnan(b)) return (isnan(a) && isnan(b)) ? 0 : UINT64_MAX;
    int64_t d = ordered32(a) - ordered32(b);
    return d < 0 ? (uint64_t)-d : (uint64_t)d;
}

/* Doubles mapped to integers ordered like the doubles (-0 and +0 both 0). */
static int64_t ordered64(double d)
{
    int64_t i;
    memcpy(&i, &d, sizeof i);
    return i < 0 ? INT64_MIN - i : i;
}

static uint64_t ulp64(double a, double b)
{
    if (isnan(a) || isnan(b)) return (isnan(a) && isnan(b)) ? 0 : UINT64_MAX;
    if (a == b) return 0;
    int64_t oa = ordered64(a), ob = ordered64(b);
    /* |oa - ob| without overflow: both fit in 63 bits plus sign */
    return oa > ob ? (uint64_t)oa - (uint64_t)ob : (uint64_t)ob - (uint64_t)oa;
}

static double rel(long double got, long double want)
{
    if (got == want) return 0;
    return (double)(fabsl(got - want) / fabsl(want));
}

/* long-double softmax and log-softmax of one row; log s = log1p(rest), rest
 * the sum without the (first) maximum's own term 1 */
static void softmax_ld(size_t n, const double *x, long double *y, long double *logy)
{
    size_t arg = 0;
    for (size_t j = 1; j < n; j++) arg = x[j] > x[arg] ? j : arg;
    long double m = x[arg], rest = 0;
    for (size_t j = 0; j < n; j++)
        if (j != arg) rest += expl(x[j] - m);
    long double log_s = log1pl(rest);
    for (size_t j = 0; j < n; j++) {
        y[j] = expl(x[j] - m) / (1 + rest);
        logy[j] = (x[j] - m) - log_s;
    }
}

/* max_j |a_j - b_j| / scale_j in units of u, scale_j the magnitude of the
 * terms that make up element j (so cancellation to near 0 is not counted as
 * error: what a backward-stable kernel guarantees), at least floor_ (the
 * type's smallest normal: below it results are subnormal and only absolutely
 * accurate) */
static double scaled_diff(size_t n, const double *a, const double *b, const double *scale,
                          double u, double floor_)
{
    double worst = 0;
    for (size_t j = 0; j < n; j++) {
        double d = fabs(a[j] - b[j]);
        if (d != 0) worst = fmax(worst, d / fmax(scale[j], floor_) / u);
    }
    return worst;
}

typedef struct stats {
    uint64_t sm_vs_scalar, sm_vs_exact, sm_scalar_vs_exact;
    uint64_t lsm_vs_scalar, lsm_vs_exact, lsm_scalar_vs_exact;
    double bwd_vs_scalar, lbwd_vs_scalar; /* scaled difference, in u */
    double xent_loss_rel_vs_scalar, xent_loss_rel_vs_exact, xent_scalar_rel_vs_exact;
    double xent_grad_vs_scalar; /* scaled difference, in u */
    size_t positive_log_probs;  /* SIMD log-softmax entries > 0 (impossible exactly) */
} stats;

static void max_u(uint64_t *m, uint64_t v) { *m = v > *m ? v : *m; }
static void max_d(double *m, double v) { *m = v > *m ? v : *m; }

#define MEASURE(REAL, SUF, ULP, U, MINNORM)                                                      \
    static void measure_##SUF(const lb_kernel_table *simd, const lb_kernel_table *ref,         \
                              size_t n, double spread, stats *st)                              \
    {                                                                                          \
        REAL *x = malloc(n * sizeof *x), *y1 = malloc(n * sizeof *y1),                         \
             *y2 = malloc(n * sizeof *y2), *dy = malloc(n * sizeof *dy);                       \
        double *xd = malloc(n * sizeof *xd), *g1 = malloc(n * sizeof *g1),                    \
               *g2 = malloc(n * sizeof *g2), *sc = malloc(n * sizeof *sc);                     \
        long double *ye = malloc(n * sizeof *ye), *lye = malloc(n * sizeof *lye);              \
        for (int row = 0; row < 40; row++) {                                                   \
            for (size_t j = 0; j < n; j++) {                                                   \
                x[j] = (REAL)uniform(-spread, spread);                                         \
                xd[j] = x[j];                                                                  \
                dy[j] = (REAL)uniform(-1, 1);                                                  \
            }                                                                                  \
            softmax_ld(n, xd, ye, lye);                                                        \
            simd->softmax_##SUF(n, x, y1);                                                     \
            ref->softmax_##SUF(n, x, y2);                                                      \
            for (size_t j = 0; j < n; j++) {                                                   \
                max_u(&st->sm_vs_scalar, ULP(y1[j], y2[j]));                                   \
                max_u(&st->sm_vs_exact, ULP(y1[j], (REAL)ye[j]));                              \
                max_u(&st->sm_scalar_vs_exact, ULP(y2[j], (REAL)ye[j]));                       \
            }                                                                                  \
            /* backward from the reference softmax output */                                   \
            REAL *dx1 = malloc(n * sizeof *dx1), *dx2 = malloc(n * sizeof *dx2);               \
            simd->softmax_backward_##SUF(n, y2, dy, dx1);                                      \
            ref->softmax_backward_##SUF(n, y2, dy, dx2);                                       \
            double dot_abs = 0, sum_abs = 0;                                                   \
            for (size_t j = 0; j < n; j++) {                                                   \
                dot_abs += fabs((double)dy[j] * y2[j]);                                        \
                sum_abs += fabs((double)dy[j]);                                                \
            }                                                                                  \
            for (size_t j = 0; j < n; j++) {                                                   \
                g1[j] = dx1[j], g2[j] = dx2[j];                                                \
                sc[j] = fabs((double)y2[j]) * (fabs((double)dy[j]) + dot_abs);                 \
            }                                                                                  \
            max_d(&st->bwd_vs_scalar, scaled_diff(n, g1, g2, sc, U, MINNORM));                          \
            simd->log_softmax_##SUF(n, x, y1);                                                 \
            ref->log_softmax_##SUF(n, x, y2);                                                  \
            for (size_t j = 0; j < n; j++) {                                                   \
                max_u(&st->lsm_vs_scalar, ULP(y1[j], y2[j]));                                  \
                max_u(&st->lsm_vs_exact, ULP(y1[j], (REAL)lye[j]));                            \
                max_u(&st->lsm_scalar_vs_exact, ULP(y2[j], (REAL)lye[j]));                     \
                st->positive_log_probs += y1[j] > 0;                                           \
            }                                                                                  \
            simd->log_softmax_backward_##SUF(n, y2, dy, dx1);                                  \
            ref->log_softmax_backward_##SUF(n, y2, dy, dx2);                                   \
            for (size_t j = 0; j < n; j++) {                                                   \
                g1[j] = dx1[j], g2[j] = dx2[j];                                                \
                sc[j] = fabs((double)dy[j]) + exp((double)y2[j]) * sum_abs;                    \
            }                                                                                  \
            max_d(&st->lbwd_vs_scalar, scaled_diff(n, g1, g2, sc, U, MINNORM));                         \
            /* cross-entropy row, plain sparse target */                                       \
            size_t t = (size_t)uniform(0, (double)n);                                          \
            lb_xent_coef_##SUF coef = {0};                                                     \
            coef.target = t;                                                                   \
            coef.target_coef = 1.0;                                                            \
            double l1 = simd->xent_row_##SUF(n, x, &coef, dx1, 1.0);                           \
            double l2 = ref->xent_row_##SUF(n, x, &coef, dx2, 1.0);                            \
            max_d(&st->xent_loss_rel_vs_scalar, rel(l1, l2));                                  \
            max_d(&st->xent_loss_rel_vs_exact, rel(l1, -lye[t]));                              \
            max_d(&st->xent_scalar_rel_vs_exact, rel(l2, -lye[t]));                            \
            for (size_t j = 0; j < n; j++) {                                                   \
                g1[j] = dx1[j], g2[j] = dx2[j];                                                \
                sc[j] = (double)ye[j] + (j == t);                                              \
            }                                                                                  \
            max_d(&st->xent_grad_vs_scalar, scaled_diff(n, g1, g2, sc, U, MINNORM));                    \
            free(dx1);                                                                         \
            free(dx2);                                                                         \
        }                                                                                      \
        free(x); free(y1); free(y2); free(dy); free(xd); free(ye); free(lye); free(g1);        \
        free(g2); free(sc);                                                                    \
    }
MEASURE(float, f32, ulp32, 0x1p-24, 0x1p-126)
MEASURE(double, f64, ulp64, 0x1p-53, 0x1p-1022)

int main(void)
{
    static const size_t widths[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
                                    63, 64, 65, 100, 1000, 4099, 131072};
    static const double spreads[] = {5, 60};
    lb_kernel_table ref, simd;
    lb_fill_reference_kernels(&ref);
    lb_fill_reference_kernels(&simd);
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        printf("this CPU has no AVX2+FMA: nothing to compare\n");
        return 0;
    }
#endif
    lb_fill_avx2_kernels(&simd);
    printf("ISA %s vs scalar reference; 40 rows per width, widths 1..131072\n", simd.name);
    printf("%-4s %-6s | %-26s | %-26s | %-8s %-8s | %-29s | %-8s | %s\n", "type", "spread",
           "softmax ULP simd/sc simd/or sc/or", "log-softmax ULP (same)", "bwd (u)", "logbwd",
           "xent loss rel err (same)", "grad (u)", "logp>0");
    for (int type = 0; type < 2; type++) {
        for (size_t s = 0; s < 2; s++) {
            stats st = {0};
            for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
                if (type == 0) measure_f32(&simd, &ref, widths[w], spreads[s], &st);
                else measure_f64(&simd, &ref, widths[w], spreads[s], &st);
            }
            printf("%-4s %-6g | %8llu %8llu %8llu | %8llu %8llu %8llu | %8.1f %8.1f | "
                   "%9.2e %9.2e %9.2e | %8.1f | %zu\n",
                   type ? "f64" : "f32", spreads[s], (unsigned long long)st.sm_vs_scalar,
                   (unsigned long long)st.sm_vs_exact, (unsigned long long)st.sm_scalar_vs_exact,
                   (unsigned long long)st.lsm_vs_scalar, (unsigned long long)st.lsm_vs_exact,
                   (unsigned long long)st.lsm_scalar_vs_exact, st.bwd_vs_scalar,
                   st.lbwd_vs_scalar, st.xent_loss_rel_vs_scalar, st.xent_loss_rel_vs_exact,
                   st.xent_scalar_rel_vs_exact, st.xent_grad_vs_scalar, st.positive_log_probs);
        }
    }
    printf("simd = %s kernels, sc = scalar reference kernels, or = long-double oracle; "
           "(u) = difference simd vs scalar in unit roundoffs of the terms' magnitude\n", simd.name);
    return 0;
}
