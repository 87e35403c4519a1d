/*
 * test_isa_agreement.c - every slot of the AVX2 kernel table against the
 * reference table, row by row, on random and adversarial rows at 1..67
 * columns (every SIMD head/body/tail split), 1000, 4099 and 131072 (the
 * online path for long rows), f32 and f64.
 *
 * Bounds (u = unit roundoff: 2^-24 f32, 2^-53 f64):
 *   softmax                 <= 3 ulp of the reference where it is >= the smallest
 *                           normal (f32: exp <= 1 ulp, reciprocal and product
 *                           roundings; reference itself ~0.5 ulp); below that
 *                           within 2 subnormal ulps. f64: <= 16 ulp (the bound
 *                           of test_softmax): both round x - m in double and
 *                           sum in different orders, each a few ulp off
 *   log_softmax             |diff| <= 4 u (1 + |ref|) (f64: 16 u (1 + |ref|))
 *   softmax_backward        |diff| <= 16 u |y| (|dy| + sum |y dy|)
 *   log_softmax_backward    |diff| <= 16 u (|dy| + exp(logy) sum|dy|)
 *   cross-entropy loss      relative 1e-6 (f32) / 1e-12 (f64)
 *   cross-entropy gradient  |diff| <= 8 u (p_j A + a_j) |grad_mul| (general
 *                           coefficients: see general_xent_agreement)
 *   streaming-store kernels bitwise equal to the regular ones (softmax,
 *                           log-softmax, both backward passes, the
 *                           cross-entropy gradient and loss), every offset
 *                           from a 64-byte boundary
 *   jacobian_full           bitwise equal (same products, same rounding)
 *   mse / mae rows          element outputs bitwise equal (also with streaming
 *                           stores), row sums 1e-12 relative
 *   argmax                  the same index
 * Special rows must agree exactly in kind: NaN where the reference has NaN,
 * the same infinities and exact zeros.
 * The SIMD table is the pass's own: the AVX2 one in the avx2 pass, the
 * AVX-512 one (AVX2 below it, AVX-512 kernels on top) in the avx512 pass;
 * skipped in the scalar pass and where the CPU lacks the set. The avx512
 * pass also checks that the AVX-512 exp sweep stores the AVX2 one's bits.
 */
#include "internal.h"
#include "rows_avx2.h"
#include "rows_avx512.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static lb_kernel_table ref_table, simd_table;

static bool avx512_pass;

static void setup(void)
{
    const char *want = getenv("LOSSBLAS_ISA");
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        cr_skip_test("CPU lacks AVX2+FMA");
    avx512_pass = want && strcmp(want, "avx512") == 0;
    if (want && strcmp(want, "avx2") != 0 && !avx512_pass)
        cr_skip_test("runs in the avx2 and avx512 passes only");
    /* testutil.c has already skipped an avx512 pass on a CPU without it */
    lb_fill_reference_kernels(&ref_table);
    simd_table = ref_table;
    lb_fill_avx2_kernels(&simd_table);
    if (avx512_pass) lb_fill_avx512_kernels(&simd_table);
}

TestSuite(isa_agreement, .init = setup);

/* ------------------------------------------------------------------------ */
/* Rows                                                                     */
/* ------------------------------------------------------------------------ */

enum row_kind {
    ROW_UNIFORM,       /* [-10, 10] */
    ROW_WIDE,          /* [-100, 100]: exp underflows for many entries */
    ROW_NARROW,        /* [-1e-3, 1e-3] around 50 */
    ROW_LARGE_OFFSET,  /* 1e4 + [-20, 20]: x - m rounds in float */
    ROW_SOME_NEG_INF,
    ROW_ALL_NEG_INF,
    ROW_NAN,
    ROW_POS_INF,
    ROW_HUGE,          /* +-max finite */
    ROW_MAX_IS_LOWEST, /* max is -max finite, with -inf entries */
    ROW_NAN_AND_NEG_INF,
    ROW_DOMINANT,      /* one entry 60 above the rest */
    ROW_KINDS
};

static void fill_row(tu_rng *r, double *x, size_t n, enum row_kind kind, double largest)
{
    size_t at = (size_t)(tu_next(r) % n);
    for (size_t j = 0; j < n; j++) x[j] = tu_uniform(r, -10, 10);
    switch (kind) {
    case ROW_UNIFORM: break;
    case ROW_WIDE:
        for (size_t j = 0; j < n; j++) x[j] = tu_uniform(r, -100, 100);
        break;
    case ROW_NARROW:
        for (size_t j = 0; j < n; j++) x[j] = 50 + tu_uniform(r, -1e-3, 1e-3);
        break;
    case ROW_LARGE_OFFSET:
        for (size_t j = 0; j < n; j++) x[j] = 1e4 + tu_uniform(r, -20, 20);
        break;
    case ROW_SOME_NEG_INF:
        for (size_t j = 0; j < n; j++)
            if (j % 3 == 1 && j != at) x[j] = -INFINITY;
        break;
    case ROW_ALL_NEG_INF:
        for (size_t j = 0; j < n; j++) x[j] = -INFINITY;
        break;
    case ROW_NAN: x[at] = NAN; break;
    case ROW_POS_INF: x[at] = INFINITY; break;
    case ROW_HUGE:
        x[at] = largest;
        x[(at + 1) % n] = -largest;
        if (n > 2) x[(at + 2) % n] = largest;
        break;
    case ROW_MAX_IS_LOWEST:
        for (size_t j = 0; j < n; j++) x[j] = j % 2 ? -INFINITY : -largest;
        break;
    case ROW_NAN_AND_NEG_INF:
        for (size_t j = 0; j < n; j++) x[j] = -INFINITY;
        x[at] = NAN;
        break;
    case ROW_DOMINANT:
        x[at] = 70;
        break;
    default: break;
    }
}

static const size_t long_cols[] = {1000, 4099, 131072};

/* Calls fn(n, kind, row index) for every column count and row kind. */
#define FOR_EACH_ROW(...)                                                                     \
    for (size_t cc = 0; cc < 67 + 3; cc++) {                                                  \
        size_t n = cc < 67 ? cc + 1 : long_cols[cc - 67];                                     \
        for (int kind = 0; kind < ROW_KINDS; kind++) {                                        \
            if (n == 131072 && kind != ROW_UNIFORM && kind != ROW_NAN &&                      \
                kind != ROW_ALL_NEG_INF && kind != ROW_SOME_NEG_INF && kind != ROW_DOMINANT)  \
                continue; /* keep the long rows few */                                        \
            __VA_ARGS__                                                                       \
        }                                                                                     \
    }

/* ------------------------------------------------------------------------ */
/* Comparisons                                                              */
/* ------------------------------------------------------------------------ */

static uint64_t worst_softmax_ulp[2];

/* Same special value class: NaN with NaN, equal infinities, equal zeros. */
static bool same_special(double got, double want)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    if (want == 0.0) return got == 0.0;
    return !isnan(got) && !isinf(got);
}

static void check_softmax(bool f64, size_t n, const double *x, const double *got,
                          const double *want, int kind)
{
    double smallest = f64 ? DBL_MIN : FLT_MIN;
    double sub_ulp = f64 ? 0x1p-1074 : 0x1p-149;
    uint64_t bound = f64 ? 16 : 3;
    for (size_t j = 0; j < n; j++) {
        /* a -inf entry gives exactly 0; elsewhere a 0 may be the smallest
         * subnormal on the other side of the rounding boundary */
        if (x[j] == -INFINITY && !isnan(want[j]))
            cr_assert(got[j] == 0.0 && want[j] == 0.0, "%s softmax of -inf: %g", f64 ? "f64" : "f32",
                      got[j]);
        cr_assert(same_special(got[j], want[j]) || (want[j] == 0.0 && got[j] <= 2 * sub_ulp),
                  "%s softmax n=%zu kind %d j=%zu x=%g: %g vs %g", f64 ? "f64" : "f32", n, kind, j,
                  x[j], got[j], want[j]);
        if (want[j] >= smallest) {
            uint64_t d = f64 ? tu_ulp_f64(got[j], want[j]) : tu_ulp_f32((float)got[j], (float)want[j]);
            if (d > worst_softmax_ulp[f64]) worst_softmax_ulp[f64] = d;
            cr_assert(d <= bound, "%s softmax n=%zu kind %d j=%zu: %a vs %a (%llu ulp)",
                      f64 ? "f64" : "f32", n, kind, j, got[j], want[j], (unsigned long long)d);
        } else if (!isnan(want[j])) {
            cr_assert(fabs(got[j] - want[j]) <= 2 * sub_ulp, "%s softmax tiny n=%zu j=%zu: %a vs %a",
                      f64 ? "f64" : "f32", n, j, got[j], want[j]);
        }
    }
}

static void check_log_softmax(bool f64, size_t n, const double *got, const double *want,
                              int kind)
{
    double u = f64 ? 0x1p-53 : 0x1p-24, bound = f64 ? 16 : 4;
    for (size_t j = 0; j < n; j++) {
        cr_assert(same_special(got[j], want[j]) || (want[j] == 0.0 && fabs(got[j]) <= bound * u),
                  "%s log_softmax n=%zu kind %d j=%zu: %g vs %g", f64 ? "f64" : "f32", n, kind, j,
                  got[j], want[j]);
        if (isfinite(want[j]))
            cr_assert(fabs(got[j] - want[j]) <= bound * u * (1 + fabs(want[j])),
                      "%s log_softmax n=%zu kind %d j=%zu: %.17g vs %.17g", f64 ? "f64" : "f32",
                      n, kind, j, got[j], want[j]);
    }
}

/* Runs one forward slot of both tables on row x (as float or double) and
 * returns both outputs in double. */
static void run_forward(bool f64, bool log_form, size_t n, const double *x, double *got,
                        double *want)
{
    if (f64) {
        (log_form ? simd_table.log_softmax_f64 : simd_table.softmax_f64)(n, x, got);
        (log_form ? ref_table.log_softmax_f64 : ref_table.softmax_f64)(n, x, want);
        return;
    }
    float *xf = malloc(n * sizeof *xf), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t j = 0; j < n; j++) xf[j] = (float)x[j];
    (log_form ? simd_table.log_softmax_f32 : simd_table.softmax_f32)(n, xf, a);
    (log_form ? ref_table.log_softmax_f32 : ref_table.softmax_f32)(n, xf, b);
    for (size_t j = 0; j < n; j++) {
        got[j] = a[j];
        want[j] = b[j];
    }
    free(xf);
    free(a);
    free(b);
}

static void forward_agreement(bool f64, bool log_form)
{
    tu_rng r = {f64 ? 101u : 100u};
    double largest = f64 ? DBL_MAX : FLT_MAX;
    double *x = malloc(131072 * sizeof *x), *got = malloc(131072 * sizeof *got),
           *want = malloc(131072 * sizeof *want);
    FOR_EACH_ROW({
        fill_row(&r, x, n, (enum row_kind)kind, largest);
        run_forward(f64, log_form, n, x, got, want);
        if (log_form) check_log_softmax(f64, n, got, want, kind);
        else check_softmax(f64, n, x, got, want, kind);
    })
    free(x);
    free(got);
    free(want);
}

Test(isa_agreement, softmax_f32)
{
    forward_agreement(false, false);
    cr_log_info("softmax f32: max %llu ulp vs reference", (unsigned long long)worst_softmax_ulp[0]);
}

Test(isa_agreement, softmax_f64)
{
    forward_agreement(true, false);
    cr_log_info("softmax f64: max %llu ulp vs reference", (unsigned long long)worst_softmax_ulp[1]);
}
Test(isa_agreement, log_softmax_f32) { forward_agreement(false, true); }
Test(isa_agreement, log_softmax_f64) { forward_agreement(true, true); }

/* In place (y == x) gives the same bits as out of place. */
Test(isa_agreement, forward_in_place)
{
    tu_rng r = {102};
    for (size_t n = 1; n <= 40000; n = n * 3 + 1) {
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        for (size_t j = 0; j < n; j++) x[j] = (float)tu_uniform(&r, -20, 20);
        simd_table.softmax_f32(n, x, y);
        simd_table.softmax_f32(n, x, x);
        cr_assert(memcmp(x, y, n * sizeof *x) == 0, "softmax in place differs at n=%zu", n);
        free(x);
        free(y);
    }
}

/* The streaming-store forms (used for passes larger than the caches) give
 * the same bits as the regular kernels: every row kind, 1..67 columns and
 * the long lengths, outputs at every offset from a 64-byte boundary (the
 * masked head), in place too, with guard elements on both sides untouched;
 * the cross-entropy rows (ops 5, 6) also give the same loss. */
#define STREAM_GUARD 8
static void stream_agreement(bool f64)
{
    tu_rng r = {f64 ? 131u : 130u};
    size_t max_n = 131072, span = max_n + 2 * STREAM_GUARD + 16;
    double *x = malloc(max_n * sizeof *x), *dy = malloc(max_n * sizeof *dy);
    /* 64-byte aligned buffers so the offsets below are offsets from a boundary
     * (both ISAs stream whole 64-byte lines only) */
    char *in = aligned_alloc(64, span * sizeof(double)), *g = aligned_alloc(64, span * sizeof(double));
    char *got = aligned_alloc(64, span * sizeof(double)), *want = aligned_alloc(64, span * sizeof(double));
    size_t elem = f64 ? sizeof(double) : sizeof(float);
    for (size_t cc = 0; cc < 67 + 3; cc++) {
        size_t n = cc < 67 ? cc + 1 : long_cols[cc - 67];
        for (int kind = 0; kind < ROW_KINDS; kind++) {
            size_t off = STREAM_GUARD + (size_t)(tu_next(&r) % 16); /* elements */
            fill_row(&r, x, n, (enum row_kind)kind, f64 ? DBL_MAX : FLT_MAX);
            for (size_t j = 0; j < n; j++) dy[j] = tu_uniform(&r, -1, 1);
            for (int op = 0; op < 7; op++) {
                double loss1 = 0, loss2 = 0; /* ops 5, 6: cross-entropy */
                size_t t = (size_t)(tu_next(&r) % n);
                memset(got, 0x5a, span * elem);
                memset(want, 0x5a, span * elem);
                if (f64) {
                    double *xi = (double *)in + off, *dyi = (double *)g + off;
                    double *o1 = (double *)got + off, *o2 = (double *)want + off;
                    memcpy(xi, x, n * sizeof *x);
                    memcpy(dyi, dy, n * sizeof *dy);
                    if (op == 2 || op == 3) ref_table.softmax_f64(n, xi, xi); /* y: softmax row */
                    switch (op) {
                    case 0: simd_table.softmax_stream_f64(n, xi, o1); simd_table.softmax_f64(n, xi, o2); break;
                    case 1: simd_table.log_softmax_stream_f64(n, xi, o1); simd_table.log_softmax_f64(n, xi, o2); break;
                    case 2: simd_table.softmax_backward_stream_f64(n, xi, dyi, o1); simd_table.softmax_backward_f64(n, xi, dyi, o2); break;
                    case 3:
                        for (size_t j = 0; j < n; j++) xi[j] = xi[j] > 0 ? log(xi[j]) : -INFINITY;
                        simd_table.log_softmax_backward_stream_f64(n, xi, dyi, o1);
                        simd_table.log_softmax_backward_f64(n, xi, dyi, o2);
                        break;
                    case 4: /* in place */
                        memcpy(o1, xi, n * sizeof *xi);
                        memcpy(o2, xi, n * sizeof *xi);
                        simd_table.softmax_stream_f64(n, o1, o1);
                        simd_table.softmax_f64(n, o2, o2);
                        break;
                    case 5:
                    case 6: { /* cross-entropy gradient; 6: in place */
                        lb_xent_coef_f64 coef = {.target = t, .target_coef = 1.5};
                        memcpy(o1, xi, n * sizeof *xi);
                        memcpy(o2, xi, n * sizeof *xi);
                        loss1 = simd_table.xent_row_stream_f64(n, op == 6 ? o1 : xi, &coef, o1, 0.25);
                        loss2 = simd_table.xent_row_f64(n, op == 6 ? o2 : xi, &coef, o2, 0.25);
                        break;
                    }
                    }
                } else {
                    float *xi = (float *)in + off, *dyi = (float *)g + off;
                    float *o1 = (float *)got + off, *o2 = (float *)want + off;
                    for (size_t j = 0; j < n; j++) xi[j] = (float)x[j], dyi[j] = (float)dy[j];
                    if (op == 2 || op == 3) ref_table.softmax_f32(n, xi, xi);
                    switch (op) {
                    case 0: simd_table.softmax_stream_f32(n, xi, o1); simd_table.softmax_f32(n, xi, o2); break;
                    case 1: simd_table.log_softmax_stream_f32(n, xi, o1); simd_table.log_softmax_f32(n, xi, o2); break;
                    case 2: simd_table.softmax_backward_stream_f32(n, xi, dyi, o1); simd_table.softmax_backward_f32(n, xi, dyi, o2); break;
                    case 3:
                        for (size_t j = 0; j < n; j++) xi[j] = xi[j] > 0 ? logf(xi[j]) : -INFINITY;
                        simd_table.log_softmax_backward_stream_f32(n, xi, dyi, o1);
                        simd_table.log_softmax_backward_f32(n, xi, dyi, o2);
                        break;
                    case 4:
                        memcpy(o1, xi, n * sizeof *xi);
                        memcpy(o2, xi, n * sizeof *xi);
                        simd_table.log_softmax_stream_f32(n, o1, o1);
                        simd_table.log_softmax_f32(n, o2, o2);
                        break;
                    case 5:
                    case 6: {
                        lb_xent_coef_f32 coef = {.target = t, .target_coef = 1.5};
                        memcpy(o1, xi, n * sizeof *xi);
                        memcpy(o2, xi, n * sizeof *xi);
                        loss1 = simd_table.xent_row_stream_f32(n, op == 6 ? o1 : xi, &coef, o1, 0.25);
                        loss2 = simd_table.xent_row_f32(n, op == 6 ? o2 : xi, &coef, o2, 0.25);
                        break;
                    }
                    }
                }
                cr_assert(memcmp(got, want, span * elem) == 0,
                          "%s streaming op %d differs (n=%zu, row kind %d, offset %zu)",
                          f64 ? "f64" : "f32", op, n, kind, off);
                cr_assert(memcmp(&loss1, &loss2, sizeof loss1) == 0 || (isnan(loss1) && isnan(loss2)),
                          "%s streaming op %d: loss %a vs %a (n=%zu, kind %d)", f64 ? "f64" : "f32",
                          op, loss1, loss2, n, kind);
            }
        }
    }
    free(x);
    free(dy);
    free(in);
    free(g);
    free(got);
    free(want);
}
Test(isa_agreement, streaming_stores_f32) { stream_agreement(false); }
Test(isa_agreement, streaming_stores_f64) { stream_agreement(true); }

/* The four-row group kernels give the same bits as four one-row calls:
 * every width the table groups and 20 past it (those rows go one by one),
 * groups mixing every row kind (an edge row makes the group fall back to
 * row by row), ld > n, in place, with the padding between rows untouched. */
Test(isa_agreement, row_groups_match_single_rows)
{
    cr_assert(simd_table.softmax_rows4_f32 && simd_table.log_softmax_rows4_f32);
    size_t widest = simd_table.softmax_rows4_max_cols_f32;
    if (simd_table.log_softmax_rows4_max_cols_f32 > widest) widest = simd_table.log_softmax_rows4_max_cols_f32;
    cr_assert(simd_table.softmax_rows4_max_cols_f32 >= LB_ROW_GROUP_MAX_COLS &&
              simd_table.log_softmax_rows4_max_cols_f32 >= LB_ROW_GROUP_MAX_COLS);
    tu_rng r = {140};
    const size_t n_max = widest + 20, ld_max = n_max + 3;
    double *row = malloc(n_max * sizeof *row);
    float *x = malloc(4 * ld_max * sizeof *x), *got = malloc(4 * ld_max * sizeof *got),
          *want = malloc(4 * ld_max * sizeof *want);
    cr_assert(row && x && got && want);
    for (size_t n = 1; n <= n_max; n++) {
        size_t ld = n + 3, bytes = 4 * ld * sizeof *x;
        int trials = n <= LB_ROW_GROUP_MAX_COLS ? 400 : 40;
        for (int trial = 0; trial < trials; trial++) {
            for (int q = 0; q < 4; q++) {
                /* mostly ordinary rows, so that whole groups take the fast path */
                enum row_kind kind = tu_next(&r) % 3 == 0 ? (enum row_kind)(tu_next(&r) % ROW_KINDS)
                                                          : ROW_UNIFORM;
                fill_row(&r, row, n, kind, FLT_MAX);
                for (size_t j = 0; j < ld; j++) x[q * ld + j] = j < n ? (float)row[j] : -7.0f;
            }
            for (int log_form = 0; log_form < 2; log_form++) {
                for (int in_place = 0; in_place < 2; in_place++) {
                    memcpy(got, x, bytes);
                    memcpy(want, x, bytes);
                    const float *src_got = in_place ? got : x, *src_want = in_place ? want : x;
                    (log_form ? simd_table.log_softmax_rows4_f32 : simd_table.softmax_rows4_f32)(
                        n, src_got, ld, got, ld);
                    for (int q = 0; q < 4; q++)
                        (log_form ? simd_table.log_softmax_f32 : simd_table.softmax_f32)(
                            n, src_want + q * ld, want + q * ld);
                    cr_assert(memcmp(got, want, bytes) == 0,
                              "%s four-row group differs from single rows (n=%zu, trial %d, in place %d)",
                              log_form ? "log_softmax" : "softmax", n, trial, in_place);
                }
            }
        }
    }
    free(row);
    free(x);
    free(got);
    free(want);
}

/* The four-row backward kernels give the same bits as four one-row calls
 * (the _stream ones in odd trials), every width up to 160, then widths
 * around the group paths' limits up to 20 past the widest the table groups
 * (fewer trials there), a NaN now and then, out of place and in place
 * (dx == dy). Log form: y = log-softmax, a -inf now and then. */
typedef void (*backward_group_fn)(size_t n, const float *y, size_t ldy, const float *dy,
                                  size_t lddy, float *dx, size_t lddx, bool stream);
typedef void (*backward_row_fn)(size_t n, const float *y, const float *dy, float *dx);

static void backward_groups_match_single_rows(bool log_form)
{
    backward_group_fn group = log_form ? simd_table.log_softmax_backward_rows4_f32
                                       : simd_table.softmax_backward_rows4_f32;
    const size_t group_max = log_form ? simd_table.log_softmax_backward_rows4_max_cols_f32
                                      : simd_table.softmax_backward_rows4_max_cols_f32;
    backward_row_fn row_fn = log_form ? simd_table.log_softmax_backward_f32 : simd_table.softmax_backward_f32;
    backward_row_fn stream_fn = log_form ? simd_table.log_softmax_backward_stream_f32
                                         : simd_table.softmax_backward_stream_f32;
    if (log_form && !group) cr_skip_test("no log-softmax backward group in this kernel set");
    cr_assert(group);
    if (!log_form) cr_assert(group_max >= LB_ROW_GROUP_MAX_COLS);
    tu_rng r = {log_form ? 145u : 142u};
    const size_t n_max = group_max + 20, ld_max = n_max + 3;
    double *row = malloc(n_max * sizeof *row);
    float *y = malloc(4 * ld_max * sizeof *y), *dy = malloc(4 * ld_max * sizeof *dy),
          *got = malloc(4 * ld_max * sizeof *got), *want = malloc(4 * ld_max * sizeof *want);
    cr_assert(row && y && dy && got && want);
    size_t widths[256], count = 0;
    for (size_t n = 1; n <= n_max && n <= 160; n++) widths[count++] = n;
    for (size_t n = 178; n + 1 < group_max; n += 1 + n / 9) widths[count++] = n;
    const size_t edges[] = {group_max - 1, group_max, group_max + 1, n_max};
    for (int k = 0; k < 4; k++)
        if (edges[k] > 160) widths[count++] = edges[k];
    for (size_t w = 0; w < count; w++) {
        size_t n = widths[w], ld = n + 3, bytes = 4 * ld * sizeof *y;
        for (int trial = 0; trial < (n <= 160 ? 300 : 24); trial++) {
            for (int q = 0; q < 4; q++) {
                fill_row(&r, row, n, ROW_UNIFORM, 0);
                for (size_t j = 0; j < ld; j++) {
                    y[q * ld + j] = j < n ? (float)row[j] : 9.0f;
                    dy[q * ld + j] = j < n ? (float)tu_uniform(&r, -1, 1) * (trial % 5 ? 1.0f : 1e30f) : 5.0f;
                }
                if (log_form) {
                    if (trial % 11 == 5) y[q * ld + (size_t)(tu_next(&r) % n)] = -INFINITY;
                    ref_table.log_softmax_f32(n, y + q * ld, y + q * ld);
                } else {
                    ref_table.softmax_f32(n, y + q * ld, y + q * ld);
                }
            }
            if (trial % 7 == 3) dy[(size_t)(tu_next(&r) % 4) * ld + (size_t)(tu_next(&r) % n)] = NAN;
            for (int in_place = 0; in_place < 2; in_place++) {
                bool stream = trial % 2 == 1;
                memcpy(got, dy, bytes);
                memcpy(want, dy, bytes);
                group(n, y, ld, in_place ? got : dy, ld, got, ld, stream);
                for (int q = 0; q < 4; q++)
                    (stream ? stream_fn : row_fn)(n, y + q * ld, (in_place ? want : dy) + q * ld, want + q * ld);
                cr_assert(memcmp(got, want, bytes) == 0,
                          "%s backward group differs (n=%zu, trial %d, in place %d, stream %d)",
                          log_form ? "log-softmax" : "softmax", n, trial, in_place, stream);
            }
        }
    }
    free(row);
    free(y);
    free(dy);
    free(got);
    free(want);
}

Test(isa_agreement, backward_row_groups_match_single_rows) { backward_groups_match_single_rows(false); }
Test(isa_agreement, log_backward_row_groups_match_single_rows) { backward_groups_match_single_rows(true); }

/* The four-row cross-entropy kernel gives the same losses and gradient bits
 * as four xent_row calls: plain rows of every width the table groups and 20
 * past it, every row kind mixed in, random targets (the first and last
 * entries among them) and coefficients, gradient out of place, in place
 * (grad == logits) and absent. */
Test(isa_agreement, xent_row_groups_match_single_rows)
{
    cr_assert(simd_table.xent_plain_rows4_f32);
    cr_assert(simd_table.xent_plain_rows4_max_cols_f32 >= LB_ROW_GROUP_MAX_COLS);
    tu_rng r = {141};
    const size_t n_max = simd_table.xent_plain_rows4_max_cols_f32 + 20, ld_max = n_max + 2;
    double *row = malloc(n_max * sizeof *row);
    float *x = malloc(4 * ld_max * sizeof *x), *got = malloc(4 * ld_max * sizeof *got),
          *want = malloc(4 * ld_max * sizeof *want);
    cr_assert(row && x && got && want);
    for (size_t n = 1; n <= n_max; n++) {
        size_t ld = n + 2, bytes = 4 * ld * sizeof *x;
        int trials = n <= LB_ROW_GROUP_MAX_COLS ? 300 : 30;
        for (int trial = 0; trial < trials; trial++) {
            size_t targets[4];
            double coefs[4], loss_got[4], loss_want[4];
            for (int q = 0; q < 4; q++) {
                enum row_kind kind = tu_next(&r) % 3 == 0 ? (enum row_kind)(tu_next(&r) % ROW_KINDS)
                                                          : ROW_UNIFORM;
                fill_row(&r, row, n, kind, FLT_MAX);
                for (size_t j = 0; j < ld; j++) x[q * ld + j] = j < n ? (float)row[j] : -7.0f;
                uint64_t pick = tu_next(&r) % 8;
                targets[q] = pick == 0 ? 0 : pick == 1 ? n - 1 : (size_t)(tu_next(&r) % n);
                coefs[q] = tu_next(&r) % 2 ? 1.0 : tu_uniform(&r, 0, 3);
            }
            for (int mode = 0; mode < 3; mode++) { /* out of place, in place, loss only */
                memcpy(got, x, bytes);
                memcpy(want, x, bytes);
                const float *src_got = mode == 1 ? got : x, *src_want = mode == 1 ? want : x;
                simd_table.xent_plain_rows4_f32(n, src_got, ld, targets, coefs,
                                                mode == 2 ? NULL : got, ld, -0.25, loss_got);
                for (int q = 0; q < 4; q++) {
                    lb_xent_coef_f32 coef = {.target = targets[q], .target_coef = coefs[q]};
                    loss_want[q] = simd_table.xent_row_f32(n, src_want + q * ld, &coef,
                                                           mode == 2 ? NULL : want + q * ld, -0.25);
                }
                for (int q = 0; q < 4; q++)
                    cr_assert(memcmp(&loss_got[q], &loss_want[q], sizeof(double)) == 0 ||
                                  (isnan(loss_got[q]) && isnan(loss_want[q])),
                              "group loss differs (n=%zu, trial %d, row %d)", n, trial, q);
                cr_assert(memcmp(got, want, bytes) == 0,
                          "group gradient differs (n=%zu, trial %d, mode %d)", n, trial, mode);
            }
        }
    }
    free(row);
    free(x);
    free(got);
    free(want);
}

/* ------------------------------------------------------------------------ */
/* Backward                                                                 */
/* ------------------------------------------------------------------------ */

static void backward_agreement(bool f64, bool log_form)
{
    tu_rng r = {f64 ? 111u : 110u};
    double u = f64 ? 0x1p-53 : 0x1p-24;
    size_t max_n = 131072;
    double *y = malloc(max_n * sizeof *y), *dy = malloc(max_n * sizeof *dy);
    double *got = malloc(max_n * sizeof *got), *want = malloc(max_n * sizeof *want);
    float *yf = malloc(max_n * sizeof *yf), *dyf = malloc(max_n * sizeof *dyf);
    float *gf = malloc(max_n * sizeof *gf), *wf = malloc(max_n * sizeof *wf);
    for (size_t cc = 0; cc < 67 + 3; cc++) {
        size_t n = cc < 67 ? cc + 1 : long_cols[cc - 67];
        for (int rep = 0; rep < 3; rep++) {
            /* y: a softmax output (or its log), dy: mixed-sign upstream */
            fill_row(&r, y, n, rep == 2 ? ROW_WIDE : ROW_UNIFORM, 0);
            if (f64) ref_table.softmax_f64(n, y, y);
            else {
                for (size_t j = 0; j < n; j++) yf[j] = (float)y[j];
                ref_table.softmax_f32(n, yf, yf);
                for (size_t j = 0; j < n; j++) y[j] = yf[j];
            }
            if (log_form)
                for (size_t j = 0; j < n; j++) y[j] = y[j] > 0 ? log(y[j]) : -INFINITY;
            for (size_t j = 0; j < n; j++) dy[j] = tu_uniform(&r, -1, 1) * (rep == 1 ? 1e3 : 1);
            if (!f64)
                for (size_t j = 0; j < n; j++) {
                    yf[j] = (float)y[j];
                    dyf[j] = (float)dy[j];
                    y[j] = yf[j];
                    dy[j] = dyf[j];
                }
            double abs_dot = 0, abs_sum = 0;
            for (size_t j = 0; j < n; j++) {
                abs_dot += fabs((log_form ? 1.0 : y[j]) * dy[j]);
                abs_sum += fabs(dy[j]);
            }
            if (f64) {
                (log_form ? simd_table.log_softmax_backward_f64 : simd_table.softmax_backward_f64)(n, y, dy, got);
                (log_form ? ref_table.log_softmax_backward_f64 : ref_table.softmax_backward_f64)(n, y, dy, want);
            } else {
                (log_form ? simd_table.log_softmax_backward_f32 : simd_table.softmax_backward_f32)(n, yf, dyf, gf);
                (log_form ? ref_table.log_softmax_backward_f32 : ref_table.softmax_backward_f32)(n, yf, dyf, wf);
                for (size_t j = 0; j < n; j++) {
                    got[j] = gf[j];
                    want[j] = wf[j];
                }
            }
            for (size_t j = 0; j < n; j++) {
                double scale = log_form ? fabs(dy[j]) + exp(y[j]) * abs_sum
                                        : fabs(y[j]) * (fabs(dy[j]) + abs_dot);
                cr_assert(fabs(got[j] - want[j]) <= 16 * u * scale + (f64 ? 0x1p-1074 : 0x1p-149),
                          "%s %s backward n=%zu j=%zu: %.17g vs %.17g", f64 ? "f64" : "f32",
                          log_form ? "log_softmax" : "softmax", n, j, got[j], want[j]);
            }
        }
    }
    free(y);
    free(dy);
    free(got);
    free(want);
    free(yf);
    free(dyf);
    free(gf);
    free(wf);
}

Test(isa_agreement, softmax_backward_f32) { backward_agreement(false, false); }
Test(isa_agreement, softmax_backward_f64) { backward_agreement(true, false); }
Test(isa_agreement, log_softmax_backward_f32) { backward_agreement(false, true); }
Test(isa_agreement, log_softmax_backward_f64) { backward_agreement(true, true); }

/* ------------------------------------------------------------------------ */
/* Cross-entropy rows                                                       */
/* ------------------------------------------------------------------------ */

static void xent_agreement(bool f64)
{
    tu_rng r = {f64 ? 121u : 120u};
    double u = f64 ? 0x1p-53 : 0x1p-24, rel = f64 ? 1e-12 : 1e-6;
    double largest = f64 ? DBL_MAX : FLT_MAX;
    size_t max_n = 131072;
    double *x = malloc(max_n * sizeof *x), *got = malloc(max_n * sizeof *got),
           *want = malloc(max_n * sizeof *want);
    float *xf = malloc(max_n * sizeof *xf), *gf = malloc(max_n * sizeof *gf),
          *wf = malloc(max_n * sizeof *wf);
    const double weights[4] = {1.0, 0.0, 2.5, 0.3}; /* target_coef = w_t */
    FOR_EACH_ROW({
        fill_row(&r, x, n, (enum row_kind)kind, largest);
        size_t target = (size_t)(tu_next(&r) % n);
        if (kind == ROW_DOMINANT) /* the dominant entry is the target: tiny loss */
            for (size_t j = 0; j < n; j++)
                if (x[j] == 70) target = j;
        double w = weights[tu_next(&r) % 4];
        double grad_mul = tu_uniform(&r, 0.1, 2);
        double loss_got, loss_want;
        bool with_grad = tu_next(&r) % 4 != 0;
        if (f64) {
            lb_xent_coef_f64 coef = {.target = target, .target_coef = w};
            loss_got = simd_table.xent_row_f64(n, x, &coef, with_grad ? got : NULL, grad_mul);
            loss_want = ref_table.xent_row_f64(n, x, &coef, with_grad ? want : NULL, grad_mul);
        } else {
            for (size_t j = 0; j < n; j++) {
                xf[j] = (float)x[j];
                x[j] = xf[j];
            }
            lb_xent_coef_f32 coef = {.target = target, .target_coef = w};
            loss_got = simd_table.xent_row_f32(n, xf, &coef, with_grad ? gf : NULL, grad_mul);
            loss_want = ref_table.xent_row_f32(n, xf, &coef, with_grad ? wf : NULL, grad_mul);
            for (size_t j = 0; with_grad && j < n; j++) {
                got[j] = gf[j];
                want[j] = wf[j];
            }
        }
        /* the reference's log(s) loses a tiny loss; compare those in absolute
         * terms against the scale of log s */
        bool tiny = fabs(loss_want) < 1e-3;
        cr_assert(same_special(loss_got, loss_want) || (tiny && isfinite(loss_got)),
                  "%s xent n=%zu kind %d: loss %g vs %g", f64 ? "f64" : "f32", n, kind, loss_got,
                  loss_want);
        if (isfinite(loss_want))
            cr_assert(fabs(loss_got - loss_want) <= rel * (tiny ? w + 1e-300 : fabs(loss_want)),
                      "%s xent n=%zu kind %d: loss %.17g vs %.17g", f64 ? "f64" : "f32", n, kind,
                      loss_got, loss_want);
        for (size_t j = 0; with_grad && j < n; j++) {
            cr_assert(same_special(got[j], want[j]) || fabs(got[j] - want[j]) <= 8 * u * w * grad_mul,
                      "%s xent grad n=%zu kind %d j=%zu: %g vs %g", f64 ? "f64" : "f32", n, kind,
                      j, got[j], want[j]);
            if (isfinite(want[j]))
                cr_assert(fabs(got[j] - want[j]) <= 8 * u * (fabs(want[j]) + w) * grad_mul,
                          "%s xent grad n=%zu kind %d j=%zu: %.17g vs %.17g",
                          f64 ? "f64" : "f32", n, kind, j, got[j], want[j]);
        }
    })
    free(x);
    free(got);
    free(want);
    free(xf);
    free(gf);
    free(wf);
}

Test(isa_agreement, xent_row_f32) { xent_agreement(false); }
Test(isa_agreement, xent_row_f64) { xent_agreement(true); }

/* Long rows go in chunks (rows_avx2.h): each chunk's exp is taken against its
 * own maximum and rescaled at the end. Rows whose chunks sit at different
 * heights: level 0 (the maximum), -50, -95 (a subnormal factor: outputs
 * within the subnormal tolerance), -200 (a factor of 0), all -inf, and the maximum in the last
 * chunk; lengths with a short last chunk and one past LB_LONG_MAX_CHUNKS
 * chunks (longer chunks). Softmax against the reference (3 ulp, as above),
 * in place too; cross-entropy with the target at chunk edges, gradient in
 * place; a NaN or +inf in the last chunk after earlier chunks were written. */
static void fill_chunked_row(tu_rng *r, float *x, size_t n, size_t chunk, int pattern)
{
    static const double levels[2][6] = {{0, -50, -95, -200, -INFINITY, -20},
                                        {-30, -95, -INFINITY, -10, -50, 0}};
    for (size_t j = 0; j < n; j++) {
        double level = levels[pattern][(j / chunk) % 6];
        x[j] = level == -INFINITY ? -INFINITY : (float)(level + tu_uniform(r, -10, 10));
    }
}

Test(isa_agreement, long_rows_in_chunks_f32)
{
    tu_rng r = {140};
    const size_t lengths[] = {5 * LB_LONG_CHUNK + 37, (size_t)LB_LONG_CHUNK * LB_LONG_MAX_CHUNKS + 1001};
    for (int li = 0; li < 2; li++) {
        size_t n = lengths[li];
        size_t chunk = n > (size_t)LB_LONG_CHUNK * LB_LONG_MAX_CHUNKS
                           ? ((n + LB_LONG_MAX_CHUNKS - 1) / LB_LONG_MAX_CHUNKS + 15) / 16 * 16
                           : LB_LONG_CHUNK;
        float *x = malloc(n * sizeof *x), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        double *xd = malloc(n * sizeof *xd), *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
        for (int pattern = 0; pattern < 2; pattern++) {
            fill_chunked_row(&r, x, n, chunk, pattern);
            simd_table.softmax_f32(n, x, a);
            ref_table.softmax_f32(n, x, b);
            for (size_t j = 0; j < n; j++) {
                xd[j] = x[j];
                got[j] = a[j];
                want[j] = b[j];
            }
            check_softmax(false, n, xd, got, want, 100 + pattern);
            memcpy(b, x, n * sizeof *x);
            simd_table.softmax_f32(n, b, b);
            cr_assert(memcmp(a, b, n * sizeof *a) == 0, "chunked softmax in place differs, n=%zu", n);

            /* cross-entropy: target at a chunk's first and last entry, the
             * row's last entry; with and without the gradient, in place */
            const size_t targets[] = {chunk, 2 * chunk - 1, n - 1, 3};
            for (int ti = 0; ti < 4; ti++) {
                lb_xent_coef_f32 coef = {.target = targets[ti], .target_coef = 1.5};
                double gm = 0.75;
                double lw = ref_table.xent_row_f32(n, x, &coef, b, gm);
                double lg = simd_table.xent_row_f32(n, x, &coef, a, gm);
                double ln = simd_table.xent_row_f32(n, x, &coef, NULL, gm);
                cr_assert(fabs(lg - lw) <= 1e-6 * fabs(lw) && lg == ln,
                          "chunked xent n=%zu t=%zu: loss %.9g vs %.9g (loss only %.9g)", n,
                          targets[ti], lg, lw, ln);
                for (size_t j = 0; j < n; j++)
                    cr_assert(fabs((double)a[j] - b[j]) <= 0x1p-24 * 8 * (fabs(b[j]) + 1.5) * gm,
                              "chunked xent grad n=%zu t=%zu j=%zu: %a vs %a", n, targets[ti], j,
                              a[j], b[j]);
                memcpy(b, x, n * sizeof *x);
                double li_loss = simd_table.xent_row_f32(n, b, &coef, b, gm);
                cr_assert(li_loss == lg && memcmp(a, b, n * sizeof *a) == 0,
                          "chunked xent in place differs, n=%zu t=%zu", n, targets[ti]);
            }
        }
        /* a NaN, then +inf, in the last chunk: every output NaN, also in place */
        for (int bad = 0; bad < 2; bad++) {
            fill_chunked_row(&r, x, n, chunk, 0);
            x[n - 2] = bad ? INFINITY : NAN;
            memcpy(b, x, n * sizeof *x);
            simd_table.softmax_f32(n, b, b);
            for (size_t j = 0; j < n; j++) cr_assert(isnan(b[j]), "softmax bad row j=%zu: %g", j, b[j]);
            lb_xent_coef_f32 coef = {.target = 5, .target_coef = 1.0};
            float lw_grad0;
            ref_table.xent_row_f32(n, x, &coef, a, 1.0);
            lw_grad0 = a[0];
            double lw = ref_table.xent_row_f32(n, x, &coef, NULL, 1.0);
            memcpy(b, x, n * sizeof *x);
            double lg = simd_table.xent_row_f32(n, b, &coef, b, 1.0);
            cr_assert(same_special(lg, lw) && same_special(b[0], lw_grad0),
                      "xent bad row: loss %g vs %g, grad[0] %g vs %g", lg, lw, b[0], lw_grad0);
            for (size_t j = 0; j < n; j++)
                cr_assert(same_special(b[j], a[j]), "xent bad row j=%zu: %g vs %g", j, b[j], a[j]);
        }
        free(x);
        free(a);
        free(b);
        free(xd);
        free(got);
        free(want);
    }
}

/* General coefficients (class weights with zeros, label smoothing, dense
 * targets with zeros) on every row kind and size: the loss within 1e-6 /
 * 1e-12 relative (a tiny loss: relative to A), the gradient within
 * 8 u (p_j A (1 + e_s / 4) + |a_j|) |grad_mul|, e_s = min(n, 256) + n / 256 the
 * reference's blocked-sum error bound on s (the two sum in different orders),
 * plus 8 u of the largest a_k |grad_mul| in f32 (a_j is formed in float
 * there); special values of the same kind. */
static void general_xent_agreement(bool f64)
{
    tu_rng r = {f64 ? 125u : 124u};
    double u = f64 ? 0x1p-53 : 0x1p-24, rel = f64 ? 1e-12 : 1e-6;
    double largest = f64 ? DBL_MAX : FLT_MAX;
    size_t max_n = 131072;
    double *x = malloc(max_n * sizeof *x), *got = malloc(max_n * sizeof *got),
           *want = malloc(max_n * sizeof *want), *w = malloc(max_n * sizeof *w),
           *t = malloc(max_n * sizeof *t), *p = malloc(max_n * sizeof *p);
    float *xf = malloc(max_n * sizeof *xf), *gf = malloc(max_n * sizeof *gf),
          *wf = malloc(max_n * sizeof *wf), *weights_f = malloc(max_n * sizeof *weights_f),
          *targets_f = malloc(max_n * sizeof *targets_f);
    int checked = 0;
    FOR_EACH_ROW({
        for (int form = 0; form < 3; form++) { /* sparse+weights, sparse, dense(+weights) */
            fill_row(&r, x, n, (enum row_kind)kind, largest);
            size_t target = (size_t)(tu_next(&r) % n);
            if (kind == ROW_DOMINANT)
                for (size_t j = 0; j < n; j++)
                    if (x[j] == 70) target = j;
            bool weighted = form != 1 && tu_next(&r) % 3 != 0;
            double eps = form == 2 && tu_next(&r) % 2 ? 0.0 : tu_uniform(&r, 0.01, 0.5);
            for (size_t j = 0; j < n; j++) {
                w[j] = tu_next(&r) % 5 == 0 ? 0.0 : tu_uniform(&r, 0.1, 3); /* some zeros */
                t[j] = tu_next(&r) % 3 == 0 ? 0.0 : tu_uniform(&r, 0, 1);
                if (!f64) {
                    w[j] = (float)w[j];
                    t[j] = (float)t[j];
                    weights_f[j] = (float)w[j];
                    targets_f[j] = (float)t[j];
                }
            }
            double grad_mul = tu_uniform(&r, 0.1, 2) * (tu_next(&r) % 2 ? 1 : -1);
            bool with_grad = tu_next(&r) % 4 != 0;
            double tc = 1.0 - eps, sc = eps / (double)n;
            double loss_got, loss_want;
            if (f64) {
                lb_xent_coef_f64 coef = {.dense_targets = form == 2 ? t : NULL, .target = target,
                                         .weights = weighted ? w : NULL, .target_coef = tc,
                                         .smooth_coef = sc};
                loss_got = simd_table.xent_row_f64(n, x, &coef, with_grad ? got : NULL, grad_mul);
                loss_want = ref_table.xent_row_f64(n, x, &coef, with_grad ? want : NULL, grad_mul);
            } else {
                for (size_t j = 0; j < n; j++) {
                    xf[j] = (float)x[j];
                    x[j] = xf[j];
                }
                lb_xent_coef_f32 coef = {.dense_targets = form == 2 ? targets_f : NULL,
                                         .target = target, .weights = weighted ? weights_f : NULL,
                                         .target_coef = tc, .smooth_coef = sc};
                loss_got = simd_table.xent_row_f32(n, xf, &coef, with_grad ? gf : NULL, grad_mul);
                loss_want = ref_table.xent_row_f32(n, xf, &coef, with_grad ? wf : NULL, grad_mul);
                for (size_t j = 0; with_grad && j < n; j++) {
                    got[j] = gf[j];
                    want[j] = wf[j];
                }
            }
            /* a_j, A and p_j (long double softmax) for the bounds */
            double A = 0, a_max = 0;
            for (size_t j = 0; j < n; j++) {
                double tj = form == 2 ? t[j] : (double)(j == target);
                double a = (weighted ? w[j] : 1.0) * (tc * tj + sc);
                A += a;
                a_max = fmax(a_max, a);
            }
            bool tiny = fabs(loss_want) < 1e-3;
            cr_assert(same_special(loss_got, loss_want) || (tiny && isfinite(loss_got)),
                      "%s general xent n=%zu kind %d form %d: loss %g vs %g", f64 ? "f64" : "f32",
                      n, kind, form, loss_got, loss_want);
            if (isfinite(loss_want))
                cr_assert(fabs(loss_got - loss_want) <= rel * (tiny ? A + 1e-300 : fabs(loss_want)),
                          "%s general xent n=%zu kind %d form %d: loss %.17g vs %.17g",
                          f64 ? "f64" : "f32", n, kind, form, loss_got, loss_want);
            if (!with_grad) continue;
            bool finite_row = true;
            for (size_t j = 0; j < n; j++) finite_row &= !isnan(x[j]) && x[j] != INFINITY;
            if (finite_row) {
                long double *ld = malloc(n * sizeof *ld);
                tu_softmax_ld(n, x, ld);
                for (size_t j = 0; j < n; j++) p[j] = isnan((double)ld[j]) ? 0.0 : (double)ld[j];
                free(ld);
            }
            for (size_t j = 0; j < n; j++) {
                double tj = form == 2 ? t[j] : (double)(j == target);
                double a = (weighted ? w[j] : 1.0) * (tc * tj + sc);
                /* the reference's own blocked-sum bound on s enters p_j A */
                double sum_error = (double)(n < 256 ? n : 256) + (double)n / 256;
                double scale = finite_row ? p[j] * A * (1 + sum_error / 4) + a : 0.0;
                double slack = f64 ? 0.0 : 8 * u * a_max * fabs(grad_mul);
                cr_assert(same_special(got[j], want[j]) ||
                              fabs(got[j] - want[j]) <= 8 * u * scale * fabs(grad_mul) + slack,
                          "%s general xent grad n=%zu kind %d form %d j=%zu: %g vs %g",
                          f64 ? "f64" : "f32", n, kind, form, j, got[j], want[j]);
                if (isfinite(want[j]))
                    cr_assert(fabs(got[j] - want[j]) <= 8 * u * scale * fabs(grad_mul) + slack +
                                                             (f64 ? 0x1p-1074 : 0x1p-149),
                              "%s general xent grad n=%zu kind %d form %d j=%zu: %.17g vs %.17g",
                              f64 ? "f64" : "f32", n, kind, form, j, got[j], want[j]);
            }
            checked++;
        }
    })
    cr_log_info("%s general cross-entropy: %d rows checked", f64 ? "f64" : "f32", checked);
    free(x);
    free(got);
    free(want);
    free(w);
    free(t);
    free(p);
    free(xf);
    free(gf);
    free(wf);
    free(weights_f);
    free(targets_f);
}

Test(isa_agreement, xent_general_coefficients_f32) { general_xent_agreement(false); }
Test(isa_agreement, xent_general_coefficients_f64) { general_xent_agreement(true); }

/* General coefficients in place (grad == x) equal out of place, bitwise. */
Test(isa_agreement, xent_general_in_place)
{
    tu_rng r = {126};
    for (size_t n = 1; n <= 50000; n = n * 4 + 3) {
        float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *w = malloc(n * sizeof *w),
              *t = malloc(n * sizeof *t);
        for (size_t j = 0; j < n; j++) {
            x[j] = (float)tu_uniform(&r, -20, 20);
            w[j] = (float)tu_uniform(&r, 0, 2);
            t[j] = (float)tu_uniform(&r, 0, 1);
        }
        lb_xent_coef_f32 cases[2] = {
            {.target = n / 2, .weights = w, .target_coef = 0.9, .smooth_coef = 0.1 / (double)n},
            {.dense_targets = t, .weights = w, .target_coef = 1.0}};
        for (int k = 0; k < 2; k++) {
            float *xc = malloc(n * sizeof *xc);
            memcpy(xc, x, n * sizeof *x);
            double a = simd_table.xent_row_f32(n, x, &cases[k], g, 1.0);
            double b = simd_table.xent_row_f32(n, xc, &cases[k], xc, 1.0);
            cr_assert(a == b && memcmp(xc, g, n * sizeof *x) == 0, "in place differs at n=%zu case %d",
                      n, k);
            free(xc);
        }
        free(x);
        free(g);
        free(w);
        free(t);
    }
}

/* In place: grad == x. */
Test(isa_agreement, xent_in_place)
{
    tu_rng r = {123};
    for (size_t n = 1; n <= 50000; n = n * 4 + 3) {
        float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g);
        for (size_t j = 0; j < n; j++) x[j] = (float)tu_uniform(&r, -20, 20);
        lb_xent_coef_f32 coef = {.target = n / 2, .target_coef = 1.0};
        double a = simd_table.xent_row_f32(n, x, &coef, g, 1.0);
        double b = simd_table.xent_row_f32(n, x, &coef, x, 1.0);
        cr_assert(a == b && memcmp(x, g, n * sizeof *x) == 0, "in place differs at n=%zu", n);
        free(x);
        free(g);
    }
}

/* ------------------------------------------------------------------------ */
/* Jacobian and regression rows                                             */
/* ------------------------------------------------------------------------ */

Test(isa_agreement, jacobian_full_bitwise)
{
    tu_rng r = {130};
    const size_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 64, 67, 100, 600};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        float *y = malloc(n * sizeof *y), *a = malloc(n * n * sizeof *a), *b = malloc(n * n * sizeof *b);
        double *yd = malloc(n * sizeof *yd), *ad = malloc(n * n * sizeof *ad),
               *bd = malloc(n * n * sizeof *bd);
        for (size_t j = 0; j < n; j++) yd[j] = y[j] = (float)tu_uniform(&r, 0, 1);
        simd_table.jacobian_full_f32(n, y, a);
        ref_table.jacobian_full_f32(n, y, b);
        cr_assert(memcmp(a, b, n * n * sizeof *a) == 0, "f32 jacobian differs at n=%zu", n);
        /* offset by one element: the streaming path's unaligned head */
        simd_table.jacobian_full_f64(n, yd, ad);
        ref_table.jacobian_full_f64(n, yd, bd);
        cr_assert(memcmp(ad, bd, n * n * sizeof *ad) == 0, "f64 jacobian differs at n=%zu", n);
        free(y);
        free(a);
        free(b);
        free(yd);
        free(ad);
        free(bd);
    }
}

Test(isa_agreement, jacobian_streaming_unaligned)
{
    /* 600^2 floats is above the streaming threshold; start at an odd offset */
    tu_rng r = {131};
    size_t n = 600;
    float *y = malloc(n * sizeof *y), *a = malloc((n * n + 1) * sizeof *a),
          *b = malloc(n * n * sizeof *b);
    for (size_t j = 0; j < n; j++) y[j] = (float)tu_uniform(&r, 0, 1);
    simd_table.jacobian_full_f32(n, y, a + 1);
    ref_table.jacobian_full_f32(n, y, b);
    cr_assert(memcmp(a + 1, b, n * n * sizeof *b) == 0);
    free(y);
    free(a);
    free(b);
}

static void regression_agreement(bool f64, bool squared)
{
    tu_rng r = {f64 ? 141u : 140u};
    size_t max_n = 4099;
    double *p = malloc(max_n * sizeof *p), *t = malloc(max_n * sizeof *t);
    /* the kernel outputs 32-byte aligned, so the streaming stores are used */
    size_t bytes64 = (max_n * sizeof(double) + 31) / 32 * 32;
    size_t bytes32 = (max_n * sizeof(float) + 31) / 32 * 32;
    double *l1 = aligned_alloc(32, bytes64), *l2 = malloc(max_n * sizeof *l2);
    double *d1 = aligned_alloc(32, bytes64), *d2 = malloc(max_n * sizeof *d2);
    float *pf = malloc(max_n * sizeof *pf), *tf = malloc(max_n * sizeof *tf);
    float *l1f = aligned_alloc(32, bytes32), *l2f = malloc(max_n * sizeof *l2f);
    float *d1f = aligned_alloc(32, bytes32), *d2f = malloc(max_n * sizeof *d2f);
    for (size_t cc = 0; cc < 67 + 2; cc++) {
        size_t n = cc < 67 ? cc + 1 : long_cols[cc - 67];
        for (size_t j = 0; j < n; j++) {
            p[j] = tu_uniform(&r, -3, 3);
            t[j] = j % 5 == 0 ? p[j] : tu_uniform(&r, -3, 3); /* e == 0 entries */
            pf[j] = (float)p[j];
            tf[j] = (float)t[j];
        }
        if (n > 3) {
            p[n / 2] = pf[n / 2] = NAN;
            t[n / 3] = tf[n / 3] = INFINITY;
        }
        double mul = 1.0 / 3.0, s1, s2;
        bool nan_expected = n > 3;
        if (f64) {
            s1 = (squared ? simd_table.mse_row_f64 : simd_table.mae_row_f64)(n, p, t, l1, d1, mul, n % 2 == 0);
            s2 = (squared ? ref_table.mse_row_f64 : ref_table.mae_row_f64)(n, p, t, l2, d2, mul, false);
            cr_assert(memcmp(l1, l2, n * sizeof *l1) == 0, "f64 losses differ at n=%zu", n);
            for (size_t j = 0; j < n; j++)
                cr_assert(d1[j] == d2[j] || (isnan(d1[j]) && isnan(d2[j])),
                          "f64 derivative differs at n=%zu j=%zu", n, j);
        } else {
            s1 = (squared ? simd_table.mse_row_f32 : simd_table.mae_row_f32)(n, pf, tf, l1f, d1f, mul, n % 2 == 0);
            s2 = (squared ? ref_table.mse_row_f32 : ref_table.mae_row_f32)(n, pf, tf, l2f, d2f, mul, false);
            for (size_t j = 0; j < n; j++) {
                cr_assert(l1f[j] == l2f[j] || (isnan(l1f[j]) && isnan(l2f[j])),
                          "f32 loss differs at n=%zu j=%zu", n, j);
                cr_assert(d1f[j] == d2f[j] || (isnan(d1f[j]) && isnan(d2f[j])),
                          "f32 derivative differs at n=%zu j=%zu: %a vs %a", n, j, d1f[j], d2f[j]);
            }
        }
        if (nan_expected) cr_assert(isnan(s1) && isnan(s2));
        else cr_assert(fabs(s1 - s2) <= 1e-12 * fabs(s2), "row sums %.17g vs %.17g", s1, s2);
        /* the same row without NaN/inf: finite sums agree */
        if (n > 3) {
            p[n / 2] = pf[n / 2] = 1;
            t[n / 3] = tf[n / 3] = 2;
            s1 = f64 ? (squared ? simd_table.mse_row_f64 : simd_table.mae_row_f64)(n, p, t, NULL, NULL, mul, false)
                     : (squared ? simd_table.mse_row_f32 : simd_table.mae_row_f32)(n, pf, tf, NULL, NULL, mul, false);
            s2 = f64 ? (squared ? ref_table.mse_row_f64 : ref_table.mae_row_f64)(n, p, t, NULL, NULL, mul, false)
                     : (squared ? ref_table.mse_row_f32 : ref_table.mae_row_f32)(n, pf, tf, NULL, NULL, mul, false);
            cr_assert(fabs(s1 - s2) <= 1e-12 * fabs(s2), "row sums %.17g vs %.17g", s1, s2);
        }
    }
    free(p); free(t); free(l1); free(l2); free(d1); free(d2);
    free(pf); free(tf); free(l1f); free(l2f); free(d1f); free(d2f);
}

/* Streaming stores from every offset within a 64-byte line, the loss and
 * derivative outputs at equal and at different offsets (the AVX-512 kernel
 * streams whole aligned vectors after a masked head, or nothing when the two
 * outputs are not aligned alike): element outputs bitwise equal. */
static void regression_streaming_offsets(bool squared)
{
    tu_rng r = {142};
    size_t n = 1000, cap = n + 40; /* cap: a multiple of 16 floats, as aligned_alloc needs */
    float *p = malloc(n * sizeof *p), *t = malloc(n * sizeof *t);
    float *l1 = aligned_alloc(64, cap * sizeof *l1), *d1 = aligned_alloc(64, cap * sizeof *d1);
    float *l2 = malloc(n * sizeof *l2), *d2 = malloc(n * sizeof *d2);
    for (size_t j = 0; j < n; j++) {
        p[j] = (float)tu_uniform(&r, -3, 3);
        t[j] = j % 7 == 0 ? p[j] : (float)tu_uniform(&r, -3, 3);
    }
    double s2 = (squared ? ref_table.mse_row_f32 : ref_table.mae_row_f32)(n, p, t, l2, d2, 0.25, false);
    for (size_t off_l = 0; off_l < 16; off_l++) {
        for (size_t off_d = off_l; off_d < off_l + 2; off_d++) {
            memset(l1, 0x5a, cap * sizeof *l1);
            memset(d1, 0x5a, cap * sizeof *d1);
            double s1 = (squared ? simd_table.mse_row_f32 : simd_table.mae_row_f32)(
                n, p, t, l1 + off_l, d1 + off_d, 0.25, true);
            cr_assert(memcmp(l1 + off_l, l2, n * sizeof *l2) == 0, "losses differ at offset %zu", off_l);
            cr_assert(memcmp(d1 + off_d, d2, n * sizeof *d2) == 0, "derivatives differ at offset %zu", off_d);
            for (size_t j = 0; j < off_l; j++) cr_assert(((uint32_t *)l1)[j] == 0x5a5a5a5au);
            for (size_t j = off_l + n; j < cap; j++) cr_assert(((uint32_t *)l1)[j] == 0x5a5a5a5au);
            for (size_t j = off_d + n; j < cap; j++) cr_assert(((uint32_t *)d1)[j] == 0x5a5a5a5au);
            cr_assert(fabs(s1 - s2) <= 1e-12 * fabs(s2), "row sums %.17g vs %.17g", s1, s2);
        }
    }
    free(p); free(t); free(l1); free(l2); free(d1); free(d2);
}

Test(isa_agreement, mse_row_f32_streaming_offsets) { regression_streaming_offsets(true); }
Test(isa_agreement, mae_row_f32_streaming_offsets) { regression_streaming_offsets(false); }
Test(isa_agreement, mse_row_f32) { regression_agreement(false, true); }
Test(isa_agreement, mse_row_f64) { regression_agreement(true, true); }
Test(isa_agreement, mae_row_f32) { regression_agreement(false, false); }
Test(isa_agreement, mae_row_f64) { regression_agreement(true, false); }

/* ------------------------------------------------------------------------ */
/* Softmax f32 against a long-double reference: the accuracy the header     */
/* states (max ulp of outputs >= the smallest normal)                       */
/* ------------------------------------------------------------------------ */

Test(isa_agreement, softmax_f32_ulp_against_long_double)
{
    tu_rng r = {150};
    size_t max_n = 4099;
    double *x = malloc(max_n * sizeof *x);
    long double *ref = malloc(max_n * sizeof *ref);
    float *xf = malloc(max_n * sizeof *xf), *y = malloc(max_n * sizeof *y);
    uint64_t worst = 0;
    for (int rep = 0; rep < 400; rep++) {
        size_t n = rep % 4 == 0 ? 4099 : (size_t)(tu_next(&r) % 300) + 1;
        int kind = rep % 4; /* uniform, wide, narrow, large offset */
        fill_row(&r, x, n, (enum row_kind)kind, 0);
        for (size_t j = 0; j < n; j++) x[j] = xf[j] = (float)x[j];
        tu_softmax_ld(n, x, ref);
        simd_table.softmax_f32(n, xf, y);
        for (size_t j = 0; j < n; j++) {
            if (ref[j] < FLT_MIN) continue;
            uint64_t d = tu_ulp_f32(y[j], (float)ref[j]);
            if (d > worst) worst = d;
        }
    }
    cr_assert(worst <= 2, "softmax f32 max %llu ulp from the correctly rounded result",
              (unsigned long long)worst);
    cr_log_info("softmax f32 (%s): max %llu ulp vs long double", simd_table.name,
                (unsigned long long)worst);
    free(x);
    free(ref);
    free(xf);
    free(y);
}

/* ------------------------------------------------------------------------ */
/* Argmax                                                                   */
/* ------------------------------------------------------------------------ */

/* The same index as the reference (numpy.argmax: first maximum, first NaN)
 * on every row kind and size, plus ties of the maximum, -0 against +0 and a
 * NaN placed before, at and after the maximum; argmax_rows gives that index
 * for each of ARGMAX_BLOCK copies of the row at a stride whose padding
 * holds NaN (read, it would win). */
#define ARGMAX_BLOCK 5
#define ARGMAX_PAD 3
static void argmax_agreement(bool f64)
{
    tu_rng r = {f64 ? 141u : 140u};
    double largest = f64 ? DBL_MAX : FLT_MAX;
    size_t max_n = 131072, ld_max = max_n + ARGMAX_PAD;
    double *x = malloc(max_n * sizeof *x), *block = malloc(ARGMAX_BLOCK * ld_max * sizeof *block);
    float *xf = malloc(max_n * sizeof *xf), *blockf = malloc(ARGMAX_BLOCK * ld_max * sizeof *blockf);
    int checked = 0;
    FOR_EACH_ROW({
        for (int variant = 0; variant < 5; variant++) {
            fill_row(&r, x, n, (enum row_kind)kind, largest);
            size_t at = (size_t)(tu_next(&r) % n), at2 = (size_t)(tu_next(&r) % n);
            if (variant == 1) x[at] = x[at2] = 1e30; /* tied maxima */
            if (variant == 2)
                for (size_t j = 0; j < n; j++) x[j] = tu_next(&r) % 2 ? 0.0 : -0.0;
            if (variant == 3) x[at] = NAN, x[at2] = NAN;
            if (variant == 4) x[at] = -INFINITY;
            size_t got, want, ld = n + ARGMAX_PAD, rows_got[ARGMAX_BLOCK];
            for (size_t i = 0; i < ARGMAX_BLOCK * ld; i++) {
                double v = i % ld < n ? x[i % ld] : NAN;
                block[i] = v;
                blockf[i] = (float)v;
            }
            if (f64) {
                got = simd_table.argmax_f64(n, x);
                want = ref_table.argmax_f64(n, x);
                simd_table.argmax_rows_f64(ARGMAX_BLOCK, n, block, ld, rows_got);
            } else {
                for (size_t j = 0; j < n; j++) xf[j] = (float)x[j];
                got = simd_table.argmax_f32(n, xf);
                want = ref_table.argmax_f32(n, xf);
                simd_table.argmax_rows_f32(ARGMAX_BLOCK, n, blockf, ld, rows_got);
            }
            cr_assert_eq(got, want, "%s argmax n=%zu kind %d variant %d: %zu vs %zu",
                         f64 ? "f64" : "f32", n, kind, variant, got, want);
            for (int i = 0; i < ARGMAX_BLOCK; i++)
                cr_assert_eq(rows_got[i], want, "%s argmax_rows n=%zu kind %d variant %d row %d: %zu vs %zu",
                             f64 ? "f64" : "f32", n, kind, variant, i, rows_got[i], want);
            checked++;
        }
    })
    cr_log_info("%s argmax: %d rows", f64 ? "f64" : "f32", checked);
    free(x);
    free(xf);
    free(block);
    free(blockf);
}

Test(isa_agreement, argmax_f32) { argmax_agreement(false); }
Test(isa_agreement, argmax_f64) { argmax_agreement(true); }

/* The target scan of the dense cross-entropy: max |v_j| bit for bit, a NaN
 * where the reference has one, on every row kind and width plus rows with
 * signed zeros, a NaN (either sign), infinities of either sign and
 * subnormals, each also read at an offset of one element (no 64-byte
 * alignment). The reference itself is checked against fabs. */
static void abs_max_agreement(bool f64)
{
    tu_rng r = {f64 ? 143u : 144u};
    double largest = f64 ? DBL_MAX : FLT_MAX;
    size_t max_n = 131072;
    double *x = malloc((max_n + 1) * sizeof *x);
    float *xf = malloc((max_n + 1) * sizeof *xf);
    int checked = 0;
    FOR_EACH_ROW({
        for (int variant = 0; variant < 6; variant++) {
            fill_row(&r, x + 1, n, (enum row_kind)kind, largest);
            x[0] = (double)(tu_next(&r) % 7) - 3.0; /* read at offset 1 */
            size_t at = 1 + (size_t)(tu_next(&r) % n);
            if (variant == 1)
                for (size_t j = 1; j <= n; j++) x[j] = tu_next(&r) % 2 ? 0.0 : -0.0;
            if (variant == 2) x[at] = tu_next(&r) % 2 ? NAN : -NAN;
            if (variant == 3) x[at] = tu_next(&r) % 2 ? INFINITY : -INFINITY;
            if (variant == 4)
                for (size_t j = 1; j <= n; j++)
                    x[j] = (tu_next(&r) % 2 ? 1 : -1) * (f64 ? 0x1p-1074 : 0x1p-149) * (double)(1 + tu_next(&r) % 1000);
            if (variant == 5) x[at] = -largest;
            for (int offset = 0; offset < 2; offset++) {
                double got, want, plain = 0;
                if (f64) {
                    got = simd_table.abs_max_f64(n, x + 1 - offset);
                    want = ref_table.abs_max_f64(n, x + 1 - offset);
                    for (size_t j = 0; j < n; j++) plain = fmax(plain, fabs(x[1 - offset + j]));
                } else {
                    for (size_t j = 0; j <= n; j++) xf[j] = (float)x[j];
                    got = simd_table.abs_max_f32(n, xf + 1 - offset);
                    want = ref_table.abs_max_f32(n, xf + 1 - offset);
                    for (size_t j = 0; j < n; j++) plain = fmax(plain, fabs((double)xf[1 - offset + j]));
                }
                bool has_nan = false;
                for (size_t j = 0; j < n; j++)
                    has_nan |= f64 ? isnan(x[1 - offset + j]) : isnan(xf[1 - offset + j]);
                cr_assert(has_nan ? isnan(want) : want == plain, "%s reference abs_max n=%zu kind %d variant %d: %.17g vs %.17g",
                          f64 ? "f64" : "f32", n, kind, variant, want, plain);
                cr_assert(isnan(want) ? isnan(got) : memcmp(&got, &want, sizeof got) == 0,
                          "%s abs_max n=%zu kind %d variant %d offset %d: %.17g vs %.17g",
                          f64 ? "f64" : "f32", n, kind, variant, offset, got, want);
                checked++;
            }
        }
    })
    cr_log_info("%s abs_max: %d rows", f64 ? "f64" : "f32", checked);
    free(x);
    free(xf);
}

Test(isa_agreement, abs_max_f32) { abs_max_agreement(false); }
Test(isa_agreement, abs_max_f64) { abs_max_agreement(true); }

/* ------------------------------------------------------------------------ */
/* AVX-512 sweeps against the AVX2 ones                                     */
/* ------------------------------------------------------------------------ */

/* The AVX-512 exp sweep stores exactly the AVX2 sweep's exp(x - m) (same
 * reduction and polynomial; VSCALEFPS rounds p 2^n once as the AVX2
 * exponent-field product does), subnormal results included, for every row
 * kind the AVX-512 kernels take (finite maximum, |m| <= 2^24) and every
 * way of forming x - m; the maximum and minimum agree too, and the double
 * sums differ only by their summation order (1e-15 relative; the
 * normalizer form with float hi/lo sums within its 2^-32). avx512 pass. */
Test(isa_agreement, sum_exp_bits_match_avx2)
{
    if (!avx512_pass) cr_skip_test("avx512 pass only");
    tu_rng r = {512};
    const size_t max_n = 4099;
    double *xd = malloc(max_n * sizeof *xd);
    float *x = malloc(max_n * sizeof *x), *e2 = malloc(max_n * sizeof *e2);
    float *e5 = malloc(max_n * sizeof *e5);
    size_t rows = 0, subnormals = 0;
    FOR_EACH_ROW({
        if (n > max_n || kind == ROW_NAN || kind == ROW_POS_INF || kind == ROW_ALL_NEG_INF ||
            kind == ROW_HUGE || kind == ROW_MAX_IS_LOWEST || kind == ROW_NAN_AND_NEG_INF)
            continue;
        fill_row(&r, xd, n, (enum row_kind)kind, FLT_MAX);
        for (size_t j = 0; j < n; j++) x[j] = (float)xd[j];
        if (kind == ROW_NARROW) x[0] = -5e3f; /* a minimum that forces TwoSum */
        float lo2, lo5;
        float m2 = lb_avx2_row_max_min_f32(n, x, &lo2), m5 = lb_avx512_row_max_min_f32(n, x, &lo5);
        cr_assert(m2 == m5 && lo2 == lo5, "n=%zu kind %d: max/min %g/%g vs %g/%g", n, kind,
                  (double)m5, (double)lo5, (double)m2, (double)lo2);
        double s2 = lb_avx2_sum_exp_lo_f32(n, x, m2, lo2, e2);
        double s5 = lb_avx512_sum_exp_lo_f32(n, x, m5, lo5, e5, NULL, false);
        /* the normalizer form: hi/lo float sums, within 2^-32 of s >= 1 */
        double s5_split = lb_avx512_sum_exp_lo_f32(n, x, m5, lo5, NULL, NULL, true);
        cr_assert(fabs(s5_split - s2) <= 0x1p-32 * s2, "n=%zu kind %d: split sum %.17g vs %.17g",
                  n, kind, s5_split, s2);
        for (size_t j = 0; j < n; j++) {
            cr_assert(memcmp(&e2[j], &e5[j], sizeof(float)) == 0,
                      "n=%zu kind %d j=%zu: exp %a (avx512) vs %a (avx2)", n, kind, j,
                      (double)e5[j], (double)e2[j]);
            if (e2[j] != 0.0f && e2[j] < FLT_MIN) subnormals++;
        }
        cr_assert(fabs(s5 - s2) <= 1e-15 * s2, "n=%zu kind %d: sum %.17g vs %.17g", n, kind, s5, s2);
        rows++;
    });
    cr_assert(rows > 300 && subnormals > 0, "%zu rows, %zu subnormal exps", rows, subnormals);
    free(xd);
    free(x);
    free(e2);
    free(e5);
}
