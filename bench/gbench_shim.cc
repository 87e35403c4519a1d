// gbench_shim.cc - the C++ side of gbench_shim.h: each C call forwards to
// Google Benchmark (1.7). gb_state and gb_bench are never defined; the
// pointers are the benchmark::State and benchmark::internal::Benchmark
// objects themselves.
#include "gbench_shim.h"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

benchmark::State &S(gb_state *st) { return *reinterpret_cast<benchmark::State *>(st); }
const benchmark::State &S(const gb_state *st)
{
    return *reinterpret_cast<const benchmark::State *>(st);
}
benchmark::internal::Benchmark *B(gb_bench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
gb_bench *C(benchmark::internal::Benchmark *b) { return reinterpret_cast<gb_bench *>(b); }

} // namespace

extern "C" {

bool gb_keep_running(gb_state *st) { return S(st).KeepRunning(); }
int64_t gb_iterations(const gb_state *st) { return static_cast<int64_t>(S(st).iterations()); }
int64_t gb_arg(const gb_state *st, int i) { return S(st).range(static_cast<std::size_t>(i)); }
void gb_pause_timing(gb_state *st) { S(st).PauseTiming(); }
void gb_resume_timing(gb_state *st) { S(st).ResumeTiming(); }
void gb_set_items_processed(gb_state *st, int64_t items) { S(st).SetItemsProcessed(items); }
void gb_set_bytes_processed(gb_state *st, int64_t bytes) { S(st).SetBytesProcessed(bytes); }

void gb_counter(gb_state *st, const char *name, double value, int flags)
{
    int f = benchmark::Counter::kDefaults;
    if (flags & GB_COUNTER_RATE) f |= benchmark::Counter::kIsRate;
    if (flags & GB_COUNTER_PER_ITERATION) f |= benchmark::Counter::kAvgIterations;
    S(st).counters[name] = benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f));
}

void gb_set_label(gb_state *st, const char *label) { S(st).SetLabel(label); }

void gb_skip(gb_state *st, const char *reason)
{
    // 1.7 has no SkipWithMessage; an error whose text starts with "skipped: "
    // is how reports recognise a deliberate skip.
    std::string msg = std::string("skipped: ") + reason;
    S(st).SkipWithError(msg.c_str());
}

void gb_fail(gb_state *st, const char *message) { S(st).SkipWithError(message); }

void gb_do_not_optimize(const void *p) { benchmark::DoNotOptimize(p); }
void gb_clobber_memory(void) { benchmark::ClobberMemory(); }

gb_bench *gb_register(const char *name, gb_fn fn) { return gb_register_tagged(name, fn, 0); }
// The tag of the running benchmark: benchmarks run one at a time on the
// main thread, so a plain variable set around the call is enough.
static int current_tag;
gb_bench *gb_register_tagged(const char *name, gb_fn fn, int tag)
{
    return C(benchmark::RegisterBenchmark(name, [fn, tag](benchmark::State &st) {
        current_tag = tag;
        fn(reinterpret_cast<gb_state *>(&st));
        current_tag = 0;
    }));
}
int gb_tag(const gb_state *) { return current_tag; }

gb_bench *gb_args(gb_bench *b, const int64_t *args, int n)
{
    return C(B(b)->Args(std::vector<int64_t>(args, args + n)));
}

gb_bench *gb_args_product(gb_bench *b, const int64_t *const *lists, const int *lens, int n)
{
    std::vector<std::vector<int64_t>> product;
    for (int i = 0; i < n; i++) product.emplace_back(lists[i], lists[i] + lens[i]);
    return C(B(b)->ArgsProduct(product));
}

gb_bench *gb_ranges(gb_bench *b, const int64_t *lo, const int64_t *hi, int n, int mult)
{
    std::vector<std::pair<int64_t, int64_t>> r;
    for (int i = 0; i < n; i++) r.emplace_back(lo[i], hi[i]);
    return C(B(b)->RangeMultiplier(mult)->Ranges(r));
}

gb_bench *gb_arg_names(gb_bench *b, const char *const *names, int n)
{
    return C(B(b)->ArgNames(std::vector<std::string>(names, names + n)));
}

gb_bench *gb_use_real_time(gb_bench *b) { return C(B(b)->UseRealTime()); }
gb_bench *gb_min_time(gb_bench *b, double seconds) { return C(B(b)->MinTime(seconds)); }

gb_bench *gb_unit(gb_bench *b, int unit)
{
    static const benchmark::TimeUnit units[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                                benchmark::kMillisecond, benchmark::kSecond};
    return C(B(b)->Unit(units[unit < 0 || unit > 3 ? 0 : unit]));
}

void gb_add_context(const char *key, const char *value)
{
    benchmark::AddCustomContext(key, value);
}

int gb_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // extern "C"
