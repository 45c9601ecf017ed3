/*
 * edgeq -- binary elementwise ops, reductions and BATCH_MATMUL operand transposes (see
 * edgeq_binary.h). Written from the arithmetic of TFLite Micro's reference kernels.
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_binary.h"

#include "edgeq_fixedpoint.h"

/* Element strides of a 4-D operand read under broadcasting: 0 along the dimensions where the
 * operand has size 1 (and the output does not), the row-major stride elsewhere. */
static void edgeq_bc_strides(const int32_t shape[4], const int32_t out_shape[4], int32_t stride[4])
{
    int32_t d, s = 1;
    for (d = 3; d >= 0; d--)
    {
        stride[d] = (shape[d] == 1 && out_shape[d] != 1) ? 0 : s;
        s *= shape[d];
    }
}

/* Walks the output in row-major order with one pointer per operand; BODY reads *p1, *p2 and
 * writes output[k]. The innermost dimension steps by the operand strides (0 or 1). */
#define EDGEQ_BC_LOOP(T, BODY)                                                                       \
    do                                                                                             \
    {                                                                                              \
        int32_t st1[4], st2[4], a, b, c, i, k = 0;                                                 \
        edgeq_bc_strides(shape1, out_shape, st1);                                                  \
        edgeq_bc_strides(shape2, out_shape, st2);                                                  \
        for (a = 0; a < out_shape[0]; a++)                                                         \
        {                                                                                          \
            for (b = 0; b < out_shape[1]; b++)                                                     \
            {                                                                                      \
                for (c = 0; c < out_shape[2]; c++)                                                 \
                {                                                                                  \
                    const T *p1 = in1 + a * st1[0] + b * st1[1] + c * st1[2];                      \
                    const T *p2 = in2 + a * st2[0] + b * st2[1] + c * st2[2];                      \
                    for (i = 0; i < out_shape[3]; i++, k++, p1 += st1[3], p2 += st2[3])            \
                    {                                                                              \
                        BODY;                                                                      \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* One input of SUB / SQUARED_DIFFERENCE rescaled to the common scale. */
EDGEQ_INLINE int32_t edgeq_rescale_in(int32_t x, int32_t offset, int32_t left_shift, int32_t mult, int32_t shift)
{
    return edgeq_requantize(edgeq_shl(x + offset, left_shift), mult, shift);
}

#define EDGEQ_SUB_BODY(T)                                                                            \
    {                                                                                              \
        const int32_t d = edgeq_rescale_in(*p1, in1_offset, left_shift, in1_mult, in1_shift) -     \
                          edgeq_rescale_in(*p2, in2_offset, left_shift, in2_mult, in2_shift);      \
        output[k] = (T)edgeq_clamp_i32(edgeq_requantize(d, out_mult, out_shift) + out_offset, act_min, act_max); \
    }

void edgeq_sub_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2, const int32_t shape2[4],
                  const int32_t out_shape[4], int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                  int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int32_t out_offset,
                  int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int8_t *output)
{
    EDGEQ_BC_LOOP(int8_t, EDGEQ_SUB_BODY(int8_t));
}

void edgeq_sub_s16(const int16_t *in1, const int32_t shape1[4], const int16_t *in2, const int32_t shape2[4],
                   const int32_t out_shape[4], int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                   int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int32_t out_offset,
                   int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int16_t *output)
{
    EDGEQ_BC_LOOP(int16_t, EDGEQ_SUB_BODY(int16_t));
}

/* |d| < 2^15 for both types (inputs rescaled by at most 1/2), so d * d fits in 32 bits. */
#define EDGEQ_SQDIFF_BODY(T, LO, HI)                                                                 \
    {                                                                                              \
        const int32_t d = edgeq_rescale_in(*p1, in1_offset, left_shift, in1_mult, in1_shift) -     \
                          edgeq_rescale_in(*p2, in2_offset, left_shift, in2_mult, in2_shift);      \
        output[k] = (T)edgeq_clamp_i32(edgeq_requantize(d * d, out_mult, out_shift) + out_offset, LO, HI); \
    }

void edgeq_squared_difference_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2,
                                 const int32_t shape2[4], const int32_t out_shape[4], int32_t in1_offset,
                                 int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
                                 int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult,
                                 int32_t out_shift, int8_t *output)
{
    EDGEQ_BC_LOOP(int8_t, EDGEQ_SQDIFF_BODY(int8_t, -128, 127));
}

void edgeq_squared_difference_s16(const int16_t *in1, const int32_t shape1[4], const int16_t *in2,
                                  const int32_t shape2[4], const int32_t out_shape[4], int32_t in1_offset,
                                  int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
                                  int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult,
                                  int32_t out_shift, int16_t *output)
{
    EDGEQ_BC_LOOP(int16_t, EDGEQ_SQDIFF_BODY(int16_t, -32768, 32767));
}

/* Leading sign bits of x (GCC's __builtin_clrsb): 31 for 0 and -1. */
EDGEQ_INLINE int32_t edgeq_clrsb_i32(int32_t x)
{
    return edgeq_clz_u32(x >= 0 ? (uint32_t)x : ~(uint32_t)x) - 1;
}

EDGEQ_INLINE int32_t edgeq_div_one(int32_t v1, int32_t v2, int32_t out_mult, int32_t out_shift, int32_t act_min,
                                   int32_t act_max)
{
    int32_t lz, inv, headroom, q;
    if (v2 < 0)
    {
        v1 = -v1;
        v2 = -v2;
    }
    if (v2 == 0)
    {
        return v1 < 0 ? act_min : act_max;
    }
    lz = edgeq_clz_u32((uint32_t)v2);
    /* 1 / (v2 normalised to [1, 2)) in Q0.31; the reciprocal shift is 31 - lz */
    inv = edgeq_one_over_one_plus_x((int32_t)(((uint32_t)v2 << lz) - 0x80000000u));
    headroom = edgeq_clrsb_i32(v1);
    q = edgeq_srdhm(edgeq_shl(v1, headroom), inv);
    return edgeq_rdbpot(edgeq_srdhm(q, out_mult), headroom + (31 - lz) - out_shift);
}

void edgeq_div_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2, const int32_t shape2[4],
                  const int32_t out_shape[4], int32_t in1_offset, int32_t in2_offset, int32_t out_offset,
                  int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int8_t *output)
{
    EDGEQ_BC_LOOP(int8_t, {
        const int32_t v2 = *p2 + in2_offset;
        const int32_t q = edgeq_div_one(*p1 + in1_offset, v2, out_mult, out_shift, act_min, act_max);
        output[k] = (int8_t)edgeq_clamp_i32(v2 == 0 ? q : q + out_offset, act_min, act_max);
    });
}

static void edgeq_dims4(const cmsis_nn_dims *d, int32_t s[4])
{
    s[0] = d->n;
    s[1] = d->h;
    s[2] = d->w;
    s[3] = d->c;
}

arm_cmsis_nn_status edgeq_maximum_s16(const cmsis_nn_context *ctx, const int16_t *input_1_data,
                                      const cmsis_nn_dims *input_1_dims, const int16_t *input_2_data,
                                      const cmsis_nn_dims *input_2_dims, int16_t *output_data,
                                      const cmsis_nn_dims *output_dims)
{
    int32_t shape1[4], shape2[4], out_shape[4];
    const int16_t *in1 = input_1_data, *in2 = input_2_data;
    int16_t *output = output_data;
    (void)ctx;
    edgeq_dims4(input_1_dims, shape1);
    edgeq_dims4(input_2_dims, shape2);
    edgeq_dims4(output_dims, out_shape);
    EDGEQ_BC_LOOP(int16_t, output[k] = *p1 >= *p2 ? *p1 : *p2);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgeq_minimum_s16(const cmsis_nn_context *ctx, const int16_t *input_1_data,
                                      const cmsis_nn_dims *input_1_dims, const int16_t *input_2_data,
                                      const cmsis_nn_dims *input_2_dims, int16_t *output_data,
                                      const cmsis_nn_dims *output_dims)
{
    int32_t shape1[4], shape2[4], out_shape[4];
    const int16_t *in1 = input_1_data, *in2 = input_2_data;
    int16_t *output = output_data;
    (void)ctx;
    edgeq_dims4(input_1_dims, shape1);
    edgeq_dims4(input_2_dims, shape2);
    edgeq_dims4(output_dims, out_shape);
    EDGEQ_BC_LOOP(int16_t, output[k] = *p1 <= *p2 ? *p1 : *p2);
    return ARM_CMSIS_NN_SUCCESS;
}

/* REDUCE_MAX (is_max) / REDUCE_MIN: every output element is the extreme of its reduced block. */
static void edgeq_reduce_extreme_s8(const int8_t *input, const int32_t shape[4], int32_t reduce_mask, int32_t is_max,
                                    int8_t *output)
{
    int32_t ext[4], lim[4], stride[4], o[4], r[4], k, n = 0, s = 1;
    for (k = 3; k >= 0; k--)
    {
        const int reduced = (reduce_mask >> k) & 1;
        ext[k] = reduced ? 1 : shape[k];
        lim[k] = reduced ? shape[k] : 1;
        stride[k] = s;
        s *= shape[k];
    }
    for (o[0] = 0; o[0] < ext[0]; o[0]++)
        for (o[1] = 0; o[1] < ext[1]; o[1]++)
            for (o[2] = 0; o[2] < ext[2]; o[2]++)
                for (o[3] = 0; o[3] < ext[3]; o[3]++)
                {
                    const int8_t *base = input + o[0] * stride[0] + o[1] * stride[1] + o[2] * stride[2] + o[3];
                    int32_t best = is_max ? -128 : 127;
                    for (r[0] = 0; r[0] < lim[0]; r[0]++)
                        for (r[1] = 0; r[1] < lim[1]; r[1]++)
                            for (r[2] = 0; r[2] < lim[2]; r[2]++)
                            {
                                const int8_t *p = base + r[0] * stride[0] + r[1] * stride[1] + r[2] * stride[2];
                                for (r[3] = 0; r[3] < lim[3]; r[3]++)
                                {
                                    const int32_t v = p[r[3]];
                                    best = is_max ? (v > best ? v : best) : (v < best ? v : best);
                                }
                            }
                    output[n++] = (int8_t)best;
                }
}

void edgeq_reduce_max_s8(const int8_t *input, const int32_t shape[4], int32_t reduce_mask, int8_t *output)
{
    edgeq_reduce_extreme_s8(input, shape, reduce_mask, 1, output);
}

void edgeq_reduce_min_s8(const int8_t *input, const int32_t shape[4], int32_t reduce_mask, int8_t *output)
{
    edgeq_reduce_extreme_s8(input, shape, reduce_mask, 0, output);
}

static void edgeq_arg_extreme_s8(const int8_t *input, int32_t outer, int32_t axis_size, int32_t inner, int32_t is_max,
                                 int32_t *output)
{
    int32_t o, in, i;
    for (o = 0; o < outer; o++)
    {
        const int8_t *block = input + o * axis_size * inner;
        for (in = 0; in < inner; in++)
        {
            int32_t best = block[in], at = 0;
            for (i = 1; i < axis_size; i++)
            {
                const int32_t v = block[i * inner + in];
                if (is_max ? v > best : v < best)
                {
                    best = v;
                    at = i;
                }
            }
            output[o * inner + in] = at;
        }
    }
}

void edgeq_arg_max_s8(const int8_t *input, int32_t outer, int32_t axis_size, int32_t inner, int32_t *output)
{
    edgeq_arg_extreme_s8(input, outer, axis_size, inner, 1, output);
}

void edgeq_arg_min_s8(const int8_t *input, int32_t outer, int32_t axis_size, int32_t inner, int32_t *output)
{
    edgeq_arg_extreme_s8(input, outer, axis_size, inner, 0, output);
}

#define EDGEQ_TRANSPOSE_BODY                                                                         \
    do                                                                                             \
    {                                                                                              \
        int32_t b, r, c;                                                                           \
        for (b = 0; b < batches; b++)                                                              \
        {                                                                                          \
            for (r = 0; r < rows; r++)                                                             \
            {                                                                                      \
                for (c = 0; c < cols; c++)                                                         \
                {                                                                                  \
                    output[c * rows + r] = input[r * cols + c];                                    \
                }                                                                                  \
            }                                                                                      \
            input += rows * cols;                                                                  \
            output += rows * cols;                                                                 \
        }                                                                                          \
    } while (0)

void edgeq_transpose_rows_cols_s8(const int8_t *input, int32_t batches, int32_t rows, int32_t cols,
                                  int8_t *output)
{
    EDGEQ_TRANSPOSE_BODY;
}

void edgeq_transpose_rows_cols_s16(const int16_t *input, int32_t batches, int32_t rows, int32_t cols,
                                   int16_t *output)
{
    EDGEQ_TRANSPOSE_BODY;
}
