/*
 * edgeq -- arm_vector_sum_s8 (CMSIS-NN API): per row of an int8 matrix (vector_rows rows of
 * vector_cols), the zero-point term a fully connected / LSTM kernel folds into its bias:
 *     out[r] = bias[r] + lhs_offset * (sum_c m[r][c] + vector_cols * rhs_offset)
 * (bias NULL: 0; lhs_offset 0: the bias alone).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"

arm_cmsis_nn_status arm_vector_sum_s8(int32_t *vector_sum_buf,
                                      const int32_t vector_cols,
                                      const int32_t vector_rows,
                                      const int8_t *vector_data,
                                      const int32_t lhs_offset,
                                      const int32_t rhs_offset,
                                      const int32_t *bias_data)
{
    int32_t r, c;
    for (r = 0; r < vector_rows; r++)
    {
        int32_t v = bias_data != 0 ? bias_data[r] : 0;
        if (lhs_offset != 0)
        {
            const int8_t *row = vector_data + r * vector_cols;
            int32_t sum = vector_cols * rhs_offset;
            for (c = 0; c < vector_cols; c++)
            {
                sum += row[c];
            }
            v += sum * lhs_offset;
        }
        vector_sum_buf[r] = v;
    }
    return ARM_CMSIS_NN_SUCCESS;
}
