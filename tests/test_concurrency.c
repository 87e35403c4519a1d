/*
 * test_concurrency.c - the library called from many POSIX threads at once.
 *  - 8 threads, each running a different mix of operations (all 16 public
 *    kernels, f32 and f64) on its own buffers, with the library's OpenMP
 *    thread count at 1 and at 2: every result is bitwise the one a serial
 *    call gave.
 *  - lb_set_num_threads toggled (1, 2, 3, 4, default) from one thread while
 *    four others run kernels: results still bitwise equal to serial ones,
 *    since they must not depend on the thread count at all.
 * Shapes are big enough to enter OpenMP regions (nested inside each pthread).
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { WORKERS = 8 };

static const tu_type *const types[2] = {&tu_type_f32, &tu_type_f64};

/* The job list: every op, both types, two variants each. */
typedef struct job {
    size_t rows, cols;
    int variant;
    uint64_t seed;
    tu_workload serial; /* computed on the main thread, before any worker starts */
} job;

static job *jobs;
static size_t job_count;

static void shape_of(tu_op op, size_t *rows, size_t *cols)
{
    if (tu_op_is_jacobian(op)) *rows = 24, *cols = 48;
    else *rows = 130, *cols = 300;
}

static void make_jobs(void)
{
    job_count = (size_t)TU_OP_COUNT * 2 * 2;
    jobs = calloc(job_count, sizeof *jobs);
    size_t k = 0;
    for (tu_op op = 0; op < TU_OP_COUNT; op++)
        for (int ti = 0; ti < 2; ti++)
            for (int v = 0; v < 2; v++) {
                size_t rows, cols;
                shape_of(op, &rows, &cols);
                job *j = &jobs[k];
                j->rows = rows;
                j->cols = cols;
                j->variant = v ? 4 + 8 + 1 : 0; /* MEAN plain; SUM + extras + padding */
                j->seed = 31 * k + 7;
                tu_workload_init(&j->serial, op, types[ti], rows, cols, j->variant, j->seed);
                cr_assert_eq(tu_workload_run(&jobs[k].serial), LB_OK, "serial %s_%s",
                             tu_op_name(op), types[ti]->name);
                k++;
            }
}

static void free_jobs(void)
{
    for (size_t k = 0; k < job_count; k++) tu_workload_free(&jobs[k].serial);
    free(jobs);
}

typedef struct worker {
    int id;
    int rounds; /* passes over the job list */
    size_t runs, mismatches, failures;
} worker;

/* Runs the jobs starting at the worker's offset (so workers overlap on
 * different ops at any moment), each on fresh private buffers with the same
 * inputs as the serial run. */
static void *work(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < w->rounds; round++) {
        for (size_t n = 0; n < job_count; n++) {
            const job *j = &jobs[(n + (size_t)w->id * 7) % job_count];
            tu_workload mine;
            tu_workload_init(&mine, j->serial.op, j->serial.t, j->rows, j->cols, j->variant,
                             j->seed);
            if (tu_workload_run(&mine) != LB_OK) w->failures++;
            else if (!tu_workload_same(&mine, &j->serial)) w->mismatches++;
            w->runs++;
            tu_workload_free(&mine);
        }
    }
    return NULL;
}

static void run_workers(int lb_threads)
{
    lb_set_num_threads(lb_threads);
    pthread_t tid[WORKERS];
    worker w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (worker){.id = i, .rounds = 1};
        cr_assert_eq(pthread_create(&tid[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(tid[i], NULL);
        cr_expect_eq(w[i].failures, 0, "worker %d: %zu calls failed", i, w[i].failures);
        cr_expect_eq(w[i].mismatches, 0, "worker %d, lb threads %d: %zu of %zu results differ "
                     "from the serial ones", i, lb_threads, w[i].mismatches, w[i].runs);
        cr_expect_eq(w[i].runs, job_count);
    }
    lb_set_num_threads(0);
}

Test(concurrency, eight_threads_mixed_ops_lb_threads_1, .init = make_jobs, .fini = free_jobs)
{
    run_workers(1);
}

Test(concurrency, eight_threads_mixed_ops_lb_threads_2, .init = make_jobs, .fini = free_jobs)
{
    run_workers(2);
}

/* One thread flips the thread count as fast as it can while four workers run
 * every job twice over; then it stops. */
typedef struct toggler {
    atomic_int *stop;
    size_t flips;
} toggler;

static void *toggle(void *arg)
{
    toggler *t = arg;
    static const int counts[] = {1, 2, 3, 4, 0};
    while (!atomic_load(t->stop)) {
        lb_set_num_threads(counts[t->flips % 5]);
        t->flips++;
    }
    return NULL;
}

Test(concurrency, thread_count_toggled_while_kernels_run, .init = make_jobs, .fini = free_jobs)
{
    enum { N = 4 };
    atomic_int stop_toggle = 0;
    toggler tg = {.stop = &stop_toggle};
    pthread_t toggler_id, tid[N];
    worker w[N];
    cr_assert_eq(pthread_create(&toggler_id, NULL, toggle, &tg), 0);
    for (int i = 0; i < N; i++) {
        w[i] = (worker){.id = i, .rounds = 2};
        cr_assert_eq(pthread_create(&tid[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) pthread_join(tid[i], NULL);
    atomic_store(&stop_toggle, 1);
    pthread_join(toggler_id, NULL);
    for (int i = 0; i < N; i++) {
        cr_expect_eq(w[i].failures, 0);
        cr_expect_eq(w[i].mismatches, 0, "worker %d: %zu of %zu results differ while the thread "
                     "count changed (%zu flips)", i, w[i].mismatches, w[i].runs, tg.flips);
    }
    cr_expect(tg.flips > 0);
    lb_set_num_threads(0);
}
