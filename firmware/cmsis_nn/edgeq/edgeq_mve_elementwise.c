/*
 * edgeq -- Helium (MVE) elementwise ADD of two same-shape int8 tensors (arm_elementwise_add_s8
 * dispatches here), four elements per step in 32-bit lanes (VLDRB.S32 widens them), the last
 * step predicated (VCTP.32: zeroing loads, a predicated store).
 *
 * Same arithmetic as edgeq_add_one (TFLite's general-scale quantized add), for the parameters
 * TFLM's Prepare produces: every shift <= 0 (multipliers below 1) and 0 <= left_shift <= 21. Each
 * requantization is VQRDMULH by the multiplier (SaturatingRoundingDoublingHighMul exactly, see
 * edgeq_mve_requantize), then the rounding right shift by e = -shift: VRSHL rounds ties up, the
 * reference away from zero, so for e > 0 negative values first lose 1 (x + (x >> 31) * 1, one
 * VMLA by the scalar [e > 0]: no separate code per shift). No overflow anywhere: |x + off| <= 255,
 * so (x + off) << left_shift < 2^29, the high multiplies and their sum stay below 2^30 (the bounds
 * the DSP path of edgeq_elementwise_impl.h relies on too). Other parameters return
 * ARM_CMSIS_NN_ARG_ERROR and the caller runs the portable code.
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_mve.h"

#if defined(EDGEQ_MVE)

/* round(x * mult / 2^31) / 2^e rounded half away from zero, e = -shift in [0, 31]: VQRDMULH,
 * the tie fix-up for negative x (neg = [e > 0]), VRSHL by -e. */
EDGEQ_MVE_INLINE int32x4_t edgeq_mve_rq_scalar(int32x4_t x, int32_t mult, int32_t neg, int32_t shift)
{
    x = vqrdmulhq_n_s32(x, mult);
    x = vmlaq_n_s32(x, vshrq_n_s32(x, 31), neg);
    return vrshlq_n_s32(x, shift);
}

/* What every step of edgeq_mve_add_s8 shares. */
typedef struct
{
    int32_t o1, mult1, n1, shift1, o2, mult2, n2, shift2, left, out_off, out_mult, no, out_shift;
} edgeq_mve_add_args;

/* Elements [0, 4) (full) or [0, n) of in1 + in2 into out. */
EDGEQ_MVE_INLINE void edgeq_mve_add4(const edgeq_mve_add_args *g, const int8_t *in1, const int8_t *in2, int8_t *out,
                                     int32x4_t lo, int32x4_t hi, int full, int32_t n)
{
    const mve_pred16_t p = vctp32q((uint32_t)n);
    int32x4_t a = full ? vldrbq_s32(in1) : vldrbq_z_s32(in1, p);
    int32x4_t b = full ? vldrbq_s32(in2) : vldrbq_z_s32(in2, p);
    a = edgeq_mve_rq_scalar(vaddq_n_s32(vshlq_r_s32(a, g->left), g->o1), g->mult1, g->n1, g->shift1);
    b = edgeq_mve_rq_scalar(vaddq_n_s32(vshlq_r_s32(b, g->left), g->o2), g->mult2, g->n2, g->shift2);
    a = vaddq_n_s32(edgeq_mve_rq_scalar(vaddq_s32(a, b), g->out_mult, g->no, g->out_shift), g->out_off);
    a = vminq_s32(vmaxq_s32(a, lo), hi);
    if (full)
    {
        vstrbq_s32(out, a);
    }
    else
    {
        vstrbq_p_s32(out, a, p);
    }
}

arm_cmsis_nn_status edgeq_mve_add_s8(const int8_t *in1, const int8_t *in2, int32_t off1, int32_t mult1,
                                     int32_t shift1, int32_t off2, int32_t mult2, int32_t shift2, int32_t left_shift,
                                     int8_t *out, int32_t out_off, int32_t out_mult, int32_t out_shift,
                                     int32_t act_min, int32_t act_max, int32_t n)
{
    edgeq_mve_add_args g;
    int32x4_t lo, hi;
    int32_t i;
    if (left_shift < 0 || left_shift > 21 || shift1 > 0 || shift1 < -31 || shift2 > 0 || shift2 < -31 ||
        out_shift > 0 || out_shift < -31)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    /* (x + off) << left_shift = (x << left_shift) + (off << left_shift), modulo 2^32 */
    g.o1 = (int32_t)((uint32_t)off1 << left_shift);
    g.o2 = (int32_t)((uint32_t)off2 << left_shift);
    g.mult1 = mult1;
    g.mult2 = mult2;
    g.n1 = shift1 < 0;
    g.n2 = shift2 < 0;
    g.shift1 = shift1;
    g.shift2 = shift2;
    g.left = left_shift;
    g.out_off = out_off;
    g.out_mult = out_mult;
    g.no = out_shift < 0;
    g.out_shift = out_shift;
    lo = vdupq_n_s32(act_min);
    hi = vdupq_n_s32(act_max);
    for (i = 0; i + 4 <= n; i += 4)
    {
        edgeq_mve_add4(&g, in1 + i, in2 + i, out + i, lo, hi, 1, 4);
    }
    if (i < n)
    {
        edgeq_mve_add4(&g, in1 + i, in2 + i, out + i, lo, hi, 0, n - i);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

#else
typedef int edgeq_mve_elementwise_unused; /* ISO C: a translation unit is not empty */
#endif /* EDGEQ_MVE */
