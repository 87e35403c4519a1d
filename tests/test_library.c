/*
 * test_library.c - library information and control: status strings, the
 * version against the header's macros, the kernel set in use, and the
 * thread-count setting.
 */
#include "internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static const lb_status every_status[] = {LB_OK,           LB_ERR_NULL_POINTER, LB_ERR_BAD_DIMENSION,
                                         LB_ERR_BAD_TARGET, LB_ERR_BAD_VALUE,   LB_ERR_OVERFLOW,
                                         LB_ERR_NO_MEMORY, LB_ERR_UNSUPPORTED};
#define STATUS_COUNT (sizeof every_status / sizeof every_status[0])

Test(status, every_code_has_its_own_description)
{
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        const char *s = lb_status_string(every_status[i]);
        cr_assert_not_null(s, "status %d", every_status[i]);
        cr_assert(strlen(s) > 0, "status %d: empty string", every_status[i]);
        /* static: the same pointer every time */
        cr_assert_eq(s, lb_status_string(every_status[i]));
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, lb_status_string(every_status[j]), "statuses %d and %d share \"%s\"",
                              every_status[i], every_status[j], s);
    }
}

Test(status, codes_are_the_documented_values)
{
    cr_assert_eq(LB_OK, 0);
    for (size_t i = 1; i < STATUS_COUNT; i++) cr_assert_neq(every_status[i], LB_OK);
}

Test(status, unknown_codes_are_described_not_null)
{
    const lb_status unknown[] = {(lb_status)999, (lb_status)-1, (lb_status)(LB_ERR_UNSUPPORTED + 1),
                                 (lb_status)INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = lb_status_string(unknown[i]);
        cr_assert_not_null(s, "code %d", (int)unknown[i]);
        cr_assert(strlen(s) > 0);
        for (size_t j = 0; j < STATUS_COUNT; j++)
            cr_assert_str_neq(s, lb_status_string(every_status[j]),
                              "unknown code %d described as status %d", (int)unknown[i],
                              every_status[j]);
        cr_assert_str_eq(s, lb_status_string((lb_status)999));
    }
}

Test(version, library_matches_header)
{
    cr_assert_eq(lb_version(), (unsigned)LB_VERSION);
    cr_assert_eq(LB_VERSION, LB_VERSION_MAJOR * 10000 + LB_VERSION_MINOR * 100 + LB_VERSION_PATCH);
    cr_assert(LB_VERSION_MINOR < 100 && LB_VERSION_PATCH < 100, "encoding would be ambiguous");
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", LB_VERSION_MAJOR, LB_VERSION_MINOR,
             LB_VERSION_PATCH);
    cr_assert_str_eq(LB_VERSION_STRING, expect);
}

Test(isa, names_a_known_kernel_set)
{
    const char *isa = lb_isa();
    cr_assert_not_null(isa);
    cr_assert(strcmp(isa, "scalar") == 0 || strcmp(isa, "avx2") == 0 || strcmp(isa, "avx512") == 0,
              "lb_isa() = \"%s\"", isa);
    cr_assert_eq(isa, lb_isa(), "chosen once: the same static string");
    cr_assert_str_eq(lb_kernels()->name, isa);
}

/* LOSSBLAS_ISA forces a set the CPU has (testutil skips the binary when the
 * CPU lacks it, so here it must have been honoured). Unset, the best set is
 * used: never scalar on a CPU with AVX2 and FMA. */
Test(isa, follows_the_environment_and_the_cpu)
{
    const char *want = getenv("LOSSBLAS_ISA");
    const char *isa = lb_isa();
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    bool has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512dq");
    if (strcmp(isa, "avx2") == 0) cr_assert(has_avx2, "avx2 kernels on a CPU without AVX2+FMA");
    if (strcmp(isa, "avx512") == 0) cr_assert(has_avx512, "avx512 kernels without AVX-512");
#else
    bool has_avx2 = false;
#endif
    if (want && (strcmp(want, "scalar") == 0 || strcmp(want, "avx2") == 0 ||
                 strcmp(want, "avx512") == 0)) {
        cr_assert_str_eq(isa, want, "LOSSBLAS_ISA=%s but lb_isa() = %s", want, isa);
    } else if (has_avx2) {
        cr_assert_str_neq(isa, "scalar", "LOSSBLAS_ISA %s: AVX2 CPU runs scalar kernels",
                          want ? want : "unset");
    }
}

static int openmp_default(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

Test(threads, set_get_and_default)
{
    int def = lb_get_num_threads();
    cr_assert_eq(def, openmp_default(), "default %d, OpenMP says %d", def, openmp_default());
    cr_assert(def >= 1);
    const int values[] = {1, 3, 7, 64};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        lb_set_num_threads(values[i]);
        cr_assert_eq(lb_get_num_threads(), values[i]);
    }
    /* n <= 0 restores the default */
    const int resets[] = {0, -1, -1000, INT32_MIN};
    for (size_t i = 0; i < sizeof resets / sizeof resets[0]; i++) {
        lb_set_num_threads(5);
        lb_set_num_threads(resets[i]);
        cr_assert_eq(lb_get_num_threads(), openmp_default(), "after set(%d): %d", resets[i],
                     lb_get_num_threads());
    }
}

#ifdef _OPENMP
/* The default is OpenMP's value at the time of each call, not a snapshot. */
Test(threads, default_follows_openmp)
{
    lb_set_num_threads(0);
    int before = omp_get_max_threads();
    omp_set_num_threads(before + 2);
    cr_assert_eq(lb_get_num_threads(), before + 2);
    lb_set_num_threads(1);
    cr_assert_eq(lb_get_num_threads(), 1, "an explicit count wins over OpenMP's");
    lb_set_num_threads(0);
    omp_set_num_threads(before);
    cr_assert_eq(lb_get_num_threads(), before);
}
#endif

/* Setting a count never changes results (kernels run the same with any
 * count; the per-kernel suites check bits) and calls with a count above the
 * row count still work. */
Test(threads, more_threads_than_rows)
{
    lb_set_num_threads(16);
    double *x = malloc(2 * 20000 * sizeof *x), *y = malloc(2 * 20000 * sizeof *y);
    for (size_t k = 0; k < 2 * 20000; k++) x[k] = (double)(k % 17) - 8;
    cr_assert_eq(lb_softmax_f64(2, 20000, x, 20000, y, 20000), LB_OK);
    double s0 = 0, s1 = 0;
    for (size_t j = 0; j < 20000; j++) {
        s0 += y[j];
        s1 += y[20000 + j];
    }
    cr_assert(fabs(s0 - 1) < 1e-12 && fabs(s1 - 1) < 1e-12);
    lb_set_num_threads(0);
    free(x);
    free(y);
}
