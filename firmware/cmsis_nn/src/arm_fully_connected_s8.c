/*
 * edgeq portable kernels -- int8 fully connected, per-tensor and per-channel requantization.
 * filter_dims->n = accumulation depth, output_dims->c = output units, input_dims->n = batches.
 * Filter layout [units, depth].
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

static void edgeq_fc_core(const cmsis_nn_fc_params *p, const int32_t *mult, const int32_t *shift, int32_t per_channel,
                          int32_t batches, const int8_t *input, const int8_t *filter, int32_t depth,
                          const int32_t *bias, int32_t units, int8_t *output)
{
    int32_t b, u, i;
    for (u = 0; u < units; u++)
    {
        const int8_t *w = filter + u * depth;
        const int32_t q = per_channel ? u : 0;
        int32_t base = bias != 0 ? bias[u] : 0;
        int32_t wsum = 0;
        if (p->filter_offset == 0 && batches > 1)
        {
            /* amortized over the batches: sum(w) once per unit */
            for (i = 0; i < depth; i++)
            {
                wsum += w[i];
            }
            base += p->input_offset * wsum;
        }
        for (b = 0; b < batches; b++)
        {
            const int8_t *in = input + b * depth;
            int32_t acc = base;
            if (p->filter_offset == 0 && batches > 1)
            {
                acc += edgeq_dot_s8(in, w, depth);
            }
            else if (p->filter_offset == 0)
            {
                acc += edgeq_dot_off_s8(in, w, depth, p->input_offset);
            }
            else
            {
                for (i = 0; i < depth; i++)
                {
                    acc += ((int32_t)in[i] + p->input_offset) * ((int32_t)w[i] + p->filter_offset);
                }
            }
            acc = arm_nn_requantize(acc, mult[q], shift[q]);
            acc += p->output_offset;
            output[b * units + u] = (int8_t)edgeq_clamp_i32(acc, p->activation.min, p->activation.max);
        }
    }
}

arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    edgeq_fc_core(fc_params, &quant_params->multiplier, &quant_params->shift, 0, input_dims->n, input_data,
                  filter_data, filter_dims->n, bias_data, output_dims->c, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_per_channel_s8(const cmsis_nn_context *ctx,
                                                       const cmsis_nn_fc_params *fc_params,
                                                       const cmsis_nn_per_channel_quant_params *quant_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const int8_t *input_data,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const int8_t *filter_data,
                                                       const cmsis_nn_dims *bias_dims,
                                                       const int32_t *bias_data,
                                                       const cmsis_nn_dims *output_dims,
                                                       int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    edgeq_fc_core(fc_params, quant_params->multiplier, quant_params->shift, 1, input_dims->n, input_data,
                  filter_data, filter_dims->n, bias_data, output_dims->c, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}
