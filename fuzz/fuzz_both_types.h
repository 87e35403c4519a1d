/*
 * fuzz_both_types.h - instantiates fuzz_real.inc and a harness body (the file
 * named by FZ_BODY) for float and then double. Include it once per harness,
 * after fuzz_common.h, with FZ_BODY defined, e.g.
 *     #define FZ_BODY "fuzz_softmax.inc"
 *     #include "fuzz_both_types.h"
 */
#include <float.h>

#define REAL float
#define REAL_NAME "f32"
#define NAME(f) f##_f32
#define REAL_UINT uint32_t
#define REAL_FMA fmaf
#define REAL_EPS 0x1p-23
#define REAL_TINY 0x1p-149f
#define REAL_MAX FLT_MAX
#define REAL_EXP_MAX 88.72283f
#define REAL_CANARY_BITS 0x7FA5A5A5u
#include "fuzz_real.inc"
#include FZ_BODY
#undef REAL
#undef REAL_NAME
#undef NAME
#undef REAL_UINT
#undef REAL_FMA
#undef REAL_EPS
#undef REAL_TINY
#undef REAL_MAX
#undef REAL_EXP_MAX
#undef REAL_CANARY_BITS

#define REAL double
#define REAL_NAME "f64"
#define NAME(f) f##_f64
#define REAL_UINT uint64_t
#define REAL_FMA fma
#define REAL_EPS 0x1p-52
#define REAL_TINY 0x1p-1074
#define REAL_MAX DBL_MAX
#define REAL_EXP_MAX 709.782712893384
#define REAL_CANARY_BITS 0x7FF4A5A5A5A5A5A5ull
#include "fuzz_real.inc"
#include FZ_BODY
#undef REAL
#undef REAL_NAME
#undef NAME
#undef REAL_UINT
#undef REAL_FMA
#undef REAL_EPS
#undef REAL_TINY
#undef REAL_MAX
#undef REAL_EXP_MAX
#undef REAL_CANARY_BITS
