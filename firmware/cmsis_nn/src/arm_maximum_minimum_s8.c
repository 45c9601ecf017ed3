/*
 * edgeq kernels -- int8 elementwise maximum and minimum with broadcasting (MAXIMUM, MINIMUM).
 * The raw int8 values are compared: the converter gives both inputs the output's quantization,
 * and TFLite Micro compares them as stored too.
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"

/* Row-major element strides of an operand of dims d read against the output dims o: 0 along the
 * dimensions where the operand has size 1 and the output does not. */
static void edgeq_mm_strides(const cmsis_nn_dims *d, const cmsis_nn_dims *o, int32_t s[4])
{
    const int32_t dim[4] = {d->n, d->h, d->w, d->c};
    const int32_t out[4] = {o->n, o->h, o->w, o->c};
    int32_t k, stride = 1;
    for (k = 3; k >= 0; k--)
    {
        s[k] = (dim[k] == 1 && out[k] != 1) ? 0 : stride;
        stride *= dim[k];
    }
}

static arm_cmsis_nn_status edgeq_max_min_s8(const int8_t *in1, const cmsis_nn_dims *d1, const int8_t *in2,
                                            const cmsis_nn_dims *d2, int8_t *out, const cmsis_nn_dims *od,
                                            int is_max)
{
    int32_t s1[4], s2[4], a, b, c, i;
    edgeq_mm_strides(d1, od, s1);
    edgeq_mm_strides(d2, od, s2);
    for (a = 0; a < od->n; a++)
    {
        for (b = 0; b < od->h; b++)
        {
            for (c = 0; c < od->w; c++)
            {
                const int8_t *p1 = in1 + a * s1[0] + b * s1[1] + c * s1[2];
                const int8_t *p2 = in2 + a * s2[0] + b * s2[1] + c * s2[2];
                if (is_max)
                {
                    for (i = 0; i < od->c; i++, p1 += s1[3], p2 += s2[3])
                    {
                        *out++ = *p1 >= *p2 ? *p1 : *p2;
                    }
                }
                else
                {
                    for (i = 0; i < od->c; i++, p1 += s1[3], p2 += s2[3])
                    {
                        *out++ = *p1 <= *p2 ? *p1 : *p2;
                    }
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_maximum_s8(const cmsis_nn_context *ctx,
                                   const int8_t *input_1_data,
                                   const cmsis_nn_dims *input_1_dims,
                                   const int8_t *input_2_data,
                                   const cmsis_nn_dims *input_2_dims,
                                   int8_t *output_data,
                                   const cmsis_nn_dims *output_dims)
{
    (void)ctx;
    return edgeq_max_min_s8(input_1_data, input_1_dims, input_2_data, input_2_dims, output_data, output_dims, 1);
}

arm_cmsis_nn_status arm_minimum_s8(const cmsis_nn_context *ctx,
                                   const int8_t *input_1_data,
                                   const cmsis_nn_dims *input_1_dims,
                                   const int8_t *input_2_data,
                                   const cmsis_nn_dims *input_2_dims,
                                   int8_t *output_data,
                                   const cmsis_nn_dims *output_dims)
{
    (void)ctx;
    return edgeq_max_min_s8(input_1_data, input_1_dims, input_2_data, input_2_dims, output_data, output_dims, 0);
}
