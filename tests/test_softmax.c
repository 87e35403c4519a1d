/*
 * test_softmax.c - lb_softmax, lb_log_softmax and their backward passes
 * (f32 and f64): the seed notebook rows, long-double references on random
 * shapes, the edge rows the header defines, in-place use, padding, central
 * finite differences, and bitwise equality across thread counts.
 *
 * Accuracy bounds (u = unit roundoff, 2^-24 f32 / 2^-53 f64), measured with
 * `test_softmax --verbose` on the scalar path (the SIMD paths must meet the
 * same bounds):
 * - softmax: at most 4 ulp (f32) / 16 ulp (f64) from the correctly rounded
 *   probability when it is >= 1e-30 (f32) / 1e-300 (f64). Below that floor an
 *   exp approximation may lose its gradual-underflow bits, so only
 *   |y - ref| <= 4u |ref| + smallest normal is asked. The f32 reference uses
 *   the exact x - m; the scalar f32 path computes in double and measures 0 ulp
 *   (always the correctly rounded float). The f64 reference uses
 *   d = fl64(x - m), the rounded difference every double implementation of
 *   the specified formula starts from: that rounding alone moves exp(d) by up
 *   to |x - m| u relative (40 ulp for x in [-20, 20]), an input conditioning
 *   no double kernel avoids, so it is not charged to the kernel. What remains
 *   is exp's rounding, the division, and the normalizer, a plain double sum of
 *   n exps in 256-term blocks whose rounding errors add up: measured worst
 *   12 ulp (n = 100, 33k rows), hence 16.
 * - log-softmax: |y - ref| <= K u (1 + |ref|), K = 4 (f32, measured 1.0) and
 *   16 (f64, measured 8.8, the same normalizer error). An absolute error e in
 *   a log-probability is a relative error e in the probability, so near 0 the
 *   bound is absolute (y = -log(1 + tiny) cannot be computed to relative
 *   accuracy from a rounded sum) and relative for large |y|.
 * - backward passes: componentwise, |dx - ref| <= 4u |ref| + 8u S_j, with S_j
 *   the magnitude of the terms that cancel in dx_j (softmax: y_j (|dy_j| +
 *   sum_k |y_k dy_k|); log-softmax: |dy_j| + p_j sum_k |dy_k|). Measured:
 *   0.5 (f32) and 3.5 (f64) u (|ref| + S_j).
 */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bounds and their reasons: see the file comment. */
#define SOFTMAX_MAX_ULP_F32 4
#define SOFTMAX_MAX_ULP_F64 16
#define LOG_SOFTMAX_MAX_U_F32 4
#define LOG_SOFTMAX_MAX_U_F64 16

/* ------------------------------------------------------------------------ */
/* The four kernels of one element type behind void pointers                */
/* ------------------------------------------------------------------------ */

typedef lb_status (*forward_fn)(size_t rows, size_t cols, const void *x, size_t ldx, void *y,
                                size_t ldy);
typedef lb_status (*backward_fn)(size_t rows, size_t cols, const void *y, size_t ldy,
                                 const void *dy, size_t lddy, void *dx, size_t lddx);

typedef struct softmax_api {
    const tu_type *t;
    forward_fn softmax, log_softmax;
    backward_fn softmax_backward, log_softmax_backward;
} softmax_api;

#define FORWARD_WRAPPER(fn, REAL)                                                              \
    static lb_status fn##_v(size_t rows, size_t cols, const void *x, size_t ldx, void *y,    \
                            size_t ldy)                                                        \
    {                                                                                          \
        return fn(rows, cols, (const REAL *)x, ldx, (REAL *)y, ldy);                           \
    }
#define BACKWARD_WRAPPER(fn, REAL)                                                             \
    static lb_status fn##_v(size_t rows, size_t cols, const void *y, size_t ldy,             \
                            const void *dy, size_t lddy, void *dx, size_t lddx)               \
    {                                                                                          \
        return fn(rows, cols, (const REAL *)y, ldy, (const REAL *)dy, lddy, (REAL *)dx, lddx); \
    }
FORWARD_WRAPPER(lb_softmax_f32, float)
FORWARD_WRAPPER(lb_softmax_f64, double)
FORWARD_WRAPPER(lb_log_softmax_f32, float)
FORWARD_WRAPPER(lb_log_softmax_f64, double)
BACKWARD_WRAPPER(lb_softmax_backward_f32, float)
BACKWARD_WRAPPER(lb_softmax_backward_f64, double)
BACKWARD_WRAPPER(lb_log_softmax_backward_f32, float)
BACKWARD_WRAPPER(lb_log_softmax_backward_f64, double)

static const softmax_api api_f32 = {&tu_type_f32, lb_softmax_f32_v, lb_log_softmax_f32_v,
                                    lb_softmax_backward_f32_v, lb_log_softmax_backward_f32_v};
static const softmax_api api_f64 = {&tu_type_f64, lb_softmax_f64_v, lb_log_softmax_f64_v,
                                    lb_softmax_backward_f64_v, lb_log_softmax_backward_f64_v};

/* ------------------------------------------------------------------------ */
/* References                                                               */
/* ------------------------------------------------------------------------ */

/* Softmax and log-softmax of one finite-max row read through t, in long
 * double. The differences d_j = x_j - m are exact for f32 (a float difference
 * fits a long double) and fl64(x_j - m) for f64 (see the file comment). */
static void reference_softmax_row(const tu_type *t, size_t n, const void *x, long double *prob,
                                  long double *logprob)
{
    double m = -INFINITY;
    for (size_t j = 0; j < n; j++)
        if (t->get(x, j) > m) m = t->get(x, j);
    long double *d = malloc(2 * n * sizeof *d), *e = d + n;
    long double s = 0;
    for (size_t j = 0; j < n; j++) {
        double xj = t->get(x, j);
        d[j] = t->size == sizeof(float) ? (long double)xj - m : (long double)(xj - m);
        e[j] = expl(d[j]);
        s += e[j];
    }
    long double log_s = logl(s);
    for (size_t j = 0; j < n; j++) {
        if (prob) prob[j] = e[j] / s;
        if (logprob) logprob[j] = d[j] - log_s;
    }
    free(d);
}

/* Largest error seen, for the report printed with --verbose. */
static uint64_t worst_softmax_ulp;
static double worst_log_softmax_err;

static void check_softmax_value(const tu_type *t, double y, long double ref, size_t i, size_t j)
{
    double floor = t->size == sizeof(float) ? 1e-30 : 1e-300;
    if (ref >= floor) {
        uint64_t ulp = t->ulp(y, t->round((double)ref));
        if (ulp > worst_softmax_ulp) worst_softmax_ulp = ulp;
        uint64_t bound = t->size == sizeof(float) ? SOFTMAX_MAX_ULP_F32 : SOFTMAX_MAX_ULP_F64;
        cr_assert(ulp <= bound, "%s softmax (%zu,%zu): %.9g vs %.12Lg is %llu ulp",
                  t->name, i, j, y, ref, (unsigned long long)ulp);
    } else {
        long double err = fabsl((long double)y - ref);
        cr_assert(y >= 0 && err <= 4 * t->unit_roundoff * ref + t->smallest_normal,
                  "%s softmax (%zu,%zu): tiny %.9g vs %.12Lg", t->name, i, j, y, ref);
    }
}

static void check_log_softmax_value(const tu_type *t, double y, long double ref, size_t i,
                                    size_t j)
{
    double rounded = t->round((double)ref);
    if (isinf(rounded) && rounded == y) return; /* beyond the type's range, as it must */
    long double err = fabsl((long double)y - ref);
    long double scaled = err / (t->unit_roundoff * (1 + fabsl(ref)));
    if (scaled > worst_log_softmax_err) worst_log_softmax_err = (double)scaled;
    double bound = t->size == sizeof(float) ? LOG_SOFTMAX_MAX_U_F32 : LOG_SOFTMAX_MAX_U_F64;
    cr_assert(scaled <= bound, "%s log_softmax (%zu,%zu): %.12g vs %.15Lg (%.2Lf u(1+|ref|))",
              t->name, i, j, y, ref, scaled);
}

/* ------------------------------------------------------------------------ */
/* Seed notebook values                                                     */
/* ------------------------------------------------------------------------ */

static const double seed_x[5] = {0.25, -1, 2.3, -0.2, 1};
/* numpy's printout, 7-8 significant digits */
static const double seed_softmax[5] = {0.08468093, 0.02426149, 0.6577931, 0.05399495,
                                       0.17926953};

static void seed_row(const softmax_api *api)
{
    const tu_type *t = api->t;
    void *x = t->canary(5), *y = t->canary(5), *logy = t->canary(5);
    for (size_t j = 0; j < 5; j++) t->set(x, j, seed_x[j]);
    cr_assert_eq(api->softmax(1, 5, x, 5, y, 5), LB_OK);
    cr_assert_eq(api->log_softmax(1, 5, x, 5, logy, 5), LB_OK);
    double sum = 0;
    for (size_t j = 0; j < 5; j++) {
        /* printed to 8 decimals (0.6577931 to 7): half a unit of the last
         * printed digit plus the type's rounding */
        double tol = (j == 2 ? 5e-8 : 5e-9) + 2 * t->unit_roundoff;
        cr_assert(fabs(t->get(y, j) - seed_softmax[j]) <= tol, "%s y[%zu] = %.10f", t->name, j,
                  t->get(y, j));
        cr_assert(fabs(t->get(logy, j) - log(seed_softmax[j])) <= tol / seed_softmax[j],
                  "%s logy[%zu] = %.10f", t->name, j, t->get(logy, j));
        sum += t->get(y, j);
    }
    cr_assert(fabs(sum - 1) <= 8 * t->unit_roundoff, "%s sum %.17g", t->name, sum);
    free(x);
    free(y);
    free(logy);
}

Test(softmax_seed, notebook_row_f32) { seed_row(&api_f32); }
Test(softmax_seed, notebook_row_f64) { seed_row(&api_f64); }

/* PyTorch notebook: softmax of [1,1,1] is 1/3 each, and the backward pass with
 * dy = e_k gives row k of the Jacobian: 2/9 on the diagonal, -1/9 off it. */
static void seed_uniform_backward(const softmax_api *api)
{
    const tu_type *t = api->t;
    void *x = t->canary(3), *y = t->canary(3), *dy = t->canary(3), *dx = t->canary(3);
    for (size_t j = 0; j < 3; j++) t->set(x, j, 1.0);
    cr_assert_eq(api->softmax(1, 3, x, 3, y, 3), LB_OK);
    for (size_t j = 0; j < 3; j++)
        cr_assert(t->ulp(t->get(y, j), 1.0 / 3) <= 1, "%s y = %.17g", t->name, t->get(y, j));
    for (size_t k = 0; k < 3; k++) {
        for (size_t j = 0; j < 3; j++) t->set(dy, j, j == k ? 1.0 : 0.0);
        cr_assert_eq(api->softmax_backward(1, 3, y, 3, dy, 3, dx, 3), LB_OK);
        for (size_t j = 0; j < 3; j++) {
            double expect = j == k ? 2.0 / 9 : -1.0 / 9;
            cr_assert(t->ulp(t->get(dx, j), expect) <= 4, "%s dx[%zu] for e_%zu = %.17g",
                      t->name, j, k, t->get(dx, j));
        }
    }
    free(x);
    free(y);
    free(dy);
    free(dx);
}

Test(softmax_seed, uniform_row_backward_f32) { seed_uniform_backward(&api_f32); }
Test(softmax_seed, uniform_row_backward_f64) { seed_uniform_backward(&api_f64); }

/* ------------------------------------------------------------------------ */
/* Forward passes against the long-double reference                         */
/* ------------------------------------------------------------------------ */

/* Row counts for a column count: one row, a few, and enough that the work
 * (rows * cols > 32768) is spread over threads. */
static size_t threaded_rows(size_t cols) { return (size_t)32768 / cols + 2; }

static void forward_against_reference(const softmax_api *api, double lo, double hi,
                                      uint64_t seed)
{
    const tu_type *t = api->t;
    tu_rng rng = {seed};
    for (size_t c = 0; c < tu_edge_cols_count; c++) {
        size_t cols = tu_edge_cols[c];
        /* threaded sizes for a third of the widths and the long rows (time) */
        size_t many = c % 3 == 0 || cols >= 1000 ? threaded_rows(cols) : 11;
        size_t row_counts[3] = {1, 3, many};
        for (size_t r = 0; r < 3; r++) {
            size_t rows = row_counts[r];
            size_t ldx = cols + 1 + c % 3, ldy = cols + 2 + c % 2;
            void *x = t->canary(rows * ldx);
            void *y = t->canary(rows * ldy), *logy = t->canary(rows * ldy);
            tu_fill_matrix(&rng, t, x, rows, cols, ldx, lo, hi);
            cr_assert_eq(api->softmax(rows, cols, x, ldx, y, ldy), LB_OK);
            cr_assert_eq(api->log_softmax(rows, cols, x, ldx, logy, ldy), LB_OK);
            cr_assert(t->padding_untouched(y, rows, cols, ldy), "%s softmax wrote padding",
                      t->name);
            cr_assert(t->padding_untouched(logy, rows, cols, ldy),
                      "%s log_softmax wrote padding", t->name);
            cr_assert(t->padding_untouched(x, rows, cols, ldx), "input padding changed");
            long double *prob = malloc(cols * sizeof *prob), *lp = malloc(cols * sizeof *lp);
            for (size_t i = 0; i < rows; i++) {
                const char *xi = (const char *)x + i * ldx * t->size;
                reference_softmax_row(t, cols, xi, prob, lp);
                for (size_t j = 0; j < cols; j++) {
                    check_softmax_value(t, t->get(y, i * ldy + j), prob[j], i, j);
                    check_log_softmax_value(t, t->get(logy, i * ldy + j), lp[j], i, j);
                }
            }
            free(prob);
            free(lp);
            free(x);
            free(y);
            free(logy);
        }
    }
    cr_log_info("%s [%g, %g]: worst softmax %llu ulp, worst log_softmax %.3f u(1+|ref|)",
                t->name, lo, hi, (unsigned long long)worst_softmax_ulp, worst_log_softmax_err);
}

Test(softmax_reference, moderate_logits_f32) { forward_against_reference(&api_f32, -20, 20, 1); }
Test(softmax_reference, moderate_logits_f64) { forward_against_reference(&api_f64, -20, 20, 2); }
/* exp(90) overflows float: only max subtraction keeps these finite */
Test(softmax_reference, large_positive_logits_f32) { forward_against_reference(&api_f32, 90, 100, 3); }
Test(softmax_reference, large_positive_logits_f64) { forward_against_reference(&api_f64, 90, 100, 4); }
Test(softmax_reference, huge_range_f32) { forward_against_reference(&api_f32, -1e4, 1e4, 5); }
Test(softmax_reference, huge_range_f64) { forward_against_reference(&api_f64, -1e300, 1e300, 6); }
/* float logits far beyond 2^24 apart: m - x is huge or overflows float */
Test(softmax_reference, huge_range_wide_f32) { forward_against_reference(&api_f32, -1e30, 1e30, 9); }
/* logits of one sign a hair apart: every difference near the rounding level */
Test(softmax_reference, nearly_equal_logits_f32) { forward_against_reference(&api_f32, 1000, 1000.001, 7); }
Test(softmax_reference, nearly_equal_logits_f64) { forward_against_reference(&api_f64, -3, -2.999999, 8); }

/* ------------------------------------------------------------------------ */
/* Edge rows                                                                */
/* ------------------------------------------------------------------------ */

enum edge_kind { EDGE_FINITE, EDGE_SOME_NEG_INF, EDGE_ALL_NEG_INF, EDGE_NAN, EDGE_POS_INF,
                 EDGE_HUGE, EDGE_NAN_AND_NEG_INF, EDGE_KINDS };

/* Fills row i of x (cols entries) with edge case kind; position-dependent so
 * the special entry lands in SIMD heads, bodies and tails. */
static void fill_edge_row(const tu_type *t, tu_rng *rng, void *x, size_t cols, enum edge_kind kind,
                          size_t salt)
{
    for (size_t j = 0; j < cols; j++) t->set(x, j, tu_uniform(rng, -5, 5));
    size_t at = (salt * 7 + 3) % cols;
    switch (kind) {
    case EDGE_FINITE: break;
    case EDGE_SOME_NEG_INF:
        for (size_t j = 0; j < cols; j++)
            if (j % 3 == salt % 3 && j != at) t->set(x, j, -INFINITY);
        break;
    case EDGE_ALL_NEG_INF:
        for (size_t j = 0; j < cols; j++) t->set(x, j, -INFINITY);
        break;
    case EDGE_NAN: t->set(x, at, NAN); break;
    case EDGE_POS_INF: t->set(x, at, INFINITY); break;
    case EDGE_HUGE:
        /* the largest finite logits of both signs: x - m is -inf or overflows
         * in the type for some entries, which must still give 0 */
        t->set(x, at, t->largest);
        t->set(x, (at + 1) % cols, -t->largest);
        if (cols > 2) t->set(x, (at + 2) % cols, t->largest);
        break;
    case EDGE_NAN_AND_NEG_INF:
        t->set(x, at, -INFINITY);
        t->set(x, (at + cols / 2) % cols, NAN);
        break;
    default: break;
    }
}

static void edge_rows(const softmax_api *api)
{
    const tu_type *t = api->t;
    const size_t col_counts[] = {1, 2, 5, 8, 9, 16, 17, 33, 100};
    tu_rng rng = {11};
    for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
        size_t cols = col_counts[c], ld = cols + 3;
        size_t rows = 2 * EDGE_KINDS; /* every kind, each followed by a finite row */
        void *x = t->canary(rows * ld), *y = t->canary(rows * ld), *logy = t->canary(rows * ld);
        for (size_t i = 0; i < rows; i++) {
            enum edge_kind kind = i % 2 ? EDGE_FINITE : (enum edge_kind)(i / 2);
            fill_edge_row(t, &rng, (char *)x + i * ld * t->size, cols, kind, i + c);
        }
        cr_assert_eq(api->softmax(rows, cols, x, ld, y, ld), LB_OK);
        cr_assert_eq(api->log_softmax(rows, cols, x, ld, logy, ld), LB_OK);
        cr_assert(t->padding_untouched(y, rows, cols, ld) && t->padding_untouched(logy, rows, cols, ld));
        long double *prob = malloc(cols * sizeof *prob), *lp = malloc(cols * sizeof *lp);
        for (size_t i = 0; i < rows; i++) {
            const void *xi = (const char *)x + i * ld * t->size;
            bool has_nan = false, has_pos_inf = false, all_neg_inf = true;
            for (size_t j = 0; j < cols; j++) {
                double v = t->get(xi, j);
                has_nan |= isnan(v);
                has_pos_inf |= v == INFINITY;
                all_neg_inf &= v == -INFINITY;
            }
            if (has_nan || has_pos_inf) {
                for (size_t j = 0; j < cols; j++) {
                    cr_assert(isnan(t->get(y, i * ld + j)), "%s cols %zu row %zu: softmax not NaN",
                              t->name, cols, i);
                    cr_assert(isnan(t->get(logy, i * ld + j)), "%s cols %zu row %zu: log not NaN",
                              t->name, cols, i);
                }
                continue;
            }
            if (all_neg_inf) {
                for (size_t j = 0; j < cols; j++) {
                    cr_assert(t->get(y, i * ld + j) == 0,
                              "%s cols %zu: all -inf row must give 0", t->name, cols);
                    cr_assert(t->get(logy, i * ld + j) == -INFINITY,
                              "%s cols %zu: all -inf row must give -inf", t->name, cols);
                }
                continue;
            }
            /* finite max: -inf entries give exactly 0 / -inf, the rest match
             * the reference computed over all entries (expl(-inf) = 0) */
            reference_softmax_row(t, cols, xi, prob, lp);
            for (size_t j = 0; j < cols; j++) {
                double yj = t->get(y, i * ld + j), lj = t->get(logy, i * ld + j);
                if (t->get(xi, j) == -INFINITY) {
                    cr_assert(yj == 0 && lj == -INFINITY, "%s cols %zu row %zu col %zu: %g %g",
                              t->name, cols, i, j, yj, lj);
                    continue;
                }
                check_softmax_value(t, yj, prob[j], i, j);
                check_log_softmax_value(t, lj, lp[j], i, j);
            }
        }
        free(prob);
        free(lp);
        free(x);
        free(y);
        free(logy);
    }
}

Test(softmax_edges, special_rows_f32) { edge_rows(&api_f32); }
Test(softmax_edges, special_rows_f64) { edge_rows(&api_f64); }

/* One class: probability exactly 1, log-probability exactly 0, for any
 * finite logit. */
static void one_class(const softmax_api *api)
{
    const tu_type *t = api->t;
    const double logits[] = {0, -1e30, 1e30, -7.25, 88.5, -t->largest, t->largest,
                             t->smallest_normal};
    size_t rows = sizeof logits / sizeof logits[0], ld = 2;
    void *x = t->canary(rows * ld), *y = t->canary(rows * ld), *logy = t->canary(rows * ld);
    for (size_t i = 0; i < rows; i++) t->set(x, i * ld, logits[i]);
    cr_assert_eq(api->softmax(rows, 1, x, ld, y, ld), LB_OK);
    cr_assert_eq(api->log_softmax(rows, 1, x, ld, logy, ld), LB_OK);
    for (size_t i = 0; i < rows; i++) {
        cr_assert(t->get(y, i * ld) == 1.0, "%s one class %g: %g", t->name, logits[i],
                  t->get(y, i * ld));
        cr_assert(t->get(logy, i * ld) == 0.0, "%s one class %g: log %g", t->name, logits[i],
                  t->get(logy, i * ld));
    }
    cr_assert(t->padding_untouched(y, rows, 1, ld) && t->padding_untouched(logy, rows, 1, ld));
    free(x);
    free(y);
    free(logy);
}

Test(softmax_edges, one_class_f32) { one_class(&api_f32); }
Test(softmax_edges, one_class_f64) { one_class(&api_f64); }

static void empty_batch(const softmax_api *api)
{
    cr_assert_eq(api->softmax(0, 4, NULL, 4, NULL, 4), LB_OK);
    cr_assert_eq(api->log_softmax(0, 4, NULL, 4, NULL, 4), LB_OK);
    cr_assert_eq(api->softmax_backward(0, 4, NULL, 4, NULL, 4, NULL, 4), LB_OK);
    cr_assert_eq(api->log_softmax_backward(0, 4, NULL, 4, NULL, 4, NULL, 4), LB_OK);
}

Test(softmax_edges, empty_batch_f32) { empty_batch(&api_f32); }
Test(softmax_edges, empty_batch_f64) { empty_batch(&api_f64); }

/* ------------------------------------------------------------------------ */
/* In-place use                                                             */
/* ------------------------------------------------------------------------ */

/* y == x (same ld) gives the same bits as a separate output, and leaves the
 * padding alone; likewise dx == dy for the backward passes. */
static void in_place(const softmax_api *api)
{
    const tu_type *t = api->t;
    tu_rng rng = {21};
    const size_t col_counts[] = {1, 7, 8, 17, 33, 1000};
    for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
        size_t cols = col_counts[c], rows = 5, ld = cols + 3, n = rows * ld;
        void *x = t->canary(n), *work = t->canary(n), *out = t->canary(n);
        tu_fill_matrix(&rng, t, x, rows, cols, ld, -10, 10);
        forward_fn forward[2] = {api->softmax, api->log_softmax};
        for (int f = 0; f < 2; f++) {
            memcpy(work, x, n * t->size);
            cr_assert_eq(forward[f](rows, cols, x, ld, out, ld), LB_OK);
            cr_assert_eq(forward[f](rows, cols, work, ld, work, ld), LB_OK);
            cr_assert(memcmp(work, out, n * t->size) == 0, "%s forward %d in place differs, cols %zu",
                      t->name, f, cols);
        }
        /* backward: y = softmax(x) or log_softmax(x); dy random */
        void *y = t->canary(n), *dy = t->canary(n);
        tu_fill_matrix(&rng, t, dy, rows, cols, ld, -1, 1);
        backward_fn backward[2] = {api->softmax_backward, api->log_softmax_backward};
        for (int f = 0; f < 2; f++) {
            cr_assert_eq(forward[f](rows, cols, x, ld, y, ld), LB_OK);
            memcpy(work, dy, n * t->size);
            cr_assert_eq(backward[f](rows, cols, y, ld, dy, ld, out, ld), LB_OK);
            cr_assert_eq(backward[f](rows, cols, y, ld, work, ld, work, ld), LB_OK);
            cr_assert(memcmp(work, out, n * t->size) == 0,
                      "%s backward %d in place differs, cols %zu", t->name, f, cols);
        }
        free(x);
        free(work);
        free(out);
        free(y);
        free(dy);
    }
}

Test(softmax_aliasing, in_place_f32) { in_place(&api_f32); }
Test(softmax_aliasing, in_place_f64) { in_place(&api_f64); }

/* ------------------------------------------------------------------------ */
/* Backward passes: long-double reference and finite differences            */
/* ------------------------------------------------------------------------ */

static double worst_backward_err;

static void backward_against_reference(const softmax_api *api, bool log_form, uint64_t seed)
{
    const tu_type *t = api->t;
    const double u = t->unit_roundoff;
    tu_rng rng = {seed};
    for (size_t c = 0; c < tu_edge_cols_count; c++) {
        size_t cols = tu_edge_cols[c];
        /* 2*cols work per row: threaded from half the forward rows; threaded
         * sizes for a third of the widths and the long rows (time) */
        size_t many = c % 3 == 1 || cols >= 1000 ? threaded_rows(cols) / 2 + 1 : 9;
        size_t row_counts[2] = {3, many};
        for (size_t r = 0; r < 2; r++) {
            size_t rows = row_counts[r], ldy = cols + 1, lddy = cols + 2, lddx = cols + 3;
            void *x = t->canary(rows * ldy), *y = t->canary(rows * ldy);
            void *dy = t->canary(rows * lddy), *dx = t->canary(rows * lddx);
            tu_fill_matrix(&rng, t, x, rows, cols, ldy, -8, 8);
            tu_fill_matrix(&rng, t, dy, rows, cols, lddy, -2, 2);
            forward_fn forward = log_form ? api->log_softmax : api->softmax;
            backward_fn backward = log_form ? api->log_softmax_backward : api->softmax_backward;
            cr_assert_eq(forward(rows, cols, x, ldy, y, ldy), LB_OK);
            cr_assert_eq(backward(rows, cols, y, ldy, dy, lddy, dx, lddx), LB_OK);
            cr_assert(t->padding_untouched(dx, rows, cols, lddx), "%s backward wrote padding",
                      t->name);
            for (size_t i = 0; i < rows; i++) {
                /* reduction terms in long double from the stored y and dy */
                long double dot = 0, dot_abs = 0, sum = 0, sum_abs = 0;
                for (size_t j = 0; j < cols; j++) {
                    long double yj = t->get(y, i * ldy + j), g = t->get(dy, i * lddy + j);
                    dot += yj * g;
                    dot_abs += fabsl(yj * g);
                    sum += g;
                    sum_abs += fabsl(g);
                }
                for (size_t j = 0; j < cols; j++) {
                    long double yj = t->get(y, i * ldy + j), g = t->get(dy, i * lddy + j);
                    long double ref, cancel;
                    if (log_form) {
                        long double p = expl(yj);
                        ref = g - p * sum;
                        cancel = fabsl(g) + p * sum_abs;
                    } else {
                        ref = yj * (g - dot);
                        cancel = yj * (fabsl(g) + dot_abs);
                    }
                    double got = t->get(dx, i * lddx + j);
                    long double err = fabsl(got - ref);
                    long double tol = 4 * u * fabsl(ref) + 8 * u * cancel;
                    long double scaled = err / (u * (fabsl(ref) + cancel) + LDBL_MIN);
                    if (scaled > worst_backward_err) worst_backward_err = (double)scaled;
                    cr_assert(err <= tol + LDBL_MIN, "%s %s backward cols %zu (%zu,%zu): %.12g vs %.15Lg",
                              t->name, log_form ? "log_softmax" : "softmax", cols, i, j, got, ref);
                }
            }
            free(x);
            free(y);
            free(dy);
            free(dx);
        }
    }
    cr_log_info("%s %s backward: worst error %.3f u(|ref| + cancelling terms)", t->name,
                log_form ? "log_softmax" : "softmax", worst_backward_err);
}

Test(softmax_backward, reference_f32) { backward_against_reference(&api_f32, false, 31); }
Test(softmax_backward, reference_f64) { backward_against_reference(&api_f64, false, 32); }
Test(log_softmax_backward, reference_f32) { backward_against_reference(&api_f32, true, 33); }
Test(log_softmax_backward, reference_f64) { backward_against_reference(&api_f64, true, 34); }

/* f(x) = sum_j dy_j g(x)_j in long double, g = softmax or log-softmax. */
static long double weighted_output(bool log_form, size_t n, const double *x, const double *dy)
{
    long double *g = malloc(n * sizeof *g), f = 0;
    if (log_form) tu_log_softmax_ld(n, x, g);
    else tu_softmax_ld(n, x, g);
    for (size_t j = 0; j < n; j++) f += dy[j] * g[j];
    free(g);
    return f;
}

/* The backward pass is the gradient of f: dx_k = df/dx_k, checked against
 * central differences (step 1e-6, truncation error ~1e-12, long-double
 * round-off ~1e-13). f32 inputs are rounded to float first, so both sides see
 * the same x; the f32 result also carries y's rounding (~1e-7 relative). */
static void backward_finite_differences(const softmax_api *api, bool log_form, uint64_t seed)
{
    const tu_type *t = api->t;
    const double tol = t->size == sizeof(float) ? 2e-6 : 1e-9, h = 1e-6;
    tu_rng rng = {seed};
    const size_t col_counts[] = {1, 2, 5, 8, 17, 40};
    for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
        size_t n = col_counts[c];
        double *xd = malloc(n * sizeof *xd), *dyd = malloc(n * sizeof *dyd);
        void *x = t->canary(n), *y = t->canary(n), *dy = t->canary(n), *dx = t->canary(n);
        for (size_t j = 0; j < n; j++) {
            t->set(x, j, tu_uniform(&rng, -3, 3));
            t->set(dy, j, tu_uniform(&rng, -1, 1));
            xd[j] = t->get(x, j);
            dyd[j] = t->get(dy, j);
        }
        cr_assert_eq((log_form ? api->log_softmax : api->softmax)(1, n, x, n, y, n), LB_OK);
        cr_assert_eq((log_form ? api->log_softmax_backward : api->softmax_backward)(1, n, y, n, dy,
                                                                                  n, dx, n),
                     LB_OK);
        double scale = 0;
        for (size_t j = 0; j < n; j++) scale = fmax(scale, fabs(dyd[j]));
        for (size_t k = 0; k < n; k++) {
            double keep = xd[k];
            xd[k] = keep + h;
            long double up = weighted_output(log_form, n, xd, dyd);
            xd[k] = keep - h;
            long double down = weighted_output(log_form, n, xd, dyd);
            xd[k] = keep;
            double numeric = (double)((up - down) / (2 * h));
            cr_assert(fabs(t->get(dx, k) - numeric) <= tol * scale,
                      "%s %s backward n=%zu dx[%zu] = %.12g, finite difference %.12g", t->name,
                      log_form ? "log_softmax" : "softmax", n, k, t->get(dx, k), numeric);
        }
        free(xd);
        free(dyd);
        free(x);
        free(y);
        free(dy);
        free(dx);
    }
}

Test(softmax_backward, finite_differences_f32) { backward_finite_differences(&api_f32, false, 41); }
Test(softmax_backward, finite_differences_f64) { backward_finite_differences(&api_f64, false, 42); }
Test(log_softmax_backward, finite_differences_f32) { backward_finite_differences(&api_f32, true, 43); }
Test(log_softmax_backward, finite_differences_f64) { backward_finite_differences(&api_f64, true, 44); }

/* ------------------------------------------------------------------------ */
/* Thread counts                                                            */
/* ------------------------------------------------------------------------ */

/* Every kernel gives the same bits (and the same untouched padding) with 1, 2
 * and 3 threads on a problem large enough to be split. */
static void thread_invariance(const softmax_api *api)
{
    const tu_type *t = api->t;
    size_t rows = 67, cols = 1001, ld = cols + 5, n = rows * ld;
    tu_rng rng = {51};
    void *x = t->canary(n), *dy = t->canary(n), *y = t->canary(n), *logy = t->canary(n);
    tu_fill_matrix(&rng, t, x, rows, cols, ld, -30, 30);
    tu_fill_matrix(&rng, t, dy, rows, cols, ld, -1, 1);
    cr_assert_eq(api->softmax(rows, cols, x, ld, y, ld), LB_OK);
    cr_assert_eq(api->log_softmax(rows, cols, x, ld, logy, ld), LB_OK);
    void *first[4], *out = t->canary(n);
    const int thread_counts[] = {1, 2, 3};
    for (int tc = 0; tc < 3; tc++) {
        lb_set_num_threads(thread_counts[tc]);
        for (int k = 0; k < 4; k++) {
            for (size_t e = 0; e < n; e++) t->set(out, e, TU_CANARY_F64);
            lb_status st = k == 0   ? api->softmax(rows, cols, x, ld, out, ld)
                           : k == 1 ? api->log_softmax(rows, cols, x, ld, out, ld)
                           : k == 2 ? api->softmax_backward(rows, cols, y, ld, dy, ld, out, ld)
                                    : api->log_softmax_backward(rows, cols, logy, ld, dy, ld, out, ld);
            cr_assert_eq(st, LB_OK);
            if (tc == 0) {
                first[k] = malloc(n * t->size);
                memcpy(first[k], out, n * t->size);
            } else {
                cr_assert(memcmp(first[k], out, n * t->size) == 0,
                          "%s kernel %d: %d threads differ from 1", t->name, k, thread_counts[tc]);
            }
        }
    }
    lb_set_num_threads(0);
    for (int k = 0; k < 4; k++) free(first[k]);
    free(x);
    free(dy);
    free(y);
    free(logy);
    free(out);
}

Test(softmax_threads, bitwise_identical_f32) { thread_invariance(&api_f32); }
Test(softmax_threads, bitwise_identical_f64) { thread_invariance(&api_f64); }

/* The log-probability of a dominant class, -log(1 + e^-60 + e^-61) =
 * -1.1977851e-26, keeps its relative precision (the kernels take log1p of the
 * sum without the maximum's own term, and keep log s apart from m when they
 * subtract): within 4 ulp in both types, on every kernel set. */
Test(softmax_edges, dominant_class_log_probability_keeps_relative_precision)
{
    const double expect = -(exp(-60.0) + exp(-61.0)); /* log1p(r) = r - r^2/2..., r^2 ~ 1e-52 */
    float xf[3] = {60.f, 0.f, -1.f}, yf[3];
    double xd[3] = {60.0, 0.0, -1.0}, yd[3];
    cr_assert_eq(lb_log_softmax_f32(1, 3, xf, 3, yf, 3), LB_OK);
    cr_assert_eq(lb_log_softmax_f64(1, 3, xd, 3, yd, 3), LB_OK);
    cr_assert(tu_ulp_f32(yf[0], (float)expect) <= 4, "f32: %.9g vs %.9g", yf[0], expect);
    cr_assert(tu_ulp_f64(yd[0], expect) <= 4, "f64: %.17g vs %.17g", yd[0], expect);
}
