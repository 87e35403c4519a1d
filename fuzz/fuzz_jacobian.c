/* fuzz_jacobian.c - libFuzzer harness: the softmax Jacobian (direct and BLAS
 * paths, FULL and PACKED), f32 and f64 (invariants in fuzz_jacobian.inc). */
#include "fuzz_common.h"

#define FZ_BODY "fuzz_jacobian.inc"
#include "fuzz_both_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    if (fz_u8(&r) & 1) fuzz_jacobian_f64(&r);
    else fuzz_jacobian_f32(&r);
    return 0;
}
