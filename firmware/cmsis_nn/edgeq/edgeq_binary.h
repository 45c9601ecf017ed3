/*
 * edgeq -- binary elementwise ops (SUB, SQUARED_DIFFERENCE, int16 MAXIMUM / MINIMUM), reductions
 * (REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN) and the operand transposes BATCH_MATMUL needs, with
 * the arithmetic of TFLite Micro's reference kernels. The int8 MAXIMUM / MINIMUM and BATCH_MATMUL
 * kernels are CMSIS-NN API functions (arm_maximum_s8, arm_minimum_s8, arm_batch_matmul_s8 / _s16).
 * Shapes are 4-D (NHWC, or padded in front with 1s); a dimension of 1 broadcasts.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_BINARY_H
#define EDGEQ_BINARY_H

#include <stdint.h>

#include "arm_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SUB: both offset inputs shifted left by left_shift and rescaled to a common scale, their
 * difference rescaled to the output (TFLite's general-scale quantized subtraction; left_shift is
 * 20 for int8, 15 for int16), plus the output offset, clamped to [act_min, act_max]. */
void edgeq_sub_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2, const int32_t shape2[4],
                  const int32_t out_shape[4], int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                  int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int32_t out_offset,
                  int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int8_t *output);
void edgeq_sub_s16(const int16_t *in1, const int32_t shape1[4], const int16_t *in2, const int32_t shape2[4],
                   const int32_t out_shape[4], int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                   int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int32_t out_offset,
                   int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int16_t *output);

/* SQUARED_DIFFERENCE: the rescaled difference as in SUB (left_shift 7 for int8, 0 for int16),
 * squared in 32 bits and rescaled to the output (out_shift may be positive), saturated to the
 * element type. */
void edgeq_squared_difference_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2,
                                 const int32_t shape2[4], const int32_t out_shape[4], int32_t in1_offset,
                                 int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
                                 int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult,
                                 int32_t out_shift, int8_t *output);
void edgeq_squared_difference_s16(const int16_t *in1, const int32_t shape1[4], const int16_t *in2,
                                  const int32_t shape2[4], const int32_t out_shape[4], int32_t in1_offset,
                                  int32_t in1_mult, int32_t in1_shift, int32_t in2_offset, int32_t in2_mult,
                                  int32_t in2_shift, int32_t left_shift, int32_t out_offset, int32_t out_mult,
                                  int32_t out_shift, int16_t *output);

/* DIV (int8): the offset dividend over the offset divisor (signs moved to the dividend),
 * TFLite's reference arithmetic: the divisor's reciprocal in Q0.31 by Newton-Raphson, the
 * dividend normalised by its headroom, then one rescale to the output by
 * out_mult * 2^(out_shift - reciprocal shift - headroom). Needs that total shift in [-31, 0],
 * which edgeq generate checks (TFLM's arithmetic is undefined beyond). A zero divisor gives
 * act_max (or act_min for a negative dividend). */
void edgeq_div_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2, const int32_t shape2[4],
                  const int32_t out_shape[4], int32_t in1_offset, int32_t in2_offset, int32_t out_offset,
                  int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int8_t *output);

/* MAXIMUM / MINIMUM of int16 tensors: the raw values compared (no rescaling, as TFLM), with the
 * argument order of arm_maximum_s8 / arm_minimum_s8. */
arm_cmsis_nn_status edgeq_maximum_s16(const cmsis_nn_context *ctx, const int16_t *input_1_data,
                                      const cmsis_nn_dims *input_1_dims, const int16_t *input_2_data,
                                      const cmsis_nn_dims *input_2_dims, int16_t *output_data,
                                      const cmsis_nn_dims *output_dims);
arm_cmsis_nn_status edgeq_minimum_s16(const cmsis_nn_context *ctx, const int16_t *input_1_data,
                                      const cmsis_nn_dims *input_1_dims, const int16_t *input_2_data,
                                      const cmsis_nn_dims *input_2_dims, int16_t *output_data,
                                      const cmsis_nn_dims *output_dims);

/* REDUCE_MAX / REDUCE_MIN over the axes set in reduce_mask (bit i = axis i of the 4-D shape);
 * input and output share their quantization, so the raw extreme is the result. */
void edgeq_reduce_max_s8(const int8_t *input, const int32_t shape[4], int32_t reduce_mask, int8_t *output);
void edgeq_reduce_min_s8(const int8_t *input, const int32_t shape[4], int32_t reduce_mask, int8_t *output);

/* ARG_MAX / ARG_MIN along one axis of an [outer, axis_size, inner] view: the index of the first
 * extreme value (ties keep the lowest index), as int32. */
void edgeq_arg_max_s8(const int8_t *input, int32_t outer, int32_t axis_size, int32_t inner, int32_t *output);
void edgeq_arg_min_s8(const int8_t *input, int32_t outer, int32_t axis_size, int32_t inner, int32_t *output);

/* The last two dimensions of batches [rows, cols] matrices swapped: out[b][c][r] = in[b][r][c]
 * (BATCH_MATMUL's adj_x / adj_y operands into the layout arm_batch_matmul_* reads). */
void edgeq_transpose_rows_cols_s8(const int8_t *input, int32_t batches, int32_t rows, int32_t cols,
                                  int8_t *output);
void edgeq_transpose_rows_cols_s16(const int16_t *input, int32_t batches, int32_t rows, int32_t cols,
                                   int16_t *output);

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_BINARY_H */
