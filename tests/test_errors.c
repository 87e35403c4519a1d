/*
 * test_errors.c - every error status of the softmax family, the Jacobian,
 * MSE/MAE and accuracy (f32 and f64), their precedence (NULL_POINTER >
 * BAD_DIMENSION > OVERFLOW > BAD_VALUE > BAD_TARGET), and that a rejected
 * call writes nothing: every output (matrices, losses, gradients, counters)
 * still holds its canary afterwards. Also the rows == 0 rules: NULL matrices
 * allowed, SUM writes 0, MEAN writes NaN, NONE writes nothing (and may have a
 * NULL loss), accuracy writes 0 to its counters; and an absent gradient's
 * leading dimension is not checked.
 *
 * Status checks use cr_expect so that one run lists every wrong case.
 */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* One call of any covered function, described by its arguments            */
/* ------------------------------------------------------------------------ */

enum family { FORWARD, BACKWARD, JACOBIAN, REGRESSION, ACCURACY_SPARSE, ACCURACY_DENSE };

/* The arguments of every covered signature; each family uses some:
 *   FORWARD    (rows, cols, in1=x, ld1, out=y, ld_out)
 *   BACKWARD   (rows, cols, in1=y, ld1, in2=dy, ld2, out=dx, ld_out)
 *   JACOBIAN   (rows, cols, in1=y, ld1, layout, out=jac)
 *   REGRESSION (rows, cols, in1=pred, ld1, in2=target, ld2, reduction, loss, out=dpred, ld_out)
 *   ACCURACY_SPARSE (rows, cols, in1=scores, ld1, targets, ignore_index, correct, counted)
 *   ACCURACY_DENSE  (rows, cols, in1=scores, ld1, in2=targets, ld2, correct) */
typedef struct call_args {
    size_t rows, cols;
    const void *in1, *in2;
    size_t ld1, ld2;
    void *out;
    size_t ld_out;
    void *loss;
    const int64_t *targets;
    int64_t ignore_index;
    size_t *correct, *counted;
    lb_reduction reduction;
    lb_jacobian_layout layout;
} call_args;

typedef lb_status (*call_fn)(const call_args *a);

typedef struct kernel {
    const char *name;
    enum family family;
    call_fn call[2]; /* f32, f64 */
} kernel;

#define FORWARD_CALL(fn, REAL)                                                               \
    static lb_status call_##fn(const call_args *a)                                           \
    {                                                                                        \
        return fn(a->rows, a->cols, (const REAL *)a->in1, a->ld1, (REAL *)a->out, a->ld_out); \
    }
#define BACKWARD_CALL(fn, REAL)                                                              \
    static lb_status call_##fn(const call_args *a)                                           \
    {                                                                                        \
        return fn(a->rows, a->cols, (const REAL *)a->in1, a->ld1, (const REAL *)a->in2,      \
                  a->ld2, (REAL *)a->out, a->ld_out);                                         \
    }
#define JACOBIAN_CALL(fn, REAL)                                                              \
    static lb_status call_##fn(const call_args *a)                                           \
    {                                                                                        \
        return fn(a->rows, a->cols, (const REAL *)a->in1, a->ld1, a->layout, (REAL *)a->out); \
    }
#define REGRESSION_CALL(fn, REAL)                                                            \
    static lb_status call_##fn(const call_args *a)                                           \
    {                                                                                        \
        return fn(a->rows, a->cols, (const REAL *)a->in1, a->ld1, (const REAL *)a->in2,      \
                  a->ld2, a->reduction, (REAL *)a->loss, (REAL *)a->out, a->ld_out);          \
    }
#define ACCURACY_CALLS(REAL, P)                                                              \
    static lb_status call_lb_accuracy_sparse_##P(const call_args *a)                         \
    {                                                                                        \
        return lb_accuracy_sparse_##P(a->rows, a->cols, (const REAL *)a->in1, a->ld1,        \
                                      a->targets, a->ignore_index, a->correct, a->counted);  \
    }                                                                                        \
    static lb_status call_lb_accuracy_dense_##P(const call_args *a)                          \
    {                                                                                        \
        return lb_accuracy_dense_##P(a->rows, a->cols, (const REAL *)a->in1, a->ld1,         \
                                     (const REAL *)a->in2, a->ld2, a->correct);              \
    }
FORWARD_CALL(lb_softmax_f32, float)
FORWARD_CALL(lb_softmax_f64, double)
FORWARD_CALL(lb_log_softmax_f32, float)
FORWARD_CALL(lb_log_softmax_f64, double)
BACKWARD_CALL(lb_softmax_backward_f32, float)
BACKWARD_CALL(lb_softmax_backward_f64, double)
BACKWARD_CALL(lb_log_softmax_backward_f32, float)
BACKWARD_CALL(lb_log_softmax_backward_f64, double)
JACOBIAN_CALL(lb_softmax_jacobian_f32, float)
JACOBIAN_CALL(lb_softmax_jacobian_f64, double)
JACOBIAN_CALL(lb_softmax_jacobian_blas_f32, float)
JACOBIAN_CALL(lb_softmax_jacobian_blas_f64, double)
REGRESSION_CALL(lb_mse_f32, float)
REGRESSION_CALL(lb_mse_f64, double)
REGRESSION_CALL(lb_mae_f32, float)
REGRESSION_CALL(lb_mae_f64, double)
ACCURACY_CALLS(float, f32)
ACCURACY_CALLS(double, f64)

#define KERNEL(name, family) {#name, family, {call_lb_##name##_f32, call_lb_##name##_f64}}
static const kernel k_softmax = KERNEL(softmax, FORWARD);
static const kernel k_log_softmax = KERNEL(log_softmax, FORWARD);
static const kernel k_softmax_backward = KERNEL(softmax_backward, BACKWARD);
static const kernel k_log_softmax_backward = KERNEL(log_softmax_backward, BACKWARD);
static const kernel k_jacobian = KERNEL(softmax_jacobian, JACOBIAN);
static const kernel k_jacobian_blas = KERNEL(softmax_jacobian_blas, JACOBIAN);
static const kernel k_mse = KERNEL(mse, REGRESSION);
static const kernel k_mae = KERNEL(mae, REGRESSION);
static const kernel k_accuracy_sparse = KERNEL(accuracy_sparse, ACCURACY_SPARSE);
static const kernel k_accuracy_dense = KERNEL(accuracy_dense, ACCURACY_DENSE);

/* ------------------------------------------------------------------------ */
/* A valid call with canary outputs                                         */
/* ------------------------------------------------------------------------ */

#define ROWS 3
#define COLS 4
#define COUNTER_CANARY ((size_t)0xC0FFEE)

typedef struct fixture {
    const kernel *k;
    const tu_type *t;
    call_args a;
    void *in1, *in2, *out, *loss;
    size_t out_n, loss_n;
    int64_t targets[ROWS];
    size_t correct, counted;
} fixture;

static bool has_in2(enum family f) { return f == BACKWARD || f == REGRESSION || f == ACCURACY_DENSE; }
static bool has_out(enum family f) { return f <= REGRESSION; }
static bool has_ld_out(enum family f) { return f == FORWARD || f == BACKWARD || f == REGRESSION; }

static void fixture_init(fixture *f, const kernel *k, const tu_type *t)
{
    memset(f, 0, sizeof *f);
    f->k = k;
    f->t = t;
    call_args *a = &f->a;
    a->rows = ROWS;
    a->cols = COLS;
    a->ld1 = COLS + 2;
    a->ld2 = COLS + 3;
    a->ld_out = COLS + 1;
    f->in1 = t->canary(ROWS * a->ld1);
    f->in2 = t->canary(ROWS * a->ld2);
    /* valid inputs: probabilities 1/4 (a softmax output), log-probabilities
     * for the log form would be as valid; values only matter for OK calls */
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < COLS; j++) {
            f->t->set(f->in1, i * a->ld1 + j, 0.25);
            f->t->set(f->in2, i * a->ld2 + j, j == i ? 1.0 : 0.0);
        }
    f->out_n = k->family == JACOBIAN ? ROWS * COLS * COLS : ROWS * a->ld_out;
    f->out = t->canary(f->out_n);
    f->loss_n = ROWS * COLS;
    f->loss = t->canary(f->loss_n);
    for (size_t i = 0; i < ROWS; i++) f->targets[i] = (int64_t)i;
    f->correct = f->counted = COUNTER_CANARY;
    a->in1 = f->in1;
    a->in2 = has_in2(k->family) ? f->in2 : NULL;
    a->out = has_out(k->family) ? f->out : NULL;
    a->loss = k->family == REGRESSION ? f->loss : NULL;
    a->targets = f->targets;
    a->ignore_index = -100;
    a->correct = &f->correct;
    a->counted = &f->counted;
    a->reduction = LB_SUM;
    a->layout = LB_JACOBIAN_FULL;
}

static void fixture_free(fixture *f)
{
    free(f->in1);
    free(f->in2);
    free(f->out);
    free(f->loss);
}

static lb_status fixture_call(fixture *f) { return f->k->call[f->t == &tu_type_f64](&f->a); }

/* Expects status want and, for an error, that no output was written. */
static void expect_status(fixture *f, lb_status want, const char *what)
{
    lb_status got = fixture_call(f);
    cr_expect_eq(got, want, "%s_%s, %s: got %d (%s), expected %d (%s)", f->k->name, f->t->name,
                 what, got, lb_status_string(got), want, lb_status_string(want));
    if (want == LB_OK) return;
    cr_expect(f->t->untouched(f->out, f->out_n), "%s_%s, %s: output written on error",
              f->k->name, f->t->name, what);
    cr_expect(f->t->untouched(f->loss, f->loss_n), "%s_%s, %s: loss written on error",
              f->k->name, f->t->name, what);
    cr_expect(f->correct == COUNTER_CANARY && f->counted == COUNTER_CANARY,
              "%s_%s, %s: counters written on error", f->k->name, f->t->name, what);
}

/* One case: a fresh valid fixture, the statements after `what` change it,
 * then the call must give want. */
#define CASE(k, t, want, what, ...)                                                          \
    do {                                                                                     \
        fixture f_;                                                                          \
        fixture_init(&f_, k, t);                                                             \
        call_args *a = &f_.a;                                                                \
        (void)a;                                                                             \
        __VA_ARGS__;                                                                         \
        expect_status(&f_, want, what);                                                      \
        fixture_free(&f_);                                                                   \
    } while (0)

/* A leading dimension whose matrix of ROWS rows spans more than PTRDIFF_MAX
 * bytes, and a column count (with ld = cols) whose single row does. */
static size_t huge_ld(const tu_type *t) { return (size_t)PTRDIFF_MAX / t->size; }
static size_t huge_cols(const tu_type *t) { return (size_t)PTRDIFF_MAX / t->size + 1; }

/* ------------------------------------------------------------------------ */
/* The checks every kernel gets                                             */
/* ------------------------------------------------------------------------ */

static void all_errors(const kernel *k, const tu_type *t)
{
    enum family fam = k->family;
    size_t big = huge_ld(t);

    CASE(k, t, LB_OK, "valid call");

    /* NULL_POINTER, one required pointer at a time */
    CASE(k, t, LB_ERR_NULL_POINTER, "first input NULL", a->in1 = NULL);
    if (has_in2(fam)) CASE(k, t, LB_ERR_NULL_POINTER, "second input NULL", a->in2 = NULL);
    if (has_out(fam) && fam != REGRESSION)
        CASE(k, t, LB_ERR_NULL_POINTER, "output NULL", a->out = NULL);
    if (fam == REGRESSION) {
        for (int r = 0; r < 3; r++)
            CASE(k, t, LB_ERR_NULL_POINTER, "loss NULL", a->reduction = (lb_reduction)r,
                 a->loss = NULL);
    }
    if (fam == ACCURACY_SPARSE) CASE(k, t, LB_ERR_NULL_POINTER, "targets NULL", a->targets = NULL);
    if (fam == ACCURACY_SPARSE || fam == ACCURACY_DENSE)
        CASE(k, t, LB_ERR_NULL_POINTER, "correct NULL", a->correct = NULL);
    if (fam == ACCURACY_SPARSE) CASE(k, t, LB_ERR_NULL_POINTER, "counted NULL", a->counted = NULL);

    /* BAD_DIMENSION: cols == 0 and each leading dimension below cols */
    CASE(k, t, LB_ERR_BAD_DIMENSION, "cols 0", a->cols = 0);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "cols 0, rows 0", a->cols = 0, a->rows = 0);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "ld1 < cols", a->ld1 = COLS - 1);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "ld1 0", a->ld1 = 0);
    if (has_in2(fam)) CASE(k, t, LB_ERR_BAD_DIMENSION, "ld2 < cols", a->ld2 = COLS - 1);
    if (has_ld_out(fam)) CASE(k, t, LB_ERR_BAD_DIMENSION, "ld_out < cols", a->ld_out = COLS - 1);

    /* OVERFLOW: each matrix's extent beyond PTRDIFF_MAX bytes, and one row
     * too long with every ld = cols */
    CASE(k, t, LB_ERR_OVERFLOW, "ld1 extent overflows", a->ld1 = big);
    CASE(k, t, LB_ERR_OVERFLOW, "ld1 = SIZE_MAX", a->ld1 = SIZE_MAX);
    if (has_in2(fam)) CASE(k, t, LB_ERR_OVERFLOW, "ld2 extent overflows", a->ld2 = big);
    if (has_ld_out(fam)) CASE(k, t, LB_ERR_OVERFLOW, "ld_out extent overflows", a->ld_out = big);
    CASE(k, t, LB_ERR_OVERFLOW, "one row longer than PTRDIFF_MAX bytes", a->rows = 1,
         a->cols = a->ld1 = a->ld2 = a->ld_out = huge_cols(t));
    CASE(k, t, LB_ERR_OVERFLOW, "rows * ld overflows size_t", a->rows = SIZE_MAX / 2,
         a->ld1 = a->ld2 = a->ld_out = 8);

    /* precedence among the checks above */
    CASE(k, t, LB_ERR_NULL_POINTER, "NULL beats cols 0", a->in1 = NULL, a->cols = 0);
    CASE(k, t, LB_ERR_NULL_POINTER, "NULL beats ld < cols", a->in1 = NULL, a->ld1 = 1);
    CASE(k, t, LB_ERR_NULL_POINTER, "NULL beats overflow", a->in1 = NULL, a->ld1 = big);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "cols 0 beats overflow", a->cols = 0, a->ld1 = big);
    if (has_in2(fam) || has_ld_out(fam))
        CASE(k, t, LB_ERR_BAD_DIMENSION, "ld < cols beats another ld's overflow",
             a->ld1 = big, a->ld2 = a->ld_out = COLS - 1);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "ld1 < cols beats a huge row", a->rows = 1,
         a->cols = a->ld2 = a->ld_out = huge_cols(t), a->ld1 = 1);

    /* rows == 0: matrix pointers may be NULL */
    if (fam != REGRESSION)
        CASE(k, t, LB_OK, "rows 0 with NULL matrices", a->rows = 0, a->in1 = NULL,
             a->in2 = NULL, a->out = NULL, a->targets = NULL);
}

/* Jacobian: layout BAD_VALUE, cols > INT_MAX and rows * S overflow. */
static void jacobian_errors(const kernel *k, const tu_type *t)
{
    size_t int_max_plus = (size_t)INT_MAX + 1;
    for (int l = 0; l < 2; l++) {
        lb_jacobian_layout layout = l ? LB_JACOBIAN_PACKED : LB_JACOBIAN_FULL;
        CASE(k, t, LB_OK, "valid layout", a->layout = layout);
        CASE(k, t, LB_ERR_OVERFLOW, "cols > INT_MAX", a->layout = layout, a->rows = 1,
             a->cols = a->ld1 = int_max_plus);
        /* y fits (rows * 2 elements) but rows * S does not */
        size_t per_row = l ? 3 : 4;
        CASE(k, t, LB_ERR_OVERFLOW, "rows * S beyond PTRDIFF_MAX bytes", a->layout = layout,
             a->cols = a->ld1 = 2, a->rows = (size_t)PTRDIFF_MAX / t->size / per_row + 1);
        CASE(k, t, LB_ERR_OVERFLOW, "cols * cols overflows size_t", a->layout = layout,
             a->rows = 1, a->cols = a->ld1 = (size_t)1 << 33);
    }
    CASE(k, t, LB_ERR_BAD_VALUE, "layout 2", a->layout = (lb_jacobian_layout)2);
    CASE(k, t, LB_ERR_BAD_VALUE, "layout -1", a->layout = (lb_jacobian_layout)-1);
    CASE(k, t, LB_ERR_NULL_POINTER, "NULL beats bad layout", a->out = NULL,
         a->layout = (lb_jacobian_layout)2);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "ld < cols beats bad layout", a->ld1 = 1,
         a->layout = (lb_jacobian_layout)2);
    CASE(k, t, LB_ERR_OVERFLOW, "overflow beats bad layout", a->rows = 1,
         a->cols = a->ld1 = int_max_plus, a->layout = (lb_jacobian_layout)2);
    CASE(k, t, LB_ERR_OVERFLOW, "ld overflow beats bad layout", a->ld1 = huge_ld(t),
         a->layout = (lb_jacobian_layout)2);
    CASE(k, t, LB_OK, "rows 0 with NULL y and jac", a->rows = 0,
         a->in1 = NULL, a->out = NULL);
    CASE(k, t, LB_ERR_BAD_VALUE, "rows 0 with a bad layout", a->rows = 0, a->in1 = NULL,
         a->out = NULL, a->layout = (lb_jacobian_layout)5);
}

/* MSE/MAE: reduction BAD_VALUE, optional gradient, empty batches. */
static void regression_errors(const kernel *k, const tu_type *t)
{
    CASE(k, t, LB_ERR_BAD_VALUE, "reduction 7", a->reduction = (lb_reduction)7);
    CASE(k, t, LB_ERR_BAD_VALUE, "reduction -1", a->reduction = (lb_reduction)-1);
    CASE(k, t, LB_ERR_NULL_POINTER, "NULL loss beats bad reduction", a->loss = NULL,
         a->reduction = (lb_reduction)7);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "cols 0 beats bad reduction", a->cols = 0,
         a->reduction = (lb_reduction)7);
    CASE(k, t, LB_ERR_BAD_DIMENSION, "ld_out < cols beats bad reduction", a->ld_out = 1,
         a->reduction = (lb_reduction)7);
    CASE(k, t, LB_ERR_OVERFLOW, "overflow beats bad reduction", a->ld2 = huge_ld(t),
         a->reduction = (lb_reduction)7);
    CASE(k, t, LB_ERR_OVERFLOW, "dpred extent overflow beats bad reduction",
         a->ld_out = huge_ld(t), a->reduction = (lb_reduction)7);
    CASE(k, t, LB_ERR_BAD_VALUE, "bad reduction with rows 0", a->rows = 0, a->in1 = NULL,
         a->in2 = NULL, a->reduction = (lb_reduction)3);
    /* an absent gradient's ld is not checked */
    CASE(k, t, LB_OK, "dpred NULL, ld_dpred 0", a->out = NULL, a->ld_out = 0);
    CASE(k, t, LB_OK, "dpred NULL, ld_dpred huge", a->out = NULL, a->ld_out = SIZE_MAX);
    for (int r = 0; r < 3; r++)
        CASE(k, t, LB_OK, "rows 0 with NULL matrices", a->reduction = (lb_reduction)r,
             a->rows = 0, a->in1 = NULL, a->in2 = NULL, a->out = NULL);
}

/* rows == 0: SUM writes 0, MEAN writes NaN, NONE writes nothing and accepts a
 * NULL loss; no gradient is written. */
static void regression_empty(const kernel *k, const tu_type *t)
{
    fixture f;
    fixture_init(&f, k, t);
    f.a.rows = 0;
    f.a.in1 = f.a.in2 = NULL;
    f.a.reduction = LB_SUM;
    cr_expect_eq(fixture_call(&f), LB_OK);
    cr_expect(t->get(f.loss, 0) == 0.0, "%s_%s: empty SUM %g",
              k->name, t->name, t->get(f.loss, 0));
    cr_expect(t->untouched((char *)f.loss + t->size, f.loss_n - 1));
    f.a.reduction = LB_MEAN;
    cr_expect_eq(fixture_call(&f), LB_OK);
    cr_expect(isnan(t->get(f.loss, 0)), "%s_%s: empty MEAN %g", k->name, t->name,
              t->get(f.loss, 0));
    t->set(f.loss, 0, TU_CANARY_F64);
    f.a.reduction = LB_NONE;
    cr_expect_eq(fixture_call(&f), LB_OK);
    cr_expect(t->untouched(f.loss, f.loss_n), "%s_%s: empty NONE wrote", k->name, t->name);
    cr_expect(t->untouched(f.out, f.out_n), "%s_%s: empty batch wrote dpred", k->name, t->name);
    f.a.loss = NULL;
    cr_expect_eq(fixture_call(&f), LB_OK, "%s_%s: NULL loss with NONE and rows 0", k->name,
                 t->name);
    f.a.reduction = LB_SUM;
    cr_expect_eq(fixture_call(&f), LB_ERR_NULL_POINTER, "%s_%s: NULL loss, SUM, rows 0",
                 k->name, t->name);
    f.a.reduction = LB_MEAN;
    cr_expect_eq(fixture_call(&f), LB_ERR_NULL_POINTER, "%s_%s: NULL loss, MEAN, rows 0",
                 k->name, t->name);
    fixture_free(&f);
}

/* Accuracy: BAD_TARGET and its place in the order; empty batches. */
static void accuracy_errors(const kernel *k, const tu_type *t)
{
    bool sparse = k->family == ACCURACY_SPARSE;
    if (sparse) {
        const int64_t bad[] = {COLS, COLS + 1, -1, -99, INT64_MIN, INT64_MAX};
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            /* in the last row, after valid ones */
            CASE(k, t, LB_ERR_BAD_TARGET, "target out of range", f_.targets[ROWS - 1] = bad[b]);
            CASE(k, t, LB_ERR_BAD_TARGET, "target out of range in row 0", f_.targets[0] = bad[b]);
        }
        CASE(k, t, LB_OK, "negative target equal to ignore_index", f_.targets[1] = -7,
             a->ignore_index = -7);
        CASE(k, t, LB_OK, "out-of-range target equal to ignore_index", f_.targets[1] = 1000,
             a->ignore_index = 1000);
        CASE(k, t, LB_ERR_BAD_TARGET, "ignore_index does not excuse another bad target",
             f_.targets[1] = -7, f_.targets[2] = -8, a->ignore_index = -7);
        CASE(k, t, LB_ERR_NULL_POINTER, "NULL counted beats bad target", a->counted = NULL,
             f_.targets[0] = -1);
        CASE(k, t, LB_ERR_NULL_POINTER, "NULL scores beats bad target", a->in1 = NULL,
             f_.targets[0] = -1);
        CASE(k, t, LB_ERR_BAD_DIMENSION, "cols 0 beats bad target", a->cols = 0,
             f_.targets[0] = -1);
        CASE(k, t, LB_ERR_BAD_DIMENSION, "ld < cols beats bad target", a->ld1 = 2,
             f_.targets[0] = -1);
        CASE(k, t, LB_ERR_OVERFLOW, "overflow beats bad target", a->ld1 = huge_ld(t),
             f_.targets[0] = -1);
        CASE(k, t, LB_ERR_NULL_POINTER, "rows 0: counters still required", a->rows = 0,
             a->counted = NULL);
    }
    CASE(k, t, LB_ERR_NULL_POINTER, "rows 0: correct still required", a->rows = 0,
         a->correct = NULL);

    fixture f;
    fixture_init(&f, k, t);
    f.a.rows = 0;
    f.a.in1 = f.a.in2 = NULL;
    f.a.targets = NULL;
    cr_expect_eq(fixture_call(&f), LB_OK);
    cr_expect_eq(f.correct, 0, "%s_%s: empty batch correct %zu", k->name, t->name, f.correct);
    if (sparse)
        cr_expect_eq(f.counted, 0, "%s_%s: empty batch counted %zu", k->name, t->name, f.counted);
    else
        cr_expect_eq(f.counted, COUNTER_CANARY);
    fixture_free(&f);
}

#define KERNEL_TESTS(suite, kern, extra)                                                     \
    Test(suite, errors_f32)                                                                  \
    {                                                                                        \
        all_errors(&kern, &tu_type_f32);                                                     \
        extra(&kern, &tu_type_f32);                                                          \
    }                                                                                        \
    Test(suite, errors_f64)                                                                  \
    {                                                                                        \
        all_errors(&kern, &tu_type_f64);                                                     \
        extra(&kern, &tu_type_f64);                                                          \
    }

static void no_extra(const kernel *k, const tu_type *t)
{
    (void)k;
    (void)t;
}
static void regression_extra(const kernel *k, const tu_type *t)
{
    regression_errors(k, t);
    regression_empty(k, t);
}

KERNEL_TESTS(softmax, k_softmax, no_extra)
KERNEL_TESTS(log_softmax, k_log_softmax, no_extra)
KERNEL_TESTS(softmax_backward, k_softmax_backward, no_extra)
KERNEL_TESTS(log_softmax_backward, k_log_softmax_backward, no_extra)
KERNEL_TESTS(softmax_jacobian, k_jacobian, jacobian_errors)
KERNEL_TESTS(softmax_jacobian_blas, k_jacobian_blas, jacobian_errors)
KERNEL_TESTS(mse, k_mse, regression_extra)
KERNEL_TESTS(mae, k_mae, regression_extra)
KERNEL_TESTS(accuracy_sparse, k_accuracy_sparse, accuracy_errors)
KERNEL_TESTS(accuracy_dense, k_accuracy_dense, accuracy_errors)
