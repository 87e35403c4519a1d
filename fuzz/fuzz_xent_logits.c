/* fuzz_xent_logits.c - libFuzzer harness: cross-entropy from logits, sparse
 * and dense targets, every option, f32 and f64 (invariants in
 * fuzz_xent_logits.inc). */
#include "fuzz_common.h"

#define FZ_BODY "fuzz_xent_logits.inc"
#include "fuzz_both_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    if (fz_u8(&r) & 1) fuzz_xent_logits_f64(&r);
    else fuzz_xent_logits_f32(&r);
    return 0;
}
