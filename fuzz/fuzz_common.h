/*
 * fuzz_common.h - what every libFuzzer harness shares: a byte reader that
 * never fails (an exhausted input reads as zeros), decoders for sizes and
 * leading dimensions (small, off-by-one, zero and huge), an independent
 * statement of the size rules in 128-bit arithmetic, and output buffers that
 * remember their contents so a harness can prove what a call did not write.
 *
 * Violations call __builtin_trap() (through FZ_CHECK) so libFuzzer reports
 * them as crashes with the input that caused them.
 */
#ifndef LOSSBLAS_FUZZ_COMMON_H
#define LOSSBLAS_FUZZ_COMMON_H

#include "lossblas.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the current input decoded to (set by each harness with FZ_CONTEXT),
 * printed with a violation so a crash file explains itself. */
static char fz_context[512];
#define FZ_CONTEXT(...) snprintf(fz_context, sizeof fz_context, __VA_ARGS__)

/* Prints the failed condition and the decoded call, then traps. */
#define FZ_CHECK(cond)                                                                  \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "invariant violated at %s:%d: %s\n  call: %s\n", __FILE__,   \
                    __LINE__, #cond, fz_context);                                       \
            __builtin_trap();                                                           \
        }                                                                               \
    } while (0)

/* Largest buffer (in elements) a harness allocates: keeps each run fast. */
#define FZ_MAX_ELEMENTS 32768u

typedef unsigned __int128 fz_u128;

/* ---- reading the input ------------------------------------------------- */

typedef struct fz_reader {
    const uint8_t *data;
    size_t size, pos;
} fz_reader;

static inline uint8_t fz_u8(fz_reader *r) { return r->pos < r->size ? r->data[r->pos++] : 0; }

static inline uint64_t fz_u64(fz_reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)fz_u8(r) << (8 * i);
    return v;
}

static inline uint32_t fz_u32(fz_reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)fz_u8(r) << (8 * i);
    return v;
}

/* Sizes at the edges of the size rules: products that just fit or just
 * overflow PTRDIFF_MAX bytes for 4- and 8-byte elements, INT_MAX (BLAS), and
 * the square roots that matter for cols*cols. */
static const size_t fz_huge_sizes[] = {
    SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2, (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX / 4,
    (size_t)PTRDIFF_MAX / 4 + 1, (size_t)PTRDIFF_MAX / 8, (size_t)PTRDIFF_MAX / 8 + 1,
    (size_t)INT_MAX, (size_t)INT_MAX + 1, (size_t)1 << 32, 3037000499u, 3037000500u,
    1518500249u, 1518500250u, 2147483647u, 1073741824u, (size_t)1 << 61, (size_t)1 << 62,
    ((size_t)1 << 60) + 1, 65535u, 65536u, 1u << 20,
};
#define FZ_HUGE_COUNT (sizeof fz_huge_sizes / sizeof fz_huge_sizes[0])

/* A huge size: one of the edges above, or 64 raw bits. */
static inline size_t fz_huge(fz_reader *r)
{
    uint8_t b = fz_u8(r);
    if (b < 224) return fz_huge_sizes[b % FZ_HUGE_COUNT];
    return (size_t)fz_u64(r);
}

/* rows: mostly 0..8, sometimes huge. */
static inline size_t fz_rows(fz_reader *r)
{
    uint8_t b = fz_u8(r);
    return b >= 0xF0 ? fz_huge(r) : b % 9;
}

/* cols: mostly 0..49 (0 is the BAD_DIMENSION case), sometimes huge. */
static inline size_t fz_cols(fz_reader *r)
{
    uint8_t b = fz_u8(r);
    return b >= 0xF0 ? fz_huge(r) : b % 50;
}

/* A leading dimension for a matrix of cols columns: equal (most often),
 * padded, one short (BAD_DIMENSION), zero, or huge. */
static inline size_t fz_ld(fz_reader *r, size_t cols)
{
    uint8_t b = fz_u8(r);
    switch (b % 10) {
    case 4: return cols + 1 + b / 10 % 7;
    case 5: return cols + 61;
    case 6: return cols > 0 ? cols - 1 : 0;
    case 7: return 0;
    case 8: return fz_huge(r);
    default: return cols;
    }
}

/* ---- the size rules, restated independently ---------------------------- */

/* Elements a rows x cols matrix with leading dimension ld spans. */
static inline fz_u128 fz_extent(size_t rows, size_t cols, size_t ld)
{
    return rows == 0 ? 0 : (fz_u128)(rows - 1) * ld + cols;
}

/* "cannot be addressed": more than PTRDIFF_MAX bytes. */
static inline bool fz_too_big(fz_u128 elements, size_t elem)
{
    return elements * elem > (fz_u128)PTRDIFF_MAX;
}

static inline bool fz_matrix_too_big(size_t rows, size_t cols, size_t ld, size_t elem)
{
    return fz_too_big(fz_extent(rows, cols, ld), elem);
}

/* Whether an expected status means the library may read the data (the call
 * got past the dimension checks), so buffers must be fully allocated. */
static inline bool fz_reads_data(lb_status expected)
{
    return expected == LB_OK || expected == LB_ERR_BAD_VALUE || expected == LB_ERR_BAD_TARGET;
}

/* ---- buffers that remember their contents ------------------------------ */

/* A buffer of a given element count. When the expected status lets the
 * library read data, it holds exactly the matrix extent (so ASan flags any
 * access past it); otherwise (the call must fail on sizes alone) a token
 * allocation. `before` is a copy of the contents right before the call. */
typedef struct fz_buf {
    unsigned char *data; /* NULL when the harness passes NULL */
    unsigned char *before;
    size_t bytes;
} fz_buf;

/* Allocates elements * elem bytes (at least 1 byte so the pointer is not
 * NULL), or none when is_null. Returns false when the buffer would exceed
 * FZ_MAX_ELEMENTS while full is required. */
static inline bool fz_alloc(fz_buf *b, fz_u128 elements, size_t elem, bool full, bool is_null)
{
    memset(b, 0, sizeof *b);
    if (is_null) return true;
    if (elements > FZ_MAX_ELEMENTS) {
        if (full) return false;
        elements = 16;
    }
    b->bytes = (size_t)elements * elem;
    b->data = malloc(b->bytes ? b->bytes : 1);
    b->before = malloc(b->bytes ? b->bytes : 1);
    if (!b->data || !b->before) abort();
    return true;
}

static inline void fz_snapshot(fz_buf *b)
{
    if (b->data) memcpy(b->before, b->data, b->bytes);
}

static inline bool fz_unchanged(const fz_buf *b)
{
    return !b->data || memcmp(b->before, b->data, b->bytes) == 0;
}

/* True when the padding of a rows x cols matrix (columns cols..ld-1 of every
 * row that has a successor inside the buffer) is bitwise as before. */
static inline bool fz_padding_unchanged(const fz_buf *b, size_t rows, size_t cols, size_t ld,
                                        size_t elem)
{
    if (!b->data || rows < 2) return true;
    for (size_t i = 0; i + 1 < rows; i++) {
        size_t start = (i * ld + cols) * elem, end = (i + 1) * ld * elem;
        if (memcmp(b->data + start, b->before + start, end - start) != 0) return false;
    }
    return true;
}

static inline void fz_free(fz_buf *b)
{
    free(b->data);
    free(b->before);
}


/* ---- option values, valid and not ------------------------------------- */

/* A reduction: mostly valid, sometimes outside the enum. */
static inline int fz_reduction(fz_reader *r)
{
    static const int invalid[] = {3, -1, 100, INT_MAX, INT_MIN};
    uint8_t b = fz_u8(r);
    return b < 232 ? b % 3 : invalid[b % 5];
}

/* A class index for a row of cols classes: mostly in range, sometimes the
 * ignore_index, just out of range, or extreme. */
static inline int64_t fz_target(fz_reader *r, size_t cols, int64_t ignore_index)
{
    uint8_t b = fz_u8(r);
    if (b < 200 && cols > 0 && cols <= INT64_MAX) return (int64_t)(b % (cols < 200 ? cols : 200));
    switch (b % 7) {
    case 0: return ignore_index;
    case 1: return -1;
    case 2: return cols <= INT64_MAX ? (int64_t)cols : INT64_MAX;
    case 3: return INT64_MIN;
    case 4: return INT64_MAX;
    case 5: return -100;
    default: return (int64_t)fz_u64(r);
    }
}

/* A double from a list of interesting ones, or raw bits. */
static inline double fz_pick_double(fz_reader *r, const double *list, size_t n)
{
    uint8_t b = fz_u8(r);
    if (b < 240) return list[b % n];
    uint64_t bits = fz_u64(r);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

#endif
