/*
 * edgeq kernels -- batch matrix multiply (BATCH_MATMUL) with int8 operands and output: every
 * output element is the dot product of one lhs row and one row of the transposed rhs, offset by
 * the zero points, requantized per tensor like a fully connected layer. The batch dimensions
 * (n, h) broadcast.
 *
 * sum((l + lo) * (r + ro)) = sum((l + lo) * r) + ro * (sum(l) + depth * lo): the first term is
 * the offset dot product of the convolution kernels (SMLAD on DSP cores), the lhs row sum is
 * computed once per row. All terms are exact integers (int32 like TFLM's accumulator).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

arm_cmsis_nn_status arm_batch_matmul_s8(const cmsis_nn_context *ctx,
                                        const cmsis_nn_bmm_params *bmm_params,
                                        const cmsis_nn_per_tensor_quant_params *quant_params,
                                        const cmsis_nn_dims *input_lhs_dims,
                                        const int8_t *input_lhs,
                                        const cmsis_nn_dims *input_rhs_dims,
                                        const int8_t *input_rhs,
                                        const cmsis_nn_dims *output_dims,
                                        int8_t *output)
{
    const int32_t rows = input_lhs_dims->w, cols = input_rhs_dims->w, depth = input_lhs_dims->c;
    const int32_t lhs_off = bmm_params->fc_params.input_offset, rhs_off = bmm_params->fc_params.filter_offset;
    const int32_t out_off = bmm_params->fc_params.output_offset;
    const int32_t act_min = bmm_params->fc_params.activation.min, act_max = bmm_params->fc_params.activation.max;
    const int32_t mult = quant_params->multiplier, shift = quant_params->shift;
    /* a batch dimension of 1 does not advance its operand */
    const int32_t lhs_sn = input_lhs_dims->n == 1 ? 0 : input_lhs_dims->h * rows * depth;
    const int32_t lhs_sh = input_lhs_dims->h == 1 ? 0 : rows * depth;
    const int32_t rhs_sn = input_rhs_dims->n == 1 ? 0 : input_rhs_dims->h * cols * depth;
    const int32_t rhs_sh = input_rhs_dims->h == 1 ? 0 : cols * depth;
    int32_t bn, bh, i, j;
    (void)ctx;
    if (input_rhs_dims->c != depth || output_dims->w != rows || output_dims->c != cols)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (bn = 0; bn < output_dims->n; bn++)
    {
        for (bh = 0; bh < output_dims->h; bh++)
        {
            const int8_t *lhs = input_lhs + bn * lhs_sn + bh * lhs_sh;
            const int8_t *rhs_batch = input_rhs + bn * rhs_sn + bh * rhs_sh;
            for (i = 0; i < rows; i++, lhs += depth)
            {
                int32_t lhs_sum = 0, k;
                const int8_t *rhs = rhs_batch;
                for (k = 0; k < depth; k++)
                {
                    lhs_sum += lhs[k];
                }
                lhs_sum = rhs_off * (lhs_sum + depth * lhs_off);
                for (j = 0; j < cols; j++, rhs += depth)
                {
                    const int32_t acc = edgeq_dot_off_s8(lhs, rhs, depth, lhs_off) + lhs_sum;
                    *output++ = (int8_t)edgeq_clamp_i32(edgeq_requantize(acc, mult, shift) + out_off, act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
