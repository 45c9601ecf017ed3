/*
 * edgeq portable kernels -- int16 softmax (16x8 models: input zero point 0, output scale
 * 1/32768 and zero point 0), TFLite's table-based int16 softmax.
 *
 * Per row: each difference to the row maximum is rescaled into [-65535, 0] (= [-10, 0] in the
 * exp domain), recentred to int16 and looked up in the exp table (Q0.15); the sum of the
 * exponentials (Q16.15) is normalised to [1, 2), its reciprocal looked up in the 1/(1+x) table,
 * and each exponential scaled by it. The exponentials are computed again in the second pass
 * instead of kept in a scratch buffer: the lookups are cheap and the kernel needs no memory.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

/* Linear interpolation in a 513-entry table indexed by the top 9 bits of value (256 + value/128);
 * the low 7 bits weight the slope to the next entry, rounded. */
static int32_t edgeq_lut_s16(int32_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7);
    const int32_t base = lut[index];
    const int32_t slope = lut[index + 1] - base;
    return (int16_t)(base + ((slope * (value & 0x7F) + 64) >> 7));
}

static int32_t edgeq_softmax_exp_s16(int32_t diff, int32_t mult, int32_t shift, const int16_t *exp_lut)
{
    const int32_t scaled = edgeq_requantize(diff, mult, shift) + 32767;
    return edgeq_lut_s16(edgeq_clamp_i32(scaled, -32768, 32767), exp_lut);
}

arm_cmsis_nn_status arm_softmax_s16(const int16_t *input,
                                    const int32_t num_rows,
                                    const int32_t row_size,
                                    const int32_t mult,
                                    const int32_t shift,
                                    const cmsis_nn_softmax_lut_s16 *softmax_params,
                                    int16_t *output)
{
    const int16_t *exp_lut = softmax_params->exp_lut;
    int32_t r, j;
    for (r = 0; r < num_rows; r++)
    {
        const int16_t *in = input + r * row_size;
        int16_t *out = output + r * row_size;
        int32_t max = -32768, sum = 0, headroom, shifted, reciprocal, right_shift;
        for (j = 0; j < row_size; j++)
        {
            max = edgeq_max_i32(max, in[j]);
        }
        for (j = 0; j < row_size; j++)
        {
            sum += edgeq_softmax_exp_s16(in[j] - max, mult, shift, exp_lut);
        }
        /* sum >= exp(0) = 32767 > 0: headroom is at most 17, the shifts below stay in range */
        headroom = edgeq_clz_u32((uint32_t)sum);
        shifted = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14);
        /* the table holds 1/(1+x) for x in [0, 1): look up x = sum - 1, recentred to int16 */
        reciprocal = edgeq_lut_s16(edgeq_clamp_i32(shifted - ((1 << 15) + (1 << 16)), -32768, 32767),
                                   softmax_params->one_by_one_lut);
        right_shift = 31 - headroom;
        for (j = 0; j < row_size; j++)
        {
            const int64_t e = edgeq_softmax_exp_s16(in[j] - max, mult, shift, exp_lut);
            const int32_t v = (int32_t)((e * reciprocal + ((int64_t)1 << (right_shift - 1))) >> right_shift);
            out[j] = (int16_t)edgeq_clamp_i32(v, 0, 32767);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
