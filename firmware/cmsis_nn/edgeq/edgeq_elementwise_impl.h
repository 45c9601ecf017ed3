/*
 * edgeq -- elementwise ADD and MUL for one element type, the CMSIS-NN API functions
 * arm_elementwise_add_<t> / arm_elementwise_mul_<t> (same-shape operands). The int8 and int16
 * kernels share this body so their arithmetic cannot drift apart (TFLM's int8 and int16 ADD
 * differ only in left_shift: 20 vs 15, which the caller passes). Included once per type with:
 *   EDGEQ_EW_ADD  the add function's name      EDGEQ_EW_T    the element type
 *   EDGEQ_EW_MUL  the multiply function's name
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnsupportfunctions.h"
#include "edgeq_fixedpoint.h"
#include "edgeq_mve_kernels.h"

/* From this many elements on the int8 DSP ADD tabulates each input's rescaled term
 * (edgeq_ew_add_lut: building the 2 x 256 entries costs about as much as 300 elements). */
#ifndef EDGEQ_EW_LUT_MIN
#define EDGEQ_EW_LUT_MIN 512
#endif

#if defined(EDGEQ_DOT_DSP)
/* The int8 ADD's rounding divide by 2^e (ties away from zero), e in [0, 31], |v| < 2^30. */
static inline int32_t edgeq_ew_rdiv(int32_t v, int32_t e)
{
    return e > 0 ? (v + ((int32_t)1 << (e - 1)) + (v >> 31)) >> e : v;
}

/*
 * The int8 ADD (the shifts and multipliers the DSP path below checks) for long vectors: each
 * input's rescaled term a = rdiv(srdhm((x + off) << left_shift, m), e) depends only on its int8
 * value, so both are tabulated (2 x 256 entries, the same arithmetic) and an element costs two
 * table loads and the output requantization. The entries are doubled: |a1|, |a2| < 2^29, so
 * 2 (a1 + a2) fits in int32 and SMMULR on it is srdhm(a1 + a2, out_mult) exactly
 * ((2 s m + 2^31) >> 32 = (s m + 2^30) >> 31). The tables take 2 KB of stack, only here.
 */
static __attribute__((noinline)) void edgeq_ew_add_lut(const int8_t *p1, const int8_t *p2, int32_t off1, int32_t m1,
                                                       int32_t e1, int32_t off2, int32_t m2, int32_t e2, int32_t scale,
                                                       int8_t *po, int32_t out_off, int32_t out_mult, int32_t eo,
                                                       int32_t act_min, int32_t act_max, int32_t n)
{
    int32_t lut[512];
    const int32_t *t1 = lut + 128, *t2 = lut + 384;
    const int32_t ho = eo > 0 ? (int32_t)1 << (eo - 1) : 0, no = eo > 0 ? -1 : 0;
    int32_t i;
    for (i = -128; i < 128; i++)
    {
        lut[128 + i] = 2 * edgeq_ew_rdiv(edgeq_mulh_round((i + off1) * scale, m1), e1);
        lut[384 + i] = 2 * edgeq_ew_rdiv(edgeq_mulh_round((i + off2) * scale, m2), e2);
    }
    if (act_min <= -128 && act_max >= 127)
    {
        for (; n > 0; n--)
        {
            const int32_t vo = edgeq_smmulr(t1[*p1++] + t2[*p2++], out_mult);
            *po++ = (int8_t)edgeq_ssat8(((vo + ho + ((vo >> 31) & no)) >> eo) + out_off);
        }
        return;
    }
    for (; n > 0; n--)
    {
        const int32_t vo = edgeq_smmulr(t1[*p1++] + t2[*p2++], out_mult);
        const int32_t v = edgeq_ssat8(((vo + ho + ((vo >> 31) & no)) >> eo) + out_off);
        *po++ = (int8_t)edgeq_clamp_i32(v, act_min, act_max);
    }
}
#endif

arm_cmsis_nn_status EDGEQ_EW_ADD(const EDGEQ_EW_T *input_1_vect,
                                 const EDGEQ_EW_T *input_2_vect,
                                 const int32_t input_1_offset,
                                 const int32_t input_1_mult,
                                 const int32_t input_1_shift,
                                 const int32_t input_2_offset,
                                 const int32_t input_2_mult,
                                 const int32_t input_2_shift,
                                 const int32_t left_shift,
                                 EDGEQ_EW_T *output,
                                 const int32_t out_offset,
                                 const int32_t out_mult,
                                 const int32_t out_shift,
                                 const int32_t out_activation_min,
                                 const int32_t out_activation_max,
                                 const int32_t block_size)
{
    int32_t i;
#if defined(EDGEQ_MVE)
    if (sizeof(EDGEQ_EW_T) == 1 &&
        edgeq_mve_add_s8((const int8_t *)input_1_vect, (const int8_t *)input_2_vect, input_1_offset, input_1_mult,
                         input_1_shift, input_2_offset, input_2_mult, input_2_shift, left_shift, (int8_t *)output,
                         out_offset, out_mult, out_shift, out_activation_min, out_activation_max,
                         block_size) == ARM_CMSIS_NN_SUCCESS)
    {
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
#if defined(EDGEQ_DOT_DSP)
    /*
     * int8, the shifts TFLM's Prepare produces (each in [-31, 0], multipliers >= 0): the
     * same arithmetic with the rounding divides in fewer instructions. Each input term
     * (x + off) << left_shift has |.| < 2^30 (255 << 20 < 2^28, checked below), so srdhm by a
     * Q31 multiplier stays below 2^30 and (v + 2^(e-1) - [v < 0]) >> e -- round half away from
     * zero -- cannot overflow: exact. Their sum stays below 2^30 as well, so the output
     * requantization is the same exact form.
     */
    if (sizeof(EDGEQ_EW_T) == 1 && left_shift >= 0 && left_shift <= 21 && input_1_shift <= 0 && input_1_shift >= -31 &&
        input_2_shift <= 0 && input_2_shift >= -31 && input_1_mult >= 0 && input_2_mult >= 0 && out_shift <= 0 &&
        out_shift >= -31 && out_mult >= 0)
    {
        const int32_t e1 = -input_1_shift, e2 = -input_2_shift;
        const int32_t h1 = e1 > 0 ? (int32_t)1 << (e1 - 1) : 0, n1 = e1 > 0 ? -1 : 0;
        const int32_t h2 = e2 > 0 ? (int32_t)1 << (e2 - 1) : 0, n2 = e2 > 0 ? -1 : 0;
        const int32_t eo = -out_shift;
        const int32_t ho = eo > 0 ? (int32_t)1 << (eo - 1) : 0, no = eo > 0 ? -1 : 0;
        const int32_t full = out_activation_min <= -128 && out_activation_max >= 127;
        const int32_t scale = (int32_t)1 << left_shift;
        if (block_size >= EDGEQ_EW_LUT_MIN)
        {
            edgeq_ew_add_lut((const int8_t *)input_1_vect, (const int8_t *)input_2_vect, input_1_offset,
                             input_1_mult, e1, input_2_offset, input_2_mult, e2, scale, (int8_t *)output,
                             out_offset, out_mult, eo, out_activation_min, out_activation_max, block_size);
            return ARM_CMSIS_NN_SUCCESS;
        }
        for (i = 0; i < block_size; i++)
        {
            /* |x + off| <= 255: no overflow in the left shift (a multiply keeps GCC on SMLAL) */
            const int32_t x1 = (input_1_vect[i] + input_1_offset) * scale;
            const int32_t x2 = (input_2_vect[i] + input_2_offset) * scale;
            const int32_t v1 = edgeq_mulh_round(x1, input_1_mult);
            const int32_t v2 = edgeq_mulh_round(x2, input_2_mult);
            const int32_t a1 = (v1 + h1 + ((v1 >> 31) & n1)) >> e1;
            const int32_t a2 = (v2 + h2 + ((v2 >> 31) & n2)) >> e2;
            const int32_t vo = edgeq_mulh_round(a1 + a2, out_mult);
            const int32_t v = edgeq_ssat8(((vo + ho + ((vo >> 31) & no)) >> eo) + out_offset);
            output[i] = (EDGEQ_EW_T)(full ? v : edgeq_clamp_i32(v, out_activation_min, out_activation_max));
        }
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    for (i = 0; i < block_size; i++)
    {
        const int32_t v = edgeq_add_one(input_1_vect[i], input_2_vect[i], input_1_offset, input_1_mult, input_1_shift,
                                        input_2_offset, input_2_mult, input_2_shift, left_shift, out_offset,
                                        out_mult, out_shift);
        output[i] = (EDGEQ_EW_T)edgeq_clamp_i32(v, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status EDGEQ_EW_MUL(const EDGEQ_EW_T *input_1_vect,
                                 const EDGEQ_EW_T *input_2_vect,
                                 const int32_t input_1_offset,
                                 const int32_t input_2_offset,
                                 EDGEQ_EW_T *output,
                                 const int32_t out_offset,
                                 const int32_t out_mult,
                                 const int32_t out_shift,
                                 const int32_t out_activation_min,
                                 const int32_t out_activation_max,
                                 const int32_t block_size)
{
    int32_t i;
    for (i = 0; i < block_size; i++)
    {
        const int32_t v = edgeq_mul_one(input_1_vect[i], input_2_vect[i], input_1_offset, input_2_offset, out_offset,
                                        out_mult, out_shift);
        output[i] = (EDGEQ_EW_T)edgeq_clamp_i32(v, out_activation_min, out_activation_max);
    }
    return ARM_CMSIS_NN_SUCCESS;
}
