/*
 * xent_api.c - cross-entropy from logits (sparse and dense targets) and from
 * probabilities, for float and double (body in xent_api.inc).
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define REAL float
#define UINT_REAL uint32_t
#define NAME(f) f##_f32
/* the four-row kernel for short plain rows (f32 only), or NULL */
#define XENT_ROW_GROUP_KERNEL(k) ((k)->xent_plain_rows4_f32)
#define XENT_ROW_GROUP_MAX_COLS(k) ((k)->xent_plain_rows4_max_cols_f32)
#include "xent_api.inc"
#undef REAL
#undef UINT_REAL
#undef NAME
#undef XENT_ROW_GROUP_KERNEL
#undef XENT_ROW_GROUP_MAX_COLS

#define REAL double
#define UINT_REAL uint64_t
#define NAME(f) f##_f64
#define XENT_ROW_GROUP_KERNEL(k) NULL
#define XENT_ROW_GROUP_MAX_COLS(k) 0
#include "xent_api.inc"
#undef REAL
#undef UINT_REAL
#undef NAME
#undef XENT_ROW_GROUP_KERNEL
#undef XENT_ROW_GROUP_MAX_COLS
