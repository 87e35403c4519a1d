/* placeholder replaced below */
#include "internal.h"
void lb_fill_avx2_kernels(lb_kernel_table *t) { t->name = "avx2"; }
