/*
 * edgeq kernels -- batch matrix multiply (BATCH_MATMUL) with int16 operands and output (zero
 * points 0, TFLite's 16x8 spec): 64-bit dot products of lhs rows with rows of the transposed
 * rhs, the 64-bit requantization of the int16 kernels. The batch dimensions (n, h) broadcast.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

arm_cmsis_nn_status arm_batch_matmul_s16(const cmsis_nn_context *ctx,
                                         const cmsis_nn_bmm_params *bmm_params,
                                         const cmsis_nn_per_tensor_quant_params *quant_params,
                                         const cmsis_nn_dims *input_lhs_dims,
                                         const int16_t *input_lhs,
                                         const cmsis_nn_dims *input_rhs_dims,
                                         const int16_t *input_rhs,
                                         const cmsis_nn_dims *output_dims,
                                         int16_t *output)
{
    const int32_t rows = input_lhs_dims->w, cols = input_rhs_dims->w, depth = input_lhs_dims->c;
    const int32_t act_min = bmm_params->fc_params.activation.min, act_max = bmm_params->fc_params.activation.max;
    const int32_t mult = quant_params->multiplier, shift = quant_params->shift;
    const int32_t lhs_sn = input_lhs_dims->n == 1 ? 0 : input_lhs_dims->h * rows * depth;
    const int32_t lhs_sh = input_lhs_dims->h == 1 ? 0 : rows * depth;
    const int32_t rhs_sn = input_rhs_dims->n == 1 ? 0 : input_rhs_dims->h * cols * depth;
    const int32_t rhs_sh = input_rhs_dims->h == 1 ? 0 : cols * depth;
    int32_t bn, bh, i, j, k;
    (void)ctx;
    if (input_rhs_dims->c != depth || output_dims->w != rows || output_dims->c != cols)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (bn = 0; bn < output_dims->n; bn++)
    {
        for (bh = 0; bh < output_dims->h; bh++)
        {
            const int16_t *lhs = input_lhs + bn * lhs_sn + bh * lhs_sh;
            const int16_t *rhs_batch = input_rhs + bn * rhs_sn + bh * rhs_sh;
            for (i = 0; i < rows; i++, lhs += depth)
            {
                const int16_t *rhs = rhs_batch;
                for (j = 0; j < cols; j++, rhs += depth)
                {
                    int64_t acc = 0;
                    for (k = 0; k < depth; k++)
                    {
                        acc += (int32_t)lhs[k] * rhs[k];
                    }
                    *output++ = (int16_t)edgeq_clamp_i32(edgeq_requantize_s64(acc, mult, shift), act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
