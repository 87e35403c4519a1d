/* fuzz_xent_probs.c - libFuzzer harness: cross-entropy from probabilities,
 * sparse and dense targets, f32 and f64 (invariants in fuzz_xent_probs.inc). */
#include "fuzz_common.h"

#define FZ_BODY "fuzz_xent_probs.inc"
#include "fuzz_both_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    if (fz_u8(&r) & 1) fuzz_xent_probs_f64(&r);
    else fuzz_xent_probs_f32(&r);
    return 0;
}
