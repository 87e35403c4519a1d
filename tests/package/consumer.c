/* consumer.c - a program built against an installed lossblas, to prove the
 * package (CMake config and pkg-config) works. Checks the header/library
 * versions agree and runs one softmax. */
#include <lossblas.h>

#include <math.h>
#include <stdio.h>

int main(void)
{
    if (lb_version() != LB_VERSION) {
        fprintf(stderr, "header %d, library %u\n", LB_VERSION, lb_version());
        return 1;
    }
    const float x[3] = {1.0f, 1.0f, 1.0f};
    float y[3];
    if (lb_softmax_f32(1, 3, x, 3, y, 3) != LB_OK || fabsf(y[0] - 1.0f / 3.0f) > 1e-6f) return 1;
    printf("lossblas %s ok (%s)\n", LB_VERSION_STRING, lb_isa());
    return 0;
}
