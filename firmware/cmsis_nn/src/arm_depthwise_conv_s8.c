/*
 * edgeq kernels -- int8 depthwise convolution with depth multiplier and dilation.
 * Filter layout [1, H, W, C_in * ch_mult]; output channel c = c_in * ch_mult + m.
 * Portable C; with the DSP extension (EDGEQ_DOT_DSP) and ch_mult 1, four channels at a time
 * with SMLABB / SMLATT (no scratch).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgeq_mve_kernels.h"

#if defined(EDGEQ_DOT_DSP)
/* ------------------------------------------------------------------ DSP path, ch_mult == 1 */

/*
 * Channels are independent in a depthwise convolution, so the vector runs across channels:
 * one input word (channels c..c+3 of a tap) becomes (x0 + off, x2 + off) and (x1 + off,
 * x3 + off) with SXTB16 + SADD16 (values in [-255, 255]: exact in 16 bits), one filter word
 * (w0, w2) and (w1, w3), and SMLABB / SMLATT add each lane's product to its own channel.
 * Only in-bounds taps are visited (TFLM: padded taps contribute nothing), so the offset stays
 * per tap rather than hoisted into the bias. Products |.| <= 255 * 128; the accumulators add
 * modulo 2^32 like TFLM's int32 accumulator: the same bits for all int8 inputs.
 */
/* One tap for four channels: a[i] += (x[i] + off) * w[i], lanes as described above. */
static inline void edgeq_dw_tap4(const int8_t *x, const int8_t *w, int32_t off2, int32_t a[4])
{
    const int32_t xv = edgeq_read_s8x4(x), wv = edgeq_read_s8x4(w);
    const int32_t x02 = edgeq_sadd16(edgeq_sxtb16(xv), off2), x13 = edgeq_sadd16(edgeq_sxtb16_ror8(xv), off2);
    const int32_t w02 = edgeq_sxtb16(wv), w13 = edgeq_sxtb16_ror8(wv);
    a[0] = edgeq_smlabb(x02, w02, a[0]);
    a[2] = edgeq_smlatt(x02, w02, a[2]);
    a[1] = edgeq_smlabb(x13, w13, a[1]);
    a[3] = edgeq_smlatt(x13, w13, a[3]);
}

/* The whole 3x3 window in bounds (dilation 1), the common case away from the borders: constant
 * trip counts, so the compiler unrolls the nine taps and drops the per-tap loop overhead. */
static inline void edgeq_dw_3x3_full4(const int8_t *x, int32_t x_row, const int8_t *w, int32_t ch, int32_t off2,
                                      int32_t a[4])
{
    int32_t ky, kx;
    for (ky = 0; ky < 3; ky++)
    {
        for (kx = 0; kx < 3; kx++)
        {
            edgeq_dw_tap4(x + ky * x_row + kx * ch, w + (ky * 3 + kx) * ch, off2, a);
        }
    }
}

static void edgeq_depthwise_s8_dsp(const cmsis_nn_dw_conv_params *dw, const cmsis_nn_per_channel_quant_params *q,
                                   const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                   const int32_t *bias_data, const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t dil_h = dw->dilation.h, dil_w = dw->dilation.w;
    const int32_t in_off = dw->input_offset, out_off = dw->output_offset;
    const int32_t act_min = dw->activation.min, act_max = dw->activation.max;
    const int32_t off2 = (int32_t)(((uint32_t)(in_off & 0xFFFF) << 16) | (uint32_t)(in_off & 0xFFFF));
    int32_t b, oy, ox, c, ky, kx, j;

    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * ch;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * dw->stride.h - dw->padding.h;
            int32_t ky_lo, ky_hi;
            edgeq_tap_range(y0, dil_h, k_h, in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * dw->stride.w - dw->padding.w;
                int8_t *out_px = output_data + (oy * out_w + ox) * ch;
                int32_t kx_lo, kx_hi;
                edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                const int32_t full3x3 = k_h == 3 && k_w == 3 && dil_h == 1 && dil_w == 1 && ky_lo == 0 &&
                                        ky_hi == 3 && kx_lo == 0 && kx_hi == 3;
                for (c = 0; c + 4 <= ch; c += 4)
                {
                    int32_t acc[4];
                    for (j = 0; j < 4; j++)
                    {
                        acc[j] = bias_data != 0 ? bias_data[c + j] : 0;
                    }
                    if (full3x3)
                    {
                        edgeq_dw_3x3_full4(in_b + (y0 * in_w + x0) * ch + c, in_w * ch, filter_data + c, ch, off2,
                                           acc);
                    }
                    else
                    {
                        for (ky = ky_lo; ky < ky_hi; ky++)
                        {
                            const int8_t *in_row = in_b + ((y0 + ky * dil_h) * in_w + x0) * ch + c;
                            const int8_t *w_row = filter_data + ky * k_w * ch + c;
                            for (kx = kx_lo; kx < kx_hi; kx++)
                            {
                                edgeq_dw_tap4(in_row + kx * dil_w * ch, w_row + kx * ch, off2, acc);
                            }
                        }
                    }
                    for (j = 0; j < 4; j++)
                    {
                        const int32_t v = arm_nn_requantize(acc[j], q->multiplier[c + j], q->shift[c + j]) + out_off;
                        out_px[c + j] = (int8_t)edgeq_clamp_i32(v, act_min, act_max);
                    }
                }
                for (; c < ch; c++) /* the last ch % 4 channels */
                {
                    int32_t acc = bias_data != 0 ? bias_data[c] : 0;
                    for (ky = ky_lo; ky < ky_hi; ky++)
                    {
                        const int8_t *in_row = in_b + ((y0 + ky * dil_h) * in_w + x0) * ch + c;
                        const int8_t *w_row = filter_data + ky * k_w * ch + c;
                        for (kx = kx_lo; kx < kx_hi; kx++)
                        {
                            acc += ((int32_t)in_row[kx * dil_w * ch] + in_off) * (int32_t)w_row[kx * ch];
                        }
                    }
                    acc = arm_nn_requantize(acc, q->multiplier[c], q->shift[c]) + out_off;
                    out_px[c] = (int8_t)edgeq_clamp_i32(acc, act_min, act_max);
                }
            }
        }
        output_data += out_h * out_w * ch;
    }
}
#endif /* EDGEQ_DOT_DSP */

/* ------------------------------------------------------------------ entry point (portable path) */

arm_cmsis_nn_status arm_depthwise_conv_s8(const cmsis_nn_context *ctx,
                                          const cmsis_nn_dw_conv_params *dw_conv_params,
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
    const int32_t mult = dw_conv_params->ch_mult;
    const int32_t stride_h = dw_conv_params->stride.h, stride_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h, pad_w = dw_conv_params->padding.w;
    const int32_t dil_h = dw_conv_params->dilation.h, dil_w = dw_conv_params->dilation.w;
    const int32_t in_off = dw_conv_params->input_offset, out_off = dw_conv_params->output_offset;
    const int32_t act_min = dw_conv_params->activation.min, act_max = dw_conv_params->activation.max;
    int32_t b, oy, ox, ic, m, ky, kx;
    (void)ctx;
    (void)bias_dims;

    if (out_c != in_c * mult)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
#if defined(EDGEQ_MVE)
    if (mult == 1)
    {
        return edgeq_mve_depthwise_conv_s8(dw_conv_params, quant_params, input_dims, input_data, filter_dims,
                                           filter_data, bias_data, output_dims, output_data);
    }
#endif
#if defined(EDGEQ_DOT_DSP)
    if (mult == 1)
    {
        edgeq_depthwise_s8_dsp(dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                               bias_data, output_dims, output_data);
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
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
                int8_t *out_px = output_data + (oy * out_w + ox) * out_c;
                edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                for (ic = 0; ic < in_c; ic++)
                {
                    for (m = 0; m < mult; m++)
                    {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = bias_data != 0 ? bias_data[oc] : 0;
                        for (ky = ky_lo; ky < ky_hi; ky++)
                        {
                            const int8_t *in_row = in_b + ((y0 + ky * dil_h) * in_w + x0) * in_c + ic;
                            const int8_t *w_row = filter_data + ky * k_w * out_c + oc;
                            for (kx = kx_lo; kx < kx_hi; kx++)
                            {
                                acc += ((int32_t)in_row[kx * dil_w * in_c] + in_off) * (int32_t)w_row[kx * out_c];
                            }
                        }
                        acc = arm_nn_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                        acc += out_off;
                        out_px[oc] = (int8_t)edgeq_clamp_i32(acc, act_min, act_max);
                    }
                }
            }
        }
        output_data += out_h * out_w * out_c;
    }
    return ARM_CMSIS_NN_SUCCESS;
}
