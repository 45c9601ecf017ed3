/*
 * edgeq kernels -- spatial ops: int16 transpose convolution (the int8 one is CMSIS-NN's
 * arm_transpose_conv_s8), RESIZE_NEAREST_NEIGHBOR (any element size) and int8 RESIZE_BILINEAR.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_SPATIAL_H
#define EDGEQ_SPATIAL_H

#include <stdint.h>

#include "arm_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One axis of a transpose convolution's gather: output position o reads filter taps
 * k = r + j * stride from input positions i = q - j (j = 0, 1, ...), where q, r are the
 * quotient and remainder of (o + pad) / stride. Stepped per output position (no division). */
typedef struct
{
    int32_t q;
    int32_t r;
} edgeq_tconv_axis_t;

static inline void edgeq_tconv_axis_start(edgeq_tconv_axis_t *a, int32_t pad, int32_t stride)
{
    a->q = pad / stride;
    a->r = pad % stride;
}

static inline void edgeq_tconv_axis_step(edgeq_tconv_axis_t *a, int32_t stride)
{
    if (++a->r == stride)
    {
        a->r = 0;
        a->q++;
    }
}

/* The first tap whose input position is inside [0, in_size): skips j < q - in_size + 1.
 * The taps then run while k < k_size and i >= 0. */
static inline void edgeq_tconv_axis_first(const edgeq_tconv_axis_t *a, int32_t stride, int32_t in_size,
                                          int32_t *k0, int32_t *i0)
{
    const int32_t j0 = a->q - in_size + 1 > 0 ? a->q - in_size + 1 : 0;
    *k0 = a->r + j0 * stride;
    *i0 = a->q - j0;
}

/* int16 transpose convolution (TFLite 16x8: int16 input and output with zero point 0, int8
 * filter [C_OUT, HK, WK, C_IN], int64 bias or NULL): 64-bit accumulation and TFLite's 64-bit
 * requantization, as the reference kernel. params->input_offset / output_offset are added as
 * given (0 in 16x8 models). Returns ARM_CMSIS_NN_ARG_ERROR for inconsistent dims. */
arm_cmsis_nn_status edgeq_transpose_conv_s16(const cmsis_nn_transpose_conv_params *params,
                                             const cmsis_nn_per_channel_quant_params *quant_params,
                                             const cmsis_nn_dims *input_dims, const int16_t *input_data,
                                             const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                             const int64_t *bias_data, const cmsis_nn_dims *output_dims,
                                             int16_t *output_data);

/* RESIZE_NEAREST_NEIGHBOR of NHWC data with elem_bytes-byte elements (1: int8, 2: int16):
 * output pixel (y, x) of batch b is input pixel (y_map[y], x_map[x]). The maps are computed
 * offline with TFLite's index arithmetic (align_corners / half_pixel_centers). */
void edgeq_resize_nearest(const void *input, int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                          int32_t elem_bytes, const int32_t *y_map, int32_t out_h, const int32_t *x_map,
                          int32_t out_w, void *output);

/* int8 RESIZE_BILINEAR with TFLite's integer arithmetic (10 fractional bits per axis, 20 in the
 * product, rounded half away from zero). in_shape = {n, h, w, c}. (TFLM has no int16 variant.) */
void edgeq_resize_bilinear_s8(const int8_t *input, const int32_t in_shape[4], int32_t out_h, int32_t out_w,
                              int32_t align_corners, int32_t half_pixel_centers, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_SPATIAL_H */
