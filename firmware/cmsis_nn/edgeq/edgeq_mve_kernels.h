/*
 * edgeq -- Helium (MVE) kernels for the Cortex-M55 (edgeq_mve_*.c), called by the arm_* kernels
 * through a dispatch at their top. EDGEQ_MVE is set when the compiler targets integer MVE
 * (__ARM_FEATURE_MVE bit 0: gcc -mcpu=cortex-m55) or with -DEDGEQ_EMULATE_MVE (the same code
 * path run on the host with the intrinsics emulated, edgeq_mve.h). -DEDGEQ_PORTABLE_ONLY or
 * -DEDGEQ_NO_MVE turn it off (the M55 then runs the DSP code like the M4).
 * Same arguments and results as the arm_* entry points (bit-exact with TFLM); preconditions are
 * noted at each prototype -- the caller checks them.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_MVE_KERNELS_H
#define EDGEQ_MVE_KERNELS_H

#include "arm_nn_types.h"

#if !defined(EDGEQ_PORTABLE_ONLY) && !defined(EDGEQ_NO_MVE)
#if defined(EDGEQ_EMULATE_MVE)
#if !defined(EDGEQ_EMULATE_DSP)
#error "EDGEQ_EMULATE_MVE needs EDGEQ_EMULATE_DSP too (an MVE core has the DSP extension)"
#endif
#define EDGEQ_MVE 1
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EDGEQ_MVE 1
#endif
#endif

#if defined(EDGEQ_MVE)
#ifdef __cplusplus
extern "C" {
#endif

/* Fully connected, filter_offset 0. per_channel: mult/shift per unit, else mult[0]/shift[0]. */
arm_cmsis_nn_status edgeq_mve_fully_connected_s8(const cmsis_nn_fc_params *fc_params, const int32_t *mult,
                                                 const int32_t *shift, int32_t per_channel,
                                                 const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                 const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                                 const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                                 int8_t *output_data);

/* Unpadded 1x1 convolution, any stride, no groups (filter depth = input channels).
 * In order: with stride 1 and at most EDGEQ_MVE_1X1_IN_ORDER_MAX_C output channels (one correction
 * chunk: a single pass over the pixels) it walks the pixels upward in groups of at most four and
 * reads all of a group's input before it writes any of the group's output
 * (edgeq_convolve_1x1_s8_in_place relies on it, edgeq_in_place.h). */
#define EDGEQ_MVE_1X1_IN_ORDER_MAX_C 128
arm_cmsis_nn_status edgeq_mve_convolve_1x1_s8(const cmsis_nn_conv_params *conv_params,
                                              const cmsis_nn_per_channel_quant_params *quant_params,
                                              const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                              const int8_t *filter_data, const int32_t *bias_data,
                                              const cmsis_nn_dims *output_dims, int8_t *output_data);

/* Bytes of scratch edgeq_mve_convolve_s8 needs: two int8 im2col columns. */
int32_t edgeq_mve_convolve_s8_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims);

/* Convolution (padding, stride, dilation), no groups, through int8 im2col columns in buf (at
 * least edgeq_mve_convolve_s8_buffer_size bytes). */
arm_cmsis_nn_status edgeq_mve_convolve_s8(int8_t *buf, const cmsis_nn_conv_params *conv_params,
                                          const cmsis_nn_per_channel_quant_params *quant_params,
                                          const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                          const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                          const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                          int8_t *output_data);

/* Depthwise convolution with depth multiplier 1 (any kernel, stride, padding, dilation). */
arm_cmsis_nn_status edgeq_mve_depthwise_conv_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                const cmsis_nn_per_channel_quant_params *quant_params,
                                                const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                                const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                                int8_t *output_data);

/* The fewest output pixels per call for which edgeq_mve_depthwise3_rows_s8 pays for its per-call
 * packing (measured on the virtual M55: KWS's one-row bands of 5 pixels and VWW's 3x3 outputs run
 * faster on edgeq_mve_depthwise_conv_s8, VWW's bands of 24 pixels and more on the row route). The
 * caller tests it first: the cheap test that keeps small calls off the full check. */
#define EDGEQ_MVE_DW3_MIN_PIXELS 16

/* 1 when edgeq_mve_depthwise3_rows_s8 takes this depthwise convolution (3x3, dilation 1, depth
 * multiplier 1 (the caller's check), a padded row that fits its stack buffers, enough output pixels
 * to pay for the per-call packing). */
int32_t edgeq_mve_depthwise3_rows_ok(const cmsis_nn_dw_conv_params *p, const cmsis_nn_dims *input_dims,
                                     const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims);

/* 3x3 depthwise convolution through three row buffers on the stack (about 3 KB). */
arm_cmsis_nn_status edgeq_mve_depthwise3_rows_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                 const cmsis_nn_per_channel_quant_params *quant_params,
                                                 const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                 const int8_t *filter_data, const int32_t *bias_data,
                                                 const cmsis_nn_dims *output_dims, int8_t *output_data);

/* The 3x3 depthwise convolution on blocks prepared at generation time (edgeq/codegen/dw_mve.py): per
 * block of 8 channels, the 72 weight bytes ([tap][8]) then 32 int32 parameters (edgeq_mve_depthwise_rows.c's
 * layout: no per-call packing). simple: every shift negative. Generated code calls it where
 * EDGEQ_MVE_DW3_PACKED is defined; ARM_CMSIS_NN_ARG_ERROR outside edgeq_mve_depthwise3_packed_ok.
 * in_place: 0, or a whole layer in one call whose output overlaps its input as a forward (1) or
 * backward (2) in-place band plan allows: every input row is copied into the ring before any
 * output row that could overlap it is written, walking the rows top first (1) or bottom first
 * (2); then every channel must fit one pass of the ring (else ARM_CMSIS_NN_ARG_ERROR). */
#if !defined(EDGEQ_UPSTREAM_CMSIS_NN)
#define EDGEQ_MVE_DW3_PACKED 1
#endif
int32_t edgeq_mve_depthwise3_packed_ok(const cmsis_nn_dw_conv_params *p, const cmsis_nn_dims *input_dims,
                                       const cmsis_nn_dims *output_dims);
arm_cmsis_nn_status edgeq_mve_depthwise3_packed_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                   const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                   const cmsis_nn_dims *output_dims, int8_t *output_data,
                                                   const int32_t *blocks, int32_t simple, int32_t in_place);

/* Elementwise int8 ADD (same shapes), the arguments of arm_elementwise_add_s8. Needs every shift
 * <= 0 and 0 <= left_shift <= 21 (what TFLM's Prepare produces); else returns
 * ARM_CMSIS_NN_ARG_ERROR without writing anything (the caller runs its own code). */
arm_cmsis_nn_status edgeq_mve_add_s8(const int8_t *in1, const int8_t *in2, int32_t off1, int32_t mult1,
                                     int32_t shift1, int32_t off2, int32_t mult2, int32_t shift2, int32_t left_shift,
                                     int8_t *out, int32_t out_off, int32_t out_mult, int32_t out_shift,
                                     int32_t act_min, int32_t act_max, int32_t n);

/* int8 average pooling, the arguments of arm_avgpool_s8 (without the context). */
arm_cmsis_nn_status edgeq_mve_avgpool_s8(const cmsis_nn_pool_params *p, const cmsis_nn_dims *input_dims,
                                         const int8_t *input_data, const cmsis_nn_dims *filter_dims,
                                         const cmsis_nn_dims *output_dims, int8_t *output_data);

#ifdef __cplusplus
}
#endif
#endif /* EDGEQ_MVE */

#endif /* EDGEQ_MVE_KERNELS_H */
