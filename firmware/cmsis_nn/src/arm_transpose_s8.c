/*
 * edgeq portable kernels -- int8 TRANSPOSE of up to 4 dimensions (CMSIS-NN API).
 * Walks the output in order; the innermost output dimension reads the input with the stride of
 * the input dimension it comes from (a plain copy when that stride is 1).
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "arm_nnfunctions.h"

arm_cmsis_nn_status arm_transpose_s8(const int8_t *input_data,
                                     int8_t *const output_data,
                                     const cmsis_nn_dims *const input_dims,
                                     const cmsis_nn_dims *const output_dims,
                                     const cmsis_nn_transpose_params *const transpose_params)
{
    const int32_t rank = transpose_params->num_dims;
    const uint32_t *perm = transpose_params->permutations;
    const int32_t in_d[4] = {input_dims->n, input_dims->h, input_dims->w, input_dims->c};
    const int32_t out_d[4] = {output_dims->n, output_dims->h, output_dims->w, output_dims->c};
    int32_t in_stride[4];
    /* the output walk, padded in front to 4 dims: extent and input stride of each */
    int32_t ext[4] = {1, 1, 1, 1};
    int32_t step[4] = {0, 0, 0, 0};
    uint32_t seen = 0;
    int32_t k, a, b, c;
    int8_t *out = output_data;

    if (rank < 1 || rank > 4)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    in_stride[rank - 1] = 1;
    for (k = rank - 2; k >= 0; k--)
    {
        in_stride[k] = in_stride[k + 1] * in_d[k + 1];
    }
    for (k = 0; k < rank; k++)
    {
        const uint32_t p = perm[k];
        if (p >= (uint32_t)rank || (seen & (1u << p)) != 0 || out_d[k] != in_d[p])
        {
            return ARM_CMSIS_NN_ARG_ERROR;
        }
        seen |= 1u << p;
        ext[4 - rank + k] = out_d[k];
        step[4 - rank + k] = in_stride[p];
    }

    for (a = 0; a < ext[0]; a++)
    {
        for (b = 0; b < ext[1]; b++)
        {
            for (c = 0; c < ext[2]; c++)
            {
                const int8_t *in = input_data + a * step[0] + b * step[1] + c * step[2];
                const int32_t n = ext[3];
                const int32_t s = step[3];
                if (s == 1)
                {
                    memcpy(out, in, (size_t)n);
                    out += n;
                }
                else
                {
                    int32_t i;
                    for (i = 0; i < n; i++)
                    {
                        *out++ = *in;
                        in += s;
                    }
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
