/*
 * ab_libs.c - an A/B of two builds of liblossblas in one process.
 *
 *   lossblas_ab LIB_A LIB_B OP[/f64] ROWS COLS [CALLS [THREADS]]
 *
 * Both shared libraries are loaded with dlmopen into link-map namespaces of
 * their own (so their symbols, OpenMP runtimes and kernel tables stay
 * apart) and called alternately, in the order A B B A A B ..., on the same
 * buffers. On a shared machine whose clock and memory bandwidth drift by
 * 10-30 % within minutes (see README.md, Performance), drift then lands on
 * both sides alike, where two separate benchmark runs compare different
 * moments. Prints each library's median and minimum microseconds per call,
 * the ratios B/A of those, and the median and quartiles of each round's own
 * B/A (its two calls run back to back, so the drift between rounds cancels
 * there); a ratio below 1 means B is faster.
 *
 * OP: softmax, log_softmax, softmax_backward, log_softmax_backward,
 * xent_sparse, xent_dense, mse or mae, contiguous rows; f32, or f64 with the
 * suffix /f64 (as in the benchmark names: log_softmax/f64). ROWS x COLS
 * buffers are allocated and touched once, then reused: shapes that fit the
 * caches measure in-cache speed, larger ones memory speed. With
 * LB_BENCH_ROTATE_MIB=M in the environment (as for lossblas_bench, but
 * here the default is 0: no rotation) every call takes the next of enough
 * buffer sets to span M MiB, so a shape that fits the caches is measured
 * out of cache (both libraries walk the same sets in turn). CALLS (default
 * 20) calls per library after two warm-up rounds; THREADS (default 1) goes
 * to lb_set_num_threads in both. Each library brings its own OpenMP
 * runtime, whose idle threads would spin while the other library runs, so
 * OMP_WAIT_POLICY is set to passive (unless the environment sets it): with
 * THREADS > 1 both sides then pay a wake-up per parallel call, and their
 * absolute times sit above a normal run's. The kernel set is the
 * process's (LOSSBLAS_ISA applies to both libraries).
 *
 * Exit status: 0, 1 when a call returned an error status, 2 on bad
 * arguments or a library that does not load. Not built into CI's checks:
 * it measures, it does not judge.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lossblas.h"

typedef __typeof__(&lb_softmax_f32) forward_fn;
typedef __typeof__(&lb_softmax_backward_f32) backward_fn;
typedef __typeof__(&lb_cross_entropy_sparse_f32) xent_sparse_fn;
typedef __typeof__(&lb_cross_entropy_dense_f32) xent_dense_fn;
typedef __typeof__(&lb_mse_f32) regression_fn;
typedef __typeof__(&lb_softmax_f64) forward_f64_fn;
typedef __typeof__(&lb_softmax_backward_f64) backward_f64_fn;
typedef __typeof__(&lb_cross_entropy_sparse_f64) xent_sparse_f64_fn;
typedef __typeof__(&lb_cross_entropy_dense_f64) xent_dense_f64_fn;
typedef __typeof__(&lb_mse_f64) regression_f64_fn;
typedef __typeof__(&lb_set_num_threads) threads_fn;

enum op_kind { FORWARD, BACKWARD, XENT_SPARSE, XENT_DENSE, REGRESSION };

static const struct op {
    const char *name, *symbol; /* symbol without its _f32 / _f64 suffix */
    enum op_kind kind;
} ops[] = {
    {"softmax", "lb_softmax", FORWARD},
    {"log_softmax", "lb_log_softmax", FORWARD},
    {"softmax_backward", "lb_softmax_backward", BACKWARD},
    {"log_softmax_backward", "lb_log_softmax_backward", BACKWARD},
    {"xent_sparse", "lb_cross_entropy_sparse", XENT_SPARSE},
    {"xent_dense", "lb_cross_entropy_dense", XENT_DENSE},
    {"mse", "lb_mse", REGRESSION},
    {"mae", "lb_mae", REGRESSION},
};

/* The buffers every call shares: x (logits, probabilities or predictions),
 * t (dy, dense targets or regression targets), out, class indices; the
 * first three hold floats, or doubles when f64. */
typedef struct buffers {
    size_t rows, cols;
    bool f64;
    void *x, *t, *out;
    int64_t *targets;
} buffers;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One call of op through fn; its status. */
static lb_status call_once(const struct op *op, void *fn, const buffers *b)
{
    size_t r = b->rows, c = b->cols;
    float loss;
    double loss_f64;
    if (b->f64) {
        switch (op->kind) {
        case FORWARD: return ((forward_f64_fn)fn)(r, c, b->x, c, b->out, c);
        case BACKWARD: return ((backward_f64_fn)fn)(r, c, b->x, c, b->t, c, b->out, c);
        case XENT_SPARSE:
            return ((xent_sparse_f64_fn)fn)(r, c, b->x, c, b->targets, NULL, NULL, &loss_f64,
                                            b->out, c);
        case XENT_DENSE:
            return ((xent_dense_f64_fn)fn)(r, c, b->x, c, b->t, c, NULL, NULL, &loss_f64, b->out,
                                           c);
        case REGRESSION:
            return ((regression_f64_fn)fn)(r, c, b->x, c, b->t, c, LB_MEAN, &loss_f64, b->out, c);
        }
        return LB_ERR_BAD_VALUE;
    }
    switch (op->kind) {
    case FORWARD: return ((forward_fn)fn)(r, c, b->x, c, b->out, c);
    case BACKWARD: return ((backward_fn)fn)(r, c, b->x, c, b->t, c, b->out, c);
    case XENT_SPARSE:
        return ((xent_sparse_fn)fn)(r, c, b->x, c, b->targets, NULL, NULL, &loss, b->out, c);
    case XENT_DENSE:
        return ((xent_dense_fn)fn)(r, c, b->x, c, b->t, c, NULL, NULL, &loss, b->out, c);
    case REGRESSION:
        return ((regression_fn)fn)(r, c, b->x, c, b->t, c, LB_MEAN, &loss, b->out, c);
    }
    return LB_ERR_BAD_VALUE;
}

/* x: values in [-4, 4) (softmax outputs for the backward passes: rows of
 * 1/cols); t: dy in [-0.5, 0.5), or for the dense cross-entropy and the
 * regressions a row of 1/cols. Every page is touched here, not in the
 * timed calls. */
static void fill(buffers *b, enum op_kind kind)
{
    uint32_t s = 12345u;
    size_t n = b->rows * b->cols;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float u = (float)(s >> 8) / 16777216.0f;
        float x = kind == BACKWARD ? 1.0f / (float)b->cols : 8.0f * u - 4.0f;
        float t = kind == BACKWARD ? u - 0.5f : 1.0f / (float)b->cols;
        if (b->f64) {
            ((double *)b->x)[i] = x, ((double *)b->t)[i] = t, ((double *)b->out)[i] = 0.0;
        } else {
            ((float *)b->x)[i] = x, ((float *)b->t)[i] = t, ((float *)b->out)[i] = 0.0f;
        }
    }
    for (size_t i = 0; i < b->rows; i++) b->targets[i] = (int64_t)((i * 7) % b->cols);
}

static int usage(void)
{
    fprintf(stderr, "usage: lossblas_ab LIB_A LIB_B OP[/f64] ROWS COLS [CALLS [THREADS]]\nOP:");
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) fprintf(stderr, " %s", ops[k].name);
    fprintf(stderr, "\n(f32 unless OP ends in /f64)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 8) return usage();
    const struct op *op = NULL;
    size_t name_len = strlen(argv[3]);
    bool f64 = name_len > 4 && strcmp(argv[3] + name_len - 4, "/f64") == 0;
    if (f64) name_len -= 4;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (strlen(ops[k].name) == name_len && strncmp(argv[3], ops[k].name, name_len) == 0)
            op = &ops[k];
    long rows = atol(argv[4]), cols = atol(argv[5]);
    long calls = argc > 6 ? atol(argv[6]) : 20, threads = argc > 7 ? atol(argv[7]) : 1;
    if (!op || rows < 1 || cols < 1 || calls < 1 || threads < 1) return usage();

    setenv("OMP_WAIT_POLICY", "passive", 0); /* before either runtime loads */
    char symbol[64];
    snprintf(symbol, sizeof symbol, "%s_%s", op->symbol, f64 ? "f64" : "f32");
    void *fn[2];
    for (int k = 0; k < 2; k++) {
        void *lib = dlmopen(LM_ID_NEWLM, argv[1 + k], RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            fprintf(stderr, "lossblas_ab: %s\n", dlerror());
            return 2;
        }
        fn[k] = dlsym(lib, symbol);
        threads_fn set_threads = (threads_fn)dlsym(lib, "lb_set_num_threads");
        if (!fn[k] || !set_threads) {
            fprintf(stderr, "lossblas_ab: %s lacks %s\n", argv[1 + k], symbol);
            return 2;
        }
        set_threads((int)threads);
    }

    size_t n = (size_t)rows * (size_t)cols, elem = f64 ? sizeof(double) : sizeof(float);
    const char *rotate = getenv("LB_BENCH_ROTATE_MIB");
    double set_bytes = (double)n * 3 * (double)elem;
    size_t n_sets = 1;
    if (rotate && atol(rotate) > 0) {
        double want = (double)atol(rotate) * 1048576.0 / set_bytes;
        n_sets = want > 1 ? (size_t)want + 1 : 1;
    }
    buffers *sets = calloc(n_sets, sizeof *sets);
    double *times[2] = {malloc((size_t)calls * sizeof(double)),
                        malloc((size_t)calls * sizeof(double))};
    if (!sets || !times[0] || !times[1]) {
        fprintf(stderr, "lossblas_ab: out of memory\n");
        return 2;
    }
    for (size_t k = 0; k < n_sets; k++) {
        buffers *b = &sets[k];
        *b = (buffers){.rows = (size_t)rows, .cols = (size_t)cols, .f64 = f64};
        b->x = malloc(n * elem);
        b->t = malloc(n * elem);
        b->out = malloc(n * elem);
        b->targets = malloc(b->rows * sizeof *b->targets);
        if (!b->x || !b->t || !b->out || !b->targets) {
            fprintf(stderr, "lossblas_ab: out of memory\n");
            return 2;
        }
        fill(b, op->kind);
    }
    size_t next_set = 0;

    /* rounds -2 and -1 warm up; round i calls A then B for even i, B then A
     * for odd i, so neither side always follows the other */
    for (long i = -2; i < calls; i++) {
        for (int turn = 0; turn < 2; turn++) {
            int k = (i & 1) ? 1 - turn : turn;
            const buffers *b = &sets[next_set];
            next_set = (next_set + 1) % n_sets;
            double t0 = now_seconds();
            lb_status st = call_once(op, fn[k], b);
            double dt = now_seconds() - t0;
            if (st != LB_OK) {
                fprintf(stderr, "lossblas_ab: %s returned %d\n", argv[1 + k], (int)st);
                return 1;
            }
            if (i >= 0) times[k][i] = dt * 1e6;
        }
    }
    /* each round's B/A: drift slower than a round cancels in it */
    double *pair = malloc((size_t)calls * sizeof(double));
    if (!pair) return 2;
    for (long i = 0; i < calls; i++) pair[i] = times[1][i] / times[0][i];
    qsort(pair, (size_t)calls, sizeof(double), compare_doubles);
    qsort(times[0], (size_t)calls, sizeof(double), compare_doubles);
    qsort(times[1], (size_t)calls, sizeof(double), compare_doubles);
    double med[2] = {times[0][calls / 2], times[1][calls / 2]};
    printf("%s/%s %ld x %ld, %ld calls each, %ld thread(s), %zu buffer set(s)\n", op->name,
           f64 ? "f64" : "f32", rows, cols, calls, threads, n_sets);
    printf("A median %.2f us, min %.2f us\n", med[0], times[0][0]);
    printf("B median %.2f us, min %.2f us\n", med[1], times[1][0]);
    printf("B/A median %.3f, min %.3f; per round: median %.3f, quartiles %.3f-%.3f\n",
           med[1] / med[0], times[1][0] / times[0][0], pair[calls / 2], pair[calls / 4],
           pair[(3 * calls) / 4]);
    return 0;
}
