/*
 * testutil.h - helpers shared by the Criterion tests: deterministic random
 * data, ULP distances, canary-filled buffers (to prove an output or its
 * padding was not written), and the SIMD-width edge sizes.
 */
#ifndef LOSSBLAS_TESTUTIL_H
#define LOSSBLAS_TESTUTIL_H

#include "lossblas.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Column counts at and around SIMD widths (4, 8, 16 lanes) and long rows. */
extern const size_t tu_edge_cols[];
extern const size_t tu_edge_cols_count;

/* Deterministic generator (splitmix64); each test seeds its own. */
typedef struct tu_rng { uint64_t state; } tu_rng;
uint64_t tu_next(tu_rng *r);
double tu_uniform(tu_rng *r, double lo, double hi); /* [lo, hi) */
void tu_fill_f32(tu_rng *r, float *v, size_t n, double lo, double hi);
void tu_fill_f64(tu_rng *r, double *v, size_t n, double lo, double hi);

/* Distance in units in the last place between two finite values (0 when
 * both are the same NaN class or the same infinity). */
uint64_t tu_ulp_f32(float a, float b);
uint64_t tu_ulp_f64(double a, double b);
/* The bit patterns of floats and doubles, and back. */
uint32_t tu_bits_f32(float f);
float tu_from_bits_f32(uint32_t u);
uint64_t tu_bits_f64(double d);
/* |a - b| <= abs_tol + rel_tol * |b|, with NaN == NaN and equal infinities. */
bool tu_close(double a, double b, double rel_tol, double abs_tol);

/* A value no kernel produces from test inputs, used to fill outputs before a
 * call; tu_untouched_* check that a region still holds it. */
#define TU_CANARY_F32 (-1234.5f)
#define TU_CANARY_F64 (-1234.5)
float *tu_canary_f32(size_t n);   /* malloc'd, filled with the canary */
double *tu_canary_f64(size_t n);
bool tu_untouched_f32(const float *v, size_t n);
bool tu_untouched_f64(const double *v, size_t n);
/* True when the padding (columns cols..ld-1 of each of rows rows) still holds
 * the canary. */
bool tu_padding_untouched_f32(const float *m, size_t rows, size_t cols, size_t ld);
bool tu_padding_untouched_f64(const double *m, size_t rows, size_t cols, size_t ld);

/* Long-double references, independent of the library. */
void tu_softmax_ld(size_t n, const double *x, long double *y);
void tu_log_softmax_ld(size_t n, const double *x, long double *y);


/* ---- Element-type views (appended for the softmax/Jacobian/regression/error
 * tests): one test body serves f32 and f64 by reading and writing elements
 * through double. ---- */
typedef struct tu_type {
    const char *name;      /* "f32" or "f64" */
    size_t size;           /* bytes per element */
    double unit_roundoff;  /* u = 2^-24 (f32) or 2^-53 (f64) */
    double smallest_normal; /* FLT_MIN or DBL_MIN */
    double largest;        /* FLT_MAX or DBL_MAX */
    double (*get)(const void *v, size_t i);
    void (*set)(void *v, size_t i, double x);
    double (*round)(double x);           /* x rounded to the type */
    uint64_t (*ulp)(double a, double b); /* tu_ulp_* of a and b rounded to the type */
    void *(*canary)(size_t n);           /* tu_canary_* */
    bool (*untouched)(const void *v, size_t n);
    bool (*padding_untouched)(const void *m, size_t rows, size_t cols, size_t ld);
} tu_type;
extern const tu_type tu_type_f32, tu_type_f64;
/* rows x cols uniform [lo, hi) values (rounded to the type), padding left alone. */
void tu_fill_matrix(tu_rng *r, const tu_type *t, void *m, size_t rows, size_t cols, size_t ld,
                    double lo, double hi);


/* ---- Every public kernel behind one call (appended for the size,
 * concurrency and reproducibility tests): tu_run(op, type, call) calls the
 * _f32 or _f64 function of op with the fields that op uses. ---- */
typedef enum tu_op {
    TU_SOFTMAX, TU_LOG_SOFTMAX, TU_SOFTMAX_BACKWARD, TU_LOG_SOFTMAX_BACKWARD,
    TU_JACOBIAN_FULL, TU_JACOBIAN_PACKED, TU_JACOBIAN_BLAS_FULL, TU_JACOBIAN_BLAS_PACKED,
    TU_XENT_SPARSE, TU_XENT_DENSE, TU_PROBS_SPARSE, TU_PROBS_DENSE,
    TU_MSE, TU_MAE, TU_ACCURACY_SPARSE, TU_ACCURACY_DENSE,
    TU_OP_COUNT
} tu_op;

typedef struct tu_call {
    size_t rows, cols;
    const void *in1; /* x, y (backward, Jacobian), logy, logits, probs, pred, scores */
    size_t ld1;
    const void *in2; /* dy, dense targets, regression target */
    size_t ld2;
    const int64_t *targets; /* sparse targets */
    void *out;              /* y, dx, jac, dlogits, dprobs, dpred (NULL: loss only) */
    size_t ld_out;
    void *loss;             /* 1 value, or rows (rows*cols for MSE/MAE) for LB_NONE */
    const lb_xent_opts *opts;   /* logits cross-entropy (NULL: defaults) */
    const void *class_weights;  /* logits cross-entropy */
    lb_reduction reduction;     /* probabilities cross-entropy, MSE, MAE */
    double clip;                /* probabilities cross-entropy */
    int64_t ignore_index;       /* sparse accuracy */
    size_t *correct, *counted;  /* accuracy */
} tu_call;

const char *tu_op_name(tu_op op);
/* The reduction op uses with call c (opts->reduction for the logits forms). */
lb_reduction tu_op_reduction(tu_op op, const tu_call *c);
/* Whether op takes in2 / sparse targets / a loss / an output with its own ld. */
bool tu_op_has_in2(tu_op op);
bool tu_op_has_targets(tu_op op);
bool tu_op_has_loss(tu_op op);
bool tu_op_is_jacobian(tu_op op);
/* Elements of one row's Jacobian (cols*cols or cols*(cols+1)/2). */
size_t tu_jacobian_row_elems(tu_op op, size_t cols);
lb_status tu_run(tu_op op, const tu_type *t, const tu_call *c);


/* ---- A ready-to-run call of any op on random data (appended for the
 * concurrency and reproducibility tests). The variant picks the options:
 * variant % 3 is the reduction (MEAN, SUM, NONE), bit 2 adds class weights
 * and label smoothing (logits forms), bit 3 pads every leading dimension by
 * 3. Sparse targets ignore every 7th row (-100) where the op allows it. ---- */
typedef struct tu_workload {
    tu_op op;
    const tu_type *t;
    tu_call call;
    void *in1, *in2, *out, *loss, *weights;
    int64_t *targets;
    lb_xent_opts opts;
    size_t correct, counted;
    size_t out_elems, loss_elems;
} tu_workload;
void tu_workload_init(tu_workload *w, tu_op op, const tu_type *t, size_t rows, size_t cols,
                      int variant, uint64_t seed);
/* Fills the outputs with the canary, then calls op. */
lb_status tu_workload_run(tu_workload *w);
/* Whether two workloads' outputs (gradient/output, loss, counters) are bitwise equal. */
bool tu_workload_same(const tu_workload *a, const tu_workload *b);
void tu_workload_free(tu_workload *w);

#endif
