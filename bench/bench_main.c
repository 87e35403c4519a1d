/*
 * bench_main.c - registers every benchmark of the suite chosen by
 * LB_BENCH_SUITE (quick | ci | full) and runs Google Benchmark.
 */
#include "bench_common.h"

#include <lossblas.h>

#include <stdio.h>

void bench_register_lossblas(void);
void bench_register_naive(void);
void bench_register_onednn(void);

int main(int argc, char **argv)
{
    bench_register_lossblas();
    bench_register_naive();
    bench_register_onednn();
    bench_register_commit();
    char repeat[16];
    snprintf(repeat, sizeof repeat, "%d", bench_lossblas_repeat());
    gb_add_context("lossblas_version", LB_VERSION_STRING);
    gb_add_context("lossblas_isa", lb_isa());
    gb_add_context("lossblas_suite", bench_suite_name());
    gb_add_context("lossblas_injected_slowdown", repeat);
    fprintf(stderr, "lossblas %s, kernels %s, suite %s, slowdown x%d\n", LB_VERSION_STRING,
            lb_isa(), bench_suite_name(), bench_lossblas_repeat());
    return gb_main(argc, argv);
}
