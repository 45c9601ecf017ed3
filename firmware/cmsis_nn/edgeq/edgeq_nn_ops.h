/*
 * edgeq -- int8 and int16 operators outside the CMSIS-NN API (TFLite Micro runs its own reference
 * kernels for these too). Always built from edgeq's sources, whichever CMSIS-NN is linked.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_NN_OPS_H
#define EDGEQ_NN_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PAD: out[i] = in[i - before] inside, pad_value outside. Shapes are 4-D (NHWC or padded with 1s). */
void edgeq_pad_s8(const int8_t *input, const int32_t in_shape[4], const int32_t before[4],
                  const int32_t out_shape[4], int8_t pad_value, int8_t *output);
void edgeq_pad_s16(const int16_t *input, const int32_t in_shape[4], const int32_t before[4],
                   const int32_t out_shape[4], int16_t pad_value, int16_t *output);

/* CONCATENATION of num_inputs tensors along one axis (all with identical quantization).
 * outer = product of the dims before the axis, inner = product after; axis_sizes[i] = dim of input i. */
void edgeq_concat_s8(const int8_t *const *inputs, const int32_t *axis_sizes, int32_t num_inputs,
                     int32_t outer, int32_t inner, int8_t *output);
void edgeq_concat_s16(const int16_t *const *inputs, const int32_t *axis_sizes, int32_t num_inputs,
                      int32_t outer, int32_t inner, int16_t *output);

/* MEAN over the axes set in reduce_mask (bit i = axis i of the 4-D shape), int8 (or int16) in and out.
 * mode 0 (input and output quantization identical): raw sum / count, truncated toward zero.
 * mode 1: requant(sum - input_zp * count, multiplier, shift) + output_zp, saturated; the
 *         multiplier/shift already include the 1/count factor (computed offline). */
void edgeq_mean_s8(const int8_t *input, const int32_t shape[4], int32_t reduce_mask, int32_t mode,
                   int32_t input_zp, int32_t multiplier, int32_t shift, int32_t output_zp, int8_t *output);
void edgeq_mean_s16(const int16_t *input, const int32_t shape[4], int32_t reduce_mask, int32_t mode,
                    int32_t input_zp, int32_t multiplier, int32_t shift, int32_t output_zp, int16_t *output);

/* LOGISTIC (output scale 1/256, zero point -128); input rescaled to Q4.27. */
void edgeq_logistic_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t input_range_radius,
                       int32_t input_multiplier, int32_t input_left_shift, int8_t *output);

/* LOGISTIC with int16 activations (output scale 1/32768, zero point 0): the input rescaled by
 * (x * multiplier + round) >> shift, sigmoid interpolated in a 256-entry Q0.16 table of
 * sigmoid(i/24) (edgeq generate emits it), by symmetry for negative inputs. */
void edgeq_logistic_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift,
                        const uint16_t *table, int16_t *output);

/* QUANTIZE between integer types: out = clamp(requant(in - in_zp) + out_zp). */
void edgeq_requantize_s8_s8(const int8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                            int32_t shift, int32_t output_zp, int8_t *output);
void edgeq_requantize_u8_s8(const uint8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                            int32_t shift, int32_t output_zp, int8_t *output);
void edgeq_requantize_s8_u8(const int8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                            int32_t shift, int32_t output_zp, uint8_t *output);

/* QUANTIZE between int8 and int16 activations (mixed precision boundaries), same arithmetic:
 * TFLM's QUANTIZE requantizes with the 32-bit MultiplyByQuantizedMultiplier for these pairs. */
void edgeq_requantize_s8_s16(const int8_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                             int32_t shift, int32_t output_zp, int16_t *output);
void edgeq_requantize_s16_s8(const int16_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                             int32_t shift, int32_t output_zp, int8_t *output);
void edgeq_requantize_s16_s16(const int16_t *input, int32_t size, int32_t input_zp, int32_t multiplier,
                              int32_t shift, int32_t output_zp, int16_t *output);

/* FULLY_CONNECTED with int16 activations and an int32 bias (TFLM runs it with its reference
 * kernel, not CMSIS-NN, whose arm_fully_connected_s16 takes int64): 32-bit accumulation
 * (wrapping) and the 32-bit double-rounding requantization, as TFLite's int32-bias variant.
 * mult/shift have one entry, or one per unit when per_channel; bias may be NULL. */
void edgeq_fully_connected_s16_b32(const int16_t *input, const int8_t *filter, const int32_t *bias,
                                   int32_t batches, int32_t depth, int32_t units, const int32_t *mult,
                                   const int32_t *shift, int32_t per_channel, int32_t act_min, int32_t act_max,
                                   int16_t *output);

/* QUANTIZE float -> int8: clamp(round_half_away(x / scale) + zp). */
void edgeq_quantize_f32_s8(const float *input, int32_t size, float scale, int32_t zero_point, int8_t *output);

/* DEQUANTIZE int8 -> float: scale * (q - zp). */
void edgeq_dequantize_s8_f32(const int8_t *input, int32_t size, float scale, int32_t zero_point, float *output);

/* The same for int16 activations (float graph I/O of a 16x8 model). */
void edgeq_quantize_f32_s16(const float *input, int32_t size, float scale, int32_t zero_point, int16_t *output);
void edgeq_dequantize_s16_f32(const int16_t *input, int32_t size, float scale, int32_t zero_point, float *output);

/* ADD / MUL with numpy-style broadcasting over 4-D shapes (dims of 1 broadcast). Same
 * arithmetic as arm_elementwise_add_s8 / arm_elementwise_mul_s8 (and their s16 twins). */
void edgeq_broadcast_add_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2, const int32_t shape2[4],
                            const int32_t out_shape[4], int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                            int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift,
                            int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t act_min,
                            int32_t act_max, int8_t *output);
void edgeq_broadcast_mul_s8(const int8_t *in1, const int32_t shape1[4], const int8_t *in2, const int32_t shape2[4],
                            const int32_t out_shape[4], int32_t in1_offset, int32_t in2_offset, int32_t out_offset,
                            int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int8_t *output);
void edgeq_broadcast_add_s16(const int16_t *in1, const int32_t shape1[4], const int16_t *in2, const int32_t shape2[4],
                             const int32_t out_shape[4], int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                             int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift,
                             int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t act_min,
                             int32_t act_max, int16_t *output);
void edgeq_broadcast_mul_s16(const int16_t *in1, const int32_t shape1[4], const int16_t *in2, const int32_t shape2[4],
                             const int32_t out_shape[4], int32_t in1_offset, int32_t in2_offset, int32_t out_offset,
                             int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, int16_t *output);

/* Byte copy (a RESHAPE whose input and output could not share memory). */
void edgeq_copy(const void *input, int32_t bytes, void *output);

#include "edgeq_binary.h"
#include "edgeq_movement.h"

#include "edgeq_spatial.h"
#include "edgeq_activations.h"
#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_NN_OPS_H */
