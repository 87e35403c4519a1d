/*
 * dispatch.c - chooses the kernel set once per process.
 *
 * Like BLIS's context tables: the table starts as the complete reference set
 * and each ISA overrides only the slots it improves, so every operation always
 * has a working path. The choice is the best set the CPU (and OS) supports,
 * lowered by the environment variable LOSSBLAS_ISA=scalar|avx2|avx512; an
 * unknown value, or a set the CPU lacks, is ignored.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum isa_level { ISA_SCALAR, ISA_AVX2, ISA_AVX512 };

static enum isa_level cpu_isa_level(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
    return ISA_SCALAR;
}

/* The level LOSSBLAS_ISA asks for, or -1 when it is unset or unknown. */
static int requested_isa_level(void)
{
    const char *want = getenv("LOSSBLAS_ISA");
    if (!want) return -1;
    if (strcmp(want, "scalar") == 0) return ISA_SCALAR;
    if (strcmp(want, "avx2") == 0) return ISA_AVX2;
    if (strcmp(want, "avx512") == 0) return ISA_AVX512;
    return -1;
}

static lb_kernel_table tables[3];
static _Atomic(const lb_kernel_table *) chosen;

static const lb_kernel_table *choose(void)
{
    enum isa_level level = cpu_isa_level();
    int want = requested_isa_level();
    if (want >= 0 && want <= (int)level) level = (enum isa_level)want;
    lb_kernel_table *t = &tables[level];
    lb_fill_reference_kernels(t);
    if (level >= ISA_AVX2) lb_fill_avx2_kernels(t);
    if (level >= ISA_AVX512) lb_fill_avx512_kernels(t);
    return t;
}

const lb_kernel_table *lb_kernels(void)
{
    const lb_kernel_table *t = atomic_load_explicit(&chosen, memory_order_acquire);
    if (!t) {
        /* Two threads may race here; both build the same table in the same
         * slot, and either pointer is the right answer. */
        t = choose();
        atomic_store_explicit(&chosen, t, memory_order_release);
    }
    return t;
}

const char *lb_isa(void) { return lb_kernels()->name; }
