/*
 * edgeq portable kernels -- int8 elementwise add and multiply (same-shape operands).
 * ADD: each input is offset, shifted left by `left_shift`, requantized to a common scale;
 * the sum is requantized to the output. MUL: the product of the offset inputs is requantized.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

arm_cmsis_nn_status arm_elementwise_add_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_1_mult,
                                           const int32_t input_1_shift,
                                           const int32_t input_2_offset,
                                           const int32_t input_2_mult,
                                           const int32_t input_2_shift,
                                           const int32_t left_shift,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size)
{
    int32_t i;
    for (i = 0; i < block_size; i++)
    {
        const int32_t a = arm_nn_requantize(edgeq_shl((int32_t)input_1_vect[i] + input_1_offset, left_shift),
                                            input_1_mult, input_1_shift);
        const int32_t b = arm_nn_requantize(edgeq_shl((int32_t)input_2_vect[i] + input_2_offset, left_shift),
                                            input_2_mult, input_2_shift);
        int32_t sum = arm_nn_requantize(a + b, out_mult, out_shift) + out_offset;
        output[i] = (int8_t)edgeq_clamp_i32(sum, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_elementwise_mul_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_2_offset,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size)
{
    int32_t i;
    for (i = 0; i < block_size; i++)
    {
        const int32_t prod = ((int32_t)input_1_vect[i] + input_1_offset) * ((int32_t)input_2_vect[i] + input_2_offset);
        const int32_t v = arm_nn_requantize(prod, out_mult, out_shift) + out_offset;
        output[i] = (int8_t)edgeq_clamp_i32(v, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}
