/* A tiny hand-written model that honours the edgeq_model.h contract, for testing the harness,
 * the protocol and the flashers before (and independently of) generated code.
 *   output 0 (int8  [1,16]): reversed input + 1, saturating at 127
 *   output 1 (int16 [1,1]) : the sum of the input values
 * It also burns a fixed amount of work (EDGEQ_FAKE_WORK loop iterations) so that timing has
 * something to measure. */
#include <stdint.h>

#include "edgeq_model.h"
#if defined(__has_include)
#if __has_include("edgeq_board.h")
#include "edgeq_board.h" /* a board build may set EDGEQ_FAKE_WORK there (tests of long runs) */
#endif
#endif

#ifndef EDGEQ_FAKE_WORK
#define EDGEQ_FAKE_WORK 1000
#endif

static const edgeq_tensor_info_t fake_inputs[1] = {
    {EDGEQ_DTYPE_INT8, 2, {1, 16, 0, 0}, 16, 0.5f, -3},
};

static const edgeq_tensor_info_t fake_outputs[2] = {
    {EDGEQ_DTYPE_INT8, 2, {1, 16, 0, 0}, 16, 0.25f, 5},
    {EDGEQ_DTYPE_INT16, 2, {1, 1, 0, 0}, 2, 1.0f, 0},
};

volatile int32_t fake_model_sink;

static int fake_invoke(const void *const *inputs, void *const *outputs)
{
    const int8_t *in = (const int8_t *)inputs[0];
    int8_t *out = (int8_t *)outputs[0];
    int32_t sum = 0;
    for (int i = 0; i < 16; i++) {
        int32_t v = in[15 - i] + 1;
        out[i] = (int8_t)(v > 127 ? 127 : v);
        sum += in[i];
    }
    int16_t s16 = (int16_t)sum;
    uint8_t *o1 = (uint8_t *)outputs[1];
    o1[0] = (uint8_t)s16;
    o1[1] = (uint8_t)((uint16_t)s16 >> 8);
    for (int32_t i = 0; i < EDGEQ_FAKE_WORK; i++)
        fake_model_sink = fake_model_sink + i;
    return 0;
}

const edgeq_model_t fake_model = {
    "fake",
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
     0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f},
    64,
    1,
    2,
    fake_inputs,
    fake_outputs,
    fake_invoke,
};
