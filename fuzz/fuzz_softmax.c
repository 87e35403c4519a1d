/* fuzz_softmax.c - libFuzzer harness: softmax, log-softmax and their backward
 * passes, f32 and f64 (invariants in fuzz_softmax.inc). */
#include "fuzz_common.h"

#define FZ_BODY "fuzz_softmax.inc"
#include "fuzz_both_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    if (fz_u8(&r) & 1) fuzz_softmax_family_f64(&r);
    else fuzz_softmax_family_f32(&r);
    return 0;
}
