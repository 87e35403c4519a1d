/*
 * testutil.c - see testutil.h. Also skips a whole test binary (exit code 77,
 * which ctest reports as skipped) when LOSSBLAS_ISA names a kernel set this
 * CPU cannot run, so each ISA's run means what it says.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const size_t tu_edge_cols[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                               100, 1000, 4099};
const size_t tu_edge_cols_count = sizeof tu_edge_cols / sizeof tu_edge_cols[0];

__attribute__((constructor)) static void skip_unavailable_isa(void)
{
    /* Only a known name can be "unavailable"; an unknown value must be
     * ignored by the library, which test_library checks in its own run. */
    const char *want = getenv("LOSSBLAS_ISA");
    bool known = want && (strcmp(want, "scalar") == 0 || strcmp(want, "avx2") == 0 ||
                          strcmp(want, "avx512") == 0);
    if (known && strcmp(want, lb_isa()) != 0) {
        fprintf(stderr, "skipped: LOSSBLAS_ISA=%s is not available here (running %s)\n", want,
                lb_isa());
        _exit(77);
    }
}

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tu_uniform(tu_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * (double)(tu_next(r) >> 11) * 0x1.0p-53;
}

void tu_fill_f32(tu_rng *r, float *v, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) v[i] = (float)tu_uniform(r, lo, hi);
}

void tu_fill_f64(tu_rng *r, double *v, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) v[i] = tu_uniform(r, lo, hi);
}

/* Maps floats to integers that are ordered like the floats. */
static int64_t ordered_f32(float f)
{
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}

static int64_t ordered_f64(double d)
{
    int64_t i;
    memcpy(&i, &d, sizeof i);
    return i < 0 ? INT64_MIN - i : i;
}

uint32_t tu_bits_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float tu_from_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint64_t tu_bits_f64(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

uint64_t tu_ulp_f32(float a, float b)
{
    if (isnan(a) || isnan(b)) return (isnan(a) && isnan(b)) ? 0 : UINT64_MAX;
    int64_t d = ordered_f32(a) - ordered_f32(b);
    return d < 0 ? (uint64_t)-d : (uint64_t)d;
}

uint64_t tu_ulp_f64(double a, double b)
{
    if (isnan(a) || isnan(b)) return (isnan(a) && isnan(b)) ? 0 : UINT64_MAX;
    if (a == b) return 0;
    /* differences can exceed INT64_MAX across signs; saturate */
    int64_t oa = ordered_f64(a), ob = ordered_f64(b);
    if ((oa < 0) != (ob < 0)) {
        uint64_t d = (uint64_t)(oa < 0 ? -(oa + 1) : oa) + (uint64_t)(ob < 0 ? -(ob + 1) : ob);
        return d + 1;
    }
    return oa > ob ? (uint64_t)(oa - ob) : (uint64_t)(ob - oa);
}

bool tu_close(double a, double b, double rel_tol, double abs_tol)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= abs_tol + rel_tol * fabs(b);
}

float *tu_canary_f32(size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = TU_CANARY_F32;
    return v;
}

double *tu_canary_f64(size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = TU_CANARY_F64;
    return v;
}

bool tu_untouched_f32(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != TU_CANARY_F32) return false;
    return true;
}

bool tu_untouched_f64(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != TU_CANARY_F64) return false;
    return true;
}

bool tu_padding_untouched_f32(const float *m, size_t rows, size_t cols, size_t ld)
{
    for (size_t i = 0; i < rows; i++)
        if (!tu_untouched_f32(m + i * ld + cols, ld - cols)) return false;
    return true;
}

bool tu_padding_untouched_f64(const double *m, size_t rows, size_t cols, size_t ld)
{
    for (size_t i = 0; i < rows; i++)
        if (!tu_untouched_f64(m + i * ld + cols, ld - cols)) return false;
    return true;
}

void tu_softmax_ld(size_t n, const double *x, long double *y)
{
    long double m = -INFINITY, s = 0;
    for (size_t j = 0; j < n; j++) if (x[j] > m) m = x[j];
    for (size_t j = 0; j < n; j++) s += expl((long double)x[j] - m);
    for (size_t j = 0; j < n; j++) y[j] = expl((long double)x[j] - m) / s;
}

void tu_log_softmax_ld(size_t n, const double *x, long double *y)
{
    long double m = -INFINITY, s = 0;
    for (size_t j = 0; j < n; j++) if (x[j] > m) m = x[j];
    for (size_t j = 0; j < n; j++) s += expl((long double)x[j] - m);
    long double ls = logl(s);
    for (size_t j = 0; j < n; j++) y[j] = ((long double)x[j] - m) - ls;
}

/* ---- Element-type views (see testutil.h) ---- */
#include <float.h>

static double get_f32(const void *v, size_t i) { return ((const float *)v)[i]; }
static double get_f64(const void *v, size_t i) { return ((const double *)v)[i]; }
static void set_f32(void *v, size_t i, double x) { ((float *)v)[i] = (float)x; }
static void set_f64(void *v, size_t i, double x) { ((double *)v)[i] = x; }
static double round_f32(double x) { return (float)x; }
static double round_f64(double x) { return x; }
static uint64_t ulp_as_f32(double a, double b) { return tu_ulp_f32((float)a, (float)b); }
static uint64_t ulp_as_f64(double a, double b) { return tu_ulp_f64(a, b); }
static void *canary_f32(size_t n) { return tu_canary_f32(n); }
static void *canary_f64(size_t n) { return tu_canary_f64(n); }
static bool untouched_f32(const void *v, size_t n) { return tu_untouched_f32(v, n); }
static bool untouched_f64(const void *v, size_t n) { return tu_untouched_f64(v, n); }
static bool padding_f32(const void *m, size_t rows, size_t cols, size_t ld)
{
    return tu_padding_untouched_f32(m, rows, cols, ld);
}
static bool padding_f64(const void *m, size_t rows, size_t cols, size_t ld)
{
    return tu_padding_untouched_f64(m, rows, cols, ld);
}

const tu_type tu_type_f32 = {"f32",      sizeof(float), 0x1p-24,  FLT_MIN,    FLT_MAX,
                             get_f32,    set_f32,       round_f32, ulp_as_f32, canary_f32,
                             untouched_f32, padding_f32};
const tu_type tu_type_f64 = {"f64",      sizeof(double), 0x1p-53,  DBL_MIN,    DBL_MAX,
                             get_f64,    set_f64,        round_f64, ulp_as_f64, canary_f64,
                             untouched_f64, padding_f64};

void tu_fill_matrix(tu_rng *r, const tu_type *t, void *m, size_t rows, size_t cols, size_t ld,
                    double lo, double hi)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            t->set(m, i * ld + j, lo + (hi - lo) * tu_uniform(r, 0, 1)); /* hi - lo may be ~DBL_MAX */
}

/* ---- tu_run: every public kernel behind one call ---- */

const char *tu_op_name(tu_op op)
{
    static const char *names[TU_OP_COUNT] = {
        "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
        "jacobian_full", "jacobian_packed", "jacobian_blas_full", "jacobian_blas_packed",
        "cross_entropy_sparse", "cross_entropy_dense", "cross_entropy_probs_sparse",
        "cross_entropy_probs_dense", "mse", "mae", "accuracy_sparse", "accuracy_dense"};
    return (unsigned)op < TU_OP_COUNT ? names[op] : "?";
}

lb_reduction tu_op_reduction(tu_op op, const tu_call *c)
{
    if (op == TU_XENT_SPARSE || op == TU_XENT_DENSE) return c->opts ? c->opts->reduction : LB_MEAN;
    return c->reduction;
}

bool tu_op_has_in2(tu_op op)
{
    return op == TU_SOFTMAX_BACKWARD || op == TU_LOG_SOFTMAX_BACKWARD || op == TU_XENT_DENSE ||
           op == TU_PROBS_DENSE || op == TU_MSE || op == TU_MAE || op == TU_ACCURACY_DENSE;
}

bool tu_op_has_targets(tu_op op)
{
    return op == TU_XENT_SPARSE || op == TU_PROBS_SPARSE || op == TU_ACCURACY_SPARSE;
}

bool tu_op_has_loss(tu_op op) { return op >= TU_XENT_SPARSE && op <= TU_MAE; }

bool tu_op_is_jacobian(tu_op op) { return op >= TU_JACOBIAN_FULL && op <= TU_JACOBIAN_BLAS_PACKED; }

size_t tu_jacobian_row_elems(tu_op op, size_t cols)
{
    bool packed = op == TU_JACOBIAN_PACKED || op == TU_JACOBIAN_BLAS_PACKED;
    return packed ? cols * (cols + 1) / 2 : cols * cols;
}

#define TU_RUN_BODY(REAL, SUF)                                                                 \
    do {                                                                                       \
        const REAL *a = c->in1, *b = c->in2;                                                   \
        REAL *o = c->out, *l = c->loss;                                                        \
        switch (op) {                                                                          \
        case TU_SOFTMAX: return lb_softmax_##SUF(c->rows, c->cols, a, c->ld1, o, c->ld_out);   \
        case TU_LOG_SOFTMAX:                                                                   \
            return lb_log_softmax_##SUF(c->rows, c->cols, a, c->ld1, o, c->ld_out);            \
        case TU_SOFTMAX_BACKWARD:                                                              \
            return lb_softmax_backward_##SUF(c->rows, c->cols, a, c->ld1, b, c->ld2, o,        \
                                             c->ld_out);                                       \
        case TU_LOG_SOFTMAX_BACKWARD:                                                          \
            return lb_log_softmax_backward_##SUF(c->rows, c->cols, a, c->ld1, b, c->ld2, o,    \
                                                 c->ld_out);                                   \
        case TU_JACOBIAN_FULL:                                                                 \
            return lb_softmax_jacobian_##SUF(c->rows, c->cols, a, c->ld1, LB_JACOBIAN_FULL, o); \
        case TU_JACOBIAN_PACKED:                                                               \
            return lb_softmax_jacobian_##SUF(c->rows, c->cols, a, c->ld1, LB_JACOBIAN_PACKED,  \
                                             o);                                               \
        case TU_JACOBIAN_BLAS_FULL:                                                            \
            return lb_softmax_jacobian_blas_##SUF(c->rows, c->cols, a, c->ld1,                 \
                                                  LB_JACOBIAN_FULL, o);                        \
        case TU_JACOBIAN_BLAS_PACKED:                                                          \
            return lb_softmax_jacobian_blas_##SUF(c->rows, c->cols, a, c->ld1,                 \
                                                  LB_JACOBIAN_PACKED, o);                      \
        case TU_XENT_SPARSE:                                                                   \
            return lb_cross_entropy_sparse_##SUF(c->rows, c->cols, a, c->ld1, c->targets,      \
                                                 c->class_weights, c->opts, l, o, c->ld_out);  \
        case TU_XENT_DENSE:                                                                    \
            return lb_cross_entropy_dense_##SUF(c->rows, c->cols, a, c->ld1, b, c->ld2,        \
                                                c->class_weights, c->opts, l, o, c->ld_out);   \
        case TU_PROBS_SPARSE:                                                                  \
            return lb_cross_entropy_probs_sparse_##SUF(c->rows, c->cols, a, c->ld1,            \
                                                       c->targets, c->clip, c->reduction, l,   \
                                                       o, c->ld_out);                          \
        case TU_PROBS_DENSE:                                                                   \
            return lb_cross_entropy_probs_dense_##SUF(c->rows, c->cols, a, c->ld1, b, c->ld2,  \
                                                      c->clip, c->reduction, l, o, c->ld_out); \
        case TU_MSE:                                                                           \
            return lb_mse_##SUF(c->rows, c->cols, a, c->ld1, b, c->ld2, c->reduction, l, o,    \
                                c->ld_out);                                                    \
        case TU_MAE:                                                                           \
            return lb_mae_##SUF(c->rows, c->cols, a, c->ld1, b, c->ld2, c->reduction, l, o,    \
                                c->ld_out);                                                    \
        case TU_ACCURACY_SPARSE:                                                               \
            return lb_accuracy_sparse_##SUF(c->rows, c->cols, a, c->ld1, c->targets,           \
                                            c->ignore_index, c->correct, c->counted);          \
        case TU_ACCURACY_DENSE:                                                                \
            return lb_accuracy_dense_##SUF(c->rows, c->cols, a, c->ld1, b, c->ld2,             \
                                           c->correct);                                        \
        case TU_OP_COUNT: break;                                                               \
        }                                                                                      \
        return LB_ERR_UNSUPPORTED;                                                             \
    } while (0)

lb_status tu_run(tu_op op, const tu_type *t, const tu_call *c)
{
    if (t->size == sizeof(float)) TU_RUN_BODY(float, f32);
    TU_RUN_BODY(double, f64);
}

/* ---- tu_workload ---- */

void tu_workload_init(tu_workload *w, tu_op op, const tu_type *t, size_t rows, size_t cols,
                      int variant, uint64_t seed)
{
    tu_rng rng = {seed};
    memset(w, 0, sizeof *w);
    w->op = op;
    w->t = t;
    lb_reduction reduction = (lb_reduction)(variant % 3);
    bool extras = variant & 4;
    size_t ld = cols + ((variant & 8) ? 3 : 0);
    size_t extent = rows * ld;
    w->in1 = t->canary(extent);
    w->in2 = t->canary(extent);
    bool probs_in = op == TU_PROBS_SPARSE || op == TU_PROBS_DENSE || op == TU_SOFTMAX_BACKWARD ||
                    tu_op_is_jacobian(op);
    double lo = probs_in ? 1e-4 : -8, hi = probs_in ? 1 : 8;
    if (op == TU_LOG_SOFTMAX_BACKWARD) lo = -9, hi = 0; /* log-probabilities */
    tu_fill_matrix(&rng, t, w->in1, rows, cols, ld, lo, hi);
    tu_fill_matrix(&rng, t, w->in2, rows, cols, ld, op == TU_MSE || op == TU_MAE ? -8 : 0, 1);
    w->targets = malloc((rows ? rows : 1) * sizeof *w->targets);
    for (size_t i = 0; i < rows; i++) {
        bool ignorable = op == TU_XENT_SPARSE || op == TU_ACCURACY_SPARSE;
        w->targets[i] = ignorable && i % 7 == 3 ? -100 : (int64_t)(tu_next(&rng) % cols);
    }
    w->weights = t->canary(cols);
    tu_fill_matrix(&rng, t, w->weights, 1, cols, cols, 0.25, 2);
    w->opts = (lb_xent_opts)LB_XENT_DEFAULTS;
    w->opts.reduction = reduction;
    if (extras) {
        w->opts.label_smoothing = 0.15;
        w->opts.grad_scale = 0.5;
    }
    w->out_elems = tu_op_is_jacobian(op) ? rows * tu_jacobian_row_elems(op, cols) : extent;
    w->out = t->canary(w->out_elems);
    bool none = reduction == LB_NONE;
    w->loss_elems = !none ? 1 : (op == TU_MSE || op == TU_MAE) ? rows * cols : rows;
    w->loss = t->canary(w->loss_elems ? w->loss_elems : 1);
    w->call = (tu_call){.rows = rows, .cols = cols, .in1 = w->in1, .ld1 = ld, .in2 = w->in2,
                        .ld2 = ld, .targets = w->targets, .out = w->out, .ld_out = ld,
                        .loss = w->loss, .opts = &w->opts,
                        .class_weights = extras ? w->weights : NULL, .reduction = reduction,
                        .clip = LB_PROBS_CLIP_DEFAULT, .ignore_index = -100,
                        .correct = &w->correct, .counted = &w->counted};
}

lb_status tu_workload_run(tu_workload *w)
{
    const tu_type *t = w->t;
    for (size_t i = 0; i < w->out_elems; i++) t->set(w->out, i, TU_CANARY_F64);
    for (size_t i = 0; i < w->loss_elems; i++) t->set(w->loss, i, TU_CANARY_F64);
    w->correct = w->counted = 0;
    w->call.opts = &w->opts; /* the struct may have been copied */
    w->call.correct = &w->correct;
    w->call.counted = &w->counted;
    return tu_run(w->op, t, &w->call);
}

bool tu_workload_same(const tu_workload *a, const tu_workload *b)
{
    return a->out_elems == b->out_elems && a->loss_elems == b->loss_elems &&
           memcmp(a->out, b->out, a->out_elems * a->t->size) == 0 &&
           memcmp(a->loss, b->loss, a->loss_elems * a->t->size) == 0 &&
           a->correct == b->correct && a->counted == b->counted;
}

void tu_workload_free(tu_workload *w)
{
    free(w->in1);
    free(w->in2);
    free(w->out);
    free(w->loss);
    free(w->weights);
    free(w->targets);
}
