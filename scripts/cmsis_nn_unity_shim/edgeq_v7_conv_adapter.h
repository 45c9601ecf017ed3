/* edgeq's conformance harness (scripts/cmsis_nn_conformance.py --v7-conv-adapter, the default):
 * force-included into CMSIS-NN's unit-test sources, NOT part of edgeq's kernels. CMSIS-NN v7's
 * arm_convolve_s8 takes an extra `upscale_dims` argument (before output_dims) that edgeq's
 * arm_convolve_s8 does not (generated code calls edgeq's argument list). The tests pass NULL
 * (no upscaling): this adapter maps that call onto edgeq's function, and reports any real
 * upscaling as not implemented. */
#ifndef EDGEQ_V7_CONV_ADAPTER_H
#define EDGEQ_V7_CONV_ADAPTER_H
#include "arm_nnfunctions.h"

static inline arm_cmsis_nn_status edgeq_v7_arm_convolve_s8(const cmsis_nn_context *ctx,
                                                           const cmsis_nn_conv_params *conv_params,
                                                           const cmsis_nn_per_channel_quant_params *quant_params,
                                                           const cmsis_nn_dims *input_dims,
                                                           const int8_t *input_data,
                                                           const cmsis_nn_dims *filter_dims,
                                                           const int8_t *filter_data,
                                                           const cmsis_nn_dims *bias_dims,
                                                           const int32_t *bias_data,
                                                           const cmsis_nn_dims *upscale_dims,
                                                           const cmsis_nn_dims *output_dims,
                                                           int8_t *output_data)
{
    if (upscale_dims != 0 && (upscale_dims->w != 1 || upscale_dims->h != 1))
    {
        return ARM_CMSIS_NN_NO_IMPL_ERROR;
    }
    return arm_convolve_s8(ctx, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                           bias_dims, bias_data, output_dims, output_data);
}
#define arm_convolve_s8 edgeq_v7_arm_convolve_s8
#endif
