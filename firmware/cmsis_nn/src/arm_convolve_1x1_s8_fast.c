/*
 * edgeq portable kernels -- int8 1x1 convolution, stride 1, no padding (a per-pixel matrix
 * product). Same arithmetic as arm_convolve_s8.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

int32_t arm_convolve_1x1_s8_fast_get_buffer_size(const cmsis_nn_dims *input_dims)
{
    (void)input_dims;
    return 0;
}

arm_cmsis_nn_status arm_convolve_1x1_s8_fast(const cmsis_nn_context *ctx,
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
    const int32_t pixels = input_dims->n * input_dims->h * input_dims->w;
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t in_off = conv_params->input_offset, out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    int32_t p, oc, ic;
    (void)ctx;
    (void)bias_dims;

    if (conv_params->padding.w != 0 || conv_params->padding.h != 0 || conv_params->stride.w != 1 ||
        conv_params->stride.h != 1 || filter_dims->w != 1 || filter_dims->h != 1 || filter_dims->c != in_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    /* Output-channel outer loop: sum((x + in_off) * w) = sum(x * w) + in_off * sum(w), with
     * sum(w) computed once per channel; no scratch needed. */
    for (oc = 0; oc < out_c; oc++)
    {
        const int8_t *pw = filter_data + oc * in_c;
        const int32_t mult = quant_params->multiplier[oc];
        const int32_t shift = quant_params->shift[oc];
        int32_t base = bias_data != 0 ? bias_data[oc] : 0;
        int32_t wsum = 0;
        for (ic = 0; ic < in_c; ic++)
        {
            wsum += pw[ic];
        }
        base += in_off * wsum;
        for (p = 0; p < pixels; p++)
        {
            const int32_t acc = base + edgeq_dot_s8(input_data + p * in_c, pw, in_c);
            const int32_t v = arm_nn_requantize(acc, mult, shift) + out_off;
            output_data[p * out_c + oc] = (int8_t)edgeq_clamp_i32(v, act_min, act_max);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
