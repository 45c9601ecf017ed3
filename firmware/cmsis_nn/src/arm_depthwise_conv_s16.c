/*
 * edgeq portable kernels -- int16-activation depthwise convolution (TFLite 16x8) with depth
 * multiplier and dilation. Filter layout [1, H, W, C_in * ch_mult]; output channel
 * c = c_in * ch_mult + m; int64 bias (may be NULL); input/output offsets not used (zero).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

arm_cmsis_nn_status arm_depthwise_conv_s16(const cmsis_nn_context *ctx,
                                           const cmsis_nn_dw_conv_params *dw_conv_params,
                                           const cmsis_nn_per_channel_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int16_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims,
                                           const int64_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int16_t *output_data)
{
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = dw_conv_params->ch_mult;
    const int32_t stride_h = dw_conv_params->stride.h, stride_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h, pad_w = dw_conv_params->padding.w;
    const int32_t dil_h = dw_conv_params->dilation.h, dil_w = dw_conv_params->dilation.w;
    const int32_t act_min = dw_conv_params->activation.min, act_max = dw_conv_params->activation.max;
    int32_t b, oy, ox, ic, m, ky, kx;
    (void)ctx;
    (void)bias_dims;

    if (out_c != in_c * mult)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (b = 0; b < batches; b++)
    {
        const int16_t *in_b = input_data + (int32_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky_lo, ky_hi;
            edgeq_tap_range(y0, dil_h, k_h, in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx_lo, kx_hi;
                int16_t *out_px = output_data + (oy * out_w + ox) * out_c;
                edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                for (ic = 0; ic < in_c; ic++)
                {
                    for (m = 0; m < mult; m++)
                    {
                        const int32_t oc = ic * mult + m;
                        /* at most k_h * k_w products of <= 2^22 each: a 64-bit sum, as TFLM keeps */
                        int64_t acc = bias_data != 0 ? bias_data[oc] : 0;
                        int32_t v;
                        for (ky = ky_lo; ky < ky_hi; ky++)
                        {
                            const int16_t *in_row = in_b + ((y0 + ky * dil_h) * in_w + x0) * in_c + ic;
                            const int8_t *w_row = filter_data + ky * k_w * out_c + oc;
                            for (kx = kx_lo; kx < kx_hi; kx++)
                            {
                                acc += (int32_t)in_row[kx * dil_w * in_c] * (int32_t)w_row[kx * out_c];
                            }
                        }
                        v = arm_nn_requantize_s64(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                        out_px[oc] = (int16_t)edgeq_clamp_i32(v, act_min, act_max);
                    }
                }
            }
        }
        output_data += out_h * out_w * out_c;
    }
    return ARM_CMSIS_NN_SUCCESS;
}
