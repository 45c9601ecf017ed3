/*
 * edgeq portable kernels -- int8 convolution dispatcher: picks the fastest kernel whose
 * preconditions hold. All variants compute identical results.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"

/* Unpadded 1x1 (any stride): no receptive field to gather, no scratch -- the condition
 * edgeq.memory.scratch_bytes uses for "no buffer". */
static int edgeq_conv_is_1x1(const cmsis_nn_conv_params *p, const cmsis_nn_dims *f)
{
    return p->padding.w == 0 && p->padding.h == 0 && p->dilation.w == 1 && p->dilation.h == 1 && f->w == 1 &&
           f->h == 1;
}

int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims)
{
    (void)output_dims;
    if (edgeq_conv_is_1x1(conv_params, filter_dims))
    {
        return 0; /* arm_convolve_1x1_s8 (and its stride-1 arm_convolve_1x1_s8_fast) */
    }
    return arm_convolve_s8_get_buffer_size(input_dims, filter_dims);
}

arm_cmsis_nn_status arm_convolve_wrapper_s8(const cmsis_nn_context *ctx,
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
    /* grouped (filter depth < input channels): only arm_convolve_s8 handles groups; a grouped
     * 1x1 gets no planned scratch (see get_buffer_size above) and runs its portable loop */
    if (edgeq_conv_is_1x1(conv_params, filter_dims) && filter_dims->c == input_dims->c)
    {
        return arm_convolve_1x1_s8(ctx, conv_params, quant_params, input_dims, input_data, filter_dims,
                                   filter_data, bias_dims, bias_data, output_dims, output_data);
    }
    return arm_convolve_s8(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                           bias_dims, bias_data, output_dims, output_data);
}
