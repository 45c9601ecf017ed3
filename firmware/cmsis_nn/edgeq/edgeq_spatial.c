/*
 * edgeq kernels -- spatial ops: int16 transpose convolution, nearest-neighbour resize (any
 * element size) and int8 bilinear resize. Written from the TFLite reference semantics (see
 * edgeq_spatial.h).
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_spatial.h"

#include <string.h>

#include "arm_nnsupportfunctions.h"

/* ---------------------------------------------------------------- TRANSPOSE_CONV int16 */

arm_cmsis_nn_status edgeq_transpose_conv_s16(const cmsis_nn_transpose_conv_params *params,
                                             const cmsis_nn_per_channel_quant_params *quant_params,
                                             const cmsis_nn_dims *input_dims, const int16_t *input_data,
                                             const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                             const int64_t *bias_data, const cmsis_nn_dims *output_dims,
                                             int16_t *output_data)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t s_h = params->stride.h, s_w = params->stride.w;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    int32_t b, oy, ox, oc;

    if (filter_dims->n != out_c || filter_dims->c != in_c || input_dims->n != output_dims->n || s_h < 1 ||
        s_w < 1 || params->padding.h < 0 || params->padding.w < 0 || params->input_offset != 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++)
    {
        const int16_t *in_b = input_data + b * in_h * in_w * in_c;
        edgeq_tconv_axis_t ay;
        edgeq_tconv_axis_start(&ay, params->padding.h, s_h);
        for (oy = 0; oy < out_h; oy++, edgeq_tconv_axis_step(&ay, s_h))
        {
            int32_t ky0, iy0;
            edgeq_tconv_axis_t ax;
            edgeq_tconv_axis_first(&ay, s_h, in_h, &ky0, &iy0);
            edgeq_tconv_axis_start(&ax, params->padding.w, s_w);
            for (ox = 0; ox < out_w; ox++, edgeq_tconv_axis_step(&ax, s_w))
            {
                int32_t kx0, ix0;
                edgeq_tconv_axis_first(&ax, s_w, in_w, &kx0, &ix0);
                for (oc = 0; oc < out_c; oc++)
                {
                    const int8_t *w_oc = filter_data + oc * k_h * k_w * in_c;
                    int64_t acc = 0;
                    int32_t ky, iy, kx, ix, v;
                    for (ky = ky0, iy = iy0; ky < k_h && iy >= 0; ky += s_h, iy--)
                    {
                        const int16_t *in_row = in_b + iy * in_w * in_c;
                        const int8_t *w_row = w_oc + ky * k_w * in_c;
                        for (kx = kx0, ix = ix0; kx < k_w && ix >= 0; kx += s_w, ix--)
                        {
                            acc += edgeq_dot_s16_s8(in_row + ix * in_c, w_row + kx * in_c, in_c);
                        }
                    }
                    if (bias_data != 0)
                    {
                        acc += bias_data[oc];
                    }
                    v = arm_nn_requantize_s64(acc, quant_params->multiplier[oc], quant_params->shift[oc]) +
                        params->output_offset;
                    *output_data++ = (int16_t)edgeq_clamp_i32(v, act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* ---------------------------------------------------------------- RESIZE_NEAREST_NEIGHBOR */

void edgeq_resize_nearest(const void *input, int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                          int32_t elem_bytes, const int32_t *y_map, int32_t out_h, const int32_t *x_map,
                          int32_t out_w, void *output)
{
    const int32_t pixel = channels * elem_bytes;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    int32_t b, y, x;
    for (b = 0; b < batches; b++)
    {
        const uint8_t *in_b = in + b * in_h * in_w * pixel;
        for (y = 0; y < out_h; y++)
        {
            const uint8_t *in_row = in_b + y_map[y] * in_w * pixel;
            for (x = 0; x < out_w; x++, out += pixel)
            {
                memcpy(out, in_row + x_map[x] * pixel, (size_t)pixel);
            }
        }
    }
}

/* ---------------------------------------------------------------- RESIZE_BILINEAR */

/* (in << 10) / out rounded half up: the reference's Q10 step between output and input positions. */
static int32_t edgeq_resize_scale_10(int32_t in_size, int32_t out_size, int32_t align_corners)
{
    if (align_corners && out_size > 1)
    {
        return ((1 << 10) * (in_size - 1) + (out_size - 1) / 2) / (out_size - 1);
    }
    return ((1 << 10) * in_size + out_size / 2) / out_size;
}

/* Input position (Q10) of output position o, and the two input indices around it: the lower
 * one truncated toward zero and clamped at 0, the upper one rounded up and clamped at size - 1. */
static void edgeq_resize_pos(int32_t o, int32_t scale_10, int32_t half_pixel_centers, int32_t in_size,
                             int32_t *pos, int32_t *lo, int32_t *hi)
{
    const int32_t v = half_pixel_centers ? o * scale_10 + scale_10 / 2 - (1 << 9) : o * scale_10;
    const int32_t l = v / (1 << 10), h = (v + (1 << 10) - 1) / (1 << 10);
    *pos = v;
    *lo = l > 0 ? l : 0;
    *hi = h < in_size - 1 ? h : in_size - 1;
}

/* ELEM: element type; ACC: an accumulator for |value| x 2048^2 (with half_pixel_centers the
 * weights per axis reach -512..1536): int32 for int8 (|sum| < 2^30). */
#define EDGEQ_RESIZE_BILINEAR(NAME, ELEM, ACC)                                                                 \
    void NAME(const ELEM *input, const int32_t in_shape[4], int32_t out_h, int32_t out_w, int32_t align_corners, \
              int32_t half_pixel_centers, ELEM *output)                                                        \
    {                                                                                                          \
        const int32_t n = in_shape[0], in_h = in_shape[1], in_w = in_shape[2], c = in_shape[3];                \
        const int32_t sy = edgeq_resize_scale_10(in_h, out_h, align_corners);                                  \
        const int32_t sx = edgeq_resize_scale_10(in_w, out_w, align_corners);                                  \
        int32_t b, y, x, ch;                                                                                   \
        for (b = 0; b < n; b++)                                                                                \
        {                                                                                                      \
            const ELEM *in_b = input + b * in_h * in_w * c;                                                    \
            for (y = 0; y < out_h; y++)                                                                        \
            {                                                                                                  \
                int32_t py, y0, y1;                                                                            \
                edgeq_resize_pos(y, sy, half_pixel_centers, in_h, &py, &y0, &y1);                              \
                {                                                                                              \
                    const ACC fy = (ACC)(py - (y0 << 10)), gy = (ACC)(1 << 10) - fy;                           \
                    const ELEM *row0 = in_b + y0 * in_w * c, *row1 = in_b + y1 * in_w * c;                     \
                    for (x = 0; x < out_w; x++)                                                                \
                    {                                                                                          \
                        int32_t px, x0, x1;                                                                    \
                        edgeq_resize_pos(x, sx, half_pixel_centers, in_w, &px, &x0, &x1);                      \
                        {                                                                                      \
                            const ACC fx = (ACC)(px - (x0 << 10)), gx = (ACC)(1 << 10) - fx;                   \
                            const ACC w00 = gy * gx, w10 = fy * gx, w01 = gy * fx, w11 = fy * fx;              \
                            const ELEM *p00 = row0 + x0 * c, *p01 = row0 + x1 * c;                             \
                            const ELEM *p10 = row1 + x0 * c, *p11 = row1 + x1 * c;                             \
                            for (ch = 0; ch < c; ch++)                                                         \
                            {                                                                                  \
                                const ACC v = p00[ch] * w00 + p10[ch] * w10 + p01[ch] * w01 + p11[ch] * w11;   \
                                const ACC r = v > 0 ? (ACC)1 << 19 : -((ACC)1 << 19);                          \
                                *output++ = (ELEM)((v + r) / ((ACC)1 << 20));                                  \
                            }                                                                                  \
                        }                                                                                      \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    }

EDGEQ_RESIZE_BILINEAR(edgeq_resize_bilinear_s8, int8_t, int32_t)
