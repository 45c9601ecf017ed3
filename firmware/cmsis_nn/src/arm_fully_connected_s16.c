/*
 * edgeq portable kernels -- int16-activation fully connected (TFLite 16x8), per-tensor and
 * per-channel requantization. filter_dims->n = accumulation depth, output_dims->c = units,
 * input_dims->n = batches; filter layout [units, depth]; int64 bias (may be NULL).
 * Input zero point is 0 by the 16x8 spec: fc_params->input_offset/filter_offset are not used.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

int32_t arm_fully_connected_s16_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

int32_t arm_fully_connected_per_channel_s16_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

/* mult/shift: one entry (per_channel 0) or one per unit. */
static void edgeq_fc_s16_core(const cmsis_nn_fc_params *p, const int32_t *mult, const int32_t *shift,
                              int32_t per_channel, int32_t batches, const int16_t *input, const int8_t *filter,
                              int32_t depth, const int64_t *bias, int32_t units, int16_t *output)
{
    int32_t b, u;
    for (b = 0; b < batches; b++)
    {
        const int16_t *in = input + b * depth;
        for (u = 0; u < units; u++)
        {
            const int32_t q = per_channel ? u : 0;
            /* TFLM adds the bias after the products; integer addition makes the order moot */
            const int64_t acc = edgeq_dot_s16_s8(in, filter + u * depth, depth) + (bias != 0 ? bias[u] : 0);
            const int32_t v = arm_nn_requantize_s64(acc, mult[q], shift[q]) + p->output_offset;
            output[b * units + u] = (int16_t)edgeq_clamp_i32(v, p->activation.min, p->activation.max);
        }
    }
}

arm_cmsis_nn_status arm_fully_connected_s16(const cmsis_nn_context *ctx,
                                            const cmsis_nn_fc_params *fc_params,
                                            const cmsis_nn_per_tensor_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims,
                                            const int16_t *input_data,
                                            const cmsis_nn_dims *filter_dims,
                                            const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims,
                                            const int64_t *bias_data,
                                            const cmsis_nn_dims *output_dims,
                                            int16_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    edgeq_fc_s16_core(fc_params, &quant_params->multiplier, &quant_params->shift, 0, input_dims->n, input_data,
                      filter_data, filter_dims->n, bias_data, output_dims->c, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_per_channel_s16(const cmsis_nn_context *ctx,
                                                        const cmsis_nn_fc_params *fc_params,
                                                        const cmsis_nn_per_channel_quant_params *quant_params,
                                                        const cmsis_nn_dims *input_dims,
                                                        const int16_t *input_data,
                                                        const cmsis_nn_dims *filter_dims,
                                                        const int8_t *filter_data,
                                                        const cmsis_nn_dims *bias_dims,
                                                        const int64_t *bias_data,
                                                        const cmsis_nn_dims *output_dims,
                                                        int16_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    edgeq_fc_s16_core(fc_params, quant_params->multiplier, quant_params->shift, 1, input_dims->n, input_data,
                      filter_data, filter_dims->n, bias_data, output_dims->c, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}
