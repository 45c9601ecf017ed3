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
    int32_t idx[4];
    for (idx[0] = 0; idx[0] < out_shape[0]; idx[0]++)
        for (idx[1] = 0; idx[1] < out_shape[1]; idx[1]++)
            for (idx[2] = 0; idx[2] < out_shape[2]; idx[2]++)
                for (idx[3] = 0; idx[3] < out_shape[3]; idx[3]++)
                {
                    const int32_t v = edgeq_add_one(in1[edgeq_bcast_index(shape1, idx)],
                                                    in2[edgeq_bcast_index(shape2, idx)], in1_offset, in1_mult,
                                                    in1_shift, in2_offset, in2_mult, in2_shift, left_shift,
                                                    out_offset, out_mult, out_shift);
                    *output++ = (EDGEQ_BC_T)edgeq_clamp_i32(v, act_min, act_max);
                }
}

void EDGEQ_BC_MUL(const EDGEQ_BC_T *in1, const int32_t shape1[4], const EDGEQ_BC_T *in2, const int32_t shape2[4],
                  const int32_t out_shape[4], int32_t in1_offset, int32_t in2_offset, int32_t out_offset,
                  int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max, EDGEQ_BC_T *output)
{
    int32_t idx[4];
    for (idx[0] = 0; idx[0] < out_shape[0]; idx[0]++)
        for (idx[1] = 0; idx[1] < out_shape[1]; idx[1]++)
            for (idx[2] = 0; idx[2] < out_shape[2]; idx[2]++)
                for (idx[3] = 0; idx[3] < out_shape[3]; idx[3]++)
                {
                    const int32_t v = edgeq_mul_one(in1[edgeq_bcast_index(shape1, idx)],
                                                    in2[edgeq_bcast_index(shape2, idx)], in1_offset, in2_offset,
                                                    out_offset, out_mult, out_shift);
                    *output++ = (EDGEQ_BC_T)edgeq_clamp_i32(v, act_min, act_max);
                }
}
