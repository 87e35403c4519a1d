/*
 * rows_avx512.h - row sweeps shared by the AVX-512 kernel files (defined in
 * softmax_avx512.c). Same contracts as their AVX2 namesakes in rows_avx2.h;
 * all take n >= 0 elements.
 */
#ifndef LOSSBLAS_ROWS_AVX512_H
#define LOSSBLAS_ROWS_AVX512_H

#include <stddef.h>
#include <stdint.h>

#include "rows_avx2.h" /* lb_long_row_f32, enum avx2_row_kind */

/* Row maximum, and the row minimum in *lo; a NaN entry may or may not show
 * in either (the normalizer catches it). */
float lb_avx512_row_max_min_f32(size_t n, const float *x, float *lo);
/* sum_j exp(x_j - m) in double lanes, e != NULL receiving exp(x_j - m) (e
 * may be x), for a row with finite maximum m, |m| <= 2^24, and minimum lo
 * (x - m by Fast2Sum where lb_diff_mode_f32 allows it). A NaN entry makes
 * the sum NaN. The e values are the bits lb_avx2_sum_exp_lo_f32 stores.
 * ahead (or NULL): n floats the caller reads next (the next row), fetched
 * into L2 one line per 16 entries as the sweep goes: spread out, the
 * fetches overlap the arithmetic, where a burst of them at the start of a
 * row would wait for free fill buffers. at_least_one: the terms, or the
 * larger sum the caller adds them into, include the row maximum's
 * exp(0) = 1 (a softmax normalizer); the sum may then err by 2^-29 of that
 * total (a faster summation, see softmax_avx512.c), otherwise it keeps
 * double precision relative to itself however small. */
double lb_avx512_sum_exp_lo_f32(size_t n, const float *x, float m, float lo, float *e,
                                const float *ahead, bool at_least_one);
/* y_j *= k */
void lb_avx512_scale_f32(size_t n, float *y, float k);
/* The sweeps of long-row chunks (lb_long_row_exp_f32 in rows_avx2.h) in
 * sixteen lanes; a chunk whose maximum is beyond +-2^24 takes the AVX2
 * sum. Chunks without the skipped index hold their own maximum's exp(0) =
 * 1, so they take the split sum. */
extern const lb_chunk_sweeps_f32 lb_avx512_chunk_sweeps;
/* f64: the row maximum (a NaN may or may not show); sum_j exp(x_j - m) for
 * a finite m, e != NULL receiving exp(x_j - m) (e may be x; the bits of
 * lb_avx2_sum_exp_f64's e), NaN when an entry is, with ahead (or NULL) the
 * next n doubles the caller reads, fetched into L2 as the sweep goes; y_j
 * *= k. */
double lb_avx512_row_max_f64(size_t n, const double *x);
double lb_avx512_sum_exp_f64(size_t n, const double *x, double m, double *e, const double *ahead);
void lb_avx512_scale_f64(size_t n, double *y, double k);
#endif /* LOSSBLAS_ROWS_AVX512_H */
