/*
 * edgeq -- Helium (MVE) int8 average pooling (arm_avgpool_s8 dispatches here): the sum of a
 * window's in-bounds taps, four channels per vector in 32-bit lanes (VLDRB.S32 + VADD per tap;
 * the last block of a channel count that is not a multiple of 4 predicated, VCTP.32), then per
 * channel the division by the tap count rounded half away from zero and the activation clamp,
 * in scalar code (MVE has no integer division). Same arithmetic as edgeq_pool_impl.h (TFLM's
 * reference AveragePool): int32 sums, no overflow for up to 2^24 taps.
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_mve.h"

#if defined(EDGEQ_MVE)

#include "edgeq_fixedpoint.h"

/* Output channels [c, c + n) of one window (rows [ys, ye), columns [xs, xe) of in_b): *out. */
EDGEQ_MVE_INLINE void edgeq_mve_avg4(const int8_t *in_b, int32_t in_w, int32_t ch, int32_t ys, int32_t ye,
                                     int32_t xs, int32_t xe, int32_t c, int32_t n, int32_t count, int32_t act_min,
                                     int32_t act_max, int8_t *out)
{
    const mve_pred16_t p = vctp32q((uint32_t)n);
    int32x4_t acc = vdupq_n_s32(0);
    int32_t sums[4];
    int32_t y, x, i;
    for (y = ys; y < ye; y++)
    {
        const int8_t *ip = in_b + (y * in_w + xs) * ch + c;
        for (x = xs; x < xe; x++)
        {
            acc = vaddq_s32(acc, vldrbq_z_s32(ip, p));
            ip += ch;
        }
    }
    vstrwq_s32(sums, acc);
    for (i = 0; i < n; i++)
    {
        const int32_t s = sums[i];
        const int32_t v = s > 0 ? (s + count / 2) / count : (s - count / 2) / count;
        out[c + i] = (int8_t)edgeq_clamp_i32(v, act_min, act_max);
    }
}

arm_cmsis_nn_status edgeq_mve_avgpool_s8(const cmsis_nn_pool_params *p, const cmsis_nn_dims *input_dims,
                                         const int8_t *input_data, const cmsis_nn_dims *filter_dims,
                                         const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t act_min = p->activation.min, act_max = p->activation.max;
    int32_t b, oy, ox, c;
    if (batches < 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR; /* as upstream */
    }
    for (b = 0; b < batches; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * ch;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t ys = edgeq_max_i32(0, y0), ye = edgeq_min_i32(in_h, y0 + k_h);
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                const int32_t xs = edgeq_max_i32(0, x0), xe = edgeq_min_i32(in_w, x0 + k_w);
                const int32_t count = (ye - ys) * (xe - xs);
                if (ye <= ys || xe <= xs)
                {
                    return ARM_CMSIS_NN_ARG_ERROR; /* a window without taps, as the portable kernel */
                }
                for (c = 0; c + 4 <= ch; c += 4)
                {
                    edgeq_mve_avg4(in_b, in_w, ch, ys, ye, xs, xe, c, 4, count, act_min, act_max, output_data);
                }
                if (c < ch)
                {
                    edgeq_mve_avg4(in_b, in_w, ch, ys, ye, xs, xe, c, ch - c, count, act_min, act_max,
                                   output_data);
                }
                output_data += ch;
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

#else
typedef int edgeq_mve_pool_unused; /* ISO C: a translation unit is not empty */
#endif /* EDGEQ_MVE */
