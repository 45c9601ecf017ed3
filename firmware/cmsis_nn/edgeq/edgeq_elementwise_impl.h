/*
 * edgeq -- elementwise ADD and MUL for one element type, the CMSIS-NN API functions
 * arm_elementwise_add_<t> / arm_elementwise_mul_<t> (same-shape operands). The int8 and int16
 * kernels share this body so their arithmetic cannot drift apart (TFLM's int8 and int16 ADD
 * differ only in left_shift: 20 vs 15, which the caller passes). Included once per type with:
 *   EDGEQ_EW_ADD  the add function's name      EDGEQ_EW_T    the element type
 *   EDGEQ_EW_MUL  the multiply function's name
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnsupportfunctions.h"
#include "edgeq_fixedpoint.h"

arm_cmsis_nn_status EDGEQ_EW_ADD(const EDGEQ_EW_T *input_1_vect,
                                 const EDGEQ_EW_T *input_2_vect,
                                 const int32_t input_1_offset,
                                 const int32_t input_1_mult,
                                 const int32_t input_1_shift,
                                 const int32_t input_2_offset,
                                 const int32_t input_2_mult,
                                 const int32_t input_2_shift,
                                 const int32_t left_shift,
                                 EDGEQ_EW_T *output,
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
        const int32_t v = edgeq_add_one(input_1_vect[i], input_2_vect[i], input_1_offset, input_1_mult, input_1_shift,
                                        input_2_offset, input_2_mult, input_2_shift, left_shift, out_offset,
                                        out_mult, out_shift);
        output[i] = (EDGEQ_EW_T)edgeq_clamp_i32(v, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status EDGEQ_EW_MUL(const EDGEQ_EW_T *input_1_vect,
                                 const EDGEQ_EW_T *input_2_vect,
                                 const int32_t input_1_offset,
                                 const int32_t input_2_offset,
                                 EDGEQ_EW_T *output,
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
        const int32_t v = edgeq_mul_one(input_1_vect[i], input_2_vect[i], input_1_offset, input_2_offset, out_offset,
                                        out_mult, out_shift);
        output[i] = (EDGEQ_EW_T)edgeq_clamp_i32(v, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}
