/*
 * regression_ref.c - reference (scalar) per-row MSE and MAE kernels, in the
 * plain style of reference.inc: every element in double, the row sum
 * blocked. Written once as a macro, instantiated for float and double.
 */
#include "internal.h"

#include <math.h>

/* e = pred - target; loss e^2, derivative 2e */
#define REGRESSION_ROWS(REAL_, SUFFIX)                                                          \
    double lb_ref_mse_row##SUFFIX(size_t n, const REAL_ *pred, const REAL_ *target, REAL_ *loss_out, \
                          REAL_ *dpred, double grad_mul, bool stream_stores)                \
    {                                                                                        \
        (void)stream_stores; /* plain stores here */                                          \
        lb_blocked_sum sum = {0};                                                            \
        for (size_t j = 0; j < n; j++) {                                                     \
            double e = (double)pred[j] - (double)target[j];                                  \
            double l = e * e;                                                                \
            if (dpred) dpred[j] = (REAL_)(2.0 * e * grad_mul);                               \
            if (loss_out) loss_out[j] = (REAL_)l;                                            \
            lb_bsum_add(&sum, l);                                                            \
        }                                                                                    \
        return lb_bsum_value(&sum);                                                          \
    }                                                                                        \
    /* loss |e|, derivative sign(e): 0 at e == 0, NaN for NaN (torch's sgn) */               \
    double lb_ref_mae_row##SUFFIX(size_t n, const REAL_ *pred, const REAL_ *target, REAL_ *loss_out, \
                          REAL_ *dpred, double grad_mul, bool stream_stores)                \
    {                                                                                        \
        (void)stream_stores; /* plain stores here */                                          \
        lb_blocked_sum sum = {0};                                                            \
        for (size_t j = 0; j < n; j++) {                                                     \
            double e = (double)pred[j] - (double)target[j];                                  \
            double l = fabs(e);                                                              \
            double sign = e > 0.0 ? 1.0 : (e < 0.0 ? -1.0 : (e == 0.0 ? 0.0 : e));           \
            if (dpred) dpred[j] = (REAL_)(sign * grad_mul);                                  \
            if (loss_out) loss_out[j] = (REAL_)l;                                            \
            lb_bsum_add(&sum, l);                                                            \
        }                                                                                    \
        return lb_bsum_value(&sum);                                                          \
    }

REGRESSION_ROWS(float, _f32)
REGRESSION_ROWS(double, _f64)

void lb_fill_reference_regression_kernels(lb_kernel_table *t)
{
    t->mse_row_f32 = lb_ref_mse_row_f32;
    t->mse_row_f64 = lb_ref_mse_row_f64;
    t->mae_row_f32 = lb_ref_mae_row_f32;
    t->mae_row_f64 = lb_ref_mae_row_f64;
}
