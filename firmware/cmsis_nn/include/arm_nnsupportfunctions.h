/*
 * edgeq portable kernels -- support helpers with the names the CMSIS-NN API uses.
 * SPDX-License-Identifier: MIT
 */
#ifndef ARM_NNSUPPORTFUNCTIONS_H
#define ARM_NNSUPPORTFUNCTIONS_H

#include "arm_nn_types.h"
#include "edgeq_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MAX
#define MAX(A, B) ((A) > (B) ? (A) : (B))
#endif
#ifndef MIN
#define MIN(A, B) ((A) < (B) ? (A) : (B))
#endif
#ifndef CLAMP
#define CLAMP(x, h, l) MAX(MIN((x), (h)), (l))
#endif

#define NN_Q31_MAX ((int32_t)(0x7FFFFFFFL))
#define NN_Q31_MIN ((int32_t)(0x80000000L))
#define NN_Q15_MAX ((int16_t)(0x7FFF))
#define NN_Q15_MIN ((int16_t)(0x8000))
#define NN_Q7_MAX ((int8_t)(0x7F))
#define NN_Q7_MIN ((int8_t)(0x80))

/* Saturating rounding doubling high multiply. */
static inline int32_t arm_nn_doubling_high_mult(const int32_t m1, const int32_t m2)
{
    return edgeq_srdhm(m1, m2);
}

/* Rounding divide by 2^exponent, ties away from zero. */
static inline int32_t arm_nn_divide_by_power_of_two(const int32_t dividend, const int32_t exponent)
{
    return edgeq_rdbpot(dividend, exponent);
}

/* val * multiplier * 2^(shift - 31), TFLite "double rounding". */
static inline int32_t arm_nn_requantize(const int32_t val, const int32_t multiplier, const int32_t shift)
{
    return edgeq_requantize(val, multiplier, shift);
}

/* 64-bit accumulator * multiplier * 2^(shift - 31), single rounding (int16 activations). */
static inline int32_t arm_nn_requantize_s64(const int64_t val, const int32_t multiplier, const int32_t shift)
{
    return edgeq_requantize_s64(val, multiplier, shift);
}

#ifdef __cplusplus
}
#endif

#endif /* ARM_NNSUPPORTFUNCTIONS_H */
