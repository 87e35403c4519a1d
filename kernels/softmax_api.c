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
#define CBLAS(f) cblas_s##f
#include "softmax_api.inc"
#undef REAL
#undef NAME
#undef CBLAS

#define REAL double
#define NAME(f) f##_f64
#define CBLAS(f) cblas_d##f
#include "softmax_api.inc"
#undef REAL
#undef NAME
#undef CBLAS
