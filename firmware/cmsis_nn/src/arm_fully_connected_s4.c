/*
 * edgeq portable kernels -- int4 weights (int8 activations) under CMSIS-NN's s4 API:
 * arm_convolve_wrapper_s4, arm_depthwise_conv_wrapper_s4, arm_fully_connected_s4. The filter is
 * packed two weights a byte over the whole flattened tensor, the even element in the low nibble.
 * edgeq decodes the nibbles itself (edgeq/edgeq_packed_weights.c: a chunk of output channels at a
 * time into a bounded stack buffer): no scratch from the memory plan is needed.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "edgeq_packed_weights.h"

arm_cmsis_nn_status arm_fully_connected_s4(const cmsis_nn_context *ctx, const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims, const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    if (fc_params->filter_offset != 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR; /* int4 weights are symmetric */
    }
    return edgeq_fully_connected_lut_s8(input_data, (const uint8_t *)filter_data, edgeq_int4_table, 0, bias_data,
                                        input_dims->n, filter_dims->n, output_dims->c, fc_params->input_offset,
                                        fc_params->output_offset, &quant_params->multiplier, &quant_params->shift, 0,
                                        fc_params->activation.min, fc_params->activation.max, output_data);
}

int32_t arm_fully_connected_s4_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}
