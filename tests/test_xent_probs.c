/*
 * test_xent_probs.c - lb_cross_entropy_probs_sparse / _dense, f32 and f64:
 * the cross-entropy of probabilities clipped to [clip, 1 - clip]:
 *   loss_i = -sum_j t_j log(clip(p_j))     (terms with t_j == 0 are 0)
 *   dloss/dp_j = -t_j / p_j where clip <= p_j <= 1 - clip, 0 where clipped,
 * LB_MEAN dividing by rows. Checked by hand at and around the clip bounds,
 * against a long-double reference over reductions, shapes and soft targets,
 * against central differences, and for in-place gradients and padding.
 * The upper bound is 1 - clip rounded to double, as a double caller would
 * write it.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One call of either form and type, inputs as doubles exact in the type. */
typedef struct probs_call {
    bool f64;
    size_t rows, cols;
    const double *probs;      /* rows x cols contiguous */
    const int64_t *targets;   /* sparse, or NULL */
    const double *dense;      /* rows x cols contiguous, or NULL */
    double clip;
    lb_reduction reduction;
    bool want_grad;
    size_t pad;               /* ld = cols + pad for every matrix */
} probs_call;

static size_t loss_count(const probs_call *c) { return c->reduction == LB_NONE ? c->rows : 1; }

/* Runs the call on padded typed copies (input padding NaN, gradient padding
 * and the slot after the loss canary, checked untouched afterwards). */
static lb_status run_probs(const probs_call *c, double *loss, double *grad)
{
    size_t ld = c->cols + c->pad, n = c->rows * ld, nl = loss_count(c);
    lb_status st;
    if (c->f64) {
        double *p = malloc((n + 1) * sizeof *p), *t = malloc((n + 1) * sizeof *t);
        double *g = tu_canary_f64(n), *l = tu_canary_f64(nl + 1);
        for (size_t i = 0; i < n; i++) p[i] = t[i] = NAN;
        for (size_t i = 0; i < c->rows; i++)
            for (size_t j = 0; j < c->cols; j++) {
                p[i * ld + j] = c->probs[i * c->cols + j];
                if (c->dense) t[i * ld + j] = c->dense[i * c->cols + j];
            }
        st = c->dense ? lb_cross_entropy_probs_dense_f64(c->rows, c->cols, p, ld, t, ld, c->clip,
                                                         c->reduction, l, c->want_grad ? g : NULL, ld)
                      : lb_cross_entropy_probs_sparse_f64(c->rows, c->cols, p, ld, c->targets, c->clip,
                                                          c->reduction, l, c->want_grad ? g : NULL, ld);
        cr_assert(tu_untouched_f64(l + nl, 1), "wrote past the loss");
        cr_assert(tu_padding_untouched_f64(g, c->rows, c->cols, ld), "gradient padding written");
        for (size_t i = 0; i < nl; i++) loss[i] = l[i];
        for (size_t i = 0; c->want_grad && i < c->rows; i++)
            for (size_t j = 0; j < c->cols; j++) grad[i * c->cols + j] = g[i * ld + j];
        free(p); free(t); free(g); free(l);
    } else {
        float *p = malloc((n + 1) * sizeof *p), *t = malloc((n + 1) * sizeof *t);
        float *g = tu_canary_f32(n), *l = tu_canary_f32(nl + 1);
        for (size_t i = 0; i < n; i++) p[i] = t[i] = NAN;
        for (size_t i = 0; i < c->rows; i++)
            for (size_t j = 0; j < c->cols; j++) {
                p[i * ld + j] = (float)c->probs[i * c->cols + j];
                if (c->dense) t[i * ld + j] = (float)c->dense[i * c->cols + j];
            }
        st = c->dense ? lb_cross_entropy_probs_dense_f32(c->rows, c->cols, p, ld, t, ld, c->clip,
                                                         c->reduction, l, c->want_grad ? g : NULL, ld)
                      : lb_cross_entropy_probs_sparse_f32(c->rows, c->cols, p, ld, c->targets, c->clip,
                                                          c->reduction, l, c->want_grad ? g : NULL, ld);
        cr_assert(tu_untouched_f32(l + nl, 1), "wrote past the loss");
        cr_assert(tu_padding_untouched_f32(g, c->rows, c->cols, ld), "gradient padding written");
        for (size_t i = 0; i < nl; i++) loss[i] = l[i];
        for (size_t i = 0; c->want_grad && i < c->rows; i++)
            for (size_t j = 0; j < c->cols; j++) grad[i * c->cols + j] = g[i * ld + j];
        free(p); free(t); free(g); free(l);
    }
    return st;
}

/* Long-double reference of the contract. */
static void reference_probs(const probs_call *c, long double *loss, long double *grad)
{
    long double lo = c->clip, hi = (long double)(1.0 - c->clip), total = 0;
    long double mul = (c->reduction == LB_MEAN) ? 1.0L / (long double)c->rows : 1.0L;
    for (size_t i = 0; i < c->rows; i++) {
        long double row = 0;
        for (size_t j = 0; j < c->cols; j++) {
            long double t = c->dense ? (long double)c->dense[i * c->cols + j]
                                     : (long double)(c->targets[i] == (int64_t)j);
            long double p = c->probs[i * c->cols + j], g = 0;
            if (t != 0) {
                long double clipped = p < lo ? lo : (p > hi ? hi : p);
                row -= t * logl(clipped);
                if (p >= lo && p <= hi) g = -t / p;
            }
            grad[i * c->cols + j] = g * mul;
        }
        if (c->reduction == LB_NONE) loss[i] = row;
        else total += row;
    }
    if (c->reduction == LB_SUM) loss[0] = total;
    if (c->reduction == LB_MEAN) loss[0] = c->rows ? total / c->rows : NAN;
}

/* Loss: 1e-6 (f32, the header's bound) / 1e-13 (f64) relative; the terms are
 * all >= 0 so the sum does not cancel. Gradient: one rounding of -t/p (times
 * 1/rows): 2^-23 (f32) / 4 DBL_EPSILON (f64) relative. */
static void run_and_check(const probs_call *c, const char *what)
{
    size_t nl = loss_count(c), n = c->rows * c->cols;
    double *loss = malloc((nl + 1) * sizeof *loss), *grad = malloc((n + 1) * sizeof *grad);
    long double *want_loss = malloc((nl + 1) * sizeof *want_loss);
    long double *want_grad = malloc((n + 1) * sizeof *want_grad);
    cr_assert_eq(run_probs(c, loss, grad), LB_OK, "%s", what);
    reference_probs(c, want_loss, want_grad);
    double loss_rel = c->f64 ? 1e-13 : 1e-6, grad_rel = c->f64 ? 4 * DBL_EPSILON : 0x1p-23;
    for (size_t k = 0; k < nl; k++)
        cr_assert(fabsl(loss[k] - want_loss[k]) <= loss_rel * fabsl(want_loss[k]),
                  "%s (%s %s, %zux%zu, red %d, clip %g): loss[%zu] %.17g want %.17Lg", what,
                  c->f64 ? "f64" : "f32", c->dense ? "dense" : "sparse", c->rows, c->cols,
                  (int)c->reduction, c->clip, k, loss[k], want_loss[k]);
    for (size_t k = 0; c->want_grad && k < n; k++)
        cr_assert(fabsl(grad[k] - want_grad[k]) <= grad_rel * fabsl(want_grad[k]),
                  "%s (%s %s, red %d, clip %g): grad[%zu] %.17g want %.17Lg (p = %.17g)", what,
                  c->f64 ? "f64" : "f32", c->dense ? "dense" : "sparse", (int)c->reduction, c->clip,
                  k, grad[k], want_grad[k], c->probs[k]);
    free(loss); free(grad); free(want_loss); free(want_grad);
}

static const lb_reduction all_reductions[] = {LB_MEAN, LB_SUM, LB_NONE};

/* ------------------------------------------------------------------------ */
/* Clipping, by hand                                                        */
/* ------------------------------------------------------------------------ */

/* clip = 1/8 is exact in both types, so p can sit exactly on either bound.
 * Each row's target probability (column 0, target 0, one-hot dense):
 *   p = 0          -> clipped up to 1/8:   loss log 8,         grad 0
 *   p = 1          -> clipped down to 7/8: loss -log(7/8),     grad 0
 *   p = 1/8        -> on the bound:        loss log 8,         grad -8
 *   p = 7/8        -> on the bound:        loss -log(7/8),     grad -8/7
 *   p = 1/8 - ulp  -> clipped:             loss log 8,         grad 0
 *   p = 7/8 + ulp  -> clipped:             loss -log(7/8),     grad 0
 *   p = 1/2        -> inside:              loss log 2,         grad -2
 * The other column (t = 0) contributes nothing and gets gradient 0. */
Test(probs_clip, bounds_are_inclusive_and_clipped_entries_have_zero_gradient)
{
    const double log8 = 2.0794415416798357, log87 = 0.13353139262452263, log2 = 0.69314718055994531;
    for (int ty = 0; ty < 2; ty++) {
        double below = ty ? nextafter(0.125, 0) : (double)nextafterf(0.125f, 0);
        double above = ty ? nextafter(0.875, 1) : (double)nextafterf(0.875f, 1);
        const double p_target[7] = {0, 1, 0.125, 0.875, below, above, 0.5};
        const double want_loss[7] = {log8, log87, log8, log87, log8, log87, log2};
        const double want_grad[7] = {0, 0, -8, -8.0 / 7, 0, 0, -2};
        double probs[14], onehot[14];
        int64_t targets[7];
        for (int i = 0; i < 7; i++) {
            probs[2 * i] = p_target[i];
            probs[2 * i + 1] = 0.3;
            onehot[2 * i] = 1;
            onehot[2 * i + 1] = 0;
            targets[i] = 0;
        }
        for (int dense = 0; dense < 2; dense++) {
            probs_call c = {.f64 = ty, .rows = 7, .cols = 2, .probs = probs,
                            .targets = dense ? NULL : targets, .dense = dense ? onehot : NULL,
                            .clip = 0.125, .reduction = LB_NONE, .want_grad = true, .pad = 2};
            double loss[7], grad[14];
            cr_assert_eq(run_probs(&c, loss, grad), LB_OK);
            for (int i = 0; i < 7; i++) {
                cr_assert(tu_close(loss[i], want_loss[i], ty ? 1e-15 : 1e-7, 0),
                          "%s p = %.9g: loss %.17g want %.17g", dense ? "dense" : "sparse",
                          p_target[i], loss[i], want_loss[i]);
                cr_assert(tu_close(grad[2 * i], want_grad[i], ty ? 1e-15 : 1e-7, 0),
                          "%s p = %.9g: grad %.17g want %.17g", dense ? "dense" : "sparse",
                          p_target[i], grad[2 * i], want_grad[i]);
                cr_assert(grad[2 * i + 1] == 0, "t = 0 entry gradient %g", grad[2 * i + 1]);
            }
            run_and_check(&c, "clip bounds");
        }
    }
}

/* The seed notebooks' clip, 1e-7: p = 0 costs -log(1e-7) = 16.11809565095832,
 * p = 1 costs -log(u) with u = 1 - 1e-7 rounded to double
 * (0.99999990000000005), which is 1.0000000494736474e-07 (the exact
 * -log(1 - 1e-7) = 1.0000000500000033e-07 differs in the 9th digit because
 * log near 1 magnifies u's rounding). Both gradients 0. */
Test(probs_clip, default_clip_at_zero_and_one)
{
    const double probs[4] = {0, 1, 1, 0};
    const int64_t targets[2] = {0, 0};
    const double want_loss[2] = {16.11809565095832, (double)-logl((long double)(1.0 - 1e-7))};
    for (int ty = 0; ty < 2; ty++) {
        probs_call c = {.f64 = ty, .rows = 2, .cols = 2, .probs = probs, .targets = targets,
                        .clip = LB_PROBS_CLIP_DEFAULT, .reduction = LB_NONE, .want_grad = true,
                        .pad = 1};
        double loss[2], grad[4];
        cr_assert_eq(run_probs(&c, loss, grad), LB_OK);
        for (int i = 0; i < 2; i++)
            cr_assert(tu_close(loss[i], want_loss[i], ty ? 1e-14 : 1e-6, 0), "loss[%d] = %.17g", i,
                      loss[i]);
        for (int k = 0; k < 4; k++) cr_assert(grad[k] == 0, "grad[%d] = %g", k, grad[k]);
    }
}

/* Dense: a zero target contributes nothing, whatever its probability
 * (0, 1, or even NaN: the term is never formed). */
Test(probs_clip, zero_targets_contribute_nothing)
{
    const double probs[4] = {0, 0.6, NAN, 0.25};
    const double dense[4] = {0, 1, 0, 2};
    /* row 0: -log 0.6 = 0.51082562376599072; row 1: -2 log 0.25 = 2.7725887222397811 */
    const double want_loss[2] = {0.51082562376599072, 2.7725887222397811};
    const double want_grad[4] = {0, -1 / 0.6, 0, -8};
    for (int ty = 0; ty < 2; ty++) {
        probs_call c = {.f64 = ty, .rows = 2, .cols = 2, .probs = probs, .dense = dense,
                        .clip = 1e-7, .reduction = LB_NONE, .want_grad = true, .pad = 3};
        double loss[2], grad[4];
        cr_assert_eq(run_probs(&c, loss, grad), LB_OK);
        for (int i = 0; i < 2; i++)
            cr_assert(tu_close(loss[i], want_loss[i], ty ? 1e-15 : 1e-7, 0), "loss[%d] %.17g", i,
                      loss[i]);
        for (int k = 0; k < 4; k++)
            cr_assert(tu_close(grad[k], want_grad[k], ty ? 1e-15 : 1e-7, 0), "grad[%d] %.17g", k,
                      grad[k]);
    }
}

/* ------------------------------------------------------------------------ */
/* Reductions, shapes and soft targets against the long-double reference    */
/* ------------------------------------------------------------------------ */

/* Rows of softmax-like probabilities with a few entries pushed to 0, 1 and
 * next to the clip bounds; dense targets soft (a third exactly 0). */
static void random_probs(tu_rng *r, bool f64, size_t rows, size_t cols, double clip, double *p,
                         double *dense, int64_t *targets)
{
    for (size_t i = 0; i < rows; i++) {
        double total = 0, ttotal = 0;
        for (size_t j = 0; j < cols; j++) {
            p[i * cols + j] = exp(tu_uniform(r, -6, 3));
            total += p[i * cols + j];
            double t = tu_uniform(r, -0.5, 1);
            dense[i * cols + j] = t < 0 ? 0 : t;
            ttotal += dense[i * cols + j];
        }
        for (size_t j = 0; j < cols; j++) {
            p[i * cols + j] /= total;
            if (ttotal > 0) dense[i * cols + j] /= ttotal;
            switch (tu_next(r) % 16) {
            case 0: p[i * cols + j] = 0; break;
            case 1: p[i * cols + j] = 1; break;
            case 2: p[i * cols + j] = clip; break;
            case 3: p[i * cols + j] = 1 - clip; break;
            case 4: p[i * cols + j] = clip * 0.999; break;
            default: break;
            }
            if (!f64) {
                p[i * cols + j] = (float)p[i * cols + j];
                dense[i * cols + j] = (float)dense[i * cols + j];
            }
        }
        targets[i] = (int64_t)(tu_next(r) % cols);
    }
}

Test(probs_reference, reductions_shapes_and_soft_targets)
{
    tu_rng r = {11};
    const double clips[3] = {LB_PROBS_CLIP_DEFAULT, 0.125, 1e-3};
    for (size_t ci = 0; ci < tu_edge_cols_count; ci++) {
        size_t cols = tu_edge_cols[ci], rows = cols > 100 ? 3 : 9;
        double *p = malloc(rows * cols * sizeof *p), *d = malloc(rows * cols * sizeof *d);
        int64_t *t = malloc(rows * sizeof *t);
        for (int ty = 0; ty < 2; ty++)
            for (int k = 0; k < 3; k++) {
                random_probs(&r, ty, rows, cols, clips[k], p, d, t);
                for (int ri = 0; ri < 3; ri++)
                    for (int dense = 0; dense < 2; dense++) {
                        probs_call c = {.f64 = ty, .rows = rows, .cols = cols, .probs = p,
                                        .targets = dense ? NULL : t, .dense = dense ? d : NULL,
                                        .clip = clips[k], .reduction = all_reductions[ri],
                                        .want_grad = true, .pad = (size_t)ri};
                        run_and_check(&c, "random");
                    }
            }
        free(p); free(d); free(t);
    }
}

/* The gradient of the returned loss, by central differences (f64), on
 * probabilities inside the clip range (the derivative is discontinuous at
 * the bounds). */
Test(probs_gradient, matches_central_differences)
{
    tu_rng r = {12};
    const size_t rows = 3, cols = 5;
    double p[15], d[15];
    int64_t t[3];
    for (size_t k = 0; k < 15; k++) {
        p[k] = tu_uniform(&r, 0.05, 0.9);
        d[k] = tu_uniform(&r, 0, 1);
    }
    for (size_t i = 0; i < rows; i++) t[i] = (int64_t)(tu_next(&r) % cols);
    for (int ri = 0; ri < 3; ri++)
        for (int dense = 0; dense < 2; dense++) {
            probs_call c = {.f64 = true, .rows = rows, .cols = cols, .probs = p,
                            .targets = dense ? NULL : t, .dense = dense ? d : NULL, .clip = 1e-7,
                            .reduction = all_reductions[ri], .want_grad = true};
            double loss[3], grad[15];
            cr_assert_eq(run_probs(&c, loss, grad), LB_OK);
            c.want_grad = false;
            for (size_t k = 0; k < 15; k++) {
                double saved = p[k], h = 1e-6, up = 0, down = 0, l[3];
                p[k] = saved + h;
                cr_assert_eq(run_probs(&c, l, NULL), LB_OK);
                for (size_t i = 0; i < loss_count(&c); i++) up += l[i];
                p[k] = saved - h;
                cr_assert_eq(run_probs(&c, l, NULL), LB_OK);
                for (size_t i = 0; i < loss_count(&c); i++) down += l[i];
                p[k] = saved;
                double fd = (up - down) / (2 * h);
                cr_assert(fabs(fd - grad[k]) <= 1e-6 * fmax(1, fabs(grad[k])),
                          "red %d dense %d: grad[%zu] %.12g fd %.12g", ri, dense, k, grad[k], fd);
            }
        }
}

/* MEAN is SUM / rows for both forms, in loss and gradient. */
Test(probs_reference, mean_is_sum_over_rows)
{
    tu_rng r = {13};
    const size_t rows = 6, cols = 9;
    double p[54], d[54];
    int64_t t[6];
    random_probs(&r, true, rows, cols, 1e-7, p, d, t);
    for (int dense = 0; dense < 2; dense++) {
        double sum, mean, gsum[54], gmean[54];
        probs_call c = {.f64 = true, .rows = rows, .cols = cols, .probs = p,
                        .targets = dense ? NULL : t, .dense = dense ? d : NULL, .clip = 1e-7,
                        .reduction = LB_SUM, .want_grad = true};
        cr_assert_eq(run_probs(&c, &sum, gsum), LB_OK);
        c.reduction = LB_MEAN;
        cr_assert_eq(run_probs(&c, &mean, gmean), LB_OK);
        cr_assert(tu_close(mean, sum / rows, 1e-15, 0));
        for (size_t k = 0; k < 54; k++) cr_assert(tu_close(gmean[k], gsum[k] / rows, 1e-15, 0));
    }
}

/* ------------------------------------------------------------------------ */
/* In place and without a gradient                                          */
/* ------------------------------------------------------------------------ */

#define IP_ROWS 11
#define IP_COLS 17
#define IP_LD 20

Test(probs_alias, in_place_gradient_equals_out_of_place)
{
    tu_rng r = {14};
    double p[IP_ROWS * IP_COLS], d[IP_ROWS * IP_COLS];
    int64_t t[IP_ROWS];
    for (int ty = 0; ty < 2; ty++) {
        random_probs(&r, ty, IP_ROWS, IP_COLS, 1e-7, p, d, t);
        for (int dense = 0; dense < 2; dense++)
            for (int ri = 0; ri < 3; ri++) {
                lb_reduction red = all_reductions[ri];
                size_t n = IP_ROWS * IP_LD;
                if (ty) {
                    double *x = tu_canary_f64(n), *tg = tu_canary_f64(n), *g = tu_canary_f64(n);
                    double l1[IP_ROWS], l2[IP_ROWS];
                    for (size_t i = 0; i < IP_ROWS; i++)
                        for (size_t j = 0; j < IP_COLS; j++) {
                            x[i * IP_LD + j] = p[i * IP_COLS + j];
                            tg[i * IP_LD + j] = d[i * IP_COLS + j];
                        }
                    lb_status s1 = dense ? lb_cross_entropy_probs_dense_f64(IP_ROWS, IP_COLS, x, IP_LD, tg, IP_LD, 1e-7, red, l1, g, IP_LD)
                                         : lb_cross_entropy_probs_sparse_f64(IP_ROWS, IP_COLS, x, IP_LD, t, 1e-7, red, l1, g, IP_LD);
                    lb_status s2 = dense ? lb_cross_entropy_probs_dense_f64(IP_ROWS, IP_COLS, x, IP_LD, tg, IP_LD, 1e-7, red, l2, x, IP_LD)
                                         : lb_cross_entropy_probs_sparse_f64(IP_ROWS, IP_COLS, x, IP_LD, t, 1e-7, red, l2, x, IP_LD);
                    cr_assert(s1 == LB_OK && s2 == LB_OK);
                    cr_assert_eq(memcmp(l1, l2, loss_count(&(probs_call){.rows = IP_ROWS, .reduction = red}) * sizeof(double)), 0);
                    for (size_t i = 0; i < IP_ROWS; i++)
                        cr_assert_eq(memcmp(g + i * IP_LD, x + i * IP_LD, IP_COLS * sizeof(double)), 0,
                                     "f64 %s red %d row %zu", dense ? "dense" : "sparse", ri, i);
                    cr_assert(tu_padding_untouched_f64(x, IP_ROWS, IP_COLS, IP_LD));
                    free(x); free(tg); free(g);
                } else {
                    float *x = tu_canary_f32(n), *tg = tu_canary_f32(n), *g = tu_canary_f32(n);
                    float l1[IP_ROWS], l2[IP_ROWS];
                    for (size_t i = 0; i < IP_ROWS; i++)
                        for (size_t j = 0; j < IP_COLS; j++) {
                            x[i * IP_LD + j] = (float)p[i * IP_COLS + j];
                            tg[i * IP_LD + j] = (float)d[i * IP_COLS + j];
                        }
                    lb_status s1 = dense ? lb_cross_entropy_probs_dense_f32(IP_ROWS, IP_COLS, x, IP_LD, tg, IP_LD, 1e-7, red, l1, g, IP_LD)
                                         : lb_cross_entropy_probs_sparse_f32(IP_ROWS, IP_COLS, x, IP_LD, t, 1e-7, red, l1, g, IP_LD);
                    lb_status s2 = dense ? lb_cross_entropy_probs_dense_f32(IP_ROWS, IP_COLS, x, IP_LD, tg, IP_LD, 1e-7, red, l2, x, IP_LD)
                                         : lb_cross_entropy_probs_sparse_f32(IP_ROWS, IP_COLS, x, IP_LD, t, 1e-7, red, l2, x, IP_LD);
                    cr_assert(s1 == LB_OK && s2 == LB_OK);
                    cr_assert_eq(memcmp(l1, l2, loss_count(&(probs_call){.rows = IP_ROWS, .reduction = red}) * sizeof(float)), 0);
                    for (size_t i = 0; i < IP_ROWS; i++)
                        cr_assert_eq(memcmp(g + i * IP_LD, x + i * IP_LD, IP_COLS * sizeof(float)), 0,
                                     "f32 %s red %d row %zu", dense ? "dense" : "sparse", ri, i);
                    cr_assert(tu_padding_untouched_f32(x, IP_ROWS, IP_COLS, IP_LD));
                    free(x); free(tg); free(g);
                }
            }
    }
}

Test(probs_alias, null_gradient_gives_the_same_loss)
{
    tu_rng r = {15};
    double p[8 * 33], d[8 * 33];
    int64_t t[8];
    for (int ty = 0; ty < 2; ty++) {
        random_probs(&r, ty, 8, 33, 1e-7, p, d, t);
        for (int dense = 0; dense < 2; dense++)
            for (int ri = 0; ri < 3; ri++) {
                double with_grad[8], grad[8 * 33], alone[8];
                probs_call c = {.f64 = ty, .rows = 8, .cols = 33, .probs = p,
                                .targets = dense ? NULL : t, .dense = dense ? d : NULL, .clip = 1e-7,
                                .reduction = all_reductions[ri], .want_grad = true, .pad = 1};
                cr_assert_eq(run_probs(&c, with_grad, grad), LB_OK);
                c.want_grad = false;
                cr_assert_eq(run_probs(&c, alone, NULL), LB_OK);
                cr_assert_eq(memcmp(with_grad, alone, loss_count(&c) * sizeof(double)), 0);
            }
    }
}

/* A mean's gradient -t / (rows * p) stays finite where -t/p alone would
 * overflow: p = 3.7e-309 (subnormal, above clip = 1e-310), rows = 6, so the
 * true gradient is -1 / (6 * 3.7e-309) = -4.5e307. */
Test(probs_gradient, mean_gradient_of_a_tiny_probability_does_not_overflow)
{
    double p[6] = {3.7e-309, 0.5, 0.5, 0.5, 0.5, 0.5}, t[6] = {1, 1, 1, 1, 1, 1};
    double loss, g[6];
    cr_assert_eq(lb_cross_entropy_probs_dense_f64(6, 1, p, 1, t, 1, 1e-310, LB_MEAN, &loss, g, 1),
                 LB_OK);
    double expect = -1.0 / 6.0 / 3.7e-309;
    cr_assert(isfinite(g[0]) && fabs(g[0] - expect) <= 1e-15 * fabs(expect),
              "g[0] = %g, expected %g", g[0], expect);
    cr_assert_eq(lb_cross_entropy_probs_sparse_f64(6, 1, p, 1, (int64_t[6]){0}, 1e-310, LB_MEAN,
                                                   &loss, g, 1),
                 LB_OK);
    cr_assert(isfinite(g[0]) && fabs(g[0] - expect) <= 1e-15 * fabs(expect),
              "sparse g[0] = %g, expected %g", g[0], expect);
}
