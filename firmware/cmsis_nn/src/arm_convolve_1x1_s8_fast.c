/*
 * edgeq kernels -- int8 1x1 convolution, stride 1, no padding (a per-pixel matrix product).
 * Same arithmetic as arm_convolve_s8. Portable C, or with the DSP extension (EDGEQ_DOT_DSP) a
 * 2 pixels x 2 output channels block of SMLAD dual multiply-accumulates read straight from the
 * input (no im2col, no scratch).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgeq_mve_kernels.h"
#include "edgeq_route_guards.h"

int32_t arm_convolve_1x1_s8_fast_get_buffer_size(const cmsis_nn_dims *input_dims)
{
    (void)input_dims;
    return 0;
}

#if defined(EDGEQ_DOT_DSP)
/* ------------------------------------------------------------------ DSP (SMLAD) path */

/*
 * sum(x * w) for two pixels (x0, x1) and two filters (w0, w1) of k int8 each: every word of
 * input and weights is sign-extended once (SXTB16: bytes 0, 2; after ROR 8: bytes 1, 3) and
 * used twice. x1 / w1 may equal x0 / w0 for an odd pixel or channel count.
 *
 * Overflow: each SMLAD adds two int8 x int8 products (|.| <= 32768 together); the accumulators
 * add modulo 2^32 like TFLM's int32 accumulator, so the bits agree for all int8 inputs.
 */
static void edgeq_dot_s8_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1, int32_t k,
                             int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3]; /* a<pixel><channel> */
    int32_t j;
    for (j = 0; j + 4 <= k; j += 4)
    {
        const int32_t wa = edgeq_read_s8x4(w0 + j), wb = edgeq_read_s8x4(w1 + j);
        const int32_t xa = edgeq_read_s8x4(x0 + j), xb = edgeq_read_s8x4(x1 + j);
        const int32_t wa02 = edgeq_sxtb16(wa), wa13 = edgeq_sxtb16_ror8(wa);
        const int32_t wb02 = edgeq_sxtb16(wb), wb13 = edgeq_sxtb16_ror8(wb);
        const int32_t xa02 = edgeq_sxtb16(xa), xa13 = edgeq_sxtb16_ror8(xa);
        const int32_t xb02 = edgeq_sxtb16(xb), xb13 = edgeq_sxtb16_ror8(xb);
        a00 = edgeq_smlad(xa02, wa02, a00);
        a00 = edgeq_smlad(xa13, wa13, a00);
        a01 = edgeq_smlad(xa02, wb02, a01);
        a01 = edgeq_smlad(xa13, wb13, a01);
        a10 = edgeq_smlad(xb02, wa02, a10);
        a10 = edgeq_smlad(xb13, wa13, a10);
        a11 = edgeq_smlad(xb02, wb02, a11);
        a11 = edgeq_smlad(xb13, wb13, a11);
    }
    for (; j < k; j++)
    {
        a00 += x0[j] * w0[j];
        a01 += x0[j] * w1[j];
        a10 += x1[j] * w0[j];
        a11 += x1[j] * w1[j];
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/*
 * acc += the 2 x 2 block (pixels x0, x0 + in_c; filters w0, w0 + in_c) over n4 groups of four
 * channels; *x0 and *w0 are left after the last group. step = in_c - 4: once a pixel-0 / filter-0
 * word is loaded with post-increment, the pixel-1 / filter-1 word is step bytes further.
 * Per group: 4 loads, 8 SXTB16, 8 SMLAD (16 MACs); the same overflow argument as above.
 */
#if defined(EDGEQ_DSP_ASM)
/* On the core, register-allocated by hand: the loop needs all 14 registers (4 accumulators,
 * 2 pointers, the step, the count, 6 temporaries), which GCC spills from the intrinsics. */
#define EDGEQ_1X1_ASM_GROUP                                                                                           \
    "ldr %[xa], [%[x]], #4\n\t"                                                                                        \
    "ldr %[wa], [%[w]], #4\n\t"                                                                                        \
    "ldr %[wb], [%[w], %[st]]\n\t"                                                                                     \
    "sxtb16 %[t], %[xa]\n\t"                                                                                           \
    "sxtb16 %[xa], %[xa], ror #8\n\t"                                                                                  \
    "sxtb16 %[u], %[wa]\n\t"                                                                                           \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                                                                                  \
    "smlad %[a00], %[t], %[u], %[a00]\n\t"                                                                             \
    "smlad %[a00], %[xa], %[wa], %[a00]\n\t"                                                                           \
    "sxtb16 %[v], %[wb]\n\t"                                                                                           \
    "sxtb16 %[wb], %[wb], ror #8\n\t"                                                                                  \
    "smlad %[a01], %[t], %[v], %[a01]\n\t"                                                                             \
    "smlad %[a01], %[xa], %[wb], %[a01]\n\t"                                                                           \
    "ldr %[xa], [%[x], %[st]]\n\t"                                                                                     \
    "sxtb16 %[t], %[xa]\n\t"                                                                                           \
    "sxtb16 %[xa], %[xa], ror #8\n\t"                                                                                  \
    "smlad %[a10], %[t], %[u], %[a10]\n\t"                                                                             \
    "smlad %[a10], %[xa], %[wa], %[a10]\n\t"                                                                           \
    "smlad %[a11], %[t], %[v], %[a11]\n\t"                                                                             \
    "smlad %[a11], %[xa], %[wb], %[a11]\n\t"
static inline void edgeq_1x1_2x2_groups(const int8_t **x0, const int8_t **w0, int32_t n4, int32_t step,
                                        int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int8_t *x = *x0, *w = *w0;
    int32_t xa, wa, wb, t, u, v;
    if (n4 & 1)
    {
        __asm__(EDGEQ_1X1_ASM_GROUP
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+&r"(x), [w] "+&r"(w),
                  [xa] "=&r"(xa), [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
                : [st] "r"(step)
                : "memory");
    }
    n4 >>= 1;
    if (n4 > 0)
    {
        __asm__("1:\n\t" EDGEQ_1X1_ASM_GROUP EDGEQ_1X1_ASM_GROUP
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+&r"(x), [w] "+&r"(w),
                  [n] "+&r"(n4), [xa] "=&r"(xa), [wa] "=&r"(wa), [wb] "=&r"(wb), [t] "=&r"(t), [u] "=&r"(u),
                  [v] "=&r"(v)
                : [st] "r"(step)
                : "memory", "cc");
    }
    *x0 = x;
    *w0 = w;
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#else
static inline void edgeq_1x1_2x2_groups(const int8_t **x0, const int8_t **w0, int32_t n4, int32_t step,
                                        int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int8_t *x = *x0, *w = *w0;
    for (; n4 > 0; n4--)
    {
        const int32_t xa = edgeq_read_s8x4(x), wa = edgeq_read_s8x4(w);
        const int32_t wb = edgeq_read_s8x4(w + 4 + step), xb = edgeq_read_s8x4(x + 4 + step);
        const int32_t xa02 = edgeq_sxtb16(xa), xa13 = edgeq_sxtb16_ror8(xa);
        const int32_t wa02 = edgeq_sxtb16(wa), wa13 = edgeq_sxtb16_ror8(wa);
        const int32_t wb02 = edgeq_sxtb16(wb), wb13 = edgeq_sxtb16_ror8(wb);
        const int32_t xb02 = edgeq_sxtb16(xb), xb13 = edgeq_sxtb16_ror8(xb);
        a00 = edgeq_smlad(xa13, wa13, edgeq_smlad(xa02, wa02, a00));
        a01 = edgeq_smlad(xa13, wb13, edgeq_smlad(xa02, wb02, a01));
        a10 = edgeq_smlad(xb13, wa13, edgeq_smlad(xb02, wa02, a10));
        a11 = edgeq_smlad(xb13, wb13, edgeq_smlad(xb02, wb02, a11));
        x += 4;
        w += 4;
    }
    *x0 = x;
    *w0 = w;
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#endif

/* One int8 output: requantized (modes 1 and 2, fast: e >= 1 is the right shift, half 2^(e-1);
 * modes 3 and 4, edgeq_requant_bounded: half is its k; else the general edgeq_requantize with
 * shift), offset and clamped (modes 2 and 4: the range is all of int8). */
static inline int8_t edgeq_1x1_out(int32_t acc, int32_t m, int32_t s, int32_t e, int32_t half, int32_t mode,
                                   int32_t out_off, int32_t act_min, int32_t act_max)
{
    if (mode == 4) /* edgeq_requant_bounded: half holds its constant k (the output offset folded in) */
    {
        return (int8_t)edgeq_requant_bounded(acc, m, half, e);
    }
    if (mode == 3)
    {
        return (int8_t)edgeq_clamp_i32(edgeq_requant_bounded(acc, m, half, e), act_min, act_max);
    }
    if (mode == 2)
    {
        return (int8_t)edgeq_ssat8(edgeq_requant_fast_pre(acc, m, half, e) + out_off);
    }
    if (mode == 1)
    {
        return (int8_t)edgeq_clamp_i32(edgeq_ssat8(edgeq_requant_fast_pre(acc, m, half, e) + out_off), act_min,
                                       act_max);
    }
    return (int8_t)edgeq_clamp_i32(arm_nn_requantize(acc, m, s) + out_off, act_min, act_max);
}

/* The requantization constants of an output-channel pair. */
typedef struct
{
    int32_t m0, s0, e0, h0, m1, s1, e1, h1, out_off, act_min, act_max;
} edgeq_1x1_rq;

/*
 * n_pairs pixel pairs (dense: pixel p at p * in_c) for one output-channel pair, in_c >= 4:
 * the 2 x 2 block loop, then the four outputs. mode is a constant at each call site (see
 * edgeq_1x1_out), so each copy has no per-output dispatch.
 */
static inline void edgeq_1x1_pairs(const int8_t *x, const int8_t *w0, int32_t in_c, int32_t out_c, int32_t n_pairs,
                                   int32_t base0, int32_t base1, const edgeq_1x1_rq *rq, int32_t mode, int8_t *out)
{
    const int32_t n4 = in_c >> 2, k4 = in_c & ~3;
    for (; n_pairs > 0; n_pairs--, x += 2 * in_c, out += 2 * out_c)
    {
        const int8_t *xp = x, *wp = w0;
        int32_t acc[4];
        int32_t i;
        acc[0] = acc[2] = base0;
        acc[1] = acc[3] = base1;
        edgeq_1x1_2x2_groups(&xp, &wp, n4, in_c - 4, acc);
        for (i = k4; i < in_c; i++)
        {
            acc[0] += x[i] * w0[i];
            acc[1] += x[i] * w0[in_c + i];
            acc[2] += x[in_c + i] * w0[i];
            acc[3] += x[in_c + i] * w0[in_c + i];
        }
        out[0] = edgeq_1x1_out(acc[0], rq->m0, rq->s0, rq->e0, rq->h0, mode, rq->out_off, rq->act_min, rq->act_max);
        out[1] = edgeq_1x1_out(acc[1], rq->m1, rq->s1, rq->e1, rq->h1, mode, rq->out_off, rq->act_min, rq->act_max);
        out[out_c] =
            edgeq_1x1_out(acc[2], rq->m0, rq->s0, rq->e0, rq->h0, mode, rq->out_off, rq->act_min, rq->act_max);
        out[out_c + 1] =
            edgeq_1x1_out(acc[3], rq->m1, rq->s1, rq->e1, rq->h1, mode, rq->out_off, rq->act_min, rq->act_max);
    }
}

static __attribute__((noinline)) void edgeq_1x1_pairs_dispatch(const int8_t *x, const int8_t *w0, int32_t in_c,
                                                              int32_t out_c, int32_t n_pairs, int32_t base0,
                                                              int32_t base1, const edgeq_1x1_rq *rq, int32_t mode,
                                                              int8_t *out)
{
    if (mode == 4)
    {
        edgeq_1x1_pairs(x, w0, in_c, out_c, n_pairs, base0, base1, rq, 4, out);
    }
    else if (mode == 3)
    {
        edgeq_1x1_pairs(x, w0, in_c, out_c, n_pairs, base0, base1, rq, 3, out);
    }
    else if (mode != 0) /* 1 and 2 (only when the bound fails): the clamp is a no-op for mode 2 */
    {
        edgeq_1x1_pairs(x, w0, in_c, out_c, n_pairs, base0, base1, rq, 1, out);
    }
    else
    {
        edgeq_1x1_pairs(x, w0, in_c, out_c, n_pairs, base0, base1, rq, 0, out);
    }
}

/*
 * Widened-input route: for every pixel pair the input is sign-extended (with the input offset
 * added: |x + off| <= 255 fits the 16-bit lanes) once into a stack buffer, in SMLAD lane order,
 * and every output-channel pair reads it from there: per group of four channels 2 LDRD, 2 LDR,
 * 4 SXTB16 (the filter words) and 8 SMLAD for 16 MACs, where reading int8 pixels takes 20
 * (their 4 SXTB16 are paid once per pixel pair instead of once per channel pair). Layout per
 * group g: buf[4g..4g+3] = pixel 0 (bytes 0, 2), pixel 0 (bytes 1, 3), pixel 1 (0, 2), (1, 3).
 * Pixel pairs are widened in chunks of as many as the buffer holds (EDGEQ_1X1W_MAX_C words,
 * 2 KB of stack), so each channel pair prepares its constants once per chunk. Taken when in_c
 * is a multiple of four in [EDGEQ_1X1W_MIN_C, EDGEQ_1X1W_MAX_C] and the bounded requantization
 * holds for every channel; an odd pixel or channel count computes its last pair with the pixel / filter repeated and stores the half that exists.
 */
#define EDGEQ_1X1W_MAX_C 512
/* Below this many input channels the per-block work (requantization constants, four outputs)
 * may outweigh the saved sign extensions (measured: in_c 8 still gains, vww 1.32 -> 1.12 M). */
#ifndef EDGEQ_1X1W_MIN_C
#define EDGEQ_1X1W_MIN_C 8
#endif

static void edgeq_1x1w_widen(const int8_t *x0, const int8_t *x1, int32_t n4, int32_t off2, int32_t *buf)
{
    for (; n4 > 0; n4--, x0 += 4, x1 += 4, buf += 4)
    {
        const int32_t a = edgeq_read_s8x4(x0), b = edgeq_read_s8x4(x1);
        buf[0] = edgeq_sxtab16(off2, a);
        buf[1] = edgeq_sxtab16_ror8(off2, a);
        buf[2] = edgeq_sxtab16(off2, b);
        buf[3] = edgeq_sxtab16_ror8(off2, b);
    }
}

#if defined(EDGEQ_DSP_ASM)
#define EDGEQ_1X1W_ASM_GROUP                                                                                          \
    "ldr %[wa], [%[w]], #4\n\t"                                                                                        \
    "ldr %[wb], [%[w], %[st]]\n\t"                                                                                     \
    "sxtb16 %[wa2], %[wa], ror #8\n\t"                                                                                 \
    "sxtb16 %[wa], %[wa]\n\t"                                                                                          \
    "sxtb16 %[wb2], %[wb], ror #8\n\t"                                                                                 \
    "sxtb16 %[wb], %[wb]\n\t"                                                                                          \
    "ldrd %[p], %[q], [%[xb]], #8\n\t"                                                                                 \
    "smlad %[a00], %[p], %[wa], %[a00]\n\t"                                                                            \
    "smlad %[a00], %[q], %[wa2], %[a00]\n\t"                                                                           \
    "smlad %[a01], %[p], %[wb], %[a01]\n\t"                                                                            \
    "smlad %[a01], %[q], %[wb2], %[a01]\n\t"                                                                           \
    "ldrd %[p], %[q], [%[xb]], #8\n\t"                                                                                 \
    "smlad %[a10], %[p], %[wa], %[a10]\n\t"                                                                            \
    "smlad %[a10], %[q], %[wa2], %[a10]\n\t"                                                                           \
    "smlad %[a11], %[p], %[wb], %[a11]\n\t"                                                                            \
    "smlad %[a11], %[q], %[wb2], %[a11]\n\t"
/* acc += the 2 x 2 block over n4 >= 1 groups: xb the widened pixel pair, w filter 0 (filter 1
 * step + 4 bytes further). Hand-allocated (14 registers), 16 instructions per group. */
static inline void edgeq_1x1w_block(const int32_t *xb, const int8_t *w, int32_t n4, int32_t step, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t wa, wa2, wb, wb2, p, q;
    if (n4 & 1)
    {
        __asm__(EDGEQ_1X1W_ASM_GROUP
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [xb] "+&r"(xb), [w] "+&r"(w),
                  [wa] "=&r"(wa), [wa2] "=&r"(wa2), [wb] "=&r"(wb), [wb2] "=&r"(wb2), [p] "=&r"(p), [q] "=&r"(q)
                : [st] "r"(step)
                : "memory");
    }
    n4 >>= 1;
    if (n4 > 0)
    {
        __asm__("1:\n\t" EDGEQ_1X1W_ASM_GROUP EDGEQ_1X1W_ASM_GROUP
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [xb] "+&r"(xb), [w] "+&r"(w),
                  [n] "+&r"(n4), [wa] "=&r"(wa), [wa2] "=&r"(wa2), [wb] "=&r"(wb), [wb2] "=&r"(wb2), [p] "=&r"(p),
                  [q] "=&r"(q)
                : [st] "r"(step)
                : "memory", "cc");
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#else
static inline void edgeq_1x1w_block(const int32_t *xb, const int8_t *w, int32_t n4, int32_t step, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (; n4 > 0; n4--, xb += 4, w += 4)
    {
        const int32_t wa = edgeq_read_s8x4(w), wb = edgeq_read_s8x4(w + 4 + step);
        const int32_t wa02 = edgeq_sxtb16(wa), wa13 = edgeq_sxtb16_ror8(wa);
        const int32_t wb02 = edgeq_sxtb16(wb), wb13 = edgeq_sxtb16_ror8(wb);
        a00 = edgeq_smlad(xb[1], wa13, edgeq_smlad(xb[0], wa02, a00));
        a01 = edgeq_smlad(xb[1], wb13, edgeq_smlad(xb[0], wb02, a01));
        a10 = edgeq_smlad(xb[3], wa13, edgeq_smlad(xb[2], wa02, a10));
        a11 = edgeq_smlad(xb[3], wb13, edgeq_smlad(xb[2], wb02, a11));
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#endif

/* n_pairs pixel pairs (widened, in_c words apart from xb; the last may hold one pixel: odd_last)
 * against every output-channel pair: the channel pair's constants once, then its pixel pairs.
 * out: the first pair's first pixel. full: no clamp after the SSAT (a constant at each call). */
static inline void edgeq_1x1w_chunk(const int32_t *xb, int32_t n_pairs, int32_t odd_last, const int8_t *filter,
                                    const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t in_c,
                                    int32_t out_c, int32_t out_off, int32_t act_min, int32_t act_max, int8_t *out,
                                    int32_t full)
{
    const int32_t n4 = in_c >> 2;
    int32_t oc;
    for (oc = 0; oc < out_c; oc += 2)
    {
        const int32_t o1 = oc + 1 < out_c ? oc + 1 : oc; /* an odd last channel repeats */
        const int32_t e0 = -shift[oc], e1 = -shift[o1], m0 = mult[oc], m1 = mult[o1];
        const int32_t k0 = (int32_t)((1u << (e0 - 1)) + ((uint32_t)out_off << e0));
        const int32_t k1 = (int32_t)((1u << (e1 - 1)) + ((uint32_t)out_off << e1));
        const int32_t b0 = bias != 0 ? bias[oc] : 0, b1 = bias != 0 ? bias[o1] : 0;
        const int8_t *w = filter + oc * in_c;
        const int32_t step = (o1 - oc) * in_c - 4;
        int8_t *o = out + oc;
        int32_t j;
        for (j = 0; j < n_pairs; j++, o += 2 * out_c)
        {
            int32_t acc[4], v0, v1, v2, v3;
            acc[0] = acc[2] = b0;
            acc[1] = acc[3] = b1;
            edgeq_1x1w_block(xb + j * in_c, w, n4, step, acc);
            v0 = edgeq_requant_bounded(acc[0], m0, k0, e0);
            v1 = edgeq_requant_bounded(acc[1], m1, k1, e1);
            v2 = edgeq_requant_bounded(acc[2], m0, k0, e0);
            v3 = edgeq_requant_bounded(acc[3], m1, k1, e1);
            if (!full)
            {
                v0 = edgeq_clamp_i32(v0, act_min, act_max);
                v1 = edgeq_clamp_i32(v1, act_min, act_max);
                v2 = edgeq_clamp_i32(v2, act_min, act_max);
                v3 = edgeq_clamp_i32(v3, act_min, act_max);
            }
            o[0] = (int8_t)v0;
            if (o1 != oc)
            {
                o[1] = (int8_t)v1;
            }
            if (!(odd_last && j == n_pairs - 1))
            {
                o[out_c] = (int8_t)v2;
                if (o1 != oc)
                {
                    o[out_c + 1] = (int8_t)v3;
                }
            }
        }
    }
}

static const int8_t *edgeq_1x1_src(const int8_t *input_data, int32_t p, const cmsis_nn_conv_params *conv_params,
                                   const cmsis_nn_dims *input_dims, const cmsis_nn_dims *output_dims);

/* Whether the widened-input route applies (see above); then runs it. */
static int32_t edgeq_1x1w_run(const cmsis_nn_conv_params *conv_params,
                              const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,
                              const int8_t *input_data, const int8_t *filter_data, const int32_t *bias_data,
                              const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t dense = conv_params->stride.h == 1 && conv_params->stride.w == 1;
    const int32_t off2 = edgeq_dup16(conv_params->input_offset), out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    const int32_t full = act_min <= -128 && act_max >= 127;
    int32_t buf[EDGEQ_1X1W_MAX_C];
    const int32_t chunk = EDGEQ_1X1W_MAX_C / (in_c > 0 ? in_c : 1); /* pixel pairs per buffer */
    int32_t p;
    if ((in_c & 3) != 0 || in_c < EDGEQ_1X1W_MIN_C || in_c > EDGEQ_1X1W_MAX_C ||
        !edgeq_requant_bounded_ok(quant_params->multiplier, quant_params->shift, bias_data, out_c, in_c))
    {
        return 0;
    }
    /* chunks of as many pixel pairs as the buffer holds: each channel pair's constants are
     * prepared once per chunk */
    for (p = 0; p < pixels; p += 2 * chunk)
    {
        const int32_t n_px = pixels - p < 2 * chunk ? pixels - p : 2 * chunk;
        const int32_t n_pairs = (n_px + 1) >> 1;
        int32_t j;
        for (j = 0; j < n_pairs; j++)
        {
            const int32_t q = p + 2 * j;
            const int8_t *x0 = dense ? input_data + q * in_c
                                     : edgeq_1x1_src(input_data, q, conv_params, input_dims, output_dims);
            const int8_t *x1 = q + 1 >= pixels ? x0
                               : dense         ? x0 + in_c
                                               : edgeq_1x1_src(input_data, q + 1, conv_params, input_dims, output_dims);
            edgeq_1x1w_widen(x0, x1, in_c >> 2, off2, buf + j * in_c);
        }
        if (full)
        {
            edgeq_1x1w_chunk(buf, n_pairs, n_px & 1, filter_data, bias_data, quant_params->multiplier,
                             quant_params->shift, in_c, out_c, out_off, act_min, act_max, output_data + p * out_c, 1);
        }
        else
        {
            edgeq_1x1w_chunk(buf, n_pairs, n_px & 1, filter_data, bias_data, quant_params->multiplier,
                             quant_params->shift, in_c, out_c, out_off, act_min, act_max, output_data + p * out_c, 0);
        }
    }
    return 1;
}

/*
 * Shallow route (in_c 4, 8, 12 or 16, stride 1, the bounded requantization): with so few
 * products per output the per-output work dominates, so the layer's filters are widened once
 * per call into a stack table in the order the loop reads it, one record per output channel:
 * {2 * bias, the filter as in_c / 2 int16 pairs doubled (SXTB16 lane order), m, k, e} (no sign
 * extension per use; the doubled accumulator 2 * bias + sum(x * 2w) is the SMMULR operand of
 * edgeq_requant_bounded as it stands: the same bits as doubling acc, modulo 2^32, |2w| <= 256
 * fits a lane). Each pixel's widened input (input offset added) stays in registers while every
 * output channel runs: per output in_c / 2 SMLAD, the record's LDRDs, five instructions of
 * requantization and the store (in_c 8: 16 instructions where the 2 x 2 block route took 24).
 */
#define EDGEQ_1X1S_MAX_C 16
#define EDGEQ_1X1S_TABLE_WORDS 512
/* flags the last record's e word (e <= 31 fits its low byte) */
#define EDGEQ_1X1S_LAST 0x100

#if defined(EDGEQ_DSP_ASM)
/* One pixel's outputs, every channel (full activation range only: no clamp registers left).
 * x: the pixel's widened words; r: the table; o: the pixel's first output. in_c 16 takes 13
 * registers (8 input words, r, o, the accumulator, two load temporaries): the loop ends at the
 * record whose e word carries EDGEQ_1X1S_LAST (ASR reads only the shift register's low byte). */
#define EDGEQ_1X1S_ASM_TAIL                                                                                           \
    "add %[p], %[p], %[a]\n\t"                                                                                          \
    "add %[p], %[p], %[a], asr #31\n\t"                                                                                 \
    "asr %[p], %[p], %[q]\n\t"                                                                                          \
    "ssat %[p], #8, %[p]\n\t"                                                                                           \
    "strb %[p], [%[o]], #1\n\t"                                                                                         \
    "tst %[q], #256\n\t"                                                                                                \
    "beq 1b\n\t"
static inline void edgeq_1x1s_pixel_asm(const int32_t *xw, const int32_t *r, int8_t *o, int32_t nw)
{
    int32_t a, p, q;
    if (nw == 4)
    {
        const int32_t x0 = xw[0], x1 = xw[1], x2 = xw[2], x3 = xw[3];
        __asm__ volatile("1:\n\t"
                         "ldrd %[a], %[p], [%[r]], #8\n\t"
                         "smlad %[a], %[x0], %[p], %[a]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t"
                         "smlad %[a], %[x1], %[p], %[a]\n\t"
                         "smlad %[a], %[x2], %[q], %[a]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t"
                         "smlad %[a], %[x3], %[p], %[a]\n\t"
                         "smmulr %[a], %[a], %[q]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t" EDGEQ_1X1S_ASM_TAIL
                         : [a] "=&r"(a), [p] "=&r"(p), [q] "=&r"(q), [r] "+&r"(r), [o] "+&r"(o)
                         : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3)
                         : "memory", "cc");
    }
    else /* nw == 8 */
    {
        const int32_t x0 = xw[0], x1 = xw[1], x2 = xw[2], x3 = xw[3], x4 = xw[4], x5 = xw[5], x6 = xw[6],
                      x7 = xw[7];
        __asm__ volatile("1:\n\t"
                         "ldrd %[a], %[p], [%[r]], #8\n\t"
                         "smlad %[a], %[x0], %[p], %[a]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t"
                         "smlad %[a], %[x1], %[p], %[a]\n\t"
                         "smlad %[a], %[x2], %[q], %[a]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t"
                         "smlad %[a], %[x3], %[p], %[a]\n\t"
                         "smlad %[a], %[x4], %[q], %[a]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t"
                         "smlad %[a], %[x5], %[p], %[a]\n\t"
                         "smlad %[a], %[x6], %[q], %[a]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t"
                         "smlad %[a], %[x7], %[p], %[a]\n\t"
                         "smmulr %[a], %[a], %[q]\n\t"
                         "ldrd %[p], %[q], [%[r]], #8\n\t" EDGEQ_1X1S_ASM_TAIL
                         : [a] "=&r"(a), [p] "=&r"(p), [q] "=&r"(q), [r] "+&r"(r), [o] "+&r"(o)
                         : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3), [x4] "r"(x4), [x5] "r"(x5),
                           [x6] "r"(x6), [x7] "r"(x7)
                         : "memory", "cc");
    }
}
#endif

static inline __attribute__((always_inline)) void edgeq_1x1s_pixels(const int8_t *x, int32_t pixels, const int32_t *table,
                                                                     int32_t out_c, int32_t off2, int32_t act_min,
                                                                     int32_t act_max, int8_t *out, int32_t nw,
                                                                     int32_t full)
{
    int32_t p, oc, g;
    for (p = 0; p < pixels; p++, x += 2 * nw, out += out_c)
    {
        int32_t xw[EDGEQ_1X1S_MAX_C / 2];
        const int32_t *r = table;
        for (g = 0; g < nw; g += 2)
        {
            const int32_t v = edgeq_read_s8x4(x + 2 * g);
            xw[g] = edgeq_sxtab16(off2, v);
            xw[g + 1] = edgeq_sxtab16_ror8(off2, v);
        }
#if defined(EDGEQ_DSP_ASM)
        if (full && (nw == 4 || nw == 8))
        {
            edgeq_1x1s_pixel_asm(xw, table, out, nw);
            continue;
        }
#endif
        for (oc = 0; oc < out_c; oc++, r += 4 + nw)
        {
            int32_t acc = r[0], v;
            for (g = 0; g < nw; g++)
            {
                acc = edgeq_smlad(xw[g], r[1 + g], acc);
            }
            v = edgeq_smmulr(acc, r[1 + nw]); /* acc is already doubled */
            v = edgeq_ssat8((v + r[2 + nw] + (v >> 31)) >> (r[3 + nw] & 0xFF));
            if (!full)
            {
                v = edgeq_clamp_i32(v, act_min, act_max);
            }
            out[oc] = (int8_t)v;
        }
    }
}

/* Whether the shallow route applies (see above); then runs it. */
static int32_t edgeq_1x1s_run(const cmsis_nn_conv_params *conv_params,
                              const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,
                              const int8_t *input_data, const int8_t *filter_data, const int32_t *bias_data,
                              const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t in_c = input_dims->c, out_c = output_dims->c, nw = in_c >> 1;
    const int32_t off2 = edgeq_dup16(conv_params->input_offset), out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    const int32_t full = act_min <= -128 && act_max >= 127;
    int32_t table[EDGEQ_1X1S_TABLE_WORDS];
    int32_t oc, g, *r = table;
    if ((in_c & 3) != 0 || in_c < 4 || in_c > EDGEQ_1X1S_MAX_C || out_c * (4 + nw) > EDGEQ_1X1S_TABLE_WORDS ||
        conv_params->stride.h != 1 || conv_params->stride.w != 1 ||
        !edgeq_requant_bounded_ok(quant_params->multiplier, quant_params->shift, bias_data, out_c, in_c))
    {
        return 0;
    }
    for (oc = 0; oc < out_c; oc++, r += 4 + nw)
    {
        const edgeq_rq q = edgeq_rq_prepare(quant_params->multiplier[oc], quant_params->shift[oc], out_off);
        const int8_t *w = filter_data + oc * in_c;
        r[0] = (int32_t)((uint32_t)(bias_data != 0 ? bias_data[oc] : 0) << 1);
        for (g = 0; g < nw; g += 2)
        {
            const int32_t v = edgeq_read_s8x4(w + 2 * g), lo = edgeq_sxtb16(v), hi = edgeq_sxtb16_ror8(v);
            r[1 + g] = edgeq_sadd16(lo, lo);
            r[2 + g] = edgeq_sadd16(hi, hi);
        }
        r[1 + nw] = q.m;
        r[2 + nw] = q.k;
        r[3 + nw] = q.e | (oc == out_c - 1 ? EDGEQ_1X1S_LAST : 0);
    }
    /* one copy per depth (constant trip counts: the pixel's words stay in registers) */
#define EDGEQ_1X1S_CASE(NW)                                                                                           \
    case NW:                                                                                                           \
        if (full)                                                                                                      \
        {                                                                                                              \
            edgeq_1x1s_pixels(input_data, pixels, table, out_c, off2, act_min, act_max, output_data, NW, 1);           \
        }                                                                                                              \
        else                                                                                                           \
        {                                                                                                              \
            edgeq_1x1s_pixels(input_data, pixels, table, out_c, off2, act_min, act_max, output_data, NW, 0);           \
        }                                                                                                              \
        break;
    switch (nw)
    {
        EDGEQ_1X1S_CASE(2)
        EDGEQ_1X1S_CASE(4)
        EDGEQ_1X1S_CASE(6)
        default:
        EDGEQ_1X1S_CASE(8)
    }
#undef EDGEQ_1X1S_CASE
    return 1;
}

/*
 * The input offset is hoisted out of the inner loop: sum((x + off) * w) + bias =
 * sum(x * w) + (bias + off * sum(w)), both sides modulo 2^32. Valid because a 1x1 convolution
 * without padding has no padded taps (every tap really contributes (x + off) * w).
 */
/* The input pixel that output pixel p (over batch, row, column) reads. */
static const int8_t *edgeq_1x1_src(const int8_t *input_data, int32_t p, const cmsis_nn_conv_params *conv_params,
                                   const cmsis_nn_dims *input_dims, const cmsis_nn_dims *output_dims)
{
    const int32_t per_batch = output_dims->h * output_dims->w;
    const int32_t b = p / per_batch, r = p % per_batch;
    const int32_t y = (r / output_dims->w) * conv_params->stride.h, x = (r % output_dims->w) * conv_params->stride.w;
    return input_data + ((b * input_dims->h + y) * input_dims->w + x) * input_dims->c;
}

static void edgeq_convolve_1x1_s8_dsp(const cmsis_nn_conv_params *conv_params,
                                      const cmsis_nn_per_channel_quant_params *quant_params,
                                      const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                      const int8_t *filter_data, const int32_t *bias_data,
                                      const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t dense = conv_params->stride.h == 1 && conv_params->stride.w == 1; /* pixel p at p * in_c */
    const int32_t in_off = conv_params->input_offset, out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    const int32_t full_act = act_min <= -128 && act_max >= 127;
    int32_t p, oc, i;
    if (EDGEQ_NEED_1X1S_DSP && edgeq_1x1s_run(conv_params, quant_params, input_dims, input_data, filter_data, bias_data, output_dims,
                       output_data))
    {
        return;
    }
    if (EDGEQ_NEED_1X1W_DSP && edgeq_1x1w_run(conv_params, quant_params, input_dims, input_data, filter_data, bias_data, output_dims,
                       output_data))
    {
        return;
    }
    for (oc = 0; oc < out_c; oc += 2)
    {
        const int32_t n_oc = out_c - oc >= 2 ? 2 : 1;
        const int8_t *w0 = filter_data + oc * in_c;
        const int8_t *w1 = w0 + (n_oc - 1) * in_c;
        const int32_t m0 = quant_params->multiplier[oc], s0 = quant_params->shift[oc];
        const int32_t m1 = quant_params->multiplier[oc + n_oc - 1], s1 = quant_params->shift[oc + n_oc - 1];
        const int32_t fast = edgeq_requant_fast_ok(quant_params->multiplier + oc, quant_params->shift + oc, n_oc);
        /* the accumulator bias + sum((x + off) * w) provably below 2^29: edgeq_requant_bounded */
        const int32_t bounded =
            fast && edgeq_requant_bounded_ok(quant_params->multiplier + oc, quant_params->shift + oc,
                                             bias_data != 0 ? bias_data + oc : 0, n_oc, in_c);
        const int32_t mode = bounded ? (full_act ? 4 : 3) : fast ? (full_act ? 2 : 1) : 0;
        const int32_t e0 = -s0, e1 = -s1;
        const int32_t h0 = bounded ? edgeq_rq_prepare(m0, s0, out_off).k
                           : fast  ? (int32_t)(0x40000000u >> (31 + s0))
                                   : 0;
        const int32_t h1 = bounded ? edgeq_rq_prepare(m1, s1, out_off).k
                           : fast  ? (int32_t)(0x40000000u >> (31 + s1))
                                   : 0;
        int32_t base0 = bias_data != 0 ? bias_data[oc] : 0;
        int32_t base1 = bias_data != 0 ? bias_data[oc + n_oc - 1] : 0;
        int32_t wsum0 = 0, wsum1 = 0;
        for (i = 0; in_off != 0 && i < in_c; i++) /* (edgeq's in-place bands fold the offset into the bias) */
        {
            wsum0 += w0[i];
            wsum1 += w1[i];
        }
        base0 = (int32_t)((uint32_t)base0 + (uint32_t)(in_off * wsum0));
        base1 = (int32_t)((uint32_t)base1 + (uint32_t)(in_off * wsum1));
        p = 0;
        if (EDGEQ_NEED_1X1_PAIRS_DSP && dense && n_oc == 2 && in_c >= 4)
        {
            edgeq_1x1_rq rq;
            rq.m0 = m0;
            rq.s0 = s0;
            rq.e0 = e0;
            rq.h0 = h0;
            rq.m1 = m1;
            rq.s1 = s1;
            rq.e1 = e1;
            rq.h1 = h1;
            rq.out_off = out_off;
            rq.act_min = act_min;
            rq.act_max = act_max;
            edgeq_1x1_pairs_dispatch(input_data, w0, in_c, out_c, pixels >> 1, base0, base1, &rq, mode,
                                     output_data + oc);
            p = pixels & ~1;
        }
        for (; p < pixels; p += 2)
        {
            const int32_t n_px = pixels - p >= 2 ? 2 : 1;
            const int8_t *x0 = dense ? input_data + p * in_c
                                     : edgeq_1x1_src(input_data, p, conv_params, input_dims, output_dims);
            const int8_t *x1 = n_px == 1 ? x0
                               : dense  ? x0 + in_c
                                        : edgeq_1x1_src(input_data, p + 1, conv_params, input_dims, output_dims);
            int8_t *out0 = output_data + p * out_c + oc;
            int32_t acc[4];
            acc[0] = acc[2] = base0;
            acc[1] = acc[3] = base1;
            edgeq_dot_s8_2x2(x0, x1, w0, w1, in_c, acc);
            out0[0] = edgeq_1x1_out(acc[0], m0, s0, e0, h0, mode, out_off, act_min, act_max);
            if (n_oc == 2)
            {
                out0[1] = edgeq_1x1_out(acc[1], m1, s1, e1, h1, mode, out_off, act_min, act_max);
            }
            if (n_px == 2)
            {
                out0[out_c] = edgeq_1x1_out(acc[2], m0, s0, e0, h0, mode, out_off, act_min, act_max);
                if (n_oc == 2)
                {
                    out0[out_c + 1] = edgeq_1x1_out(acc[3], m1, s1, e1, h1, mode, out_off, act_min, act_max);
                }
            }
        }
    }
}
#endif /* EDGEQ_DOT_DSP */

/* ------------------------------------------------------------------ entry point (portable path) */

arm_cmsis_nn_status arm_convolve_1x1_s8_fast(const cmsis_nn_context *ctx,
                                             const cmsis_nn_conv_params *conv_params,
                                             const cmsis_nn_per_channel_quant_params *quant_params,
                                             const cmsis_nn_dims *input_dims,
                                             const int8_t *input_data,
                                             const cmsis_nn_dims *filter_dims,
                                             const int8_t *filter_data,
                                             const cmsis_nn_dims *bias_dims,
                                             const int32_t *bias_data,
                                             const cmsis_nn_dims *output_dims,
                                             int8_t *output_data)
{
    const int32_t pixels = input_dims->n * input_dims->h * input_dims->w;
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t in_off = conv_params->input_offset, out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    int32_t p, oc, ic;
    (void)filter_dims;
    (void)ctx;
    (void)bias_dims;

    if (conv_params->padding.w != 0 || conv_params->padding.h != 0 || conv_params->stride.w != 1 ||
        conv_params->stride.h != 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
#if defined(EDGEQ_MVE)
    return edgeq_mve_convolve_1x1_s8(conv_params, quant_params, input_dims, input_data, filter_data, bias_data,
                                     output_dims, output_data);
#endif
#if defined(EDGEQ_DOT_DSP)
    edgeq_convolve_1x1_s8_dsp(conv_params, quant_params, input_dims, input_data, filter_data, bias_data, output_dims,
                              output_data);
    return ARM_CMSIS_NN_SUCCESS;
#endif
    /* Output-channel outer loop: sum((x + in_off) * w) = sum(x * w) + in_off * sum(w), with
     * sum(w) computed once per channel; no scratch needed. */
    for (oc = 0; oc < out_c; oc++)
    {
        const int8_t *pw = filter_data + oc * in_c;
        const int32_t mult = quant_params->multiplier[oc];
        const int32_t shift = quant_params->shift[oc];
        int32_t base = bias_data != 0 ? bias_data[oc] : 0;
        int32_t wsum = 0;
        for (ic = 0; in_off != 0 && ic < in_c; ic++) /* (edgeq's in-place bands fold the offset into the bias) */
        {
            wsum += pw[ic];
        }
        base += in_off * wsum;
        for (p = 0; p < pixels; p++)
        {
            const int32_t acc = base + edgeq_dot_s8(input_data + p * in_c, pw, in_c);
            const int32_t v = arm_nn_requantize(acc, mult, shift) + out_off;
            output_data[p * out_c + oc] = (int8_t)edgeq_clamp_i32(v, act_min, act_max);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_convolve_1x1_s8(const cmsis_nn_context *ctx,
                                        const cmsis_nn_conv_params *conv_params,
                                        const cmsis_nn_per_channel_quant_params *quant_params,
                                        const cmsis_nn_dims *input_dims,
                                        const int8_t *input_data,
                                        const cmsis_nn_dims *filter_dims,
                                        const int8_t *filter_data,
                                        const cmsis_nn_dims *bias_dims,
                                        const int32_t *bias_data,
                                        const cmsis_nn_dims *output_dims,
                                        int8_t *output_data)
{
    if (conv_params->padding.w != 0 || conv_params->padding.h != 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    if (conv_params->stride.w == 1 && conv_params->stride.h == 1)
    {
        return arm_convolve_1x1_s8_fast(ctx, conv_params, quant_params, input_dims, input_data, filter_dims,
                                        filter_data, bias_dims, bias_data, output_dims, output_data);
    }
#if defined(EDGEQ_MVE)
    (void)ctx;
    (void)bias_dims;
    (void)filter_dims;
    return edgeq_mve_convolve_1x1_s8(conv_params, quant_params, input_dims, input_data, filter_data, bias_data,
                                     output_dims, output_data);
#endif
#if defined(EDGEQ_DOT_DSP)
    (void)ctx;
    (void)bias_dims;
    edgeq_convolve_1x1_s8_dsp(conv_params, quant_params, input_dims, input_data, filter_data, bias_data, output_dims,
                              output_data);
    return ARM_CMSIS_NN_SUCCESS;
#else
    /* portable: the generic kernel reads a strided 1x1 in place just as well (no scratch). Like
     * upstream, this entry point reads neither the dilation nor the filter dims: pass the 1x1
     * geometry explicitly (an unset dilation would divide by zero). */
    {
        cmsis_nn_conv_params params = *conv_params;
        cmsis_nn_dims k = {0, 1, 1, 0};
        (void)filter_dims;
        params.dilation.w = 1;
        params.dilation.h = 1;
        k.n = output_dims->c;
        k.c = input_dims->c;
        return arm_convolve_s8(ctx, &params, quant_params, input_dims, input_data, &k, filter_data, bias_dims,
                               bias_data, output_dims, output_data);
    }
#endif
}
