/*
 * edgeq portable kernels -- int8 average and max pooling (NHWC, same quantization in/out).
 * Average: sum of the in-bounds taps divided by their count, rounded half away from zero.
 * On cores with the DSP extension four channels per word: max pool with SSUB8 + SEL, average
 * pool summing in 16-bit lanes with SXTAB16.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgeq_mve_kernels.h"

#include <string.h>

int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
    (void)ch_src;
    return 0;
}

#define EDGEQ_POOL_FN edgeq_pool_s8
#define EDGEQ_POOL_T int8_t
#define EDGEQ_POOL_MIN NN_Q7_MIN
#include "edgeq_pool_impl.h"

#if defined(EDGEQ_DOT_DSP)
/* ------------------------------------------------------------------ DSP max pool */

/* The lane-wise maximum / minimum of four int8: SSUB8 sets each byte lane's GE flag where
 * a >= b, SEL then picks a's byte there and b's elsewhere (both in one asm statement, so
 * nothing can touch the GE flags in between). On the host, the same per lane in C. */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(EDGEQ_PORTABLE_ONLY) && \
    !defined(EDGEQ_EMULATE_DSP)
static inline int32_t edgeq_max_s8x4(int32_t a, int32_t b)
{
    int32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %2, %3" : "=r"(r), "=&r"(t) : "r"(a), "r"(b));
    return r;
}
static inline int32_t edgeq_min_s8x4(int32_t a, int32_t b)
{
    int32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %3, %2" : "=r"(r), "=&r"(t) : "r"(a), "r"(b));
    return r;
}
#else
static inline int32_t edgeq_pick_s8x4(int32_t a, int32_t b, int32_t want_max)
{
    uint32_t r = 0;
    int32_t i;
    for (i = 0; i < 32; i += 8)
    {
        const int32_t x = (int8_t)(uint8_t)((uint32_t)a >> i), y = (int8_t)(uint8_t)((uint32_t)b >> i);
        r |= (uint32_t)(uint8_t)((x >= y) == (want_max != 0) ? x : y) << i;
    }
    return (int32_t)r;
}
static inline int32_t edgeq_max_s8x4(int32_t a, int32_t b) { return edgeq_pick_s8x4(a, b, 1); }
static inline int32_t edgeq_min_s8x4(int32_t a, int32_t b) { return edgeq_pick_s8x4(a, b, 0); }
#endif

/*
 * Max pool, four channels per word: the running maximum starts at -128 in every lane and takes
 * each in-bounds tap's word (2 instructions per tap and 4 channels instead of a compare and
 * select per channel); the activation clamp, when narrower than int8, is one more max and min.
 * Channels past the last multiple of four: one at a time. Same result as the portable loop:
 * the maximum over the same taps (-128 for a window with none), then clamped.
 */
static void edgeq_max_pool_s8_dsp(const cmsis_nn_pool_params *p, const cmsis_nn_dims *input_dims,
                                  const int8_t *input_data, const cmsis_nn_dims *filter_dims,
                                  const cmsis_nn_dims *output_dims, int8_t *out)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c, ch4 = ch & ~3;
    const int32_t act_min = p->activation.min, act_max = p->activation.max;
    const int32_t clamp = act_min > -128 || act_max < 127;
    const int32_t lo4 = (int32_t)(0x01010101u * (uint8_t)(int8_t)edgeq_clamp_i32(act_min, -128, 127));
    const int32_t hi4 = (int32_t)(0x01010101u * (uint8_t)(int8_t)edgeq_clamp_i32(act_max, -128, 127));
    const int32_t row_step = in_w * ch;
    int32_t b, oy, ox, c, y, x;
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * row_step;
        for (oy = 0; oy < output_dims->h; oy++)
        {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t ys = edgeq_max_i32(0, y0), ye = edgeq_min_i32(in_h, y0 + filter_dims->h);
            for (ox = 0; ox < output_dims->w; ox++, out += ch)
            {
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                const int32_t xs = edgeq_max_i32(0, x0), xe = edgeq_min_i32(in_w, x0 + filter_dims->w);
                const int8_t *win = in_b + ys * row_step + xs * ch; /* the first in-bounds tap */
                for (c = 0; c < ch4; c += 4)
                {
                    int32_t m = (int32_t)0x80808080u;
                    const int8_t *row = win + c;
                    for (y = ys; y < ye; y++, row += row_step)
                    {
                        const int8_t *tap = row;
                        for (x = xs; x < xe; x++, tap += ch)
                        {
                            m = edgeq_max_s8x4(m, edgeq_read_s8x4(tap));
                        }
                    }
                    if (clamp)
                    {
                        m = edgeq_min_s8x4(edgeq_max_s8x4(m, lo4), hi4);
                    }
                    memcpy(out + c, &m, 4);
                }
                for (; c < ch; c++)
                {
                    int32_t m = -128;
                    const int8_t *row = win + c;
                    for (y = ys; y < ye; y++, row += row_step)
                    {
                        const int8_t *tap = row;
                        for (x = xs; x < xe; x++, tap += ch)
                        {
                            m = *tap > m ? *tap : m;
                        }
                    }
                    out[c] = (int8_t)edgeq_clamp_i32(m, act_min, act_max);
                }
            }
        }
    }
}

/*
 * Average pool, four channels per word: a window of at most EDGEQ_AVG_LANE_TAPS taps sums in
 * 16-bit lanes without wrapping (255 * 128 < 2^15), SXTAB16 adding channels 0 and 2 of a tap's
 * word into one accumulator and SXTAB16 with ROR 8 channels 1 and 3 into another: a load and
 * two instructions per tap and 4 channels instead of four loads and adds. The rounding division
 * and clamp are the portable loop's (TFLM's reference): same sums, same bytes.
 */
#define EDGEQ_AVG_LANE_TAPS 255

static inline int8_t edgeq_avg_round_s8(int32_t sum, int32_t count, int32_t act_min, int32_t act_max)
{
    const int32_t q = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return (int8_t)edgeq_clamp_i32(q, act_min, act_max);
}

static arm_cmsis_nn_status edgeq_avg_pool_s8_dsp(const cmsis_nn_pool_params *p, const cmsis_nn_dims *input_dims,
                                                 const int8_t *input_data, const cmsis_nn_dims *filter_dims,
                                                 const cmsis_nn_dims *output_dims, int8_t *out)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c, ch4 = ch & ~3;
    const int32_t act_min = p->activation.min, act_max = p->activation.max;
    const int32_t row_step = in_w * ch;
    int32_t b, oy, ox, c, y, x;
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * row_step;
        for (oy = 0; oy < output_dims->h; oy++)
        {
            const int32_t y0 = oy * p->stride.h - p->padding.h;
            const int32_t ys = edgeq_max_i32(0, y0), ye = edgeq_min_i32(in_h, y0 + filter_dims->h);
            for (ox = 0; ox < output_dims->w; ox++, out += ch)
            {
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                const int32_t xs = edgeq_max_i32(0, x0), xe = edgeq_min_i32(in_w, x0 + filter_dims->w);
                const int32_t count = (ye - ys) * (xe - xs);
                const int8_t *win = in_b + ys * row_step + xs * ch; /* the first in-bounds tap */
                if (ye <= ys || xe <= xs)
                {
                    return ARM_CMSIS_NN_ARG_ERROR; /* a window with no tap, as the portable loop */
                }
                for (c = 0; c < ch4; c += 4)
                {
                    int32_t even = 0, odd = 0; /* lanes: channels (c, c + 2) and (c + 1, c + 3) */
                    const int8_t *row = win + c;
                    for (y = ys; y < ye; y++, row += row_step)
                    {
                        const int8_t *tap = row;
                        for (x = xs; x < xe; x++, tap += ch)
                        {
                            const int32_t w = edgeq_read_s8x4(tap);
                            even = edgeq_sxtab16(even, w);
                            odd = edgeq_sxtab16_ror8(odd, w);
                        }
                    }
                    out[c] = edgeq_avg_round_s8((int16_t)even, count, act_min, act_max);
                    out[c + 1] = edgeq_avg_round_s8((int16_t)odd, count, act_min, act_max);
                    out[c + 2] = edgeq_avg_round_s8(even >> 16, count, act_min, act_max);
                    out[c + 3] = edgeq_avg_round_s8(odd >> 16, count, act_min, act_max);
                }
                for (; c < ch; c++)
                {
                    int32_t sum = 0;
                    const int8_t *row = win + c;
                    for (y = ys; y < ye; y++, row += row_step)
                    {
                        const int8_t *tap = row;
                        for (x = xs; x < xe; x++, tap += ch)
                        {
                            sum += *tap;
                        }
                    }
                    out[c] = edgeq_avg_round_s8(sum, count, act_min, act_max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
#endif /* EDGEQ_DOT_DSP */

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context *ctx,
                                   const cmsis_nn_pool_params *pool_params,
                                   const cmsis_nn_dims *input_dims,
                                   const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims,
                                   const cmsis_nn_dims *output_dims,
                                   int8_t *output_data)
{
    (void)ctx;
#if defined(EDGEQ_MVE)
    return edgeq_mve_avgpool_s8(pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
#endif
#if defined(EDGEQ_DOT_DSP)
    if (input_dims->n >= 1 && filter_dims->h * filter_dims->w <= EDGEQ_AVG_LANE_TAPS)
    {
        return edgeq_avg_pool_s8_dsp(pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
    }
#endif
    return edgeq_pool_s8(0, pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
}


arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data)
{
    (void)ctx;
#if defined(EDGEQ_DOT_DSP)
    /* (an activation range with min > max, which no converter emits, keeps the reference order) */
    if (input_dims->n >= 1 && pool_params->activation.min <= pool_params->activation.max)
    {
        edgeq_max_pool_s8_dsp(pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    return edgeq_pool_s8(1, pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
}
