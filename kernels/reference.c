/*
 * reference.c - instantiates the reference per-row kernels (reference.inc)
 * for float and double, and fills the reference kernel table that every
 * other ISA starts from.
 */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

enum row_kind { ROW_FINITE, ROW_ALL_NEG_INF, ROW_NAN };

#define REAL float
#define NAME(f) f##_f32
#include "reference.inc"
#undef REAL
#undef NAME

#define REAL double
#define NAME(f) f##_f64
#include "reference.inc"
#undef REAL
#undef NAME

void lb_fill_reference_kernels(lb_kernel_table *t)
{
    *t = (lb_kernel_table){0}; /* optional slots (the four-row kernels) absent */
    t->name = "scalar";
    t->softmax_f32 = lb_ref_softmax_f32;
    t->softmax_f64 = lb_ref_softmax_f64;
    t->log_softmax_f32 = lb_ref_log_softmax_f32;
    t->log_softmax_f64 = lb_ref_log_softmax_f64;
    t->softmax_backward_f32 = lb_ref_softmax_backward_f32;
    t->softmax_backward_f64 = lb_ref_softmax_backward_f64;
    t->log_softmax_backward_f32 = lb_ref_log_softmax_backward_f32;
    t->log_softmax_backward_f64 = lb_ref_log_softmax_backward_f64;
    /* no streaming form: the plain kernels */
    t->softmax_stream_f32 = lb_ref_softmax_f32;
    t->softmax_stream_f64 = lb_ref_softmax_f64;
    t->log_softmax_stream_f32 = lb_ref_log_softmax_f32;
    t->log_softmax_stream_f64 = lb_ref_log_softmax_f64;
    t->softmax_backward_stream_f32 = lb_ref_softmax_backward_f32;
    t->softmax_backward_stream_f64 = lb_ref_softmax_backward_f64;
    t->log_softmax_backward_stream_f32 = lb_ref_log_softmax_backward_f32;
    t->log_softmax_backward_stream_f64 = lb_ref_log_softmax_backward_f64;
    t->xent_row_f32 = lb_ref_xent_row_f32;
    t->xent_row_f64 = lb_ref_xent_row_f64;
    t->xent_row_stream_f32 = lb_ref_xent_row_f32;
    t->xent_row_stream_f64 = lb_ref_xent_row_f64;
    t->jacobian_full_f32 = lb_ref_jacobian_full_f32;
    t->jacobian_full_f64 = lb_ref_jacobian_full_f64;
    t->mse_row_f32 = lb_ref_mse_row_f32;
    t->mse_row_f64 = lb_ref_mse_row_f64;
    t->mae_row_f32 = lb_ref_mae_row_f32;
    t->mae_row_f64 = lb_ref_mae_row_f64;
    t->argmax_f32 = lb_ref_argmax_f32;
    t->argmax_f64 = lb_ref_argmax_f64;
    t->argmax_rows_f32 = lb_ref_argmax_rows_f32;
    t->argmax_rows_f64 = lb_ref_argmax_rows_f64;
    t->abs_max_f32 = lb_ref_abs_max_f32;
    t->abs_max_f64 = lb_ref_abs_max_f64;
}
