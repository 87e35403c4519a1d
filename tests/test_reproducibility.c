/*
 * test_reproducibility.c - every public function gives bitwise the same
 * outputs (values, gradients, losses, counters) for every thread count from 1
 * to 8 and on every repeated run, on shapes big enough to be spread over
 * threads (rows * work per row well above the library's 32K-element
 * threshold), in every reduction and with/without weights, smoothing and
 * padding.
 *
 * Shapes: 260 x 130 (33800 elements, just above the threshold; chunks of 8
 * rows: 33 chunks), 4500 x 8 (the 512-chunk cap: 500 chunks of 9 rows), and
 * for the Jacobians 40 x 48 (1176-2304 elements per row). Variants: each
 * reduction plain and with class weights, smoothing, grad_scale and padded
 * leading dimensions.
 *
 * The same bits also at every place of the inputs and outputs within a
 * 64-byte line (`alignment_*`): the kernels align their loads and stores
 * to the line where that pays, but every sum is grouped by position in the
 * row, never by address.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const tu_type *const types[2] = {&tu_type_f32, &tu_type_f64};

typedef struct shape {
    size_t rows, cols;
} shape;

static void check_op(tu_op op)
{
    const shape general[] = {{260, 130}, {4500, 8}};
    const shape jacobian[] = {{40, 48}};
    const shape *shapes = tu_op_is_jacobian(op) ? jacobian : general;
    size_t nshapes = tu_op_is_jacobian(op) ? 1 : 2;
    /* reduction v % 3, plain or with extras (bit 2) and padding (bit 3) */
    static const int loss_variants[] = {0, 1, 2, 12, 13, 14}, plain_variants[] = {0, 12};
    const int *variants = tu_op_has_loss(op) ? loss_variants : plain_variants;
    size_t nvariants = tu_op_has_loss(op) ? 6 : 2;
    for (int ti = 0; ti < 2; ti++) {
        for (size_t s = 0; s < nshapes; s++) {
            for (size_t vi = 0; vi < nvariants; vi++) {
                int v = variants[vi];
                tu_workload ref, again;
                tu_workload_init(&ref, op, types[ti], shapes[s].rows, shapes[s].cols, v, 1000 + v);
                tu_workload_init(&again, op, types[ti], shapes[s].rows, shapes[s].cols, v, 1000 + v);
                lb_set_num_threads(1);
                cr_assert_eq(tu_workload_run(&ref), LB_OK, "%s_%s variant %d", tu_op_name(op),
                             types[ti]->name, v);
                for (int threads = 1; threads <= 8; threads++) {
                    /* repeated runs at the ends of the range */
                    for (int repeat = 0; repeat < (threads == 1 || threads == 8 ? 2 : 1); repeat++) {
                        lb_set_num_threads(threads);
                        cr_assert_eq(tu_workload_run(&again), LB_OK);
                        cr_expect(tu_workload_same(&ref, &again),
                                  "%s_%s %zux%zu variant %d: %d threads (run %d) differ from 1",
                                  tu_op_name(op), types[ti]->name, shapes[s].rows,
                                  shapes[s].cols, v, threads, repeat);
                    }
                }
                tu_workload_free(&ref);
                tu_workload_free(&again);
            }
        }
    }
    lb_set_num_threads(0);
}

Test(reproducibility, softmax) { check_op(TU_SOFTMAX); }
Test(reproducibility, log_softmax) { check_op(TU_LOG_SOFTMAX); }
Test(reproducibility, softmax_backward) { check_op(TU_SOFTMAX_BACKWARD); }
Test(reproducibility, log_softmax_backward) { check_op(TU_LOG_SOFTMAX_BACKWARD); }
Test(reproducibility, jacobian_full) { check_op(TU_JACOBIAN_FULL); }
Test(reproducibility, jacobian_packed) { check_op(TU_JACOBIAN_PACKED); }
Test(reproducibility, jacobian_blas_full) { check_op(TU_JACOBIAN_BLAS_FULL); }
Test(reproducibility, jacobian_blas_packed) { check_op(TU_JACOBIAN_BLAS_PACKED); }
Test(reproducibility, cross_entropy_sparse) { check_op(TU_XENT_SPARSE); }
Test(reproducibility, cross_entropy_dense) { check_op(TU_XENT_DENSE); }
Test(reproducibility, cross_entropy_probs_sparse) { check_op(TU_PROBS_SPARSE); }
Test(reproducibility, cross_entropy_probs_dense) { check_op(TU_PROBS_DENSE); }
Test(reproducibility, mse) { check_op(TU_MSE); }
Test(reproducibility, mae) { check_op(TU_MAE); }
Test(reproducibility, accuracy_sparse) { check_op(TU_ACCURACY_SPARSE); }
Test(reproducibility, accuracy_dense) { check_op(TU_ACCURACY_DENSE); }

/* A copy of `n` elements of v at `offset` elements past a 64-byte
 * boundary; *base receives the block to free. */
static void *copy_at_offset(const tu_type *t, const void *v, size_t n, size_t offset, void **base)
{
    size_t bytes = (n + offset) * t->size;
    *base = aligned_alloc(64, (bytes + 63) / 64 * 64);
    cr_assert_not_null(*base);
    char *at = (char *)*base + offset * t->size;
    memcpy(at, v, n * t->size);
    return at;
}

static void check_alignment(tu_op op)
{
    const shape general[] = {{3, 1000}, {4, 37}, {2, 300}};
    const shape jacobian[] = {{3, 48}};
    const shape *shapes = tu_op_is_jacobian(op) ? jacobian : general;
    size_t nshapes = tu_op_is_jacobian(op) ? 1 : 3;
    static const int variants[] = {0, 12}; /* MEAN plain; MEAN with extras and padding */
    for (int ti = 0; ti < 2; ti++) {
        const tu_type *t = types[ti];
        size_t per_line = 64 / t->size;
        for (size_t s = 0; s < nshapes; s++) {
            for (size_t vi = 0; vi < 2; vi++) {
                tu_workload ref;
                tu_workload_init(&ref, op, t, shapes[s].rows, shapes[s].cols, variants[vi], 77 + vi);
                lb_set_num_threads(1);
                cr_assert_eq(tu_workload_run(&ref), LB_OK);
                size_t in_elems = (shapes[s].rows - 1) * ref.call.ld1 + shapes[s].cols;
                for (size_t off = 1; off < per_line; off++) {
                    tu_workload moved = ref;
                    void *b1, *b2, *bo, *bl;
                    /* inputs and outputs at different offsets */
                    moved.in1 = copy_at_offset(t, ref.in1, in_elems, off, &b1);
                    moved.in2 = copy_at_offset(t, ref.in2, in_elems, (off * 5) % per_line, &b2);
                    moved.out = copy_at_offset(t, ref.out, ref.out_elems, (off * 3) % per_line, &bo);
                    moved.loss = copy_at_offset(t, ref.loss, ref.loss_elems ? ref.loss_elems : 1,
                                                off, &bl);
                    moved.call.in1 = moved.in1;
                    moved.call.in2 = moved.in2;
                    moved.call.out = moved.out;
                    moved.call.loss = moved.loss;
                    cr_assert_eq(tu_workload_run(&moved), LB_OK);
                    cr_expect(tu_workload_same(&ref, &moved),
                              "%s_%s %zux%zu variant %d: inputs at %zu elements past a 64-byte "
                              "line give other bits", tu_op_name(op), t->name, shapes[s].rows,
                              shapes[s].cols, variants[vi], off);
                    free(b1);
                    free(b2);
                    free(bo);
                    free(bl);
                }
                tu_workload_free(&ref);
            }
        }
    }
    lb_set_num_threads(0);
}

Test(reproducibility, alignment_softmax) { check_alignment(TU_SOFTMAX); }
Test(reproducibility, alignment_log_softmax) { check_alignment(TU_LOG_SOFTMAX); }
Test(reproducibility, alignment_softmax_backward) { check_alignment(TU_SOFTMAX_BACKWARD); }
Test(reproducibility, alignment_log_softmax_backward) { check_alignment(TU_LOG_SOFTMAX_BACKWARD); }
Test(reproducibility, alignment_jacobian_full) { check_alignment(TU_JACOBIAN_FULL); }
Test(reproducibility, alignment_jacobian_packed) { check_alignment(TU_JACOBIAN_PACKED); }
Test(reproducibility, alignment_cross_entropy_sparse) { check_alignment(TU_XENT_SPARSE); }
Test(reproducibility, alignment_cross_entropy_dense) { check_alignment(TU_XENT_DENSE); }
Test(reproducibility, alignment_cross_entropy_probs_sparse) { check_alignment(TU_PROBS_SPARSE); }
Test(reproducibility, alignment_cross_entropy_probs_dense) { check_alignment(TU_PROBS_DENSE); }
Test(reproducibility, alignment_mse) { check_alignment(TU_MSE); }
Test(reproducibility, alignment_mae) { check_alignment(TU_MAE); }
Test(reproducibility, alignment_accuracy_sparse) { check_alignment(TU_ACCURACY_SPARSE); }
Test(reproducibility, alignment_accuracy_dense) { check_alignment(TU_ACCURACY_DENSE); }

/* The thread count a caller asks for is what the library reports. */
Test(reproducibility, thread_setting_round_trips)
{
    for (int n = 1; n <= 8; n++) {
        lb_set_num_threads(n);
        cr_expect_eq(lb_get_num_threads(), n);
    }
    lb_set_num_threads(0);
    cr_expect(lb_get_num_threads() >= 1);
}
