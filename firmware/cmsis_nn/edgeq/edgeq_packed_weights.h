/*
 * edgeq -- convolutions and fully connected layers whose int8 weights are stored as 4-bit codes
 * (edgeq generate --pack-weights auto): two codes a byte over the whole flattened tensor, the
 * even element in the low nibble (CMSIS-NN's int4 packing; an odd count leaves the last high
 * nibble 0). A code is decoded through a 16-entry int8 table: edgeq_int4_table (code = the
 * weight's two's-complement nibble, [-8, 7]) for int4 weights, or the model's own table for
 * clustered weights (at most 16 distinct values per tensor, or per output channel with
 * table_stride 16). No scratch from the memory plan and no RAM copy of the whole tensor: conv and
 * depthwise decode a chunk of output channels at a time into a bounded stack buffer
 * (EDGEQ_DECODE_BYTES, 1 KB) and run int8 dot products on it for every pixel; a filter too big
 * for it, and FC (each weight used once a batch), decode inside the dot products.
 * Arithmetic is that of the int8 kernels (TFLite's int8 spec), so results are bit-exact with
 * TFLM running the same weights stored as int8.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_PACKED_WEIGHTS_H
#define EDGEQ_PACKED_WEIGHTS_H

#include <stdint.h>

#include "arm_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* code -> int4 value: 0..7 -> 0..7, 8..15 -> -8..-1 */
extern const int8_t edgeq_int4_table[16];

/* CONV_2D (grouped when filter_dims->c < input_dims->c), padding, strides, dilation. */
arm_cmsis_nn_status edgeq_convolve_lut_s8(const cmsis_nn_conv_params *conv_params,
                                          const cmsis_nn_per_channel_quant_params *quant_params,
                                          const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                          const cmsis_nn_dims *filter_dims, const uint8_t *codes,
                                          const int8_t *table, int32_t table_stride, const int32_t *bias_data,
                                          const cmsis_nn_dims *output_dims, int8_t *output_data);

/* DEPTHWISE_CONV_2D (depth multiplier, padding, strides, dilation); filter [1, k_h, k_w, out_c],
 * table_stride 16: one table per output channel. */
arm_cmsis_nn_status edgeq_depthwise_conv_lut_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                const cmsis_nn_per_channel_quant_params *quant_params,
                                                const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                const cmsis_nn_dims *filter_dims, const uint8_t *codes,
                                                const int8_t *table, int32_t table_stride,
                                                const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                                int8_t *output_data);

/* FULLY_CONNECTED: batches x depth input, units x depth weights. per_channel: multiplier/shift
 * arrays of units entries; otherwise one value each. */
arm_cmsis_nn_status edgeq_fully_connected_lut_s8(const int8_t *input_data, const uint8_t *codes, const int8_t *table,
                                                 int32_t table_stride, const int32_t *bias_data, int32_t batches,
                                                 int32_t depth, int32_t units, int32_t input_offset,
                                                 int32_t output_offset, const int32_t *multiplier,
                                                 const int32_t *shift, int32_t per_channel, int32_t act_min,
                                                 int32_t act_max, int8_t *output_data);

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_PACKED_WEIGHTS_H */
