/*
 * edgeq -- int8 and int16 operators outside the CMSIS-NN API (see edgeq_nn_ops.h).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "edgeq_fixedpoint.h"
#include "edgeq_nn_ops.h"

/* Fills count elements of elem_size bytes (1 or 2) with value. */
static void edgeq_fill(void *dst, int32_t count, int32_t elem_size, int32_t value)
{
    int32_t i;
    if (elem_size == 1)
    {
        memset(dst, (unsigned char)value, (size_t)count);
        return;
    }
    for (i = 0; i < count; i++)
    {
        ((int16_t *)dst)[i] = (int16_t)value;
    }
}

/* PAD on raw elements of elem_size bytes: shared by the int8 and int16 kernels. */
static void edgeq_pad_elems(const void *input, const int32_t in_shape[4], const int32_t before[4],
                            const int32_t out_shape[4], int32_t elem_size, int32_t pad_value, void *output)
{
    const int32_t lead = before[3];
    const int32_t tail = out_shape[3] - lead - in_shape[3];
    const size_t row_bytes = (size_t)(in_shape[3] * elem_size);
    int32_t a, b, c;
    for (a = 0; a < out_shape[0]; a++)
    {
        const int32_t ia = a - before[0];
        for (b = 0; b < out_shape[1]; b++)
        {
            const int32_t ib = b - before[1];
            for (c = 0; c < out_shape[2]; c++)
            {
                const int32_t ic = c - before[2];
                uint8_t *out = (uint8_t *)output +
                               (size_t)(((a * out_shape[1] + b) * out_shape[2] + c) * out_shape[3] * elem_size);
                if (ia < 0 || ia >= in_shape[0] || ib < 0 || ib >= in_shape[1] || ic < 0 || ic >= in_shape[2])
                {
                    edgeq_fill(out, out_shape[3], elem_size, pad_value);
                }
                else
                {
                    const uint8_t *in = (const uint8_t *)input +
                                        (size_t)(((ia * in_shape[1] + ib) * in_shape[2] + ic) * in_shape[3] * elem_size);
                    edgeq_fill(out, lead, elem_size, pad_value);
                    memmove(out + lead * elem_size, in, row_bytes);
                    edgeq_fill(out + (size_t)lead * (size_t)elem_size + row_bytes, tail, elem_size, pad_value);
                }
            }
        }
    }
}

void edgeq_pad_s8(const int8_t *input, const int32_t in_shape[4], const int32_t before[4],
                  const int32_t out_shape[4], int8_t pad_value, int8_t *output)
{
    edgeq_pad_elems(input, in_shape, before, out_shape, 1, pad_value, output);
}

void edgeq_pad_s16(const int16_t *input, const int32_t in_shape[4], const int32_t before[4],
                   const int32_t out_shape[4], int16_t pad_value, int16_t *output)
{
    edgeq_pad_elems(input, in_shape, before, out_shape, 2, pad_value, output);
}

static void edgeq_concat_elems(const void *const *inputs, const int32_t *axis_sizes, int32_t num_inputs,
                               int32_t outer, int32_t inner, int32_t elem_size, void *output)
{
    uint8_t *out = (uint8_t *)output;
    int32_t o, i;
    for (o = 0; o < outer; o++)
    {
        for (i = 0; i < num_inputs; i++)
        {
            const size_t chunk = (size_t)(axis_sizes[i] * inner * elem_size);
            memcpy(out, (const uint8_t *)inputs[i] + (size_t)o * chunk, chunk);
            out += chunk;
        }
    }
}

void edgeq_concat_s8(const int8_t *const *inputs, const int32_t *axis_sizes, int32_t num_inputs,
                     int32_t outer, int32_t inner, int8_t *output)
{
    edgeq_concat_elems((const void *const *)inputs, axis_sizes, num_inputs, outer, inner, 1, output);
}

void edgeq_concat_s16(const int16_t *const *inputs, const int32_t *axis_sizes, int32_t num_inputs,
                      int32_t outer, int32_t inner, int16_t *output)
{
    edgeq_concat_elems((const void *const *)inputs, axis_sizes, num_inputs, outer, inner, 2, output);
}

/* MEAN on int8 (is_s16 = 0) or int16 elements: TFLM's QuantizedMeanOrSum is one template over
 * the element type with an int32 sum, so the two kernels share this body. */
static void edgeq_mean_elems(const void *input, int32_t is_s16, const int32_t shape[4], int32_t reduce_mask,
                             int32_t mode, int32_t input_zp, int32_t multiplier, int32_t shift, int32_t output_zp,
                             void *output)
{
    const int32_t lo = is_s16 ? -32768 : -128, hi = is_s16 ? 32767 : 127;
    int32_t ext[4], lim[4], count = 1, o[4], r[4], k, n = 0;
    for (k = 0; k < 4; k++)
    {
        const int reduced = (reduce_mask >> k) & 1;
        ext[k] = reduced ? 1 : shape[k];
        lim[k] = reduced ? shape[k] : 1;
        if (reduced)
        {
            count *= shape[k];
        }
    }
    for (o[0] = 0; o[0] < ext[0]; o[0]++)
        for (o[1] = 0; o[1] < ext[1]; o[1]++)
            for (o[2] = 0; o[2] < ext[2]; o[2]++)
                for (o[3] = 0; o[3] < ext[3]; o[3]++)
                {
                    int32_t sum = 0, v;
                    for (r[0] = 0; r[0] < lim[0]; r[0]++)
                        for (r[1] = 0; r[1] < lim[1]; r[1]++)
                            for (r[2] = 0; r[2] < lim[2]; r[2]++)
                                for (r[3] = 0; r[3] < lim[3]; r[3]++)
                                {
                                    const int32_t i0 = o[0] + r[0], i1 = o[1] + r[1];
                                    const int32_t i2 = o[2] + r[2], i3 = o[3] + r[3];
                                    const int32_t at = ((i0 * shape[1] + i1) * shape[2] + i2) * shape[3] + i3;
                                    sum += is_s16 ? ((const int16_t *)input)[at] : ((const int8_t *)input)[at];
                                }
                    if (mode == 0)
                    {
                        v = sum / count;
                    }
                    else
                    {
                        v = edgeq_requantize(sum - input_zp * count, multiplier, shift) + output_zp;
                    }
                    v = edgeq_clamp_i32(v, lo, hi);
                    if (is_s16)
                    {
                        ((int16_t *)output)[n++] = (int16_t)v;
                    }
                    else
                    {
                        ((int8_t *)output)[n++] = (int8_t)v;
                    }
                }
}

void edgeq_mean_s8(const int8_t *input, const int32_t shape[4], int32_t reduce_mask, int32_t mode,
                   int32_t input_zp, int32_t multiplier, int32_t shift, int32_t output_zp, int8_t *output)
{
    edgeq_mean_elems(input, 0, shape, reduce_mask, mode, input_zp, multiplier, shift, output_zp, output);
}

void edgeq_mean_s16(const int16_t *input, const int32_t shape[4], int32_t reduce_mask, int32_t mode,
                    int32_t input_zp, int32_t multiplier, int32_t shift, int32_t output_zp, int16_t *output)
{
    edgeq_mean_elems(input, 1, shape, reduce_mask, mode, input_zp, multiplier, shift, output_zp, output);
}

void edgeq_logistic_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t input_range_radius,
                       int32_t input_multiplier, int32_t input_left_shift, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t x = (int32_t)input[i] - input_zp;
        if (x <= -input_range_radius)
        {
            output[i] = -128;
        }
        else if (x >= input_range_radius)
        {
            output[i] = 127;
        }
        else
        {
            const int32_t x_q4 = edgeq_requantize(x, input_multiplier, input_left_shift);
            const int32_t y_q0 = edgeq_logistic_q4(x_q4);
            const int32_t y = edgeq_rdbpot(y_q0, 31 - 8) - 128;
            output[i] = (int8_t)edgeq_clamp_i32(y, -128, 127);
        }
    }
}

void edgeq_logistic_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift,
                        const uint16_t *table, int16_t *output)
{
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    int32_t i;
    for (i = 0; i < size; i++)
    {
        /* x in units of 1/(3 * 4096): |x| < 255 * 512 is the table's range, 10.6 */
        const int32_t x = ((int32_t)input[i] * multiplier + round) >> shift;
        const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
        const uint32_t at = ax >> 9;
        uint32_t r = 0x7FFFu << 10; /* saturated */
        if (at < 255)
        {
            const uint32_t lo = table[at], hi = table[at + 1];
            r = (lo << 9) + (ax & 0x1FFu) * (hi - lo); /* the table rises: hi >= lo */
        }
        /* sigmoid(-x) = 1 - sigmoid(x); both rounded from Q0.25 to Q0.15 */
        r = x >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
        output[i] = (int16_t)(r >> 10);
    }
}

void edgeq_requantize_s8_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                            int32_t shift, int32_t output_zp, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t v = edgeq_requantize((int32_t)input[i] - input_zp, multiplier, shift) + output_zp;
        output[i] = (int8_t)edgeq_clamp_i32(v, -128, 127);
    }
}

/* The int8 <-> int16 pairs: the same requantization, only the value ranges differ. */
#define EDGEQ_REQUANTIZE_LOOP(lo, hi, out_t)                                                            \
    do                                                                                              \
    {                                                                                               \
        int32_t i;                                                                                  \
        for (i = 0; i < size; i++)                                                                  \
        {                                                                                           \
            const int32_t v = edgeq_requantize((int32_t)input[i] - input_zp, multiplier, shift) + output_zp; \
            output[i] = (out_t)edgeq_clamp_i32(v, (lo), (hi));                                      \
        }                                                                                           \
    } while (0)

void edgeq_requantize_s8_s16(const int8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                             int32_t shift, int32_t output_zp, int16_t *output)
{
    EDGEQ_REQUANTIZE_LOOP(-32768, 32767, int16_t);
}

void edgeq_requantize_s16_s8(const int16_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                             int32_t shift, int32_t output_zp, int8_t *output)
{
    EDGEQ_REQUANTIZE_LOOP(-128, 127, int8_t);
}

void edgeq_requantize_s16_s16(const int16_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                              int32_t shift, int32_t output_zp, int16_t *output)
{
    EDGEQ_REQUANTIZE_LOOP(-32768, 32767, int16_t);
}

void edgeq_fully_connected_s16_b32(const int16_t *input, const int8_t *filter, const int32_t *bias,
                                   int32_t batches, int32_t depth, int32_t units, const int32_t *mult,
                                   const int32_t *shift, int32_t per_channel, int32_t act_min, int32_t act_max,
                                   int16_t *output)
{
    int32_t b, u;
    for (b = 0; b < batches; b++)
    {
        for (u = 0; u < units; u++)
        {
            const int32_t q = per_channel ? u : 0;
            const int64_t sum = edgeq_dot_s16_s8(input + b * depth, filter + u * depth, depth) + (bias ? bias[u] : 0);
            /* the 32-bit accumulator wraps: the exact sum modulo 2^32 is the same value */
            const int32_t acc = (int32_t)(uint32_t)(uint64_t)sum;
            output[b * units + u] = (int16_t)edgeq_clamp_i32(edgeq_requantize(acc, mult[q], shift[q]), act_min, act_max);
        }
    }
}

void edgeq_requantize_u8_s8(const uint8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                            int32_t shift, int32_t output_zp, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t v = edgeq_requantize((int32_t)input[i] - input_zp, multiplier, shift) + output_zp;
        output[i] = (int8_t)edgeq_clamp_i32(v, -128, 127);
    }
}

void edgeq_requantize_s8_u8(const int8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                            int32_t shift, int32_t output_zp, uint8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t v = edgeq_requantize((int32_t)input[i] - input_zp, multiplier, shift) + output_zp;
        output[i] = (uint8_t)edgeq_clamp_i32(v, 0, 255);
    }
}

void edgeq_quantize_f32_s8(const float *input, int32_t size, float scale, int32_t zero_point, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        float r = roundf(input[i] / scale);
        int32_t v;
        /* saturate in float first: beyond int32 the conversion would be undefined */
        r = r < 1.0e9f ? r : 1.0e9f;
        r = r > -1.0e9f ? r : -1.0e9f;
        v = (int32_t)r + zero_point;
        output[i] = (int8_t)edgeq_clamp_i32(v, -128, 127);
    }
}

void edgeq_dequantize_s8_f32(const int8_t *input, int32_t size, float scale, int32_t zero_point, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        output[i] = scale * (float)((int32_t)input[i] - zero_point);
    }
}

void edgeq_quantize_f32_s16(const float *input, int32_t size, float scale, int32_t zero_point, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        float r = roundf(input[i] / scale);
        r = r < 1.0e9f ? r : 1.0e9f; /* as the int8 version: keep the conversion defined */
        r = r > -1.0e9f ? r : -1.0e9f;
        output[i] = (int16_t)edgeq_clamp_i32((int32_t)r + zero_point, -32768, 32767);
    }
}

void edgeq_dequantize_s16_f32(const int16_t *input, int32_t size, float scale, int32_t zero_point, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        output[i] = scale * (float)((int32_t)input[i] - zero_point);
    }
}

/* The offsets in two broadcast operands (4-D shapes, dims of 1 broadcast) of output index idx. */
static void edgeq_bcast_offsets(const int32_t shape1[4], const int32_t shape2[4], const int32_t idx[4],
                                int32_t *off1, int32_t *off2)
{
    int32_t d, o1 = 0, o2 = 0;
    for (d = 0; d < 4; d++)
    {
        o1 = o1 * shape1[d] + (shape1[d] == 1 ? 0 : idx[d]);
        o2 = o2 * shape2[d] + (shape2[d] == 1 ? 0 : idx[d]);
    }
    *off1 = o1;
    *off2 = o2;
}

/* The next row-major 4-D index of out_shape (an odometer: no division per element). */
static void edgeq_bcast_step(const int32_t out_shape[4], int32_t idx[4])
{
    int32_t d;
    for (d = 3; d >= 0; d--)
    {
        if (++idx[d] < out_shape[d])
        {
            return;
        }
        idx[d] = 0;
    }
}

#define EDGEQ_BC_ADD edgeq_broadcast_add_s8
#define EDGEQ_BC_MUL edgeq_broadcast_mul_s8
#define EDGEQ_BC_T int8_t
#include "edgeq_broadcast_impl.h"
#undef EDGEQ_BC_ADD
#undef EDGEQ_BC_MUL
#undef EDGEQ_BC_T

#define EDGEQ_BC_ADD edgeq_broadcast_add_s16
#define EDGEQ_BC_MUL edgeq_broadcast_mul_s16
#define EDGEQ_BC_T int16_t
#include "edgeq_broadcast_impl.h"

void edgeq_copy(const void *input, int32_t bytes, void *output)
{
    if (input != output)
    {
        memmove(output, input, (size_t)bytes);
    }
}
