/*
 * edgeq -- entry points the generated code calls for layers run in place (edgeq/inplace.py), with
 * edgeq's own kernels.
 *
 * An unpadded stride-1 1x1 convolution whose output overlaps its dying input is planned as bands
 * of pixels walked upward (top band first): a band's call reads only its own pixels, all of them
 * before it writes. edgeq_convolve_1x1_s8_in_place takes the whole layer and that band size. The
 * routes that walk the pixels upward and read a group of pixels before writing the group's
 * outputs (Helium's 1x1 with at most EDGEQ_MVE_1X1_IN_ORDER_MAX_C channels, the DSP doubly-widened
 * and table routes) run the layer in one call: any forward band plan keeps every write below the
 * input not read yet (tests/test_inplace.py replays that byte by byte). The others (loops with
 * the channels outermost) run band by band. One call saves the per-call set-up: VWW's first 1x1
 * is 72 bands.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_IN_PLACE_H
#define EDGEQ_IN_PLACE_H

#include "arm_nn_types.h"

#if !defined(EDGEQ_UPSTREAM_CMSIS_NN)
#define EDGEQ_1X1_IN_PLACE 1

#ifdef __cplusplus
extern "C" {
#endif

/* input_dims / output_dims: one column of pixels (n = 1, w = 1, h = pixels), stride 1, no
 * padding, filter depth = input channels; band_pixels >= 1: the band height of the plan.
 * ARM_CMSIS_NN_ARG_ERROR for anything else. */
arm_cmsis_nn_status edgeq_convolve_1x1_s8_in_place(const cmsis_nn_conv_params *conv_params,
                                                   const cmsis_nn_per_channel_quant_params *quant_params,
                                                   const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                   const int8_t *filter_data, const int32_t *bias_data,
                                                   const cmsis_nn_dims *output_dims, int8_t *output_data,
                                                   int32_t band_pixels);

#ifdef __cplusplus
}
#endif
#endif

#endif /* EDGEQ_IN_PLACE_H */
