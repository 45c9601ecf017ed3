/*
 * edgeq portable kernels -- argument types of the CMSIS-NN API subset used by edgeq.
 *
 * Written for edgeq from the public description of the CMSIS-NN interface (v7 series):
 * same type names, field names and field order, so that generated glue code compiles
 * unchanged against this implementation or against an upstream CMSIS-NN checkout.
 * SPDX-License-Identifier: MIT
 */
#ifndef ARM_NN_TYPES_H
#define ARM_NN_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status returned by the kernels. */
typedef enum
{
    ARM_CMSIS_NN_SUCCESS = 0,
    ARM_CMSIS_NN_ARG_ERROR = -1,
    ARM_CMSIS_NN_NO_IMPL_ERROR = -2,
    ARM_CMSIS_NN_FAILURE = -3
} arm_cmsis_nn_status;

/** Scratch memory handed to a kernel. */
typedef struct
{
    void *buf;
    int32_t size;
} cmsis_nn_context;

/** Tensor dimensions, NHWC. */
typedef struct
{
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} cmsis_nn_dims;

/** A 2-D extent (stride, padding, dilation). */
typedef struct
{
    int32_t w;
    int32_t h;
} cmsis_nn_tile;

/** Clamp range of the output (fused activation). */
typedef struct
{
    int32_t min;
    int32_t max;
} cmsis_nn_activation;

/** Per-output-channel requantization: multiplier[c], shift[c]. */
typedef struct
{
    int32_t *multiplier;
    int32_t *shift;
} cmsis_nn_per_channel_quant_params;

/** Per-tensor requantization. */
typedef struct
{
    int32_t multiplier;
    int32_t shift;
} cmsis_nn_per_tensor_quant_params;

/** Convolution parameters. input_offset = -input zero point, output_offset = +output zero point. */
typedef struct
{
    int32_t input_offset;
    int32_t output_offset;
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_tile dilation;
    cmsis_nn_activation activation;
} cmsis_nn_conv_params;

/** Depthwise convolution parameters; ch_mult = output channels per input channel. */
typedef struct
{
    int32_t input_offset;
    int32_t output_offset;
    int32_t ch_mult;
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_tile dilation;
    cmsis_nn_activation activation;
} cmsis_nn_dw_conv_params;

/** Pooling parameters. */
typedef struct
{
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_activation activation;
} cmsis_nn_pool_params;

/** Fully connected parameters. */
typedef struct
{
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    cmsis_nn_activation activation;
} cmsis_nn_fc_params;

/** Bias of the int16 convolution: int64 values, or int32 when is_int32_bias (data may be NULL). */
typedef struct
{
    const void *data;
    const bool is_int32_bias;
} cmsis_nn_bias_data;

/* The two 513-entry Q0.15 interpolation tables arm_softmax_s16 uses: exp(x) on [-10, 0] and
 * 1/(1+x) on [0, 1] (edgeq generate emits them as constants). */
typedef struct
{
    const int16_t *exp_lut;
    const int16_t *one_by_one_lut;
} cmsis_nn_softmax_lut_s16;

/** Transpose parameters (arm_transpose_s8): output dimension i is input dimension permutations[i],
 * over the first num_dims (1..4) of the cmsis_nn_dims in n, h, w, c order. */
typedef struct
{
    int32_t num_dims;
    const uint32_t *permutations;
} cmsis_nn_transpose_params;

/** Batch matmul parameters (arm_batch_matmul_s8 / _s16): the adjoint flags of BATCH_MATMUL (the
 * kernels read the lhs untransposed and the rhs transposed, whatever the flags say), and the
 * offsets (input = lhs, filter = rhs) and activation range in the fully connected form. */
typedef struct
{
    const bool adj_x;
    const bool adj_y;
    cmsis_nn_fc_params fc_params;
} cmsis_nn_bmm_params;

/** Transpose convolution parameters (TRANSPOSE_CONV). input_offset = -input zero point,
 * output_offset = +output zero point; padding = top/left padding of the equivalent forward
 * convolution (TFLite's), padding_offsets = its extra bottom/right padding (unused by edgeq's
 * kernel, which derives every tap from the output position). */
typedef struct
{
    int32_t input_offset;
    int32_t output_offset;
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_tile padding_offsets;
    cmsis_nn_tile dilation;
    cmsis_nn_activation activation;
} cmsis_nn_transpose_conv_params;

/** Activation of an LSTM gate (CMSIS-NN's arm_nn_activation_type). */
typedef enum
{
    ARM_SIGMOID = 0,
    ARM_TANH = 1,
} arm_nn_activation_type;

/** One LSTM gate (arm_lstm_unidirectional_s8): the input and the recurrent fully connected
 * parts, each with its own requantization to the Q3.12 gate input and an effective bias that
 * already holds the zero-point term (offset * row sum of the weights; the input one adds the
 * gate bias too). `bias` is the plain gate bias, for reference only. */
typedef struct
{
    int32_t input_multiplier;
    int32_t input_shift;
    const void *input_weights;
    const void *input_effective_bias;

    int32_t hidden_multiplier;
    int32_t hidden_shift;
    const void *hidden_weights;
    const void *hidden_effective_bias;

    const void *bias;
    arm_nn_activation_type activation_type;
} cmsis_nn_lstm_gate;

/** LSTM parameters (arm_lstm_unidirectional_s8). cell_clip > 0 clamps the int16 cell state to
 * [-cell_clip, cell_clip] (0: no clipping); cell_scale_power = log2 of the cell state scale;
 * output_* requantize output gate x tanh(cell) to the int8 hidden state. */
typedef struct
{
    int32_t time_major;
    int32_t batch_size;
    int32_t time_steps;
    int32_t input_size;
    int32_t hidden_size;

    int32_t input_offset;

    int32_t forget_to_cell_multiplier;
    int32_t forget_to_cell_shift;
    int32_t input_to_cell_multiplier;
    int32_t input_to_cell_shift;
    int32_t cell_clip;
    int32_t cell_scale_power;

    int32_t output_multiplier;
    int32_t output_shift;
    int32_t output_offset;

    cmsis_nn_lstm_gate forget_gate;
    cmsis_nn_lstm_gate input_gate;
    cmsis_nn_lstm_gate cell_gate;
    cmsis_nn_lstm_gate output_gate;
} cmsis_nn_lstm_params;

/** LSTM buffers: temp1/temp2 hold batch_size * hidden_size int16 each; cell_state the int16 cell
 * state (batch_size * hidden_size). Every call starts from zero state (hidden and cell), as
 * upstream's kernel does: the hidden state of step t is the output row of step t - 1. */
typedef struct
{
    void *temp1;
    void *temp2;
    void *cell_state;
} cmsis_nn_lstm_context;

/** SVDF parameters (arm_svdf_s8, arm_svdf_state_s16_s8). input_activation clamps the feature
 *  values written into the state (the state type's range), output_activation the int8 output. */
typedef struct
{
    int32_t rank;
    int32_t input_offset;  /**< the input zero point: subtracted from the input (as upstream's
                                kernels use it and TFLM sets it, whatever upstream's comment says) */
    int32_t output_offset; /**< the output zero point */
    cmsis_nn_activation input_activation;
    cmsis_nn_activation output_activation;
} cmsis_nn_svdf_params;

/** Per-tensor or per-channel requantization (arm_fully_connected_wrapper_s8): is_per_channel != 0:
 * one multiplier / shift per output channel, else multiplier[0] / shift[0] for all. */
typedef struct
{
    int32_t *multiplier;
    int32_t *shift;
    int32_t is_per_channel;
} cmsis_nn_quant_params;

#ifdef __cplusplus
}
#endif

#endif /* ARM_NN_TYPES_H */
