/*
 * edgeq -- ADD / MUL with numpy-style broadcasting over 4-D shapes for one element type; the
 * per-element arithmetic is edgeq_add_one / edgeq_mul_one, as in the same-shape kernels.
 * Included once per type from edgeq_nn_ops.c with:
 *   EDGEQ_BC_ADD, EDGEQ_BC_MUL  the function names     EDGEQ_BC_T  the element type
 * SPDX-License-Identifier: MIT
 */

void EDGEQ_BC_ADD(const EDGEQ_BC_T *in1, const int32_t shape1[4], const EDGEQ_BC_T *in2, const int32_t shape2[4],
                  const int32_t out_shape[4], int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                  int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int32_t out_offset,
                  int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, EDGEQ_BC_T *output)
{
    const int32_t n = out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3];
    int32_t idx[4] = {0, 0, 0, 0}, k, i1, i2;
    for (k = 0; k < n; k++, edgeq_bcast_step(out_shape, idx))
    {
        edgeq_bcast_offsets(shape1, shape2, idx, &i1, &i2);
        output[k] = (EDGEQ_BC_T)edgeq_clamp_i32(edgeq_add_one(in1[i1], in2[i2], in1_offset, in1_mult, in1_shift,
                                                              in2_offset, in2_mult, in2_shift, left_shift,
                                                              out_offset, out_mult, out_shift),
                                                act_min, act_max);
    }
}

void EDGEQ_BC_MUL(const EDGEQ_BC_T *in1, const int32_t shape1[4], const EDGEQ_BC_T *in2, const int32_t shape2[4],
                  const int32_t out_shape[4], int32_t in1_offset, int32_t in2_offset, int32_t out_offset,
                  int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, EDGEQ_BC_T *output)
{
    const int32_t n = out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3];
    int32_t idx[4] = {0, 0, 0, 0}, k, i1, i2;
    for (k = 0; k < n; k++, edgeq_bcast_step(out_shape, idx))
    {
        edgeq_bcast_offsets(shape1, shape2, idx, &i1, &i2);
        output[k] = (EDGEQ_BC_T)edgeq_clamp_i32(
            edgeq_mul_one(in1[i1], in2[i2], in1_offset, in2_offset, out_offset, out_mult, out_shift), act_min, act_max);
    }
}
