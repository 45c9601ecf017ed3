/*
 * edgeq portable kernels -- int8 softmax (output scale 1/256, zero point -128).
 *
 * Per row: d = x - max(row); for d >= diff_min, e = exp(d * beta * in_scale) evaluated in
 * fixed point (d rescaled to Q5.26 by `mult`/`shift`), summed in Q12.19; each output is
 * e / sum computed with a fixed-point reciprocal, then offset by -128.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

#define EDGEQ_SOFTMAX_DIFF_INT_BITS 5
#define EDGEQ_SOFTMAX_ACC_INT_BITS 12

void arm_softmax_s8(const int8_t *input,
                    const int32_t num_rows,
                    const int32_t row_size,
                    const int32_t mult,
                    const int32_t shift,
                    const int32_t diff_min,
                    int8_t *output)
{
    int32_t r, c;
    for (r = 0; r < num_rows; r++)
    {
        const int8_t *in = input + r * row_size;
        int8_t *out = output + r * row_size;
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0;
        int32_t headroom_plus_one, num_bits_over_unit, shifted_sum_minus_one, reciprocal;

        for (c = 0; c < row_size; c++)
        {
            max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
        }
        for (c = 0; c < row_size; c++)
        {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= diff_min)
            {
                const int32_t scaled = edgeq_srdhm(edgeq_shl(diff, shift), mult);
                const int32_t e = edgeq_exp_on_negative_values(scaled, EDGEQ_SOFTMAX_DIFF_INT_BITS);
                sum_of_exps += edgeq_rdbpot(e, EDGEQ_SOFTMAX_ACC_INT_BITS);
            }
        }
        headroom_plus_one = edgeq_clz_u32((uint32_t)sum_of_exps);
        num_bits_over_unit = EDGEQ_SOFTMAX_ACC_INT_BITS - headroom_plus_one;
        shifted_sum_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        reciprocal = edgeq_one_over_one_plus_x(shifted_sum_minus_one);

        for (c = 0; c < row_size; c++)
        {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= diff_min)
            {
                const int32_t scaled = edgeq_srdhm(edgeq_shl(diff, shift), mult);
                const int32_t e = edgeq_exp_on_negative_values(scaled, EDGEQ_SOFTMAX_DIFF_INT_BITS);
                int32_t v = edgeq_rdbpot(edgeq_srdhm(reciprocal, e), num_bits_over_unit + 31 - 8);
                v -= 128;
                out[c] = (int8_t)edgeq_clamp_i32(v, -128, 127);
            }
            else
            {
                out[c] = -128;
            }
        }
    }
}
