/*
 * edgeq -- activation kernels (see edgeq_activations.h). Written from the arithmetic of TFLite
 * Micro's reference kernels (gemmlowp-style fixed point, double-rounding requantization).
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_activations.h"

#include "edgeq_fixedpoint.h"

void edgeq_lut_s8(const int8_t *input, int32_t size, const int8_t *table, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        output[i] = table[(int32_t)input[i] + 128];
    }
}

void edgeq_lut_s16(const int16_t *input, int32_t size, const int16_t *table, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t v = input[i];
        const int32_t at = 256 + (v >> 7); /* arithmetic shift: anchors 0..511 */
        /* int16 slope: the reference wraps it where anchors are 65535 apart (an overflowed table) */
        const int32_t slope = (int16_t)(uint16_t)((uint32_t)(uint16_t)table[at + 1] - (uint32_t)(uint16_t)table[at]);
        output[i] = (int16_t)(uint16_t)((uint32_t)table[at] + (uint32_t)((slope * (v & 0x7F) + 64) >> 7));
    }
}

void edgeq_tanh_s16(const int16_t *input, int32_t size, int32_t multiplier, int32_t shift,
                    const uint16_t *table, int16_t *output)
{
    const int32_t round = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
    int32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t x = ((int32_t)input[i] * multiplier + round) >> shift;
        const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
        const uint32_t at = ax >> 8; /* sigmoid table step 1/24 at twice the argument */
        int32_t r = (int32_t)(0xFFFFu << 8);
        if (at < 255u)
        {
            const uint32_t lo = table[at], hi = table[at + 1u];
            r = (int32_t)((lo << 8) + (ax & 0xFFu) * (hi - lo)); /* the table rises: hi >= lo */
        }
        /* 2 sigmoid - 1 in Q0.23, rounded to Q0.15; by symmetry below zero */
        r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(r >> 8);
    }
}

void edgeq_two_slope_s16(const int16_t *input, int32_t size, int32_t input_zp, int32_t pos_mult,
                         int32_t pos_shift, int32_t neg_mult, int32_t neg_shift, int32_t neg_negate,
                         int32_t output_zp, int32_t act_min, int32_t act_max, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        const int32_t x = (int32_t)input[i] - input_zp;
        int32_t v;
        if (x >= 0)
        {
            v = edgeq_requantize(x, pos_mult, pos_shift);
        }
        else
        {
            v = edgeq_requantize(x, neg_mult, neg_shift);
            v = neg_negate ? -v : v;
        }
        output[i] = (int16_t)edgeq_clamp_i32(output_zp + v, act_min, act_max);
    }
}

void edgeq_clamp_s16(const int16_t *input, int32_t size, int32_t lo, int32_t hi, int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++)
    {
        output[i] = (int16_t)edgeq_clamp_i32(input[i], lo, hi);
    }
}

/* Row-major strides of a 4-D operand read under broadcasting (0 where it has size 1). */
static void edgeq_act_strides(const int32_t shape[4], const int32_t out_shape[4], int32_t stride[4])
{
    int32_t d, s = 1;
    for (d = 3; d >= 0; d--)
    {
        stride[d] = (shape[d] == 1 && out_shape[d] != 1) ? 0 : s;
        s *= shape[d];
    }
}

static inline int32_t edgeq_prelu_one(int32_t x, int32_t a, int32_t input_offset, int32_t alpha_offset,
                                      int32_t output_offset, int32_t m1, int32_t s1, int32_t m2, int32_t s2)
{
    const int32_t v = x + input_offset;
    const int32_t r = v >= 0 ? edgeq_requantize(v, m1, s1) : edgeq_requantize(v * (a + alpha_offset), m2, s2);
    return r + output_offset;
}

#define EDGEQ_PRELU_LOOP(T, LO, HI)                                                                    \
    do                                                                                             \
    {                                                                                              \
        int32_t sx[4], sa[4], n, h, w, c;                                                          \
        T *out = output;                                                                           \
        edgeq_act_strides(in_shape, out_shape, sx);                                                \
        edgeq_act_strides(alpha_shape, out_shape, sa);                                             \
        for (n = 0; n < out_shape[0]; n++)                                                         \
        {                                                                                          \
            for (h = 0; h < out_shape[1]; h++)                                                     \
            {                                                                                      \
                for (w = 0; w < out_shape[2]; w++)                                                 \
                {                                                                                  \
                    const T *px = input + n * sx[0] + h * sx[1] + w * sx[2];                       \
                    const int8_t *pa = alpha + n * sa[0] + h * sa[1] + w * sa[2];                  \
                    for (c = 0; c < out_shape[3]; c++, px += sx[3], pa += sa[3])                   \
                    {                                                                              \
                        const int32_t r = edgeq_prelu_one(*px, *pa, input_offset, alpha_offset,     \
                                                          output_offset, m1, s1, m2, s2);          \
                        *out++ = (T)edgeq_clamp_i32(r, (LO), (HI));                                \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

void edgeq_prelu_s8(const int8_t *input, const int32_t in_shape[4], const int8_t *alpha,
                    const int32_t alpha_shape[4], const int32_t out_shape[4], int32_t input_offset,
                    int32_t alpha_offset, int32_t output_offset, int32_t m1, int32_t s1, int32_t m2,
                    int32_t s2, int8_t *output)
{
    EDGEQ_PRELU_LOOP(int8_t, -128, 127);
}

void edgeq_prelu_s16(const int16_t *input, const int32_t in_shape[4], const int8_t *alpha,
                     const int32_t alpha_shape[4], const int32_t out_shape[4], int32_t input_offset,
                     int32_t alpha_offset, int32_t output_offset, int32_t m1, int32_t s1, int32_t m2,
                     int32_t s2, int16_t *output)
{
    EDGEQ_PRELU_LOOP(int16_t, -32768, 32767);
}

/* ------------------------------------------------------------------------------ LOG_SOFTMAX */

static inline int32_t edgeq_act_clz(uint32_t x)
{
#if defined(__GNUC__)
    return x == 0u ? 32 : __builtin_clz(x);
#else
    return edgeq_clz_u32(x);
#endif
}

/* x * 2^e saturated (e >= 0); e = 0 leaves x. */
static inline int32_t edgeq_act_sat_pot(int32_t x, int32_t e)
{
    return e > 0 ? edgeq_sat_shl(x, e) : x;
}

static inline int32_t edgeq_act_sat_add(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static inline int32_t edgeq_act_sat_sub(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a - b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static inline int32_t edgeq_act_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* log(z) for z >= 1 given in Q12.19; result in Q5.26. z's binary exponent and a mantissa r in
 * [sqrt(1/2), sqrt(2)) (whichever of the two normalisations, with or without a sqrt(1/2) factor,
 * keeps r in range), then a rational approximation of log(r) around 2^(-1/4): the integer part
 * accumulates in Q6.25 (one bit of headroom). */
static int32_t edgeq_log_q12_to_q5(int32_t z)
{
    const int32_t log_2 = 1488522236;          /* ln 2, Q0.31 */
    const int32_t sqrt_sqrt_half = 1805811301; /* 2^(-1/4) */
    const int32_t sqrt_half = 1518500250;      /* 2^(-1/2) */
    const int32_t alpha_n = 117049297;
    const int32_t alpha_d = 127690142;
    const int32_t alpha_i = 1057819769;
    const int32_t alpha_f = 638450708;
    const int32_t quarter_q6 = 1 << 23; /* 1/4 in Q6.25 */
    int32_t r_a, r_b, za_adj, zb_adj, r, adj, p, q, sq, num, den, recip;
    {
        const int32_t ha = edgeq_act_clz((uint32_t)z); /* headroom + 1 */
        const int32_t ra_tmp = edgeq_act_sat_pot(z, ha - 1);
        r_a = edgeq_act_sat_pot(edgeq_srdhm(ra_tmp, sqrt_half), 1);
        za_adj = edgeq_act_sat_add(edgeq_act_sat_pot(12 - ha, 25), quarter_q6);
    }
    {
        const int32_t zb = edgeq_srdhm(z, sqrt_half);
        const int32_t hb = edgeq_act_clz((uint32_t)zb) - 1;
        r_b = edgeq_act_sat_pot(z, hb);
        zb_adj = edgeq_act_sat_sub(edgeq_act_sat_pot(12 - hb, 25), quarter_q6);
    }
    r = r_a < r_b ? r_a : r_b;
    adj = za_adj > zb_adj ? za_adj : zb_adj;
    p = edgeq_rounding_half_sum(r, sqrt_sqrt_half);
    q = edgeq_act_add(r, -sqrt_sqrt_half);
    q = edgeq_act_add(q, q);
    sq = edgeq_srdhm(q, q);
    num = edgeq_act_add(edgeq_srdhm(q, r), edgeq_srdhm(edgeq_srdhm(q, sq), alpha_n));
    den = edgeq_act_add(edgeq_srdhm(p, edgeq_act_add(edgeq_act_add(alpha_i, q), edgeq_srdhm(alpha_d, sq))),
                        edgeq_srdhm(alpha_f, q));
    recip = edgeq_one_over_one_plus_x(den);
    {
        const int32_t num_q6 = edgeq_rdbpot(num, 6);
        const int32_t sum = edgeq_act_add(edgeq_srdhm(adj, log_2), edgeq_srdhm(num_q6, recip));
        return edgeq_sat_shl(sum, 1); /* Q6.25 -> Q5.26 */
    }
}

void edgeq_log_softmax_s8(const int8_t *input, int32_t rows, int32_t depth, int32_t multiplier,
                          int32_t left_shift, int32_t rev_mult, int32_t rev_shift, int32_t diff_min,
                          int8_t *output)
{
    int32_t row, c;
    for (row = 0; row < rows; row++)
    {
        const int8_t *x = input + row * depth;
        int8_t *y = output + row * depth;
        int32_t max_in_row = -128, sum = 0, log_sum, cut;
        for (c = 0; c < depth; c++)
        {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }
        for (c = 0; c < depth; c++)
        {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min)
            {
                const int32_t d_q5 = edgeq_requantize(diff, multiplier, left_shift);
                sum = edgeq_act_add(sum, edgeq_rdbpot(edgeq_exp_on_negative_values(d_q5, 5), 12));
            }
        }
        log_sum = edgeq_log_q12_to_q5(sum);
        cut = edgeq_requantize(edgeq_act_add(log_sum, INT32_MIN), rev_mult, rev_shift);
        cut = cut > diff_min - 1 ? cut : diff_min - 1;
        for (c = 0; c < depth; c++)
        {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff > cut)
            {
                const int32_t d_q5 = edgeq_requantize(diff, multiplier, left_shift);
                const int32_t v = edgeq_rdbpot(edgeq_act_add(d_q5, -log_sum), 31 - 5 - 4) + 127;
                y[c] = (int8_t)edgeq_clamp_i32(v, -128, 127);
            }
            else
            {
                y[c] = -128;
            }
        }
    }
}

/* ------------------------------------------------------------------------------ L2_NORMALIZATION */

/* 1/sqrt(x) for x > 1 as a Q0.31 multiplier and a shift (to apply as a requantization shift):
 * x normalised into [2^27, 2^29) by pairs of bits, five Newton steps y <- y (3 - x y^2) / 2 in
 * Q3.28 from y = 1, times sqrt(1/2) for the halved input. x <= 1 gives (INT32_MAX, 0). */
static void edgeq_inv_sqrt(int32_t x, int32_t *mult, int32_t *shift)
{
    int32_t s = 11, pairs, i, fx, half, y;
    const int32_t three_halves = (1 << 28) + (1 << 27);
    if (x <= 1)
    {
        *mult = INT32_MAX;
        *shift = 0;
        return;
    }
    while (x >= (1 << 29))
    {
        x /= 4;
        s++;
    }
    pairs = (edgeq_act_clz((uint32_t)x) - 1) / 2 - 1;
    s -= pairs;
    x = edgeq_shl(x, 2 * pairs);
    fx = x >> 1;
    half = edgeq_rdbpot(fx, 1);
    y = 1 << 28;
    for (i = 0; i < 5; i++)
    {
        const int32_t y3 = edgeq_sat_shl(edgeq_srdhm(edgeq_srdhm(y, y), y), 6);
        y = edgeq_sat_shl(edgeq_act_add(edgeq_srdhm(three_halves, y), -edgeq_srdhm(half, y3)), 3);
    }
    y = edgeq_srdhm(y, 1518500250);
    if (s < 0)
    {
        y = edgeq_shl(y, -s);
        s = 0;
    }
    *mult = y;
    *shift = -s;
}

void edgeq_l2_normalize_s8(const int8_t *input, int32_t rows, int32_t depth, int32_t input_zp, int8_t *output)
{
    int32_t row, c;
    for (row = 0; row < rows; row++)
    {
        const int8_t *x = input + row * depth;
        int8_t *y = output + row * depth;
        int32_t acc = 0, mult, shift;
        for (c = 0; c < depth; c++)
        {
            const int32_t v = (int32_t)x[c] - input_zp;
            acc += v * v;
        }
        edgeq_inv_sqrt(acc, &mult, &shift);
        for (c = 0; c < depth; c++)
        {
            const int32_t v = edgeq_requantize((int32_t)x[c] - input_zp, mult, shift + 7);
            y[c] = (int8_t)edgeq_clamp_i32(v, -128, 127);
        }
    }
}
