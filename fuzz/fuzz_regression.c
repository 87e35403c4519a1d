/* fuzz_regression.c - libFuzzer harness: MSE, MAE and accuracy (sparse and
 * dense), f32 and f64 (invariants in fuzz_regression.inc). */
#include "fuzz_common.h"

#define FZ_BODY "fuzz_regression.inc"
#include "fuzz_both_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size, 0};
    uint8_t b = fz_u8(&r);
    int op = (b >> 1) % 4;
    if (b & 1) {
        if (op < 2) fuzz_mse_mae_f64(&r, op == 1);
        else fuzz_accuracy_f64(&r, op == 3);
    } else {
        if (op < 2) fuzz_mse_mae_f32(&r, op == 1);
        else fuzz_accuracy_f32(&r, op == 3);
    }
    return 0;
}
