/*
 * argmax_ref.c - reference (scalar) row argmax for the accuracy functions,
 * and the table fill for its slots: numpy.argmax semantics, the first index
 * of the maximum, a NaN counting as larger than everything (the first NaN
 * wins).
 */
#include "internal.h"

#include <math.h>

size_t lb_ref_argmax_f32(size_t n, const float *v)
{
    size_t best = 0;
    for (size_t j = 0; j < n; j++) {
        if (isnan(v[j])) return j;
        if (v[j] > v[best]) best = j;
    }
    return best;
}

size_t lb_ref_argmax_f64(size_t n, const double *v)
{
    size_t best = 0;
    for (size_t j = 0; j < n; j++) {
        if (isnan(v[j])) return j;
        if (v[j] > v[best]) best = j;
    }
    return best;
}

void lb_fill_reference_argmax_kernels(lb_kernel_table *t)
{
    t->argmax_f32 = lb_ref_argmax_f32;
    t->argmax_f64 = lb_ref_argmax_f64;
}
