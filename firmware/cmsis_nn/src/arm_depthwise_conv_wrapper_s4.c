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

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s4(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
                                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                                  const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                                  const cmsis_nn_dims *bias_dims, const int32_t *bias_data,
                                                  const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    return edgeq_depthwise_conv_lut_s8(dw_conv_params, quant_params, input_dims, input_data, filter_dims,
                                       (const uint8_t *)filter_data, edgeq_int4_table, 0, bias_data, output_dims,
                                       output_data);
}

int32_t arm_depthwise_conv_wrapper_s4_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims)
{
    (void)dw_conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)output_dims;
    return 0;
}
