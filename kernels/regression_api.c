/*
 * regression_api.c - MSE, MAE and classification accuracy, for float and
 * double (body in regression_api.inc).
 */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>

typedef enum elementwise_loss { SQUARED_ERROR, ABSOLUTE_ERROR } elementwise_loss;

/* Rows per argmax_rows call in accuracy: the indices stay on the stack
 * (two blocks of 512 bytes). */
#define LB_ACCURACY_BLOCK 64

#define REAL float
#define NAME(f) f##_f32
#include "regression_api.inc"
#undef REAL
#undef NAME

#define REAL double
#define NAME(f) f##_f64
#include "regression_api.inc"
#undef REAL
#undef NAME
