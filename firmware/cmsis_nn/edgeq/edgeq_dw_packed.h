/*
 * edgeq -- the 3x3 depthwise convolution on channel blocks prepared at generation time (Cortex-M
 * cores with the DSP extension, edgeq's own kernels).
 *
 * For a DEPTHWISE_CONV_2D with a 3x3 int8 filter, dilation 1, depth multiplier 1 and a channel
 * count that is a multiple of 4, `edgeq generate` (edgeq/codegen/dw_packed.py) writes one record
 * of 34 int32 per block of four channels, in the order the kernel's row loop reads them:
 *   words 0..17   the nine taps (row-major), tap t as the int16 pairs (w[c], w[c+2]) and
 *                 (w[c+1], w[c+3]) at words 2t and 2t + 1 (sign-extended once, not per row);
 *   words 18..21  the four biases;
 *   words 22..33  per channel {m, k, e}: multiplier, rounding constant 2^(e-1) + (output offset
 *                 << e) and right shift e = -shift of the bounded requantization
 *                 (edgeq_requant_bounded); e == 0 in the first channel marks a block it does not
 *                 apply to (a shift outside [-23, -1], an INT32_MIN multiplier, or a bias whose
 *                 accumulators could reach 2^29), whose words then hold {m, shift, 0}.
 * In a bounded block the taps and biases are stored doubled (|2 w| <= 256 fits the int16 lanes):
 * the window then sums 2 * acc, which the bounded requantization's SMMULR takes as it is.
 * The record replaces the int8 filter, the bias and the multiplier / shift arrays of the layer in
 * the firmware (+13 bytes of flash per channel); the generated code calls it where
 * EDGEQ_DW3X3_PACKED is defined and the ordinary depthwise wrapper elsewhere (cores without DSP,
 * Helium cores, which run their own depthwise kernel, and upstream CMSIS-NN).
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_DW_PACKED_H
#define EDGEQ_DW_PACKED_H

#include "arm_nn_types.h"
#include "edgeq_fixedpoint.h"
#include "edgeq_mve_kernels.h"

#if defined(EDGEQ_DOT_DSP) && !defined(EDGEQ_MVE) && !defined(EDGEQ_UPSTREAM_CMSIS_NN)
#define EDGEQ_DW3X3_PACKED 1

#ifdef __cplusplus
extern "C" {
#endif

/* input_dims / output_dims NHWC with the same channel count (a multiple of 4); params: strides,
 * padding (at most 8 border columns a row), offsets and activation range as the wrapper takes
 * them (ch_mult 1, dilation 1). ARM_CMSIS_NN_ARG_ERROR for shapes outside that. */
arm_cmsis_nn_status edgeq_depthwise_conv_3x3_packed_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                       const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                       const cmsis_nn_dims *output_dims, int8_t *output_data,
                                                       const int32_t *blocks);

#ifdef __cplusplus
}
#endif
#endif

#endif /* EDGEQ_DW_PACKED_H */
