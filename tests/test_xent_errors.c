/*
 * test_xent_errors.c - every error status of the eight cross-entropy
 * functions (sparse, dense, probs_sparse, probs_dense; f32 and f64), the
 * order in which they are reported, and the promise that a failing call
 * writes nothing: the loss and gradient buffers are canary-filled and must
 * come back untouched. Each error case has a passing twin nearby (the same
 * call with the one argument fixed), so a check cannot pass by accident.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum xent_fn { FN_SPARSE, FN_DENSE, FN_PROBS_SPARSE, FN_PROBS_DENSE } xent_fn;
static const char *const fn_names[] = {"sparse", "dense", "probs_sparse", "probs_dense"};

/* One call's arguments; err_defaults() gives a valid 3 x 4 call. */
typedef struct err_args {
    xent_fn fn;
    bool f64;
    size_t rows, cols, ld, ld_targets, ld_grad;
    bool null_input, null_targets, null_loss, null_grad;
    bool null_opts;
    lb_xent_opts opts;    /* logits forms; the probability forms use opts.reduction */
    bool use_weights;
    double weight_value;  /* written to class weight 1 when use_weights */
    bool set_target;
    int64_t target_value; /* written to targets[2] when set_target */
    double clip;           /* probability forms */
} err_args;

static err_args err_defaults(xent_fn fn, bool f64)
{
    err_args a = {.fn = fn, .f64 = f64, .rows = 3, .cols = 4, .ld = 4, .ld_targets = 4,
                  .ld_grad = 4, .opts = LB_XENT_DEFAULTS, .weight_value = 1.0,
                  .clip = LB_PROBS_CLIP_DEFAULT};
    return a;
}

static bool is_dense(xent_fn fn) { return fn == FN_DENSE || fn == FN_PROBS_DENSE; }
static bool is_probs(xent_fn fn) { return fn == FN_PROBS_SPARSE || fn == FN_PROBS_DENSE; }

#define BUF 64 /* elements in every buffer: rows * ld stays below this when data is read */

/* Calls the function; when the status is not LB_OK, asserts the loss and
 * gradient buffers were not written. */
static lb_status err_call(const err_args *a)
{
    int64_t targets[BUF];
    for (int i = 0; i < BUF; i++) targets[i] = i % 4;
    if (a->set_target) targets[2] = a->target_value;
    const lb_xent_opts *o = a->null_opts ? NULL : &a->opts;
    lb_reduction red = a->opts.reduction;
    lb_status st;
    if (a->f64) {
        double x[BUF], t[BUF], w[BUF];
        for (int i = 0; i < BUF; i++) { x[i] = 0.1 * i; t[i] = 0.25; w[i] = 1.0; }
        if (a->use_weights) w[1] = a->weight_value;
        double *loss = tu_canary_f64(BUF), *grad = tu_canary_f64(BUF);
        const double *xp = a->null_input ? NULL : x, *tp = a->null_targets ? NULL : t;
        const int64_t *sp = a->null_targets ? NULL : targets;
        const double *wp = a->use_weights ? w : NULL;
        double *lp = a->null_loss ? NULL : loss, *gp = a->null_grad ? NULL : grad;
        switch (a->fn) {
        case FN_SPARSE:
            st = lb_cross_entropy_sparse_f64(a->rows, a->cols, xp, a->ld, sp, wp, o, lp, gp, a->ld_grad);
            break;
        case FN_DENSE:
            st = lb_cross_entropy_dense_f64(a->rows, a->cols, xp, a->ld, tp, a->ld_targets, wp, o, lp,
                                            gp, a->ld_grad);
            break;
        case FN_PROBS_SPARSE:
            st = lb_cross_entropy_probs_sparse_f64(a->rows, a->cols, xp, a->ld, sp, a->clip, red, lp,
                                                   gp, a->ld_grad);
            break;
        default:
            st = lb_cross_entropy_probs_dense_f64(a->rows, a->cols, xp, a->ld, tp, a->ld_targets,
                                                  a->clip, red, lp, gp, a->ld_grad);
        }
        if (st != LB_OK) {
            cr_assert(tu_untouched_f64(loss, BUF), "%s_f64 wrote the loss before failing (%d)",
                      fn_names[a->fn], st);
            cr_assert(tu_untouched_f64(grad, BUF), "%s_f64 wrote the gradient before failing (%d)",
                      fn_names[a->fn], st);
        }
        free(loss);
        free(grad);
    } else {
        float x[BUF], t[BUF], w[BUF];
        for (int i = 0; i < BUF; i++) { x[i] = 0.1f * (float)i; t[i] = 0.25f; w[i] = 1.0f; }
        if (a->use_weights) w[1] = (float)a->weight_value;
        float *loss = tu_canary_f32(BUF), *grad = tu_canary_f32(BUF);
        const float *xp = a->null_input ? NULL : x, *tp = a->null_targets ? NULL : t;
        const int64_t *sp = a->null_targets ? NULL : targets;
        const float *wp = a->use_weights ? w : NULL;
        float *lp = a->null_loss ? NULL : loss, *gp = a->null_grad ? NULL : grad;
        switch (a->fn) {
        case FN_SPARSE:
            st = lb_cross_entropy_sparse_f32(a->rows, a->cols, xp, a->ld, sp, wp, o, lp, gp, a->ld_grad);
            break;
        case FN_DENSE:
            st = lb_cross_entropy_dense_f32(a->rows, a->cols, xp, a->ld, tp, a->ld_targets, wp, o, lp,
                                            gp, a->ld_grad);
            break;
        case FN_PROBS_SPARSE:
            st = lb_cross_entropy_probs_sparse_f32(a->rows, a->cols, xp, a->ld, sp, a->clip, red, lp,
                                                   gp, a->ld_grad);
            break;
        default:
            st = lb_cross_entropy_probs_dense_f32(a->rows, a->cols, xp, a->ld, tp, a->ld_targets,
                                                  a->clip, red, lp, gp, a->ld_grad);
        }
        if (st != LB_OK) {
            cr_assert(tu_untouched_f32(loss, BUF), "%s_f32 wrote the loss before failing (%d)",
                      fn_names[a->fn], st);
            cr_assert(tu_untouched_f32(grad, BUF), "%s_f32 wrote the gradient before failing (%d)",
                      fn_names[a->fn], st);
        }
        free(loss);
        free(grad);
    }
    return st;
}

#define EXPECT(args, status, what)                                                              \
    do {                                                                                        \
        lb_status got_ = err_call(&(args));                                                     \
        cr_assert_eq(got_, (status), "%s_%s: %s: got %d (%s), want %d", fn_names[(args).fn],    \
                     (args).f64 ? "f64" : "f32", (what), (int)got_, lb_status_string(got_),     \
                     (int)(status));                                                            \
    } while (0)

/* Runs the statements given over the eight functions, `a` a fresh valid call. */
#define FOR_EACH_FN(...)                                                                        \
    for (int fn_ = 0; fn_ < 4; fn_++)                                                           \
        for (int ty_ = 0; ty_ < 2; ty_++) {                                                     \
            err_args a = err_defaults((xent_fn)fn_, ty_);                                       \
            __VA_ARGS__                                                                         \
        }

Test(xent_errors, valid_baseline_calls_succeed)
{
    FOR_EACH_FN({
        EXPECT(a, LB_OK, "defaults");
        a.null_opts = true;
        EXPECT(a, LB_OK, "opts NULL means defaults");
        a.null_opts = false;
        a.null_grad = true;
        a.ld_grad = 0; /* unchecked without a gradient */
        EXPECT(a, LB_OK, "no gradient, ld_grad 0");
    })
}

Test(xent_errors, null_pointers)
{
    FOR_EACH_FN({
        err_args b = a;
        b.null_input = true;
        EXPECT(b, LB_ERR_NULL_POINTER, "NULL logits/probs");
        b = a;
        b.null_targets = true;
        EXPECT(b, LB_ERR_NULL_POINTER, "NULL targets");
        const lb_reduction reds[3] = {LB_MEAN, LB_SUM, LB_NONE};
        for (int r = 0; r < 3; r++) {
            b = a;
            b.opts.reduction = reds[r];
            b.null_loss = true;
            EXPECT(b, LB_ERR_NULL_POINTER, "NULL loss with rows > 0");
            b.rows = 0;
            /* rows == 0: only LB_NONE may omit the loss */
            EXPECT(b, reds[r] == LB_NONE ? LB_OK : LB_ERR_NULL_POINTER, "NULL loss, rows 0");
        }
        /* rows == 0: the matrices (and targets) may be NULL */
        b = a;
        b.rows = 0;
        b.null_input = b.null_targets = true;
        EXPECT(b, LB_OK, "rows 0 with NULL matrices");
    })
}

Test(xent_errors, bad_dimensions)
{
    FOR_EACH_FN({
        err_args b = a;
        b.cols = 0;
        EXPECT(b, LB_ERR_BAD_DIMENSION, "cols 0");
        b.rows = 0;
        EXPECT(b, LB_ERR_BAD_DIMENSION, "cols 0 with rows 0");
        b = a;
        b.ld = 3;
        EXPECT(b, LB_ERR_BAD_DIMENSION, "ld < cols");
        b = a;
        b.ld_grad = 3;
        EXPECT(b, LB_ERR_BAD_DIMENSION, "ld of the gradient < cols");
        b.null_grad = true;
        EXPECT(b, LB_OK, "ld of a NULL gradient is not checked");
        b = a;
        b.ld_targets = 3;
        EXPECT(b, is_dense(a.fn) ? LB_ERR_BAD_DIMENSION : LB_OK, "ld_targets < cols");
        /* larger leading dimensions are fine */
        b = a;
        b.ld = 7;
        b.ld_targets = 5;
        b.ld_grad = 9;
        EXPECT(b, LB_OK, "ld > cols");
        /* rows == 0 still checks ld */
        b = a;
        b.rows = 0;
        b.ld = 2;
        EXPECT(b, LB_ERR_BAD_DIMENSION, "ld < cols with rows 0");
    })
}

Test(xent_errors, overflow)
{
    FOR_EACH_FN({
        size_t elem = a.f64 ? sizeof(double) : sizeof(float);
        size_t too_many_rows = (size_t)PTRDIFF_MAX / elem / 4 + 2; /* x 4 cols > PTRDIFF_MAX bytes */
        err_args b = a;
        b.rows = too_many_rows;
        EXPECT(b, LB_ERR_OVERFLOW, "rows * ld beyond PTRDIFF_MAX bytes");
        b.opts.reduction = LB_NONE;
        EXPECT(b, LB_ERR_OVERFLOW, "rows beyond PTRDIFF_MAX bytes, LB_NONE");
        b.null_grad = true;
        EXPECT(b, LB_ERR_OVERFLOW, "rows beyond PTRDIFF_MAX bytes, no gradient");
        b = a;
        b.ld = SIZE_MAX / 2;
        EXPECT(b, LB_ERR_OVERFLOW, "huge ld");
        b = a;
        b.ld_grad = SIZE_MAX / 2;
        EXPECT(b, LB_ERR_OVERFLOW, "huge ld of the gradient");
        b.null_grad = true;
        EXPECT(b, LB_OK, "huge ld of a NULL gradient is not checked");
        b = a;
        b.ld_targets = SIZE_MAX / 2;
        EXPECT(b, is_dense(a.fn) ? LB_ERR_OVERFLOW : LB_OK, "huge ld_targets");
        b = a;
        b.rows = 1;
        b.cols = b.ld = b.ld_targets = b.ld_grad = (size_t)PTRDIFF_MAX / elem + 1;
        EXPECT(b, LB_ERR_OVERFLOW, "one row longer than PTRDIFF_MAX bytes");
        b = a;
        b.rows = 1;
        b.cols = b.ld = b.ld_targets = b.ld_grad = SIZE_MAX;
        EXPECT(b, LB_ERR_OVERFLOW, "cols SIZE_MAX");
    })
}

Test(xent_errors, bad_values_of_the_logits_forms)
{
    for (int fn = FN_SPARSE; fn <= FN_DENSE; fn++)
        for (int ty = 0; ty < 2; ty++) {
            err_args a = err_defaults((xent_fn)fn, ty), b;
            const int bad_reductions[] = {3, -1, 1000};
            for (int k = 0; k < 3; k++) {
                b = a;
                b.opts.reduction = (lb_reduction)bad_reductions[k];
                EXPECT(b, LB_ERR_BAD_VALUE, "reduction outside the enum");
            }
            const double bad_smoothing[] = {-1e-300, -0.1, 1.0000001, 2, NAN, INFINITY, -INFINITY};
            for (size_t k = 0; k < sizeof bad_smoothing / sizeof *bad_smoothing; k++) {
                b = a;
                b.opts.label_smoothing = bad_smoothing[k];
                EXPECT(b, LB_ERR_BAD_VALUE, "label_smoothing outside [0, 1]");
            }
            const double good_smoothing[] = {0, 1e-300, 0.5, 1};
            for (size_t k = 0; k < sizeof good_smoothing / sizeof *good_smoothing; k++) {
                b = a;
                b.opts.label_smoothing = good_smoothing[k];
                EXPECT(b, LB_OK, "label_smoothing in [0, 1]");
            }
            const double bad_scale[] = {INFINITY, -INFINITY, NAN};
            for (int k = 0; k < 3; k++) {
                b = a;
                b.opts.grad_scale = bad_scale[k];
                EXPECT(b, LB_ERR_BAD_VALUE, "non-finite grad_scale");
                b.null_grad = true;
                EXPECT(b, LB_ERR_BAD_VALUE, "non-finite grad_scale, no gradient");
            }
            b = a;
            b.opts.grad_scale = -1e300;
            EXPECT(b, LB_OK, "large finite grad_scale");
            b.opts.grad_scale = 0;
            EXPECT(b, LB_OK, "grad_scale 0");
            const double bad_weights[] = {-1, -1e-30, NAN, -NAN, INFINITY, -INFINITY, -1e-40};
            for (int k = 0; k < 7; k++) {
                b = a;
                b.use_weights = true;
                b.weight_value = bad_weights[k];
                EXPECT(b, LB_ERR_BAD_VALUE, "class weight negative or non-finite");
            }
            const double good_weights[] = {0, -0.0, 1e-30, 3e38, 1e-40};
            for (int k = 0; k < 5; k++) {
                b = a;
                b.use_weights = true;
                b.weight_value = good_weights[k];
                EXPECT(b, LB_OK, "class weight finite and >= 0");
            }
            /* any empty_mean_is_zero is a valid boolean */
            b = a;
            b.opts.empty_mean_is_zero = -7;
            EXPECT(b, LB_OK, "empty_mean_is_zero non-zero");
        }
}

Test(xent_errors, bad_values_of_the_probability_forms)
{
    for (int fn = FN_PROBS_SPARSE; fn <= FN_PROBS_DENSE; fn++)
        for (int ty = 0; ty < 2; ty++) {
            err_args a = err_defaults((xent_fn)fn, ty), b;
            const double bad_clip[] = {0, -0.0, 0.5, -1e-7, 0.75, 1, NAN, INFINITY, -INFINITY};
            for (size_t k = 0; k < sizeof bad_clip / sizeof *bad_clip; k++) {
                b = a;
                b.clip = bad_clip[k];
                EXPECT(b, LB_ERR_BAD_VALUE, "clip outside (0, 0.5)");
                b.rows = 0;
                EXPECT(b, LB_ERR_BAD_VALUE, "clip outside (0, 0.5), rows 0");
            }
            const double good_clip[] = {4.9e-324, 1e-7, 0.25, 0.49999999999999994};
            for (int k = 0; k < 4; k++) {
                b = a;
                b.clip = good_clip[k];
                EXPECT(b, LB_OK, "clip inside (0, 0.5)");
            }
            const int bad_reductions[] = {3, -1};
            for (int k = 0; k < 2; k++) {
                b = a;
                b.opts.reduction = (lb_reduction)bad_reductions[k];
                EXPECT(b, LB_ERR_BAD_VALUE, "reduction outside the enum");
            }
        }
}

Test(xent_errors, bad_targets)
{
    for (int fn = 0; fn < 4; fn++)
        for (int ty = 0; ty < 2; ty++) {
            err_args a = err_defaults((xent_fn)fn, ty), b;
            bool sparse = !is_dense(a.fn);
            const int64_t bad[] = {4, 5, -1, -99, -101, INT64_MAX, INT64_MIN};
            for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
                b = a;
                b.set_target = true;
                b.target_value = bad[k];
                /* dense targets are not validated; the index array is not even read */
                EXPECT(b, sparse ? LB_ERR_BAD_TARGET : LB_OK, "target outside [0, cols)");
            }
            b = a;
            b.set_target = true;
            b.target_value = 3;
            EXPECT(b, LB_OK, "target cols - 1");
            /* ignore_index: any value, in range or not, exempts a target (logits forms) */
            const int64_t ignores[] = {-100, 1000, -1, INT64_MIN, INT64_MAX, 2};
            for (int k = 0; k < 6; k++) {
                b = a;
                b.set_target = true;
                b.target_value = ignores[k];
                b.opts.ignore_index = ignores[k];
                lb_status want = LB_OK;
                /* probs_sparse has no ignore_index: -100 and other outsiders are BAD_TARGET */
                if (a.fn == FN_PROBS_SPARSE && (ignores[k] < 0 || ignores[k] >= 4))
                    want = LB_ERR_BAD_TARGET;
                EXPECT(b, want, "target == ignore_index");
            }
        }
}

/* Injects one error of each kind, so pairs can be combined. The huge-rows
 * overflow is safe: no data is read once a status is known. */
typedef void (*injector)(err_args *);
static void inject_null(err_args *a) { a->null_input = true; }
static void inject_dimension(err_args *a) { a->ld = a->cols - 1; }
static void inject_overflow(err_args *a) { a->rows = (size_t)PTRDIFF_MAX / 2; }
static void inject_value(err_args *a)
{
    if (is_probs(a->fn)) a->clip = 0.5;
    else a->opts.label_smoothing = -1;
}
static void inject_target(err_args *a)
{
    a->set_target = true;
    a->target_value = 4;
}

Test(xent_errors, precedence_null_dimension_overflow_value_target)
{
    const injector inject[5] = {inject_null, inject_dimension, inject_overflow, inject_value,
                                inject_target};
    const lb_status status[5] = {LB_ERR_NULL_POINTER, LB_ERR_BAD_DIMENSION, LB_ERR_OVERFLOW,
                                 LB_ERR_BAD_VALUE, LB_ERR_BAD_TARGET};
    const char *names[5] = {"null", "dimension", "overflow", "value", "target"};
    FOR_EACH_FN({
        int kinds = is_dense(a.fn) ? 4 : 5; /* dense forms have no BAD_TARGET */
        for (int k = 0; k < kinds; k++) {
            err_args one = a;
            inject[k](&one);
            EXPECT(one, status[k], names[k]);
            for (int l = k + 1; l < kinds; l++) {
                err_args two = one;
                inject[l](&two);
                char what[64];
                snprintf(what, sizeof what, "%s before %s", names[k], names[l]);
                EXPECT(two, status[k], what);
            }
        }
        /* all five at once: NULL_POINTER */
        err_args all = a;
        for (int k = 0; k < kinds; k++) inject[k](&all);
        EXPECT(all, LB_ERR_NULL_POINTER, "all errors at once");
    })
}

/* A bad target in the last row still leaves every output untouched (the
 * targets are checked before the first row is computed). */
Test(xent_errors, late_bad_target_writes_nothing)
{
    for (int fn = 0; fn < 4; fn++) {
        if (is_dense((xent_fn)fn)) continue;
        for (int ty = 0; ty < 2; ty++) {
            err_args a = err_defaults((xent_fn)fn, ty);
            a.rows = 3;
            a.set_target = true; /* targets[2]: the last row */
            a.target_value = -5;
            for (int r = 0; r < 3; r++) {
                a.opts.reduction = (lb_reduction)r;
                EXPECT(a, LB_ERR_BAD_TARGET, "bad target in the last row");
            }
        }
    }
}
