/*
 * edgeq kernels -- SVDF (TFLite's rank-factorised time filter), int8 input / output / feature
 * weights with an int8 or int16 state, with the arithmetic of TFLM's integer SVDF. Both entry
 * points share one body, written once per state type by the macro below (the state type is the
 * only difference: the feature values written into it and the time weights it is dotted with).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

#include <string.h>

#define EDGEQ_SVDF_BODY(state_t, wtime_t)                                                                        \
    const int32_t batches = input_dims->n, input_size = input_dims->h;                                         \
    const int32_t features = weights_feature_dims->n, memory = weights_time_dims->h;                           \
    const int32_t rank = svdf_params->rank;                                                                    \
    int32_t *feature_sums, *unit_sums;                                                                         \
    int32_t b, f, u, k;                                                                                        \
    if (rank <= 0 || features % rank != 0 || memory <= 0 || input_ctx == NULL || output_ctx == NULL ||          \
        input_ctx->buf == NULL || output_ctx->buf == NULL)                                                     \
    {                                                                                                          \
        return ARM_CMSIS_NN_ARG_ERROR;                                                                         \
    }                                                                                                          \
    feature_sums = (int32_t *)input_ctx->buf;                                                                  \
    unit_sums = (int32_t *)output_ctx->buf;                                                                    \
    /* every entry one step older: the whole state moves back by one element (the entry that */               \
    /* crosses into the previous feature's row lands in its newest slot, overwritten below) */                 \
    memmove(state_data, state_data + 1, (size_t)(batches * features * memory - 1) * sizeof(state_t));           \
    for (b = 0; b < batches; b++)                                                                              \
    {                                                                                                          \
        const int8_t *in = input_data + b * input_size;                                                        \
        state_t *row = state_data + b * features * memory;                                                     \
        for (f = 0; f < features; f++)                                                                         \
        {                                                                                                      \
            const int8_t *w = weights_feature_data + f * input_size;                                           \
            int32_t acc = 0, i;                                                                                \
            for (i = 0; i < input_size; i++)                                                                   \
            {                                                                                                  \
                acc += (int32_t)w[i] * ((int32_t)in[i] - svdf_params->input_offset);                           \
            }                                                                                                  \
            acc = arm_nn_requantize(acc, input_quant_params->multiplier, input_quant_params->shift);           \
            acc = MAX(acc, svdf_params->input_activation.min);                                                 \
            row[f * memory + memory - 1] = (state_t)MIN(acc, svdf_params->input_activation.max);               \
        }                                                                                                      \
        /* each feature's memory dotted with its time weights */                                               \
        for (f = 0; f < features; f++)                                                                         \
        {                                                                                                      \
            const state_t *s = row + f * memory;                                                               \
            const wtime_t *t = weights_time_data + f * memory;                                                  \
            int32_t acc = 0, m;                                                                                \
            for (m = 0; m < memory; m++)                                                                       \
            {                                                                                                  \
                acc += (int32_t)s[m] * (int32_t)t[m];                                                          \
            }                                                                                                  \
            feature_sums[b * features + f] = acc;                                                              \
        }                                                                                                      \
    }                                                                                                          \
    for (b = 0; b < batches; b++)                                                                              \
    {                                                                                                          \
        const int32_t units = features / rank;                                                                 \
        for (u = 0; u < units; u++)                                                                            \
        {                                                                                                      \
            int32_t acc = bias_data != NULL ? bias_data[u] : 0;                                                \
            for (k = 0; k < rank; k++)                                                                         \
            {                                                                                                  \
                acc += feature_sums[b * features + u * rank + k];                                              \
            }                                                                                                  \
            unit_sums[b * units + u] = acc;                                                                    \
        }                                                                                                      \
        for (u = 0; u < units; u++)                                                                            \
        {                                                                                                      \
            int32_t v = arm_nn_requantize(unit_sums[b * units + u], output_quant_params->multiplier,            \
                                          output_quant_params->shift) +                                        \
                        svdf_params->output_offset;                                                            \
            v = MAX(v, svdf_params->output_activation.min);                                                    \
            output_data[b * units + u] = (int8_t)MIN(v, svdf_params->output_activation.max);                   \
        }                                                                                                      \
    }                                                                                                          \
    return ARM_CMSIS_NN_SUCCESS;

arm_cmsis_nn_status arm_svdf_s8(const cmsis_nn_context *ctx,
                                const cmsis_nn_context *input_ctx,
                                const cmsis_nn_context *output_ctx,
                                const cmsis_nn_svdf_params *svdf_params,
                                const cmsis_nn_per_tensor_quant_params *input_quant_params,
                                const cmsis_nn_per_tensor_quant_params *output_quant_params,
                                const cmsis_nn_dims *input_dims,
                                const int8_t *input_data,
                                const cmsis_nn_dims *state_dims,
                                int8_t *state_data,
                                const cmsis_nn_dims *weights_feature_dims,
                                const int8_t *weights_feature_data,
                                const cmsis_nn_dims *weights_time_dims,
                                const int8_t *weights_time_data,
                                const cmsis_nn_dims *bias_dims,
                                const int32_t *bias_data,
                                const cmsis_nn_dims *output_dims,
                                int8_t *output_data)
{
    (void)ctx; /* no precomputed kernel sums: the input offset is added per element */
    (void)state_dims;
    (void)bias_dims;
    (void)output_dims;
    EDGEQ_SVDF_BODY(int8_t, int8_t)
}

arm_cmsis_nn_status arm_svdf_state_s16_s8(const cmsis_nn_context *input_ctx,
                                          const cmsis_nn_context *output_ctx,
                                          const cmsis_nn_svdf_params *svdf_params,
                                          const cmsis_nn_per_tensor_quant_params *input_quant_params,
                                          const cmsis_nn_per_tensor_quant_params *output_quant_params,
                                          const cmsis_nn_dims *input_dims,
                                          const int8_t *input_data,
                                          const cmsis_nn_dims *state_dims,
                                          int16_t *state_data,
                                          const cmsis_nn_dims *weights_feature_dims,
                                          const int8_t *weights_feature_data,
                                          const cmsis_nn_dims *weights_time_dims,
                                          const int16_t *weights_time_data,
                                          const cmsis_nn_dims *bias_dims,
                                          const int32_t *bias_data,
                                          const cmsis_nn_dims *output_dims,
                                          int8_t *output_data)
{
    (void)state_dims;
    (void)bias_dims;
    (void)output_dims;
    EDGEQ_SVDF_BODY(int16_t, int16_t)
}

int32_t arm_svdf_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

int32_t arm_svdf_s8_get_buffer_size_dsp(const cmsis_nn_dims *filter_dims)
{
    return arm_svdf_s8_get_buffer_size(filter_dims);
}

int32_t arm_svdf_s8_get_buffer_size_mve(const cmsis_nn_dims *filter_dims)
{
    return arm_svdf_s8_get_buffer_size(filter_dims);
}
