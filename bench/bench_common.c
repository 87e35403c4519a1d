/*
 * bench_common.c - grid, rotating buffers, memcpy reference and counters
 * shared by the bench_*.c files (see bench_common.h).
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <lossblas.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- environment -------------------------------------------------------- */

static size_t env_size(const char *name, size_t fallback)
{
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    return (*end == '\0' && x > 0) ? (size_t)x : fallback;
}

size_t bench_max_bytes(void) { return env_size("LB_BENCH_MAX_MIB", 1024) << 20; }
size_t bench_jacobian_max_bytes(void) { return env_size("LB_BENCH_JAC_MAX_MIB", 256) << 20; }
static size_t rotate_bytes(void) { return env_size("LB_BENCH_ROTATE_MIB", 96) << 20; }

int bench_lossblas_repeat(void)
{
    static int repeat = 0;
    if (repeat == 0) {
        size_t r = env_size("LB_BENCH_INJECT_SLOWDOWN", 1);
        repeat = (int)(r > 16 ? 16 : r);
    }
    return repeat;
}

bool bench_op_selected(const char *op)
{
    const char *list = getenv("LB_BENCH_OPS");
    if (!list || !*list) return true;
    size_t n = strlen(op);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, op, n) == 0) return true;
        if (!comma) break;
        p = comma + 1;
    }
    return false;
}

/* ---- the grid ----------------------------------------------------------- */

/* Full: batch 1..65536 in powers of 4, the class counts of the brief. */
static const int64_t full_rows[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536};
static const int64_t full_cols[] = {10, 100, 1000, 32768, 131072};
/* Quick: a representative subset that runs in about two minutes. */
static const int64_t quick_rows[] = {1, 64, 1024, 4096};
static const int64_t quick_cols[] = {10, 1000};
/* CI: mid-size, out-of-cache shapes whose timings are stable enough to
 * compare ratios (tiny shapes are dominated by call overhead and jitter). */
static const int64_t ci_rows[] = {1024};
static const int64_t ci_cols[] = {1000};
static const int64_t both_threads[] = {1, 2};

const char *bench_suite_name(void)
{
    const char *s = getenv("LB_BENCH_SUITE");
    if (s && (strcmp(s, "full") == 0 || strcmp(s, "ci") == 0)) return s;
    return "quick";
}

/* A comma list of positive integers from the environment (at most max);
 * returns the count, 0 when unset or malformed. */
static int env_list(const char *name, int64_t *out, int max)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    int n = 0;
    while (*v && n < max) {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (end == v || x <= 0 || (*end != ',' && *end != '\0')) return 0;
        out[n++] = x;
        v = *end ? end + 1 : end;
    }
    return n;
}

const bench_grid *bench_suite_grid(void)
{
    static bench_grid g;
    static int64_t rows_override[16], cols_override[16], threads_override[4];
    const char *s = bench_suite_name();
    if (strcmp(s, "full") == 0) {
        g = (bench_grid){full_rows, 9, full_cols, 5, both_threads, 2, true, true};
    } else if (strcmp(s, "ci") == 0) {
        g = (bench_grid){ci_rows, 1, ci_cols, 1, both_threads, 2, true, false};
    } else {
        g = (bench_grid){quick_rows, 4, quick_cols, 2, both_threads, 2, true, false};
    }
    /* LB_BENCH_ROWS / LB_BENCH_COLS / LB_BENCH_THREADS replace the suite's
     * lists (comma lists, e.g. LB_BENCH_ROWS=64,8192), for one-off shapes */
    int n;
    if ((n = env_list("LB_BENCH_ROWS", rows_override, 16)) > 0) g.rows = rows_override, g.n_rows = n;
    if ((n = env_list("LB_BENCH_COLS", cols_override, 16)) > 0) g.cols = cols_override, g.n_cols = n;
    if ((n = env_list("LB_BENCH_THREADS", threads_override, 4)) > 0)
        g.threads = threads_override, g.n_threads = n;
    return &g;
}

bool bench_is_hot(const gb_state *st) { return gb_tag(st) == 1; }

/* Registrations wait here until bench_register_commit orders them. */
typedef struct pending_bench {
    char name[96];
    gb_fn fn;
    int64_t rows, cols;
    size_t elem;
    int order;
} pending_bench;
#define MAX_PENDING 8192
static pending_bench pending[MAX_PENDING];
static int n_pending;

void bench_register_grid(const char *op, const char *dtype, const char *impl, gb_fn fn,
                         bench_bytes_fn footprint, size_t cap)
{
    if (!bench_op_selected(op)) return;
    const bench_grid *g = bench_suite_grid();
    bool is_f64 = strcmp(dtype, "f64") == 0;
    if (is_f64 ? !g->f64 : !g->f32) return;
    size_t elem = is_f64 ? 8 : 4;
    /* the (rows, cols) pairs that fit the cap */
    int64_t shapes[64][2];
    int n = 0;
    for (int j = 0; j < g->n_cols; j++) {
        size_t cols = (size_t)g->cols[j];
        int fitting = 0;
        for (int i = 0; i < g->n_rows && n < 64; i++) {
            size_t bytes = footprint((size_t)g->rows[i], cols, elem);
            if (bytes == 0 || bytes > cap) continue; /* over the memory cap */
            shapes[n][0] = g->rows[i], shapes[n][1] = g->cols[j], n++;
            fitting++;
        }
        if (fitting > 0 || n >= 64) continue;
        /* No batch size of the grid fits (the Jacobian writes rows*cols^2):
         * take the largest power of 4 rows that does, if any. */
        size_t rows = 0;
        for (size_t r = 1; r <= (size_t)g->rows[g->n_rows - 1]; r *= 4) {
            size_t bytes = footprint(r, cols, elem);
            if (bytes != 0 && bytes <= cap) rows = r;
        }
        if (rows > 0) shapes[n][0] = (int64_t)rows, shapes[n][1] = g->cols[j], n++;
    }
    for (int k = 0; k < n; k++) {
        if (n_pending == MAX_PENDING) break;
        pending_bench *p = &pending[n_pending++];
        snprintf(p->name, sizeof p->name, "%s/%s/%s", op, dtype, impl);
        p->fn = fn;
        p->rows = shapes[k][0], p->cols = shapes[k][1], p->elem = elem;
        p->order = n_pending;
    }
}

static int pending_cmp(const void *a_, const void *b_)
{
    const pending_bench *a = a_, *b = b_;
    if (a->elem != b->elem) return a->elem < b->elem ? -1 : 1;
    if (a->cols != b->cols) return a->cols < b->cols ? -1 : 1;
    if (a->rows != b->rows) return a->rows < b->rows ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

void bench_register_commit(void)
{
    /* Shape-major order: every benchmark of one shape runs back to back, so
     * the rotating buffers of that shape are filled once. */
    qsort(pending, (size_t)n_pending, sizeof pending[0], pending_cmp);
    const bench_grid *g = bench_suite_grid();
    static const char *const names[] = {"rows", "cols", "nthr"};
    bool hot_variants = strcmp(bench_suite_name(), "ci") != 0;
    for (int k = 0; k < n_pending; k++) {
        /* variant 0: rotating buffers (out of cache); variant 1 ("hot/"
         * prefix), for shapes whose matrix fits the hot cap: one buffer
         * set, reused every call (in cache) */
        size_t matrix_bytes = (size_t)pending[k].rows * (size_t)pending[k].cols * pending[k].elem;
        int variants = hot_variants && matrix_bytes <= BENCH_HOT_MAX_BYTES ? 2 : 1;
        for (int hot = 0; hot < variants; hot++) {
            char name[128];
            snprintf(name, sizeof name, "%s%s", hot ? "hot/" : "", pending[k].name);
            gb_bench *b = gb_register_tagged(name, pending[k].fn, hot);
            gb_arg_names(b, names, 3);
            gb_use_real_time(b);
            gb_unit(b, 1);
            const int64_t *lists[3] = {&pending[k].rows, &pending[k].cols, g->threads};
            const int lens[3] = {1, 1, g->n_threads};
            gb_args_product(b, lists, lens, 3);
        }
    }
    n_pending = 0;
}

/* ---- random numbers ----------------------------------------------------- */

uint64_t bench_rand_u64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double bench_rand_unit(uint64_t *s) { return (double)(bench_rand_u64(s) >> 11) * 0x1.0p-53; }

/* ---- the arena ---------------------------------------------------------- */

/* One mapping for the whole process, reserved once and never unmapped, so
 * pages touched once stay resident: a benchmark never pays first-touch
 * costs (~10 us per 4 KiB page) inside its timed loop. Buffers are bump-
 * allocated; when a request does not fit, everything is dropped and the
 * arena starts over (the next benchmarks refill what they need). */
static char *arena;
static size_t arena_size, arena_used;

typedef struct region {
    bench_fill fill;
    size_t count, elem, rows, cols, nsets;
    size_t offset, stride;
} region;
#define MAX_REGIONS 64
static region regions[MAX_REGIONS];
static int n_regions;

static bool arena_init(void)
{
    if (arena) return true;
    arena_size = bench_max_bytes() + 4 * rotate_bytes() + (64u << 20);
    void *p = mmap(NULL, arena_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) return false;
    /* Large tensors live on huge pages in real frameworks too (THP). */
    madvise(p, arena_size, MADV_HUGEPAGE);
    arena = p;
    return true;
}

size_t bench_rotation_sets(size_t set_bytes)
{
    size_t want = rotate_bytes();
    if (set_bytes == 0) return 1;
    size_t n = (want + set_bytes - 1) / set_bytes;
    return n < 1 ? 1 : n;
}

/* Fills copy 0 of a region; the other copies are byte copies of it (their
 * addresses, not their values, are what defeats the cache). */
static void fill_first_copy(region *r, char *p)
{
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ (r->count * 31 + (uint64_t)r->fill * 7 + r->cols);
    size_t n = r->count, cols = r->cols ? r->cols : 1, rows = n / cols;
    double lo = -4, width = 8;
    switch (r->fill) {
    case FILL_ZERO: return;
    case FILL_TARGETS:
        for (size_t i = 0; i < n; i++) ((int64_t *)p)[i] = (int64_t)(bench_rand_u64(&seed) % cols);
        return;
    case FILL_GRAD: lo = -1, width = 2; break;
    case FILL_LOGITS:
    case FILL_PROBS:
    case FILL_LOGPROBS: break;
    }
    if (r->elem == 4) {
        float *v = (float *)p;
        for (size_t i = 0; i < n; i++) v[i] = (float)(lo + width * bench_rand_unit(&seed));
        if (r->fill == FILL_PROBS) lb_softmax_f32(rows, cols, v, cols, v, cols);
        if (r->fill == FILL_LOGPROBS) lb_log_softmax_f32(rows, cols, v, cols, v, cols);
    } else {
        double *v = (double *)p;
        for (size_t i = 0; i < n; i++) v[i] = lo + width * bench_rand_unit(&seed);
        if (r->fill == FILL_PROBS) lb_softmax_f64(rows, cols, v, cols, v, cols);
        if (r->fill == FILL_LOGPROBS) lb_log_softmax_f64(rows, cols, v, cols, v, cols);
    }
}

static void fill_region(region *r)
{
    char *base = arena + r->offset;
    memset(base, 0, r->stride * r->nsets); /* touches every page, padding included */
    if (r->fill == FILL_ZERO) return;
    fill_first_copy(r, base);
    for (size_t s = 1; s < r->nsets; s++) memcpy(base + s * r->stride, base, r->stride);
}

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

bool bench_buffers(const bench_buf_spec *spec, int n, size_t rows, size_t cols, size_t nsets,
                   bench_buf *out, const char **why)
{
    if (!arena_init()) {
        *why = "could not reserve the benchmark arena";
        return false;
    }
    /* A spec matches an existing region when its content would be identical;
     * the same region may serve two specs only if both are read-only inputs. */
    int found[8];
    size_t need = 0;
    for (int k = 0; k < n; k++) {
        found[k] = -1;
        for (int q = 0; q < n_regions && spec[k].fill != FILL_ZERO; q++) {
            region *r = &regions[q];
            bool taken = false;
            for (int j = 0; j < k; j++) taken |= found[j] == q;
            if (!taken && r->fill == spec[k].fill && r->count == spec[k].count &&
                r->elem == spec[k].elem && r->rows == rows && r->cols == cols &&
                r->nsets == nsets) {
                found[k] = q;
                break;
            }
        }
        if (found[k] < 0) need += round_up(spec[k].count * spec[k].elem, 64) * nsets;
    }
    if (arena_used + need > arena_size || n_regions + n > MAX_REGIONS) {
        /* start over: drop every region */
        n_regions = 0;
        arena_used = 0;
        need = 0;
        for (int k = 0; k < n; k++) {
            found[k] = -1;
            need += round_up(spec[k].count * spec[k].elem, 64) * nsets;
        }
        if (need > arena_size) {
            *why = "buffers larger than the arena (LB_BENCH_MAX_MIB)";
            return false;
        }
    }
    for (int k = 0; k < n; k++) {
        if (found[k] < 0) {
            region *r = &regions[n_regions];
            *r = (region){spec[k].fill, spec[k].count, spec[k].elem, rows, cols, nsets,
                          arena_used, round_up(spec[k].count * spec[k].elem, 64)};
            arena_used += r->stride * nsets;
            fill_region(r);
            found[k] = n_regions++;
        }
        out[k] = (bench_buf){arena + regions[found[k]].offset, regions[found[k]].stride};
    }
    return true;
}

/* ---- threads, memcpy reference, counters -------------------------------- */

/* OpenBLAS (pthreads build) keeps its own pool: the BLAS Jacobian path gets
 * the same thread count as everything else. */
void openblas_set_num_threads(int num_threads);

void bench_set_threads(int nthreads)
{
    lb_set_num_threads(nthreads);
    omp_set_num_threads(nthreads);
    openblas_set_num_threads(nthreads);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Copies n bytes with t threads (each a contiguous share). */
void bench_copy(void *dst_, const void *src_, size_t n, int t)
{
    char *dst = dst_;
    const char *src = src_;
    if (t <= 1 || n < ((size_t)256 << 10)) {
        memcpy(dst, src, n);
        return;
    }
#pragma omp parallel num_threads(t)
    {
        size_t id = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        size_t chunk = round_up((n + nt - 1) / nt, 64);
        size_t begin = id * chunk < n ? id * chunk : n;
        size_t end = begin + chunk < n ? begin + chunk : n;
        memcpy(dst + begin, src + begin, end - begin);
    }
}

static double measure_copy(size_t copy_bytes, int t)
{
    size_t nsets = bench_rotation_sets(2 * copy_bytes);
    bench_buf_spec spec[2] = {{FILL_GRAD, copy_bytes / 4, 4}, {FILL_ZERO, copy_bytes / 4, 4}};
    bench_buf b[2];
    const char *why;
    if (!bench_buffers(spec, 2, 1, copy_bytes / 4, nsets, b, &why)) return NAN;
    /* median of 5 trials of >= 10 ms each */
    double rates[5];
    size_t s = 0;
    for (int trial = 0; trial < 5; trial++) {
        size_t copies = 0;
        double t0 = now_seconds(), el;
        do {
            for (int k = 0; k < 16; k++) {
                bench_copy(bench_at(b[1], s), bench_at(b[0], s), copy_bytes, t);
                if (++s == nsets) s = 0;
            }
            copies += 16;
            el = now_seconds() - t0;
        } while (el < 0.01);
        rates[trial] = 2.0 * (double)copy_bytes * (double)copies / el;
    }
    for (int i = 1; i < 5; i++)
        for (int j = i; j > 0 && rates[j - 1] > rates[j]; j--) {
            double tmp = rates[j];
            rates[j] = rates[j - 1];
            rates[j - 1] = tmp;
        }
    return rates[2];
}

double bench_memcpy_rate(size_t copy_bytes, int nthreads)
{
    struct memo_entry { size_t bytes; int threads; double rate; };
    static struct memo_entry memo[512];
    static int n_memo;
    copy_bytes = round_up(copy_bytes < 64 ? 64 : copy_bytes, 64);
    for (int i = 0; i < n_memo; i++)
        if (memo[i].bytes == copy_bytes && memo[i].threads == nthreads) return memo[i].rate;
    double rate = measure_copy(copy_bytes, 1);
    if (nthreads > 1) {
        double r2 = measure_copy(copy_bytes, nthreads);
        if (r2 > rate) rate = r2;
    }
    if (n_memo < 512) memo[n_memo++] = (struct memo_entry){copy_bytes, nthreads, rate};
    return rate;
}

void bench_finish(gb_state *st, int64_t items_per_iter, int64_t bytes_per_iter, int nthreads)
{
    int64_t it = gb_iterations(st);
    gb_set_items_processed(st, it * items_per_iter);
    gb_set_bytes_processed(st, it * bytes_per_iter);
    /* The reference is measured (once per size and thread count) after the
     * timed loop, never inside it. */
    double ref = bench_memcpy_rate((size_t)(bytes_per_iter / 2), nthreads);
    if (ref > 0 && isfinite(ref))
        gb_counter(st, "bw_frac", (double)it * (double)bytes_per_iter / ref, GB_COUNTER_RATE);
    gb_counter(st, "memcpy_GBps", ref / 1e9, GB_COUNTER_PLAIN);
}

size_t bench_shape_sets(size_t rows, size_t cols, size_t elem)
{
    return bench_rotation_sets(2 * rows * cols * elem + 8 * rows);
}

void bench_run(gb_state *st, const bench_buf_spec *spec, int nbuf, size_t nsets, int repeat,
               bench_call_fn call, int64_t items_per_iter, int64_t bytes_per_iter)
{
    int nthr = (int)gb_arg(st, 2);
    if (bench_is_hot(st)) nsets = 1; /* in-cache variant: no rotation */
    bench_call_args a = {(size_t)gb_arg(st, 0), (size_t)gb_arg(st, 1), nthr, {0}};
    bench_set_threads(nthr);
    bench_buf b[6];
    const char *why = "";
    if (!bench_buffers(spec, nbuf, a.rows, a.cols, nsets, b, &why)) {
        gb_skip(st, why);
        return;
    }
    size_t s = 0;
    int status = 0;
    while (gb_keep_running(st)) {
        for (int k = 0; k < nbuf; k++) a.p[k] = bench_at(b[k], s);
        for (int r = 0; r < repeat; r++) status |= call(&a);
        if (++s == nsets) s = 0;
    }
    if (status != 0) {
        gb_fail(st, lb_status_string((lb_status)status));
        return;
    }
    bench_finish(st, items_per_iter, bytes_per_iter, nthr);
}
