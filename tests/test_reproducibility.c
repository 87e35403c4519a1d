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
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>

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
