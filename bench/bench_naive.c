/*
 * bench_naive.c - the naive C peer (bench_naive.inc) for f32 and f64.
 */
#include "bench_common.h"

#include <math.h>
#include <stdbool.h>

#define REAL float
#define SFXSTR "f32"
#define EXP expf
#define LOG logf
#define BN(name) name##_f32
#include "bench_naive.inc"
#undef REAL
#undef SFXSTR
#undef EXP
#undef LOG
#undef BN

#define REAL double
#define SFXSTR "f64"
#define EXP exp
#define LOG log
#define BN(name) name##_f64
#include "bench_naive.inc"
#undef REAL
#undef SFXSTR
#undef EXP
#undef LOG
#undef BN

void bench_register_naive(void)
{
    register_naive_f32();
    register_naive_f64();
}
