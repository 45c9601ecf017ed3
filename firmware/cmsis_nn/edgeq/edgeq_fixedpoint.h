/*
 * edgeq -- integer fixed-point arithmetic shared by the kernels (header only).
 *
 * Implements, from their arithmetic definition, the rounding primitives of the TensorFlow
 * Lite int8 quantization spec: saturating rounding doubling high multiply, rounding divide by
 * a power of two ("double rounding" requantization), and the Q-format exp / reciprocal /
 * logistic approximations that int8 SOFTMAX and LOGISTIC are specified with.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_FIXEDPOINT_H
#define EDGEQ_FIXEDPOINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEQ_INLINE static inline

EDGEQ_INLINE int32_t edgeq_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
EDGEQ_INLINE int32_t edgeq_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
EDGEQ_INLINE int32_t edgeq_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* Shift left with two's-complement wrap-around (no undefined behaviour). */
EDGEQ_INLINE int32_t edgeq_shl(int32_t x, int32_t n) { return (int32_t)((uint32_t)x << n); }

/* round(a * b / 2^31), ties away from zero in the 64-bit product; saturates the one overflow. */
EDGEQ_INLINE int32_t edgeq_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    /* The reference form is trunc((ab + nudge) / 2^31), nudge = 2^30 for ab >= 0, 1 - 2^30 for
     * ab < 0. For ab >= 0 that is floor((ab + 2^30) / 2^31). For ab < 0 the numerator is negative,
     * so truncation is a ceiling: floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31) = floor((ab + 2^30) / 2^31)
     * again. One 64-bit add and arithmetic shift for both signs (~5 instructions on Cortex-M
     * instead of a sign-dependent nudge and a rounding-toward-zero division). */
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^e rounded to nearest, ties away from zero (0 <= e <= 31). */
EDGEQ_INLINE int32_t edgeq_rdbpot(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    const int32_t rem = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (rem > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31) with the reference two-step rounding. */
EDGEQ_INLINE int32_t edgeq_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return edgeq_rdbpot(edgeq_srdhm(edgeq_shl(x, left), multiplier), right);
}

/* One ADD element, unclamped: both offset inputs shifted left and requantized to a common scale,
 * their sum requantized to the output (TFLite's general-scale quantized add). */
EDGEQ_INLINE int32_t edgeq_add_one(int32_t x1, int32_t x2, int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                                   int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift,
                                   int32_t out_offset, int32_t out_mult, int32_t out_shift)
{
    const int32_t a = edgeq_requantize(edgeq_shl(x1 + in1_offset, left_shift), in1_mult, in1_shift);
    const int32_t b = edgeq_requantize(edgeq_shl(x2 + in2_offset, left_shift), in2_mult, in2_shift);
    return edgeq_requantize(a + b, out_mult, out_shift) + out_offset;
}

/* One MUL element, unclamped: the product of the offset inputs requantized to the output. */
EDGEQ_INLINE int32_t edgeq_mul_one(int32_t x1, int32_t x2, int32_t in1_offset, int32_t in2_offset, int32_t out_offset,
                                   int32_t out_mult, int32_t out_shift)
{
    return edgeq_requantize((x1 + in1_offset) * (x2 + in2_offset), out_mult, out_shift) + out_offset;
}

/* x * multiplier * 2^(shift - 31) for a 64-bit x, as TFLite's int64 MultiplyByQuantizedMultiplier
 * (the int16-activation kernels): the Q31 multiplier is first rounded to Q15 (saturating at
 * 0x7FFF), then one rounding right shift by 15 - shift (ties toward +infinity). Needs
 * |x| < 2^47 and -31 <= shift < 8, as the reference does; the narrowing to int32 wraps like it. */
EDGEQ_INLINE int32_t edgeq_requantize_s64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (int64_t)((multiplier + (1 << 15)) >> 16) : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t r = x * reduced + ((int64_t)1 << (total_shift - 1));
    return (int32_t)(r >> total_shift);
}

/* x * 2^e with saturation (e > 0). */
EDGEQ_INLINE int32_t edgeq_sat_shl(int32_t x, int32_t e)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - e)) - 1);
    if (x > threshold)
    {
        return INT32_MAX;
    }
    if (x < -threshold)
    {
        return INT32_MIN;
    }
    return edgeq_shl(x, e);
}

/* Multiply by 2^e with rounding (e < 0) or saturation (e > 0). */
EDGEQ_INLINE int32_t edgeq_mul_pot(int32_t x, int32_t e)
{
    if (e > 0)
    {
        return edgeq_sat_shl(x, e);
    }
    if (e < 0)
    {
        return edgeq_rdbpot(x, -e);
    }
    return x;
}

EDGEQ_INLINE int32_t edgeq_clz_u32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0)
    {
        return 32;
    }
    while ((x & 0x80000000u) == 0)
    {
        x <<= 1;
        n++;
    }
    return n;
}

/* (a + b) / 2 rounded away from zero, in 64 bits. */
EDGEQ_INLINE int32_t edgeq_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* exp(x) for x in [-1/4, 0), x and result in Q0.31. Taylor series around -1/8. */
EDGEQ_INLINE int32_t edgeq_exp_quarter_q0(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) * 2^31 */
    const int32_t one_third = 715827883;             /* 1/3 * 2^31 */
    const int32_t x = a + (1 << 28);                 /* a + 1/8 */
    const int32_t x2 = edgeq_srdhm(x, x);
    const int32_t x3 = edgeq_srdhm(x2, x);
    const int32_t x4 = edgeq_srdhm(x2, x2);
    const int32_t x4_over_4 = edgeq_rdbpot(x4, 2);
    const int32_t poly = edgeq_rdbpot(edgeq_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + edgeq_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 given in Q(int_bits).(31-int_bits); result in Q0.31. int_bits in 1..5. */
EDGEQ_INLINE int32_t edgeq_exp_on_negative_values(int32_t a, int32_t int_bits)
{
    /* exp(-2^k) in Q0.31 for k = -2 .. 4 */
    static const int32_t exp_neg_pot[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535,   720401,     242};
    const int32_t frac_bits = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
    int32_t result = edgeq_exp_quarter_q0(edgeq_mul_pot(a_mod_quarter_minus_quarter, int_bits));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    int32_t k;
    for (k = -2; k <= 4; k++)
    {
        if (int_bits > k)
        {
            const int32_t bit = (int32_t)1 << (frac_bits + k);
            if (remainder & bit)
            {
                result = edgeq_srdhm(result, exp_neg_pot[k + 2]);
            }
        }
    }
    if (a == 0)
    {
        result = INT32_MAX;
    }
    return result;
}

/* 1 / (1 + a) for a in [0, 1) in Q0.31; result in Q0.31 (Newton-Raphson, 3 steps). */
EDGEQ_INLINE int32_t edgeq_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = edgeq_rounding_half_sum(a, INT32_MAX); /* Q0.31 */
    const int32_t c48_17 = 1515870810;                                       /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540;                                     /* -32/17 in Q2.29 */
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = c48_17 + edgeq_srdhm(half_denominator, cm32_17);
    int i;
    for (i = 0; i < 3; i++)
    {
        const int32_t hd_x = edgeq_srdhm(half_denominator, x);    /* Q2.29 */
        const int32_t one_minus = one_q2 - hd_x;                  /* Q2.29 */
        x = x + edgeq_sat_shl(edgeq_srdhm(x, one_minus), 2);      /* Q4.27 -> Q2.29 */
    }
    /* x / 2 as Q1.30 reinterpreted, then rescaled to Q0.31 */
    return edgeq_sat_shl(x, 1);
}

/* 1 / (1 + exp(-a)) with a in Q4.27; result in Q0.31. */
EDGEQ_INLINE int32_t edgeq_logistic_q4(int32_t a)
{
    if (a == 0)
    {
        return (int32_t)1 << 30;
    }
    {
        const int32_t abs_a = a > 0 ? a : -a;
        const int32_t pos = edgeq_one_over_one_plus_x(edgeq_exp_on_negative_values(-abs_a, 4));
        return a > 0 ? pos : (INT32_MAX - pos);
    }
}

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(EDGEQ_PORTABLE_ONLY)
/* Cortex-M with the DSP extension: ACLE intrinsics. */
#define EDGEQ_DOT_DSP 1
#include <arm_acle.h>
#define edgeq_sxtb16(x) __sxtb16(x)
#define edgeq_smlad(a, b, acc) __smlad((a), (b), (acc))
#define edgeq_sadd16(a, b) __sadd16((a), (b))
#define edgeq_smlabb(a, b, acc) __smlabb((a), (b), (acc))
#define edgeq_smlatt(a, b, acc) __smlatt((a), (b), (acc))
#define edgeq_sxtab16(a, b) __sxtab16((a), (b))
#define edgeq_qadd(a, b) __qadd((a), (b))
#define edgeq_ssat8(x) __ssat((x), 8)
#elif defined(EDGEQ_EMULATE_DSP)
/* Host testing of the DSP code path: the same instructions in portable C. */
#define EDGEQ_DOT_DSP 1
EDGEQ_INLINE int32_t edgeq_lo16(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v & 0xFFFFu); }
EDGEQ_INLINE int32_t edgeq_hi16(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v >> 16); }
EDGEQ_INLINE int32_t edgeq_pack16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)hi << 16) | ((uint32_t)lo & 0xFFFFu));
}
EDGEQ_INLINE int32_t edgeq_sxtb16(int32_t v)
{
    return edgeq_pack16((int8_t)(uint8_t)((uint32_t)v & 0xFFu), (int8_t)(uint8_t)(((uint32_t)v >> 16) & 0xFFu));
}
/* SMLAD adds modulo 2^32 (it only sets the Q flag on overflow): emulated in uint32, no UB. */
EDGEQ_INLINE int32_t edgeq_smlad(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(edgeq_lo16(a) * edgeq_lo16(b)) +
                     (uint32_t)(edgeq_hi16(a) * edgeq_hi16(b)));
}
/* SMLABB / SMLATT: acc + bottom * bottom, acc + top * top (modulo 2^32, like SMLAD). */
EDGEQ_INLINE int32_t edgeq_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(edgeq_lo16(a) * edgeq_lo16(b)));
}
EDGEQ_INLINE int32_t edgeq_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(edgeq_hi16(a) * edgeq_hi16(b)));
}
EDGEQ_INLINE int32_t edgeq_sadd16(int32_t a, int32_t b)
{
    return edgeq_pack16(edgeq_lo16(a) + edgeq_lo16(b), edgeq_hi16(a) + edgeq_hi16(b));
}
/* SXTAB16: a + SXTB16(b) in each 16-bit lane, each lane modulo 2^16 like the hardware. */
EDGEQ_INLINE int32_t edgeq_sxtab16(int32_t a, int32_t b) { return edgeq_sadd16(a, edgeq_sxtb16(b)); }
/* QADD: a + b saturated to int32. */
EDGEQ_INLINE int32_t edgeq_qadd(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + (int64_t)b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}
/* SSAT #8: x saturated to [-128, 127]. */
EDGEQ_INLINE int32_t edgeq_ssat8(int32_t x) { return x > 127 ? 127 : (x < -128 ? -128 : x); }
#endif

#if defined(EDGEQ_DOT_DSP)
#include <string.h>

/* The kernels' hand-register-allocated inner loops (inline assembly using up to 14 registers):
 * on the core, in optimised builds only (an unoptimised build keeps r7 as the frame pointer,
 * leaving 13); elsewhere the same arithmetic in C with the intrinsics. */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(EDGEQ_PORTABLE_ONLY) && \
    !defined(EDGEQ_EMULATE_DSP) && defined(__OPTIMIZE__)
#define EDGEQ_DSP_ASM 1
#endif

/* Four int8 from memory (any alignment) as one word. */
EDGEQ_INLINE int32_t edgeq_read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Two int16 from memory (any alignment) as one word: element 0 in the low half. */
EDGEQ_INLINE int32_t edgeq_read_s16x2(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

EDGEQ_INLINE void edgeq_write_s16x2(int16_t *p, int32_t v) { memcpy(p, &v, 4); }

/* Halfword packing (PKHBT / PKHTB): the low half of lo with the low half of hi on top; the high
 * half of hi with the high half of lo below. GCC builds these from masks and ORs (two
 * instructions each) rather than the one packing instruction, hence the asm on Cortex-M. */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(EDGEQ_PORTABLE_ONLY)
EDGEQ_INLINE int32_t edgeq_pkhbt(int32_t lo, int32_t hi)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
EDGEQ_INLINE int32_t edgeq_pkhtb(int32_t hi, int32_t lo)
{
    int32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
    return r;
}
#else
EDGEQ_INLINE int32_t edgeq_pkhbt(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}
EDGEQ_INLINE int32_t edgeq_pkhtb(int32_t hi, int32_t lo)
{
    return (int32_t)(((uint32_t)hi & 0xFFFF0000u) | (((uint32_t)lo >> 16) & 0xFFFFu));
}
#endif

/* Rotate right by 8 (bytes 1 and 3 into the SXTB16 lanes). */
EDGEQ_INLINE int32_t edgeq_ror8(int32_t v)
{
    return (int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24));
}

/* SXTB16 of bytes 1 and 3: (int16)b1 low, (int16)b3 high. The instruction has the rotation
 * built in (SXTB16 Rd, Rm, ROR #8), which GCC does not fuse from __sxtb16(__ror(x, 8)) on its
 * own; one instruction instead of two in every inner loop. */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(EDGEQ_PORTABLE_ONLY)
EDGEQ_INLINE int32_t edgeq_sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
/* SXTAB16 with the same built-in rotation: a + SXTB16(b ROR 8) per lane. */
EDGEQ_INLINE int32_t edgeq_sxtab16_ror8(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
EDGEQ_INLINE int32_t edgeq_sxtb16_ror8(int32_t v) { return edgeq_sxtb16(edgeq_ror8(v)); }
EDGEQ_INLINE int32_t edgeq_sxtab16_ror8(int32_t a, int32_t b) { return edgeq_sxtab16(a, edgeq_ror8(b)); }
#endif

/* Both 16-bit lanes set to v (the input offset for SXTAB16 / SADD16). */
EDGEQ_INLINE int32_t edgeq_dup16(int32_t v)
{
    return (int32_t)(((uint32_t)(v & 0xFFFF) << 16) | (uint32_t)(v & 0xFFFF));
}

/* (a * b + 2^30) >> 31 in 64 bits: edgeq_srdhm without its one saturating case (b != INT32_MIN).
 * On the core one SMLAL onto the rounding constant (GCC otherwise sometimes expands the 64-bit
 * product into UMULL + MLA corrections when it knows an operand's sign). */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(EDGEQ_PORTABLE_ONLY)
EDGEQ_INLINE int32_t edgeq_mulh_round(int32_t a, int32_t b)
{
    uint32_t lo = 0x40000000u;
    int32_t hi = 0;
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(a), "r"(b));
    return (int32_t)((lo >> 31) | ((uint32_t)hi << 1));
}
#else
EDGEQ_INLINE int32_t edgeq_mulh_round(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}
#endif

/*
 * Requantization for the DSP kernels' int8 outputs, valid when -23 <= shift <= -1 (a right shift
 * e = -shift in [1, 23] after the doubling high multiply) and multiplier != INT32_MIN; callers
 * check a layer's parameters once with edgeq_requant_fast_ok and keep edgeq_requantize otherwise.
 *
 * srdhm(acc, m) = (acc * m + 2^30) >> 31 in 64 bits (exact: the one saturating case needs
 * m == INT32_MIN). The rounding divide by 2^e (ties away from zero) is
 * (v + 2^(e-1) - [v < 0]) >> e: for v < 0 nothing overflows; for v >= 0 the QADD saturates only
 * when v + 2^(e-1) >= 2^31, where the exact quotient is 2^(31-e) and the saturated one
 * 2^(31-e) - 1: with e <= 23 both are >= 255, so after adding an output offset in [-128, 127]
 * both clamp to the same int8 (127, or the activation maximum). Bit-exact with
 * edgeq_requantize for every int8 result (not for wider ones; e > 23 would let the two differ
 * inside the int8 range).
 */
EDGEQ_INLINE int32_t edgeq_requant_fast(int32_t acc, int32_t m, int32_t shift)
{
    const int32_t v = edgeq_mulh_round(acc, m);
    const int32_t half = (int32_t)(0x40000000u >> (31 + shift)); /* 2^(e-1) */
    return (edgeq_qadd(v, half) + (v >> 31)) >> -shift;
}

/* edgeq_requant_fast with the per-channel constants precomputed: e = -shift, half = 2^(e-1). */
EDGEQ_INLINE int32_t edgeq_requant_fast_pre(int32_t acc, int32_t m, int32_t half, int32_t e)
{
    const int32_t v = edgeq_mulh_round(acc, m);
    return (edgeq_qadd(v, half) + (v >> 31)) >> e;
}

/* Whether edgeq_requant_fast applies to all n channels (each shift in [-23, -1], multiplier != INT32_MIN). */
EDGEQ_INLINE int32_t edgeq_requant_fast_ok(const int32_t *mult, const int32_t *shift, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++)
    {
        if (shift[i] > -1 || shift[i] < -23 || mult[i] == INT32_MIN)
        {
            return 0;
        }
    }
    return 1;
}

/* SMMULR: (a * b + 2^31) >> 32, the rounded high word of the 64-bit product. */
#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1) && !defined(EDGEQ_PORTABLE_ONLY)
EDGEQ_INLINE int32_t edgeq_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
EDGEQ_INLINE int32_t edgeq_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
#endif

/*
 * Requantization when the accumulator is known to stay below 2^29 in magnitude (checked per
 * layer from the bias and the number of taps: edgeq_requant_bounded_ok). Then 2 * acc fits in
 * int32 and srdhm(acc, m) = (2 acc m + 2^31) >> 32 is one SMMULR on the doubled accumulator; the
 * rounding divide by 2^e cannot overflow (|v| < 2^29), and the output offset joins the rounding
 * constant: k = 2^(e-1) + (out_off << e) is a multiple of 2^e away from 2^(e-1), so
 * (v + k - [v < 0]) >> e = round(v / 2^e) + out_off exactly (|k| <= 2^30 + 2^22: no overflow).
 * Six instructions with k and e precomputed per channel (edgeq_rq_prepare); bit-exact with
 * edgeq_requantize + out_off saturated to int8 under the same conditions as edgeq_requant_fast.
 */
typedef struct
{
    int32_t m, k, e;
} edgeq_rq;

EDGEQ_INLINE edgeq_rq edgeq_rq_prepare(int32_t m, int32_t shift, int32_t out_off)
{
    edgeq_rq r;
    r.m = m;
    r.e = -shift;
    r.k = (int32_t)((1u << (r.e - 1)) + ((uint32_t)out_off << r.e));
    return r;
}

EDGEQ_INLINE int32_t edgeq_requant_bounded(int32_t acc, int32_t m, int32_t k, int32_t e)
{
    const int32_t v = edgeq_smmulr((int32_t)((uint32_t)acc << 1), m);
    return edgeq_ssat8((v + k + (v >> 31)) >> e);
}

/* Whether edgeq_requant_bounded applies to all n channels: edgeq_requant_fast_ok, and every
 * accumulator |bias| + taps * 255 * 128 below 2^29 (|x + input_offset| <= 255, |w| <= 128). */
EDGEQ_INLINE int32_t edgeq_requant_bounded_ok(const int32_t *mult, const int32_t *shift, const int32_t *bias,
                                              int32_t n, int32_t taps)
{
    const int64_t limit = ((int64_t)1 << 29) - (int64_t)taps * 255 * 128;
    int32_t i;
    if (!edgeq_requant_fast_ok(mult, shift, n) || limit <= 0)
    {
        return 0;
    }
    for (i = 0; bias != 0 && i < n; i++)
    {
        if ((bias[i] < 0 ? -(int64_t)bias[i] : (int64_t)bias[i]) >= limit)
        {
            return 0;
        }
    }
    return 1;
}
#endif

/* sum(a[i] * b[i]) over n int8 pairs. Cortex-M cores with the DSP extension use dual 16-bit
 * multiply-accumulates (SMLAD) on sign-extended byte pairs; the sum is the same integer. */
EDGEQ_INLINE int32_t edgeq_dot_s8(const int8_t *a, const int8_t *b, int32_t n)
{
    int32_t acc0 = 0, acc1 = 0, i = 0;
#if defined(EDGEQ_DOT_DSP)
    for (; i + 4 <= n; i += 4)
    {
        const int32_t va = edgeq_read_s8x4(a + i), vb = edgeq_read_s8x4(b + i);
        acc0 = edgeq_smlad(edgeq_sxtb16(va), edgeq_sxtb16(vb), acc0);                       /* bytes 0, 2 */
        acc1 = edgeq_smlad(edgeq_sxtb16_ror8(va), edgeq_sxtb16_ror8(vb), acc1);   /* bytes 1, 3 */
    }
#else
    for (; i + 4 <= n; i += 4)
    {
        acc0 += (int32_t)a[i] * b[i] + (int32_t)a[i + 1] * b[i + 1];
        acc1 += (int32_t)a[i + 2] * b[i + 2] + (int32_t)a[i + 3] * b[i + 3];
    }
#endif
    for (; i < n; i++)
    {
        acc0 += (int32_t)a[i] * b[i];
    }
    return acc0 + acc1;
}

/* sum((a[i] + a_offset) * b[i]) over n int8 pairs (-255 <= a_offset <= 255). */
EDGEQ_INLINE int32_t edgeq_dot_off_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t a_offset)
{
    int32_t acc = 0, i = 0;
#if defined(EDGEQ_DOT_DSP)
    {
        const int32_t off2 = (int32_t)(((uint32_t)(a_offset & 0xFFFF) << 16) | (uint32_t)(a_offset & 0xFFFF));
        int32_t acc1 = 0;
        for (; i + 4 <= n; i += 4)
        {
            const int32_t va = edgeq_read_s8x4(a + i), vb = edgeq_read_s8x4(b + i);
            acc = edgeq_smlad(edgeq_sadd16(edgeq_sxtb16(va), off2), edgeq_sxtb16(vb), acc);
            acc1 = edgeq_smlad(edgeq_sadd16(edgeq_sxtb16_ror8(va), off2), edgeq_sxtb16_ror8(vb), acc1);
        }
        acc += acc1;
    }
    for (; i < n; i++)
    {
        acc += ((int32_t)a[i] + a_offset) * b[i];
    }
    return acc;
#else
    {
        int32_t bsum = 0;
        for (; i + 2 <= n; i += 2)
        {
            acc += (int32_t)a[i] * b[i] + (int32_t)a[i + 1] * b[i + 1];
            bsum += (int32_t)b[i] + b[i + 1];
        }
        for (; i < n; i++)
        {
            acc += (int32_t)a[i] * b[i];
            bsum += b[i];
        }
        return acc + a_offset * bsum;
    }
#endif
}

/* sum(a[i] * b[i]) over n (int16, int8) pairs, exact in 64 bits. Blocks of 256 products are
 * summed in 32 bits first (|a*b| <= 2^22, so a block stays below 2^30): cheap on 32-bit cores,
 * and the per-core variants (SMLAD on 16-bit pairs) can replace the block loop alone. */
EDGEQ_INLINE int64_t edgeq_dot_s16_s8(const int16_t *a, const int8_t *b, int32_t n)
{
    int64_t acc = 0;
    int32_t i = 0;
    while (i < n)
    {
        const int32_t end = n - i > 256 ? i + 256 : n;
        int32_t block = 0;
#if defined(EDGEQ_DOT_DSP)
        for (; i + 4 <= end; i += 4)
        {
            /* SXTB16 splits four weights into (b0, b2) and (b1, b3): pair the inputs alike */
            const int32_t w = edgeq_read_s8x4(b + i);
            const int32_t a01 = edgeq_read_s16x2(a + i), a23 = edgeq_read_s16x2(a + i + 2);
            block = edgeq_smlad(edgeq_pkhbt(a01, a23), edgeq_sxtb16(w), block);
            block = edgeq_smlad(edgeq_pkhtb(a23, a01), edgeq_sxtb16_ror8(w), block);
        }
#endif
        for (; i < end; i++)
        {
            block += (int32_t)a[i] * b[i];
        }
        acc += block;
    }
    return acc;
}

/* The dot products of one int16 vector with two int8 vectors at once (two output channels of a
 * convolution share the input loads and the input regrouping), added to acc[0] and acc[1];
 * exact like edgeq_dot_s16_s8. */
EDGEQ_INLINE void edgeq_dot2_s16_s8(const int16_t *a, const int8_t *b0, const int8_t *b1, int32_t n, int64_t acc[2])
{
    int32_t i = 0;
    while (i < n)
    {
        const int32_t end = n - i > 256 ? i + 256 : n;
        int32_t s0 = 0, s1 = 0;
#if defined(EDGEQ_DOT_DSP)
        for (; i + 4 <= end; i += 4)
        {
            const int32_t a01 = edgeq_read_s16x2(a + i), a23 = edgeq_read_s16x2(a + i + 2);
            const int32_t x02 = edgeq_pkhbt(a01, a23), x13 = edgeq_pkhtb(a23, a01);
            const int32_t w0 = edgeq_read_s8x4(b0 + i), w1 = edgeq_read_s8x4(b1 + i);
            s0 = edgeq_smlad(x02, edgeq_sxtb16(w0), s0);
            s1 = edgeq_smlad(x02, edgeq_sxtb16(w1), s1);
            s0 = edgeq_smlad(x13, edgeq_sxtb16_ror8(w0), s0);
            s1 = edgeq_smlad(x13, edgeq_sxtb16_ror8(w1), s1);
        }
#endif
        for (; i < end; i++)
        {
            s0 += (int32_t)a[i] * b0[i];
            s1 += (int32_t)a[i] * b1[i];
        }
        acc[0] += s0;
        acc[1] += s1;
    }
}

/* The taps k in [0, k_size) with 0 <= start + k * dilation < in_size: [*lo, *hi). */
EDGEQ_INLINE void edgeq_tap_range(int32_t start, int32_t dilation, int32_t k_size, int32_t in_size, int32_t *lo,
                                  int32_t *hi)
{
    int32_t l = 0, h;
    if (start < 0)
    {
        l = (-start + dilation - 1) / dilation;
    }
    if (in_size - start <= 0)
    {
        h = 0;
    }
    else
    {
        h = (in_size - start + dilation - 1) / dilation;
    }
    if (h > k_size)
    {
        h = k_size;
    }
    *lo = l;
    *hi = h > l ? h : l;
}

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_FIXEDPOINT_H */
