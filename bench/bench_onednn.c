/*
 * bench_onednn.c - the oneDNN peer: softmax and log-softmax, forward and
 * backward, through oneDNN's C API (softmax_v2: accurate and log), f32.
 * oneDNN 2.x has no f64 data type, so the f64 entries report a skip; a build
 * without oneDNN (LOSSBLAS_BENCH_HAVE_DNNL undefined) skips them all. A
 * skip never fails the run.
 */
#include "bench_common.h"

#include <stdio.h>

#ifdef LOSSBLAS_BENCH_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>

/* The primitive and memory objects of the running benchmark (benchmarks
 * run one at a time). */
static struct {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t prim;
    dnnl_memory_t mem[3];
    int args[3];
    int nmem;
} dn;

static int dnnl_call(const bench_call_args *a)
{
    dnnl_exec_arg_t args[3];
    for (int k = 0; k < dn.nmem; k++) {
        dnnl_memory_set_data_handle(dn.mem[k], a->p[k]);
        args[k] = (dnnl_exec_arg_t){dn.args[k], dn.mem[k]};
    }
    dnnl_status_t s = dnnl_primitive_execute(dn.prim, dn.stream, dn.nmem, args);
    if (s == dnnl_success) s = dnnl_stream_wait(dn.stream);
    return s == dnnl_success ? 0 : 1;
}

/* alg: dnnl_softmax_accurate or dnnl_softmax_log. */
static void onednn_softmax(gb_state *st, dnnl_alg_kind_t alg, bool backward)
{
    size_t rows = (size_t)gb_arg(st, 0), cols = (size_t)gb_arg(st, 1);
    char why[160];
    if (!dn.engine) {
        if (dnnl_engine_create(&dn.engine, dnnl_cpu, 0) != dnnl_success ||
            dnnl_stream_create(&dn.stream, dn.engine, dnnl_stream_default_flags) != dnnl_success) {
            gb_skip(st, "oneDNN: no CPU engine");
            return;
        }
    }
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {(dnnl_dim_t)rows, (dnnl_dim_t)cols};
    dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab);
    dnnl_softmax_v2_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    dnnl_status_t s = dnnl_softmax_v2_forward_desc_init(&fd, dnnl_forward_training, alg, &md, &md, 1);
    if (s == dnnl_success) s = dnnl_primitive_desc_create(&fpd, &fd, NULL, dn.engine, NULL);
    if (s == dnnl_success && backward) {
        s = dnnl_softmax_v2_backward_desc_init(&bd, alg, &md, &md, &md, 1);
        if (s == dnnl_success) s = dnnl_primitive_desc_create(&bpd, &bd, NULL, dn.engine, fpd);
    }
    if (s == dnnl_success) s = dnnl_primitive_create(&dn.prim, backward ? bpd : fpd);
    if (s != dnnl_success) {
        snprintf(why, sizeof why, "oneDNN could not create the primitive (status %d)", (int)s);
        if (fpd) dnnl_primitive_desc_destroy(fpd);
        if (bpd) dnnl_primitive_desc_destroy(bpd);
        gb_skip(st, why);
        return;
    }
    int64_t n = (int64_t)(rows * cols);
    dn.nmem = backward ? 3 : 2;
    if (backward) {
        dn.args[0] = DNNL_ARG_DST;
        dn.args[1] = DNNL_ARG_DIFF_DST;
        dn.args[2] = DNNL_ARG_DIFF_SRC;
    } else {
        dn.args[0] = DNNL_ARG_SRC;
        dn.args[1] = DNNL_ARG_DST;
    }
    for (int k = 0; k < dn.nmem; k++) dnnl_memory_create(&dn.mem[k], &md, dn.engine, DNNL_MEMORY_NONE);
    bench_buf_spec fwd_spec[] = {{FILL_LOGITS, n, 4}, {FILL_ZERO, n, 4}};
    bench_buf_spec bwd_spec[] = {
        {alg == dnnl_softmax_log ? FILL_LOGPROBS : FILL_PROBS, n, 4}, {FILL_GRAD, n, 4},
        {FILL_ZERO, n, 4}};
    bench_run(st, backward ? bwd_spec : fwd_spec, dn.nmem, bench_shape_sets(rows, cols, 4), 1,
              dnnl_call, (int64_t)rows, (backward ? 3 : 2) * n * 4);
    for (int k = 0; k < dn.nmem; k++) dnnl_memory_destroy(dn.mem[k]);
    dnnl_primitive_destroy(dn.prim);
    dnnl_primitive_desc_destroy(fpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
}

static void bm_softmax(gb_state *st) { onednn_softmax(st, dnnl_softmax_accurate, false); }
static void bm_log_softmax(gb_state *st) { onednn_softmax(st, dnnl_softmax_log, false); }
static void bm_softmax_backward(gb_state *st) { onednn_softmax(st, dnnl_softmax_accurate, true); }
static void bm_log_softmax_backward(gb_state *st) { onednn_softmax(st, dnnl_softmax_log, true); }

#else /* built without oneDNN: every entry is a skip */

static void bm_missing(gb_state *st)
{
    gb_skip(st, "oneDNN not found at configure time (install libdnnl-dev)");
}
#define bm_softmax bm_missing
#define bm_log_softmax bm_missing
#define bm_softmax_backward bm_missing
#define bm_log_softmax_backward bm_missing
#endif

static void bm_no_f64(gb_state *st) { gb_skip(st, "oneDNN 2.x has no f64 data type"); }

static size_t fp2(size_t r, size_t c, size_t e) { return 2 * r * c * e + 8 * r; }
static size_t fp3(size_t r, size_t c, size_t e) { return 3 * r * c * e + 8 * r; }

void bench_register_onednn(void)
{
    size_t cap = bench_max_bytes();
    bench_register_grid("softmax", "f32", "onednn", bm_softmax, fp2, cap);
    bench_register_grid("log_softmax", "f32", "onednn", bm_log_softmax, fp2, cap);
    bench_register_grid("softmax_backward", "f32", "onednn", bm_softmax_backward, fp3, cap);
    bench_register_grid("log_softmax_backward", "f32", "onednn", bm_log_softmax_backward, fp3,
                        cap);
    bench_register_grid("softmax", "f64", "onednn", bm_no_f64, fp2, cap);
    bench_register_grid("log_softmax", "f64", "onednn", bm_no_f64, fp2, cap);
    bench_register_grid("softmax_backward", "f64", "onednn", bm_no_f64, fp3, cap);
    bench_register_grid("log_softmax_backward", "f64", "onednn", bm_no_f64, fp3, cap);
}
