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
 * For softmax / log-softmax and both backward passes it reports the maximum
 * ULP distance (avx2 vs scalar, and each vs the correctly rounded long-double
 * result); for the cross-entropy row kernel the maximum relative error of the
 * row loss and the maximum ULP of the gradient. Inputs: logits uniform in
 * [-5, 5] ("narrow") and [-60, 60] ("wide", most probabilities underflow to
 * tiny values), 40 rows per width.
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

static uint64_t ulp64(double a, double b)
{
    if (isnan(a) || isnan(b)) return (isnan(a) && isnan(b)) ? 0 : UINT64_MAX;
    if (a == b) return 0;
    if ((a < 0) != (b < 0)) return UINT64_MAX; /* not expected here */
    int64_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    return ia > ib ? (uint64_t)(ia - ib) : (uint64_t)(ib - ia);
}

static double rel(long double got, long double want)
{
    if (got == want) return 0;
    return (double)(fabsl(got - want) / fabsl(want));
}

/* long-double softmax and log-softmax of one row */
static void softmax_ld(size_t n, const double *x, long double *y, long double *logy)
{
    long double m = -INFINITY, s = 0;
    for (size_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
    for (size_t j = 0; j < n; j++) s += expl(x[j] - m);
    for (size_t j = 0; j < n; j++) {
        y[j] = expl(x[j] - m) / s;
        logy[j] = (x[j] - m) - logl(s);
    }
}

typedef struct stats {
    uint64_t sm_vs_scalar, sm_vs_exact, sm_scalar_vs_exact;
    uint64_t lsm_vs_scalar, lsm_vs_exact, lsm_scalar_vs_exact;
    uint64_t bwd_vs_scalar, lbwd_vs_scalar;
    double xent_loss_rel_vs_scalar, xent_loss_rel_vs_exact, xent_scalar_rel_vs_exact;
    uint64_t xent_grad_vs_scalar;
} stats;

static void max_u(uint64_t *m, uint64_t v) { *m = v > *m ? v : *m; }
static void max_d(double *m, double v) { *m = v > *m ? v : *m; }

#define MEASURE(REAL, SUF, ULP)                                                                 \
    static void measure_##SUF(const lb_kernel_table *simd, const lb_kernel_table *ref,         \
                              size_t n, double spread, stats *st)                              \
    {                                                                                          \
        REAL *x = malloc(n * sizeof *x), *y1 = malloc(n * sizeof *y1),                         \
             *y2 = malloc(n * sizeof *y2), *dy = malloc(n * sizeof *dy);                       \
        double *xd = malloc(n * sizeof *xd);                                                   \
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
            for (size_t j = 0; j < n; j++) max_u(&st->bwd_vs_scalar, ULP(dx1[j], dx2[j]));      \
            simd->log_softmax_##SUF(n, x, y1);                                                 \
            ref->log_softmax_##SUF(n, x, y2);                                                  \
            for (size_t j = 0; j < n; j++) {                                                   \
                max_u(&st->lsm_vs_scalar, ULP(y1[j], y2[j]));                                  \
                max_u(&st->lsm_vs_exact, ULP(y1[j], (REAL)lye[j]));                            \
                max_u(&st->lsm_scalar_vs_exact, ULP(y2[j], (REAL)lye[j]));                     \
            }                                                                                  \
            simd->log_softmax_backward_##SUF(n, y2, dy, dx1);                                  \
            ref->log_softmax_backward_##SUF(n, y2, dy, dx2);                                   \
            for (size_t j = 0; j < n; j++) max_u(&st->lbwd_vs_scalar, ULP(dx1[j], dx2[j]));     \
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
            for (size_t j = 0; j < n; j++) max_u(&st->xent_grad_vs_scalar, ULP(dx1[j], dx2[j])); \
            free(dx1);                                                                         \
            free(dx2);                                                                         \
        }                                                                                      \
        free(x); free(y1); free(y2); free(dy); free(xd); free(ye); free(lye);                  \
    }
MEASURE(float, f32, ulp32)
MEASURE(double, f64, ulp64)

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
    printf("%-5s %-6s | %-23s | %-23s | %-9s %-9s | %-29s %-9s\n", "type", "spread",
           "softmax ULP simd/ref/sc", "logsoftmax ULP simd/ref/sc", "bwd ULP", "logbwd",
           "xent loss rel simd/ref/sc", "grad ULP");
    for (int type = 0; type < 2; type++) {
        for (size_t s = 0; s < 2; s++) {
            stats st = {0};
            for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
                if (type == 0) measure_f32(&simd, &ref, widths[w], spreads[s], &st);
                else measure_f64(&simd, &ref, widths[w], spreads[s], &st);
            }
            printf("%-5s %-6g | %5llu %8llu %8llu | %5llu %8llu %8llu | %-9llu %-9llu | "
                   "%9.2e %9.2e %9.2e %-9llu\n",
                   type ? "f64" : "f32", spreads[s], (unsigned long long)st.sm_vs_scalar,
                   (unsigned long long)st.sm_vs_exact, (unsigned long long)st.sm_scalar_vs_exact,
                   (unsigned long long)st.lsm_vs_scalar, (unsigned long long)st.lsm_vs_exact,
                   (unsigned long long)st.lsm_scalar_vs_exact,
                   (unsigned long long)st.bwd_vs_scalar, (unsigned long long)st.lbwd_vs_scalar,
                   st.xent_loss_rel_vs_scalar, st.xent_loss_rel_vs_exact,
                   st.xent_scalar_rel_vs_exact, (unsigned long long)st.xent_grad_vs_scalar);
        }
    }
    printf("columns: simd = %s vs scalar kernels; ref = %s vs long-double oracle; sc = scalar vs oracle\n",
           simd.name, simd.name);
    return 0;
}
