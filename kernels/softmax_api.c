/*
 * softmax_api.c - lb_softmax, lb_log_softmax, their backward passes and the
 * softmax Jacobian, for float and double (body in softmax_api.inc).
 */
#include "internal.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

#define REAL float
#define NAME(f) f##_f32
/* the four-row kernel for short rows (f32 only), or NULL */
#define ROW_GROUP_KERNEL(k, log) ((log) ? (k)->log_softmax_rows4_f32 : (k)->softmax_rows4_f32)
#define ROW_GROUP_MAX_COLS(k, log) \
    ((log) ? (k)->log_softmax_rows4_max_cols_f32 : (k)->softmax_rows4_max_cols_f32)
#define BACKWARD_ROW_GROUP_KERNEL(k, log) \
    ((log) ? (k)->log_softmax_backward_rows4_f32 : (k)->softmax_backward_rows4_f32)
#define BACKWARD_ROW_GROUP_MAX_COLS(k, log) \
    ((log) ? (k)->log_softmax_backward_rows4_max_cols_f32 : (k)->softmax_backward_rows4_max_cols_f32)
#define CBLAS(f) cblas_s##f
#include "softmax_api.inc"
#undef REAL
#undef ROW_GROUP_KERNEL
#undef ROW_GROUP_MAX_COLS
#undef BACKWARD_ROW_GROUP_KERNEL
#undef BACKWARD_ROW_GROUP_MAX_COLS
#undef NAME
#undef CBLAS

#define REAL double
#define NAME(f) f##_f64
#define ROW_GROUP_KERNEL(k, log) NULL
#define ROW_GROUP_MAX_COLS(k, log) 0
#define BACKWARD_ROW_GROUP_KERNEL(k, log) NULL
#define BACKWARD_ROW_GROUP_MAX_COLS(k, log) 0
#define CBLAS(f) cblas_d##f
#include "softmax_api.inc"
#undef REAL
#undef ROW_GROUP_KERNEL
#undef ROW_GROUP_MAX_COLS
#undef BACKWARD_ROW_GROUP_KERNEL
#undef BACKWARD_ROW_GROUP_MAX_COLS
#undef NAME
#undef CBLAS
