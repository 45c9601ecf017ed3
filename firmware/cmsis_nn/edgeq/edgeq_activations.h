/*
 * edgeq -- activation kernels: int8 lookup tables, int16 TANH / LEAKY_RELU / RELU / RELU6,
 * PRELU, LOG_SOFTMAX and L2_NORMALIZATION (TFLite Micro semantics).
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_ACTIVATIONS_H
#define EDGEQ_ACTIVATIONS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Any int8 -> int8 elementwise op: output[i] = table[input[i] + 128]. edgeq generate computes the
 * 256 entries with the op's reference arithmetic (TANH, LEAKY_RELU, RELU, RELU6, HARD_SWISH, ELU,
 * RSQRT). */
void edgeq_lut_s8(const int8_t *input, int32_t size, const int8_t *table, int8_t *output);

/* Any int16 -> int16 elementwise op held to TFLite's 513-entry interpolation tables (EXP):
 * output = table[256 + (in >> 7)] + ((slope * (in & 127) + 64) >> 7), slope the int16 difference
 * to the next anchor (wrapping as TFLite's does), the sum truncated to int16. */
void edgeq_lut_s16(const int16_t *input, int32_t size, const int16_t *table, int16_t *output);

/* TANH with int16 activations (zero points 0, output scale 2^-15): the input rescaled by
 * (x * multiplier + round) >> shift to units of 1/(3 * 4096), then tanh(x) = 2 sigmoid(2x) - 1
 * interpolated in the 256-entry Q0.16 table of sigmoid(i/24) that LOGISTIC uses. */
void edgeq_tanh_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift,
                    const uint16_t *table, int16_t *output);

/* LEAKY_RELU / RELU with int16 activations: x = in - input_zp; x >= 0 requantized by
 * (pos_mult, pos_shift), x < 0 by (neg_mult, neg_shift) and negated if neg_negate (a negative
 * alpha); plus output_zp, clamped to [act_min, act_max]. */
void edgeq_two_slope_s16(const int16_t *input, int32_t size, int32_t input_zp, int32_t pos_mult,
                         int32_t pos_shift, int32_t neg_mult, int32_t neg_shift, int32_t neg_negate,
                         int32_t output_zp, int32_t act_min, int32_t act_max, int16_t *output);

/* RELU6 with int16 activations as TFLM runs it: the input codes clamped to [lo, hi]. */
void edgeq_clamp_s16(const int16_t *input, int32_t size, int32_t lo, int32_t hi, int16_t *output);

/* PRELU: out = in >= -input_offset ? requant(in + input_offset, m1, s1)
 *                                  : requant((in + input_offset) * (alpha + alpha_offset), m2, s2),
 * plus output_offset, saturated. 4-D shapes; input and alpha broadcast (dims of 1) to out_shape. */
void edgeq_prelu_s8(const int8_t *input, const int32_t in_shape[4], const int8_t *alpha,
                    const int32_t alpha_shape[4], const int32_t out_shape[4], int32_t input_offset,
                    int32_t alpha_offset, int32_t output_offset, int32_t m1, int32_t s1, int32_t m2,
                    int32_t s2, int8_t *output);
void edgeq_prelu_s16(const int16_t *input, const int32_t in_shape[4], const int8_t *alpha,
                     const int32_t alpha_shape[4], const int32_t out_shape[4], int32_t input_offset,
                     int32_t alpha_offset, int32_t output_offset, int32_t m1, int32_t s1, int32_t m2,
                     int32_t s2, int16_t *output);

/* LOG_SOFTMAX over the last axis (rows x depth), int8, output scale 16/256 and zero point 127:
 * input differences to the row maximum in Q5.26 (multiplier, left_shift), the sum of their exps
 * in Q12.19, its log in Q5.26; differences at or below the cut-off derived from diff_min and the
 * reverse scaling (rev_mult, rev_shift <= 0) give -128. */
void edgeq_log_softmax_s8(const int8_t *input, int32_t rows, int32_t depth, int32_t multiplier,
                          int32_t left_shift, int32_t rev_mult, int32_t rev_shift, int32_t diff_min,
                          int8_t *output);

/* L2_NORMALIZATION over the last axis, int8 in, int8 out in units of 1/128 (zero point 0):
 * each value times the row's inverse square root of the sum of squares (Newton-Raphson). */
void edgeq_l2_normalize_s8(const int8_t *input, int32_t rows, int32_t depth, int32_t input_zp, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_ACTIVATIONS_H */
