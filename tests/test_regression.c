/*
 * test_regression.c - lb_mse, lb_mae and lb_accuracy_{sparse,dense}, f32 and
 * f64: seed notebook numbers, long-double references on random shapes (all
 * reductions, padded leading dimensions), gradients against central finite
 * differences, edge values, and bitwise equality across thread counts.
 *
 * Tolerances (u = unit roundoff, 2^-24 f32 / 2^-53 f64):
 * - reduced losses (SUM, MEAN): relative error 1e-6 (f32) / 1e-12 (f64) of a
 *   long-double reference, as the header promises;
 * - per-element values (LB_NONE losses, gradients): 4u relative. Each is a
 *   handful of correctly rounded operations on the exact inputs (e, e^2 or
 *   |e|, times 2/N), so a few u is all the rounding there is.
 */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef lb_status (*regression_fn)(size_t rows, size_t cols, const void *pred, size_t ld_pred,
                                   const void *target, size_t ld_target, lb_reduction reduction,
                                   void *loss, void *dpred, size_t ld_dpred);
typedef lb_status (*accuracy_sparse_fn)(size_t rows, size_t cols, const void *scores, size_t ld,
                                        const int64_t *targets, int64_t ignore_index,
                                        size_t *correct, size_t *counted);
typedef lb_status (*accuracy_dense_fn)(size_t rows, size_t cols, const void *scores, size_t ld,
                                       const void *targets, size_t ld_targets, size_t *correct);

typedef struct regression_api {
    const tu_type *t;
    regression_fn mse, mae;
    accuracy_sparse_fn accuracy_sparse;
    accuracy_dense_fn accuracy_dense;
} regression_api;

#define REGRESSION_WRAPPER(fn, REAL)                                                         \
    static lb_status fn##_v(size_t rows, size_t cols, const void *pred, size_t ld_pred,     \
                            const void *target, size_t ld_target, lb_reduction reduction,   \
                            void *loss, void *dpred, size_t ld_dpred)                        \
    {                                                                                        \
        return fn(rows, cols, (const REAL *)pred, ld_pred, (const REAL *)target, ld_target, \
                  reduction, (REAL *)loss, (REAL *)dpred, ld_dpred);                         \
    }
#define ACCURACY_WRAPPERS(REAL, P)                                                           \
    static lb_status accuracy_sparse_##P(size_t rows, size_t cols, const void *scores,      \
                                         size_t ld, const int64_t *targets,                  \
                                         int64_t ignore_index, size_t *correct,              \
                                         size_t *counted)                                    \
    {                                                                                        \
        return lb_accuracy_sparse_##P(rows, cols, (const REAL *)scores, ld, targets,         \
                                      ignore_index, correct, counted);                       \
    }                                                                                        \
    static lb_status accuracy_dense_##P(size_t rows, size_t cols, const void *scores,       \
                                        size_t ld, const void *targets, size_t ld_targets,   \
                                        size_t *correct)                                     \
    {                                                                                        \
        return lb_accuracy_dense_##P(rows, cols, (const REAL *)scores, ld,                   \
                                     (const REAL *)targets, ld_targets, correct);            \
    }
REGRESSION_WRAPPER(lb_mse_f32, float)
REGRESSION_WRAPPER(lb_mse_f64, double)
REGRESSION_WRAPPER(lb_mae_f32, float)
REGRESSION_WRAPPER(lb_mae_f64, double)
ACCURACY_WRAPPERS(float, f32)
ACCURACY_WRAPPERS(double, f64)

static const regression_api api_f32 = {&tu_type_f32, lb_mse_f32_v, lb_mae_f32_v,
                                       accuracy_sparse_f32, accuracy_dense_f32};
static const regression_api api_f64 = {&tu_type_f64, lb_mse_f64_v, lb_mae_f64_v,
                                       accuracy_sparse_f64, accuracy_dense_f64};

static const lb_reduction reductions[3] = {LB_MEAN, LB_SUM, LB_NONE};
static const char *reduction_name(lb_reduction r)
{
    return r == LB_MEAN ? "MEAN" : r == LB_SUM ? "SUM" : "NONE";
}

/* ------------------------------------------------------------------------ */
/* Seed notebook numbers                                                    */
/* ------------------------------------------------------------------------ */

/* MAE notebook: y_true = [1.5, 0.2, 3.9, 6.2, 5.2], y_pred = [1.2, 0.5, 3.2,
 * 4.2, 3.2]: loss 1.06. The notebook's gradient -(y_true - y_pred)/|..|/N is
 * sign(pred - target)/N = [-0.2, 0.2, -0.2, -0.2, -0.2], the header's
 * definition. Run as a 5x1 column and as a 1x5 row. */
static void seed_mae(const regression_api *api)
{
    const tu_type *t = api->t;
    const double y_true[5] = {1.5, 0.2, 3.9, 6.2, 5.2}, y_pred[5] = {1.2, 0.5, 3.2, 4.2, 3.2};
    const double abs_err[5] = {0.3, 0.3, 0.7, 2.0, 2.0}, grad_sign[5] = {-1, 1, -1, -1, -1};
    const size_t shapes[2][2] = {{5, 1}, {1, 5}};
    for (int s = 0; s < 2; s++) {
        size_t rows = shapes[s][0], cols = shapes[s][1], ld = cols; /* contiguous either way */
        void *pred = t->canary(5), *target = t->canary(5);
        for (size_t k = 0; k < 5; k++) {
            t->set(pred, k, y_pred[k]);
            t->set(target, k, y_true[k]);
        }
        /* inputs are rounded to the type: tolerance from their magnitudes */
        double tol = 8 * t->unit_roundoff * 6.2;
        for (int r = 0; r < 3; r++) {
            void *loss = t->canary(6), *dpred = t->canary(5);
            cr_assert_eq(api->mae(rows, cols, pred, ld, target, ld, reductions[r], loss, dpred, ld),
                         LB_OK);
            double mul = reductions[r] == LB_MEAN ? 0.2 : 1.0;
            if (reductions[r] == LB_NONE) {
                for (size_t k = 0; k < 5; k++)
                    cr_assert(fabs(t->get(loss, k) - abs_err[k]) <= tol, "%s %zux%zu NONE[%zu] = %.9g",
                              t->name, rows, cols, k, t->get(loss, k));
                cr_assert(t->untouched((char *)loss + 5 * t->size, 1));
            } else {
                double expect = reductions[r] == LB_MEAN ? 1.06 : 5.3;
                cr_assert(fabs(t->get(loss, 0) - expect) <= 5 * tol, "%s %zux%zu %s = %.9g", t->name,
                          rows, cols, reduction_name(reductions[r]), t->get(loss, 0));
                cr_assert(t->untouched((char *)loss + t->size, 5));
            }
            for (size_t k = 0; k < 5; k++)
                cr_assert(t->ulp(t->get(dpred, k), grad_sign[k] * mul) <= 1,
                          "%s %zux%zu %s dpred[%zu] = %.9g", t->name, rows, cols,
                          reduction_name(reductions[r]), k, t->get(dpred, k));
            free(loss);
            free(dpred);
        }
        free(pred);
        free(target);
    }
}

Test(regression_seed, mae_notebook_f32) { seed_mae(&api_f32); }
Test(regression_seed, mae_notebook_f64) { seed_mae(&api_f64); }

/* PyTorch notebook: mse_loss(pred 4, target 1) = 9, d/dpred = 6 (1x1, so every
 * reduction gives the same numbers, exactly). */
static void seed_mse(const regression_api *api)
{
    const tu_type *t = api->t;
    void *pred = t->canary(1), *target = t->canary(1);
    t->set(pred, 0, 4.0);
    t->set(target, 0, 1.0);
    for (int r = 0; r < 3; r++) {
        void *loss = t->canary(1), *dpred = t->canary(1);
        cr_assert_eq(api->mse(1, 1, pred, 1, target, 1, reductions[r], loss, dpred, 1), LB_OK);
        cr_assert(t->get(loss, 0) == 9.0 && t->get(dpred, 0) == 6.0, "%s %s: %g %g", t->name,
                  reduction_name(reductions[r]), t->get(loss, 0), t->get(dpred, 0));
        free(loss);
        free(dpred);
    }
    free(pred);
    free(target);
}

Test(regression_seed, mse_notebook_f32) { seed_mse(&api_f32); }
Test(regression_seed, mse_notebook_f64) { seed_mse(&api_f64); }

/* Scores [[0.7,0.1,0.2],[0.5,0.1,0.4],[0.02,0.9,0.08]], targets [0,1,1]: rows
 * 0 and 2 are right, 2 of 3. */
static void seed_accuracy(const regression_api *api)
{
    const tu_type *t = api->t;
    const double scores_v[9] = {0.7, 0.1, 0.2, 0.5, 0.1, 0.4, 0.02, 0.9, 0.08};
    const int64_t targets[3] = {0, 1, 1};
    void *scores = t->canary(9), *onehot = t->canary(9);
    for (size_t k = 0; k < 9; k++) {
        t->set(scores, k, scores_v[k]);
        t->set(onehot, k, (size_t)targets[k / 3] == k % 3 ? 1.0 : 0.0);
    }
    size_t correct = 99, counted = 99;
    cr_assert_eq(api->accuracy_sparse(3, 3, scores, 3, targets, -100, &correct, &counted), LB_OK);
    cr_assert(correct == 2 && counted == 3, "%s sparse: %zu of %zu", t->name, correct, counted);
    correct = 99;
    cr_assert_eq(api->accuracy_dense(3, 3, scores, 3, onehot, 3, &correct), LB_OK);
    cr_assert_eq(correct, 2, "%s dense: %zu", t->name, correct);
    free(scores);
    free(onehot);
}

Test(accuracy_seed, notebook_f32) { seed_accuracy(&api_f32); }
Test(accuracy_seed, notebook_f64) { seed_accuracy(&api_f64); }

/* ------------------------------------------------------------------------ */
/* MSE and MAE against the long-double reference                            */
/* ------------------------------------------------------------------------ */

static size_t threaded_rows(size_t cols) { return (size_t)32768 / cols + 2; }

/* Loss of one element (exact inputs read as long double) and its derivative
 * w.r.t. pred, before the MEAN scaling. */
static long double element_loss(bool squared, long double pred, long double target,
                                long double *derivative)
{
    long double e = pred - target;
    if (squared) {
        *derivative = 2 * e;
        return e * e;
    }
    *derivative = e > 0 ? 1 : e < 0 ? -1 : 0;
    return fabsl(e);
}

static void regression_against_reference(const regression_api *api, bool squared)
{
    const tu_type *t = api->t;
    const double u = t->unit_roundoff, loss_tol = t->size == sizeof(float) ? 1e-6 : 1e-12;
    regression_fn fn = squared ? api->mse : api->mae;
    const char *name = squared ? "mse" : "mae";
    const size_t col_counts[] = {1, 7, 8, 9, 15, 16, 17, 31, 33, 1000, 4099};
    tu_rng rng = {squared ? 101 : 102};
    for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
        size_t cols = col_counts[c];
        /* threaded sizes for every other width and the long rows (time) */
        size_t many = c % 2 == 0 || cols >= 1000 ? threaded_rows(cols) : 12;
        size_t row_counts[3] = {1, 5, many};
        for (size_t rc = 0; rc < 3; rc++) {
            size_t rows = row_counts[rc], n = rows * cols;
            size_t ldp = cols + 1, ldt = cols + 2 + c % 2, ldd = cols + 3;
            void *pred = t->canary(rows * ldp), *target = t->canary(rows * ldt);
            tu_fill_matrix(&rng, t, pred, rows, cols, ldp, -3, 3);
            tu_fill_matrix(&rng, t, target, rows, cols, ldt, -3, 3);
            long double sum = 0;
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < cols; j++) {
                    long double d;
                    sum += element_loss(squared, t->get(pred, i * ldp + j),
                                        t->get(target, i * ldt + j), &d);
                }
            for (int r = 0; r < 3; r++) {
                lb_reduction red = reductions[r];
                size_t loss_n = red == LB_NONE ? n : 1;
                void *loss = t->canary(loss_n + 3), *dpred = t->canary(rows * ldd);
                void *loss_only = t->canary(loss_n + 3);
                cr_assert_eq(fn(rows, cols, pred, ldp, target, ldt, red, loss, dpred, ldd), LB_OK);
                cr_assert_eq(fn(rows, cols, pred, ldp, target, ldt, red, loss_only, NULL, 0), LB_OK);
                cr_assert(t->untouched((char *)loss + loss_n * t->size, 3) &&
                              t->untouched((char *)loss_only + loss_n * t->size, 3),
                          "%s %s %s wrote past the loss", t->name, name, reduction_name(red));
                cr_assert(t->padding_untouched(dpred, rows, cols, ldd),
                          "%s %s %s wrote dpred padding", t->name, name, reduction_name(red));
                long double mul = red == LB_MEAN ? 1.0L / n : 1.0L;
                if (red != LB_NONE) {
                    long double ref = sum * mul;
                    for (int pass = 0; pass < 2; pass++) {
                        double got = t->get(pass ? loss_only : loss, 0);
                        cr_assert(fabsl(got - ref) <= loss_tol * fabsl(ref),
                                  "%s %s %s %zux%zu%s: %.17g vs %.20Lg", t->name, name,
                                  reduction_name(red), rows, cols,
                                  pass ? " (no gradient)" : "", got, ref);
                    }
                }
                for (size_t i = 0; i < rows; i++)
                    for (size_t j = 0; j < cols; j++) {
                        long double d;
                        long double l = element_loss(squared, t->get(pred, i * ldp + j),
                                                     t->get(target, i * ldt + j), &d);
                        double g = t->get(dpred, i * ldd + j);
                        cr_assert(fabsl(g - d * mul) <= 4 * u * fabsl(d * mul),
                                  "%s %s %s (%zu,%zu): dpred %.17g vs %.20Lg", t->name, name,
                                  reduction_name(red), i, j, g, d * mul);
                        if (red == LB_NONE) {
                            for (int pass = 0; pass < 2; pass++) {
                                double got = t->get(pass ? loss_only : loss, i * cols + j);
                                cr_assert(fabsl(got - l) <= 4 * u * l,
                                          "%s %s NONE (%zu,%zu)%s: %.17g vs %.20Lg", t->name,
                                          name, i, j, pass ? " (no gradient)" : "", got, l);
                            }
                        }
                    }
                free(loss);
                free(loss_only);
                free(dpred);
            }
            free(pred);
            free(target);
        }
    }
}

Test(mse, reference_f32) { regression_against_reference(&api_f32, true); }
Test(mse, reference_f64) { regression_against_reference(&api_f64, true); }
Test(mae, reference_f32) { regression_against_reference(&api_f32, false); }
Test(mae, reference_f64) { regression_against_reference(&api_f64, false); }

/* Equal values give MAE gradient 0 (loss 0); a NaN gives NaN loss and
 * gradient for its element and a NaN reduced loss; neighbours unaffected. */
static void special_values(const regression_api *api)
{
    const tu_type *t = api->t;
    const double pred_v[4] = {2.5, NAN, -1.0, 0.0}, target_v[4] = {2.5, 1.0, NAN, -0.0};
    void *pred = t->canary(4), *target = t->canary(4);
    for (size_t k = 0; k < 4; k++) {
        t->set(pred, k, pred_v[k]);
        t->set(target, k, target_v[k]);
    }
    for (int squared = 0; squared < 2; squared++) {
        regression_fn fn = squared ? api->mse : api->mae;
        void *loss = t->canary(4), *dpred = t->canary(4), *total = t->canary(1);
        cr_assert_eq(fn(1, 4, pred, 4, target, 4, LB_NONE, loss, dpred, 4), LB_OK);
        for (size_t k = 0; k < 4; k += 3) {
            cr_assert(t->get(loss, k) == 0.0 && t->get(dpred, k) == 0.0,
                      "%s %s equal values: loss %g grad %g", t->name, squared ? "mse" : "mae",
                      t->get(loss, k), t->get(dpred, k));
        }
        for (size_t k = 1; k < 3; k++)
            cr_assert(isnan(t->get(loss, k)) && isnan(t->get(dpred, k)), "%s %s NaN element %zu",
                      t->name, squared ? "mse" : "mae", k);
        cr_assert_eq(fn(1, 4, pred, 4, target, 4, LB_SUM, total, NULL, 0), LB_OK);
        cr_assert(isnan(t->get(total, 0)));
        free(loss);
        free(dpred);
        free(total);
    }
    free(pred);
    free(target);
}

Test(regression_edges, equal_and_nan_f32) { special_values(&api_f32); }
Test(regression_edges, equal_and_nan_f64) { special_values(&api_f64); }

/* ------------------------------------------------------------------------ */
/* Gradients against central finite differences                             */
/* ------------------------------------------------------------------------ */

/* The reduced loss of the f64 kernel at pred (LB_NONE: the sum of the
 * element losses, of which dpred is the gradient). */
static long double reduced_f64(bool squared, size_t rows, size_t cols, const double *pred,
                               size_t ldp, const double *target, size_t ldt, lb_reduction red)
{
    double *loss = malloc(rows * cols * sizeof *loss);
    regression_fn fn = squared ? api_f64.mse : api_f64.mae;
    cr_assert_eq(fn(rows, cols, pred, ldp, target, ldt, red, loss, NULL, 0), LB_OK);
    long double s = 0;
    for (size_t k = 0; k < (red == LB_NONE ? rows * cols : 1); k++) s += loss[k];
    free(loss);
    return s;
}

/* The gradient of each type's kernel against central differences of the
 * f64 loss at the same (type-representable) inputs. Step 1e-4: MSE is
 * quadratic, so the difference quotient is exact up to round-off (~1e-12
 * relative); MAE is linear between kinks, and every |pred - target| >= 0.05
 * keeps the kinks out of reach. f32 gradients carry their own 4u rounding. */
static void gradient_finite_differences(const regression_api *api, bool squared)
{
    const tu_type *t = api->t;
    const size_t rows = 3, cols = 5, ldp = 6, ldt = 7, ldd = 8;
    const double h = 1e-4, tol = t->size == sizeof(float) ? 4 * 0x1p-24 : 1e-9;
    tu_rng rng = {squared ? 111 : 112};
    void *pred = t->canary(rows * ldp), *target = t->canary(rows * ldt);
    double *pd = malloc(rows * ldp * sizeof *pd), *td = malloc(rows * ldt * sizeof *td);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            double p = tu_uniform(&rng, -2, 2), gap = tu_uniform(&rng, 0.05, 1.5);
            t->set(pred, i * ldp + j, p);
            t->set(target, i * ldt + j, p + (tu_next(&rng) & 1 ? gap : -gap));
            pd[i * ldp + j] = t->get(pred, i * ldp + j);
            td[i * ldt + j] = t->get(target, i * ldt + j);
        }
    for (int r = 0; r < 3; r++) {
        lb_reduction red = reductions[r];
        void *loss = t->canary(rows * cols), *dpred = t->canary(rows * ldd);
        cr_assert_eq((squared ? api->mse : api->mae)(rows, cols, pred, ldp, target, ldt, red, loss,
                                                     dpred, ldd),
                     LB_OK);
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++) {
                double keep = pd[i * ldp + j];
                pd[i * ldp + j] = keep + h;
                long double up = reduced_f64(squared, rows, cols, pd, ldp, td, ldt, red);
                pd[i * ldp + j] = keep - h;
                long double down = reduced_f64(squared, rows, cols, pd, ldp, td, ldt, red);
                pd[i * ldp + j] = keep;
                double numeric = (double)((up - down) / (2 * h));
                double g = t->get(dpred, i * ldd + j);
                cr_assert(fabs(g - numeric) <= tol * fabs(numeric) + 1e-10,
                          "%s %s %s (%zu,%zu): dpred %.12g, finite difference %.12g", t->name,
                          squared ? "mse" : "mae", reduction_name(red), i, j, g, numeric);
            }
        free(loss);
        free(dpred);
    }
    free(pred);
    free(target);
    free(pd);
    free(td);
}

Test(mse, finite_differences_f32) { gradient_finite_differences(&api_f32, true); }
Test(mse, finite_differences_f64) { gradient_finite_differences(&api_f64, true); }
Test(mae, finite_differences_f32) { gradient_finite_differences(&api_f32, false); }
Test(mae, finite_differences_f64) { gradient_finite_differences(&api_f64, false); }

/* ------------------------------------------------------------------------ */
/* Accuracy                                                                 */
/* ------------------------------------------------------------------------ */

/* numpy.argmax: first maximum, the first NaN wins. */
static size_t reference_argmax(const tu_type *t, const void *row, size_t n)
{
    size_t best = 0;
    for (size_t j = 0; j < n; j++) {
        double v = t->get(row, j);
        if (isnan(v)) return j;
        if (v > t->get(row, best)) best = j;
    }
    return best;
}

/* Hand rows for the argmax rules, one per row, target = the expected argmax
 * (so every row is correct) or not (so none is). */
static void accuracy_argmax_rules(const regression_api *api)
{
    const tu_type *t = api->t;
    enum { ROWS = 8, COLS = 4, LD = 6 };
    const double rows_v[ROWS][COLS] = {
        {1, 1, 0, 0},                      /* tie: lowest index */
        {0, 3, 3, 3},                      /* tie later in the row */
        {0, NAN, 5, NAN},                  /* first NaN wins */
        {NAN, 9, 9, 9},                    /* NaN first */
        {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, /* all equal: index 0 */
        {1, INFINITY, 2, INFINITY},        /* +inf is the max, first one */
        {-5, -4, -3, -2},                  /* last */
        {-0.0, 0.0, 0.0, -1},              /* -0 == +0: index 0 */
    };
    const int64_t argmax_v[ROWS] = {0, 1, 1, 0, 0, 1, 3, 0};
    void *scores = t->canary(ROWS * LD);
    /* padding holds a huge score: reading it would move the argmax */
    for (size_t i = 0; i < ROWS; i++) {
        for (size_t j = 0; j < LD; j++) t->set(scores, i * LD + j, 1e30);
        for (size_t j = 0; j < COLS; j++) t->set(scores, i * LD + j, rows_v[i][j]);
    }
    int64_t right[ROWS], wrong[ROWS];
    for (size_t i = 0; i < ROWS; i++) {
        right[i] = argmax_v[i];
        wrong[i] = (argmax_v[i] + 1) % COLS;
    }
    size_t correct, counted;
    cr_assert_eq(api->accuracy_sparse(ROWS, COLS, scores, LD, right, -100, &correct, &counted), LB_OK);
    cr_assert(correct == ROWS && counted == ROWS, "%s: %zu of %zu", t->name, correct, counted);
    cr_assert_eq(api->accuracy_sparse(ROWS, COLS, scores, LD, wrong, -100, &correct, &counted), LB_OK);
    cr_assert(correct == 0 && counted == ROWS, "%s: %zu of %zu", t->name, correct, counted);
    /* dense: the same rules apply to the targets row (scores as their own
     * targets always agree) */
    cr_assert_eq(api->accuracy_dense(ROWS, COLS, scores, LD, scores, LD, &correct), LB_OK);
    cr_assert_eq(correct, ROWS, "%s dense self: %zu", t->name, correct);
    /* ignore_index, in range or not: rows with that target are not counted */
    int64_t mixed[ROWS];
    for (size_t i = 0; i < ROWS; i++) mixed[i] = i % 2 ? 2 : right[i];
    cr_assert_eq(api->accuracy_sparse(ROWS, COLS, scores, LD, mixed, 2, &correct, &counted), LB_OK);
    size_t expect_counted = 0, expect_correct = 0;
    for (size_t i = 0; i < ROWS; i++)
        if (mixed[i] != 2) {
            expect_counted++;
            expect_correct += mixed[i] == argmax_v[i];
        }
    cr_assert(correct == expect_correct && counted == expect_counted,
              "%s ignore_index 2: %zu of %zu, expected %zu of %zu", t->name, correct, counted,
              expect_correct, expect_counted);
    int64_t negative[ROWS];
    for (size_t i = 0; i < ROWS; i++) negative[i] = i < 3 ? INT64_MIN : right[i];
    cr_assert_eq(api->accuracy_sparse(ROWS, COLS, scores, LD, negative, INT64_MIN, &correct,
                                      &counted),
                 LB_OK);
    cr_assert(correct == ROWS - 3 && counted == ROWS - 3, "%s ignore INT64_MIN: %zu of %zu",
              t->name, correct, counted);
    free(scores);
}

Test(accuracy, argmax_rules_f32) { accuracy_argmax_rules(&api_f32); }
Test(accuracy, argmax_rules_f64) { accuracy_argmax_rules(&api_f64); }

/* Random scores with many ties (small integers) against the reference
 * argmax, sparse with some ignored rows and dense with tied target rows. */
static void accuracy_against_reference(const regression_api *api)
{
    const tu_type *t = api->t;
    tu_rng rng = {121};
    const size_t col_counts[] = {1, 2, 7, 8, 9, 16, 17, 33, 1000, 4099};
    for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
        size_t cols = col_counts[c];
        size_t row_counts[2] = {5, threaded_rows(cols)};
        for (size_t rc = 0; rc < 2; rc++) {
            size_t rows = row_counts[rc], ld = cols + 2, ldt = cols + 1;
            void *scores = t->canary(rows * ld), *dense = t->canary(rows * ldt);
            int64_t *targets = malloc(rows * sizeof *targets);
            /* ties are common with few distinct values; padding is +1e30 */
            for (size_t k = 0; k < rows * ld; k++) t->set(scores, k, 1e30);
            for (size_t k = 0; k < rows * ldt; k++) t->set(dense, k, 1e30);
            double levels = cols < 8 ? 3 : 6;
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < cols; j++) {
                    t->set(scores, i * ld + j, floor(tu_uniform(&rng, 0, levels)));
                    t->set(dense, i * ldt + j, floor(tu_uniform(&rng, 0, levels)) / levels);
                }
            size_t expect_correct = 0, expect_counted = 0, expect_dense = 0;
            for (size_t i = 0; i < rows; i++) {
                size_t am = reference_argmax(t, (char *)scores + i * ld * t->size, cols);
                /* a third right, a third another class, a third ignored */
                uint64_t pick = tu_next(&rng) % 3;
                targets[i] = pick == 0 ? (int64_t)am
                             : pick == 1 ? (int64_t)(tu_next(&rng) % cols)
                                         : -1;
                if (targets[i] != -1) {
                    expect_counted++;
                    expect_correct += (size_t)targets[i] == am;
                }
                expect_dense += am == reference_argmax(t, (char *)dense + i * ldt * t->size, cols);
            }
            size_t correct = 0, counted = 0, correct_dense = 0;
            cr_assert_eq(api->accuracy_sparse(rows, cols, scores, ld, targets, -1, &correct, &counted),
                         LB_OK);
            cr_assert(correct == expect_correct && counted == expect_counted,
                      "%s sparse %zux%zu: %zu of %zu, expected %zu of %zu", t->name, rows, cols,
                      correct, counted, expect_correct, expect_counted);
            cr_assert_eq(api->accuracy_dense(rows, cols, scores, ld, dense, ldt, &correct_dense), LB_OK);
            cr_assert(correct_dense == expect_dense, "%s dense %zux%zu: %zu, expected %zu", t->name,
                      rows, cols, correct_dense, expect_dense);
            free(scores);
            free(dense);
            free(targets);
        }
    }
}

Test(accuracy, reference_f32) { accuracy_against_reference(&api_f32); }
Test(accuracy, reference_f64) { accuracy_against_reference(&api_f64); }

/* ------------------------------------------------------------------------ */
/* Thread counts                                                            */
/* ------------------------------------------------------------------------ */

/* MSE and MAE (every reduction, with gradient) and both accuracies give the
 * same bits with 1, 2 and 3 threads on a problem large enough to be split;
 * the SUM and MEAN losses are the fixed-order reductions. */
static void thread_invariance(const regression_api *api)
{
    const tu_type *t = api->t;
    const size_t rows = 301, cols = 333, ld = 335, n = rows * cols;
    tu_rng rng = {131};
    void *pred = t->canary(rows * ld), *target = t->canary(rows * ld);
    int64_t *targets = malloc(rows * sizeof *targets);
    tu_fill_matrix(&rng, t, pred, rows, cols, ld, -100, 100);
    tu_fill_matrix(&rng, t, target, rows, cols, ld, -100, 100);
    for (size_t i = 0; i < rows; i++) targets[i] = (int64_t)(tu_next(&rng) % cols);
    void *first_loss[2][3], *first_grad[2][3];
    size_t first_counts[3] = {0};
    const int thread_counts[] = {1, 2, 3};
    for (int tc = 0; tc < 3; tc++) {
        lb_set_num_threads(thread_counts[tc]);
        for (int squared = 0; squared < 2; squared++)
            for (int r = 0; r < 3; r++) {
                size_t loss_n = reductions[r] == LB_NONE ? n : 1;
                void *loss = t->canary(loss_n), *grad = t->canary(rows * ld);
                cr_assert_eq((squared ? api->mse : api->mae)(rows, cols, pred, ld, target, ld,
                                                             reductions[r], loss, grad, ld),
                             LB_OK);
                if (tc == 0) {
                    first_loss[squared][r] = loss;
                    first_grad[squared][r] = grad;
                    continue;
                }
                cr_assert(memcmp(loss, first_loss[squared][r], loss_n * t->size) == 0 &&
                              memcmp(grad, first_grad[squared][r], rows * ld * t->size) == 0,
                          "%s %s %s: %d threads differ from 1", t->name, squared ? "mse" : "mae",
                          reduction_name(reductions[r]), thread_counts[tc]);
                free(loss);
                free(grad);
            }
        size_t correct, counted, correct_dense;
        cr_assert_eq(api->accuracy_sparse(rows, cols, pred, ld, targets, 0, &correct, &counted), LB_OK);
        cr_assert_eq(api->accuracy_dense(rows, cols, pred, ld, target, ld, &correct_dense), LB_OK);
        if (tc == 0) {
            first_counts[0] = correct;
            first_counts[1] = counted;
            first_counts[2] = correct_dense;
        } else {
            cr_assert(correct == first_counts[0] && counted == first_counts[1] &&
                      correct_dense == first_counts[2]);
        }
    }
    lb_set_num_threads(0);
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < 3; r++) {
            free(first_loss[s][r]);
            free(first_grad[s][r]);
        }
    free(pred);
    free(target);
    free(targets);
}

Test(regression_threads, bitwise_identical_f32) { thread_invariance(&api_f32); }
Test(regression_threads, bitwise_identical_f64) { thread_invariance(&api_f64); }

/* The MSE gradient 2e / N is formed as e * (2/N): with e = 1.5e308 and N = 3
 * it is 1e308, where 2e alone would overflow to inf. Loss e^2 does overflow
 * (inf is the true value rounded). */
Test(regression_edges, mse_gradient_of_a_huge_error_does_not_overflow)
{
    const double pred[3] = {1e308, 0, 0}, target[3] = {-0.5e308, 0, 0};
    double loss, grad[3];
    cr_assert_eq(lb_mse_f64(3, 1, pred, 1, target, 1, LB_MEAN, &loss, grad, 1), LB_OK);
    cr_assert(isinf(loss));
    cr_assert(fabs(grad[0] - 1e308) <= 4e-16 * 1e308, "grad[0] = %g", grad[0]);
    cr_assert(grad[1] == 0.0 && grad[2] == 0.0);
}
