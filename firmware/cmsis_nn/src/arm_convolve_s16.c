/*
 * edgeq portable kernels -- int16-activation convolution (TFLite 16x8): NHWC int16 input with
 * zero point 0, OHWI int8 filter, int64 or int32 bias, per-channel requantization of the
 * accumulator (64-bit with int64 bias, 32-bit with int32 bias, as TFLite). conv_params->input_offset/output_offset are not used (both zero).
 * Grouped convolution as arm_convolve_s8: filter_dims->c may divide the input channels.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

int32_t arm_convolve_s16_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    /* reads the input in place (no im2col copy) */
    (void)input_dims;
    (void)filter_dims;
    return 0;
}

static int64_t edgeq_bias_s64(const cmsis_nn_bias_data *bias, int32_t c)
{
    if (bias == 0 || bias->data == 0)
    {
        return 0;
    }
    return bias->is_int32_bias ? (int64_t)((const int32_t *)bias->data)[c] : ((const int64_t *)bias->data)[c];
}

arm_cmsis_nn_status arm_convolve_s16(const cmsis_nn_context *ctx,
                                     const cmsis_nn_conv_params *conv_params,
                                     const cmsis_nn_per_channel_quant_params *quant_params,
                                     const cmsis_nn_dims *input_dims,
                                     const int16_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data,
                                     const cmsis_nn_dims *bias_dims,
                                     const cmsis_nn_bias_data *bias_data,
                                     const cmsis_nn_dims *output_dims,
                                     int16_t *output_data)
{
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t stride_h = conv_params->stride.h, stride_w = conv_params->stride.w;
    const int32_t pad_h = conv_params->padding.h, pad_w = conv_params->padding.w;
    const int32_t dil_h = conv_params->dilation.h, dil_w = conv_params->dilation.w;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    int32_t b, oy, ox, oc, ky, kx, g, groups, oc_per_group, k_c;
    (void)ctx;
    (void)bias_dims;

    /* Upstream's v7 int16 convolution reads only filter_dims->w/h (filter depth = input channels).
     * edgeq's grouped extension takes filter_dims->c when it is a proper group depth (a divisor
     * of the input channels whose group count also divides the output channels); anything else,
     * e.g. a caller that never set it, means an ordinary convolution, as upstream. */
    k_c = filter_dims->c;
    if (k_c <= 0 || k_c > in_c || in_c % k_c != 0 || out_c % (in_c / k_c) != 0)
    {
        k_c = in_c;
    }
    groups = in_c / k_c;
    oc_per_group = out_c / groups;
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
                edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                for (g = 0, oc = 0; oc < out_c; oc += 2)
                {
                    /* two output channels per pass when their group has two left: they share the input */
                    const int32_t oc_end = (g + 1) * oc_per_group;
                    const int32_t n_oc = oc + 1 < oc_end ? 2 : 1;
                    int64_t acc[2] = {0, 0};
                    int32_t j;
                    for (ky = ky_lo; ky < ky_hi; ky++)
                    {
                        const int16_t *in_row = in_b + ((y0 + ky * dil_h) * in_w + x0) * in_c + g * k_c;
                        const int8_t *w_row = filter_data + (oc * k_h + ky) * k_w * k_c;
                        /* out-of-bounds taps see zeros (zero point 0): they are skipped; with
                         * dil_w == 1 and one group the in-bounds taps of a row are contiguous in
                         * input and filter */
                        const int32_t step = dil_w == 1 && groups == 1 ? kx_hi - kx_lo : 1;
                        for (kx = kx_lo; kx < kx_hi; kx += step)
                        {
                            const int16_t *x = in_row + kx * dil_w * in_c;
                            const int8_t *w = w_row + kx * k_c;
                            if (n_oc == 2)
                            {
                                edgeq_dot2_s16_s8(x, w, w + k_h * k_w * k_c, step * k_c, acc);
                            }
                            else
                            {
                                acc[0] += edgeq_dot_s16_s8(x, w, step * k_c);
                            }
                        }
                    }
                    for (j = 0; j < n_oc; j++)
                    {
                        const int32_t m = quant_params->multiplier[oc + j], s = quant_params->shift[oc + j];
                        const int64_t sum = acc[j] + edgeq_bias_s64(bias_data, oc + j);
                        /* TFLite's int32-bias variant accumulates in 32 bits (wrapping, which the
                         * exact sum narrowed modulo 2^32 reproduces) and requantizes with the
                         * 32-bit double-rounding multiply; the int64-bias one keeps 64 bits. */
                        const int32_t v = bias_data != 0 && bias_data->is_int32_bias
                                              ? arm_nn_requantize((int32_t)(uint32_t)(uint64_t)sum, m, s)
                                              : arm_nn_requantize_s64(sum, m, s);
                        *output_data++ = (int16_t)edgeq_clamp_i32(v, act_min, act_max);
                    }
                    if (oc + n_oc == oc_end)
                    {
                        g++;
                    }
                    oc -= 2 - n_oc; /* one channel done: the next pass starts right after it */
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
