/*
 * edgeq -- arm_convolve_1_x_n_s8 (CMSIS-NN API): convolution of a one-row input (input_dims->h
 * == 1) with a 1 x N filter, as a thin wrapper over edgeq's general arm_convolve_s8, keeping
 * CMSIS-NN's documented preconditions for this variant (one input row, no horizontal dilation,
 * stride.w * input channels a multiple of four, the scratch present when one is needed).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"

int32_t arm_convolve_1_x_n_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                              const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims,
                                              const cmsis_nn_dims *output_dims)
{
    (void)conv_params;
    (void)output_dims;
    return arm_convolve_s8_get_buffer_size(input_dims, filter_dims);
}

arm_cmsis_nn_status arm_convolve_1_x_n_s8(const cmsis_nn_context *ctx,
                                          const cmsis_nn_conv_params *conv_params,
                                          const cmsis_nn_per_channel_quant_params *quant_params,
                                          const cmsis_nn_dims *input_dims,
                                          const int8_t *input_data,
                                          const cmsis_nn_dims *filter_dims,
                                          const int8_t *filter_data,
                                          const cmsis_nn_dims *bias_dims,
                                          const int32_t *bias_data,
                                          const cmsis_nn_dims *output_dims,
                                          int8_t *output_data)
{
    if (input_dims->h != 1 || conv_params->dilation.w != 1 || conv_params->stride.w == 0 ||
        (conv_params->stride.w * input_dims->c) % 4 != 0 ||
        ((ctx == 0 || ctx->buf == 0) && arm_convolve_s8_get_buffer_size(input_dims, filter_dims) > 0))
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return arm_convolve_s8(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                           bias_dims, bias_data, output_dims, output_data);
}
