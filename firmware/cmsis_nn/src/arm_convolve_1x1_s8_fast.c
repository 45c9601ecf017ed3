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
#include "edgeq_in_place.h"
#include <stddef.h>

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

static const int8_t *edgeq_1x1_src(const int8_t *input_data, int32_t p, const cmsis_nn_conv_params *conv_params,
                                   const cmsis_nn_dims *input_dims, const cmsis_nn_dims *output_dims);

/*
 * Doubly-widened route: both operands of the 2 pixels x 2 output channels block are 16-bit lanes
 * in stack buffers, so the inner loop is loads and SMLADs only: per group of four input channels
 * one LDM of the channel pair's filter words, one LDM of the pixel pair's input words and 8 SMLAD
 * for 16 MACs (10 instructions; reading int8 filters took 16).
 *
 * - The input is widened once per pixel pair, doubled, input offset added: 2 * (x + off) (|.| <=
 *   510 fits a lane), so the accumulator 2 * bias + sum(2 (x + off) w) is already the doubled
 *   operand edgeq_requant_bounded multiplies (the same bits modulo 2^32). Per group g of a pair:
 *   x[4g..4g+3] = pixel 0 (bytes 0, 2), pixel 0 (bytes 1, 3), pixel 1 (0, 2), pixel 1 (1, 3).
 * - The filters of one output-channel pair are widened (SXTB16, SXTB16 ROR 8) into a buffer in
 *   the same lane order, once per chunk of pixel pairs: w[4g..4g+3] = channel 0 (0, 2), (1, 3),
 *   channel 1 (0, 2), (1, 3). An odd group count is padded with a zero group; the loop runs four
 *   groups per iteration, or two when the count is not a multiple of four.
 * - On the core each run of pixel pairs is one hand-allocated asm block (all 14 registers: 4
 *   accumulators, 4 filter words, 4 input words, the two pointers). No register is left for a
 *   loop count: the filter buffer ends on a 1 KB boundary, so the loop ends when the filter
 *   pointer's bits 4..9 are clear (TST), and the pointer then points at the channel pair's
 *   constants, stored right after the filters (edgeq_1x1d_state).
 * - Requantization, four instructions per output: SMMLAR adds the rounding constant k (output
 *   offset folded in) to the rounded high product, ADD ... ASR #31 subtracts the sign of the
 *   accumulator (for multipliers >= 0 it rounds like the sign of the product: when the product
 *   rounds to 0 both give the same quotient), ASR by the channel's shift, SSAT. Equal to
 *   edgeq_requant_bounded bit for bit under its conditions (edgeq_requant_bounded_ok) and
 *   multipliers >= 0. An activation range narrower than int8 runs the C loop (rare: ReLU and
 *   ReLU6 outputs quantized to their own range clamp nothing beyond int8).
 * - An odd output-channel count computes its last channel twice (the filter repeated) and
 *   stores both results to one address (channel offset 0); an odd pixel count likewise repeats
 *   the last pixel and runs its pair with a pixel stride of 0. Output pixels are written after
 *   their chunk is widened (in-place bands read each pixel before it is overwritten).
 * Pixel pairs are widened in chunks of as many as the rest of EDGEQ_1X1D_BYTES of stack holds
 * (below and above the filter buffer); each channel pair's filters are widened once per chunk.
 */
#ifndef EDGEQ_1X1D_BYTES
#define EDGEQ_1X1D_BYTES 4096
#endif
#define EDGEQ_1X1D_WORDS (EDGEQ_1X1D_BYTES / 4)
/* Below this many input channels the shallow route or the int8 block is used. */
#ifndef EDGEQ_1X1D_MIN_C
#define EDGEQ_1X1D_MIN_C 8
#endif
/* The filter buffer's end alignment (the loop's TST mask is its bits from 16 up): at most 64
 * groups (in_c <= 256). */
#define EDGEQ_1X1D_ALIGN 1024

/* A channel pair's constants, read by the block loop right after the filter buffer (word
 * offsets fixed by the asm: LDM of m0..e1, LDM of o, s, d, s + d, one LDM of the pixel-pair end,
 * the rewind from state + 40 back to the filter buffer and two copies of the doubled biases). */
typedef struct
{
    int32_t m0, k0, e0, m1, k1, e1; /* requantization of channel 0 and channel 1 */
    int8_t *o;                      /* output of the next pixel pair, channel 0 */
    int32_t s;                      /* pixel stride of the output (0: a repeated last pixel) */
    int32_t d;                      /* channel 1's offset from channel 0 (0: a repeated last channel) */
    int32_t sd;                     /* s + d */
    const int32_t *xend;            /* the input buffer after the last pixel pair of this run */
    int32_t rewind;                 /* bytes from state + 40 back to the first filter word */
    int32_t b[4];                   /* 2 * bias: channel 0, 1, 0, 1 (the accumulators' start) */
    int32_t lo, hi;                 /* the activation range */
} edgeq_1x1d_state;

#if defined(EDGEQ_DSP_ASM)
/* the asm's offsets (32-bit pointers) */
typedef char edgeq_1x1d_state_layout[(sizeof(edgeq_1x1d_state) == 72 && offsetof(edgeq_1x1d_state, o) == 24 &&
                                      offsetof(edgeq_1x1d_state, xend) == 40 && offsetof(edgeq_1x1d_state, b) == 48)
                                         ? 1
                                         : -1];
#endif

#if defined(EDGEQ_DSP_ASM)
#define EDGEQ_1X1D_GROUP                                                                                              \
    "ldm r1!, {r2, r3, r4, r5}\n\t"                                                                                    \
    "ldm r0!, {r6, r7, r8, r9}\n\t"                                                                                    \
    "smlad r10, r6, r2, r10\n\t"                                                                                       \
    "smlad r10, r7, r3, r10\n\t"                                                                                       \
    "smlad r11, r6, r4, r11\n\t"                                                                                       \
    "smlad r11, r7, r5, r11\n\t"                                                                                       \
    "smlad r12, r8, r2, r12\n\t"                                                                                       \
    "smlad r12, r9, r3, r12\n\t"                                                                                       \
    "smlad lr, r8, r4, lr\n\t"                                                                                         \
    "smlad lr, r9, r5, lr\n\t"
/* One output: T = SSAT8((SMMLAR(acc, m, k) + (acc >> 31)) >> e). */
#define EDGEQ_1X1D_RQ(T, ACC, M, K, E)                                                                                 \
    "smmlar " T ", " ACC ", " M ", " K "\n\t"                                                                          \
    "add " T ", " T ", " ACC ", asr #31\n\t"                                                                           \
    "asr " T ", " T ", " E "\n\t"                                                                                      \
    "ssat " T ", #8, " T "\n\t"
/* r0 the input pairs, r1 the filter buffer, r2 the state (after the filters); BODY: the groups
 * of one loop iteration. */
#define EDGEQ_1X1D_ASM(BODY)                                                                                           \
    "ldrd r10, r11, [r2, #48]\n\t"                                                                                     \
    "ldrd r12, lr, [r2, #56]\n\t"                                                                                      \
    "1:\n\t" BODY "tst r1, #0x3f0\n\t"                                                                                 \
    "bne 1b\n\t"                                                                                                       \
    "ldm r1!, {r2, r3, r4, r5, r6, r7}\n\t" /* m0 k0 e0 m1 k1 e1; r1 = state + 24 */                                   \
    EDGEQ_1X1D_RQ("r8", "r10", "r2", "r3", "r4")                                                                       \
    EDGEQ_1X1D_RQ("r9", "r12", "r2", "r3", "r4")                                                                       \
    EDGEQ_1X1D_RQ("r10", "r11", "r5", "r6", "r7")                                                                      \
    EDGEQ_1X1D_RQ("r11", "lr", "r5", "r6", "r7")                                                                       \
    "ldm r1!, {r2, r3, r4, r5}\n\t" /* o, s, d, s + d; r1 = state + 40 */                                          \
    "strb r8, [r2]\n\t"                                                                                                \
    "strb r10, [r2, r4]\n\t"                                                                                           \
    "strb r9, [r2, r3]\n\t"                                                                                            \
    "strb r11, [r2, r5]\n\t"                                                                                           \
    "add r2, r2, r3, lsl #1\n\t"                                                                                       \
    "str r2, [r1, #-16]\n\t"                                                                                           \
    "ldm r1, {r4, r5, r10, r11, r12, lr}\n\t" /* xend, rewind, the biases */                                          \
    "sub r1, r1, r5\n\t"                                                                                               \
    "cmp r0, r4\n\t"                                                                                                   \
    "bne 1b\n\t"
#define EDGEQ_1X1D_CLOBBERS "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "memory", "cc"

/* The pixel pairs from xb to st->xend against one channel pair (filters at wb, ending where st
 * starts), the full int8 range; two: two groups per iteration instead of four. Not inlined:
 * the asm takes every register but sp and pc. */
static __attribute__((noinline)) void edgeq_1x1d_pairs_asm(const int32_t *xb, const int32_t *wb,
                                                           edgeq_1x1d_state *st, int32_t two)
{
    register const int32_t *r0 __asm__("r0") = xb;
    register const int32_t *r1 __asm__("r1") = wb;
    register edgeq_1x1d_state *r2 __asm__("r2") = st;
    if (two)
    {
        __asm__ volatile(EDGEQ_1X1D_ASM(EDGEQ_1X1D_GROUP EDGEQ_1X1D_GROUP)
                         : "+r"(r0), "+r"(r1), "+r"(r2)
                         :
                         : EDGEQ_1X1D_CLOBBERS);
    }
    else
    {
        __asm__ volatile(EDGEQ_1X1D_ASM(EDGEQ_1X1D_GROUP EDGEQ_1X1D_GROUP EDGEQ_1X1D_GROUP EDGEQ_1X1D_GROUP)
                         : "+r"(r0), "+r"(r1), "+r"(r2)
                         :
                         : EDGEQ_1X1D_CLOBBERS);
    }
}
#endif

/* The same loop in C (the buffers and state as on the core; the group count from the rewind),
 * with the activation clamp. */
static void edgeq_1x1d_pairs_c(const int32_t *xb, const int32_t *wb, edgeq_1x1d_state *st)
{
    const int32_t n4 = (st->rewind - 40) >> 4;
    const int32_t *x = xb;
    int32_t g;
    while (x != st->xend)
    {
        int32_t a00 = st->b[0], a01 = st->b[1], a10 = st->b[2], a11 = st->b[3], v[4], i;
        const int32_t *w = wb;
        for (g = 0; g < n4; g++, x += 4, w += 4)
        {
            a00 = edgeq_smlad(x[1], w[1], edgeq_smlad(x[0], w[0], a00));
            a01 = edgeq_smlad(x[1], w[3], edgeq_smlad(x[0], w[2], a01));
            a10 = edgeq_smlad(x[3], w[1], edgeq_smlad(x[2], w[0], a10));
            a11 = edgeq_smlad(x[3], w[3], edgeq_smlad(x[2], w[2], a11));
        }
        /* SMMLAR(acc, m, k) = SMMULR(acc, m) + k: no overflow (|.| < 2^29 + 2^30 + 2^22) */
        v[0] = (edgeq_smmulr(a00, st->m0) + st->k0 + (a00 >> 31)) >> st->e0;
        v[1] = (edgeq_smmulr(a01, st->m1) + st->k1 + (a01 >> 31)) >> st->e1;
        v[2] = (edgeq_smmulr(a10, st->m0) + st->k0 + (a10 >> 31)) >> st->e0;
        v[3] = (edgeq_smmulr(a11, st->m1) + st->k1 + (a11 >> 31)) >> st->e1;
        for (i = 0; i < 4; i++)
        {
            v[i] = edgeq_clamp_i32(edgeq_ssat8(v[i]), st->lo, st->hi);
        }
        st->o[0] = (int8_t)v[0];
        st->o[st->d] = (int8_t)v[1];
        st->o += st->s;
        st->o[0] = (int8_t)v[2];
        st->o[st->d] = (int8_t)v[3];
        st->o += st->s;
    }
}

static inline void edgeq_1x1d_pairs(const int32_t *xb, const int32_t *wb, edgeq_1x1d_state *st, int32_t full,
                                    int32_t two)
{
#if defined(EDGEQ_DSP_ASM)
    if (full)
    {
        edgeq_1x1d_pairs_asm(xb, wb, st, two);
        return;
    }
#endif
    (void)full;
    (void)two;
    edgeq_1x1d_pairs_c(xb, wb, st);
}

/* n4 groups of channel rows w (channel 0) and w + step + 4 (channel 1) widened into wb. */
#if defined(EDGEQ_DSP_ASM)
#define EDGEQ_1X1D_WGROUP                                                                                             \
    "ldr r4, [r1], #4\n\t"                                                                                             \
    "ldr r5, [r1, r2]\n\t"                                                                                             \
    "sxtb16 r6, r4\n\t"                                                                                                \
    "sxtb16 r7, r4, ror #8\n\t"                                                                                        \
    "sxtb16 r8, r5\n\t"                                                                                                \
    "sxtb16 r9, r5, ror #8\n\t"                                                                                        \
    "stm r0!, {r6, r7, r8, r9}\n\t"
#define EDGEQ_1X1D_WPAIR                                                                                              \
    "ldrd r4, r5, [r1], #8\n\t"                                                                                       \
    "ldrd r6, r7, [r12], #8\n\t"                                                                                      \
    "sxtb16 r8, r4\n\t"                                                                                                \
    "sxtb16 r9, r4, ror #8\n\t"                                                                                        \
    "sxtb16 r10, r6\n\t"                                                                                               \
    "sxtb16 r11, r6, ror #8\n\t"                                                                                       \
    "stm r0!, {r8, r9, r10, r11}\n\t"                                                                                  \
    "sxtb16 r8, r5\n\t"                                                                                                \
    "sxtb16 r9, r5, ror #8\n\t"                                                                                        \
    "sxtb16 r10, r7\n\t"                                                                                               \
    "sxtb16 r11, r7, ror #8\n\t"                                                                                       \
    "stm r0!, {r8, r9, r10, r11}\n\t"
/* word-aligned rows (the generated weights are) and a multiple of four groups: LDRD, two groups
 * of each channel per load pair, four groups per iteration (6.5 instructions per group, not 8) */
static void edgeq_1x1d_widen_w4(int32_t *wb, const int8_t *w, int32_t step, int32_t n4)
{
    register int32_t *r0 __asm__("r0") = wb;
    register const int8_t *r1 __asm__("r1") = w;
    register const int8_t *r12 __asm__("r12") = w + step + 4;
    register int32_t r3 __asm__("r3") = n4 >> 2;
    __asm__ volatile("1:\n\t" EDGEQ_1X1D_WPAIR EDGEQ_1X1D_WPAIR "subs r3, r3, #1\n\t"
                     "bne 1b\n\t"
                     : "+r"(r0), "+r"(r1), "+r"(r12), "+r"(r3)
                     :
                     : "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "memory", "cc");
}
static void edgeq_1x1d_widen_w(int32_t *wb, const int8_t *w, int32_t step, int32_t n4)
{
    register int32_t *r0 __asm__("r0") = wb;
    register const int8_t *r1 __asm__("r1") = w;
    register int32_t r2 __asm__("r2") = step;
    register int32_t r3 __asm__("r3") = n4 >> 1;
    if (n4 & 1)
    {
        __asm__ volatile(EDGEQ_1X1D_WGROUP : "+r"(r0), "+r"(r1) : "r"(r2) : "r4", "r5", "r6", "r7", "r8", "r9",
                         "memory");
    }
    if (r3 > 0)
    {
        __asm__ volatile("1:\n\t" EDGEQ_1X1D_WGROUP EDGEQ_1X1D_WGROUP "subs r3, r3, #1\n\t"
                         "bne 1b\n\t"
                         : "+r"(r0), "+r"(r1), "+r"(r3)
                         : "r"(r2)
                         : "r4", "r5", "r6", "r7", "r8", "r9", "memory", "cc");
    }
}
/* One pixel pair (rows x and x + step + 4) widened into xb: 2 * (x + off) per lane (off4: both
 * lanes 2 * off; (x + 2 off) + x, |x + 2 off| <= 383). */
static void edgeq_1x1d_widen_pair(int32_t *xb, const int8_t *x, int32_t step, int32_t n4, int32_t off4)
{
    register int32_t *r0 __asm__("r0") = xb;
    register const int8_t *r1 __asm__("r1") = x;
    register int32_t r2 __asm__("r2") = step;
    register int32_t r3 __asm__("r3") = n4;
    register int32_t r10 __asm__("r10") = off4;
    __asm__ volatile("1:\n\t"
                     "ldr r4, [r1], #4\n\t"
                     "ldr r5, [r1, r2]\n\t"
                     "sxtab16 r6, r10, r4\n\t"
                     "sxtab16 r6, r6, r4\n\t"
                     "sxtab16 r7, r10, r4, ror #8\n\t"
                     "sxtab16 r7, r7, r4, ror #8\n\t"
                     "sxtab16 r8, r10, r5\n\t"
                     "sxtab16 r8, r8, r5\n\t"
                     "sxtab16 r9, r10, r5, ror #8\n\t"
                     "sxtab16 r9, r9, r5, ror #8\n\t"
                     "stm r0!, {r6, r7, r8, r9}\n\t"
                     "subs r3, r3, #1\n\t"
                     "bne 1b\n\t"
                     : "+r"(r0), "+r"(r1), "+r"(r3)
                     : "r"(r2), "r"(r10)
                     : "r4", "r5", "r6", "r7", "r8", "r9", "memory", "cc");
}
#else
#define edgeq_1x1d_widen_w4 edgeq_1x1d_widen_w
static void edgeq_1x1d_widen_w(int32_t *wb, const int8_t *w, int32_t step, int32_t n4)
{
    for (; n4 > 0; n4--, w += 4, wb += 4)
    {
        const int32_t a = edgeq_read_s8x4(w), b = edgeq_read_s8x4(w + 4 + step);
        wb[0] = edgeq_sxtb16(a);
        wb[1] = edgeq_sxtb16_ror8(a);
        wb[2] = edgeq_sxtb16(b);
        wb[3] = edgeq_sxtb16_ror8(b);
    }
}
static void edgeq_1x1d_widen_pair(int32_t *xb, const int8_t *x, int32_t step, int32_t n4, int32_t off4)
{
    for (; n4 > 0; n4--, x += 4, xb += 4)
    {
        const int32_t a = edgeq_read_s8x4(x), b = edgeq_read_s8x4(x + 4 + step);
        xb[0] = edgeq_sxtab16(edgeq_sxtab16(off4, a), a);
        xb[1] = edgeq_sxtab16_ror8(edgeq_sxtab16_ror8(off4, a), a);
        xb[2] = edgeq_sxtab16(edgeq_sxtab16(off4, b), b);
        xb[3] = edgeq_sxtab16_ror8(edgeq_sxtab16_ror8(off4, b), b);
    }
}
#endif

/* Widen n_pairs pixel pairs (output pixels p0, p0 + 1, ...; the last pixel repeated when the
 * count runs out) into xb, pair_words apart (a padding group left zero). */
static void edgeq_1x1d_widen_x(int32_t *xb, int32_t p0, int32_t n_pairs, int32_t pixels, int32_t pair_words,
                               int32_t off4, const int8_t *input_data, const cmsis_nn_conv_params *conv_params,
                               const cmsis_nn_dims *input_dims, const cmsis_nn_dims *output_dims)
{
    const int32_t in_c = input_dims->c;
    const int32_t dense = conv_params->stride.h == 1 && conv_params->stride.w == 1;
    int32_t j;
    for (j = 0; j < n_pairs; j++, xb += pair_words)
    {
        const int32_t q = p0 + 2 * j;
        const int8_t *x0 =
            dense ? input_data + q * in_c : edgeq_1x1_src(input_data, q, conv_params, input_dims, output_dims);
        const int8_t *x1 = q + 1 >= pixels ? x0
                           : dense         ? x0 + in_c
                                           : edgeq_1x1_src(input_data, q + 1, conv_params, input_dims, output_dims);
        edgeq_1x1d_widen_pair(xb, x0, (int32_t)(x1 - x0) - 4, in_c >> 2, off4);
    }
}

/* Whether the doubly-widened route applies (see above); then runs it. In order (edgeq_in_place.h):
 * chunks of pixel pairs upward, a chunk widened (read) before any of its outputs is written. */
static int32_t edgeq_1x1d_run(const cmsis_nn_conv_params *conv_params,
                              const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,
                              const int8_t *input_data, const int8_t *filter_data, const int32_t *bias_data,
                              const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t n4 = in_c >> 2, gp = (n4 + 1) & ~1, two = (gp & 3) != 0, pair_words = 4 * gp;
    const int32_t off4 = edgeq_dup16(2 * conv_params->input_offset), out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    const int32_t full = act_min <= -128 && act_max >= 127;
    const int32_t w4 = ((uintptr_t)filter_data & 3) == 0 && (n4 & 3) == 0; /* edgeq_1x1d_widen_w4 */
    /* edgeq_requant_bounded_ok, and multipliers >= 0 (the SMMLAR rounding), in one pass */
    const int32_t limit = (1 << 29) - in_c * 255 * 128;
    int32_t mem[EDGEQ_1X1D_WORDS];
    int32_t *wb, *xa, *xbb, na, nb, p, oc;
    edgeq_1x1d_state *st;
    if ((in_c & 3) != 0 || in_c < EDGEQ_1X1D_MIN_C || 16 * gp > EDGEQ_1X1D_ALIGN || pixels < 1)
    {
        return 0;
    }
    for (oc = 0; oc < out_c; oc++)
    {
        const int32_t s = quant_params->shift[oc], b = bias_data != 0 ? bias_data[oc] : 0;
        if (quant_params->multiplier[oc] < 0 || s > -1 || s < -23 || b >= limit || b <= -limit)
        {
            return 0;
        }
    }
    /* the filter buffer ends on the first EDGEQ_1X1D_ALIGN boundary it fits below; the pixel
     * pairs go below it (xa, na pairs) and above the state (xbb, nb pairs) */
    {
        const uintptr_t lo = (uintptr_t)mem, hi = lo + sizeof(mem), wbytes = 16u * (uint32_t)gp;
        const uintptr_t end = (lo + wbytes + EDGEQ_1X1D_ALIGN - 1) & ~(uintptr_t)(EDGEQ_1X1D_ALIGN - 1);
        const uintptr_t top = end + sizeof(edgeq_1x1d_state);
        if (top > hi)
        {
            return 0;
        }
        wb = (int32_t *)(end - wbytes);
        st = (edgeq_1x1d_state *)end;
        xa = mem;
        na = (int32_t)((end - wbytes - lo) / wbytes);
        xbb = (int32_t *)top;
        nb = (int32_t)((hi - top) / wbytes);
        if (na + nb < 1)
        {
            return 0;
        }
    }
    if (gp > n4) /* the padding group: zero in every pixel pair and the filter buffer */
    {
        int32_t j;
        for (j = 0; j < na; j++)
        {
            memset(xa + j * pair_words + 4 * n4, 0, 16);
        }
        for (j = 0; j < nb; j++)
        {
            memset(xbb + j * pair_words + 4 * n4, 0, 16);
        }
        memset(wb + 4 * n4, 0, 16);
    }
    st->lo = act_min;
    st->hi = act_max;
    st->rewind = 16 * gp + 40;
    for (p = 0; p < pixels; p += 2 * (na + nb))
    {
        const int32_t n_px = pixels - p < 2 * (na + nb) ? pixels - p : 2 * (na + nb);
        const int32_t n_pairs = (n_px + 1) >> 1, odd = n_px & 1;
        /* a chunk that fits one piece stays in it (one run per channel pair, not two) */
        const int32_t in_a = n_pairs <= nb ? 0 : n_pairs < na ? n_pairs : na, in_b = n_pairs - in_a;
        /* pairs of two real pixels in each piece (the last pair is in b when b has any) */
        const int32_t full_a = in_a - (odd && in_b == 0), full_b = in_b > 0 ? in_b - odd : 0;
        edgeq_1x1d_widen_x(xa, p, in_a, pixels, pair_words, off4, input_data, conv_params, input_dims, output_dims);
        edgeq_1x1d_widen_x(xbb, p + 2 * in_a, in_b, pixels, pair_words, off4, input_data, conv_params, input_dims,
                           output_dims);
        for (oc = 0; oc < out_c; oc += 2)
        {
            const int32_t o1 = oc + 1 < out_c ? oc + 1 : oc; /* an odd last channel repeats */
            const int32_t e0 = -quant_params->shift[oc], e1 = -quant_params->shift[o1];
            if (w4)
            {
                edgeq_1x1d_widen_w4(wb, filter_data + oc * in_c, (o1 - oc) * in_c - 4, n4);
            }
            else
            {
                edgeq_1x1d_widen_w(wb, filter_data + oc * in_c, (o1 - oc) * in_c - 4, n4);
            }
            st->m0 = quant_params->multiplier[oc];
            st->k0 = (int32_t)((1u << (e0 - 1)) + ((uint32_t)out_off << e0));
            st->e0 = e0;
            st->m1 = quant_params->multiplier[o1];
            st->k1 = (int32_t)((1u << (e1 - 1)) + ((uint32_t)out_off << e1));
            st->e1 = e1;
            st->b[0] = st->b[2] = (int32_t)((uint32_t)(bias_data != 0 ? bias_data[oc] : 0) << 1);
            st->b[1] = st->b[3] = (int32_t)((uint32_t)(bias_data != 0 ? bias_data[o1] : 0) << 1);
            st->o = output_data + p * out_c + oc;
            st->s = out_c;
            st->d = o1 - oc;
            st->sd = out_c + o1 - oc;
            /* the full pairs of each piece, then a repeated last pixel with pixel stride 0 */
            if (full_a > 0)
            {
                st->xend = xa + pair_words * full_a;
                edgeq_1x1d_pairs(xa, wb, st, full, two);
            }
            if (full_b > 0)
            {
                st->xend = xbb + pair_words * full_b;
                edgeq_1x1d_pairs(xbb, wb, st, full, two);
            }
            if (odd)
            {
                const int32_t *last = in_b > 0 ? xbb + pair_words * (in_b - 1) : xa + pair_words * (in_a - 1);
                st->xend = last + pair_words;
                st->s = 0;
                st->sd = o1 - oc;
                edgeq_1x1d_pairs(last, wb, st, full, two);
            }
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

/* Whether the shallow route applies (see above); then runs it. In order (edgeq_in_place.h): pixel
 * by pixel upward, each one read before its outputs are written. */
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
    if (EDGEQ_NEED_1X1D_DSP && edgeq_1x1d_run(conv_params, quant_params, input_dims, input_data, filter_data,
                                                bias_data, output_dims, output_data))
    {
        return;
    }
    if (EDGEQ_NEED_1X1S_DSP && edgeq_1x1s_run(conv_params, quant_params, input_dims, input_data, filter_data,
                                                bias_data, output_dims, output_data))
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

/* ------------------------------------------------------------------ in place (edgeq_in_place.h) */

arm_cmsis_nn_status edgeq_convolve_1x1_s8_in_place(const cmsis_nn_conv_params *conv_params,
                                                   const cmsis_nn_per_channel_quant_params *quant_params,
                                                   const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                   const int8_t *filter_data, const int32_t *bias_data,
                                                   const cmsis_nn_dims *output_dims, int8_t *output_data,
                                                   int32_t band_pixels)
{
    const int32_t pixels = input_dims->h, in_c = input_dims->c, out_c = output_dims->c;
    const cmsis_nn_context ctx = {NULL, 0};
    const cmsis_nn_dims filter_dims = {out_c, 1, 1, in_c};
    cmsis_nn_dims in_band = *input_dims, out_band = *output_dims;
    int32_t p;
    if (conv_params->padding.w != 0 || conv_params->padding.h != 0 || conv_params->stride.w != 1 ||
        conv_params->stride.h != 1 || input_dims->n != 1 || input_dims->w != 1 || output_dims->h != pixels ||
        band_pixels < 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    /* the routes that walk the pixels in order: the whole layer in one call */
#if defined(EDGEQ_MVE)
    if (out_c <= EDGEQ_MVE_1X1_IN_ORDER_MAX_C)
    {
        return edgeq_mve_convolve_1x1_s8(conv_params, quant_params, input_dims, input_data, filter_data, bias_data,
                                         output_dims, output_data);
    }
#elif defined(EDGEQ_DOT_DSP)
    if ((EDGEQ_NEED_1X1D_DSP && edgeq_1x1d_run(conv_params, quant_params, input_dims, input_data, filter_data,
                                                bias_data, output_dims, output_data)) ||
        (EDGEQ_NEED_1X1S_DSP && edgeq_1x1s_run(conv_params, quant_params, input_dims, input_data, filter_data,
                                                bias_data, output_dims, output_data)))
    {
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    /* the others (channels outermost): band by band, as planned */
    for (p = 0; p < pixels; p += band_pixels)
    {
        const int32_t n = pixels - p < band_pixels ? pixels - p : band_pixels;
        arm_cmsis_nn_status status;
        in_band.h = n;
        out_band.h = n;
        status = arm_convolve_1x1_s8_fast(&ctx, conv_params, quant_params, &in_band, input_data + p * in_c,
                                          &filter_dims, filter_data, NULL, bias_data, &out_band,
                                          output_data + p * out_c);
        if (status != ARM_CMSIS_NN_SUCCESS)
        {
            return status;
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
