/*
 * edgeq portable kernels -- int16 average and max pooling (NHWC, same quantization in/out, so no
 * requantization). Average: sum of the in-bounds taps (int32: at most 2^16 taps of 2^15) divided
 * by their count, rounded half away from zero, as TFLM's reference int16 AveragePool.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

int32_t arm_avgpool_s16_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
    (void)ch_src;
    return 0;
}

#define EDGEQ_POOL_FN edgeq_pool_s16
#define EDGEQ_POOL_T int16_t
#define EDGEQ_POOL_MIN NN_Q15_MIN
#include "edgeq_pool_impl.h"

arm_cmsis_nn_status arm_avgpool_s16(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int16_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int16_t *output_data)
{
    (void)ctx;
    return edgeq_pool_s16(0, pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
}

arm_cmsis_nn_status arm_max_pool_s16(const cmsis_nn_context *ctx,
                                     const cmsis_nn_pool_params *pool_params,
                                     const cmsis_nn_dims *input_dims,
                                     const int16_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const cmsis_nn_dims *output_dims,
                                     int16_t *output_data)
{
    (void)ctx;
    return edgeq_pool_s16(1, pool_params, input_dims, input_data, filter_dims, output_dims, output_data);
}
