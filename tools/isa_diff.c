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
 *
 * Part 2 compares every public function across kernel sets. The set is fixed
 * per process, so the tool runs itself once with LOSSBLAS_ISA=scalar and once
 * with the best set ("--dump FILE" mode), each writing every output of every
 * function on the same inputs, then compares the two dumps: maximum ULP for
 * softmax, log-softmax and Jacobian entries, maximum relative error for
 * losses (LB_NONE row losses), and for gradients the largest difference
 * relative to the row's largest magnitude, in units of u (crude where a row
 * cancels to tiny values: part 1's term-scaled metric is the sharper one).
 * Jacobians up to 100 classes.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, mkstemp, fork */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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


/* ------------------------------------------------------------------------ */
/* Part 2: every public function, kernel set against kernel set             */
/* ------------------------------------------------------------------------ */

enum value_kind { KIND_OUTPUT, KIND_LOSS, KIND_GRADIENT };
static const char *const kind_names[] = {"max ULP", "max rel err", "max diff (u of row max)"};

typedef struct record_header {
    int function, type, kind;
    double spread;
    size_t rows, cols, count;
} record_header;

enum {
    PUB_SOFTMAX, PUB_LOG_SOFTMAX, PUB_SOFTMAX_BACKWARD, PUB_LOG_SOFTMAX_BACKWARD, PUB_JACOBIAN,
    PUB_XENT_SPARSE, PUB_XENT_SPARSE_SMOOTH, PUB_XENT_DENSE, PUB_PROBS_SPARSE, PUB_PROBS_DENSE,
    PUB_MSE, PUB_MAE, PUB_COUNT
};
static const char *const pub_names[PUB_COUNT] = {
    "softmax", "log_softmax", "softmax_backward", "log_softmax_backward", "softmax_jacobian",
    "cross_entropy_sparse", "cross_entropy_sparse (eps .1, w)", "cross_entropy_dense",
    "cross_entropy_probs_sparse", "cross_entropy_probs_dense", "mse", "mae"};

static void write_record(FILE *f, int function, int type, int kind, double spread, size_t rows,
                         size_t cols, const double *v, size_t count)
{
    record_header h = {function, type, kind, spread, rows, cols, count};
    fwrite(&h, sizeof h, 1, f);
    fwrite(v, sizeof *v, count, f);
}

/* Runs every public function of one element type on one shape and writes
 * its outputs (as doubles). Inputs depend only on the seed, not on the ISA:
 * probabilities are a softmax computed here in double. */
#define DUMP(REAL, SUF, TYPE)                                                                   \
    static void dump_##SUF(FILE *f, size_t rows, size_t cols, double spread)                   \
    {                                                                                          \
        size_t n = rows * cols;                                                                \
        REAL *x = malloc(n * sizeof *x), *p = malloc(n * sizeof *p), *t = malloc(n * sizeof *t); \
        REAL *dy = malloc(n * sizeof *dy), *out = malloc(n * sizeof *out);                     \
        REAL *loss = malloc(n * sizeof *loss), *w = malloc(cols * sizeof *w);                  \
        bool with_jacobian = cols <= 100; /* 2 x 4099^2 entries would dominate the run */      \
        size_t nj = with_jacobian ? rows * cols * cols : 0;                                    \
        REAL *jac = malloc((nj ? nj : 1) * sizeof *jac);                                       \
        double *v = malloc((n > nj ? n : nj) * sizeof *v);                                     \
        int64_t *targets = malloc(rows * sizeof *targets);                                     \
        for (size_t i = 0; i < rows; i++) {                                                    \
            double m = -INFINITY, s = 0, ts = 0;                                               \
            for (size_t j = 0; j < cols; j++) {                                                \
                x[i * cols + j] = (REAL)uniform(-spread, spread);                              \
                dy[i * cols + j] = (REAL)uniform(-1, 1);                                       \
                t[i * cols + j] = (REAL)uniform(0, 1);                                         \
                m = fmax(m, x[i * cols + j]);                                                  \
            }                                                                                  \
            for (size_t j = 0; j < cols; j++) s += exp(x[i * cols + j] - m);                   \
            for (size_t j = 0; j < cols; j++) {                                                \
                p[i * cols + j] = (REAL)(exp(x[i * cols + j] - m) / s);                        \
                ts += t[i * cols + j];                                                         \
            }                                                                                  \
            for (size_t j = 0; j < cols; j++) t[i * cols + j] = (REAL)(t[i * cols + j] / ts);  \
            targets[i] = (int64_t)uniform(0, (double)cols);                                    \
        }                                                                                      \
        for (size_t j = 0; j < cols; j++) w[j] = (REAL)uniform(0.5, 2);                        \
        for (int fn = 0; fn < PUB_COUNT; fn++) {                                               \
            if (fn == PUB_JACOBIAN && !with_jacobian) continue;                                \
            lb_status st = LB_OK;                                                              \
            lb_xent_opts o = LB_XENT_DEFAULTS;                                                 \
            o.reduction = LB_NONE;                                                             \
            if (fn == PUB_XENT_SPARSE_SMOOTH) o.label_smoothing = 0.1;                         \
            const REAL *weights = fn == PUB_XENT_SPARSE_SMOOTH ? w : NULL;                     \
            switch (fn) {                                                                      \
            case PUB_SOFTMAX: st = lb_softmax_##SUF(rows, cols, x, cols, out, cols); break;    \
            case PUB_LOG_SOFTMAX: st = lb_log_softmax_##SUF(rows, cols, x, cols, out, cols); break; \
            case PUB_SOFTMAX_BACKWARD:                                                         \
                st = lb_softmax_backward_##SUF(rows, cols, p, cols, dy, cols, out, cols);      \
                break;                                                                         \
            case PUB_LOG_SOFTMAX_BACKWARD:                                                     \
                for (size_t e = 0; e < n; e++) loss[e] = (REAL)log((double)p[e]);              \
                st = lb_log_softmax_backward_##SUF(rows, cols, loss, cols, dy, cols, out, cols); \
                break;                                                                         \
            case PUB_JACOBIAN:                                                                 \
                st = lb_softmax_jacobian_##SUF(rows, cols, p, cols, LB_JACOBIAN_FULL, jac);    \
                break;                                                                         \
            case PUB_XENT_SPARSE:                                                              \
            case PUB_XENT_SPARSE_SMOOTH:                                                       \
                st = lb_cross_entropy_sparse_##SUF(rows, cols, x, cols, targets, weights, &o,  \
                                                   loss, out, cols);                           \
                break;                                                                         \
            case PUB_XENT_DENSE:                                                               \
                st = lb_cross_entropy_dense_##SUF(rows, cols, x, cols, t, cols, NULL, &o, loss, \
                                                  out, cols);                                  \
                break;                                                                         \
            case PUB_PROBS_SPARSE:                                                             \
                st = lb_cross_entropy_probs_sparse_##SUF(rows, cols, p, cols, targets, 1e-7,   \
                                                         LB_NONE, loss, out, cols);            \
                break;                                                                         \
            case PUB_PROBS_DENSE:                                                              \
                st = lb_cross_entropy_probs_dense_##SUF(rows, cols, p, cols, t, cols, 1e-7,    \
                                                        LB_NONE, loss, out, cols);             \
                break;                                                                         \
            case PUB_MSE:                                                                      \
                st = lb_mse_##SUF(rows, cols, x, cols, t, cols, LB_NONE, loss, out, cols);     \
                break;                                                                         \
            case PUB_MAE:                                                                      \
                st = lb_mae_##SUF(rows, cols, x, cols, t, cols, LB_NONE, loss, out, cols);     \
                break;                                                                         \
            }                                                                                  \
            if (st != LB_OK) {                                                                 \
                fprintf(stderr, "%s_%s failed: %d\n", pub_names[fn], #SUF, st);               \
                exit(1);                                                                       \
            }                                                                                  \
            if (fn == PUB_JACOBIAN) {                                                          \
                for (size_t e = 0; e < nj; e++) v[e] = jac[e];                                 \
                write_record(f, fn, TYPE, KIND_OUTPUT, spread, rows, cols, v, nj);             \
                continue;                                                                      \
            }                                                                                  \
            bool is_loss = fn >= PUB_XENT_SPARSE;                                              \
            for (size_t e = 0; e < n; e++) v[e] = out[e];                                      \
            write_record(f, fn, TYPE, is_loss || fn >= PUB_SOFTMAX_BACKWARD ? KIND_GRADIENT    \
                                                                             : KIND_OUTPUT,    \
                         spread, rows, cols, v, n);                                            \
            if (is_loss) {                                                                     \
                size_t count = fn >= PUB_MSE ? n : rows;                                       \
                for (size_t e = 0; e < count; e++) v[e] = loss[e];                             \
                write_record(f, fn, TYPE, KIND_LOSS, spread, rows, cols, v, count);            \
            }                                                                                  \
        }                                                                                      \
        free(x); free(p); free(t); free(dy); free(out); free(loss); free(w); free(jac);         \
        free(v); free(targets);                                                                \
    }
DUMP(float, f32, 0)
DUMP(double, f64, 1)

static const size_t pub_widths[] = {1, 3, 8, 9, 16, 17, 33, 65, 100, 1000, 4099};

static int dump_all(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    for (int type = 0; type < 2; type++)
        for (int s = 0; s < 2; s++)
            for (size_t w = 0; w < sizeof pub_widths / sizeof *pub_widths; w++) {
                size_t cols = pub_widths[w], rows = cols > 1000 ? 2 : 8;
                rng_state = 0x5EED0000u + 131 * w + 7 * (size_t)s; /* same inputs per ISA */
                if (type == 0) dump_f32(f, rows, cols, s ? 60 : 5);
                else dump_f64(f, rows, cols, s ? 60 : 5);
            }
    return fclose(f) != 0;
}

/* Runs this program with LOSSBLAS_ISA=isa in --dump mode. */
static int run_dump(const char *self, const char *isa, const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LOSSBLAS_ISA", isa, 1);
        execl(self, self, "--dump", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

typedef struct pub_stat {
    double worst;
} pub_stat;

static int compare_public(const char *self)
{
    char scalar_path[] = "/tmp/isa_diff_scalar_XXXXXX", best_path[] = "/tmp/isa_diff_best_XXXXXX";
    int fd1 = mkstemp(scalar_path), fd2 = mkstemp(best_path);
    if (fd1 < 0 || fd2 < 0) return 1;
    close(fd1);
    close(fd2);
    const char *best = lb_isa(); /* this process: the best set (unless LOSSBLAS_ISA lowers it) */
    if (run_dump(self, "scalar", scalar_path) || run_dump(self, best, best_path)) {
        fprintf(stderr, "dump runs failed\n");
        return 1;
    }
    FILE *a = fopen(scalar_path, "rb"), *b = fopen(best_path, "rb");
    static pub_stat stats[PUB_COUNT][2][2][3]; /* function, type, spread, kind */
    record_header ha, hb;
    double *va = NULL, *vb = NULL;
    while (fread(&ha, sizeof ha, 1, a) == 1 && fread(&hb, sizeof hb, 1, b) == 1) {
        va = realloc(va, ha.count * sizeof *va);
        vb = realloc(vb, hb.count * sizeof *vb);
        if (fread(va, sizeof *va, ha.count, a) != ha.count ||
            fread(vb, sizeof *vb, hb.count, b) != hb.count || ha.count != hb.count)
            return 1;
        pub_stat *st = &stats[ha.function][ha.type][ha.spread > 10][ha.kind];
        double u = ha.type ? 0x1p-53 : 0x1p-24;
        for (size_t e = 0; e < ha.count; e++) {
            double d = 0;
            if (ha.kind == KIND_OUTPUT) {
                d = ha.type ? (double)ulp64(vb[e], va[e])
                            : (double)ulp32((float)vb[e], (float)va[e]);
            } else if (ha.kind == KIND_LOSS) {
                d = va[e] == vb[e] ? 0 : fabs(vb[e] - va[e]) / fabs(va[e]);
            } else {
                size_t row = e / ha.cols;
                double scale = 0;
                for (size_t j = 0; j < ha.cols; j++) scale = fmax(scale, fabs(va[row * ha.cols + j]));
                d = va[e] == vb[e] ? 0 : fabs(vb[e] - va[e]) / scale / u;
            }
            st->worst = fmax(st->worst, d);
        }
    }
    fclose(a);
    fclose(b);
    remove(scalar_path);
    remove(best_path);
    free(va);
    free(vb);
    printf("\nPublic functions, %s vs scalar (same inputs; widths 1..4099; logits in [-5,5] | "
           "[-60,60]):\n", best);
    printf("%-34s %-24s %12s %12s %12s %12s\n", "function", "metric", "f32 narrow", "f32 wide",
           "f64 narrow", "f64 wide");
    for (int fn = 0; fn < PUB_COUNT; fn++)
        for (int kind = 0; kind < 3; kind++) {
            bool used = false;
            for (int ty = 0; ty < 2; ty++)
                for (int sp = 0; sp < 2; sp++) used = used || stats[fn][ty][sp][kind].worst > 0;
            bool produced = kind == KIND_LOSS ? fn >= PUB_XENT_SPARSE
                          : kind == KIND_OUTPUT ? fn <= PUB_LOG_SOFTMAX || fn == PUB_JACOBIAN
                                                : fn >= PUB_SOFTMAX_BACKWARD && fn != PUB_JACOBIAN;
            if (!produced && !used) continue;
            printf("%-34s %-24s", pub_names[fn], kind_names[kind]);
            for (int ty = 0; ty < 2; ty++)
                for (int sp = 0; sp < 2; sp++) printf(" %12.3g", stats[fn][ty][sp][kind].worst);
            printf("\n");
        }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) return dump_all(argv[2]);
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
    /* the AVX-512 set where the CPU has it, unless LOSSBLAS_ISA=avx2 */
    const char *want = getenv("LOSSBLAS_ISA");
    if (strcmp(lb_isa(), "avx512") == 0 && !(want && strcmp(want, "avx2") == 0))
        lb_fill_avx512_kernels(&simd);
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
    return compare_public("/proc/self/exe");
}
