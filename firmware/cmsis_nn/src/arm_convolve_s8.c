/*
 * edgeq portable kernels -- int8 convolution (NHWC input, OHWI filter, per-channel requant).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

int32_t arm_convolve_s8_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    /* edgeq's kernel reads the input in place (no im2col copy): no scratch, with or without DSP */
    (void)input_dims;
    (void)filter_dims;
    return 0;
}

arm_cmsis_nn_status arm_convolve_s8(const cmsis_nn_context *ctx,
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
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t stride_h = conv_params->stride.h, stride_w = conv_params->stride.w;
    const int32_t pad_h = conv_params->padding.h, pad_w = conv_params->padding.w;
    const int32_t dil_h = conv_params->dilation.h, dil_w = conv_params->dilation.w;
    const int32_t in_off = conv_params->input_offset, out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    int32_t b, oy, ox, oc, ky, kx;
    (void)ctx;
    (void)bias_dims;

    if (filter_dims->c != in_c || filter_dims->n != out_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (b = 0; b < batches; b++)
    {
        const int8_t *in_b = input_data + (int32_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky_lo, ky_hi;
            edgeq_tap_range(y0, dil_h, k_h, in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx_lo, kx_hi;
                edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                for (oc = 0; oc < out_c; oc++)
                {
                    const int8_t *w_oc = filter_data + oc * k_h * k_w * in_c;
                    int32_t acc = bias_data != 0 ? bias_data[oc] : 0;
                    for (ky = ky_lo; ky < ky_hi; ky++)
                    {
                        const int32_t y = y0 + ky * dil_h;
                        const int8_t *in_row = in_b + (y * in_w + x0) * in_c;
                        const int8_t *w_row = w_oc + ky * k_w * in_c;
                        if (dil_w == 1)
                        {
                            /* the in-bounds taps of this row are contiguous in input and filter */
                            acc += edgeq_dot_off_s8(in_row + kx_lo * in_c, w_row + kx_lo * in_c,
                                                    (kx_hi - kx_lo) * in_c, in_off);
                        }
                        else
                        {
                            for (kx = kx_lo; kx < kx_hi; kx++)
                            {
                                acc += edgeq_dot_off_s8(in_row + kx * dil_w * in_c, w_row + kx * in_c, in_c, in_off);
                            }
                        }
                    }
                    acc = arm_nn_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                    acc += out_off;
                    acc = edgeq_clamp_i32(acc, act_min, act_max);
                    *output_data++ = (int8_t)acc;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
