/*
 * gbench_shim.h - Google Benchmark behind a C interface, so that every
 * lossblas benchmark can be written in C (bench/bench_*.c).
 *
 * A benchmark is a C function void fn(gb_state *st) holding the usual loop:
 *
 *     static void bm_softmax(gb_state *st) {
 *         size_t rows = (size_t)gb_arg(st, 0);      // state.range(0)
 *         ... set up outside the loop ...
 *         while (gb_keep_running(st)) { lb_softmax_f32(...); }
 *         gb_set_items_processed(st, gb_iterations(st) * rows);
 *     }
 *
 * and is registered before gb_main() runs, usually from a constructor:
 *
 *     gb_bench *b = gb_register("softmax/f32", bm_softmax);
 *     gb_args(b, (int64_t[]){256, 1000}, 2);
 *
 * Skipping: gb_skip(st, "oneDNN not built") reports the benchmark as
 * skipped (Google Benchmark 1.7 has only SkipWithError; the message always
 * starts with "skipped: " so reports can tell a skip from a failure). A
 * skip never makes the process exit non-zero.
 */
#ifndef LOSSBLAS_GBENCH_SHIM_H
#define LOSSBLAS_GBENCH_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gb_state gb_state; /* a benchmark::State */
typedef struct gb_bench gb_bench; /* a registered benchmark::internal::Benchmark */
typedef void (*gb_fn)(gb_state *st);

/* ---- inside a benchmark function ----------------------------------------- */

/* The timed loop: true while more iterations are wanted. */
bool gb_keep_running(gb_state *st);
/* Iterations run so far (the total once the loop has ended). */
int64_t gb_iterations(const gb_state *st);
/* Argument i of this instance (state.range(i)). */
int64_t gb_arg(const gb_state *st, int i);
/* Stop / restart the clock inside the loop (costs ~100 ns each: keep the
 * timed work well above that). */
void gb_pause_timing(gb_state *st);
void gb_resume_timing(gb_state *st);

/* Rates: the framework divides these totals by the measured time. */
void gb_set_items_processed(gb_state *st, int64_t items);
void gb_set_bytes_processed(gb_state *st, int64_t bytes);

/* Custom counters. GB_COUNTER_RATE divides the value by the elapsed time
 * (wall time for benchmarks registered with gb_use_real_time). */
enum gb_counter_flags {
    GB_COUNTER_PLAIN = 0,
    GB_COUNTER_RATE = 1,
    GB_COUNTER_PER_ITERATION = 2 /* value / iterations */
};
void gb_counter(gb_state *st, const char *name, double value, int flags);
/* A free-text label shown after the figures (and in the JSON "label"). */
void gb_set_label(gb_state *st, const char *label);
/* Report this instance as skipped with a reason; call it instead of running
 * the loop (or before it), then return. */
void gb_skip(gb_state *st, const char *reason);
/* Mark an instance as failed (a real error, e.g. a kernel returned a bad
 * status); the run continues. */
void gb_fail(gb_state *st, const char *message);
/* Keep the compiler from optimizing a result away. */
void gb_do_not_optimize(const void *p);
void gb_clobber_memory(void);

/* ---- registration ------------------------------------------------------- */

gb_bench *gb_register(const char *name, gb_fn fn);
/* As gb_register, with an integer the function reads back through gb_tag
 * while it runs (0 for gb_register): one C function serves variants. */
gb_bench *gb_register_tagged(const char *name, gb_fn fn, int tag);
int gb_tag(const gb_state *st);
/* One argument tuple (one instance). */
gb_bench *gb_args(gb_bench *b, const int64_t *args, int n);
/* Every combination of the given argument lists (ArgsProduct):
 * lists[i] holds lens[i] values for argument i. */
gb_bench *gb_args_product(gb_bench *b, const int64_t *const *lists, const int *lens, int n);
/* Argument i spans lo..hi by powers of mult (Range / Ranges). */
gb_bench *gb_ranges(gb_bench *b, const int64_t *lo, const int64_t *hi, int n, int mult);
/* Names printed with the arguments ("rows:256/cols:1000"). */
gb_bench *gb_arg_names(gb_bench *b, const char *const *names, int n);
/* Measure wall time (needed when the work runs on OpenMP threads). */
gb_bench *gb_use_real_time(gb_bench *b);
gb_bench *gb_min_time(gb_bench *b, double seconds);
/* Display unit: 0 ns, 1 us, 2 ms, 3 s. */
gb_bench *gb_unit(gb_bench *b, int unit);

/* ---- main --------------------------------------------------------------- */

/* A key/value pair for the report's "context" (call before gb_main). */
void gb_add_context(const char *key, const char *value);

/* Parses the --benchmark_* flags, runs the selected benchmarks, prints and
 * writes the reports. Returns 0, or 1 on a bad command line. */
int gb_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* LOSSBLAS_GBENCH_SHIM_H */
