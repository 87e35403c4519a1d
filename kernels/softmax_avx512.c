/*
 * softmax_avx512.c - AVX-512 (F, DQ, VL, BW) per-row kernels for f32
 * softmax, log-softmax and their backward passes, and the AVX-512 kernel
 * table (which also takes xent_avx512.c's cross-entropy and
 * regression_avx512.c's MSE/MAE rows).
 *
 * The algorithms are those of softmax_avx2.c (its header comment), sixteen
 * lanes at a time: rows that stay in cache take a maximum/minimum sweep, an
 * exp sweep that stores exp(x - m) and sums it in double lanes, and a
 * scaling sweep; log-softmax sums the entries below the maximum and counts
 * its ties; the backward passes take a dot product (or sum) in double lanes
 * and one output sweep. Tails are masked loads and stores (AVX-512 masks cost
 * nothing extra, unlike AVX2's maskstore), so there are no scalar loops.
 *
 * Rows of up to 16 floats are one vector each, held in registers, and the
 * API takes them four at a time (the *_rows4 kernels interleave four rows'
 * latency chains; the same code with one row gives the same bits).
 *
 * What AVX-512 leaves to the AVX2 kernels: rows of 17 to 32 floats (AVX2
 * holds them in registers), the short-row softmax backward pass and
 * log-softmax backward rows of 17 to 32 floats, rows longer than
 * LB_CACHED_ROW_BYTES (taken in chunks), rows with |max| > 2^24 or a maximum
 * near -FLT_MAX (clamped or scalar exp: rare, and the AVX2 code for them is
 * tested), and of f64 the long rows. Those rows give exactly what the AVX2
 * table gives. The f64 section below has softmax, log-softmax and both
 * backward passes (and the sweeps of the f64 cross-entropy).
 *
 * The exp values are the AVX2 ones bit for bit (exp_avx512.h); the double
 * sums add the same terms in another order, so the normalizers may differ
 * in their last bits and outputs by the final rounding.
 */
#include "internal.h"
#include "exp_avx512.h"
#include "rows_avx2.h"
#include "rows_avx512.h"

#include <math.h>

/* The double accumulators are folded into the running total every this
 * many floats (softmax_avx2.c folds every 64 vectors of 8). */
#define FOLD_FLOATS 512

/* ------------------------------------------------------------------------ */
/* Shared row sweeps                                                        */
/* ------------------------------------------------------------------------ */

/* Four maximum and four minimum chains: the sweep is bound by the latency
 * of max/min (4 cycles), so fewer chains left it at half the load rate. */
float lb_avx512_row_max_min_f32(size_t n, const float *x, float *lo)
{
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY), pos_inf = _mm512_set1_ps(INFINITY);
    __m512 mx[4] = {neg_inf, neg_inf, neg_inf, neg_inf}, mn[4] = {pos_inf, pos_inf, pos_inf, pos_inf};
    size_t head = lb_head_to_align64(x, sizeof(float), n);
    if (head > 0) { /* masked head: the loads below stay within 64-byte lines */
        __mmask16 mask = lb_mask16(head);
        mx[3] = _mm512_mask_loadu_ps(neg_inf, mask, x);
        mn[3] = _mm512_mask_loadu_ps(pos_inf, mask, x);
        x += head;
        n -= head;
    }
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        for (int k = 0; k < 4; k++) {
            __m512 v = _mm512_loadu_ps(x + j + 16 * k);
            mx[k] = _mm512_max_ps(mx[k], v);
            mn[k] = _mm512_min_ps(mn[k], v);
        }
    }
    for (int k = 0; j < n; j += 16, k++) {
        __mmask16 mask = lb_mask16(n - j < 16 ? n - j : 16);
        mx[k] = _mm512_max_ps(mx[k], _mm512_mask_loadu_ps(neg_inf, mask, x + j));
        mn[k] = _mm512_min_ps(mn[k], _mm512_mask_loadu_ps(pos_inf, mask, x + j));
    }
    *lo = _mm512_reduce_min_ps(_mm512_min_ps(_mm512_min_ps(mn[0], mn[1]), _mm512_min_ps(mn[2], mn[3])));
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(mx[0], mx[1]), _mm512_max_ps(mx[2], mx[3])));
}

/* sum exp(x - m), e_j = exp(x_j - m) stored when e != NULL.
 *
 * split (a sum known to be >= 1, as a softmax normalizer, which holds the
 * maximum's own term): the sum without a conversion per vector. Each lane
 * keeps hi = 16 + the terms so far in float, every term e (in [0, 1]) added
 * by Fast2Sum (|hi| >= 16 > e, so the rounding error e - ((hi + e) - hi)
 * is exact) and the errors, each at most 2^-20 (hi < 32), summed in float
 * lo (at most 32 of them per fold, so |lo| < 2^-15 and each addition
 * rounds by at most 2^-39). Every FOLD_FLOATS, hi - 16 (exact: hi is in
 * [16, 32]) and lo are widened (exactly) into double lanes: the row total
 * then errs by at most 2^-34 per lane and fold (1000 classes: 2^-29 of
 * s >= 1, u/32). Four operations per 16 floats, where widening every
 * vector to double cost six (softmax 64 x 1000 in cache 28.2 -> 26.9 us
 * for the first split, (e + 16) - 16 and e minus that, five operations;
 * 25.9 -> 25.2 us for Fast2Sum). Not split: every vector is widened to
 * double, so a sum of tiny terms (the cross-entropy rest beside a dominant
 * target) keeps its relative precision, which the float lo sums would
 * not.
 *
 * Two vectors per step; rows of 64 or more take the steps software-
 * pipelined as in softmax_avx2.c (step k scales its exps while step k + 1
 * evaluates its polynomial and step k + 2 reduces its arguments: each stage
 * enters the scheduler with its inputs ready); the same operations on the
 * same values, so the same bits as the plain loop. The tail loads m into
 * the lanes past the row (exp(0) = 1, then zeroed): an underflowing padding
 * lane would only cost time. */
LB_ALWAYS_INLINE double sum_exp_impl(size_t n, const float *x, float m, float floor_value,
                                     bool floored, float *e, const float *ahead, bool split,
                                     enum lb_diff_mode mode)
{
    const __m512 vm = _mm512_set1_ps(m), minus_m = _mm512_set1_ps(-m);
    const __m512 floor = _mm512_set1_ps(floor_value), sixteen = _mm512_set1_ps(16.0f);
    const __m512 zero = _mm512_setzero_ps();
    __m512d total_lo = _mm512_setzero_pd(), total_hi = total_lo;
    __m512 hi0 = sixteen, hi1 = sixteen, lo01 = zero; /* hi: 16 + the terms so far */
    size_t j = 0, since_fold = 0;
#define REDUCE(at) lb_exp512_shifted_reduce_f32(_mm512_loadu_ps(x + (at)), minus_m, floor, floored, false, mode)
#define SPLIT_ADD(v, hi)                                                                      \
    do {                                                                                      \
        if (split) {                                                                          \
            __m512 s_ = _mm512_add_ps(hi, v);                                                 \
            lo01 = _mm512_add_ps(lo01, _mm512_sub_ps(v, _mm512_sub_ps(s_, hi)));              \
            hi = s_;                                                                          \
        } else {                                                                              \
            lb_acc16_f32_in_f64(&total_lo, &total_hi, v);                                     \
        }                                                                                     \
    } while (0)
#define FOLD()                                                                                \
    do {                                                                                      \
        if (split) {                                                                          \
            lb_acc16_f32_in_f64(&total_lo, &total_hi, _mm512_sub_ps(hi0, sixteen));           \
            lb_acc16_f32_in_f64(&total_lo, &total_hi, _mm512_sub_ps(hi1, sixteen));           \
            lb_acc16_f32_in_f64(&total_lo, &total_hi, lo01);                                  \
            hi0 = hi1 = sixteen;                                                              \
            lo01 = zero;                                                                      \
        }                                                                                     \
    } while (0)
#define ACCUMULATE(e0, e1)                                                                    \
    do {                                                                                      \
        if (ahead) {                                                                          \
            _mm_prefetch((const char *)(ahead + j), _MM_HINT_T1);                             \
            _mm_prefetch((const char *)(ahead + j + 16), _MM_HINT_T1);                        \
        }                                                                                     \
        if (e) {                                                                              \
            _mm512_storeu_ps(e + j, e0);                                                      \
            _mm512_storeu_ps(e + j + 16, e1);                                                 \
        }                                                                                     \
        SPLIT_ADD(e0, hi0);                                                                   \
        SPLIT_ADD(e1, hi1);                                                                   \
        if ((since_fold += 32) == FOLD_FLOATS) {                                              \
            FOLD();                                                                           \
            since_fold = 0;                                                                   \
        }                                                                                     \
    } while (0)
    if (n >= 64) {
        const size_t steps = n / 32;
        lb_exp512_reduced_f32 q0 = REDUCE(0), q1 = REDUCE(16);
        __m512 p0 = lb_exp512_poly_f32(q0.r), p1 = lb_exp512_poly_f32(q1.r), n0 = q0.n, n1 = q1.n;
        q0 = REDUCE(32);
        q1 = REDUCE(48);
        for (size_t k = 0; k < steps; k++, j += 32) {
            __m512 e0 = lb_exp512_scale_f32(p0, n0), e1 = lb_exp512_scale_f32(p1, n1);
            if (k + 1 < steps) {
                p0 = lb_exp512_poly_f32(q0.r), p1 = lb_exp512_poly_f32(q1.r);
                n0 = q0.n, n1 = q1.n;
            }
            if (k + 2 < steps) {
                q0 = REDUCE(j + 64);
                q1 = REDUCE(j + 80);
            }
            ACCUMULATE(e0, e1);
        }
    }
    for (; j + 32 <= n; j += 32) {
        __m512 e0 = lb_exp512_shifted_f32(_mm512_loadu_ps(x + j), minus_m, floor, floored, false, mode);
        __m512 e1 = lb_exp512_shifted_f32(_mm512_loadu_ps(x + j + 16), minus_m, floor, floored, false, mode);
        ACCUMULATE(e0, e1);
    }
    if (j + 16 <= n) {
        __m512 e0 = lb_exp512_shifted_f32(_mm512_loadu_ps(x + j), minus_m, floor, floored, false, mode);
        if (e) _mm512_storeu_ps(e + j, e0);
        SPLIT_ADD(e0, hi0);
        j += 16;
    }
    if (j < n) {
        __mmask16 mask = lb_mask16(n - j);
        __m512 v = _mm512_mask_loadu_ps(vm, mask, x + j);
        __m512 e0 = _mm512_maskz_mov_ps(mask, lb_exp512_shifted_f32(v, minus_m, floor, floored, false, mode));
        if (e) _mm512_mask_storeu_ps(e + j, mask, e0);
        SPLIT_ADD(e0, hi1);
    }
    FOLD();
#undef REDUCE
#undef SPLIT_ADD
#undef FOLD
#undef ACCUMULATE
    return lb_hsum512_f64(_mm512_add_pd(total_lo, total_hi));
}

/* The floor (which turns -inf into an exact 0) is applied only to rows
 * with an entry below it: elsewhere max(floor, x) = x, so skipping it
 * changes no bit. */
double lb_avx512_sum_exp_lo_f32(size_t n, const float *x, float m, float lo, float *e,
                                const float *ahead, bool at_least_one)
{
    float floor = lb_exp_floor_f32(m);
    bool floored = !(lo >= floor);
#define SUM_EXP_SPLIT(mode, split) floored ? sum_exp_impl(n, x, m, floor, true, e, ahead, split, mode) \
                                           : sum_exp_impl(n, x, m, floor, false, e, ahead, split, mode)
#define SUM_EXP(mode) at_least_one ? SUM_EXP_SPLIT(mode, true) : SUM_EXP_SPLIT(mode, false)
    switch (lb_diff_mode_f32(m, lo)) {
    case LB_DIFF_FAST_M: return SUM_EXP(LB_DIFF_FAST_M);
    case LB_DIFF_FAST_X: return SUM_EXP(LB_DIFF_FAST_X);
    case LB_DIFF_TWOSUM: break;
    }
    return SUM_EXP(LB_DIFF_TWOSUM);
#undef SUM_EXP
#undef SUM_EXP_SPLIT
}

void lb_avx512_scale_f32(size_t n, float *y, float k)
{
    const __m512 vk = _mm512_set1_ps(k);
    size_t j = lb_head_to_align64(y, sizeof(float), n);
    if (j > 0) {
        __mmask16 mask = lb_mask16(j);
        _mm512_mask_storeu_ps(y, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, y), vk));
    }
    for (; j + 32 <= n; j += 32) {
        _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_loadu_ps(y + j), vk));
        _mm512_storeu_ps(y + j + 16, _mm512_mul_ps(_mm512_loadu_ps(y + j + 16), vk));
    }
    for (; j < n; j += 16) {
        __mmask16 mask = lb_mask16(n - j < 16 ? n - j : 16);
        _mm512_mask_storeu_ps(y + j, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, y + j), vk));
    }
}

/* The rows the AVX-512 forward kernels take themselves: cache-resident rows
 * longer than the AVX2 register rows. */
static bool row_for_avx512(size_t n)
{
    return n > LB_SHORT_ROW_F32 && n * sizeof(float) <= LB_CACHED_ROW_BYTES;
}

/* ------------------------------------------------------------------------ */
/* Softmax                                                                  */
/* ------------------------------------------------------------------------ */

/* The sum of a chunk part: the AVX-512 split or widened sum for
 * |m| <= 2^24, the AVX2 sum (which clamps) beyond. */
static double chunk_sum_exp(size_t n, const float *x, float m, float lo, float *e,
                            const float *ahead, bool at_least_one)
{
    if (fabsf(m) <= 0x1p24f) return lb_avx512_sum_exp_lo_f32(n, x, m, lo, e, ahead, at_least_one);
    return lb_avx2_sum_exp_lo_f32(n, x, m, lo, e);
}

const lb_chunk_sweeps_f32 lb_avx512_chunk_sweeps = {lb_avx512_row_max_min_f32, chunk_sum_exp,
                                                    lb_avx512_scale_f32};

/* Maximum, minimum and kind of a row the AVX-512 kernels take; false when
 * the row is for AVX2 after all (huge or near -FLT_MAX maximum). */
static bool finite_row_max(size_t n, const float *x, float *m, float *lo,
                           enum avx2_row_kind *kind)
{
    *m = lb_avx512_row_max_min_f32(n, x, lo);
    *kind = lb_avx2_classify_f32(n, x, *m);
    return *kind != AVX2_ROW_FINITE || fabsf(*m) <= 0x1p24f;
}

/* Groups of four short rows, a function for each vector count (so that
 * none pays for a larger one's stack frame: its spill area and saved
 * registers cost 4096 x 10 backward 7 % when short and medium groups
 * shared one), and their call by n. */
#define LB_SHORT_GROUP(KERNEL, VECTORS)                                                       \
    static LB_NOINLINE bool KERNEL##_group##VECTORS(size_t n, const float *x, size_t ldx,     \
                                                    float *y, size_t ldy)                     \
    {                                                                                         \
        return KERNEL(4, n, x, ldx, y, ldy, VECTORS);                                         \
    }
#define LB_SHORT_GROUPS(KERNEL)                                                               \
    LB_SHORT_GROUP(KERNEL, 1)                                                                 \
    LB_SHORT_GROUP(KERNEL, 2)                                                                 \
    LB_SHORT_GROUP(KERNEL, 3)                                                                 \
    LB_SHORT_GROUP(KERNEL, 4)
#define LB_SHORT_GROUP_CALL(KERNEL, n, ...)                                                   \
    (lb_short_vectors(n) == 1   ? KERNEL##_group1(n, __VA_ARGS__)                             \
     : lb_short_vectors(n) == 2 ? KERNEL##_group2(n, __VA_ARGS__)                             \
     : lb_short_vectors(n) == 3 ? KERNEL##_group3(n, __VA_ARGS__)                             \
                                : KERNEL##_group4(n, __VA_ARGS__))

/* Softmax of `rows` (<= 4) rows of n columns, `vectors` =
 * lb_short_vectors(n) <= 4 vectors each, in registers, as the cached path computes it (exp, double sum, one
 * rounded reciprocal). A row's arithmetic does not depend on `rows`: more
 * rows only interleave independent rows so that their latency chains
 * (horizontal maximum and sum, the division) overlap. False, with nothing
 * written, when some row's maximum is not finite with |m| <= 2^24: those
 * go row by row to the general path. */
LB_ALWAYS_INLINE bool softmax_short(int rows, size_t n, const float *x, size_t ldx, float *y,
                                    size_t ldy, int vectors)
{
    __m512 v[4][4], e[4][4];
    float m[4];
    double s[4];
    for (int r = 0; r < rows; r++) {
        m[r] = lb_short_load_max_n(n, x + (size_t)r * ldx, vectors, v[r]);
        if (!(fabsf(m[r]) <= 0x1p24f)) return false;
    }
    lb_short_prefetch_next(rows, x, ldx, y, ldy, vectors);
    for (int r = 0; r < rows; r++) {
        __m512d lo = _mm512_setzero_pd(), hi = lo;
        for (int k = 0; k < vectors; k++) {
            e[r][k] = lb_short16_exp(lb_short_lanes(n, k), v[r][k], m[r]);
            lb_acc16_f32_in_f64(&lo, &hi, e[r][k]);
        }
        s[r] = lb_hsum512_f64(_mm512_add_pd(lo, hi));
    }
    for (int r = 0; r < rows; r++) {
        float *y_row = y + (size_t)r * ldy;
        if (isnan(s[r])) {
            lb_avx2_fill_f32(n, y_row, NAN);
            continue;
        }
        const __m512 k_inv = _mm512_set1_ps((float)(1.0 / s[r]));
        for (int k = 0; k < vectors; k++)
            _mm512_mask_storeu_ps(y_row + 16 * k, lb_mask16(lb_short_lanes(n, k)),
                                  _mm512_mul_ps(e[r][k], k_inv));
    }
    return true;
}

/* Softmax of `rows` (<= 4) rows of 16 < n <= LB_MEDIUM_ROW_F32 columns,
 * their sweeps interleaved; a row's arithmetic does not depend on `rows`
 * (the same bits one by one). Per row: the maximum m and minimum, e = exp(x
 * - m) stored into y, s = sum e, y *= (float)(1/s). The sum keeps
 * hi = 16 + the terms per lane, each added by Fast2Sum with the rounding
 * errors summed in lo (as the split sums of sum_exp_impl; at most 16 terms
 * per lane, so no fold), then (hi - 16) + lo widened and added in double.
 * `mode` and `floored` are the group's: TwoSum and Fast2Sum give the same
 * exact error where both apply, and raising x to a floor below all of it
 * changes nothing, so neither changes a bit. */
LB_ALWAYS_INLINE void softmax_medium_sweeps(int rows, size_t n, const float *x, size_t ldx,
                                            float *y, size_t ldy, const float *m,
                                            const float *floor_value, bool floored,
                                            enum lb_diff_mode mode)
{
    const size_t full = n / 16;
    const __mmask16 tail = lb_mask16(n % 16);
    const __m512 sixteen = _mm512_set1_ps(16.0f);
    __m512 vm[4], minus_m[4], floor[4], hi[4], lo[4];
    for (int r = 0; r < rows; r++) {
        vm[r] = _mm512_set1_ps(m[r]);
        minus_m[r] = _mm512_set1_ps(-m[r]);
        floor[r] = _mm512_set1_ps(floor_value[r]);
        hi[r] = sixteen;
        lo[r] = _mm512_setzero_ps();
    }
#define ADD_TERM(r, e)                                                                        \
    do {                                                                                      \
        __m512 s_ = _mm512_add_ps(hi[r], e);                                                  \
        lo[r] = _mm512_add_ps(lo[r], _mm512_sub_ps(e, _mm512_sub_ps(s_, hi[r])));             \
        hi[r] = s_;                                                                           \
    } while (0)
    for (size_t v = 0; v < full; v++) {
        for (int r = 0; r < rows; r++) {
            __m512 e = lb_exp512_shifted_f32(_mm512_loadu_ps(x + (size_t)r * ldx + 16 * v),
                                             minus_m[r], floor[r], floored, false, mode);
            _mm512_storeu_ps(y + (size_t)r * ldy + 16 * v, e);
            ADD_TERM(r, e);
        }
    }
    if (tail) {
        for (int r = 0; r < rows; r++) {
            __m512 xv = _mm512_mask_loadu_ps(vm[r], tail, x + (size_t)r * ldx + 16 * full);
            __m512 e = _mm512_maskz_mov_ps(
                tail, lb_exp512_shifted_f32(xv, minus_m[r], floor[r], floored, false, mode));
            _mm512_mask_storeu_ps(y + (size_t)r * ldy + 16 * full, tail, e);
            ADD_TERM(r, e);
        }
    }
#undef ADD_TERM
    float k[4];
    bool nan_row[4];
    for (int r = 0; r < rows; r++) {
        __m512d d_lo = _mm512_setzero_pd(), d_hi = d_lo;
        lb_acc16_f32_in_f64(&d_lo, &d_hi, _mm512_sub_ps(hi[r], sixteen)); /* exact: hi in [16, 32] */
        lb_acc16_f32_in_f64(&d_lo, &d_hi, lo[r]);
        double s = lb_hsum512_f64(_mm512_add_pd(d_lo, d_hi));
        nan_row[r] = isnan(s);
        k[r] = (float)(1.0 / s);
    }
    for (int r = 0; r < rows; r++) {
        float *y_row = y + (size_t)r * ldy;
        if (nan_row[r]) {
            lb_avx2_fill_f32(n, y_row, NAN);
            continue;
        }
        const __m512 vk = _mm512_set1_ps(k[r]);
        for (size_t v = 0; v < full; v++)
            _mm512_storeu_ps(y_row + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(y_row + 16 * v), vk));
        if (tail)
            _mm512_mask_storeu_ps(y_row + 16 * full, tail,
                                  _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y_row + 16 * full), vk));
    }
}

/* Softmax of a group of medium rows; false, with nothing written, as
 * lb_medium_max_min. */
LB_ALWAYS_INLINE bool softmax_medium(int rows, size_t n, const float *x, size_t ldx, float *y,
                                     size_t ldy)
{
    lb_medium_rows g;
    if (!lb_medium_max_min(rows, n, x, ldx, y, ldy, &g)) return false;
#define SWEEPS(floored, mode) softmax_medium_sweeps(rows, n, x, ldx, y, ldy, g.m, g.floor, floored, mode)
    LB_MEDIUM_DISPATCH(g, SWEEPS);
#undef SWEEPS
    return true;
}

/* y = exp(x - m) * (1/s), the reciprocal rounded once from double. */
static void softmax_f32_avx512(size_t n, const float *x, float *y)
{
    float m, lo;
    enum avx2_row_kind kind;
    if (n <= LB_SHORT4_ROW_F32_AVX512 && LB_SHORT_SWITCH(n, softmax_short, 1, n, x, n, y, n))
        return;
    if (n > LB_SHORT4_ROW_F32_AVX512 && n <= LB_MEDIUM_ROW_F32 && softmax_medium(1, n, x, n, y, n))
        return;
    if (n * sizeof(float) > LB_CACHED_ROW_BYTES) { /* long rows: chunks */
        lb_long_row_softmax_f32(n, x, y, &lb_avx512_chunk_sweeps);
        return;
    }
    if (!row_for_avx512(n) || !finite_row_max(n, x, &m, &lo, &kind)) {
        lb_avx2_softmax_f32(n, x, y);
        return;
    }
    switch (kind) {
    case AVX2_ROW_NAN: lb_avx2_fill_f32(n, y, NAN); return;
    case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f32(n, y, 0.0f); return;
    case AVX2_ROW_FINITE: break;
    }
    const float *ahead = n * sizeof(float) <= LB_PREFETCH_ROW_BYTES ? x + n : NULL;
    double s = lb_avx512_sum_exp_lo_f32(n, x, m, lo, y, ahead, true);
    if (isnan(s)) lb_avx2_fill_f32(n, y, NAN);
    else lb_avx512_scale_f32(n, y, (float)(1.0 / s));
}

/* Four rows of up to LB_MEDIUM_ROW_F32 columns (in registers up to 64,
 * interleaved sweeps above): the same bits as four softmax_f32_avx512 calls
 * (a group with an edge row, or of longer rows, is done row by row). */
LB_SHORT_GROUPS(softmax_short)
static LB_NOINLINE bool softmax_medium_group(size_t n, const float *x, size_t ldx, float *y, size_t ldy)
{
    return softmax_medium(4, n, x, ldx, y, ldy);
}
static void softmax_rows4_f32_avx512(size_t n, const float *x, size_t ldx, float *y, size_t ldy)
{
    if (n <= LB_SHORT4_ROW_F32_AVX512 ? LB_SHORT_GROUP_CALL(softmax_short, n, x, ldx, y, ldy)
                                      : n <= LB_MEDIUM_ROW_F32 && softmax_medium_group(n, x, ldx, y, ldy))
        return;
    for (size_t r = 0; r < 4; r++) softmax_f32_avx512(n, x + r * ldx, y + r * ldy);
}

/* ------------------------------------------------------------------------ */
/* Log-softmax                                                              */
/* ------------------------------------------------------------------------ */

/* rest = sum exp(x_j - m) over x_j != m, *ties = how many equal m, as
 * sum_exp_rest_f32 in softmax_avx2.c (pairs of vectors added in float before
 * the widening; one line of `touch`, the output row, prefetched into L1 per
 * 16 entries). */
LB_ALWAYS_INLINE double sum_exp_rest_impl(size_t n, const float *x, float m, float floor_value,
                                          bool floored, int64_t *ties, const float *touch,
                                          const float *ahead, enum lb_diff_mode mode)
{
    const __m512 vm = _mm512_set1_ps(m), minus_m = _mm512_set1_ps(-m);
    const __m512 floor = _mm512_set1_ps(floor_value);
    const __m512d zero = _mm512_setzero_pd();
    __m512d total = zero, lo = zero, hi = zero;
    int64_t count = 0;
    size_t j = 0, since_fold = 0;
#define MASKED_VECTOR(at, in_row)                                                             \
    do {                                                                                      \
        __m512 v = _mm512_mask_loadu_ps(vm, in_row, x + (at));                                \
        __mmask16 eq = _mm512_mask_cmp_ps_mask(in_row, v, vm, _CMP_EQ_OQ);                    \
        count += __builtin_popcount(eq);                                                      \
        __m512 e = _mm512_maskz_mov_ps(in_row & (__mmask16)~eq,                               \
                                       lb_exp512_shifted_f32(v, minus_m, floor, floored, false, mode)); \
        lb_acc16_f32_in_f64(&lo, &hi, e);                                                     \
    } while (0)
    for (; j + 32 <= n; j += 32) {
        __m512 x0 = _mm512_loadu_ps(x + j), x1 = _mm512_loadu_ps(x + j + 16);
        __mmask16 eq0 = _mm512_cmp_ps_mask(x0, vm, _CMP_EQ_OQ);
        __mmask16 eq1 = _mm512_cmp_ps_mask(x1, vm, _CMP_EQ_OQ);
        count += __builtin_popcount(eq0) + __builtin_popcount(eq1);
        if (touch) {
            _mm_prefetch((const char *)(touch + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(touch + j + 16), _MM_HINT_T0);
        }
        if (ahead) {
            _mm_prefetch((const char *)(ahead + j), _MM_HINT_T1);
            _mm_prefetch((const char *)(ahead + j + 16), _MM_HINT_T1);
        }
        __m512 e0 = _mm512_maskz_mov_ps((__mmask16)~eq0,
                                        lb_exp512_shifted_f32(x0, minus_m, floor, floored, false, mode));
        __m512 e1 = _mm512_maskz_mov_ps((__mmask16)~eq1,
                                        lb_exp512_shifted_f32(x1, minus_m, floor, floored, false, mode));
        lb_acc16_f32_in_f64(&lo, &hi, _mm512_add_ps(e0, e1));
        if ((since_fold += 32) == FOLD_FLOATS) {
            total = _mm512_add_pd(total, _mm512_add_pd(lo, hi));
            lo = hi = zero;
            since_fold = 0;
        }
    }
    for (; j < n; j += 16) /* up to 31 left: a whole vector, then a masked one */
        MASKED_VECTOR(j, lb_mask16(n - j < 16 ? n - j : 16));
#undef MASKED_VECTOR
    total = _mm512_add_pd(total, _mm512_add_pd(lo, hi));
    *ties = count;
    return lb_hsum512_f64(total);
}

static double sum_exp_rest(size_t n, const float *x, float m, float lo, int64_t *ties,
                           const float *touch, const float *ahead)
{
    float floor = lb_exp_floor_f32(m);
    bool floored = !(lo >= floor); /* as in lb_avx512_sum_exp_lo_f32 */
#define SUM_EXP_REST(mode) floored ? sum_exp_rest_impl(n, x, m, floor, true, ties, touch, ahead, mode) \
                                   : sum_exp_rest_impl(n, x, m, floor, false, ties, touch, ahead, mode)
    switch (lb_diff_mode_f32(m, lo)) {
    case LB_DIFF_FAST_M: return SUM_EXP_REST(LB_DIFF_FAST_M);
    case LB_DIFF_FAST_X: return SUM_EXP_REST(LB_DIFF_FAST_X);
    case LB_DIFF_TWOSUM: break;
    }
    return SUM_EXP_REST(LB_DIFF_TWOSUM);
#undef SUM_EXP_REST
}

/* y_j = (x_j - c_hi) - c_lo: a masked head up to y's first 64-byte boundary,
 * then whole aligned vectors. */
LB_ALWAYS_INLINE void write_shifted(size_t n, const float *x, float c_hi, float c_lo, float *y)
{
    const __m512 vhi = _mm512_set1_ps(c_hi), vlo = _mm512_set1_ps(c_lo);
    size_t j = lb_head_to_align64(y, sizeof(float), n);
    if (j > 0) {
        __mmask16 mask = lb_mask16(j);
        __m512 v = _mm512_maskz_loadu_ps(mask, x);
        _mm512_mask_storeu_ps(y, mask, _mm512_sub_ps(_mm512_sub_ps(v, vhi), vlo));
    }
    for (; j + 16 <= n; j += 16)
        _mm512_storeu_ps(y + j, _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), vhi), vlo));
    if (j < n) {
        __mmask16 mask = lb_mask16(n - j);
        __m512 v = _mm512_maskz_loadu_ps(mask, x + j);
        _mm512_mask_storeu_ps(y + j, mask, _mm512_sub_ps(_mm512_sub_ps(v, vhi), vlo));
    }
}

/* c_hi + c_lo = m + log s split into floats, as the AVX2 cached-row path
 * does (its comment says why). */
static inline void split_shift(float m, double log_s, float *c_hi, float *c_lo)
{
    *c_hi = (float)((double)m + log_s);
    *c_lo = (float)(((double)m - (double)*c_hi) + log_s);
}

/* Log-softmax of `rows` (<= 4) rows of n columns, `vectors` =
 * lb_short_vectors(n) <= 4 vectors each, in registers: rest and ties as sum_exp_rest forms them, log s =
 * log1p(rest + ties - 1), y = (x - c_hi) - c_lo. As softmax_short, more
 * rows only interleave independent rows; their logarithms are one vector
 * log1p. False, with nothing written, for an edge row or |m| > 2^24. */
LB_ALWAYS_INLINE bool log_softmax_short(int rows, size_t n, const float *x, size_t ldx,
                                        float *y, size_t ldy, int vectors)
{
    __m512 v[4][4];
    float m[4];
    double rest[4], log_s[4];
    int ties[4];
    for (int r = 0; r < rows; r++) {
        m[r] = lb_short_load_max_n(n, x + (size_t)r * ldx, vectors, v[r]);
        if (!(fabsf(m[r]) <= 0x1p24f)) return false;
    }
    lb_short_prefetch_next(rows, x, ldx, y, ldy, vectors);
    for (int r = 0; r < rows; r++) {
        __m512d lo = _mm512_setzero_pd(), hi = lo;
        ties[r] = 0;
        for (int k = 0; k < vectors; k++) {
            /* padding is -inf: never equal to m */
            __mmask16 eq = _mm512_cmp_ps_mask(v[r][k], _mm512_set1_ps(m[r]), _CMP_EQ_OQ);
            ties[r] += __builtin_popcount(eq);
            lb_acc16_f32_in_f64(&lo, &hi, _mm512_maskz_mov_ps((__mmask16)~eq,
                                                               lb_short16_exp(lb_short_lanes(n, k), v[r][k], m[r])));
        }
        rest[r] = lb_hsum512_f64(_mm512_add_pd(lo, hi));
    }
    double log_arg[4];
    for (int r = 0; r < rows; r++)
        log_arg[r] = !isnan(rest[r]) && ties[r] != 0 ? rest[r] + (double)(ties[r] - 1) : 0.0;
    lb_log1p_nonneg_n(rows, log_arg, log_s); /* the rows' logarithms in one vector */
    for (int r = 0; r < rows; r++) {
        float *y_row = y + (size_t)r * ldy;
        if (isnan(rest[r]) || ties[r] == 0) {
            lb_avx2_fill_f32(n, y_row, NAN);
            continue;
        }
        float c_hi, c_lo;
        split_shift(m[r], log_s[r], &c_hi, &c_lo);
        const __m512 vhi = _mm512_set1_ps(c_hi), vlo = _mm512_set1_ps(c_lo);
        for (int k = 0; k < vectors; k++)
            _mm512_mask_storeu_ps(y_row + 16 * k, lb_mask16(lb_short_lanes(n, k)),
                                  _mm512_sub_ps(_mm512_sub_ps(v[r][k], vhi), vlo));
    }
    return true;
}

/* Log-softmax of a group of medium rows (16 < n <= LB_MEDIUM_ROW_F32), as
 * softmax_medium groups them (the same bits one by one): rest = sum exp(x -
 * m) over x != m, every vector widened into double lanes (y at the maximum
 * is about -rest when rest is small, so rest keeps its relative
 * precision), ties = how many equal m, log s = log1p(rest + ties - 1) for
 * the group in one vector, y = (x - c_hi) - c_lo. */
LB_ALWAYS_INLINE void log_softmax_medium_sweeps(int rows, size_t n, const float *x, size_t ldx,
                                                float *y, size_t ldy, const lb_medium_rows *g,
                                                bool floored, enum lb_diff_mode mode)
{
    const size_t full = n / 16;
    const __mmask16 tail = lb_mask16(n % 16);
    __m512 vm[4], minus_m[4], floor[4];
    __m512d acc_lo[4], acc_hi[4];
    int64_t ties[4];
    for (int r = 0; r < rows; r++) {
        vm[r] = _mm512_set1_ps(g->m[r]);
        minus_m[r] = _mm512_set1_ps(-g->m[r]);
        floor[r] = _mm512_set1_ps(g->floor[r]);
        acc_lo[r] = acc_hi[r] = _mm512_setzero_pd();
        ties[r] = 0;
    }
#define REST_TERMS(r, at, in_row)                                                             \
    do {                                                                                      \
        __m512 xv = _mm512_mask_loadu_ps(vm[r], in_row, x + (size_t)(r) * ldx + (at));        \
        __mmask16 eq = _mm512_mask_cmp_ps_mask(in_row, xv, vm[r], _CMP_EQ_OQ);                \
        ties[r] += __builtin_popcount(eq);                                                    \
        __m512 e = _mm512_maskz_mov_ps(in_row & (__mmask16)~eq,                               \
                                       lb_exp512_shifted_f32(xv, minus_m[r], floor[r], floored, false, mode)); \
        lb_acc16_f32_in_f64(&acc_lo[r], &acc_hi[r], e);                                       \
    } while (0)
    for (size_t v = 0; v < full; v++)
        for (int r = 0; r < rows; r++) REST_TERMS(r, 16 * v, (__mmask16)0xffff);
    if (tail)
        for (int r = 0; r < rows; r++) REST_TERMS(r, 16 * full, tail);
#undef REST_TERMS
    double rest[4], log_arg[4], log_s[4];
    for (int r = 0; r < rows; r++) {
        rest[r] = lb_hsum512_f64(_mm512_add_pd(acc_lo[r], acc_hi[r]));
        log_arg[r] = !isnan(rest[r]) && ties[r] != 0 ? rest[r] + (double)(ties[r] - 1) : 0.0;
    }
    lb_log1p_nonneg_n(rows, log_arg, log_s); /* the group's logarithms in one vector */
    for (int r = 0; r < rows; r++) {
        const float *x_row = x + (size_t)r * ldx;
        float *y_row = y + (size_t)r * ldy;
        if (isnan(rest[r]) || ties[r] == 0) { /* ties == 0: the maximum was a NaN */
            lb_avx2_fill_f32(n, y_row, NAN);
            continue;
        }
        float c_hi, c_lo;
        split_shift(g->m[r], log_s[r], &c_hi, &c_lo);
        write_shifted(n, x_row, c_hi, c_lo, y_row);
    }
}

LB_ALWAYS_INLINE bool log_softmax_medium(int rows, size_t n, const float *x, size_t ldx, float *y,
                                         size_t ldy)
{
    lb_medium_rows g;
    if (!lb_medium_max_min(rows, n, x, ldx, y, ldy, &g)) return false;
#define SWEEPS(floored, mode) log_softmax_medium_sweeps(rows, n, x, ldx, y, ldy, &g, floored, mode)
    LB_MEDIUM_DISPATCH(g, SWEEPS);
#undef SWEEPS
    return true;
}

/* y = (x - c_hi) - c_lo with c_hi + c_lo = m + log s split into floats. */
static void log_softmax_f32_avx512(size_t n, const float *x, float *y)
{
    float m, lo;
    enum avx2_row_kind kind;
    if (n <= LB_SHORT4_ROW_F32_AVX512 && LB_SHORT_SWITCH(n, log_softmax_short, 1, n, x, n, y, n))
        return;
    if (n > LB_SHORT4_ROW_F32_AVX512 && n <= LB_MEDIUM_ROW_F32 &&
        log_softmax_medium(1, n, x, n, y, n))
        return;
    if (n * sizeof(float) > LB_CACHED_ROW_BYTES) { /* long rows: the chunk sums, log s */
        lb_long_row_f32 row;
        switch (lb_long_row_exp_f32(n, x, NULL, n, &row, &lb_avx512_chunk_sweeps)) {
        case AVX2_ROW_NAN: lb_avx2_fill_f32(n, y, NAN); return;
        case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f32(n, y, -INFINITY); return;
        case AVX2_ROW_FINITE: break;
        }
        if (!(fabsf(row.m) <= 0x1p24f)) { /* nothing written yet: AVX2's double form */
            lb_avx2_log_softmax_f32(n, x, y);
            return;
        }
        float c_hi, c_lo;
        split_shift(row.m, log(row.s), &c_hi, &c_lo);
        write_shifted(n, x, c_hi, c_lo, y);
        return;
    }
    if (!row_for_avx512(n) || !finite_row_max(n, x, &m, &lo, &kind)) {
        lb_avx2_log_softmax_f32(n, x, y);
        return;
    }
    switch (kind) {
    case AVX2_ROW_NAN: lb_avx2_fill_f32(n, y, NAN); return;
    case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f32(n, y, -INFINITY); return;
    case AVX2_ROW_FINITE: break;
    }
    int64_t ties;
    const float *ahead = n * sizeof(float) <= LB_PREFETCH_ROW_BYTES ? x + n : NULL;
    double rest = sum_exp_rest(n, x, m, lo, &ties, y, ahead);
    if (isnan(rest) || ties == 0) { /* ties == 0: the maximum was a NaN */
        lb_avx2_fill_f32(n, y, NAN);
        return;
    }
    double log_s = lb_log1p_nonneg(rest + (double)(ties - 1));
    float c_hi, c_lo;
    split_shift(m, log_s, &c_hi, &c_lo);
    write_shifted(n, x, c_hi, c_lo, y);
}

/* Four rows (in registers up to 64 columns, interleaved sweeps up to
 * LB_MEDIUM_ROW_F32): the same bits as four log_softmax_f32_avx512 calls. */
LB_SHORT_GROUPS(log_softmax_short)
static LB_NOINLINE bool log_softmax_medium_group(size_t n, const float *x, size_t ldx, float *y,
                                                 size_t ldy)
{
    return log_softmax_medium(4, n, x, ldx, y, ldy);
}
static void log_softmax_rows4_f32_avx512(size_t n, const float *x, size_t ldx, float *y,
                                         size_t ldy)
{
    if (n <= LB_SHORT4_ROW_F32_AVX512 ? LB_SHORT_GROUP_CALL(log_softmax_short, n, x, ldx, y, ldy)
                                      : n <= LB_MEDIUM_ROW_F32 && log_softmax_medium_group(n, x, ldx, y, ldy))
        return;
    for (size_t r = 0; r < 4; r++) log_softmax_f32_avx512(n, x + r * ldx, y + r * ldy);
}

/* ------------------------------------------------------------------------ */
/* Backward passes                                                          */
/* ------------------------------------------------------------------------ */

/* <a, b>, as dot_f32 in softmax_avx2.c: groups of four products summed in
 * float by FMA, then widened into double lanes. */
static double dot(size_t n, const float *a, const float *b)
{
    __m512d lo = _mm512_setzero_pd(), hi = lo;
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        __m512 g01 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 16), _mm512_loadu_ps(b + j + 16),
                                     _mm512_mul_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j)));
        __m512 g23 = _mm512_fmadd_ps(_mm512_loadu_ps(a + j + 48), _mm512_loadu_ps(b + j + 48),
                                     _mm512_mul_ps(_mm512_loadu_ps(a + j + 32),
                                                   _mm512_loadu_ps(b + j + 32)));
        lb_acc16_f32_in_f64(&lo, &hi, _mm512_add_ps(g01, g23));
    }
    for (; j < n; j += 16) {
        __mmask16 mask = lb_mask16(n - j < 16 ? n - j : 16);
        lb_acc16_f32_in_f64(&lo, &hi, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, a + j),
                                                     _mm512_maskz_loadu_ps(mask, b + j)));
    }
    return lb_hsum512_f64(_mm512_add_pd(lo, hi));
}

/* sum of a float row, as sum_f32 in softmax_avx2.c */
static double sum(size_t n, const float *a)
{
    __m512d lo = _mm512_setzero_pd(), hi = lo;
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        __m512 g01 = _mm512_add_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(a + j + 16));
        __m512 g23 = _mm512_add_ps(_mm512_loadu_ps(a + j + 32), _mm512_loadu_ps(a + j + 48));
        lb_acc16_f32_in_f64(&lo, &hi, _mm512_add_ps(g01, g23));
    }
    for (; j < n; j += 16)
        lb_acc16_f32_in_f64(&lo, &hi, _mm512_maskz_loadu_ps(lb_mask16(n - j < 16 ? n - j : 16), a + j));
    return lb_hsum512_f64(_mm512_add_pd(lo, hi));
}

/* 16 outputs of a backward pass at j (lanes outside `mask` read 0):
 * softmax:     dx = a * ((b - hi) - lo), a = y, b = dy, hi + lo = <y, dy>
 * log-softmax: dx = b - exp(a) hi - exp(a) lo, a = logy, b = dy,
 *              hi + lo = sum dy */
LB_ALWAYS_INLINE __m512 backward_vec(const float *a, const float *b, size_t j, __mmask16 mask,
                                     __m512 hi, __m512 lo, bool log_form)
{
    __m512 va = _mm512_maskz_loadu_ps(mask, a + j), vb = _mm512_maskz_loadu_ps(mask, b + j);
    if (!log_form) return _mm512_mul_ps(va, _mm512_sub_ps(_mm512_sub_ps(vb, hi), lo));
    __m512 p = lb_exp512_any_f32(va);
    return _mm512_fnmadd_ps(p, lo, _mm512_fnmadd_ps(p, hi, vb));
}

/* The output sweep of both backward passes; streaming stores with an
 * aligned body when stream. */
LB_ALWAYS_INLINE void backward_sweep_next(size_t n, const float *a, const float *b, float *dx,
                                          double c, bool stream, bool log_form,
                                          const float *next_a, const float *next_b)
{
    float c_hi = (float)c, c_lo = (float)(c - (double)c_hi);
    const __m512 hi = _mm512_set1_ps(c_hi), lo = _mm512_set1_ps(c_lo);
    const __mmask16 all = (__mmask16)0xffff;
    size_t j = lb_head_to_align64(dx, sizeof(float), n);
    if (j > 0) _mm512_mask_storeu_ps(dx, lb_mask16(j), backward_vec(a, b, 0, lb_mask16(j), hi, lo, log_form));
#define NEXT_ROWS(at)                                                                         \
    do {                                                                                      \
        if (next_a) {                                                                         \
            _mm_prefetch((const char *)(next_a + (at)), _MM_HINT_T0);                         \
            _mm_prefetch((const char *)(next_b + (at)), _MM_HINT_T0);                         \
        }                                                                                     \
    } while (0)
    if (stream) {
        for (; j + 16 <= n; j += 16) {
            NEXT_ROWS(j);
            _mm512_stream_ps(dx + j, backward_vec(a, b, j, all, hi, lo, log_form));
        }
    } else {
        for (; j + 16 <= n; j += 16) {
            NEXT_ROWS(j);
            _mm512_storeu_ps(dx + j, backward_vec(a, b, j, all, hi, lo, log_form));
        }
    }
#undef NEXT_ROWS
    if (j < n) {
        __mmask16 mask = lb_mask16(n - j);
        _mm512_mask_storeu_ps(dx + j, mask, backward_vec(a, b, j, mask, hi, lo, log_form));
    }
}

/* The same without prefetching. */
LB_ALWAYS_INLINE void backward_sweep(size_t n, const float *a, const float *b, float *dx,
                                     double c, bool stream, bool log_form)
{
    backward_sweep_next(n, a, b, dx, c, stream, log_form, NULL, NULL);
}

/* Rows of 17 to this many floats take the softmax backward pass in groups
 * of four: a dot product and one output sweep of a few vectors per row are
 * short enough for their latency (the horizontal sum) to show, and a group
 * overlaps four (1024 x 32 in cache 16.6 -> 10.0 us, 0.70x -> 1.16x
 * oneDNN). At 80 to 128 classes groups measured 0-9 % faster; a first form
 * that widened every product to double was 1.4-1.7x slower at 250. The
 * output sweeps go row by row: interleaved, they made every stream strided
 * and 1024 x 64 out of cache 20 % slower. Each is backward_sweep, its
 * stores aligned to dx: rows of 100 floats start off a 64-byte boundary
 * three times in four, and row-relative stores split cache lines (1024 x
 * 100 in cache 30.9 -> 24.8 us, 64 x 65-100 0.76-0.79x the time). */
#define LB_MEDIUM_BACKWARD_ROW_F32 128

/* Rows of up to this many floats in a group of four prefetch the next
 * row's y and dy into L1 during each output sweep, one line of each per
 * vector stored: the next dot product then reads L1 while L2 serves the
 * stores. 1 thread, interleaved A/B: in cache 0.72-1.05x the time at
 * 150-1000 classes (64 x 1000 11.0 -> 9.5 us); rotating buffers 0.91-1.11x
 * (noise); 4096 x 1000 with streaming stores 2889 -> 2361 us. At 2000
 * floats it measured 1.08x, the two rows then outgrowing L1. */
#define LB_PREFETCH_BACKWARD_ROW_F32 1024

/* Softmax backward of `rows` (<= 4) rows of 16 < n <=
 * LB_MEDIUM_BACKWARD_ROW_F32 columns, their sweeps interleaved; a row's
 * arithmetic does not depend on `rows`. d = <y, dy> as dot() forms it (a
 * group of four vector products summed in float by FMA, then widened into
 * double lanes; the vectors after it one by one), then dx = y * ((dy -
 * d_hi) - d_lo) by the long rows' sweep. */
LB_ALWAYS_INLINE void softmax_backward_medium(int rows, size_t n, const float *y, size_t ldy,
                                              const float *dy, size_t lddy, float *dx,
                                              size_t lddx)
{
    const size_t full = n / 16, groups = n / 64;
    const __mmask16 tail = lb_mask16(n % 16);
    __m512d acc_lo[4], acc_hi[4];
    for (int r = 0; r < rows; r++) acc_lo[r] = acc_hi[r] = _mm512_setzero_pd();
#define PRODUCT(r, v) _mm512_mul_ps(_mm512_loadu_ps(y + (size_t)(r) * ldy + 16 * (v)), \
                                    _mm512_loadu_ps(dy + (size_t)(r) * lddy + 16 * (v)))
#define PRODUCT_ADD(r, v, acc) _mm512_fmadd_ps(_mm512_loadu_ps(y + (size_t)(r) * ldy + 16 * (v)), \
                                               _mm512_loadu_ps(dy + (size_t)(r) * lddy + 16 * (v)), acc)
    for (size_t k = 0; k < groups; k++) {
        for (int r = 0; r < rows; r++) {
            __m512 g01 = PRODUCT_ADD(r, 4 * k + 1, PRODUCT(r, 4 * k));
            __m512 g23 = PRODUCT_ADD(r, 4 * k + 3, PRODUCT(r, 4 * k + 2));
            lb_acc16_f32_in_f64(&acc_lo[r], &acc_hi[r], _mm512_add_ps(g01, g23));
        }
    }
    for (size_t v = 4 * groups; v < full; v++)
        for (int r = 0; r < rows; r++) lb_acc16_f32_in_f64(&acc_lo[r], &acc_hi[r], PRODUCT(r, v));
#undef PRODUCT
#undef PRODUCT_ADD
    if (tail) {
        for (int r = 0; r < rows; r++)
            lb_acc16_f32_in_f64(&acc_lo[r], &acc_hi[r],
                                _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, y + (size_t)r * ldy + 16 * full),
                                              _mm512_maskz_loadu_ps(tail, dy + (size_t)r * lddy + 16 * full)));
    }
    for (int r = 0; r < rows; r++) /* row by row: each stream sequential */
        backward_sweep(n, y + (size_t)r * ldy, dy + (size_t)r * lddy, dx + (size_t)r * lddx,
                       lb_hsum512_f64(_mm512_add_pd(acc_lo[r], acc_hi[r])), false, false);
}

/* Softmax backward of `rows` (<= 4) rows of 16 < n <= 64 columns,
 * `vectors` = lb_short_vectors(n) each, in registers, the next group's
 * rows prefetched: every product vector widened into double lanes on its
 * own (softmax_backward_medium's arithmetic below 64 columns; at 64 it
 * sums the four products in float first), then dx = y * ((dy - d_hi) -
 * d_lo). A row's arithmetic does not depend on `rows`. */
LB_ALWAYS_INLINE void softmax_backward_short(int rows, size_t n, const float *y, size_t ldy,
                                             const float *dy, size_t lddy, float *dx,
                                             size_t lddx, int vectors)
{
    __m512 vy[4][4], vdy[4][4];
    double d[4];
    for (int r = 0; r < rows; r++) {
        __m512d lo = _mm512_setzero_pd(), hi = lo;
        for (int k = 0; k < vectors; k++) {
            __mmask16 mask = lb_mask16(lb_short_lanes(n, k));
            vy[r][k] = _mm512_maskz_loadu_ps(mask, y + (size_t)r * ldy + 16 * k);
            vdy[r][k] = _mm512_maskz_loadu_ps(mask, dy + (size_t)r * lddy + 16 * k);
            lb_acc16_f32_in_f64(&lo, &hi, _mm512_mul_ps(vy[r][k], vdy[r][k]));
            _mm_prefetch((const char *)(y + (size_t)(r + rows) * ldy + 16 * k), _MM_HINT_T0);
            _mm_prefetch((const char *)(dy + (size_t)(r + rows) * lddy + 16 * k), _MM_HINT_T0);
        }
        d[r] = lb_hsum512_f64(_mm512_add_pd(lo, hi));
    }
    for (int r = 0; r < rows; r++) {
        float d_hi = (float)d[r], d_lo = (float)(d[r] - (double)d_hi);
        const __m512 hi = _mm512_set1_ps(d_hi), lo = _mm512_set1_ps(d_lo);
        for (int k = 0; k < vectors; k++)
            _mm512_mask_storeu_ps(dx + (size_t)r * lddx + 16 * k, lb_mask16(lb_short_lanes(n, k)),
                                  _mm512_mul_ps(vy[r][k], _mm512_sub_ps(_mm512_sub_ps(vdy[r][k], hi), lo)));
    }
}
/* The one-row and four-row forms, by vector count (2 to 4). */
LB_ALWAYS_INLINE void softmax_backward_short_any(int rows, size_t n, const float *y, size_t ldy,
                                                 const float *dy, size_t lddy, float *dx,
                                                 size_t lddx)
{
    switch (lb_short_vectors(n)) {
    case 2: softmax_backward_short(rows, n, y, ldy, dy, lddy, dx, lddx, 2); return;
    case 3: softmax_backward_short(rows, n, y, ldy, dy, lddy, dx, lddx, 3); return;
    default: softmax_backward_short(rows, n, y, ldy, dy, lddy, dx, lddx, 4); return;
    }
}

/* Log-softmax backward of `rows` (<= 4) rows of 16 < n <= 64 columns,
 * `vectors` = lb_short_vectors(n) each, dy in registers, the next group's
 * rows prefetched: s = sum dy as sum() forms it (each vector widened into
 * double lanes on its own; at 64 columns the four summed in float first),
 * then dx = dy - p s_hi - p s_lo, p = exp(logy), as backward_vec. A row's
 * arithmetic does not depend on `rows`. One row of these took 0.71-0.88x
 * the time of the two sweeps at 20-64 classes (1 thread, in cache). */
LB_ALWAYS_INLINE void log_softmax_backward_short(int rows, size_t n, const float *logy,
                                                 size_t ldlogy, const float *dy, size_t lddy,
                                                 float *dx, size_t lddx, int vectors)
{
    __m512 vdy[4][4];
    double s[4];
    for (int r = 0; r < rows; r++) {
        __m512d lo = _mm512_setzero_pd(), hi = lo;
        for (int k = 0; k < vectors; k++) {
            vdy[r][k] = _mm512_maskz_loadu_ps(lb_mask16(lb_short_lanes(n, k)), dy + (size_t)r * lddy + 16 * k);
            _mm_prefetch((const char *)(logy + (size_t)(r + rows) * ldlogy + 16 * k), _MM_HINT_T0);
            _mm_prefetch((const char *)(dy + (size_t)(r + rows) * lddy + 16 * k), _MM_HINT_T0);
        }
        if (n == 64) {
            lb_acc16_f32_in_f64(&lo, &hi, _mm512_add_ps(_mm512_add_ps(vdy[r][0], vdy[r][1]),
                                                        _mm512_add_ps(vdy[r][2], vdy[r][3])));
        } else {
            for (int k = 0; k < vectors; k++) lb_acc16_f32_in_f64(&lo, &hi, vdy[r][k]);
        }
        s[r] = lb_hsum512_f64(_mm512_add_pd(lo, hi));
    }
    for (int r = 0; r < rows; r++) {
        float s_hi = (float)s[r], s_lo = (float)(s[r] - (double)s_hi);
        const __m512 hi = _mm512_set1_ps(s_hi), lo = _mm512_set1_ps(s_lo);
        for (int k = 0; k < vectors; k++) {
            __mmask16 mask = lb_mask16(lb_short_lanes(n, k));
            __m512 p = lb_exp512_any_f32(_mm512_maskz_loadu_ps(mask, logy + (size_t)r * ldlogy + 16 * k));
            _mm512_mask_storeu_ps(dx + (size_t)r * lddx + 16 * k, mask,
                                  _mm512_fnmadd_ps(p, lo, _mm512_fnmadd_ps(p, hi, vdy[r][k])));
        }
    }
}
LB_ALWAYS_INLINE void log_softmax_backward_short_any(int rows, size_t n, const float *logy,
                                                     size_t ldlogy, const float *dy, size_t lddy,
                                                     float *dx, size_t lddx)
{
    switch (lb_short_vectors(n)) {
    case 2: log_softmax_backward_short(rows, n, logy, ldlogy, dy, lddy, dx, lddx, 2); return;
    case 3: log_softmax_backward_short(rows, n, logy, ldlogy, dy, lddy, dx, lddx, 3); return;
    default: log_softmax_backward_short(rows, n, logy, ldlogy, dy, lddy, dx, lddx, 4); return;
    }
}

/* dx = y * ((dy - d_hi) - d_lo), d = <y, dy> split into floats (the AVX2
 * kernel's comment says why). Rows of up to 16 entries go to AVX2, whose
 * register kernel is the one the four-row groups use; rows of 17 to 64 are
 * in AVX-512 registers (1 thread, interleaved against the medium sweeps:
 * 0.68-0.99x the time in cache and out). */
LB_ALWAYS_INLINE void softmax_backward_impl(size_t n, const float *y, const float *dy, float *dx,
                                            bool stream)
{
    if (n <= LB_ROW_GROUP_MAX_COLS) lb_avx2_softmax_backward_f32(n, y, dy, dx);
    else if (n <= LB_SHORT4_ROW_F32_AVX512) softmax_backward_short_any(1, n, y, n, dy, n, dx, n);
    else if (n <= LB_MEDIUM_BACKWARD_ROW_F32) softmax_backward_medium(1, n, y, n, dy, n, dx, n);
    else backward_sweep(n, y, dy, dx, dot(n, y, dy), stream, false);
}

/* dx = dy - exp(logy) s, s = sum dy split into floats s_hi + s_lo; rows
 * of 17 to 64 in registers. */
LB_ALWAYS_INLINE void log_softmax_backward_impl(size_t n, const float *logy, const float *dy,
                                                float *dx, bool stream)
{
    if (n <= LB_SHORT_ROW_F32_AVX512) {
        /* one vector: the exp is the work here, and one 16-lane exp
         * replaces AVX2's two 8-lane ones (1024 x 10 f32 in cache 14.5-18
         * -> 9.4-9.7 us); the sum is the row widened exactly, added in
         * double */
        __mmask16 mask = lb_mask16(n);
        __m512 d = _mm512_maskz_loadu_ps(mask, dy);
        double s = lb_sum16_in_f64(d);
        float s_hi = (float)s, s_lo = (float)(s - (double)s_hi);
        __m512 p = lb_exp512_any_f32(_mm512_maskz_loadu_ps(mask, logy));
        __m512 r = _mm512_fnmadd_ps(p, _mm512_set1_ps(s_hi), d);
        _mm512_mask_storeu_ps(dx, mask, _mm512_fnmadd_ps(p, _mm512_set1_ps(s_lo), r));
    } else if (n <= LB_SHORT4_ROW_F32_AVX512) {
        log_softmax_backward_short_any(1, n, logy, n, dy, n, dx, n);
    } else {
        backward_sweep(n, logy, dy, dx, sum(n, dy), stream, true);
    }
}

static void softmax_backward_f32_avx512(size_t n, const float *y, const float *dy, float *dx)
{
    softmax_backward_impl(n, y, dy, dx, false);
}
static void softmax_backward_stream_f32_avx512(size_t n, const float *y, const float *dy,
                                               float *dx)
{
    softmax_backward_impl(n, y, dy, dx, true);
}
/* Four rows: AVX2's register groups up to 16 columns, AVX-512 registers up
 * to 64, the interleaved sweeps up to LB_MEDIUM_BACKWARD_ROW_F32, longer
 * rows one by one; the same bits as four softmax_backward_f32_avx512
 * calls. */
static LB_NOINLINE void softmax_backward_medium_group(size_t n, const float *y, size_t ldy,
                                                      const float *dy, size_t lddy, float *dx,
                                                      size_t lddx)
{
    softmax_backward_medium(4, n, y, ldy, dy, lddy, dx, lddx);
}
static LB_NOINLINE void backward_short_group(size_t n, const float *y, size_t ldy,
                                             const float *dy, size_t lddy, float *dx,
                                             size_t lddx)
{
    softmax_backward_short_any(4, n, y, ldy, dy, lddy, dx, lddx);
}
/* Long rows of a group: each output sweep prefetches the next row (the
 * fourth the row past the group, as the medium path prefetches past the
 * matrix: harmless). */
static LB_NOINLINE void softmax_backward_prefetch_group(size_t n, const float *y, size_t ldy,
                                                        const float *dy, size_t lddy, float *dx,
                                                        size_t lddx, bool stream)
{
    for (size_t r = 0; r < 4; r++) {
        const float *y_r = y + r * ldy, *dy_r = dy + r * lddy;
        backward_sweep_next(n, y_r, dy_r, dx + r * lddx, dot(n, y_r, dy_r), stream, false,
                            y_r + ldy, dy_r + lddy);
    }
}
static void softmax_backward_rows4_f32_avx512(size_t n, const float *y, size_t ldy,
                                              const float *dy, size_t lddy, float *dx,
                                              size_t lddx, bool stream)
{
    if (n <= LB_ROW_GROUP_MAX_COLS) lb_avx2_softmax_backward_rows4_f32(n, y, ldy, dy, lddy, dx, lddx, stream);
    else if (n <= LB_SHORT4_ROW_F32_AVX512) backward_short_group(n, y, ldy, dy, lddy, dx, lddx);
    else if (n <= LB_MEDIUM_BACKWARD_ROW_F32) softmax_backward_medium_group(n, y, ldy, dy, lddy, dx, lddx);
    else if (n <= LB_PREFETCH_BACKWARD_ROW_F32)
        softmax_backward_prefetch_group(n, y, ldy, dy, lddy, dx, lddx, stream);
    else
        for (size_t r = 0; r < 4; r++)
            softmax_backward_impl(n, y + r * ldy, dy + r * lddy, dx + r * lddx, stream);
}
static void log_softmax_backward_f32_avx512(size_t n, const float *logy, const float *dy,
                                            float *dx)
{
    log_softmax_backward_impl(n, logy, dy, dx, false);
}
static void log_softmax_backward_stream_f32_avx512(size_t n, const float *logy, const float *dy,
                                                   float *dx)
{
    log_softmax_backward_impl(n, logy, dy, dx, true);
}
/* Four rows of 17 to 64 floats in registers, the same bits as four
 * log_softmax_backward_f32_avx512 calls; other widths row by row. */
static LB_NOINLINE void log_backward_short_group(size_t n, const float *logy, size_t ldlogy,
                                                 const float *dy, size_t lddy, float *dx,
                                                 size_t lddx)
{
    log_softmax_backward_short_any(4, n, logy, ldlogy, dy, lddy, dx, lddx);
}
static void log_softmax_backward_rows4_f32_avx512(size_t n, const float *logy, size_t ldlogy,
                                                  const float *dy, size_t lddy, float *dx,
                                                  size_t lddx, bool stream)
{
    if (n > LB_SHORT_ROW_F32_AVX512 && n <= LB_SHORT4_ROW_F32_AVX512) {
        log_backward_short_group(n, logy, ldlogy, dy, lddy, dx, lddx);
        return;
    }
    for (size_t r = 0; r < 4; r++)
        log_softmax_backward_impl(n, logy + r * ldlogy, dy + r * lddy, dx + r * lddx, stream);
}

/* ------------------------------------------------------------------------ */
/* f64                                                                      */
/* ------------------------------------------------------------------------ */

/* The f64 kernels of softmax_avx2.c eight lanes at a time, for rows that
 * stay in cache (longer rows: the AVX2 kernels, online passes in chunks).
 * The exp has the AVX2 bits (exp_avx512.h); sums run in eight lanes, folded
 * every FOLD_VECTORS_F64 vectors, so they group the terms differently from
 * AVX2's four lanes (last-bit differences in the normalizer). Tails are
 * masked: lanes past the row read 0 (sums) or -inf (maximum). These are
 * exp-bound in cache (the f64 exp is 17 operations per vector), which is
 * what eight lanes halve. */
#define FOLD_VECTORS_F64 64

double lb_avx512_row_max_f64(size_t n, const double *x)
{
    const __m512d neg_inf = _mm512_set1_pd(-INFINITY);
    __m512d mx[4] = {neg_inf, neg_inf, neg_inf, neg_inf};
    size_t j = 0;
    for (; j + 32 <= n; j += 32)
        for (int k = 0; k < 4; k++) mx[k] = _mm512_max_pd(mx[k], _mm512_loadu_pd(x + j + 8 * k));
    for (int k = 0; j < n; j += 8, k++) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j < 8 ? n - j : 8);
        mx[k] = _mm512_max_pd(mx[k], _mm512_mask_loadu_pd(neg_inf, mask, x + j));
    }
    return _mm512_reduce_max_pd(_mm512_max_pd(_mm512_max_pd(mx[0], mx[1]), _mm512_max_pd(mx[2], mx[3])));
}

/* sum_j exp(x_j - m), e_j stored when e != NULL (e may be x); with ties
 * != NULL, entries equal to m are left out of the sum and counted in *ties
 * (log-softmax's rest; their e_j = 1 is still stored). */
LB_ALWAYS_INLINE double sum_exp_f64_impl(size_t n, const double *x, double m, double *e,
                                         int64_t *ties, const double *ahead)
{
    const __m512d vm = _mm512_set1_pd(m), zero = _mm512_setzero_pd();
    __m512d total = zero, a0 = zero, a1 = zero;
    int64_t tie_count = 0;
    size_t j = 0, since_fold = 0;
#define TERM(at, mask, acc)                                                                   \
    do {                                                                                      \
        __m512d x_ = _mm512_maskz_loadu_pd(mask, x + (at));                                  \
        __m512d e_ = _mm512_maskz_mov_pd(mask, lb_exp512_shifted_f64(x_, vm));               \
        if (e) _mm512_mask_storeu_pd(e + (at), mask, e_);                                     \
        if (ties) {                                                                           \
            __mmask8 eq_ = _mm512_mask_cmp_pd_mask(mask, x_, vm, _CMP_EQ_OQ);                 \
            tie_count += __builtin_popcount(eq_);                                             \
            e_ = _mm512_maskz_mov_pd((__mmask8)~eq_, e_);                                     \
        }                                                                                     \
        acc = _mm512_add_pd(acc, e_);                                                         \
    } while (0)
    const __mmask8 all = (__mmask8)0xff;
    for (; j + 16 <= n; j += 16) {
        if (ahead) { /* the next row into L2 as the sweep goes */
            _mm_prefetch((const char *)(ahead + j), _MM_HINT_T1);
            _mm_prefetch((const char *)(ahead + j + 8), _MM_HINT_T1);
        }
        TERM(j, all, a0);
        TERM(j + 8, all, a1);
        if ((since_fold += 2) == FOLD_VECTORS_F64) {
            total = _mm512_add_pd(total, _mm512_add_pd(a0, a1));
            a0 = a1 = zero;
            since_fold = 0;
        }
    }
    for (; j < n; j += 8) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j < 8 ? n - j : 8);
        TERM(j, mask, a0);
    }
#undef TERM
    if (ties) *ties = tie_count;
    return lb_hsum512_f64(_mm512_add_pd(total, _mm512_add_pd(a0, a1)));
}

double lb_avx512_sum_exp_f64(size_t n, const double *x, double m, double *e,
                             const double *ahead)
{
    return sum_exp_f64_impl(n, x, m, e, NULL, ahead);
}

void lb_avx512_scale_f64(size_t n, double *y, double k)
{
    const __m512d vk = _mm512_set1_pd(k);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        _mm512_storeu_pd(y + j, _mm512_mul_pd(_mm512_loadu_pd(y + j), vk));
        _mm512_storeu_pd(y + j + 8, _mm512_mul_pd(_mm512_loadu_pd(y + j + 8), vk));
    }
    for (; j < n; j += 8) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j < 8 ? n - j : 8);
        _mm512_mask_storeu_pd(y + j, mask, _mm512_mul_pd(_mm512_maskz_loadu_pd(mask, y + j), vk));
    }
}

/* The AVX-512 f64 forward kernels take the rows that stay in cache. */
static bool row_for_avx512_f64(size_t n) { return n * sizeof(double) <= LB_CACHED_ROW_BYTES; }

/* Softmax: m, e_j = exp(x_j - m) stored into y, y *= 1 / s (as AVX2). */
static void softmax_f64_avx512(size_t n, const double *x, double *y)
{
    if (!row_for_avx512_f64(n)) {
        lb_avx2_softmax_f64(n, x, y);
        return;
    }
    double m = lb_avx512_row_max_f64(n, x);
    switch (lb_avx2_classify_f64(n, x, m)) {
    case AVX2_ROW_NAN: lb_avx2_fill_f64(n, y, NAN); return;
    case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f64(n, y, 0.0); return;
    case AVX2_ROW_FINITE: break;
    }
    double s = lb_avx512_sum_exp_f64(n, x, m, y, next_row_f64(x, n));
    if (isnan(s)) {
        lb_avx2_fill_f64(n, y, NAN);
        return;
    }
    lb_avx512_scale_f64(n, y, 1.0 / s);
}

/* Log-softmax: log s = log1p(rest + ties - 1) with the maximum's terms
 * (exactly 1 each) kept out of rest, as max_and_log_sum_f64 in
 * softmax_avx2.c; then y = (x - m) - log s. */
LB_ALWAYS_INLINE void log_softmax_f64_impl(size_t n, const double *x, double *y, bool stream)
{
    if (!row_for_avx512_f64(n)) {
        if (stream) lb_avx2_log_softmax_stream_f64(n, x, y);
        else lb_avx2_log_softmax_f64(n, x, y);
        return;
    }
    double m = lb_avx512_row_max_f64(n, x);
    switch (lb_avx2_classify_f64(n, x, m)) {
    case AVX2_ROW_NAN: lb_avx2_fill_f64(n, y, NAN); return;
    case AVX2_ROW_ALL_NEG_INF: lb_avx2_fill_f64(n, y, -INFINITY); return;
    case AVX2_ROW_FINITE: break;
    }
    int64_t ties;
    double rest = sum_exp_f64_impl(n, x, m, NULL, &ties, next_row_f64(x, n));
    if (isnan(rest) || ties == 0) { /* ties == 0: m is a NaN */
        lb_avx2_fill_f64(n, y, NAN);
        return;
    }
    double log_s = lb_log1p_nonneg(rest + (double)(ties - 1));
    const __m512d vm = _mm512_set1_pd(m), vl = _mm512_set1_pd(log_s);
    size_t j = 0;
    if (stream) {
        j = lb_head_to_align64(y, sizeof(double), n);
        if (j > 0) {
            __mmask8 mask = (__mmask8)lb_mask16(j);
            _mm512_mask_storeu_pd(y, mask, _mm512_sub_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(mask, x), vm), vl));
        }
        for (; j + 8 <= n; j += 8)
            _mm512_stream_pd(y + j, _mm512_sub_pd(_mm512_sub_pd(_mm512_loadu_pd(x + j), vm), vl));
    } else {
        for (; j + 8 <= n; j += 8)
            _mm512_storeu_pd(y + j, _mm512_sub_pd(_mm512_sub_pd(_mm512_loadu_pd(x + j), vm), vl));
    }
    if (j < n) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j);
        _mm512_mask_storeu_pd(y + j, mask, _mm512_sub_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(mask, x + j), vm), vl));
    }
}

static void log_softmax_f64_avx512(size_t n, const double *x, double *y)
{
    log_softmax_f64_impl(n, x, y, false);
}
static void log_softmax_stream_f64_avx512(size_t n, const double *x, double *y)
{
    log_softmax_f64_impl(n, x, y, true);
}

/* Log-softmax backward: dx = dy - exp(logy) s, s = sum dy (as AVX2, which
 * needs no split of s in double). Any row length: one sum, one sweep. */
static void log_softmax_backward_f64_avx512(size_t n, const double *logy, const double *dy,
                                            double *dx)
{
    __m512d total = _mm512_setzero_pd(), acc = total;
    size_t j = 0, since_fold = 0;
    for (; j + 8 <= n; j += 8) {
        acc = _mm512_add_pd(acc, _mm512_loadu_pd(dy + j));
        if (++since_fold == FOLD_VECTORS_F64) {
            total = _mm512_add_pd(total, acc);
            acc = _mm512_setzero_pd();
            since_fold = 0;
        }
    }
    if (j < n) acc = _mm512_add_pd(acc, _mm512_maskz_loadu_pd((__mmask8)lb_mask16(n - j), dy + j));
    const __m512d vs = _mm512_set1_pd(lb_hsum512_f64(_mm512_add_pd(total, acc)));
    for (j = 0; j + 8 <= n; j += 8) {
        __m512d p = lb_exp512_any_f64(_mm512_loadu_pd(logy + j));
        _mm512_storeu_pd(dx + j, _mm512_fnmadd_pd(p, vs, _mm512_loadu_pd(dy + j)));
    }
    if (j < n) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j);
        __m512d p = lb_exp512_any_f64(_mm512_maskz_loadu_pd(mask, logy + j));
        _mm512_mask_storeu_pd(dx + j, mask, _mm512_fnmadd_pd(p, vs, _mm512_maskz_loadu_pd(mask, dy + j)));
    }
}

/* Softmax backward: d = y . dy in eight lanes (two accumulators folded into
 * the total every FOLD_VECTORS_F64 vectors, a masked tail), then dx = y (dy
 * - d), as AVX2 forms it (dx may be y or dy). stream: streaming stores for
 * dx's whole 64-byte lines, its first and last partial lines by masked
 * ordinary stores. */
LB_ALWAYS_INLINE void softmax_backward_f64_impl(size_t n, const double *y, const double *dy,
                                                double *dx, bool stream)
{
    const __m512d zero = _mm512_setzero_pd();
    __m512d total = zero, a0 = zero, a1 = zero;
    size_t j = 0, since_fold = 0;
    for (; j + 16 <= n; j += 16) {
        a0 = _mm512_fmadd_pd(_mm512_loadu_pd(y + j), _mm512_loadu_pd(dy + j), a0);
        a1 = _mm512_fmadd_pd(_mm512_loadu_pd(y + j + 8), _mm512_loadu_pd(dy + j + 8), a1);
        if ((since_fold += 2) >= FOLD_VECTORS_F64) {
            total = _mm512_add_pd(total, _mm512_add_pd(a0, a1));
            a0 = a1 = zero;
            since_fold = 0;
        }
    }
    for (; j < n; j += 8) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j < 8 ? n - j : 8);
        a0 = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(mask, y + j), _mm512_maskz_loadu_pd(mask, dy + j), a0);
    }
    const __m512d vd = _mm512_set1_pd(lb_hsum512_f64(_mm512_add_pd(total, _mm512_add_pd(a0, a1))));
#define DX(at, mask) \
    _mm512_mul_pd(_mm512_maskz_loadu_pd(mask, y + (at)), _mm512_sub_pd(_mm512_maskz_loadu_pd(mask, dy + (at)), vd))
    j = 0;
    if (stream) {
        j = lb_head_to_align64(dx, sizeof(double), n);
        if (j > 0) _mm512_mask_storeu_pd(dx, (__mmask8)lb_mask16(j), DX(0, (__mmask8)lb_mask16(j)));
        for (; j + 8 <= n; j += 8) _mm512_stream_pd(dx + j, DX(j, (__mmask8)0xff));
    } else {
        for (; j + 8 <= n; j += 8) _mm512_storeu_pd(dx + j, DX(j, (__mmask8)0xff));
    }
    if (j < n) {
        __mmask8 mask = (__mmask8)lb_mask16(n - j);
        _mm512_mask_storeu_pd(dx + j, mask, DX(j, mask));
    }
#undef DX
}

/* Rows shorter than this take the AVX2 kernel: at 50-100 doubles the
 * eight-lane dot's longer horizontal sum made the row 7-11 % slower in
 * cache, at 200 and 1000 the eight lanes took 0.75-0.78x the time. */
#define LB_BACKWARD_F64_MIN_AVX512 128

static void softmax_backward_f64_avx512(size_t n, const double *y, const double *dy, double *dx)
{
    if (n < LB_BACKWARD_F64_MIN_AVX512) lb_avx2_softmax_backward_f64(n, y, dy, dx);
    else softmax_backward_f64_impl(n, y, dy, dx, false);
}
static void softmax_backward_stream_f64_avx512(size_t n, const double *y, const double *dy,
                                               double *dx)
{
    if (n < LB_BACKWARD_F64_MIN_AVX512) lb_avx2_softmax_backward_stream_f64(n, y, dy, dx);
    else softmax_backward_f64_impl(n, y, dy, dx, true);
}

/* ------------------------------------------------------------------------ */
/* The AVX-512 table                                                        */
/* ------------------------------------------------------------------------ */

void lb_fill_avx512_kernels(lb_kernel_table *t)
{
    t->name = "avx512";
    t->softmax_f32 = softmax_f32_avx512;
    t->softmax_rows4_f32 = softmax_rows4_f32_avx512;
    t->softmax_rows4_max_cols_f32 = LB_MEDIUM_ROW_F32;
    t->log_softmax_rows4_max_cols_f32 = LB_MEDIUM_ROW_F32;
    t->log_softmax_rows4_f32 = log_softmax_rows4_f32_avx512;
    t->xent_plain_rows4_f32 = lb_avx512_xent_plain_rows4_f32;
    t->xent_plain_rows4_max_cols_f32 = LB_MEDIUM_ROW_F32;
    /* The f32 forward passes and cross-entropy keep ordinary stores in
     * passes past the caches (see LB_STREAM_MIN_BYTES in internal.h). */
    t->softmax_stream_f32 = softmax_f32_avx512;
    t->log_softmax_f32 = log_softmax_f32_avx512;
    t->log_softmax_stream_f32 = log_softmax_f32_avx512;
    t->softmax_backward_f32 = softmax_backward_f32_avx512;
    t->softmax_backward_stream_f32 = softmax_backward_stream_f32_avx512;
    t->softmax_backward_rows4_f32 = softmax_backward_rows4_f32_avx512;
    t->softmax_backward_rows4_max_cols_f32 = LB_PREFETCH_BACKWARD_ROW_F32;
    t->log_softmax_backward_rows4_f32 = log_softmax_backward_rows4_f32_avx512;
    t->log_softmax_backward_rows4_max_cols_f32 = LB_SHORT4_ROW_F32_AVX512;
    t->log_softmax_backward_f32 = log_softmax_backward_f32_avx512;
    t->log_softmax_backward_stream_f32 = log_softmax_backward_stream_f32_avx512;
    t->xent_row_f32 = lb_avx512_xent_row_f32;
    t->xent_row_stream_f32 = lb_avx512_xent_row_f32;
    t->mse_row_f32 = lb_avx512_mse_row_f32;
    t->softmax_f64 = softmax_f64_avx512;
    t->softmax_stream_f64 = softmax_f64_avx512; /* exp-bound: as on AVX2 */
    t->log_softmax_f64 = log_softmax_f64_avx512;
    t->log_softmax_stream_f64 = log_softmax_stream_f64_avx512;
    t->softmax_backward_f64 = softmax_backward_f64_avx512;
    t->softmax_backward_stream_f64 = softmax_backward_stream_f64_avx512;
    t->log_softmax_backward_f64 = log_softmax_backward_f64_avx512;
    t->log_softmax_backward_stream_f64 = log_softmax_backward_f64_avx512; /* as on AVX2 */
    t->xent_row_f64 = lb_avx512_xent_row_f64;
    t->xent_row_stream_f64 = lb_avx512_xent_row_f64;
    t->mae_row_f32 = lb_avx512_mae_row_f32;
    t->argmax_rows_f32 = lb_avx512_argmax_rows_f32;
    t->argmax_rows_f64 = lb_avx512_argmax_rows_f64;
    t->abs_max_f32 = lb_avx512_abs_max_f32;
    t->abs_max_f64 = lb_avx512_abs_max_f64;
}
