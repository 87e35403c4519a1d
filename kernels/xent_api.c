/*
 * xent_api.c - cross-entropy from logits (sparse and dense targets) and from
 * probabilities, for float and double (body in xent_api.inc).
 */
#include "internal.h"

#include <math.h>

#define REAL float
#define NAME(f) f##_f32
#include "xent_api.inc"
#undef REAL
#undef NAME

#define REAL double
#define NAME(f) f##_f64
#include "xent_api.inc"
#undef REAL
#undef NAME
