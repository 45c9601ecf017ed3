/*
 * edgeq -- the average / max pooling loop for one element type (NHWC, same quantization in and
 * out, so no requantization). Average: the sum of the in-bounds taps divided by their count,
 * rounded half away from zero, as TFLM's reference AveragePool for int8 and int16 (int32 sum: at
 * most 2^16 taps of 2^15). The int8 and int16 kernels share it so that their arithmetic cannot
 * drift apart; included once per type with these defined:
 *   EDGEQ_POOL_FN   the static function's name
 *   EDGEQ_POOL_T    the element type (int8_t, int16_t)
 *   EDGEQ_POOL_MIN  the type's minimum (the max-pool start value)
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnsupportfunctions.h"

static arm_cmsis_nn_status EDGEQ_POOL_FN(int is_max,
                                         const cmsis_nn_pool_params *p,
                                         const cmsis_nn_dims *input_dims,
                                         const EDGEQ_POOL_T *input_data,
                                         const cmsis_nn_dims *filter_dims,
                                         const cmsis_nn_dims *output_dims,
                                         EDGEQ_POOL_T *output_data)
{
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    int32_t b, oy, ox, c, y, x;

    if (batches < 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR; /* as upstream: a batch count below one is an argument error */
    }
    for (b = 0; b < batches; b++)
    {
        const EDGEQ_POOL_T *in_b = input_data + b * in_h * in_w * ch;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t ys = edgeq_max_i32(0, y0), ye = edgeq_min_i32(in_h, y0 + k_h);
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                const int32_t xs = edgeq_max_i32(0, x0), xe = edgeq_min_i32(in_w, x0 + k_w);
                for (c = 0; c < ch; c++)
                {
                    int32_t acc = is_max ? EDGEQ_POOL_MIN : 0;
                    int32_t count = 0;
                    for (y = ys; y < ye; y++)
                    {
                        for (x = xs; x < xe; x++)
                        {
                            const int32_t v = in_b[(y * in_w + x) * ch + c];
                            if (is_max)
                            {
                                acc = v > acc ? v : acc;
                            }
                            else
                            {
                                acc += v;
                            }
                            count++;
                        }
                    }
                    if (!is_max)
                    {
                        if (count == 0)
                        {
                            return ARM_CMSIS_NN_ARG_ERROR;
                        }
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *output_data++ = (EDGEQ_POOL_T)edgeq_clamp_i32(acc, p->activation.min, p->activation.max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

#undef EDGEQ_POOL_FN
#undef EDGEQ_POOL_T
#undef EDGEQ_POOL_MIN
