/*
 * edgeq -- Helium (MVE) matrix kernels: fully connected, unpadded 1x1 convolution and im2col
 * convolution, all as rows of int8 (an input row: a batch, a pixel, an im2col column) times
 * filter rows, 16 bytes per step with VLDRB + VMLADAVA (one instruction: 16 products summed into
 * a 32-bit scalar accumulator). A tail of fewer than 16 bytes runs once more with predicated,
 * zeroing loads (VCTP), which adds nothing for the inactive lanes.
 *
 * Blocking: 2 input rows x 3 filter rows = 6 accumulators. VMLADAVA needs an even-numbered
 * accumulator register; with LR kept for the low-overhead loop (DLS/LE) seven even registers
 * remain, so six accumulators and five pointers fit without spilling (12 instructions per 96
 * multiply-accumulates). Depths 32, 64 and 128 take 2 rows x 4 filter rows instead (LR the
 * eighth accumulator, the steps unrolled: 14 per 128, edgeq_mve_dot2x4). The stride-1 1x1 of
 * those depths takes three input rows held in registers 32 bytes at a time instead, the weights
 * streaming past them (edgeq_mve_1x1_triple: 9 per 96). Fully connected with one batch has a
 * single input row: 1 x 3 with the weight sums taken in the same pass (VADDVA).
 *
 * Input offset: sum((x + off) * w) = sum(x * w) + off * sum(w) (modulo 2^32, like TFLM's int32
 * accumulator, so bit-exact for all int8 data). The per-channel constant bias + off * sum(w)
 * ("correction") is computed once per call for up to EDGEQ_MVE_CHUNK channels on the stack.
 * It covers every tap of the row: the 1x1 kernels have no padding, and the im2col columns hold
 * the input zero point (-off) at padded taps, whose (x + off) is then 0 as TFLM's padding.
 *
 * Requantization four lanes at a time (edgeq_mve_requantize: VQRDMULH + VRSHL with the
 * ties-away-from-zero fix-up), bit-exact with edgeq_requantize.
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_mve.h"

#if defined(EDGEQ_MVE)

#include <stddef.h>

#include "edgeq_fixedpoint.h"
#include "edgeq_route_guards.h"

#define EDGEQ_MVE_STR2(x) #x
#define EDGEQ_MVE_STR(x) EDGEQ_MVE_STR2(x)

/* channels whose corrections live on the stack at once (4 bytes each) */
#define EDGEQ_MVE_CHUNK 128
/* the in-order promise (edgeq_mve_kernels.h) needs every channel in one chunk: one pass over the pixels */
_Static_assert(EDGEQ_MVE_1X1_IN_ORDER_MAX_C <= EDGEQ_MVE_CHUNK, "1x1 in-order channels exceed one chunk");

/* rows of raw accumulators (edgeq_mve_dot2x3, edgeq_mve_dot2x4) this many int32 apart: one array,
 * so the asm stores every row through one pointer, the others with immediate offsets */
#define EDGEQ_MVE_ACC_STRIDE (EDGEQ_MVE_CHUNK + 4)

/* sum(w[0..k)) */
static int32_t edgeq_mve_sum_s8(const int8_t *w, int32_t k)
{
    int32_t s = 0, n;
    for (n = k >> 4; n > 0; n--)
    {
        s = vaddvaq_s8(s, vldrbq_s8(w));
        w += 16;
    }
    if (k & 15)
    {
        s = vaddvaq_s8(s, vldrbq_z_s8(w, vctp8q((uint32_t)(k & 15))));
    }
    return s;
}

/* The corrections bias[c] + off * sum(filter row c), c in [c0, c1), indexed from c0: with no input
 * offset (the banded 1x1 calls: the generator folded it into the bias) the bias itself (no copy),
 * else computed into corr. */
static const int32_t *edgeq_mve_corrections(int32_t *corr, const int8_t *filter, int32_t k, const int32_t *bias,
                                            int32_t off, int32_t c0, int32_t c1)
{
    int32_t c;
    if (off == 0 && bias != 0)
    {
        return bias + c0;
    }
    for (c = c0; c < c1; c++)
    {
        const uint32_t b = bias != 0 ? (uint32_t)bias[c] : 0u;
        corr[c - c0] = off == 0 ? (int32_t)b
                                : (int32_t)(b + (uint32_t)off * (uint32_t)edgeq_mve_sum_s8(filter + c * k, k));
    }
    return corr;
}

/* The requantization parameters of up to four consecutive channels (lanes beyond n zeroed). */
typedef struct
{
    int32x4_t mult, left, right_neg;
} edgeq_mve_rq;

/* simple: every shift is negative (left stays unset, right_neg = shift) */
static inline __attribute__((always_inline)) edgeq_mve_rq edgeq_mve_rq_load(const int32_t *mult,
                                                                            const int32_t *shift,
                                                                            int32_t per_channel,
                                                                            mve_pred16_t pred, int simple)
{
    edgeq_mve_rq r;
    int32x4_t sh;
    const int32x4_t zero = vdupq_n_s32(0);
    if (per_channel)
    {
        r.mult = vldrwq_z_s32(mult, pred);
        sh = vldrwq_z_s32(shift, pred);
    }
    else
    {
        r.mult = vdupq_n_s32(mult[0]);
        sh = vdupq_n_s32(shift[0]);
    }
    if (simple)
    {
        r.left = zero;
        r.right_neg = sh;
    }
    else
    {
        r.left = vmaxq_s32(sh, zero);
        r.right_neg = vminq_s32(sh, zero);
    }
    return r;
}

/* 1 if shift[i] < 0 for every i in [c0, c1) (per_channel) or shift[0] < 0: the largest shift,
 * four at a time (VMAX, then VMAXV across the lanes). */
static int32_t edgeq_mve_all_right(const int32_t *shift, int32_t per_channel, int32_t c0, int32_t c1)
{
    int32x4_t mx = vdupq_n_s32(INT32_MIN);
    int32_t c;
    if (!per_channel)
    {
        return shift[0] < 0;
    }
    for (c = c0; c + 4 <= c1; c += 4)
    {
        mx = vmaxq_s32(mx, vldrwq_s32(shift + c));
    }
    for (; c < c1; c++)
    {
        if (shift[c] >= 0)
        {
            return 0;
        }
    }
    return vmaxvq_s32(INT32_MIN, mx) < 0;
}

/* Requantize, offset, clamp and store the active lanes of acc as int8 at out. */
static inline __attribute__((always_inline)) void edgeq_mve_store4(int8_t *out, int32x4_t acc,
                                                                   const edgeq_mve_rq *rq, int32_t out_off,
                                                                   int32x4_t lo, int32x4_t hi, mve_pred16_t pred,
                                                                   int simple)
{
    int32x4_t r = simple ? edgeq_mve_requantize_right(acc, rq->mult, rq->right_neg)
                         : edgeq_mve_requantize(acc, rq->mult, rq->left, rq->right_neg);
    r = vaddq_n_s32(r, out_off);
    r = vminq_s32(vmaxq_s32(r, lo), hi);
    vstrbq_p_s32(out, r, pred);
}

/* edgeq_mve_requant_rows for two rows, every shift negative, groups x 4 channels: unpredicated
 * loads and stores, every pointer stepped (no indexed address arithmetic, no predicate set-up). */
static inline __attribute__((always_inline)) void edgeq_mve_requant2_simple(const int32_t *pa0, const int32_t *pa1,
                                                                           int32_t groups, const int32_t *pc,
                                                                           const int32_t *pm, const int32_t *ps,
                                                                           int32_t out_off, int32x4_t lo,
                                                                           int32x4_t hi, int8_t *po0, int8_t *po1)
{
    int32_t g;
    for (g = 0; g < groups; g++)
    {
        const int32x4_t cv = vldrwq_s32(pc), m = vldrwq_s32(pm), sh = vldrwq_s32(ps);
        int32x4_t r0 = edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(pa0), cv), m, sh);
        int32x4_t r1 = edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(pa1), cv), m, sh);
        r0 = vminq_s32(vmaxq_s32(vaddq_n_s32(r0, out_off), lo), hi);
        r1 = vminq_s32(vmaxq_s32(vaddq_n_s32(r1, out_off), lo), hi);
        vstrbq_s32(po0, r0);
        vstrbq_s32(po1, r1);
        pa0 += 4;
        pa1 += 4;
        pc += 4;
        pm += 4;
        ps += 4;
        po0 += 4;
        po1 += 4;
    }
}

/*
 * Requantize n channels of one or two rows of raw accumulators (acc0, acc1: the dot products of
 * channels [c0, c0 + n), without bias or offset terms), four channels per vector with the
 * corrections, multipliers and shifts loaded contiguously (mult, shift, corr indexed from c0):
 * out0[0..n), out1[0..n). The accumulate loops only store scalars, so the per-channel work is
 * done once per four channels here instead of once per three-channel group with lanes unused.
 * simple: every shift negative (edgeq_mve_all_right).
 */
static void edgeq_mve_requant_rows(const int32_t *acc0, const int32_t *acc1, int32_t n_rows, int32_t n,
                                   const int32_t *corr, const int32_t *mult, const int32_t *shift, int32_t simple,
                                   int32_t out_off, int32_t act_min, int32_t act_max, int8_t *out0, int8_t *out1)
{
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(act_max);
    int32_t c = 0;
    if (simple)
    {
        /* whole groups of four: unpredicated loads and stores, every pointer stepped (no indexed
         * address arithmetic, no predicate set-up per load) */
        const int32_t *pa0 = acc0, *pc = corr, *pm = mult, *ps = shift;
        int8_t *po0 = out0;
        const int32_t groups = n >> 2;
        int32_t g;
        if (n_rows == 2)
        {
            edgeq_mve_requant2_simple(acc0, acc1, groups, corr, mult, shift, out_off, lo, hi, out0, out1);
        }
        else
        {
            for (g = 0; g < groups; g++)
            {
                const int32x4_t cv = vldrwq_s32(pc), m = vldrwq_s32(pm), sh = vldrwq_s32(ps);
                int32x4_t r0 = edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(pa0), cv), m, sh);
                r0 = vminq_s32(vmaxq_s32(vaddq_n_s32(r0, out_off), lo), hi);
                vstrbq_s32(po0, r0);
                pa0 += 4;
                pc += 4;
                pm += 4;
                ps += 4;
                po0 += 4;
            }
        }
        c = groups << 2;
    }
    for (; c < n; c += 4)
    {
        /* shifts of either sign, and the predicated tail of fewer than four channels */
        const mve_pred16_t pred = vctp32q((uint32_t)(n - c));
        const edgeq_mve_rq rq = edgeq_mve_rq_load(mult + c, shift + c, 1, pred, 0);
        const int32x4_t cv = vldrwq_z_s32(corr + c, pred);
        edgeq_mve_store4(out0 + c, vaddq_s32(vldrwq_z_s32(acc0 + c, pred), cv), &rq, out_off, lo, hi, pred, 0);
        if (n_rows == 2)
        {
            edgeq_mve_store4(out1 + c, vaddq_s32(vldrwq_z_s32(acc1 + c, pred), cv), &rq, out_off, lo, hi, pred, 0);
        }
    }
}

/*
 * The dot products of channels [c, c + 3) (fewer at the end: the missing filter rows repeat
 * the first, their sums land in acc[3] slots the caller ignores) with two input rows x0, x1 of
 * depth k: acc0[0..3), acc1[0..3).
 */
static inline __attribute__((always_inline)) void edgeq_mve_group(const int8_t *filter, int32_t k, const int8_t *x0,
                                                                  const int8_t *x1, int32_t c, int32_t n,
                                                                  int32_t *acc0, int32_t *acc1)
{
    const int8_t *w0 = filter + c * k;
    const int8_t *w1 = n > 1 ? w0 + k : w0;
    const int8_t *w2 = n > 2 ? w0 + 2 * k : w0;
    int32_t a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0;
    int32_t i;
    for (i = k >> 4; i > 0; i--)
    {
        const int8x16_t v0 = vldrbq_s8(w0), v1 = vldrbq_s8(w1), v2 = vldrbq_s8(w2);
        const int8x16_t u0 = vldrbq_s8(x0), u1 = vldrbq_s8(x1);
        w0 += 16;
        w1 += 16;
        w2 += 16;
        x0 += 16;
        x1 += 16;
        a0 = vmladavaq_s8(a0, u0, v0);
        a1 = vmladavaq_s8(a1, u0, v1);
        a2 = vmladavaq_s8(a2, u0, v2);
        b0 = vmladavaq_s8(b0, u1, v0);
        b1 = vmladavaq_s8(b1, u1, v1);
        b2 = vmladavaq_s8(b2, u1, v2);
    }
    if (k & 15)
    {
        const mve_pred16_t tp = vctp8q((uint32_t)(k & 15));
        const int8x16_t v0 = vldrbq_z_s8(w0, tp), v1 = vldrbq_z_s8(w1, tp), v2 = vldrbq_z_s8(w2, tp);
        const int8x16_t u0 = vldrbq_z_s8(x0, tp), u1 = vldrbq_z_s8(x1, tp);
        a0 = vmladavaq_s8(a0, u0, v0);
        a1 = vmladavaq_s8(a1, u0, v1);
        a2 = vmladavaq_s8(a2, u0, v2);
        b0 = vmladavaq_s8(b0, u1, v0);
        b1 = vmladavaq_s8(b1, u1, v1);
        b2 = vmladavaq_s8(b2, u1, v2);
    }
    acc0[0] = a0;
    acc0[1] = a1;
    acc0[2] = a2;
    acc1[0] = b0;
    acc1[1] = b1;
    acc1[2] = b2;
}

/* One 16-byte step of edgeq_mve_dot2x3: five loads, six VMLADAV (op "vmladav" starts the sums,
 * "vmladava" adds to them). */
#define EDGEQ_MVE_2X3_STEP(op)                                                                              \
    "vldrb.u8 %q[u0], [%[xa]], #16\n\t"                                                                      \
    "vldrb.u8 %q[v0], [%[w0]], #16\n\t"                                                                      \
    "vldrb.u8 %q[u1], [%[xb]], #16\n\t" op ".s8 %[a0], %q[u0], %q[v0]\n\t"                                   \
    "vldrb.u8 %q[v1], [%[w1]], #16\n\t" op ".s8 %[b0], %q[u1], %q[v0]\n\t"                                   \
    "vldrb.u8 %q[v2], [%[w2]], #16\n\t" op ".s8 %[a1], %q[u0], %q[v1]\n\t" op ".s8 %[b1], %q[u1], %q[v1]\n\t" \
    op ".s8 %[a2], %q[u0], %q[v2]\n\t" op ".s8 %[b2], %q[u1], %q[v2]\n\t"
/* the six sums: the second row's three at EDGEQ_MVE_ACC_STRIDE, the first row's stepping pa */
#define EDGEQ_MVE_2X3_STORE                                                                                 \
    "str %[b0], [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE) "]\n\t"                                  \
    "str %[b1], [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE + 4) "]\n\t"                              \
    "str %[b2], [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE + 8) "]\n\t"                              \
    "stmia %[pa]!, {%[a0], %[a1], %[a2]}\n\t"
#define EDGEQ_MVE_2X3_OUTPUTS                                                                               \
    [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [b0] "=&r"(b0), [b1] "=&r"(b1), [b2] "=&r"(b2),         \
        [xa] "+r"(xa), [xb] "+r"(xb), [w0] "+r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [pa] "+r"(pa),         \
        [n] "+m"(n), [u0] "=&w"(u0), [u1] "=&w"(u1), [v0] "=&w"(v0), [v1] "=&w"(v1), [v2] "=&w"(v2)

/*
 * The dot products of `groups` (>= 1) three-channel groups -- channels 3g..3g+2 of the filter
 * rows at w, depth k a multiple of 16 and at least 32 -- with two input rows x0, x1:
 * acc[3g + j] (x0) and acc[EDGEQ_MVE_ACC_STRIDE + 3g + j] (x1). The same 2 x 3 blocking as
 * edgeq_mve_group (5 loads and 6 VMLADAVA per 16 bytes) with the group loop in one asm block:
 * GCC spent about 50 instructions a group around the 12-instruction inner loop (pointer set-up,
 * the tail test, accumulator moves and stores); here a group costs 17 besides it (the first
 * step's VMLADAV starts the sums, STM + STR store them, the pointers step on from where the
 * inner loop left them). k and the group count live in memory: the block needs every other
 * core register (six even accumulators, five pointers, LR for the low-overhead loop).
 */
static inline __attribute__((always_inline)) void edgeq_mve_dot2x3(const int8_t *x0, const int8_t *x1,
                                                                   const int8_t *w, int32_t k, int32_t groups,
                                                                   int32_t *acc)
{
#if defined(EDGEQ_EMULATE_MVE)
    int32_t g;
    for (g = 0; g < groups; g++)
    {
        edgeq_mve_group(w, k, x0, x1, 3 * g, 3, acc + 3 * g, acc + EDGEQ_MVE_ACC_STRIDE + 3 * g);
    }
#else
    register int32_t a0 __asm__("r0");
    register int32_t a1 __asm__("r2");
    register int32_t a2 __asm__("r4");
    register int32_t b0 __asm__("r6");
    register int32_t b1 __asm__("r8");
    register int32_t b2 __asm__("r10");
    const int8_t *xa = x0, *xb = x1, *w0 = w, *w1, *w2;
    int32_t *pa = acc;
    int32_t kk = k, n = groups;
    int8x16_t u0, u1, v0, v1, v2;
    __asm__ volatile(
        "ldr lr, %[kk]\n\t"
        "1:\n\t"
        "add %[w1], %[w0], lr\n\t"
        "add %[w2], %[w1], lr\n\t"
        "lsr lr, lr, #4\n\t"
        "sub lr, lr, #1\n\t"
        EDGEQ_MVE_2X3_STEP("vmladav")
        "dls lr, lr\n\t"
        "2:\n\t"
        EDGEQ_MVE_2X3_STEP("vmladava")
        "le lr, 2b\n\t"
        EDGEQ_MVE_2X3_STORE
        "ldr lr, %[kk]\n\t"
        "sub %[xa], %[xa], lr\n\t"
        "sub %[xb], %[xb], lr\n\t"
        "mov %[w0], %[w2]\n\t"
        "ldr %[a0], %[n]\n\t"
        "subs %[a0], %[a0], #1\n\t"
        "str %[a0], %[n]\n\t"
        "bne 1b\n\t"
        : EDGEQ_MVE_2X3_OUTPUTS
        : [kk] "m"(kk)
        : "lr", "cc", "memory");
#endif
}

/* the depths edgeq_mve_dot2x4 takes: its second weight row is read k - 16 bytes on with an
 * immediate offset (VLDRB: at most 127), and its step loop is unrolled at assembly time */
#define EDGEQ_MVE_2X4_K(k) ((k) == 32 || (k) == 64 || (k) == 128)

/* One 16-byte step of edgeq_mve_dot2x4: six loads (two input rows, four filter rows: rows c and
 * c + 1 through wa, the second at the immediate offset k - 16 after wa stepped, rows c + 2 and
 * c + 3 the same through wb), eight VMLADAV into r0-r6 (first row) and r8-r12, LR (second). */
#define EDGEQ_MVE_2X4_STEP(op)                                                                              \
    "vldrb.u8 %q[u0], [%[xa], #edgeq_mve_2x4_at]\n\t"                                                        \
    "vldrb.u8 %q[v0], [%[wa]], #16\n\t"                                                                      \
    "vldrb.u8 %q[u1], [%[xb], #edgeq_mve_2x4_at]\n\t" op ".s8 r0, %q[u0], %q[v0]\n\t"                        \
    "vldrb.u8 %q[v1], [%[wa], #%c[koff]]\n\t" op ".s8 r8, %q[u1], %q[v0]\n\t"                                \
    "vldrb.u8 %q[v0], [%[wb]], #16\n\t" op ".s8 r2, %q[u0], %q[v1]\n\t" op ".s8 r10, %q[u1], %q[v1]\n\t"    \
    "vldrb.u8 %q[v1], [%[wb], #%c[koff]]\n\t" op ".s8 r4, %q[u0], %q[v0]\n\t" op ".s8 r12, %q[u1], %q[v0]\n\t" \
    op ".s8 r6, %q[u0], %q[v1]\n\t" op ".s8 lr, %q[u1], %q[v1]\n\t"

/*
 * The dot products of `groups` (>= 1) four-channel groups -- channels 4g..4g+3 of the filter rows
 * at w, depth k one of EDGEQ_MVE_2X4_K (a constant at every call) -- with two input rows x0, x1:
 * acc[4g + j] (x0) and acc[EDGEQ_MVE_ACC_STRIDE + 4g + j] (x1). 2 x 4 blocking: 6 loads and 8
 * VMLADAV per 16 bytes (14 instructions per 128 multiply-accumulates; edgeq_mve_dot2x3's loop
 * takes 12 per 96), with the step loop unrolled (.rept: LR is the eighth accumulator, so no
 * low-overhead loop; the input rows read at immediate offsets, so they need no stepping back),
 * then 10 instructions a group (5 stores, the weight pointers on by 3k, the end test against
 * the last group's end in memory). The accumulators and Q registers are named in the asm; the
 * five pointers are bound to odd registers (r7 left to the compiler).
 */
static inline __attribute__((always_inline)) void edgeq_mve_dot2x4(const int8_t *x0, const int8_t *x1,
                                                                   const int8_t *w, const int32_t k, int32_t groups,
                                                                   int32_t *acc)
{
#if defined(EDGEQ_EMULATE_MVE)
    int32_t g, j, i;
    for (g = 0; g < groups; g++)
    {
        for (j = 0; j < 4; j++)
        {
            const int8_t *wr = w + (4 * g + j) * k;
            int32_t a = 0, b = 0;
            for (i = 0; i < k; i += 16)
            {
                const int8x16_t wv = vldrbq_s8(wr + i);
                a = vmladavaq_s8(a, vldrbq_s8(x0 + i), wv);
                b = vmladavaq_s8(b, vldrbq_s8(x1 + i), wv);
            }
            acc[4 * g + j] = a;
            acc[EDGEQ_MVE_ACC_STRIDE + 4 * g + j] = b;
        }
    }
#else
    register const int8_t *xa __asm__("r1") = x0;
    register const int8_t *xb __asm__("r3") = x1;
    register const int8_t *wa __asm__("r5") = w;
    register const int8_t *wb __asm__("r9") = w + 2 * k;
    register int32_t *pa __asm__("r11") = acc;
    const int8_t *const w_end = w + groups * 4 * k;
    int8x16_t u0, u1, v0, v1;
    __asm__ volatile("1:\n\t"
                     ".set edgeq_mve_2x4_at, 0\n\t"
                     EDGEQ_MVE_2X4_STEP("vmladav")
                     ".rept %c[steps]\n\t"
                     ".set edgeq_mve_2x4_at, edgeq_mve_2x4_at + 16\n\t"
                     EDGEQ_MVE_2X4_STEP("vmladava")
                     ".endr\n\t"
                     "str r8, [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE) "]\n\t"
                     "str r10, [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE + 4) "]\n\t"
                     "str r12, [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE + 8) "]\n\t"
                     "str lr, [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE + 12) "]\n\t"
                     "stmia %[pa]!, {r0, r2, r4, r6}\n\t"
                     "add %[wa], %[wa], #%c[k3]\n\t"
                     "add %[wb], %[wb], #%c[k3]\n\t"
                     "ldr r0, %[w_end]\n\t"
                     "cmp %[wa], r0\n\t"
                     "bne 1b\n\t"
                     : [wa] "+r"(wa), [wb] "+r"(wb), [pa] "+r"(pa), [u0] "=&w"(u0), [u1] "=&w"(u1), [v0] "=&w"(v0),
                       [v1] "=&w"(v1)
                     : [xa] "r"(xa), [xb] "r"(xb), [w_end] "m"(w_end), [koff] "i"(k - 16), [k3] "i"(3 * k),
                       [steps] "i"(k / 16 - 1)
                     : "r0", "r2", "r4", "r6", "r8", "r10", "r12", "lr", "cc", "memory");
#endif
}

/*
 * One input row x (depth k a multiple of 16) with the filter rows of channels [c0, c1), four at
 * a time: acc[c - c0] for the whole groups of four; returns the channels done. For a single row
 * (an odd last pixel, an odd batch count) the two-row loops compute it twice: this takes 5 loads
 * and 4 VMLADAV per 16 bytes and 4 channels, not 12 instructions per 3 (vww's last 1x1, 3x3
 * pixels of depth 256: 118.7 k -> 113.1 k instructions).
 */
static int32_t edgeq_mve_dot1x4(const int8_t *x, const int8_t *filter, int32_t k, int32_t c0, int32_t c1,
                                int32_t *acc)
{
    int32_t c;
    for (c = c0; c + 4 <= c1; c += 4)
    {
        const int8_t *w0 = filter + c * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k, *p = x;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, i;
        for (i = k >> 4; i > 0; i--)
        {
            const int8x16_t xv = vldrbq_s8(p);
            a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w0));
            a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w1));
            a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w2));
            a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w3));
            p += 16;
            w0 += 16;
            w1 += 16;
            w2 += 16;
            w3 += 16;
        }
        acc[c - c0] = a0;
        acc[c - c0 + 1] = a1;
        acc[c - c0 + 2] = a2;
        acc[c - c0 + 3] = a3;
    }
    return c - c0;
}

/* edgeq_mve_dot2x4 for k in EDGEQ_MVE_2X4_K, each depth a constant of its own asm (the offsets and
 * the unrolled step count); out of line: one copy for the convolution and fully connected callers. */
static __attribute__((noinline)) void edgeq_mve_dot2x4_any(const int8_t *x0, const int8_t *x1, const int8_t *w,
                                                          int32_t k, int32_t groups, int32_t *acc)
{
    if (k == 32)
    {
        edgeq_mve_dot2x4(x0, x1, w, 32, groups, acc);
    }
    else if (k == 64)
    {
        edgeq_mve_dot2x4(x0, x1, w, 64, groups, acc);
    }
    else
    {
        edgeq_mve_dot2x4(x0, x1, w, 128, groups, acc);
    }
}

/*
 * Small depth (k <= 16 * nv, nv <= 3): the two input rows stay in registers as nv vectors each
 * (xa, xb; lanes from k on zero), and every output channel costs nv weight loads and 2 nv
 * VMLADAVA. A channel's weight vectors run on into the next channel's weights, which meet the
 * rows' zero lanes; only the last channels, whose vectors would read past the filter, load
 * predicated (c_safe: the first such channel).
 */
static inline __attribute__((always_inline)) void edgeq_mve_small_k(const int8x16_t *xa, const int8x16_t *xb,
                                                                    int nv, const int8_t *filter, int32_t k,
                                                                    int32_t c0, int32_t c1, int32_t c_safe,
                                                                    int32_t *acc0, int32_t *acc1)
{
    const int8x16_t x00 = xa[0], x10 = xb[0];
    const int8x16_t x01 = nv > 1 ? xa[1] : x00, x11 = nv > 1 ? xb[1] : x10;
    const int8x16_t x02 = nv > 2 ? xa[2] : x00, x12 = nv > 2 ? xb[2] : x10;
    const int8_t *w = filter + c0 * k;
    const int32_t c_end = c_safe < c1 ? c_safe : c1;
    int32_t c;
    for (c = c0; c < c_end; c++)
    {
        int32_t a, b;
        const int8x16_t w0 = vldrbq_s8(w);
        a = vmladavq_s8(x00, w0);
        b = vmladavq_s8(x10, w0);
        if (nv > 1)
        {
            const int8x16_t w1 = vldrbq_s8(w + 16);
            a = vmladavaq_s8(a, x01, w1);
            b = vmladavaq_s8(b, x11, w1);
        }
        if (nv > 2)
        {
            const int8x16_t w2 = vldrbq_s8(w + 32);
            a = vmladavaq_s8(a, x02, w2);
            b = vmladavaq_s8(b, x12, w2);
        }
        acc0[c - c0] = a;
        acc1[c - c0] = b;
        w += k;
    }
    for (; c < c1; c++)
    {
        int32_t a, b, i;
        const int8x16_t xs0[3] = {x00, x01, x02}, xs1[3] = {x10, x11, x12};
        a = 0;
        b = 0;
        for (i = 0; i < nv && 16 * i < k; i++)
        {
            const int8x16_t wv = vldrbq_z_s8(w + 16 * i, vctp8q((uint32_t)(k - 16 * i)));
            a = vmladavaq_s8(a, xs0[i], wv);
            b = vmladavaq_s8(b, xs1[i], wv);
        }
        acc0[c - c0] = a;
        acc1[c - c0] = b;
        w += k;
    }
}

/* Rows of up to 48 bytes whose lanes from k on are zero: xa, xb hold nv = ceil(k / 16) vectors. */
static void edgeq_mve_small_k_any(const int8x16_t *xa, const int8x16_t *xb, int32_t k, const int8_t *filter,
                                  int32_t c0, int32_t c1, int32_t c_safe, int32_t *acc0, int32_t *acc1)
{
    if (k <= 16)
    {
        edgeq_mve_small_k(xa, xb, 1, filter, k, c0, c1, c_safe, acc0, acc1);
    }
    else if (k <= 32)
    {
        edgeq_mve_small_k(xa, xb, 2, filter, k, c0, c1, c_safe, acc0, acc1);
    }
    else
    {
        edgeq_mve_small_k(xa, xb, 3, filter, k, c0, c1, c_safe, acc0, acc1);
    }
}

/*
 * One input row of depth 48 < k <= 64 held in four vectors (lanes from k on zero): acc[c - c0]
 * for c in [c0, c1), four weight loads and four VMLADAVA per channel (two rows would need eight
 * vectors: more than the eight Q registers leave for the weights). c_safe as edgeq_mve_small_k.
 */
static void edgeq_mve_k64_row(const int8x16_t *xa, const int8_t *filter, int32_t k, int32_t c0, int32_t c1,
                              int32_t c_safe, int32_t *acc)
{
    const int8x16_t x0 = xa[0], x1 = xa[1], x2 = xa[2], x3 = xa[3];
    const int8_t *w = filter + c0 * k;
    const int32_t c_end = c_safe < c1 ? c_safe : c1;
    int32_t c;
    for (c = c0; c < c_end; c++)
    {
        int32_t a = vmladavq_s8(x0, vldrbq_s8(w));
        a = vmladavaq_s8(a, x1, vldrbq_s8(w + 16));
        a = vmladavaq_s8(a, x2, vldrbq_s8(w + 32));
        a = vmladavaq_s8(a, x3, vldrbq_s8(w + 48));
        acc[c - c0] = a;
        w += k;
    }
    for (; c < c1; c++)
    {
        int32_t a = vmladavq_s8(x0, vldrbq_s8(w));
        a = vmladavaq_s8(a, x1, vldrbq_s8(w + 16));
        a = vmladavaq_s8(a, x2, vldrbq_s8(w + 32));
        a = vmladavaq_s8(a, x3, vldrbq_z_s8(w + 48, vctp8q((uint32_t)(k - 48))));
        acc[c - c0] = a;
        w += k;
    }
}

/* the largest depth the small-depth path takes */
#define EDGEQ_MVE_SMALL_K 48

/* The first channel whose nv weight vectors (nv = ceil(k / 16)) would read past out_c rows of k. */
static int32_t edgeq_mve_c_safe(int32_t k, int32_t out_c)
{
    const int32_t span = 16 * ((k + 15) >> 4);
    return out_c + 1 - (span + k - 1) / k;
}

/* edgeq_mve_rows2 for rows of depth k <= EDGEQ_MVE_SMALL_K already in vectors (lanes from k on
 * zero; xb = xa for one row). c_safe: edgeq_mve_c_safe(k, out_c). */
static void edgeq_mve_small_rows2(const int8x16_t *xa, const int8x16_t *xb, int32_t n_rows, const int8_t *filter,
                                  int32_t k, int32_t c0, int32_t c1, int32_t c_safe, const int32_t *corr,
                                  const int32_t *mult, const int32_t *shift, int32_t simple, int32_t out_off,
                                  int32_t act_min, int32_t act_max, int8_t *out0, int8_t *out1)
{
    int32_t acc0[EDGEQ_MVE_CHUNK + 4], acc1[EDGEQ_MVE_CHUNK + 4];
    edgeq_mve_small_k_any(xa, xb, k, filter, c0, c1, c_safe, acc0, acc1);
    edgeq_mve_requant_rows(acc0, acc1, n_rows, c1 - c0, corr, mult + c0, shift + c0, simple, out_off, act_min,
                           act_max, out0 + c0, out1 + c0);
}

/* xv[0..ceil(k / 16)) = row[0..k), zero from k on (predicated loads: nothing read past k). */
static inline void edgeq_mve_load_row(int8x16_t *xv, const int8_t *row, int32_t k)
{
    int32_t i;
    for (i = 0; 16 * i < k; i++)
    {
        xv[i] = vldrbq_z_s8(row + 16 * i, vctp8q((uint32_t)(k - 16 * i)));
    }
}

/* edgeq_mve_rows2 for 48 < k <= 64 (rows x0, x1 as there): each row in four vectors, one row
 * at a time (edgeq_mve_k64_row). */
static void edgeq_mve_k64_rows2(const int8_t *x0, const int8_t *x1, int32_t n_rows, const int8_t *filter, int32_t k,
                                int32_t c0, int32_t c1, int32_t c_safe, const int32_t *corr, const int32_t *mult,
                                const int32_t *shift, int32_t simple, int32_t out_off, int32_t act_min,
                                int32_t act_max, int8_t *out0, int8_t *out1)
{
    int32_t acc0[EDGEQ_MVE_CHUNK + 4], acc1[EDGEQ_MVE_CHUNK + 4];
    int8x16_t xv[4];
    edgeq_mve_load_row(xv, x0, k);
    edgeq_mve_k64_row(xv, filter, k, c0, c1, c_safe, acc0);
    if (n_rows == 2)
    {
        edgeq_mve_load_row(xv, x1, k);
        edgeq_mve_k64_row(xv, filter, k, c0, c1, c_safe, acc1);
    }
    edgeq_mve_requant_rows(acc0, acc1, n_rows, c1 - c0, corr, mult + c0, shift + c0, simple, out_off, act_min,
                           act_max, out0 + c0, out1 + c0);
}

/*
 * Output channels [c0, c1) of two input rows x0, x1 (n_rows 1 or 2; x1 = x0 for one) of depth k:
 * out0[c] and out1[c] (out1 unused for one row). corr[c - c0] as above; simple:
 * edgeq_mve_all_right(shift, per_channel, c0, c1) (the caller's, once per channel chunk).
 */
static void edgeq_mve_rows2(const int8_t *x0, const int8_t *x1, int32_t n_rows, const int8_t *filter, int32_t k,
                            int32_t c0, int32_t c1, const int32_t *corr, const int32_t *mult, const int32_t *shift,
                            int32_t per_channel, int32_t simple, int32_t out_off, int32_t act_min, int32_t act_max,
                            int8_t *out0, int8_t *out1)
{
    int32_t acc[2 * EDGEQ_MVE_ACC_STRIDE];
    int32_t *const acc0 = acc, *const acc1 = acc + EDGEQ_MVE_ACC_STRIDE;
    int32_t c = c0;
    if (n_rows < 2)
    {
        x1 = x0;
    }
    if (n_rows < 2 && (k & 15) == 0 && k >= 32 && !EDGEQ_MVE_2X4_K(k))
    {
        /* (the 2x4 loop's two rows cost about what this loop's one does at those depths) */
        c = c0 + edgeq_mve_dot1x4(x0, filter, k, c0, c1, acc0);
    }
    else if (EDGEQ_MVE_2X4_K(k) && c1 - c0 >= 4)
    {
        const int32_t groups = (c1 - c0) >> 2;
        edgeq_mve_dot2x4_any(x0, x1, filter + c0 * k, k, groups, acc);
        c = c0 + 4 * groups;
    }
    else if ((k & 15) == 0 && k >= 32 && c1 - c0 >= 3)
    {
        const int32_t groups = (c1 - c0) / 3;
        edgeq_mve_dot2x3(x0, x1, filter + c0 * k, k, groups, acc);
        c = c0 + 3 * groups;
    }
    for (; c + 3 <= c1; c += 3)
    {
        edgeq_mve_group(filter, k, x0, x1, c, 3, acc0 + (c - c0), acc1 + (c - c0));
    }
    if (c < c1)
    {
        edgeq_mve_group(filter, k, x0, x1, c, c1 - c, acc0 + (c - c0), acc1 + (c - c0));
    }
    if (per_channel)
    {
        edgeq_mve_requant_rows(acc0, acc1, n_rows, c1 - c0, corr, mult + c0, shift + c0, simple, out_off, act_min,
                               act_max, out0 + c0, out1 + c0);
    }
    else
    {
        /* one multiplier / shift for all: per-tensor FC (several batches), one channel at a time */
        int32_t mv[4], sv[4], i, r;
        for (i = 0; i < 4; i++)
        {
            mv[i] = mult[0];
            sv[i] = shift[0];
        }
        for (c = 0; c < c1 - c0; c += 4)
        {
            const int32_t n = c1 - c0 - c < 4 ? c1 - c0 - c : 4;
            for (r = 0; r < n_rows; r++)
            {
                edgeq_mve_requant_rows((r == 0 ? acc0 : acc1) + c, 0, 1, n, corr + c, mv, sv, 0, out_off, act_min,
                                       act_max, (r == 0 ? out0 : out1) + c0 + c, 0);
            }
        }
    }
}

/*
 * Unpadded 1x1 convolution, stride 1, depth k <= 16 * nv (nv <= 3), every shift negative, a
 * multiple of four output channels [c0, c1): the pixel-pair loop with the row loads, the dot
 * products (edgeq_mve_small_k) and the requantization all inline, no call per pair (for VWW's
 * shallow 1x1s, whose 8-32 channels a pair made the calls a third of the work). Returns the
 * pixels done (an even count: an odd last pixel is left to the caller).
 */
static inline __attribute__((always_inline)) int32_t edgeq_mve_1x1_small_run(int nv, const int8_t *x, int32_t pixels,
                                                                            int32_t k, const int8_t *filter,
                                                                            int32_t c0, int32_t c1, int32_t c_safe,
                                                                            const int32_t *corr, const int32_t *mult,
                                                                            const int32_t *shift, int32_t out_off,
                                                                            int32_t act_min, int32_t act_max,
                                                                            int8_t *out, int32_t out_c)
{
    int32_t acc0[EDGEQ_MVE_CHUNK + 4], acc1[EDGEQ_MVE_CHUNK + 4];
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(act_max);
    const int32_t groups = (c1 - c0) >> 2;
    int32_t p, i;
    out += c0;
    for (p = 0; p + 2 <= pixels; p += 2)
    {
        int8x16_t xa[3], xb[3];
        for (i = 0; i < nv; i++)
        {
            const mve_pred16_t lp = vctp8q((uint32_t)(k - 16 * i));
            xa[i] = vldrbq_z_s8(x + 16 * i, lp);
            xb[i] = vldrbq_z_s8(x + k + 16 * i, lp);
        }
        edgeq_mve_small_k(xa, xb, nv, filter, k, c0, c1, c_safe, acc0, acc1);
        edgeq_mve_requant2_simple(acc0, acc1, groups, corr, mult + c0, shift + c0, out_off, lo, hi, out,
                                  out + out_c);
        x += 2 * k;
        out += 2 * out_c;
    }
    return p;
}

/* What edgeq_mve_quad_steps needs, in one block its asm reads with immediate offsets (the step
 * loop keeps only the moving pointers and counts in registers). The asm uses the byte offsets
 * noted here (checked below for the target). */
typedef struct
{
    const int8_t *w;       /*  0: filter row c0 */
    int32_t n_safe;        /*  4: groups read from w */
    const int8_t *w_tail;  /*  8: padded copy of the rows of the groups after them */
    int32_t n_tail;        /* 12: groups read from w_tail */
    int32_t *acc;          /* 16: 16 sums a group */
    const int32_t *corr;   /* 20: channel c0's correction, multiplier, shift */
    const int32_t *mult;   /* 24 */
    const int32_t *shift;  /* 28 */
    int32_t groups;        /* 32: n_safe + n_tail */
    int32_t out_c;         /* 36: bytes from one output pixel to the next */
    int32_t out_step;      /* 40: 4 out_c - 4 groups: pixel 0's output after a step's requantization */
    int32_t act_min;       /* 44 */
    int32_t act_max;       /* 48 */
    int32_t out_off;       /* 52 */
    const int8_t *x;       /* 56: input row of pixel 0 */
    int8_t *out;           /* 60: pixel 0, channel c0 */
    int32_t steps;         /* 64: four pixels each, at least 1 */
    int32_t k;             /* 68: depth, 1..16 */
    uint32_t rows[4];      /* 72: acc - 64 + 16 j: where the requantization's gathers start */
} edgeq_mve_quad_args;

#if defined(EDGEQ_EMULATE_MVE)
/* acc[16 g + 4 j + p] = input row p (x0..x3) times filter row 4 g + j from w (rows k apart,
 * each loaded as 16 bytes: the rows' zero lanes from k on cancel the next row's bytes) */
static void edgeq_mve_dot4_groups(int8x16_t x0, int8x16_t x1, int8x16_t x2, int8x16_t x3, const int8_t *w,
                                  int32_t k, int32_t n_groups, int32_t *acc)
{
    int32_t g, j;
    for (g = 0; g < n_groups; g++)
    {
        for (j = 0; j < 4; j++)
        {
            const int8x16_t wv = vldrbq_s8(w);
            acc[4 * j] = vmladavq_s8(x0, wv);
            acc[4 * j + 1] = vmladavq_s8(x1, wv);
            acc[4 * j + 2] = vmladavq_s8(x2, wv);
            acc[4 * j + 3] = vmladavq_s8(x3, wv);
            w += k;
        }
        acc += 16;
    }
}

/* Requantize the sums of `groups` four-channel groups of n_px pixels, laid out per group as
 * acc[4 n_px g + n_px j + p] (channel 4 g + j, pixel p: edgeq_mve_dot4_groups' and the triple
 * route's layout), into pixels 0..n_px-1 of out, out_c apart. corr, mult, shift from channel c0. */
static void edgeq_mve_requant_gathered(const int32_t *acc, int32_t n_px, int32_t groups, const int32_t *corr,
                                       const int32_t *mult, const int32_t *shift, int32_t out_off,
                                       int32_t act_min, int32_t act_max, int8_t *out, int32_t out_c)
{
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(act_max);
    int32_t g, p;
    for (g = 0; g < groups; g++)
    {
        const int32x4_t cv = vldrwq_s32(corr + 4 * g), m = vldrwq_s32(mult + 4 * g);
        const int32x4_t sh = vldrwq_s32(shift + 4 * g);
        for (p = 0; p < n_px; p++)
        {
            /* pixel p's four channels: every n_px-th sum (a gather on the target) */
            const int32_t *pa = acc + 4 * n_px * g + p;
            const int32_t lanes[4] = {pa[0], pa[n_px], pa[2 * n_px], pa[3 * n_px]};
            const int32x4_t r = vaddq_n_s32(edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(lanes), cv), m, sh),
                                            out_off);
            vstrbq_s32(out + p * out_c + 4 * g, vminq_s32(vmaxq_s32(r, lo), hi));
        }
    }
}

static void edgeq_mve_quad_steps(edgeq_mve_quad_args *a)
{
    const mve_pred16_t lp = vctp8q((uint32_t)a->k);
    const int8_t *x = a->x;
    int8_t *out = a->out;
    int32_t s;
    for (s = 0; s < a->steps; s++)
    {
        const int8x16_t x0 = vldrbq_z_s8(x, lp), x1 = vldrbq_z_s8(x + a->k, lp);
        const int8x16_t x2 = vldrbq_z_s8(x + 2 * a->k, lp), x3 = vldrbq_z_s8(x + 3 * a->k, lp);
        edgeq_mve_dot4_groups(x0, x1, x2, x3, a->w, a->k, a->n_safe, a->acc);
        edgeq_mve_dot4_groups(x0, x1, x2, x3, a->w_tail, a->k, a->n_tail, a->acc + 16 * a->n_safe);
        edgeq_mve_requant_gathered(a->acc, 4, a->groups, a->corr, a->mult, a->shift, a->out_off, a->act_min,
                                   a->act_max, out, a->out_c);
        x += 4 * a->k;
        out += 4 * a->out_c;
    }
}
#else
/*
 * The step loop in one asm block with fixed registers (all 14 core registers and 8 Q registers
 * are in use; through C, GCC spilled and recomputed about 60 instructions of pointers a step).
 * Kept across steps: r0 the argument block, r1 the input, r3 pixel 0's output, r12 the steps
 * left (k when k is not a constant), q5, q6 the clamp bounds, P0 = VCTP(k) for the input loads.
 * r7 stays unused: it is the frame pointer of Thumb code built with one.
 * A step:
 *   x: q0..q3 = input rows 0..3 (predicated, zero from k on), r1 past them.
 *   dot products (twice: from the filter, then from the padded tail copy; WLS skips an empty
 *     one): per group of four channels, per channel one 16-byte weight load into q4, four
 *     VMLADAV into r2, r4, r6, r8 (pixels 0..3; VMLADAV wants even registers) and one STM of
 *     the four: acc[16 g + 4 j + p] (one store a channel instead of four).
 *   requantization: per group the correction, multiplier and shift vectors (q0..q2, pointers
 *     r9, r5, r10) once, then per pixel p its four channels (every fourth sum) by one gather
 *     through the address vector q7 (lane j: channel j's sums; the first pixel's gather steps
 *     it to the next group), edgeq_mve_requantize_right (q3; q4 the rounding fix-up),
 *     + the output offset (r8), clamp, VSTRB.32 through r3, r2, r4, r6 (pixels 0..3; low
 *     registers, as VSTRB.32 requires).
 */
/* the offsets the asm reads the argument block at */
typedef char edgeq_mve_quad_args_layout[offsetof(edgeq_mve_quad_args, w_tail) == 8 &&
                                                offsetof(edgeq_mve_quad_args, acc) == 16 &&
                                                offsetof(edgeq_mve_quad_args, out_off) == 52 &&
                                                offsetof(edgeq_mve_quad_args, k) == 68 &&
                                                offsetof(edgeq_mve_quad_args, rows) == 72
                                            ? 1
                                            : -1];
#define EDGEQ_MVE_QS_CH(w)                                                                                    \
    w "vmladav.s8 r2, q0, q4\n\t"                                                                             \
      "vmladav.s8 r4, q1, q4\n\t"                                                                             \
      "vmladav.s8 r6, q2, q4\n\t"                                                                             \
      "vmladav.s8 r8, q3, q4\n\t"                                                                             \
      "stm r11!, {r2, r4, r6, r8}\n\t"
#define EDGEQ_MVE_QS_GROUP(w) EDGEQ_MVE_QS_CH(w) EDGEQ_MVE_QS_CH(w) EDGEQ_MVE_QS_CH(w) EDGEQ_MVE_QS_CH(w)
#define EDGEQ_MVE_QS_PIXEL(load, po)                                                                          \
    load "vadd.i32 q3, q3, q0\n\t"                                                                            \
         "vqrdmulh.s32 q3, q3, q1\n\t"                                                                        \
         "vshr.s32 q4, q3, #31\n\t"                                                                           \
         "vqadd.s32 q3, q3, q4\n\t"                                                                           \
         "vrshl.s32 q3, q3, q2\n\t"                                                                           \
         "vadd.i32 q3, q3, r8\n\t"                                                                            \
         "vmax.s32 q3, q3, q5\n\t"                                                                            \
         "vmin.s32 q3, q3, q6\n\t"                                                                            \
         "vstrb.32 q3, [" po "], #4\n\t"
/* xload: the four input rows into q0..q3 and r1 past them; w: one weight row into q4, r5 past it;
 * init (r12 = k on entry), next: set up and count the steps and branch back to 0 while any are
 * left (in r12 for a constant k, else in the argument block: r12 keeps k) */
#define EDGEQ_MVE_QS_LOOP(xload, w, init, next)                                                               \
    __asm__ volatile("ldr r1, [r0, #56]\n\t"                                                                  \
                     "ldr r3, [r0, #60]\n\t"                                                                  \
                     "ldr r12, [r0, #68]\n\t"                                                                 \
                     "ldr r8, [r0, #44]\n\t"                                                                  \
                     "vdup.32 q5, r8\n\t"                                                                     \
                     "ldr r8, [r0, #48]\n\t"                                                                  \
                     "vdup.32 q6, r8\n\t"                                                                     \
                     "vctp.8 r12\n\t" init                                                                   \
                     "0:\n\t" xload                                                                           \
                     "ldr r5, [r0, #0]\n\t"                                                                   \
                     "ldr r11, [r0, #16]\n\t"                                                                 \
                     "ldr r8, [r0, #4]\n\t"                                                                   \
                     "wls lr, r8, 2f\n\t"                                                                     \
                     "1:\n\t" EDGEQ_MVE_QS_GROUP(w) "le lr, 1b\n\t"                                           \
                     "2:\n\t"                                                                                 \
                     "ldr r5, [r0, #8]\n\t"                                                                   \
                     "ldr r8, [r0, #12]\n\t"                                                                  \
                     "wls lr, r8, 4f\n\t"                                                                     \
                     "3:\n\t" EDGEQ_MVE_QS_GROUP(w) "le lr, 3b\n\t"                                           \
                     "4:\n\t"                                                                                 \
                     "vldrw.32 q7, [r0, #72]\n\t"                                                             \
                     "ldr r9, [r0, #20]\n\t"                                                                  \
                     "ldr r5, [r0, #24]\n\t"                                                                  \
                     "ldr r10, [r0, #28]\n\t"                                                                 \
                     "ldr r8, [r0, #36]\n\t"                                                                  \
                     "add r2, r3, r8\n\t"                                                                     \
                     "add r4, r2, r8\n\t"                                                                     \
                     "add r6, r4, r8\n\t"                                                                     \
                     "ldr r8, [r0, #32]\n\t"                                                                  \
                     "dls lr, r8\n\t"                                                                         \
                     "ldr r8, [r0, #52]\n\t"                                                                  \
                     "5:\n\t"                                                                                 \
                     "vldrw.32 q0, [r9], #16\n\t"                                                             \
                     "vldrw.32 q1, [r5], #16\n\t"                                                             \
                     "vldrw.32 q2, [r10], #16\n\t"                                                            \
                     EDGEQ_MVE_QS_PIXEL("vldrw.u32 q3, [q7, #64]!\n\t", "r3")                                 \
                     EDGEQ_MVE_QS_PIXEL("vldrw.u32 q3, [q7, #4]\n\t", "r2")                                   \
                     EDGEQ_MVE_QS_PIXEL("vldrw.u32 q3, [q7, #8]\n\t", "r4")                                   \
                     EDGEQ_MVE_QS_PIXEL("vldrw.u32 q3, [q7, #12]\n\t", "r6")                                  \
                     "le lr, 5b\n\t"                                                                          \
                     "ldr r8, [r0, #40]\n\t"                                                                  \
                     "add r3, r3, r8\n\t"                                                                     \
                     next                                                                                     \
                     : "+r"(ra)                                                                               \
                     :                                                                                        \
                     : "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "d0",        \
                       "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14", \
                       "d15", "cc", "memory")
/* the input rows with post-indexed loads when k is a constant (vww's depths 8 and 16) */
#define EDGEQ_MVE_QS_STEPS_R12 "ldr r12, [r0, #64]\n\t"
#define EDGEQ_MVE_QS_NEXT_R12                                                                                 \
    "subs r12, r12, #1\n\t"                                                                                   \
    "bne 0b\n\t"
#define EDGEQ_MVE_QS_NEXT_MEM                                                                                 \
    "ldr r8, [r0, #64]\n\t"                                                                                   \
    "subs r8, r8, #1\n\t"                                                                                     \
    "str r8, [r0, #64]\n\t"                                                                                   \
    "bne 0b\n\t"
#define EDGEQ_MVE_QS_XLOAD_K(k)                                                                               \
    "vpstttt\n\t"                                                                                             \
    "vldrbt.8 q0, [r1], #" #k "\n\t"                                                                          \
    "vldrbt.8 q1, [r1], #" #k "\n\t"                                                                          \
    "vldrbt.8 q2, [r1], #" #k "\n\t"                                                                          \
    "vldrbt.8 q3, [r1], #" #k "\n\t"

/* a->steps is counted down (for k not a constant) */
static __attribute__((noinline)) void edgeq_mve_quad_steps(edgeq_mve_quad_args *a)
{
    register edgeq_mve_quad_args *ra __asm__("r0") = a;
    if (a->k == 8)
    {
        EDGEQ_MVE_QS_LOOP(EDGEQ_MVE_QS_XLOAD_K(8), "vldrb.u8 q4, [r5], #8\n\t", EDGEQ_MVE_QS_STEPS_R12,
                          EDGEQ_MVE_QS_NEXT_R12);
    }
    else if (a->k == 16)
    {
        EDGEQ_MVE_QS_LOOP(EDGEQ_MVE_QS_XLOAD_K(16), "vldrb.u8 q4, [r5], #16\n\t", EDGEQ_MVE_QS_STEPS_R12,
                          EDGEQ_MVE_QS_NEXT_R12);
    }
    else
    {
        EDGEQ_MVE_QS_LOOP("add r2, r1, r12\n\t"
                          "add r4, r2, r12\n\t"
                          "add r6, r4, r12\n\t"
                          "vpstttt\n\t"
                          "vldrbt.8 q0, [r1]\n\t"
                          "vldrbt.8 q1, [r2]\n\t"
                          "vldrbt.8 q2, [r4]\n\t"
                          "vldrbt.8 q3, [r6]\n\t"
                          "add r1, r6, r12\n\t",
                          "vldrb.u8 q4, [r5]\n\t"
                          "add r5, r5, r12\n\t",
                          "", EDGEQ_MVE_QS_NEXT_MEM);
    }
}
#undef EDGEQ_MVE_QS_NEXT_MEM
#undef EDGEQ_MVE_QS_NEXT_R12
#undef EDGEQ_MVE_QS_STEPS_R12
#undef EDGEQ_MVE_QS_XLOAD_K
#undef EDGEQ_MVE_QS_LOOP
#undef EDGEQ_MVE_QS_GROUP
#undef EDGEQ_MVE_QS_CH
#endif

/* the bytes of the padded copy of the last filter rows edgeq_mve_1x1_quad may need: the rows
 * past the filter's end for a 16-byte load number floor(15 / k), plus up to 3 more of their group,
 * (floor(15 / k) + 3) k <= 15 + 3 k <= 63 bytes, and the last row's load reads 16 - k on */
#define EDGEQ_MVE_QUAD_TAIL 96

/*
 * Unpadded stride-1 1x1 convolution of depth k <= 16, every shift negative, a multiple of four
 * output channels [c0, c1): four pixels a step (edgeq_mve_quad_steps: per group of four
 * channels 4 weight loads, 16 VMLADAV and 16 stores, then per group one requantization of the
 * four pixels' vectors with the parameters loaded once). The groups whose 16-byte weight loads
 * would pass the filter's end (from c_safe on, only when k < 16) run on a zero-padded copy of
 * their rows on the stack, made once per call, so every step takes the same unpredicated loop.
 * In-place contract (the generated code runs an in-place layer in one call on it): the pixels
 * go in ascending order, four a step, and a step loads its four input rows into registers
 * before it writes any output.
 * Returns the pixels done (a multiple of four; the rest is left to the caller).
 */
static __attribute__((noinline)) int32_t edgeq_mve_1x1_quad(const int8_t *x, int32_t pixels, int32_t k,
                                                            const int8_t *filter, int32_t c0, int32_t c1,
                                                            int32_t c_safe, const int32_t *corr,
                                                            const cmsis_nn_per_channel_quant_params *qp,
                                                            const cmsis_nn_conv_params *cp, int8_t *out,
                                                            int32_t out_c)
{
    int32_t acc[4 * EDGEQ_MVE_CHUNK];
    int8_t tail[EDGEQ_MVE_QUAD_TAIL];
    edgeq_mve_quad_args a;
    const int32_t groups = (c1 - c0) >> 2;
    /* groups whose every row's 16-byte load stays inside the filter */
    const int32_t n_safe = c_safe <= c0 ? 0 : ((c_safe - c0) >> 2 < groups ? (c_safe - c0) >> 2 : groups);
    const int8_t *w = filter + c0 * k;
    int32_t i;
    if (pixels < 4)
    {
        return 0;
    }
    if (n_safe < groups)
    {
        /* the rows, then zeros up to the last row's 16th byte */
        const int32_t n_tail = (groups - n_safe) * 4 * k;
        for (i = 0; i < n_tail + 16 - k; i += 16)
        {
            const int32_t left = n_tail - i > 0 ? n_tail - i : 0;
            vstrbq_s8(tail + i, vldrbq_z_s8(w + n_safe * 4 * k + i, vctp8q((uint32_t)left)));
        }
    }
    a.w = w;
    a.n_safe = n_safe;
    a.w_tail = tail;
    a.n_tail = groups - n_safe;
    a.acc = acc;
    a.corr = corr;
    a.mult = qp->multiplier + c0;
    a.shift = qp->shift + c0;
    a.groups = groups;
    a.out_c = out_c;
    a.out_step = 4 * out_c - 4 * groups;
    a.act_min = cp->activation.min;
    a.act_max = cp->activation.max;
    a.out_off = cp->output_offset;
    a.x = x;
    a.out = out + c0;
    a.steps = pixels >> 2;
    a.k = k;
    for (i = 0; i < 4; i++)
    {
        a.rows[i] = (uint32_t)(uintptr_t)acc - 64u + 16u * (uint32_t)i;
    }
    edgeq_mve_quad_steps(&a);
    return pixels & ~3;
}

/* What edgeq_mve_triple_steps needs, read by its asm with immediate offsets (byte offsets noted,
 * checked below for the target). */
typedef struct
{
    const int8_t *w;      /*  0: filter row c0 */
    int32_t groups;       /*  4: four channels each, at least 1 */
    int32_t *acc;         /*  8: 12 sums a group */
    const int32_t *corr;  /* 12: channel c0's correction, multiplier, shift */
    const int32_t *mult;  /* 16 */
    const int32_t *shift; /* 20 */
    int32_t out_c;        /* 24: bytes from one output pixel to the next */
    int32_t out_step;     /* 28: 3 out_c - 4 groups: pixel 0's output after a step's requantization */
    int32_t act_min;      /* 32 */
    int32_t act_max;      /* 36 */
    int32_t out_off;      /* 40 */
    const int8_t *x;      /* 44: input row of pixel 0 */
    int8_t *out;          /* 48: pixel 0, channel c0 */
    int32_t steps;        /* 52: three pixels each, at least 1 */
    int32_t k;            /* 56: depth, 32, 64 or 128 */
    uint32_t rows[4];     /* 60: acc - 48 + 12 j: where the requantization's gathers start */
} edgeq_mve_triple_args;

#if defined(EDGEQ_EMULATE_MVE)
static void edgeq_mve_triple_steps(edgeq_mve_triple_args *a)
{
    const int8_t *x = a->x;
    int8_t *out = a->out;
    int32_t s, g, j, p, i;
    for (s = 0; s < a->steps; s++)
    {
        /* acc[12 g + 3 j + p] = input row p times filter row 4 g + j (all three rows read first) */
        for (g = 0; g < a->groups; g++)
        {
            for (j = 0; j < 4; j++)
            {
                const int8_t *wr = a->w + (4 * g + j) * a->k;
                for (p = 0; p < 3; p++)
                {
                    int32_t sum = 0;
                    for (i = 0; i < a->k; i += 16)
                    {
                        sum = vmladavaq_s8(sum, vldrbq_s8(x + p * a->k + i), vldrbq_s8(wr + i));
                    }
                    a->acc[12 * g + 3 * j + p] = sum;
                }
            }
        }
        edgeq_mve_requant_gathered(a->acc, 3, a->groups, a->corr, a->mult, a->shift, a->out_off, a->act_min,
                                   a->act_max, out, a->out_c);
        x += 3 * a->k;
        out += 3 * a->out_c;
    }
}
#else
typedef char edgeq_mve_triple_args_layout[offsetof(edgeq_mve_triple_args, acc) == 8 &&
                                                  offsetof(edgeq_mve_triple_args, out_off) == 40 &&
                                                  offsetof(edgeq_mve_triple_args, steps) == 52 &&
                                                  offsetof(edgeq_mve_triple_args, rows) == 60
                                              ? 1
                                              : -1];
/* One channel of a slice: its two weight vectors (q7 the slice's first 16 bytes, q6 the 16 bytes
 * k / 2 on, r5 stepping k / 2 after each: on to the next row), the three pixels' sums in r2, r4,
 * r6 (op "vmladav" starts them, "vmladava" adds to them after `ld` reloads the earlier slices'),
 * stored by one STM. */
#define EDGEQ_MVE_TS_CH(k, ld, op)                                                                           \
    "vldrb.u8 q7, [r5], #" #k " / 2\n\t"                                                                      \
    "vldrb.u8 q6, [r5], #" #k " / 2\n\t" ld op ".s8 r2, q0, q7\n\t" op ".s8 r4, q2, q7\n\t" op               \
    ".s8 r6, q4, q7\n\t"                                                                                      \
    "vmladava.s8 r2, q1, q6\n\t"                                                                              \
    "vmladava.s8 r4, q3, q6\n\t"                                                                              \
    "vmladava.s8 r6, q5, q6\n\t"                                                                              \
    "stm r11!, {r2, r4, r6}\n\t"
#define EDGEQ_MVE_TS_FIRST(k) EDGEQ_MVE_TS_CH(k, "", "vmladav")
#define EDGEQ_MVE_TS_MORE(k) EDGEQ_MVE_TS_CH(k, "ldm r11, {r2, r4, r6}\n\t", "vmladava")
/* The dot products of slice d -- bytes [d, d + 16) and [d + k / 2, d + k / 2 + 16) -- of the three
 * input rows (r1, r8, r10) with every channel's (ch: EDGEQ_MVE_TS_FIRST for the first slice, else
 * EDGEQ_MVE_TS_MORE): the six row vectors into q0..q5 (immediate offsets: at most 127, so k <= 128),
 * then a group of four channels per low-overhead loop turn. */
#define EDGEQ_MVE_TS_SLICE(k, d, ch)                                                                         \
    "vldrb.u8 q0, [r1, #" #d "]\n\t"                                                                          \
    "vldrb.u8 q1, [r1, #" #d " + " #k " / 2]\n\t"                                                             \
    "vldrb.u8 q2, [r8, #" #d "]\n\t"                                                                          \
    "vldrb.u8 q3, [r8, #" #d " + " #k " / 2]\n\t"                                                             \
    "vldrb.u8 q4, [r10, #" #d "]\n\t"                                                                         \
    "vldrb.u8 q5, [r10, #" #d " + " #k " / 2]\n\t"                                                            \
    "ldr r5, [r0, #0]\n\t"                                                                                    \
    "add r5, r5, #" #d "\n\t"                                                                                 \
    "ldr r11, [r0, #8]\n\t"                                                                                   \
    "ldr lr, [r0, #4]\n\t"                                                                                    \
    "dls lr, lr\n\t"                                                                                          \
    "1:\n\t" ch ch ch ch "le lr, 1b\n\t"
/*
 * The step loop in one asm block with fixed registers, as edgeq_mve_quad_steps: r0 the argument
 * block, r1 the step's first input row, r3 pixel 0's output, r12 the steps left; r7 unused.
 * A step: the dot products slice by slice (slices: the EDGEQ_MVE_TS_SLICE of d = 0, 16, ..,
 * k / 2 - 16; pixels 1 and 2 through r8, r10), then the requantization of EDGEQ_MVE_QS_PIXEL per
 * group of four channels and pixel (the gather address vector q7 steps 48 bytes a group; pixels
 * 0..2's outputs through r3, r2, r4), the clamp bounds q5, q6 loaded again (the slices use every
 * Q register).
 */
#define EDGEQ_MVE_TS_LOOP(k, slices)                                                                         \
    __asm__ volatile("ldr r1, [r0, #44]\n\t"                                                                  \
                     "ldr r3, [r0, #48]\n\t"                                                                  \
                     "ldr r12, [r0, #52]\n\t"                                                                 \
                     "0:\n\t"                                                                                 \
                     "add r8, r1, #" #k "\n\t"                                                                \
                     "add r10, r1, #2 * " #k "\n\t" slices                                                    \
                     "ldr r8, [r0, #32]\n\t"                                                                  \
                     "vdup.32 q5, r8\n\t"                                                                     \
                     "ldr r8, [r0, #36]\n\t"                                                                  \
                     "vdup.32 q6, r8\n\t"                                                                     \
                     "vldrw.32 q7, [r0, #60]\n\t"                                                             \
                     "ldr r9, [r0, #12]\n\t"                                                                  \
                     "ldr r5, [r0, #16]\n\t"                                                                  \
                     "ldr r10, [r0, #20]\n\t"                                                                 \
                     "ldr r8, [r0, #24]\n\t"                                                                  \
                     "add r2, r3, r8\n\t"                                                                     \
                     "add r4, r2, r8\n\t"                                                                     \
                     "ldr r8, [r0, #4]\n\t"                                                                   \
                     "dls lr, r8\n\t"                                                                         \
                     "ldr r8, [r0, #40]\n\t"                                                                  \
                     "5:\n\t"                                                                                 \
                     "vldrw.32 q0, [r9], #16\n\t"                                                             \
                     "vldrw.32 q1, [r5], #16\n\t"                                                             \
                     "vldrw.32 q2, [r10], #16\n\t"                                                            \
                     EDGEQ_MVE_QS_PIXEL("vldrw.u32 q3, [q7, #48]!\n\t", "r3")                                 \
                     EDGEQ_MVE_QS_PIXEL("vldrw.u32 q3, [q7, #4]\n\t", "r2")                                   \
                     EDGEQ_MVE_QS_PIXEL("vldrw.u32 q3, [q7, #8]\n\t", "r4")                                   \
                     "le lr, 5b\n\t"                                                                          \
                     "ldr r8, [r0, #28]\n\t"                                                                  \
                     "add r3, r3, r8\n\t"                                                                     \
                     "add r1, r1, #3 * " #k "\n\t"                                                            \
                     "subs r12, r12, #1\n\t"                                                                  \
                     "bne 0b\n\t"                                                                             \
                     : "+r"(ra)                                                                               \
                     :                                                                                        \
                     : "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "d0",        \
                       "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14", \
                       "d15", "cc", "memory")

static __attribute__((noinline)) void edgeq_mve_triple_steps(edgeq_mve_triple_args *a)
{
    register edgeq_mve_triple_args *ra __asm__("r0") = a;
    if (a->k == 32)
    {
        EDGEQ_MVE_TS_LOOP(32, EDGEQ_MVE_TS_SLICE(32, 0, EDGEQ_MVE_TS_FIRST(32)));
    }
    else if (a->k == 64)
    {
        EDGEQ_MVE_TS_LOOP(64, EDGEQ_MVE_TS_SLICE(64, 0, EDGEQ_MVE_TS_FIRST(64))
                                  EDGEQ_MVE_TS_SLICE(64, 16, EDGEQ_MVE_TS_MORE(64)));
    }
    else
    {
        EDGEQ_MVE_TS_LOOP(128, EDGEQ_MVE_TS_SLICE(128, 0, EDGEQ_MVE_TS_FIRST(128))
                                   EDGEQ_MVE_TS_SLICE(128, 16, EDGEQ_MVE_TS_MORE(128))
                                       EDGEQ_MVE_TS_SLICE(128, 32, EDGEQ_MVE_TS_MORE(128))
                                           EDGEQ_MVE_TS_SLICE(128, 48, EDGEQ_MVE_TS_MORE(128)));
    }
}
#undef EDGEQ_MVE_TS_LOOP
#undef EDGEQ_MVE_TS_SLICE
#undef EDGEQ_MVE_TS_MORE
#undef EDGEQ_MVE_TS_FIRST
#undef EDGEQ_MVE_TS_CH
#endif
#undef EDGEQ_MVE_QS_PIXEL

/* the depths edgeq_mve_1x1_triple takes (constants of its asm: the row offsets, the slice count) */
#define EDGEQ_MVE_TRIPLE_K(k) ((k) == 32 || (k) == 64 || (k) == 128)

/*
 * Unpadded stride-1 1x1 convolution of depth k in EDGEQ_MVE_TRIPLE_K, every shift negative, a
 * multiple of four output channels [c0, c1): three pixels a step (edgeq_mve_triple_steps). Per
 * slice of 32 bytes of depth (16 from each half of the row: the weight pointer then steps by
 * post-increments alone) the three rows stay in six Q registers while every channel's two weight
 * vectors pass them (2 loads, 6 VMLADAV and one STM of the three sums a channel: 3 per output
 * and slice, where the 2 x 4 blocking of edgeq_mve_dot2x4 takes 3.5 and edgeq_mve_small_k 4.5
 * with its stores); k = 64 and 128 take two and four slices, the later ones reloading the sums
 * (LDM). Then per group of four channels the parameters once and one gather a pixel, as
 * edgeq_mve_1x1_quad.
 * In-place contract: the pixels go in ascending order, three a step, and a step reads its three
 * input rows (every slice) before it writes any output.
 * Returns the pixels done (a multiple of three; the rest is left to the caller).
 */
static __attribute__((noinline)) int32_t edgeq_mve_1x1_triple(const int8_t *x, int32_t pixels, int32_t k,
                                                              const int8_t *filter, int32_t c0, int32_t c1,
                                                              const int32_t *corr,
                                                              const cmsis_nn_per_channel_quant_params *qp,
                                                              const cmsis_nn_conv_params *cp, int8_t *out,
                                                              int32_t out_c)
{
    int32_t acc[3 * EDGEQ_MVE_CHUNK];
    edgeq_mve_triple_args a;
    const int32_t groups = (c1 - c0) >> 2;
    int32_t i;
    if (pixels < 3 || groups < 1)
    {
        return 0;
    }
    a.w = filter + c0 * k;
    a.groups = groups;
    a.acc = acc;
    a.corr = corr;
    a.mult = qp->multiplier + c0;
    a.shift = qp->shift + c0;
    a.out_c = out_c;
    a.out_step = 3 * out_c - 4 * groups;
    a.act_min = cp->activation.min;
    a.act_max = cp->activation.max;
    a.out_off = cp->output_offset;
    a.x = x;
    a.out = out + c0;
    a.steps = pixels / 3;
    a.k = k;
    for (i = 0; i < 4; i++)
    {
        a.rows[i] = (uint32_t)(uintptr_t)acc - 48u + 12u * (uint32_t)i;
    }
    edgeq_mve_triple_steps(&a);
    return 3 * a.steps;
}

/* edgeq_mve_1x1_small_run with nv = ceil(k / 16) a constant (a call of its own: the 1x1 kernel's
 * other paths keep their code generation). */
static __attribute__((noinline)) int32_t edgeq_mve_1x1_small(const int8_t *x, int32_t pixels, int32_t k,
                                                             const int8_t *filter, int32_t c0, int32_t c1,
                                                             int32_t c_safe, const int32_t *corr,
                                                             const cmsis_nn_per_channel_quant_params *qp,
                                                             const cmsis_nn_conv_params *cp, int8_t *out,
                                                             int32_t out_c)
{
    const int32_t *mlt = qp->multiplier, *sft = qp->shift;
    const int32_t oo = cp->output_offset, amin = cp->activation.min, amax = cp->activation.max;
    if (k <= 16)
    {
        const int32_t p4 = edgeq_mve_1x1_quad(x, pixels, k, filter, c0, c1, c_safe, corr, qp, cp, out, out_c);
        return p4 + edgeq_mve_1x1_small_run(1, x + p4 * k, pixels - p4, k, filter, c0, c1, c_safe, corr, mlt, sft, oo,
                                            amin, amax, out + p4 * out_c, out_c);
    }
    if (k <= 32)
    {
        const int32_t p3 = k == 32 ? edgeq_mve_1x1_triple(x, pixels, k, filter, c0, c1, corr, qp, cp, out, out_c) : 0;
        return p3 + edgeq_mve_1x1_small_run(2, x + p3 * k, pixels - p3, k, filter, c0, c1, c_safe, corr, mlt, sft, oo,
                                            amin, amax, out + p3 * out_c, out_c);
    }
    return edgeq_mve_1x1_small_run(3, x, pixels, k, filter, c0, c1, c_safe, corr, mlt, sft, oo, amin, amax, out,
                                   out_c);
}

/*
 * Unpadded stride-1 1x1 convolution of depth k in EDGEQ_MVE_2X4_K, every shift negative, a
 * multiple of four output channels [c0, c1): the pixel-pair loop with nothing per pair but the
 * dot products (edgeq_mve_dot2x4_any) and the requantization (inline): through edgeq_mve_rows2
 * a pair cost about 240 instructions more (its set-up, the requantization call), 13% of a KWS
 * 1x1. Returns the pixels done (even: an odd last pixel is left to the caller).
 */
static __attribute__((noinline)) int32_t edgeq_mve_1x1_pairs(const int8_t *x, int32_t pixels, int32_t k,
                                                             const int8_t *filter, int32_t c0, int32_t c1,
                                                             const int32_t *corr,
                                                             const cmsis_nn_per_channel_quant_params *qp,
                                                             const cmsis_nn_conv_params *cp, int8_t *out,
                                                             int32_t out_c)
{
    int32_t acc[2 * EDGEQ_MVE_ACC_STRIDE];
    const int32_t *mult = qp->multiplier + c0, *shift = qp->shift + c0;
    const int32x4_t lo = vdupq_n_s32(cp->activation.min), hi = vdupq_n_s32(cp->activation.max);
    const int32_t groups = (c1 - c0) >> 2, out_off = cp->output_offset;
    const int8_t *w = filter + c0 * k;
    int32_t p = 0;
    if (EDGEQ_MVE_TRIPLE_K(k))
    {
        p = edgeq_mve_1x1_triple(x, pixels, k, filter, c0, c1, corr, qp, cp, out, out_c);
        x += p * k;
    }
    out += c0 + p * out_c;
    for (; p + 2 <= pixels; p += 2)
    {
        edgeq_mve_dot2x4_any(x, x + k, w, k, groups, acc);
        edgeq_mve_requant2_simple(acc, acc + EDGEQ_MVE_ACC_STRIDE, groups, corr, mult, shift, out_off, lo, hi, out,
                                  out + out_c);
        x += 2 * k;
        out += 2 * out_c;
    }
    return p;
}

/* ------------------------------------------------------------------ fully connected */

/* One input row: units [0, units) three at a time, the weight sums in the same pass. */
static __attribute__((noinline)) void edgeq_mve_fc_row(const int8_t *x, const int8_t *filter, int32_t k, int32_t units, const int32_t *bias,
                             int32_t in_off, const int32_t *mult, const int32_t *shift, int32_t per_channel,
                             int32_t out_off, int32_t act_min, int32_t act_max, int8_t *out)
{
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(act_max);
    const int32_t tail = k & 15;
    const mve_pred16_t tail_pred = vctp8q((uint32_t)tail);
    int32_t u;
    for (u = 0; u < units; u += 3)
    {
        const int32_t n_u = units - u >= 3 ? 3 : units - u;
        const mve_pred16_t pred = vctp32q((uint32_t)n_u);
        const int8_t *w0 = filter + u * k;
        const int8_t *w1 = n_u > 1 ? w0 + k : w0;
        const int8_t *w2 = n_u > 2 ? w0 + 2 * k : w0;
        const int8_t *p = x;
        int32_t a0 = 0, a1 = 0, a2 = 0, s0 = 0, s1 = 0, s2 = 0;
        int32_t n;
        for (n = k >> 4; n > 0; n--)
        {
            const int8x16_t v0 = vldrbq_s8(w0), v1 = vldrbq_s8(w1), v2 = vldrbq_s8(w2);
            const int8x16_t xv = vldrbq_s8(p);
            w0 += 16;
            w1 += 16;
            w2 += 16;
            p += 16;
            a0 = vmladavaq_s8(a0, xv, v0);
            a1 = vmladavaq_s8(a1, xv, v1);
            a2 = vmladavaq_s8(a2, xv, v2);
            s0 = vaddvaq_s8(s0, v0);
            s1 = vaddvaq_s8(s1, v1);
            s2 = vaddvaq_s8(s2, v2);
        }
        if (tail)
        {
            const int8x16_t v0 = vldrbq_z_s8(w0, tail_pred), v1 = vldrbq_z_s8(w1, tail_pred);
            const int8x16_t v2 = vldrbq_z_s8(w2, tail_pred);
            const int8x16_t xv = vldrbq_z_s8(p, tail_pred);
            a0 = vmladavaq_s8(a0, xv, v0);
            a1 = vmladavaq_s8(a1, xv, v1);
            a2 = vmladavaq_s8(a2, xv, v2);
            s0 = vaddvaq_s8(s0, v0);
            s1 = vaddvaq_s8(s1, v1);
            s2 = vaddvaq_s8(s2, v2);
        }
        {
            const edgeq_mve_rq rq = edgeq_mve_rq_load(mult + (per_channel ? u : 0), shift + (per_channel ? u : 0),
                                                      per_channel, pred, 0);
            int32x4_t acc = bias != 0 ? vldrwq_z_s32(bias + u, pred) : vdupq_n_s32(0);
            acc = vaddq_s32(acc, vmulq_n_s32(edgeq_mve_lanes3(s0, s1, s2), in_off));
            edgeq_mve_store4(out + u, vaddq_s32(acc, edgeq_mve_lanes3(a0, a1, a2)), &rq, out_off, lo, hi, pred, 0);
        }
    }
}

arm_cmsis_nn_status edgeq_mve_fully_connected_s8(const cmsis_nn_fc_params *fc_params, const int32_t *mult,
                                                 const int32_t *shift, int32_t per_channel,
                                                 const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                 const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                                 const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                                 int8_t *output_data)
{
    const int32_t batches = input_dims->n, k = filter_dims->n, units = output_dims->c;
    const int32_t in_off = fc_params->input_offset, out_off = fc_params->output_offset;
    const int32_t act_min = fc_params->activation.min, act_max = fc_params->activation.max;
    int32_t corr[EDGEQ_MVE_CHUNK];
    int32_t b, c0;
    if (batches == 1)
    {
        edgeq_mve_fc_row(input_data, filter_data, k, units, bias_data, in_off, mult, shift, per_channel, out_off,
                         act_min, act_max, output_data);
        return ARM_CMSIS_NN_SUCCESS;
    }
    /* several batches: the weight sums once, then two batches per pass */
    for (c0 = 0; c0 < units; c0 += EDGEQ_MVE_CHUNK)
    {
        const int32_t c1 = units - c0 > EDGEQ_MVE_CHUNK ? c0 + EDGEQ_MVE_CHUNK : units;
        const int32_t simple = edgeq_mve_all_right(shift, per_channel, c0, c1);
        const int32_t *cr = edgeq_mve_corrections(corr, filter_data, k, bias_data, in_off, c0, c1);
        for (b = 0; b < batches; b += 2)
        {
            const int32_t n_rows = batches - b >= 2 ? 2 : 1;
            const int8_t *x0 = input_data + b * k;
            edgeq_mve_rows2(x0, n_rows == 2 ? x0 + k : x0, n_rows, filter_data, k, c0, c1, cr, mult, shift,
                            per_channel, simple, out_off, act_min, act_max, output_data + b * units,
                            output_data + (b + n_rows - 1) * units);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* ------------------------------------------------------------------ 1x1 convolution */

arm_cmsis_nn_status edgeq_mve_convolve_1x1_s8(const cmsis_nn_conv_params *conv_params,
                                              const cmsis_nn_per_channel_quant_params *quant_params,
                                              const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                              const int8_t *filter_data, const int32_t *bias_data,
                                              const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t out_w = output_dims->w, pixels = output_dims->n * output_dims->h * out_w;
    const int32_t per_batch = output_dims->h * out_w;
    const int32_t s_h = conv_params->stride.h, s_w = conv_params->stride.w;
    const int32_t c_safe = edgeq_mve_c_safe(in_c, out_c);
    int32_t corr[EDGEQ_MVE_CHUNK];
    int32_t c0, p;
    /* in order (edgeq_mve_kernels.h): every route below walks the pixels upward, four (quad), three
     * (triple), two or one at a time, loading a group's input rows (into vectors, or in its dot
     * products) before its requantization stores; keep it so in any new route (the generated code
     * runs in-place layers in one call on it) */
    for (c0 = 0; c0 < out_c; c0 += EDGEQ_MVE_CHUNK)
    {
        const int32_t c1 = out_c - c0 > EDGEQ_MVE_CHUNK ? c0 + EDGEQ_MVE_CHUNK : out_c;
        const int32_t simple = edgeq_mve_all_right(quant_params->shift, 1, c0, c1);
        const int32_t *cr = edgeq_mve_corrections(corr, filter_data, in_c, bias_data, conv_params->input_offset, c0, c1);
        p = 0;
        if (EDGEQ_NEED_1X1_PAIRS_MVE && s_h == 1 && s_w == 1 && in_c <= EDGEQ_MVE_SMALL_K && simple &&
            ((c1 - c0) & 3) == 0)
        {
            p = edgeq_mve_1x1_small(input_data, pixels, in_c, filter_data, c0, c1, c_safe, cr, quant_params,
                                    conv_params, output_data, out_c);
        }
        else if (s_h == 1 && s_w == 1 && EDGEQ_MVE_2X4_K(in_c) && in_c > EDGEQ_MVE_SMALL_K && simple &&
                 ((c1 - c0) & 3) == 0)
        {
            p = edgeq_mve_1x1_pairs(input_data, pixels, in_c, filter_data, c0, c1, cr, quant_params, conv_params,
                                    output_data, out_c);
        }
        for (; p < pixels; p += 2)
        {
            const int32_t n_rows = pixels - p >= 2 ? 2 : 1;
            const int8_t *x[2];
            int32_t i;
            for (i = 0; i < 2; i++)
            {
                /* the input pixel output pixel p + i reads (the last one again for an odd count) */
                const int32_t q = p + (i < n_rows ? i : 0);
                if (s_h == 1 && s_w == 1)
                {
                    x[i] = input_data + q * in_c;
                }
                else
                {
                    const int32_t bt = q / per_batch, r = q % per_batch;
                    const int32_t y = (r / out_w) * s_h, xx = (r % out_w) * s_w;
                    x[i] = input_data + ((bt * input_dims->h + y) * input_dims->w + xx) * in_c;
                }
            }
            if (in_c <= EDGEQ_MVE_SMALL_K)
            {
                int8x16_t xa[3], xb[3];
                edgeq_mve_load_row(xa, x[0], in_c);
                edgeq_mve_load_row(xb, x[1], in_c);
                edgeq_mve_small_rows2(xa, xb, n_rows, filter_data, in_c, c0, c1, c_safe, cr,
                                      quant_params->multiplier, quant_params->shift, simple,
                                      conv_params->output_offset, conv_params->activation.min,
                                      conv_params->activation.max, output_data + p * out_c,
                                      output_data + (p + n_rows - 1) * out_c);
                continue;
            }
            if (in_c <= 64 && (in_c & 15) != 0)
            {
                edgeq_mve_k64_rows2(x[0], x[1], n_rows, filter_data, in_c, c0, c1, c_safe, cr,
                                    quant_params->multiplier, quant_params->shift, simple,
                                    conv_params->output_offset, conv_params->activation.min,
                                    conv_params->activation.max, output_data + p * out_c,
                                    output_data + (p + n_rows - 1) * out_c);
                continue;
            }
            edgeq_mve_rows2(x[0], x[1], n_rows, filter_data, in_c, c0, c1, cr, quant_params->multiplier,
                            quant_params->shift, 1, simple, conv_params->output_offset, conv_params->activation.min,
                            conv_params->activation.max, output_data + p * out_c,
                            output_data + (p + n_rows - 1) * out_c);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* ------------------------------------------------------------------ im2col convolution */

/* dst[0..n) = src[0..n) */
static inline void edgeq_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    while (n > 0)
    {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
        dst += 16;
        src += 16;
        n -= 16;
    }
}

/* dst[0..n) = v */
static inline void edgeq_mve_fill(int8_t *dst, int8_t v, int32_t n)
{
    const int8x16_t vv = vdupq_n_s8(v);
    while (n > 0)
    {
        vstrbq_p_s8(dst, vv, vctp8q((uint32_t)n));
        dst += 16;
        n -= 16;
    }
}

int32_t edgeq_mve_convolve_s8_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    return 2 * filter_dims->h * filter_dims->w * input_dims->c;
}

/* The receptive field of output pixel (oy, ox) in filter order (ky, kx, c): input values, the
 * zero point `pad` at taps outside the input. */
static void edgeq_mve_im2col(int8_t *col, const int8_t *in_b, const cmsis_nn_conv_params *cp,
                             const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims, int32_t oy, int32_t ox,
                             int8_t pad)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t dil_h = k_h == 1 ? 1 : cp->dilation.h, dil_w = k_w == 1 ? 1 : cp->dilation.w;
    const int32_t y0 = oy * cp->stride.h - cp->padding.h, x0 = ox * cp->stride.w - cp->padding.w;
    const int32_t row = k_w * in_c;
    int32_t ky_lo, ky_hi, kx_lo, kx_hi, ky, kx;
    edgeq_tap_range(y0, dil_h, k_h, in_h, &ky_lo, &ky_hi);
    edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
    if (ky_lo > 0)
    {
        edgeq_mve_fill(col, pad, ky_lo * row);
    }
    for (ky = ky_lo; ky < ky_hi; ky++)
    {
        int8_t *dst = col + ky * row;
        const int8_t *src = in_b + ((y0 + ky * dil_h) * in_w + x0) * in_c;
        if (kx_lo > 0)
        {
            edgeq_mve_fill(dst, pad, kx_lo * in_c);
        }
        if (dil_w == 1)
        {
            edgeq_mve_copy(dst + kx_lo * in_c, src + kx_lo * in_c, (kx_hi - kx_lo) * in_c);
        }
        else
        {
            for (kx = kx_lo; kx < kx_hi; kx++)
            {
                edgeq_mve_copy(dst + kx * in_c, src + kx * dil_w * in_c, in_c);
            }
        }
        if (kx_hi < k_w)
        {
            edgeq_mve_fill(dst + kx_hi * in_c, pad, (k_w - kx_hi) * in_c);
        }
    }
    if (ky_hi < k_h)
    {
        edgeq_mve_fill(col + ky_hi * row, pad, (k_h - ky_hi) * row);
    }
}

/* edgeq_mve_gather for a border pixel whose kernel rows are each at most 16 contiguous bytes: the
 * input lanes of the taps inside the input (a lane mask [lo, hi) of the row), the zero point at
 * the others, zero past the row; rows outside the input all zero point (edgeq_mve_im2col's
 * result, one store a row). Out of line: one copy for every caller. */
static __attribute__((noinline)) void edgeq_mve_gather_rows(int8_t *col, const int8_t *in_b,
                                                            const cmsis_nn_conv_params *cp,
                                                            const cmsis_nn_dims *input_dims,
                                                            const cmsis_nn_dims *filter_dims, int32_t y0, int32_t x0,
                                                            int8_t pad)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t dil_h = k_h == 1 ? 1 : cp->dilation.h;
    const int32_t row = k_w * in_c;
    int32_t kx_lo, kx_hi, ky;
    uint32_t lo, hi;
    mve_pred16_t m;
    int8x16_t pr;
    intptr_t x_off;
    edgeq_tap_range(x0, 1, k_w, in_w, &kx_lo, &kx_hi);
    lo = (uint32_t)(kx_lo * in_c);
    hi = kx_hi > kx_lo ? (uint32_t)(kx_hi * in_c) : lo;
    m = (mve_pred16_t)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
    pr = vpselq_s8(vdupq_n_s8(pad), vdupq_n_s8(0), vctp8q((uint32_t)row));
    /* the row's first tap column (x0 may be left of the input: only lanes from lo are read) */
    x_off = (intptr_t)x0 * in_c;
    for (ky = 0; ky < k_h; ky++)
    {
        const int32_t y = y0 + ky * dil_h;
        int8x16_t v = pr;
        if (y >= 0 && y < in_h && m != 0)
        {
            const int8_t *src = (const int8_t *)((intptr_t)(in_b + (intptr_t)y * in_w * in_c) + x_off);
            v = vpselq_s8(vldrbq_z_s8(src, m), pr, m);
        }
        vstrbq_s8(col + ky * row, v);
    }
}

/*
 * The receptive field of output pixel (oy, ox) into col (filter order, lanes from k on left as
 * they are: zero). An interior pixel whose kernel rows are contiguous in the input (dilation 1
 * along x) and at most 16 bytes long copies each row with one predicated load and one 16-byte
 * store (the store's lanes past the row are zero, overwritten by the next row or, after the last
 * row, past k); a border pixel with such rows (fast_rows) merges each row's inside taps with the
 * zero point (VPSEL) at the same cost; other pixels take edgeq_mve_im2col.
 */
static inline void edgeq_mve_gather(int8_t *col, const int8_t *in_b, const cmsis_nn_conv_params *cp,
                                    const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims, int32_t oy,
                                    int32_t ox, int8_t pad, int32_t fast_rows)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t dil_h = k_h == 1 ? 1 : cp->dilation.h;
    const int32_t y0 = oy * cp->stride.h - cp->padding.h, x0 = ox * cp->stride.w - cp->padding.w;
    if (fast_rows && y0 >= 0 && y0 + (k_h - 1) * dil_h < in_h && x0 >= 0 && x0 + k_w <= in_w)
    {
        const int32_t row = k_w * in_c, y_step = dil_h * in_w * in_c;
        const mve_pred16_t rp = vctp8q((uint32_t)row);
        const int8_t *src = in_b + (y0 * in_w + x0) * in_c;
        int32_t ky;
        for (ky = 0; ky < k_h; ky++)
        {
            vstrbq_s8(col + ky * row, vldrbq_z_s8(src, rp));
            src += y_step;
        }
        return;
    }
    if (fast_rows)
    {
        edgeq_mve_gather_rows(col, in_b, cp, input_dims, filter_dims, y0, x0, pad);
        return;
    }
    edgeq_mve_im2col(col, in_b, cp, input_dims, filter_dims, oy, ox, pad);
}

/*
 * edgeq_mve_convolve_small_k's pixel pairs when every shift is negative and [c0, c1) is a
 * multiple of four channels, with nv = ceil(k / 16) a constant: the output position stepped (no
 * divisions), the dot products and the requantization inline (no calls per pair). col: the two
 * zero-padded columns. Returns the pixels done (even; an odd last one is left to the caller).
 */
static inline __attribute__((always_inline)) int32_t edgeq_mve_conv_small_run(
    int nv, const cmsis_nn_conv_params *cp, const cmsis_nn_dims *input_dims, const int8_t *input_data,
    const cmsis_nn_dims *filter_dims, const int8_t *filter_data, const cmsis_nn_dims *output_dims, int32_t c0,
    int32_t c1, int32_t c_safe, const int32_t *corr, const int32_t *mult, const int32_t *shift, int32_t fast_rows,
    int8_t (*col)[EDGEQ_MVE_SMALL_K + 16], int8_t *output_data)
{
    int32_t acc0[EDGEQ_MVE_CHUNK + 4], acc1[EDGEQ_MVE_CHUNK + 4];
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * out_h * out_w;
    const int32_t in_batch = input_dims->h * input_dims->w * input_dims->c;
    const int8_t pad = (int8_t)(-cp->input_offset);
    const int32x4_t lo = vdupq_n_s32(cp->activation.min), hi = vdupq_n_s32(cp->activation.max);
    const int32_t groups = (c1 - c0) >> 2, out_off = cp->output_offset;
    const int8_t *in_b = input_data;
    int8_t *out = output_data + c0;
    int32_t p, i, oy = 0, ox = 0;
    for (p = 0; p + 2 <= pixels; p += 2)
    {
        int8x16_t xa[3], xb[3];
        for (i = 0; i < 2; i++)
        {
            edgeq_mve_gather(col[i], in_b, cp, input_dims, filter_dims, oy, ox, pad, fast_rows);
            if (++ox == out_w)
            {
                ox = 0;
                if (++oy == out_h)
                {
                    oy = 0;
                    in_b += in_batch;
                }
            }
        }
        for (i = 0; i < nv; i++)
        {
            xa[i] = vldrbq_s8(col[0] + 16 * i);
            xb[i] = vldrbq_s8(col[1] + 16 * i);
        }
        edgeq_mve_small_k(xa, xb, nv, filter_data, k, c0, c1, c_safe, acc0, acc1);
        edgeq_mve_requant2_simple(acc0, acc1, groups, corr, mult + c0, shift + c0, out_off, lo, hi, out,
                                  out + out_c);
        out += 2 * out_c;
    }
    return p;
}

static __attribute__((noinline)) int32_t edgeq_mve_conv_small(const cmsis_nn_conv_params *cp,
                                                              const cmsis_nn_dims *input_dims,
                                                              const int8_t *input_data,
                                                              const cmsis_nn_dims *filter_dims,
                                                              const int8_t *filter_data,
                                                              const cmsis_nn_dims *output_dims, int32_t c0,
                                                              int32_t c1, int32_t c_safe, const int32_t *corr,
                                                              const int32_t *mult, const int32_t *shift,
                                                              int32_t fast_rows,
                                                              int8_t (*col)[EDGEQ_MVE_SMALL_K + 16],
                                                              int8_t *output_data)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    if (k <= 32)
    {
        return edgeq_mve_conv_small_run(2, cp, input_dims, input_data, filter_dims, filter_data, output_dims, c0, c1,
                                        c_safe, corr, mult, shift, fast_rows, col, output_data);
    }
    return edgeq_mve_conv_small_run(3, cp, input_dims, input_data, filter_dims, filter_data, output_dims, c0, c1,
                                    c_safe, corr, mult, shift, fast_rows, col, output_data);
}

/*
 * edgeq_mve_convolve_s8's output channels [c0, c1) when the receptive field has at most
 * EDGEQ_MVE_SMALL_K taps (a first layer on 1- or 3-channel input): two pixels' fields gathered
 * into zero-padded 64-byte columns on the stack, then held in registers for every channel
 * (edgeq_mve_small_rows2).
 */
static void edgeq_mve_convolve_small_k(const cmsis_nn_conv_params *cp, const cmsis_nn_dims *input_dims,
                                       const int8_t *input_data, const cmsis_nn_dims *filter_dims,
                                       const int8_t *filter_data, const cmsis_nn_dims *output_dims, int32_t c0,
                                       int32_t c1, const int32_t *corr, const int32_t *mult, const int32_t *shift,
                                       int32_t simple, int8_t *output_data)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t per_batch = out_h * out_w, pixels = output_dims->n * per_batch;
    const int32_t in_batch = input_dims->h * input_dims->w * input_dims->c;
    const int32_t fast_rows = (filter_dims->w == 1 || cp->dilation.w == 1) && filter_dims->w * input_dims->c <= 16;
    const int32_t c_safe = edgeq_mve_c_safe(k, out_c);
    const int8_t pad = (int8_t)(-cp->input_offset);
    /* 3 * 16 lanes, and the last row's 16-byte store from at most k - 1 on */
    int8_t col[2][EDGEQ_MVE_SMALL_K + 16];
    int32_t p, i;
    edgeq_mve_fill(col[0], 0, (int32_t)sizeof(col));
    p = 0;
    if (EDGEQ_NEED_CONV_PAIRS_MVE && simple && ((c1 - c0) & 3) == 0 && k > 16)
    {
        /* (receptive fields of 17-48 taps: VWW's 27 and KWS's 40; a field of at most 16 keeps the
         * loop below, one instantiation fewer in flash) */
        p = edgeq_mve_conv_small(cp, input_dims, input_data, filter_dims, filter_data, output_dims, c0, c1, c_safe,
                                 corr, mult, shift, fast_rows, col, output_data);
    }
    for (; p < pixels; p += 2)
    {
        const int32_t n_rows = pixels - p >= 2 ? 2 : 1;
        int8x16_t xa[3], xb[3];
        for (i = 0; i < n_rows; i++)
        {
            const int32_t q = p + i, bt = q / per_batch, r = q % per_batch;
            edgeq_mve_gather(col[i], input_data + bt * in_batch, cp, input_dims, filter_dims, r / out_w, r % out_w,
                             pad, fast_rows);
        }
        for (i = 0; 16 * i < k; i++)
        {
            xa[i] = vldrbq_s8(col[0] + 16 * i);
            xb[i] = vldrbq_s8(col[n_rows - 1] + 16 * i);
        }
        edgeq_mve_small_rows2(xa, xb, n_rows, filter_data, k, c0, c1, c_safe, corr, mult, shift, simple,
                              cp->output_offset, cp->activation.min, cp->activation.max, output_data + p * out_c,
                              output_data + (p + n_rows - 1) * out_c);
    }
}

/* ------------------------------------------------------------------ row-vector convolution */

/*
 * First-layer convolutions whose kernel rows fit one vector each (k_w * in_c <= 16, k_h = 3,
 * dilation 1; VWW's 3x3 on RGB: rows of 9 bytes): an interior output pixel loads each kernel
 * row of its receptive field straight from the input with one predicated load (lanes past the
 * row zero), and each filter row is read in place with a 16-byte load whose lanes past the row
 * (the next row's weights) meet those zeros. No receptive-field gather through a stack column,
 * no bounds test per pixel: the interior of an output row is known from the geometry, and its
 * pixels run in pairs (k_h loads per pixel, k_h weight loads and 2 k_h VMLADAVA per channel and
 * pair). Border pixels, and an odd last interior one, take edgeq_mve_convolve_small_k's gather.
 */
static int32_t edgeq_mve_rowvec_ok(const cmsis_nn_conv_params *cp, const cmsis_nn_dims *input_dims,
                                   const cmsis_nn_dims *filter_dims)
{
    /* (three rows only: VWW's shape; one or two rows keep edgeq_mve_convolve_small_k, one
     * instantiation of this route in flash) */
    return filter_dims->h == 3 && filter_dims->w * input_dims->c <= 16 && cp->dilation.h == 1 &&
           (filter_dims->w == 1 || cp->dilation.w == 1);
}

/* The dot products of channels [c0, c1) with the receptive fields of the pixel pair whose first
 * field's top row starts at x (the second's px_step bytes on, rows row_step apart): nr (= k_h)
 * rows of row_len (= k_w * in_c) bytes, acc0 / acc1 indexed from c0. Channels from c_safe on
 * load their weight rows predicated (a 16-byte load would read past the filter). */
static inline __attribute__((always_inline)) void edgeq_mve_rowvec_pair(int nr, const int8_t *x, int32_t row_step,
                                                                        int32_t px_step, int32_t row_len,
                                                                        mve_pred16_t rp, const int8_t *filter,
                                                                        int32_t k, int32_t c0, int32_t c1,
                                                                        int32_t c_safe, int32_t *acc0,
                                                                        int32_t *acc1)
{
    const int8x16_t a0 = vldrbq_z_s8(x, rp), b0 = vldrbq_z_s8(x + px_step, rp);
    const int8x16_t a1 = nr > 1 ? vldrbq_z_s8(x + row_step, rp) : a0;
    const int8x16_t b1 = nr > 1 ? vldrbq_z_s8(x + row_step + px_step, rp) : b0;
    const int8x16_t a2 = nr > 2 ? vldrbq_z_s8(x + 2 * row_step, rp) : a0;
    const int8x16_t b2 = nr > 2 ? vldrbq_z_s8(x + 2 * row_step + px_step, rp) : b0;
    const int8_t *w = filter + c0 * k;
    const int32_t c_end = c_safe < c1 ? c_safe : c1;
    int32_t c;
    for (c = c0; c < c_end; c++)
    {
        const int8x16_t w0 = vldrbq_s8(w);
        int32_t a = vmladavq_s8(a0, w0), b = vmladavq_s8(b0, w0);
        if (nr > 1)
        {
            const int8x16_t w1 = vldrbq_s8(w + row_len);
            a = vmladavaq_s8(a, a1, w1);
            b = vmladavaq_s8(b, b1, w1);
        }
        if (nr > 2)
        {
            const int8x16_t w2 = vldrbq_s8(w + 2 * row_len);
            a = vmladavaq_s8(a, a2, w2);
            b = vmladavaq_s8(b, b2, w2);
        }
        acc0[c - c0] = a;
        acc1[c - c0] = b;
        w += k;
    }
    for (; c < c1; c++)
    {
        const int8x16_t w0 = vldrbq_z_s8(w, rp);
        int32_t a = vmladavq_s8(a0, w0), b = vmladavq_s8(b0, w0);
        if (nr > 1)
        {
            const int8x16_t w1 = vldrbq_z_s8(w + row_len, rp);
            a = vmladavaq_s8(a, a1, w1);
            b = vmladavaq_s8(b, b1, w1);
        }
        if (nr > 2)
        {
            const int8x16_t w2 = vldrbq_z_s8(w + 2 * row_len, rp);
            a = vmladavaq_s8(a, a2, w2);
            b = vmladavaq_s8(b, b2, w2);
        }
        acc0[c - c0] = a;
        acc1[c - c0] = b;
        w += k;
    }
}

/* the most channels edgeq_mve_rowvec3_packed takes (their filter rows copied to the stack, 48
 * bytes a channel) */
#define EDGEQ_MVE_RV_CH 16

/* edgeq_mve_rowvec_pair for three kernel rows (fields a0..a2 and b0..b2 already loaded) with the
 * filter rows copied to wp as 16-byte rows (zero past the row): one asm loop of 12 instructions a
 * channel (GCC, short of Q registers with six fields live, spilled two of them and reloaded
 * them every channel: 18). acc[c] and acc[EDGEQ_MVE_ACC_STRIDE + c], c in [0, n), n >= 1. */
static inline __attribute__((always_inline)) void edgeq_mve_rowvec3_packed(int8x16_t a0, int8x16_t a1, int8x16_t a2,
                                                                           int8x16_t b0, int8x16_t b1, int8x16_t b2,
                                                                           const int8_t *wp, int32_t n, int32_t *acc)
{
#if defined(EDGEQ_EMULATE_MVE)
    int32_t c;
    for (c = 0; c < n; c++)
    {
        const int8x16_t w0 = vldrbq_s8(wp), w1 = vldrbq_s8(wp + 16), w2 = vldrbq_s8(wp + 32);
        acc[c] = vmladavaq_s8(vmladavaq_s8(vmladavq_s8(a0, w0), a1, w1), a2, w2);
        acc[EDGEQ_MVE_ACC_STRIDE + c] = vmladavaq_s8(vmladavaq_s8(vmladavq_s8(b0, w0), b1, w1), b2, w2);
        wp += 48;
    }
#else
    int32_t ra, rb;
    int8x16_t wv;
    __asm__ volatile("dls lr, %[n]\n\t"
                     "1:\n\t"
                     "vldrb.u8 %q[wv], [%[wp]], #16\n\t"
                     "vmladav.s8 %[ra], %q[a0], %q[wv]\n\t"
                     "vmladav.s8 %[rb], %q[b0], %q[wv]\n\t"
                     "vldrb.u8 %q[wv], [%[wp]], #16\n\t"
                     "vmladava.s8 %[ra], %q[a1], %q[wv]\n\t"
                     "vmladava.s8 %[rb], %q[b1], %q[wv]\n\t"
                     "vldrb.u8 %q[wv], [%[wp]], #16\n\t"
                     "vmladava.s8 %[ra], %q[a2], %q[wv]\n\t"
                     "vmladava.s8 %[rb], %q[b2], %q[wv]\n\t"
                     "str %[rb], [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_ACC_STRIDE) "]\n\t"
                     "str %[ra], [%[pa]], #4\n\t"
                     "le lr, 1b\n\t"
                     : [ra] "=&Te"(ra), [rb] "=&Te"(rb), [wv] "=&w"(wv), [wp] "+r"(wp), [pa] "+r"(acc)
                     : [n] "r"(n), [a0] "w"(a0), [a1] "w"(a1), [a2] "w"(a2), [b0] "w"(b0), [b1] "w"(b1),
                       [b2] "w"(b2)
                     : "lr", "memory");
#endif
}

/* One or two arbitrary output pixels (linear indices q0, q1; n 1 or 2) through the gathered
 * column (edgeq_mve_gather) and edgeq_mve_small_rows2: the border pixels of the row-vector route. */
static void edgeq_mve_small_k_pixels(const cmsis_nn_conv_params *cp, const cmsis_nn_dims *input_dims,
                                     const int8_t *input_data, const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data, const cmsis_nn_dims *output_dims, int32_t q0,
                                     int32_t q1, int32_t n, int32_t c0, int32_t c1, int32_t c_safe,
                                     const int32_t *corr, const int32_t *mult, const int32_t *shift, int32_t simple,
                                     int8_t (*col)[EDGEQ_MVE_SMALL_K + 16], int8_t *output_data)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t out_w = output_dims->w, out_c = output_dims->c, per_batch = output_dims->h * out_w;
    const int32_t in_batch = input_dims->h * input_dims->w * input_dims->c;
    const int8_t pad = (int8_t)(-cp->input_offset);
    int8x16_t xa[3], xb[3];
    int32_t i;
    for (i = 0; i < n; i++)
    {
        const int32_t q = i == 0 ? q0 : q1, bt = q / per_batch, r = q % per_batch;
        edgeq_mve_gather(col[i], input_data + bt * in_batch, cp, input_dims, filter_dims, r / out_w, r % out_w, pad,
                         1);
    }
    for (i = 0; 16 * i < k; i++)
    {
        xa[i] = vldrbq_s8(col[0] + 16 * i);
        xb[i] = vldrbq_s8(col[n - 1] + 16 * i);
    }
    edgeq_mve_small_rows2(xa, xb, n, filter_data, k, c0, c1, c_safe, corr, mult, shift, simple, cp->output_offset,
                          cp->activation.min, cp->activation.max, output_data + q0 * out_c,
                          output_data + (n == 2 ? q1 : q0) * out_c);
}

static inline __attribute__((always_inline)) void edgeq_mve_rowvec_run(
    int nr, const cmsis_nn_conv_params *cp, const cmsis_nn_dims *input_dims, const int8_t *input_data,
    const cmsis_nn_dims *filter_dims, const int8_t *filter_data, const cmsis_nn_dims *output_dims, int32_t c0,
    int32_t c1, const int32_t *corr, const int32_t *mult, const int32_t *shift, int32_t simple, int8_t *output_data)
{
    int32_t acc[2 * EDGEQ_MVE_ACC_STRIDE];
    int32_t *const acc0 = acc, *const acc1 = acc + EDGEQ_MVE_ACC_STRIDE;
    int8_t col[2][EDGEQ_MVE_SMALL_K + 16];
    int8_t wp[48 * EDGEQ_MVE_RV_CH];
    const int packed = nr == 3 && c1 - c0 <= EDGEQ_MVE_RV_CH;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_w = filter_dims->w, row_len = k_w * in_c, k = nr * row_len;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t s_h = cp->stride.h, s_w = cp->stride.w, pad_h = cp->padding.h, pad_w = cp->padding.w;
    const int32_t row_step = in_w * in_c, px_step = s_w * in_c;
    const int32_t in_batch = in_h * row_step;
    const mve_pred16_t rp = vctp8q((uint32_t)row_len);
    /* the first channel whose last 16-byte weight load would pass the filter's end */
    const int32_t last = (nr - 1) * row_len + 16;
    const int32_t c_safe_rows = out_c * k >= last ? (out_c * k - last) / k + 1 : 0;
    const int32_t c_safe = edgeq_mve_c_safe(k, out_c);
    /* interior columns: the window inside the input along x */
    const int32_t ox_lo = pad_w > 0 ? (pad_w + s_w - 1) / s_w : 0;
    int32_t ox_hi = in_w - k_w + pad_w >= 0 ? (in_w - k_w + pad_w) / s_w + 1 : 0;
    int32_t b, oy, ox;
    if (ox_hi > out_w)
    {
        ox_hi = out_w;
    }
    edgeq_mve_fill(col[0], 0, (int32_t)sizeof(col));
    if (packed)
    {
        /* the filter rows as 16-byte rows, zero past row_len (no read past the filter either) */
        int32_t c, ky;
        for (c = c0; c < c1; c++)
        {
            for (ky = 0; ky < 3; ky++)
            {
                vstrbq_s8(wp + ((c - c0) * 3 + ky) * 16, vldrbq_z_s8(filter_data + c * k + ky * row_len, rp));
            }
        }
    }
    for (b = 0; b < output_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_batch;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * s_h - pad_h;
            const int32_t q_row = (b * out_h + oy) * out_w;
            const int interior = y0 >= 0 && y0 + nr <= in_h;
            const int32_t lo = interior ? ox_lo : out_w, hi = interior ? ox_hi : out_w;
            int8_t *out = output_data + (q_row + lo) * out_c + c0;
            const int8_t *x = interior ? in_b + y0 * row_step + (lo * s_w - pad_w) * in_c : in_b;
            const int32x4_t vlo = vdupq_n_s32(cp->activation.min), vhi = vdupq_n_s32(cp->activation.max);
            /* border pixels on the left (or the whole row) */
            for (ox = 0; ox < (lo < out_w ? lo : out_w); ox += 2)
            {
                const int32_t n = ox + 1 < lo ? 2 : 1;
                edgeq_mve_small_k_pixels(cp, input_dims, input_data, filter_dims, filter_data, output_dims,
                                         q_row + ox, q_row + ox + 1, n, c0, c1, c_safe, corr, mult, shift, simple,
                                         col, output_data);
            }
            for (ox = lo; ox + 2 <= hi; ox += 2)
            {
                if (packed)
                {
                    edgeq_mve_rowvec3_packed(vldrbq_z_s8(x, rp), vldrbq_z_s8(x + row_step, rp),
                                             vldrbq_z_s8(x + 2 * row_step, rp), vldrbq_z_s8(x + px_step, rp),
                                             vldrbq_z_s8(x + row_step + px_step, rp),
                                             vldrbq_z_s8(x + 2 * row_step + px_step, rp), wp, c1 - c0, acc);
                }
                else
                {
                    edgeq_mve_rowvec_pair(nr, x, row_step, px_step, row_len, rp, filter_data, k, c0, c1,
                                          c_safe_rows, acc0, acc1);
                }
                if (simple && ((c1 - c0) & 3) == 0)
                {
                    edgeq_mve_requant2_simple(acc0, acc1, (c1 - c0) >> 2, corr, mult + c0, shift + c0,
                                              cp->output_offset, vlo, vhi, out, out + out_c);
                }
                else
                {
                    edgeq_mve_requant_rows(acc0, acc1, 2, c1 - c0, corr, mult + c0, shift + c0, simple,
                                           cp->output_offset, cp->activation.min, cp->activation.max, out,
                                           out + out_c);
                }
                x += 2 * px_step;
                out += 2 * out_c;
            }
            /* an odd last interior pixel and the border on the right */
            for (; ox < out_w && lo < out_w; ox += 2)
            {
                const int32_t n = ox + 1 < out_w ? 2 : 1;
                edgeq_mve_small_k_pixels(cp, input_dims, input_data, filter_dims, filter_data, output_dims,
                                         q_row + ox, q_row + ox + 1, n, c0, c1, c_safe, corr, mult, shift, simple,
                                         col, output_data);
            }
        }
    }
}

/* ------------------------------------------------------------------ field triples */

/*
 * The row-vector route's shapes with kernel rows of 8-10 bytes (VWW's 3x3 on RGB: 9), whole
 * groups of four channels, at most EDGEQ_MVE_RV_CH of them, every shift negative. One vector a
 * kernel row uses 9 of 16 lanes a VMLADAV (3 per output); the three rows L bytes long fit two
 * vectors instead (2 VMLADAV per output):
 *   A = row 0 (lanes [0, L)) | row 1 bytes [0, 16 - L)
 *   B = row 2 (lanes [0, L)) | row 1 bytes [16 - L, 16 - L + (16 - L)), of which the first 2L - 16
 *       are the row's rest and the others meet zero weights.
 * An interior pixel loads each half straight from the input (VPSTE: a load predicated on lanes
 * [0, L), the next on the others, both zeroing the lanes they skip, then VORR): the row 1 loads
 * read at most 16 bytes past row 1's start, inside the input while row 2 follows (a row of the
 * input is at least L >= 8 bytes). Border pixels load just their taps inside the input (per-lane
 * predicates) and take the zero point at the others (edgeq_mve_field_border). Three pixels' fields
 * in six Q registers (the seventh the weights, loaded once a channel for all three) share each
 * filter row, copied to the stack in the same A | B layout: 2 weight loads and 6 VMLADAV a channel
 * for 3 outputs, where one vector a row took 3 and 6 for 2.
 */
static int32_t edgeq_mve_fields_ok(int32_t row_len, int32_t c0, int32_t c1, int32_t simple)
{
    return simple && row_len >= 8 && row_len <= 10 && ((c1 - c0) & 3) == 0 && c1 - c0 <= EDGEQ_MVE_RV_CH;
}

/* raw accumulator rows of edgeq_mve_fields3_dot this many int32 apart (the asm's STRD offsets) */
#define EDGEQ_MVE_FIELDS_STRIDE EDGEQ_MVE_RV_CH

/* Where an interior pixel's fields are loaded from: r0 = row 0, r1a = row 1 - L, r2 = row 2,
 * r1b = row 1 + 16 - 2L (the row 1 loads fill the lanes from L on). */
typedef struct
{
    const int8_t *r0, *r1a, *r2, *r1b;
} edgeq_mve_rows3;

typedef struct
{
    int8x16_t a0, a1, b0, b1, d0, d1;
} edgeq_mve_fields3;

/* A and B (the comment above) of one interior pixel from the input, off bytes on from r; pl: lanes
 * [0, L). */
static inline __attribute__((always_inline)) void edgeq_mve_field_direct(const edgeq_mve_rows3 *r, intptr_t off,
                                                                         mve_pred16_t pl, int8x16_t *a,
                                                                         int8x16_t *b)
{
    *a = vpselq_s8(vldrbq_z_s8(r->r0 + off, pl), vldrbq_z_s8(r->r1a + off, (mve_pred16_t)~pl), pl);
    *b = vpselq_s8(vldrbq_z_s8(r->r2 + off, pl), vldrbq_z_s8(r->r1b + off, (mve_pred16_t)~pl), pl);
}

/* The fields of three interior pixels step bytes apart from r on; r left at the fourth pixel. */
static inline __attribute__((always_inline)) edgeq_mve_fields3 edgeq_mve_fields3_direct(edgeq_mve_rows3 *r,
                                                                                       int32_t step,
                                                                                       int32_t row_len)
{
    edgeq_mve_fields3 f;
#if defined(EDGEQ_EMULATE_MVE)
    const mve_pred16_t pl = vctp8q((uint32_t)row_len);
    edgeq_mve_field_direct(r, 0, pl, &f.a0, &f.a1);
    edgeq_mve_field_direct(r, step, pl, &f.b0, &f.b1);
    edgeq_mve_field_direct(r, 2 * step, pl, &f.d0, &f.d1);
    r->r0 += 3 * step;
    r->r1a += 3 * step;
    r->r2 += 3 * step;
    r->r1b += 3 * step;
#else
    /* (asm: GCC sets the predicate again before every predicated load, and has no VPSTE.) The else
     * half of a VPT block inverts VPR.P0 and leaves it inverted: the first block of a pixel loads
     * lanes [0, L) then the others, the second the others then [0, L), P0 back to lanes [0, L). */
    int8x16_t t;
#define EDGEQ_MVE_FIELD_DIRECT(qa, qb)                                                                               \
    "vpste\n\t"                                                                                                      \
    "vldrbt.u8 %q[" qa "], [%[r0]]\n\t"                                                                              \
    "vldrbe.u8 %q[t], [%[r1a]]\n\t"                                                                                  \
    "vorr %q[" qa "], %q[" qa "], %q[t]\n\t"                                                                         \
    "vpste\n\t"                                                                                                      \
    "vldrbt.u8 %q[t], [%[r1b]]\n\t"                                                                                  \
    "vldrbe.u8 %q[" qb "], [%[r2]]\n\t"                                                                              \
    "vorr %q[" qb "], %q[" qb "], %q[t]\n\t"                                                                         \
    "add %[r0], %[r0], %[step]\n\t"                                                                                  \
    "add %[r1a], %[r1a], %[step]\n\t"                                                                                \
    "add %[r2], %[r2], %[step]\n\t"                                                                                  \
    "add %[r1b], %[r1b], %[step]\n\t"
    __asm__ volatile("vctp.8 %[len]\n\t" EDGEQ_MVE_FIELD_DIRECT("a0", "a1") EDGEQ_MVE_FIELD_DIRECT("b0", "b1")
                         EDGEQ_MVE_FIELD_DIRECT("d0", "d1")
                     : [a0] "=&w"(f.a0), [a1] "=&w"(f.a1), [b0] "=&w"(f.b0), [b1] "=&w"(f.b1), [d0] "=&w"(f.d0),
                       [d1] "=&w"(f.d1), [t] "=&w"(t), [r0] "+r"(r->r0), [r1a] "+r"(r->r1a), [r2] "+r"(r->r2),
                       [r1b] "+r"(r->r1b)
                     : [step] "r"(step), [len] "r"(row_len)
                     : "p0", "memory");
#undef EDGEQ_MVE_FIELD_DIRECT
#endif
    return f;
}

/* The dot products of 2 * n_pairs channels of 32-byte filter rows wp (A | B) with the three
 * pixels' fields: acc[r * EDGEQ_MVE_FIELDS_STRIDE + c] for pixel r. Two channels an iteration: six
 * accumulators (VMLADAV takes even registers: r0-r12 less the loop's LR leave seven), stored as
 * channel pairs with STRD, 20 instructions for 6 outputs. */
static inline __attribute__((always_inline)) void edgeq_mve_fields3_dot(const edgeq_mve_fields3 *f,
                                                                        const int8_t *wp, int32_t n_pairs,
                                                                        int32_t *acc)
{
#if defined(EDGEQ_EMULATE_MVE)
    int32_t c;
    for (c = 0; c < 2 * n_pairs; c++)
    {
        const int8x16_t w0 = vldrbq_s8(wp), w1 = vldrbq_s8(wp + 16);
        acc[c] = vmladavaq_s8(vmladavq_s8(f->a0, w0), f->a1, w1);
        acc[EDGEQ_MVE_FIELDS_STRIDE + c] = vmladavaq_s8(vmladavq_s8(f->b0, w0), f->b1, w1);
        acc[2 * EDGEQ_MVE_FIELDS_STRIDE + c] = vmladavaq_s8(vmladavq_s8(f->d0, w0), f->d1, w1);
        wp += 32;
    }
#else
    int32_t ra, rb, rd, sa, sb, sd;
    int8x16_t wv;
    __asm__ volatile("dls lr, %[n]\n\t"
                     "1:\n\t"
                     "vldrb.u8 %q[wv], [%[wp]], #16\n\t"
                     "vmladav.s8 %[ra], %q[a0], %q[wv]\n\t"
                     "vmladav.s8 %[rb], %q[b0], %q[wv]\n\t"
                     "vmladav.s8 %[rd], %q[d0], %q[wv]\n\t"
                     "vldrb.u8 %q[wv], [%[wp]], #16\n\t"
                     "vmladava.s8 %[ra], %q[a1], %q[wv]\n\t"
                     "vmladava.s8 %[rb], %q[b1], %q[wv]\n\t"
                     "vmladava.s8 %[rd], %q[d1], %q[wv]\n\t"
                     "vldrb.u8 %q[wv], [%[wp]], #16\n\t"
                     "vmladav.s8 %[sa], %q[a0], %q[wv]\n\t"
                     "vmladav.s8 %[sb], %q[b0], %q[wv]\n\t"
                     "vmladav.s8 %[sd], %q[d0], %q[wv]\n\t"
                     "vldrb.u8 %q[wv], [%[wp]], #16\n\t"
                     "vmladava.s8 %[sa], %q[a1], %q[wv]\n\t"
                     "vmladava.s8 %[sb], %q[b1], %q[wv]\n\t"
                     "vmladava.s8 %[sd], %q[d1], %q[wv]\n\t"
                     "strd %[rb], %[sb], [%[pa], #" EDGEQ_MVE_STR(4 * EDGEQ_MVE_FIELDS_STRIDE) "]\n\t"
                     "strd %[rd], %[sd], [%[pa], #" EDGEQ_MVE_STR(8 * EDGEQ_MVE_FIELDS_STRIDE) "]\n\t"
                     "strd %[ra], %[sa], [%[pa]], #8\n\t"
                     "le lr, 1b\n\t"
                     : [ra] "=&Te"(ra), [rb] "=&Te"(rb), [rd] "=&Te"(rd), [sa] "=&Te"(sa), [sb] "=&Te"(sb),
                       [sd] "=&Te"(sd), [wv] "=&w"(wv), [wp] "+r"(wp), [pa] "+r"(acc)
                     : [n] "r"(n_pairs), [a0] "w"(f->a0), [a1] "w"(f->a1), [b0] "w"(f->b0), [b1] "w"(f->b1),
                       [d0] "w"(f->d0), [d1] "w"(f->d1)
                     : "lr", "memory");
#endif
}

/* Requantize groups x 4 channels of the three accumulator rows of edgeq_mve_fields3_dot (every
 * shift negative) into out[0], out[1], out[2]: the channel parameters loaded once for the three. */
static inline __attribute__((always_inline)) void edgeq_mve_requant3_simple(const int32_t *pa, int32_t groups,
                                                                           const int32_t *pc, const int32_t *pm,
                                                                           const int32_t *ps, int32_t out_off,
                                                                           int32x4_t lo, int32x4_t hi,
                                                                           int8_t *const *out)
{
    int8_t *po0 = out[0], *po1 = out[1], *po2 = out[2];
    int32_t g;
    for (g = 0; g < groups; g++)
    {
        const int32x4_t cv = vldrwq_s32(pc), m = vldrwq_s32(pm), sh = vldrwq_s32(ps);
        int32x4_t r0 = edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(pa), cv), m, sh);
        int32x4_t r1 = edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(pa + EDGEQ_MVE_FIELDS_STRIDE), cv), m, sh);
        int32x4_t r2 =
            edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(pa + 2 * EDGEQ_MVE_FIELDS_STRIDE), cv), m, sh);
        r0 = vminq_s32(vmaxq_s32(vaddq_n_s32(r0, out_off), lo), hi);
        r1 = vminq_s32(vmaxq_s32(vaddq_n_s32(r1, out_off), lo), hi);
        r2 = vminq_s32(vmaxq_s32(vaddq_n_s32(r2, out_off), lo), hi);
        vstrbq_s32(po0, r0);
        vstrbq_s32(po1, r1);
        vstrbq_s32(po2, r2);
        pa += 4;
        pc += 4;
        pm += 4;
        ps += 4;
        po0 += 4;
        po1 += 4;
        po2 += 4;
    }
}

/* What every triple of a call shares: the packed filter rows and the requantization. */
typedef struct
{
    const int8_t *wp;
    int32_t n_pairs, groups, out_off;
    const int32_t *corr, *mult, *shift;
} edgeq_mve_fields_job;

/* edgeq_mve_fields3_dot and the requantization of three pixels' fields into out[0..3) */
static inline __attribute__((always_inline)) void edgeq_mve_fields3_out(const edgeq_mve_fields_job *j,
                                                                        const edgeq_mve_fields3 *f,
                                                                        int8_t *const *out, int32x4_t lo,
                                                                        int32x4_t hi)
{
    int32_t acc[3 * EDGEQ_MVE_FIELDS_STRIDE];
    edgeq_mve_fields3_dot(f, j->wp, j->n_pairs, acc);
    edgeq_mve_requant3_simple(acc, j->groups, j->corr, j->mult, j->shift, j->out_off, lo, hi, out);
}

/* A and B of a border pixel (window from row y0, column x0; rows of in_c-channel pixels): the taps
 * inside the input loaded with predicates holding just them (nothing outside the input read), the
 * zero point pad at the others (lanes past the kernel rows meet zero weights: any value). */
static void edgeq_mve_field_border(const int8_t *in_b, int32_t y0, int32_t x0, const cmsis_nn_dims *input_dims,
                                   int32_t k_w, int8_t pad, int8x16_t *a, int8x16_t *b)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t row_len = k_w * in_c, row_step = in_w * in_c;
    const uint32_t low = (1u << row_len) - 1u;
    const mve_pred16_t pl = vctp8q((uint32_t)row_len);
    const int8x16_t pv = vdupq_n_s8(pad);
    int32_t kx_lo, kx_hi, r;
    uint32_t xm, m[3], m1a, m1b;
    intptr_t p[3];
    edgeq_tap_range(x0, 1, k_w, in_w, &kx_lo, &kx_hi);
    /* the row bytes inside the input: [kx_lo * in_c, kx_hi * in_c) */
    xm = kx_hi > kx_lo ? ((1u << (kx_hi * in_c)) - 1u) & ~((1u << (kx_lo * in_c)) - 1u) : 0u;
    for (r = 0; r < 3; r++)
    {
        const int32_t y = y0 + r;
        const int inside = y >= 0 && y < in_h;
        m[r] = inside ? xm : 0u;
        /* the row's first tap (left of the input when x0 < 0: only the lanes in m[r] are read) */
        p[r] = (intptr_t)in_b + (inside ? (intptr_t)y * row_step + (intptr_t)x0 * in_c : 0);
    }
    /* row 1 in A's lanes [L, 16) (byte i - L) and in B's (byte i + 16 - 2L) */
    m1a = (m[1] << row_len) & 0xFFFFu & ~low;
    m1b = (m[1] << (2 * row_len - 16)) & 0xFFFFu & ~low;
    *a = vpselq_s8(vpselq_s8(vldrbq_z_s8((const int8_t *)p[0], (mve_pred16_t)m[0]),
                             vldrbq_z_s8((const int8_t *)(p[1] - row_len), (mve_pred16_t)m1a), pl),
                   pv, (mve_pred16_t)(m[0] | m1a));
    *b = vpselq_s8(vpselq_s8(vldrbq_z_s8((const int8_t *)p[2], (mve_pred16_t)m[2]),
                             vldrbq_z_s8((const int8_t *)(p[1] + 16 - 2 * row_len), (mve_pred16_t)m1b), pl),
                   pv, (mve_pred16_t)(m[2] | m1b));
}

/* A pixel left to edgeq_mve_fields3_gathered: its batch's input, its output channels, the window's
 * first row and column (outside the input at a border). */
typedef struct
{
    const int8_t *in_b;
    int8_t *out;
    int32_t y0, x0;
} edgeq_mve_pixel;

/* Border and leftover pixels (px[0..n), n 1-3, in output order): an interior one's fields straight
 * from the input, a border one's through edgeq_mve_field_border; a missing third pixel has zero
 * fields and writes to a scratch row. */
static __attribute__((noinline)) void edgeq_mve_fields3_gathered(const edgeq_mve_fields_job *j,
                                                                 const cmsis_nn_conv_params *cp,
                                                                 const cmsis_nn_dims *input_dims,
                                                                 const cmsis_nn_dims *filter_dims,
                                                                 const edgeq_mve_pixel *px, int32_t n)
{
    int8_t spare[EDGEQ_MVE_RV_CH];
    int8_t *out[3];
    int8x16_t v[6];
    edgeq_mve_fields3 f;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c, k_w = filter_dims->w;
    const int32_t row_len = k_w * in_c, row_step = in_w * in_c;
    const mve_pred16_t pl = vctp8q((uint32_t)row_len);
    int32_t i;
    for (i = 0; i < n; i++)
    {
        const int32_t y0 = px[i].y0, x0 = px[i].x0;
        const int8_t *in_b = px[i].in_b;
        out[i] = px[i].out;
        if (y0 >= 0 && y0 + 3 <= in_h && x0 >= 0 && x0 + k_w <= in_w)
        {
            edgeq_mve_rows3 rr;
            rr.r0 = in_b + y0 * row_step + x0 * in_c;
            rr.r1a = rr.r0 + row_step - row_len;
            rr.r2 = rr.r0 + 2 * row_step;
            rr.r1b = rr.r0 + row_step + 16 - 2 * row_len;
            edgeq_mve_field_direct(&rr, 0, pl, &v[2 * i], &v[2 * i + 1]);
        }
        else
        {
            edgeq_mve_field_border(in_b, y0, x0, input_dims, k_w, (int8_t)(-cp->input_offset), &v[2 * i],
                                   &v[2 * i + 1]);
        }
    }
    for (; i < 3; i++)
    {
        out[i] = spare;
        v[2 * i] = vdupq_n_s8(0);
        v[2 * i + 1] = v[2 * i];
    }
    f.a0 = v[0];
    f.a1 = v[1];
    f.b0 = v[2];
    f.b1 = v[3];
    f.d0 = v[4];
    f.d1 = v[5];
    edgeq_mve_fields3_out(j, &f, out, vdupq_n_s32(cp->activation.min), vdupq_n_s32(cp->activation.max));
}

/* direct triples whose accumulators edgeq_mve_fields_row keeps before requantizing them */
#define EDGEQ_MVE_FIELDS_CHUNK 8

/* Requantize n pixels of accumulator rows (EDGEQ_MVE_FIELDS_STRIDE apart) into out (pixels out_c
 * apart), one group of four channels at a time over all of them: the group's parameters loaded
 * once, 11 instructions a pixel. */
static inline __attribute__((always_inline)) void edgeq_mve_requant_pixels(const edgeq_mve_fields_job *j,
                                                                          const int32_t *acc, int32_t n,
                                                                          int8_t *out, int32_t out_c,
                                                                          int32x4_t lo, int32x4_t hi)
{
    int32_t g, p;
    for (g = 0; g < j->groups; g++)
    {
        const int32x4_t cv = vldrwq_s32(j->corr + 4 * g), m = vldrwq_s32(j->mult + 4 * g);
        const int32x4_t sh = vldrwq_s32(j->shift + 4 * g);
        const int32_t *pa = acc + 4 * g;
        int8_t *po = out + 4 * g;
        for (p = 0; p < n; p++)
        {
            int32x4_t r = edgeq_mve_requantize_right(vaddq_s32(vldrwq_s32(pa), cv), m, sh);
            r = vminq_s32(vmaxq_s32(vaddq_n_s32(r, j->out_off), lo), hi);
            vstrbq_s32(po, r);
            pa += EDGEQ_MVE_FIELDS_STRIDE;
            po += out_c;
        }
    }
}

/* n_tri direct triples of one output row from r on, out their first output pixel: up to
 * EDGEQ_MVE_FIELDS_CHUNK triples' dot products, then their requantization. */
static void edgeq_mve_fields_row(const edgeq_mve_fields_job *j, edgeq_mve_rows3 *r, int32_t step, int32_t row_len,
                                 int32_t n_tri, int8_t *out, int32_t out_c, int32x4_t lo, int32x4_t hi)
{
    int32_t acc[EDGEQ_MVE_FIELDS_CHUNK * 3 * EDGEQ_MVE_FIELDS_STRIDE];
    while (n_tri > 0)
    {
        const int32_t m = n_tri < EDGEQ_MVE_FIELDS_CHUNK ? n_tri : EDGEQ_MVE_FIELDS_CHUNK;
        int32_t t;
        for (t = 0; t < m; t++)
        {
            const edgeq_mve_fields3 f = edgeq_mve_fields3_direct(r, step, row_len);
            edgeq_mve_fields3_dot(&f, j->wp, j->n_pairs, acc + t * 3 * EDGEQ_MVE_FIELDS_STRIDE);
        }
        edgeq_mve_requant_pixels(j, acc, 3 * m, out, out_c, lo, hi);
        out += 3 * m * out_c;
        n_tri -= m;
    }
}

/* The filter rows of channels [c0, c1) in the A | B layout, 32 bytes a channel, zero elsewhere. */
static void edgeq_mve_fields_pack(int8_t *wp, const int8_t *filter, int32_t row_len, int32_t c0, int32_t c1)
{
    const int32_t k = 3 * row_len, head = 16 - row_len, tail = 2 * row_len - 16;
    const mve_pred16_t pl = vctp8q((uint32_t)row_len);
    int32_t c, i;
    for (c = c0; c < c1; c++)
    {
        const int8_t *w = filter + c * k;
        int8_t *d = wp + 32 * (c - c0);
        vstrbq_s8(d, vldrbq_z_s8(w, pl));
        vstrbq_s8(d + 16, vldrbq_z_s8(w + 2 * row_len, pl));
        for (i = 0; i < head; i++)
        {
            d[row_len + i] = w[row_len + i];
        }
        for (i = 0; i < tail; i++)
        {
            d[16 + row_len + i] = w[row_len + head + i];
        }
    }
}

/* The row-vector route through field triples (edgeq_mve_fields_ok): output rows in order, the
 * interior pixels three at a time straight from the input, the others (kept in output order)
 * gathered three at a time, flushed before the next direct triple. */
static __attribute__((noinline)) void edgeq_mve_convolve_fields(const cmsis_nn_conv_params *cp,
                                                                const cmsis_nn_dims *input_dims,
                                                                const int8_t *input_data,
                                                                const cmsis_nn_dims *filter_dims,
                                                                const int8_t *filter_data,
                                                                const cmsis_nn_dims *output_dims, int32_t c0,
                                                                int32_t c1, const int32_t *corr, const int32_t *mult,
                                                                const int32_t *shift, int8_t *output_data)
{
    int8_t wp[32 * EDGEQ_MVE_RV_CH];
    edgeq_mve_fields_job j;
    edgeq_mve_pixel pend[3];
    int32_t n_pend = 0;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t row_len = filter_dims->w * in_c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t s_h = cp->stride.h, s_w = cp->stride.w, pad_h = cp->padding.h, pad_w = cp->padding.w;
    const int32_t row_step = in_w * in_c, px_step = s_w * in_c;
    const int32x4_t lo = vdupq_n_s32(cp->activation.min), hi = vdupq_n_s32(cp->activation.max);
    /* interior columns: the window inside the input along x */
    const int32_t ox_lo = pad_w > 0 ? (pad_w + s_w - 1) / s_w : 0;
    int32_t ox_hi = in_w - filter_dims->w + pad_w >= 0 ? (in_w - filter_dims->w + pad_w) / s_w + 1 : 0;
    int32_t b, oy, ox;
    if (ox_hi > out_w)
    {
        ox_hi = out_w;
    }
    edgeq_mve_fields_pack(wp, filter_data, row_len, c0, c1);
    j.wp = wp;
    j.n_pairs = (c1 - c0) >> 1;
    j.groups = (c1 - c0) >> 2;
    j.out_off = cp->output_offset;
    j.corr = corr;
    j.mult = mult + c0;
    j.shift = shift + c0;
    output_data += c0;
    for (b = 0; b < output_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * row_step;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * s_h - pad_h, q_row = (b * out_h + oy) * out_w;
            const int interior = y0 >= 0 && y0 + 3 <= in_h;
            const int8_t *x = interior ? in_b + y0 * row_step + (ox_lo * s_w - pad_w) * in_c : in_b;
            /* the direct triples: pixels [t_lo, t_lo + 3 n_tri) */
            const int32_t t_lo = interior ? ox_lo : out_w, n_tri = interior ? (ox_hi - ox_lo) / 3 : 0;
            edgeq_mve_rows3 r;
            r.r0 = x;
            r.r1a = x + row_step - row_len;
            r.r2 = x + 2 * row_step;
            r.r1b = x + row_step + 16 - 2 * row_len;
            for (ox = 0; ox < out_w; ox++)
            {
                if (ox == t_lo && n_tri > 0)
                {
                    if (n_pend > 0)
                    {
                        edgeq_mve_fields3_gathered(&j, cp, input_dims, filter_dims, pend, n_pend);
                        n_pend = 0;
                    }
                    edgeq_mve_fields_row(&j, &r, px_step, row_len, n_tri, output_data + (q_row + ox) * out_c,
                                         out_c, lo, hi);
                    ox += 3 * n_tri - 1;
                    continue;
                }
                pend[n_pend].in_b = in_b;
                pend[n_pend].out = output_data + (q_row + ox) * out_c;
                pend[n_pend].y0 = y0;
                pend[n_pend].x0 = ox * s_w - pad_w;
                if (++n_pend == 3)
                {
                    edgeq_mve_fields3_gathered(&j, cp, input_dims, filter_dims, pend, 3);
                    n_pend = 0;
                }
            }
        }
    }
    if (n_pend > 0)
    {
        edgeq_mve_fields3_gathered(&j, cp, input_dims, filter_dims, pend, n_pend);
    }
}

/* edgeq_mve_rowvec_run for three kernel rows (the row count a constant). */
static __attribute__((noinline)) void edgeq_mve_convolve_rowvec(const cmsis_nn_conv_params *cp,
                                                                const cmsis_nn_dims *input_dims,
                                                                const int8_t *input_data,
                                                                const cmsis_nn_dims *filter_dims,
                                                                const int8_t *filter_data,
                                                                const cmsis_nn_dims *output_dims, int32_t c0,
                                                                int32_t c1, const int32_t *corr, const int32_t *mult,
                                                                const int32_t *shift, int32_t simple,
                                                                int8_t *output_data)
{
    if (edgeq_mve_fields_ok(filter_dims->w * input_dims->c, c0, c1, simple))
    {
        edgeq_mve_convolve_fields(cp, input_dims, input_data, filter_dims, filter_data, output_dims, c0, c1, corr,
                                  mult, shift, output_data);
        return;
    }
    edgeq_mve_rowvec_run(3, cp, input_dims, input_data, filter_dims, filter_data, output_dims, c0, c1, corr, mult,
                         shift, simple, output_data);
}

arm_cmsis_nn_status edgeq_mve_convolve_s8(int8_t *buf, const cmsis_nn_conv_params *conv_params,
                                          const cmsis_nn_per_channel_quant_params *quant_params,
                                          const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                          const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                          const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                          int8_t *output_data)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t per_batch = out_h * out_w, pixels = output_dims->n * per_batch;
    const int32_t in_batch = input_dims->h * input_dims->w * input_dims->c;
    /* the zero point: (pad + input_offset) = 0 at padded taps */
    const int8_t pad = (int8_t)(-conv_params->input_offset);
    int8_t *col0 = buf, *col1 = buf + k;
    int32_t corr[EDGEQ_MVE_CHUNK];
    int32_t c0, p;
    for (c0 = 0; c0 < out_c; c0 += EDGEQ_MVE_CHUNK)
    {
        const int32_t c1 = out_c - c0 > EDGEQ_MVE_CHUNK ? c0 + EDGEQ_MVE_CHUNK : out_c;
        const int32_t simple = edgeq_mve_all_right(quant_params->shift, 1, c0, c1);
        const int32_t *cr = edgeq_mve_corrections(corr, filter_data, k, bias_data, conv_params->input_offset, c0, c1);
        if (edgeq_mve_rowvec_ok(conv_params, input_dims, filter_dims))
        {
            edgeq_mve_convolve_rowvec(conv_params, input_dims, input_data, filter_dims, filter_data, output_dims, c0,
                                      c1, cr, quant_params->multiplier, quant_params->shift, simple, output_data);
            continue;
        }
        if (k <= EDGEQ_MVE_SMALL_K)
        {
            edgeq_mve_convolve_small_k(conv_params, input_dims, input_data, filter_dims, filter_data, output_dims,
                                       c0, c1, cr, quant_params->multiplier, quant_params->shift, simple,
                                       output_data);
            continue;
        }
        for (p = 0; p < pixels; p += 2)
        {
            const int32_t n_rows = pixels - p >= 2 ? 2 : 1;
            int32_t i;
            for (i = 0; i < n_rows; i++)
            {
                const int32_t q = p + i, bt = q / per_batch, r = q % per_batch;
                edgeq_mve_im2col(i == 0 ? col0 : col1, input_data + bt * in_batch, conv_params, input_dims,
                                 filter_dims, r / out_w, r % out_w, pad);
            }
            edgeq_mve_rows2(col0, n_rows == 2 ? col1 : col0, n_rows, filter_data, k, c0, c1, cr,
                            quant_params->multiplier, quant_params->shift, 1, simple, conv_params->output_offset,
                            conv_params->activation.min, conv_params->activation.max, output_data + p * out_c,
                            output_data + (p + n_rows - 1) * out_c);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

#else
typedef int edgeq_mve_conv_unused; /* ISO C: a translation unit is not empty */
#endif /* EDGEQ_MVE */
