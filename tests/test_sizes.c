/*
 * test_sizes.c - the size rules at their edges, for every public function:
 *  - rows == 0 (NULL matrices allowed; SUM 0, MEAN NaN, NONE writes nothing,
 *    accuracy counters 0) and cols == 1 (softmax exactly 1, every gradient
 *    exactly 0, ...);
 *  - a single row with a huge leading dimension (valid: the row is all that
 *    is touched, and buffers of exactly cols elements are used) and the same
 *    ld with two rows (LB_ERR_OVERFLOW);
 *  - products that wrap around size_t (rows*ld, rows*cols*cols for the
 *    Jacobian, rows*cols for LB_NONE losses): LB_ERR_OVERFLOW, nothing written;
 *  - Jacobian dimensions above INT_MAX (OpenBLAS takes int);
 *  - the largest Jacobian that fits comfortably here: one row of 8192 classes,
 *    FULL f32 = 256 MiB, checked on the whole diagonal and sampled entries.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const tu_type *const types[2] = {&tu_type_f32, &tu_type_f64};

static bool is_loss_op(tu_op op) { return tu_op_has_loss(op); }

/* An exact-size buffer of n elements, filled with the canary. */
static void *canary(const tu_type *t, size_t n) { return t->canary(n ? n : 1); }

/* ------------------------------------------------------------------------ */
/* rows == 0                                                                */
/* ------------------------------------------------------------------------ */

Test(sizes, rows_zero_every_function)
{
    for (int ti = 0; ti < 2; ti++) {
        const tu_type *t = types[ti];
        for (tu_op op = 0; op < TU_OP_COUNT; op++) {
            for (int red = 0; red < (is_loss_op(op) ? 3 : 1); red++) {
                lb_xent_opts opts = LB_XENT_DEFAULTS;
                opts.reduction = (lb_reduction)red;
                void *loss = canary(t, 1);
                size_t correct = 99, counted = 99;
                tu_call c = {.rows = 0, .cols = 5, .ld1 = 5, .ld2 = 5, .ld_out = 5,
                             .loss = red == LB_NONE ? NULL : loss, .opts = &opts,
                             .reduction = (lb_reduction)red, .clip = LB_PROBS_CLIP_DEFAULT,
                             .ignore_index = -100, .correct = &correct, .counted = &counted};
                lb_status st = tu_run(op, t, &c);
                cr_expect_eq(st, LB_OK, "%s_%s rows 0 reduction %d: status %d", tu_op_name(op),
                             t->name, red, st);
                if (is_loss_op(op) && red == LB_SUM)
                    cr_expect(t->get(loss, 0) == 0, "%s_%s rows 0 SUM: %g", tu_op_name(op),
                              t->name, t->get(loss, 0));
                if (is_loss_op(op) && red == LB_MEAN)
                    cr_expect(isnan(t->get(loss, 0)), "%s_%s rows 0 MEAN: %g, want NaN",
                              tu_op_name(op), t->name, t->get(loss, 0));
                if (op == TU_ACCURACY_SPARSE) cr_expect(correct == 0 && counted == 0);
                if (op == TU_ACCURACY_DENSE) cr_expect(correct == 0 && counted == 99);
                free(loss);
            }
        }
        /* the empty mean of the logits forms can be 0 instead */
        lb_xent_opts zero = LB_XENT_DEFAULTS;
        zero.empty_mean_is_zero = 1;
        for (tu_op op = TU_XENT_SPARSE; op <= TU_XENT_DENSE; op++) {
            void *loss = canary(t, 1);
            tu_call c = {.rows = 0, .cols = 5, .ld1 = 5, .ld2 = 5, .loss = loss, .opts = &zero};
            cr_expect_eq(tu_run(op, t, &c), LB_OK);
            cr_expect(t->get(loss, 0) == 0, "%s_%s empty mean with empty_mean_is_zero: %g",
                      tu_op_name(op), t->name, t->get(loss, 0));
            free(loss);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* cols == 1                                                                */
/* ------------------------------------------------------------------------ */

/* One class: the softmax is exactly 1, so every derivative cancels exactly. */
Test(sizes, one_column_every_function)
{
    enum { ROWS = 3 };
    tu_rng rng = {11};
    for (int ti = 0; ti < 2; ti++) {
        const tu_type *t = types[ti];
        const double rel = t->size == 4 ? 1e-6 : 1e-14;
        for (size_t ld = 1; ld <= 3; ld += 2) { /* ld 1, and ld 3 with padding */
            size_t extent = ROWS * ld; /* the last row padded too, for padding_untouched */
            for (tu_op op = 0; op < TU_OP_COUNT; op++) {
                void *in1 = canary(t, extent), *in2 = canary(t, extent);
                void *out = canary(t, extent), *loss = canary(t, ROWS);
                /* row 1 ignored where the op has an ignore_index */
                int64_t targets[ROWS] = {0, op == TU_PROBS_SPARSE ? 0 : -100, 0};
                bool backward_like = op == TU_SOFTMAX_BACKWARD || tu_op_is_jacobian(op);
                for (size_t i = 0; i < ROWS; i++) {
                    /* in1: logits / scores / pred; the forward result where the
                     * op takes one (y = 1, logy = 0, probabilities 1) */
                    double v = tu_uniform(&rng, -5, 5);
                    if (backward_like || op == TU_PROBS_SPARSE || op == TU_PROBS_DENSE) v = 1;
                    if (op == TU_LOG_SOFTMAX_BACKWARD) v = 0;
                    t->set(in1, i * ld, v);
                    t->set(in2, i * ld, tu_uniform(&rng, 0, 1));
                }
                lb_xent_opts opts = LB_XENT_DEFAULTS;
                opts.reduction = LB_NONE;
                opts.label_smoothing = 0.3;
                size_t correct = 99, counted = 99;
                tu_call c = {.rows = ROWS, .cols = 1, .in1 = in1, .ld1 = ld, .in2 = in2,
                             .ld2 = ld, .targets = targets, .out = out, .ld_out = ld,
                             .loss = loss, .opts = &opts, .reduction = LB_NONE,
                             .clip = LB_PROBS_CLIP_DEFAULT, .ignore_index = -100,
                             .correct = &correct, .counted = &counted};
                lb_status st = tu_run(op, t, &c);
                cr_assert_eq(st, LB_OK, "%s_%s cols 1 ld %zu: status %d", tu_op_name(op), t->name,
                             ld, st);
                size_t out_stride = tu_op_is_jacobian(op) ? 1 : ld;
                for (size_t i = 0; i < ROWS; i++) {
                    double y = t->get(out, i * out_stride), x = t->get(in1, i * ld);
                    double b = t->get(in2, i * ld);
                    switch (op) {
                    case TU_SOFTMAX: cr_expect(y == 1, "softmax_%s of one class: %g", t->name, y); break;
                    case TU_LOG_SOFTMAX:
                        cr_expect(y == 0, "log_softmax_%s of one class: %g", t->name, y);
                        break;
                    case TU_XENT_SPARSE: /* target 0 or ignored: loss 0, gradient 0 */
                    case TU_XENT_DENSE:
                        cr_expect(t->get(loss, i) == 0, "%s_%s row %zu loss %g", tu_op_name(op),
                                  t->name, i, t->get(loss, i));
                        cr_expect(y == 0, "%s_%s row %zu gradient %g", tu_op_name(op), t->name, i, y);
                        break;
                    case TU_PROBS_SPARSE: /* p = 1 is clipped to 1 - clip (as a double): gradient 0 */
                        cr_expect(tu_close(t->get(loss, i), -log(1.0 - LB_PROBS_CLIP_DEFAULT), rel, 0));
                        cr_expect(y == 0);
                        break;
                    case TU_PROBS_DENSE:
                        cr_expect(tu_close(t->get(loss, i), -b * log(1.0 - LB_PROBS_CLIP_DEFAULT), rel,
                                           1e-300));
                        cr_expect(y == 0);
                        break;
                    case TU_MSE:
                        cr_expect(tu_close(t->get(loss, i), (x - b) * (x - b), rel, 0));
                        cr_expect(tu_close(y, 2 * (x - b), rel, 0));
                        break;
                    case TU_MAE:
                        cr_expect(tu_close(t->get(loss, i), fabs(x - b), rel, 0));
                        cr_expect(y == (x > b ? 1 : x < b ? -1 : 0));
                        break;
                    case TU_ACCURACY_SPARSE:
                    case TU_ACCURACY_DENSE: break;
                    default: /* backward passes and Jacobians of y = 1: exactly 0 */
                        cr_expect(y == 0, "%s_%s of one class: %g", tu_op_name(op), t->name, y);
                    }
                }
                if (op == TU_ACCURACY_SPARSE) cr_expect(correct == 2 && counted == 2);
                if (op == TU_ACCURACY_DENSE) cr_expect(correct == ROWS);
                if (!tu_op_is_jacobian(op) && op < TU_ACCURACY_SPARSE)
                    cr_expect(t->padding_untouched(out, ROWS, 1, ld), "%s_%s padding written",
                              tu_op_name(op), t->name);
                free(in1);
                free(in2);
                free(out);
                free(loss);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* One row with a huge leading dimension                                    */
/* ------------------------------------------------------------------------ */

/* Fills a call for op on one row of cols values in exact-size buffers. */
typedef struct row_call {
    tu_call c;
    void *in1, *in2, *out, *loss;
    int64_t targets[2];
    lb_xent_opts opts;
    size_t correct, counted;
} row_call;

static void row_call_init(row_call *r, tu_op op, const tu_type *t, size_t rows, size_t cols,
                          size_t ld, uint64_t seed)
{
    tu_rng rng = {seed};
    size_t out_elems = tu_op_is_jacobian(op) ? tu_jacobian_row_elems(op, cols) : cols;
    r->in1 = canary(t, cols);
    r->in2 = canary(t, cols);
    r->out = canary(t, out_elems);
    r->loss = canary(t, 1);
    tu_fill_matrix(&rng, t, r->in1, 1, cols, cols, 0.01, 1);
    tu_fill_matrix(&rng, t, r->in2, 1, cols, cols, 0, 1);
    r->targets[0] = r->targets[1] = 2;
    lb_xent_opts o = LB_XENT_DEFAULTS;
    o.reduction = LB_SUM;
    o.label_smoothing = 0.1;
    r->opts = o;
    r->correct = r->counted = 99;
    r->c = (tu_call){.rows = rows, .cols = cols, .in1 = r->in1, .ld1 = ld, .in2 = r->in2,
                     .ld2 = ld, .targets = r->targets, .out = r->out, .ld_out = ld,
                     .loss = r->loss, .opts = &r->opts, .reduction = LB_SUM,
                     .clip = LB_PROBS_CLIP_DEFAULT, .ignore_index = -100,
                     .correct = &r->correct, .counted = &r->counted};
}

static void row_call_free(row_call *r)
{
    free(r->in1);
    free(r->in2);
    free(r->out);
    free(r->loss);
}

Test(sizes, huge_ld_with_one_row_works_and_two_rows_overflow)
{
    enum { COLS = 9 };
    for (int ti = 0; ti < 2; ti++) {
        const tu_type *t = types[ti];
        const size_t huge[] = {SIZE_MAX, (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX / t->size,
                               (size_t)1 << 40};
        for (tu_op op = 0; op < TU_OP_COUNT; op++) {
            row_call plain;
            row_call_init(&plain, op, t, 1, COLS, COLS, 5);
            cr_assert_eq(tu_run(op, t, &plain.c), LB_OK, "%s_%s plain", tu_op_name(op), t->name);
            size_t out_elems = tu_op_is_jacobian(op) ? tu_jacobian_row_elems(op, COLS) : COLS;
            for (size_t h = 0; h < sizeof huge / sizeof *huge; h++) {
                /* one row: valid, same bits as ld = cols, nothing past the row */
                row_call wide;
                row_call_init(&wide, op, t, 1, COLS, huge[h], 5);
                lb_status st = tu_run(op, t, &wide.c);
                cr_expect_eq(st, LB_OK, "%s_%s rows 1 ld %zu: status %d", tu_op_name(op),
                             t->name, huge[h], st);
                cr_expect(memcmp(wide.out, plain.out, out_elems * t->size) == 0,
                          "%s_%s rows 1 ld %zu: output differs from ld = cols", tu_op_name(op),
                          t->name, huge[h]);
                cr_expect(memcmp(wide.loss, plain.loss, t->size) == 0 &&
                              wide.correct == plain.correct && wide.counted == plain.counted,
                          "%s_%s rows 1 ld %zu: loss/counters differ", tu_op_name(op), t->name,
                          huge[h]);
                row_call_free(&wide);
                /* two rows: the second row starts beyond PTRDIFF_MAX bytes */
                if (huge[h] == (size_t)1 << 40) continue; /* 2^40 elements still fit */
                row_call two;
                row_call_init(&two, op, t, 2, COLS, huge[h], 5);
                st = tu_run(op, t, &two.c);
                cr_expect_eq(st, LB_ERR_OVERFLOW, "%s_%s rows 2 ld %zu: status %d",
                             tu_op_name(op), t->name, huge[h], st);
                cr_expect(t->untouched(two.out, out_elems) && t->untouched(two.loss, 1) &&
                              two.correct == 99 && two.counted == 99,
                          "%s_%s rows 2 ld %zu: written on error", tu_op_name(op), t->name,
                          huge[h]);
                row_call_free(&two);
            }
            row_call_free(&plain);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Products that wrap around size_t                                         */
/* ------------------------------------------------------------------------ */

typedef struct wrap_case {
    const char *what;
    tu_op op;
    size_t elem; /* 0: both types */
    size_t rows, cols, ld;
    lb_reduction reduction;
} wrap_case;

/* Each case's true size is far beyond PTRDIFF_MAX bytes but the product
 * computed in size_t wraps to something small (often 0), so a check that
 * multiplies first would accept it. */
static const wrap_case wrap_cases[] = {
    /* (rows - 1) * ld = 2^64 -> 0 */
    {"rows*ld wraps", TU_SOFTMAX, 0, ((size_t)1 << 32) + 1, 1, (size_t)1 << 32, LB_SUM},
    {"rows*ld wraps", TU_LOG_SOFTMAX_BACKWARD, 0, ((size_t)1 << 32) + 1, 1, (size_t)1 << 32, LB_SUM},
    {"rows*ld wraps", TU_XENT_DENSE, 0, ((size_t)1 << 32) + 1, 1, (size_t)1 << 32, LB_SUM},
    {"rows*ld wraps", TU_MAE, 0, ((size_t)1 << 32) + 1, 1, (size_t)1 << 32, LB_MEAN},
    {"rows*ld wraps", TU_ACCURACY_DENSE, 0, ((size_t)1 << 32) + 1, 1, (size_t)1 << 32, LB_SUM},
    /* rows*cols elements of an LB_NONE loss: 2^64 + 2^32 -> 2^32 */
    {"rows*cols (NONE) wraps", TU_MSE, 0, ((size_t)1 << 32) + 1, (size_t)1 << 32,
     (size_t)1 << 32, LB_NONE},
    /* rows values of an LB_NONE loss: 2^62 * 4 bytes = 2^64 -> 0 */
    {"rows*4 bytes (NONE) wraps", TU_XENT_SPARSE, 4, (size_t)1 << 62, 1, 1, LB_NONE},
    {"rows*4 bytes (NONE) wraps", TU_PROBS_SPARSE, 4, (size_t)1 << 62, 1, 1, LB_NONE},
    /* Jacobian rows * cols^2: 2^40 * 2^24 = 2^64 -> 0 (y itself is 2^54 bytes) */
    {"rows*cols*cols wraps", TU_JACOBIAN_FULL, 4, (size_t)1 << 40, (size_t)1 << 12,
     (size_t)1 << 12, LB_SUM},
    {"rows*cols*cols wraps", TU_JACOBIAN_BLAS_FULL, 4, (size_t)1 << 40, (size_t)1 << 12,
     (size_t)1 << 12, LB_SUM},
    {"rows*cols*cols wraps", TU_JACOBIAN_FULL, 8, (size_t)1 << 38, (size_t)1 << 13,
     (size_t)1 << 13, LB_SUM},
    /* packed: 2^33 * (2^31 + 2^15) = 2^64 + 2^48 -> 2^48 */
    {"rows*cols*(cols+1)/2 wraps", TU_JACOBIAN_PACKED, 4, (size_t)1 << 33, (size_t)1 << 16,
     (size_t)1 << 16, LB_SUM},
    {"rows*cols*(cols+1)/2 wraps", TU_JACOBIAN_BLAS_PACKED, 4, (size_t)1 << 33,
     (size_t)1 << 16, (size_t)1 << 16, LB_SUM},
};

Test(sizes, products_that_wrap_size_t_overflow)
{
    for (size_t k = 0; k < sizeof wrap_cases / sizeof *wrap_cases; k++) {
        const wrap_case *w = &wrap_cases[k];
        for (int ti = 0; ti < 2; ti++) {
            const tu_type *t = types[ti];
            if (w->elem && w->elem != t->size) continue;
            /* small real buffers: the call must reject the sizes before any access */
            void *in1 = canary(t, 64), *in2 = canary(t, 64), *out = canary(t, 64);
            void *loss = canary(t, 64);
            int64_t targets[64] = {0};
            lb_xent_opts opts = LB_XENT_DEFAULTS;
            opts.reduction = w->reduction;
            size_t correct = 99, counted = 99;
            tu_call c = {.rows = w->rows, .cols = w->cols, .in1 = in1, .ld1 = w->ld, .in2 = in2,
                         .ld2 = w->ld, .targets = targets, .out = out, .ld_out = w->ld,
                         .loss = loss, .opts = &opts, .reduction = w->reduction,
                         .clip = LB_PROBS_CLIP_DEFAULT, .ignore_index = -100,
                         .correct = &correct, .counted = &counted};
            lb_status st = tu_run(w->op, t, &c);
            cr_expect_eq(st, LB_ERR_OVERFLOW, "%s_%s %s (rows %zu cols %zu ld %zu): status %d",
                         tu_op_name(w->op), t->name, w->what, w->rows, w->cols, w->ld, st);
            cr_expect(t->untouched(out, 64) && t->untouched(loss, 64) && correct == 99,
                      "%s_%s %s: written on error", tu_op_name(w->op), t->name, w->what);
            free(in1);
            free(in2);
            free(out);
            free(loss);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Jacobian dimensions and OpenBLAS's int                                   */
/* ------------------------------------------------------------------------ */

Test(sizes, jacobian_cols_above_int_max_overflow)
{
    const size_t cols_values[] = {(size_t)INT_MAX + 1, (size_t)UINT_MAX, (size_t)UINT_MAX + 2};
    for (int ti = 0; ti < 2; ti++) {
        const tu_type *t = types[ti];
        for (tu_op op = TU_JACOBIAN_FULL; op <= TU_JACOBIAN_BLAS_PACKED; op++) {
            for (size_t k = 0; k < 3; k++) {
                for (size_t rows = 0; rows <= 1; rows++) {
                    void *y = canary(t, 16), *jac = canary(t, 16);
                    tu_call c = {.rows = rows, .cols = cols_values[k], .in1 = y,
                                 .ld1 = cols_values[k], .out = jac};
                    lb_status st = tu_run(op, t, &c);
                    cr_expect_eq(st, LB_ERR_OVERFLOW, "%s_%s rows %zu cols %zu: status %d",
                                 tu_op_name(op), t->name, rows, cols_values[k], st);
                    cr_expect(t->untouched(jac, 16));
                    free(y);
                    free(jac);
                }
            }
        }
    }
}

/* cols == INT_MAX is allowed (BLAS can take it); with rows == 0 there is no
 * Jacobian to store, so nothing overflows and the call is a valid no-op
 * (header: "cols > INT_MAX or rows*S elements beyond PTRDIFF_MAX bytes"). */
Test(sizes, jacobian_rows_zero_cols_int_max_is_a_no_op)
{
    for (int ti = 0; ti < 2; ti++) {
        const tu_type *t = types[ti];
        for (tu_op op = TU_JACOBIAN_FULL; op <= TU_JACOBIAN_BLAS_PACKED; op++) {
            tu_call c = {.rows = 0, .cols = INT_MAX, .ld1 = INT_MAX};
            lb_status st = tu_run(op, t, &c);
            cr_expect_eq(st, LB_OK, "%s_%s rows 0 cols INT_MAX: status %d (%s), want LB_OK",
                         tu_op_name(op), t->name, st, lb_status_string(st));
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The largest Jacobian                                                     */
/* ------------------------------------------------------------------------ */

/* One row of 8192 classes: FULL f32 is 8192^2 * 4 bytes = 256 MiB, written
 * by the direct path and then by the BLAS path into the same buffer. Every
 * diagonal entry and 65536 sampled off-diagonal entries (with their mirror)
 * are compared with the formula; the entries are exact products of floats
 * so the off-diagonal test is exact. */
Test(sizes, largest_jacobian_one_row_8192_full_f32, .timeout = 300)
{
    enum { N = 8192 };
    float *logits = malloc(N * sizeof *logits), *y = malloc(N * sizeof *y);
    float *jac = malloc((size_t)N * N * sizeof *jac);
    cr_assert(logits && y && jac, "256 MiB not available");
    tu_rng rng = {8192};
    tu_fill_f32(&rng, logits, N, -4, 4);
    cr_assert_eq(lb_softmax_f32(1, N, logits, N, y, N), LB_OK);
    for (int blas = 0; blas <= 1; blas++) {
        jac[(size_t)N * N - 1] = TU_CANARY_F32;
        lb_status st = blas ? lb_softmax_jacobian_blas_f32(1, N, y, N, LB_JACOBIAN_FULL, jac)
                            : lb_softmax_jacobian_f32(1, N, y, N, LB_JACOBIAN_FULL, jac);
        cr_assert_eq(st, LB_OK);
        size_t bad = 0;
        for (size_t i = 0; i < N; i++) {
            float product = y[i] * y[i];
            float rounded_first = y[i] - product, fused = fmaf(-y[i], y[i], y[i]);
            float d = jac[i * N + i];
            if (d != rounded_first && d != fused) bad++;
        }
        tu_rng pick = {77};
        for (int s = 0; s < 65536; s++) {
            size_t i = tu_next(&pick) % N, j = tu_next(&pick) % N;
            if (i == j) continue;
            float product = y[i] * y[j];
            if (jac[i * N + j] != -product || jac[j * N + i] != -product) bad++;
        }
        cr_expect_eq(bad, 0, "%s path: %zu wrong entries", blas ? "BLAS" : "direct", bad);
    }
    free(jac);
    free(y);
    free(logits);
}

/* ------------------------------------------------------------------------ */
/* Passes larger than the caches                                            */
/* ------------------------------------------------------------------------ */

/* Above LB_STREAM_MIN_BYTES of traffic the row-wise functions write their
 * outputs with streaming stores (rows of at least 1 KiB; the softmax
 * backward pass from 256 bytes), fenced once per thread's range. Every row
 * of such a pass must equal the same row computed alone (a one-row call,
 * far below the threshold), on 1 and 2 threads, and the padding between
 * rows must stay untouched. */
static void pass_matches_row_by_row(size_t rows, size_t cols, size_t ld, unsigned seed)
{
    float *x = malloc(rows * ld * sizeof *x), *dy = malloc(rows * ld * sizeof *dy);
    float *out = malloc(rows * ld * sizeof *out), *one = malloc(ld * sizeof *one);
    cr_assert(x && dy && out && one);
    tu_rng r = {seed};
    for (size_t i = 0; i < rows * ld; i++) {
        x[i] = (float)tu_uniform(&r, -8, 8);
        dy[i] = (float)tu_uniform(&r, -1, 1);
    }
    for (int threads = 1; threads <= 2; threads++) {
        lb_set_num_threads(threads);
        for (int op = 0; op < 4; op++) {
            const float *a = x;
            for (size_t i = 0; i < rows * ld; i++) out[i] = -12345.0f;
            lb_status st;
            switch (op) {
            case 0: st = lb_softmax_f32(rows, cols, a, ld, out, ld); break;
            case 1: st = lb_log_softmax_f32(rows, cols, a, ld, out, ld); break;
            case 2: st = lb_softmax_backward_f32(rows, cols, a, ld, dy, ld, out, ld); break;
            default: st = lb_log_softmax_backward_f32(rows, cols, a, ld, dy, ld, out, ld); break;
            }
            cr_assert_eq(st, LB_OK);
            for (size_t i = 0; i < rows; i++) {
                const float *ai = a + i * ld, *dyi = dy + i * ld;
                switch (op) {
                case 0: lb_softmax_f32(1, cols, ai, cols, one, cols); break;
                case 1: lb_log_softmax_f32(1, cols, ai, cols, one, cols); break;
                case 2: lb_softmax_backward_f32(1, cols, ai, cols, dyi, cols, one, cols); break;
                default: lb_log_softmax_backward_f32(1, cols, ai, cols, dyi, cols, one, cols); break;
                }
                cr_assert(memcmp(out + i * ld, one, cols * sizeof *one) == 0,
                          "%zu x %zu op %d row %zu differs from the row alone (%d threads)", rows,
                          cols, op, i, threads);
                for (size_t j = cols; j < ld; j++)
                    cr_assert(out[i * ld + j] == -12345.0f, "%zu x %zu op %d row %zu: padding written",
                              rows, cols, op, i);
            }
        }
    }
    lb_set_num_threads(0);
    free(x);
    free(dy);
    free(out);
    free(one);
}

/* 2048 x 2049 (ld 2051, so rows start at every offset from a 64-byte
 * boundary): past the threshold for the forward and the backward passes. */
Test(sizes, passes_past_the_caches_match_row_by_row, .timeout = 120)
{
    pass_matches_row_by_row(2048, 2049, 2051, 2049);
}

/* Short rows past the threshold: the softmax backward pass streams them
 * (rows of 64 to 255 floats, each with a head and a tail line shared with
 * its neighbours), the other passes do not. Rows of 100 with ld 103 start at
 * every offset; 256 floats contiguous are whole lines. Three streams of
 * rows x cols floats reach 24 MiB. */
Test(sizes, short_rows_past_the_caches_match_row_by_row, .timeout = 120)
{
    const size_t shapes[][2] = {{100, 103}, {64, 64}, {255, 255}, {256, 256}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t cols = shapes[k][0], ld = shapes[k][1];
        size_t rows = ((size_t)24 << 20) / (3 * sizeof(float) * cols) + 1;
        pass_matches_row_by_row(rows, cols, ld, (unsigned)(100 + k));
    }
}
