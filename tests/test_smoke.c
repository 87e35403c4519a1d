/* test_smoke.c - the seed softmax row, as a first end-to-end check. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>

Test(smoke, seed_softmax_row)
{
    const double x[5] = {0.25, -1, 2.3, -0.2, 1};
    const double expect[5] = {0.08468093, 0.02426149, 0.6577931, 0.05399495, 0.17926953};
    double y[5];
    cr_assert_eq(lb_softmax_f64(1, 5, x, 5, y, 5), LB_OK);
    for (int j = 0; j < 5; j++) cr_assert(fabs(y[j] - expect[j]) < 5e-9, "y[%d]=%.10f", j, y[j]);
}
