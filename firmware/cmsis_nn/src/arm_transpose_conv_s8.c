/*
 * edgeq kernels -- int8 transpose convolution (TRANSPOSE_CONV), CMSIS-NN API.
 *
 * TFLite's reference scatters every input pixel through the filter into an int32 buffer the
 * size of the output, then adds the bias and requantizes. The sum of one output value is the
 * same set of products whatever the order, so this kernel gathers instead: for output row oy,
 * the filter rows ky with ky = oy + pad - iy * stride, i.e. ky = r + j * stride, iy = q - j
 * (q, r = quotient and remainder of (oy + pad) / stride), and the same for columns. No int32
 * output buffer (no scratch), and each tap is one contiguous dot product over the input
 * channels. q and r are stepped per output row / column: no division in the loops.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgeq_spatial.h"

int32_t arm_transpose_conv_s8_get_buffer_size(const cmsis_nn_transpose_conv_params *transpose_conv_params,
                                              const cmsis_nn_dims *input_dims,
                                              const cmsis_nn_dims *filter_dims,
                                              const cmsis_nn_dims *out_dims)
{
    (void)transpose_conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)out_dims;
    return 0; /* edgeq.ops.spatial reserves exactly this (nothing) */
}

arm_cmsis_nn_status arm_transpose_conv_s8(const cmsis_nn_context *ctx,
                                          const cmsis_nn_context *output_ctx,
                                          const cmsis_nn_transpose_conv_params *transpose_conv_params,
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
    const cmsis_nn_transpose_conv_params *p = transpose_conv_params;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t s_h = p->stride.h, s_w = p->stride.w;
    const int32_t in_off = p->input_offset, out_off = p->output_offset;
    const int32_t act_min = p->activation.min, act_max = p->activation.max;
    int32_t b, oy, ox, oc;
    (void)ctx;
    (void)output_ctx;
    (void)bias_dims;

    if (filter_dims->n != out_c || filter_dims->c != in_c || input_dims->n != output_dims->n || s_h < 1 ||
        s_w < 1 || p->padding.h < 0 || p->padding.w < 0 || p->dilation.h != 1 || p->dilation.w != 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * in_c;
        edgeq_tconv_axis_t ay;
        edgeq_tconv_axis_start(&ay, p->padding.h, s_h);
        for (oy = 0; oy < out_h; oy++, edgeq_tconv_axis_step(&ay, s_h))
        {
            int32_t ky0, iy0;
            edgeq_tconv_axis_first(&ay, s_h, in_h, &ky0, &iy0);
            edgeq_tconv_axis_t ax;
            edgeq_tconv_axis_start(&ax, p->padding.w, s_w);
            for (ox = 0; ox < out_w; ox++, edgeq_tconv_axis_step(&ax, s_w))
            {
                int32_t kx0, ix0;
                edgeq_tconv_axis_first(&ax, s_w, in_w, &kx0, &ix0);
                for (oc = 0; oc < out_c; oc++)
                {
                    const int8_t *w_oc = filter_data + oc * k_h * k_w * in_c;
                    int32_t acc = 0, ky, iy, kx, ix;
                    for (ky = ky0, iy = iy0; ky < k_h && iy >= 0; ky += s_h, iy--)
                    {
                        const int8_t *in_row = in_b + iy * in_w * in_c;
                        const int8_t *w_row = w_oc + ky * k_w * in_c;
                        for (kx = kx0, ix = ix0; kx < k_w && ix >= 0; kx += s_w, ix--)
                        {
                            acc += edgeq_dot_off_s8(in_row + ix * in_c, w_row + kx * in_c, in_c, in_off);
                        }
                    }
                    if (bias_data != 0)
                    {
                        acc += bias_data[oc];
                    }
                    acc = arm_nn_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]) + out_off;
                    *output_data++ = (int8_t)edgeq_clamp_i32(acc, act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
