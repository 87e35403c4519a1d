/*
 * regression_avx512.c - AVX-512 per-row MSE and MAE (f32), and argmax of
 * short rows for accuracy (f32, f64).
 *
 * The AVX2 kernel's arithmetic (regression_avx2.c) sixteen lanes at a time:
 * e = pred - target formed exactly in double, the element loss (e^2 or |e|)
 * and the MSE derivative 2e grad_mul rounded once to float from double, the
 * MAE derivative sign(e) grad_mul taken from the float difference. So every
 * element output has the reference's bits; only the row sum is grouped
 * differently (double lanes, folded every LB_REG_FOLD_512 vectors). Tails
 * are masked (lanes past the row load 0, so e = 0 adds nothing).
 *
 * In cache these loops are bound by the conversions to and from double:
 * one AVX-512 conversion does the work of two AVX2 ones, which is the gain
 * (the AVX2 loop spent about a cycle per element). Out of cache both are
 * memory-bound. Passes that outrun the caches store their outputs with
 * streaming stores: a masked head up to the 64-byte boundary, whole aligned
 * vectors, a masked tail. f64 stays on AVX2 (no conversions to save).
 *
 * Argmax of blocks of rows (accuracy): rows of up to 64 floats (32
 * doubles) are masked loads into at most four vectors, padded with -inf.
 * Without a NaN the broadcast maximum is exact, and the first lane equal
 * to it is numpy's index (padding sits after every row entry, so an all
 * -inf row still gives 0); with one, the first NaN lane is. Every step is
 * branch-free, so consecutive rows' reductions overlap; one row at a time
 * behind a call, 10-class rows took about 19 cycles each. Wider rows take
 * the AVX2 sweep row by row (bandwidth-bound there).
 */
#include "internal.h"
#include "exp_avx512.h"

#include <math.h>

#define LB_REG_FOLD_512 32

/* Two halves of double lanes as 16 floats, each rounded once. */
LB_ALWAYS_INLINE __m512 narrow16(__m512d lo, __m512d hi)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
}

LB_ALWAYS_INLINE void store16(float *p, __m512 v, __mmask16 mask, bool whole_aligned)
{
    if (whole_aligned) _mm512_stream_ps(p, v);
    else _mm512_mask_storeu_ps(p, mask, v);
}

/* MAE derivative of 16 floats: +-mul where e > 0 / e < 0, 0 where e == 0,
 * e itself (NaN) where e is NaN; mul = (float)grad_mul, as the AVX2 kernel. */
LB_ALWAYS_INLINE __m512 sign_times16(__m512 e, __m512 mul)
{
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 pos = _mm512_cmp_ps_mask(e, zero, _CMP_GT_OQ);
    __mmask16 neg = _mm512_cmp_ps_mask(e, zero, _CMP_LT_OQ);
    __mmask16 nan = _mm512_cmp_ps_mask(e, e, _CMP_UNORD_Q);
    __m512 d = _mm512_mask_mov_ps(_mm512_maskz_mov_ps(pos, mul), neg, _mm512_sub_ps(zero, mul));
    return _mm512_mask_mov_ps(d, nan, e);
}

/* 16 elements at j (lanes outside mask: none read or written); adds the
 * element losses to (*acc_lo, *acc_hi). */
LB_ALWAYS_INLINE void step16(bool squared, size_t j, __mmask16 mask, bool stream,
                             const float *pred, const float *target, float *loss_out,
                             float *dpred, __m512d mul, __m512 mul_f32, __m512d *acc_lo,
                             __m512d *acc_hi)
{
    __m512 p = _mm512_maskz_loadu_ps(mask, pred + j), t = _mm512_maskz_loadu_ps(mask, target + j);
    __m512d e_lo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(p)),
                                 _mm512_cvtps_pd(_mm512_castps512_ps256(t)));
    __m512d e_hi = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)),
                                 _mm512_cvtps_pd(_mm512_extractf32x8_ps(t, 1)));
    __m512d l_lo, l_hi;
    if (squared) {
        l_lo = _mm512_mul_pd(e_lo, e_lo);
        l_hi = _mm512_mul_pd(e_hi, e_hi);
        /* mul = 2 grad_mul: (2e) grad_mul exactly, one rounding to float */
        if (dpred)
            store16(dpred + j, narrow16(_mm512_mul_pd(e_lo, mul), _mm512_mul_pd(e_hi, mul)), mask,
                    stream);
    } else {
        l_lo = _mm512_abs_pd(e_lo);
        l_hi = _mm512_abs_pd(e_hi);
        /* sign(e) is the sign of the float difference */
        if (dpred) store16(dpred + j, sign_times16(_mm512_sub_ps(p, t), mul_f32), mask, stream);
    }
    *acc_lo = _mm512_add_pd(*acc_lo, l_lo);
    *acc_hi = _mm512_add_pd(*acc_hi, l_hi);
    if (loss_out) store16(loss_out + j, narrow16(l_lo, l_hi), mask, stream);
}

static double regression_row_f32(bool squared, size_t n, const float *pred, const float *target,
                                 float *loss_out, float *dpred, double grad_mul,
                                 bool stream_stores)
{
    /* streaming needs every output at the same offset from a 64-byte line */
    const float *first = dpred ? dpred : loss_out;
    bool stream = stream_stores && first &&
                  (!dpred || !loss_out || (((uintptr_t)dpred ^ (uintptr_t)loss_out) & 63) == 0);
    size_t head = stream ? lb_head_to_align64(first, sizeof(float), n) : 0;
    const __m512d mul = _mm512_set1_pd(squared ? 2.0 * grad_mul : grad_mul);
    const __m512 mul_f32 = _mm512_set1_ps((float)grad_mul);
    const __mmask16 all = (__mmask16)0xffff;
    __m512d total = _mm512_setzero_pd(), acc_lo = total, acc_hi = total;
    if (head > 0)
        step16(squared, 0, lb_mask16(head), false, pred, target, loss_out, dpred, mul, mul_f32,
               &acc_lo, &acc_hi);
    size_t j = head, since_fold = 0;
    for (; j + 16 <= n; j += 16) {
        step16(squared, j, all, stream, pred, target, loss_out, dpred, mul, mul_f32, &acc_lo,
               &acc_hi);
        if (++since_fold == LB_REG_FOLD_512) {
            total = _mm512_add_pd(total, _mm512_add_pd(acc_lo, acc_hi));
            acc_lo = acc_hi = _mm512_setzero_pd();
            since_fold = 0;
        }
    }
    if (j < n)
        step16(squared, j, lb_mask16(n - j), false, pred, target, loss_out, dpred, mul, mul_f32,
               &acc_lo, &acc_hi);
    return lb_hsum512_f64(_mm512_add_pd(total, _mm512_add_pd(acc_lo, acc_hi)));
}

double lb_avx512_mse_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                             float *dpred, double grad_mul, bool stream_stores)
{
    return regression_row_f32(true, n, pred, target, loss_out, dpred, grad_mul, stream_stores);
}

double lb_avx512_mae_row_f32(size_t n, const float *pred, const float *target, float *loss_out,
                             float *dpred, double grad_mul, bool stream_stores)
{
    return regression_row_f32(false, n, pred, target, loss_out, dpred, grad_mul, stream_stores);
}

/* ------------------------------------------------------------------------ */
/* Argmax (accuracy)                                                        */
/* ------------------------------------------------------------------------ */

/* The maximum of the lanes, in every lane (exact without NaN lanes). */
LB_ALWAYS_INLINE __m512 broadcast_max16(__m512 v)
{
    v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_max_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    v = _mm512_max_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm512_max_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
}

LB_ALWAYS_INLINE __m512d broadcast_max8(__m512d v)
{
    v = _mm512_max_pd(v, _mm512_shuffle_f64x2(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm512_max_pd(v, _mm512_shuffle_f64x2(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_max_pd(v, _mm512_permute_pd(v, 0x55));
}

/* numpy.argmax of a row of n <= 16 * vectors floats; live[k]: the lanes of
 * vector k inside the row. */
LB_ALWAYS_INLINE size_t argmax_short16(const float *v, int vectors, const __mmask16 *live)
{
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    __m512 x[4], mx = neg_inf;
    uint64_t nan_bits = 0, max_bits = 0;
    for (int k = 0; k < vectors; k++) {
        x[k] = _mm512_mask_loadu_ps(neg_inf, live[k], v + 16 * k);
        mx = _mm512_max_ps(mx, x[k]);
        nan_bits |= (uint64_t)_mm512_cmp_ps_mask(x[k], x[k], _CMP_UNORD_Q) << (16 * k);
    }
    mx = broadcast_max16(mx);
    for (int k = 0; k < vectors; k++)
        max_bits |= (uint64_t)_mm512_cmp_ps_mask(x[k], mx, _CMP_EQ_OQ) << (16 * k);
    return (size_t)__builtin_ctzll(nan_bits ? nan_bits : max_bits);
}

LB_ALWAYS_INLINE size_t argmax_short8(const double *v, int vectors, const __mmask8 *live)
{
    const __m512d neg_inf = _mm512_set1_pd(-INFINITY);
    __m512d x[4], mx = neg_inf;
    uint32_t nan_bits = 0, max_bits = 0;
    for (int k = 0; k < vectors; k++) {
        x[k] = _mm512_mask_loadu_pd(neg_inf, live[k], v + 8 * k);
        mx = _mm512_max_pd(mx, x[k]);
        nan_bits |= (uint32_t)_mm512_cmp_pd_mask(x[k], x[k], _CMP_UNORD_Q) << (8 * k);
    }
    mx = broadcast_max8(mx);
    for (int k = 0; k < vectors; k++)
        max_bits |= (uint32_t)_mm512_cmp_pd_mask(x[k], mx, _CMP_EQ_OQ) << (8 * k);
    return (size_t)__builtin_ctz(nan_bits ? nan_bits : max_bits);
}

/* The lane masks of a row of n entries split into vectors of `lanes`. */
static void live_lanes(size_t n, size_t lanes, int vectors, uint32_t *live)
{
    for (int k = 0; k < vectors; k++) {
        size_t first = (size_t)k * lanes;
        size_t in_row = n > first ? n - first : 0;
        live[k] = in_row >= lanes ? (1u << lanes) - 1 : (1u << in_row) - 1;
    }
}

/* Prefetch distance of the short-row argmax: out of cache, the out-of-order
 * window holds only some 25 short rows (1 KiB) of loads, too few for the
 * memory latency. 4 KiB ahead, out of cache, 1 thread: accuracy_dense
 * 4096 x 10 46.9 -> 27.0 us, 4096 x 20 76.8 -> 41.0 us (2 KiB gained less). */
#define LB_ARGMAX_PREFETCH 4096
#define LB_ARGMAX_ROWS_CASE(VECTORS, SHORT, MASK, LANES)                                          \
    do {                                                                                          \
        uint32_t bits[4];                                                                         \
        MASK live[4];                                                                             \
        live_lanes(n, LANES, VECTORS, bits);                                                      \
        for (int k = 0; k < VECTORS; k++) live[k] = (MASK)bits[k];                                \
        for (size_t i = 0; i < rows; i++) {                                                       \
            _mm_prefetch((const char *)(v + i * ld) + LB_ARGMAX_PREFETCH, _MM_HINT_T0);           \
            idx[i] = SHORT(v + i * ld, VECTORS, live);                                            \
        }                                                                                         \
    } while (0)

void lb_avx512_argmax_rows_f32(size_t rows, size_t n, const float *v, size_t ld, size_t *idx)
{
    switch ((n + 15) / 16) {
    case 1: LB_ARGMAX_ROWS_CASE(1, argmax_short16, __mmask16, 16); return;
    case 2: LB_ARGMAX_ROWS_CASE(2, argmax_short16, __mmask16, 16); return;
    case 3: LB_ARGMAX_ROWS_CASE(3, argmax_short16, __mmask16, 16); return;
    case 4: LB_ARGMAX_ROWS_CASE(4, argmax_short16, __mmask16, 16); return;
    default: lb_avx2_argmax_rows_f32(rows, n, v, ld, idx); return;
    }
}

void lb_avx512_argmax_rows_f64(size_t rows, size_t n, const double *v, size_t ld, size_t *idx)
{
    switch ((n + 7) / 8) {
    case 1: LB_ARGMAX_ROWS_CASE(1, argmax_short8, __mmask8, 8); return;
    case 2: LB_ARGMAX_ROWS_CASE(2, argmax_short8, __mmask8, 8); return;
    case 3: LB_ARGMAX_ROWS_CASE(3, argmax_short8, __mmask8, 8); return;
    case 4: LB_ARGMAX_ROWS_CASE(4, argmax_short8, __mmask8, 8); return;
    default: lb_avx2_argmax_rows_f64(rows, n, v, ld, idx); return;
    }
}
