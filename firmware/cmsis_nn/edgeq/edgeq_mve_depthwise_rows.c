/*
 * edgeq -- Helium (MVE) 3x3 depthwise convolution (depth multiplier 1, dilation 1) through row
 * buffers: every output pixel, the borders included, on one straight-line window of loads with
 * immediate offsets (edgeq_mve_depthwise.c's per-pixel route takes other kernels, and calls with
 * too few output pixels to pay for the per-call packing).
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_mve.h"

#if defined(EDGEQ_MVE)

/* t = the even / odd products of x and wv, added to ae / ao */
#define EDGEQ_MVE_DW3_ACC                                                                                    \
    "vmullb.s16 %q[t], %q[x], %q[wv]\n\t"                                                                     \
    "vadd.i32 %q[ae], %q[ae], %q[t]\n\t"                                                                      \
    "vmullt.s16 %q[t], %q[x], %q[wv]\n\t"                                                                     \
    "vadd.i32 %q[ao], %q[ao], %q[t]\n\t"

/* ------------------------------------------------------------------ 3x3 through row buffers */

/*
 * 3x3 windows (dilation 1, any stride and padding) for every output pixel, the borders included,
 * read from row buffers on the stack instead of the input: each input row that a band of output
 * rows needs is copied once (per chunk of 8-channel blocks) into a ring of three rows, laid out
 * block-major ([row][block][padded x][8 channels]) with the zero point in the padding columns
 * (and in a row above or below the input), so (x + off) is 0 there as in TFLM. Then every tap of
 * a window sits at a constant offset from three row pointers and the weights (packed per block,
 * [tap][8]) at a constant offset from one: the nine taps are 18 loads with immediate offsets and
 * 34 multiply / add instructions, no address arithmetic and no border branches. The input offset
 * is folded into a per-channel constant: sum((x + off) * w) = sum(x * w) + off * sum(w), summed
 * over all nine taps because the padded taps hold the zero point (x * w there is -off * w).
 * Parameters per block (packed once per call and chunk, loaded with immediate offsets):
 * correction (bias + off * sum(w)), multiplier, left shift, negative right shift, each as the
 * even-channel and the odd-channel vector (VMULLB / VMULLT order).
 */

/* stack bytes for packed weights, parameters and the three-row ring of one chunk */
#define EDGEQ_MVE_DW3_BUF 3072
#define EDGEQ_MVE_DW3_W 72    /* packed weights per block: 9 taps x 8 channels */
#define EDGEQ_MVE_DW3_P 128   /* parameters per block: 8 int32x4 */
/* a block as edgeq/codegen/dw_mve.py writes it: the packed weights, then the parameters */
#define EDGEQ_MVE_DW3_RECORD (EDGEQ_MVE_DW3_W + EDGEQ_MVE_DW3_P)

/* Channel blocks per chunk for a padded row of wp pixels (0: the row buffers do not fit). */
static int32_t edgeq_mve_dw3_blocks(int32_t wp)
{
    return EDGEQ_MVE_DW3_BUF / (EDGEQ_MVE_DW3_W + EDGEQ_MVE_DW3_P + 3 * 8 * wp);
}

/* The sums of eight channels' nine taps (x: the row pointers *r0..*r2 at the window's first
 * column, w: the block's packed weights) as even / odd int32 lanes; each row pointer ends one
 * column (8 bytes) on (the first load of a row post-increments it: the next window of a stride-1
 * row needs no address arithmetic). Target: one asm block (see edgeq_mve_depthwise.c's
 * edgeq_mve_dw_win3 for why); the widening VLDRB with an immediate offset takes r0-r7 only ("l"). */
#define EDGEQ_MVE_DW3_TAP(r, xo, wo, first)                                                            \
    "vldrb.s16 %q[x], [%[" r "], #" xo "]\n\t"                                                           \
    "vldrb.s16 %q[wv], [%[w], #" wo "]\n\t" first
#define EDGEQ_MVE_DW3_TAP_NEXT(r, wo, first)                                                           \
    "vldrb.s16 %q[x], [%[" r "]], #8\n\t"                                                               \
    "vldrb.s16 %q[wv], [%[w], #" wo "]\n\t" first

static inline __attribute__((always_inline)) void edgeq_mve_dw3_window(const int8_t **r0p, const int8_t **r1p,
                                                                       const int8_t **r2p, const int8_t *w,
                                                                       int32x4_t *acc_e, int32x4_t *acc_o)
{
#if defined(EDGEQ_EMULATE_MVE)
    const int8_t *rows[3] = {*r0p, *r1p, *r2p};
    int32x4_t ae = vdupq_n_s32(0), ao = vdupq_n_s32(0);
    int32_t t;
    for (t = 0; t < 9; t++)
    {
        const int16x8_t x = vldrbq_s16(rows[t / 3] + (t % 3) * 8);
        const int16x8_t wv = vldrbq_s16(w + t * 8);
        ae = vaddq_s32(ae, vmullbq_int_s16(x, wv));
        ao = vaddq_s32(ao, vmulltq_int_s16(x, wv));
    }
    *acc_e = ae;
    *acc_o = ao;
    *r0p += 8;
    *r1p += 8;
    *r2p += 8;
#else
    int32x4_t ae, ao, t;
    int16x8_t x, wv;
    const int8_t *r0 = *r0p, *r1 = *r1p, *r2 = *r2p;
    __asm__(EDGEQ_MVE_DW3_TAP_NEXT("r0", "0", "vmullb.s16 %q[ae], %q[x], %q[wv]\n\tvmullt.s16 %q[ao], %q[x], %q[wv]\n\t")
            EDGEQ_MVE_DW3_TAP("r0", "0", "8", EDGEQ_MVE_DW3_ACC)
            EDGEQ_MVE_DW3_TAP("r0", "8", "16", EDGEQ_MVE_DW3_ACC)
            EDGEQ_MVE_DW3_TAP_NEXT("r1", "24", EDGEQ_MVE_DW3_ACC)
            EDGEQ_MVE_DW3_TAP("r1", "0", "32", EDGEQ_MVE_DW3_ACC)
            EDGEQ_MVE_DW3_TAP("r1", "8", "40", EDGEQ_MVE_DW3_ACC)
            EDGEQ_MVE_DW3_TAP_NEXT("r2", "48", EDGEQ_MVE_DW3_ACC)
            EDGEQ_MVE_DW3_TAP("r2", "0", "56", EDGEQ_MVE_DW3_ACC)
            EDGEQ_MVE_DW3_TAP("r2", "8", "64", EDGEQ_MVE_DW3_ACC)
            : [ae] "=&w"(ae), [ao] "=&w"(ao), [t] "=&w"(t), [x] "=&w"(x), [wv] "=&w"(wv), [r0] "+&l"(r0),
              [r1] "+&l"(r1), [r2] "+&l"(r2)
            : [w] "l"(w)
            : "memory");
    *acc_e = ae;
    *acc_o = ao;
    *r0p = r0;
    *r1p = r1;
    *r2p = r2;
#endif
}

/* Two neighbouring windows of a stride-1 row (pixels 0 and 1: columns 0-2 and 1-3) share their
 * middle columns and all nine weights: per row four column loads and three weight loads feed both
 * (12 + 9 loads for 18 taps instead of 36). Column k meets weight k (pixel 0) and weight k - 1
 * (pixel 1), so x and wv are reloaded alternately and seven Q registers suffice. t = the even / odd
 * products of x and wv, added to ae / ao (first: set them). */
#define EDGEQ_MVE_DW3_SET(ae, ao)                                                                          \
    "vmullb.s16 %q[" ae "], %q[x], %q[wv]\n\t"                                                             \
    "vmullt.s16 %q[" ao "], %q[x], %q[wv]\n\t"
#define EDGEQ_MVE_DW3_MACC(ae, ao)                                                                         \
    "vmullb.s16 %q[t], %q[x], %q[wv]\n\t"                                                                  \
    "vadd.i32 %q[" ae "], %q[" ae "], %q[t]\n\t"                                                           \
    "vmullt.s16 %q[t], %q[x], %q[wv]\n\t"                                                                  \
    "vadd.i32 %q[" ao "], %q[" ao "], %q[t]\n\t"
/* one row of the pair (r: its pointer, moved on two columns; w0: its first weight's offset) */
#define EDGEQ_MVE_DW3_PAIR_ROW(r, w0, w1, w2, mac0, mac1)                                                  \
    "vldrb.s16 %q[x], [%[" r "]], #16\n\t"                                                                \
    "vldrb.s16 %q[wv], [%[w], #" w0 "]\n\t" mac0("ae0", "ao0")                                            \
    "vldrb.s16 %q[x], [%[" r "], #-8]\n\t" mac1("ae1", "ao1")                                             \
    "vldrb.s16 %q[wv], [%[w], #" w1 "]\n\t" EDGEQ_MVE_DW3_MACC("ae0", "ao0")                              \
    "vldrb.s16 %q[x], [%[" r "], #0]\n\t" EDGEQ_MVE_DW3_MACC("ae1", "ao1")                                \
    "vldrb.s16 %q[wv], [%[w], #" w2 "]\n\t" EDGEQ_MVE_DW3_MACC("ae0", "ao0")                              \
    "vldrb.s16 %q[x], [%[" r "], #8]\n\t" EDGEQ_MVE_DW3_MACC("ae1", "ao1")

static inline __attribute__((always_inline)) void edgeq_mve_dw3_window2(const int8_t **r0p, const int8_t **r1p,
                                                                        const int8_t **r2p, const int8_t *w,
                                                                        int32x4_t acc[4])
{
#if defined(EDGEQ_EMULATE_MVE)
    edgeq_mve_dw3_window(r0p, r1p, r2p, w, &acc[0], &acc[1]);
    edgeq_mve_dw3_window(r0p, r1p, r2p, w, &acc[2], &acc[3]);
#else
    int32x4_t ae0, ao0, ae1, ao1, t;
    int16x8_t x, wv;
    const int8_t *r0 = *r0p, *r1 = *r1p, *r2 = *r2p;
    __asm__(EDGEQ_MVE_DW3_PAIR_ROW("r0", "0", "8", "16", EDGEQ_MVE_DW3_SET, EDGEQ_MVE_DW3_SET)
            EDGEQ_MVE_DW3_PAIR_ROW("r1", "24", "32", "40", EDGEQ_MVE_DW3_MACC, EDGEQ_MVE_DW3_MACC)
            EDGEQ_MVE_DW3_PAIR_ROW("r2", "48", "56", "64", EDGEQ_MVE_DW3_MACC, EDGEQ_MVE_DW3_MACC)
            : [ae0] "=&w"(ae0), [ao0] "=&w"(ao0), [ae1] "=&w"(ae1), [ao1] "=&w"(ao1), [t] "=&w"(t), [x] "=&w"(x),
              [wv] "=&w"(wv), [r0] "+&l"(r0), [r1] "+&l"(r1), [r2] "+&l"(r2)
            : [w] "l"(w)
            : "memory");
    acc[0] = ae0;
    acc[1] = ao0;
    acc[2] = ae1;
    acc[3] = ao1;
    *r0p = r0;
    *r1p = r1;
    *r2p = r2;
#endif
}

/* The outputs of one pixel's block from its requantized even / odd lanes (re, ro): output offset,
 * activation range, narrowed back into channel order, stored (n < 8: the first n channels). */
static inline __attribute__((always_inline)) void edgeq_mve_dw3_store(int8_t *out, int32x4_t re, int32x4_t ro, int32_t n,
                                                                      int32_t out_off, int32_t lo, int32_t hi,
                                                                      int int8_range)
{
    /* saturated to int16, the output offset added saturating, then to int8 or the activation range:
     * exact, as every saturation bound lies outside the final range. (On the target in assembly:
     * GCC materializes the don't-care halves of the narrowing destinations from the stack.) */
    int16x8_t r16;
#if defined(EDGEQ_EMULATE_MVE)
    r16 = vqaddq_n_s16(vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), re), ro), (int16_t)out_off);
    if (int8_range)
    {
        /* into the even bytes, the low byte of each 16-bit lane that VSTRB.16 stores */
        r16 = vreinterpretq_s16_s8(vqmovnbq_s16(vdupq_n_s8(0), r16));
    }
#else
    if (int8_range)
    {
        int16x8_t h;
        __asm__("vqmovnb.s32 %q[h], %q[e]\n\tvqmovnt.s32 %q[h], %q[o]\n\tvqadd.s16 %q[h], %q[h], %[off]\n\t"
                "vqmovnb.s16 %q[b], %q[h]"
                : [h] "=&w"(h), [b] "=&w"(r16)
                : [e] "w"(re), [o] "w"(ro), [off] "r"(out_off));
    }
    else
    {
        __asm__("vqmovnb.s32 %q[h], %q[e]\n\tvqmovnt.s32 %q[h], %q[o]\n\tvqadd.s16 %q[h], %q[h], %[off]"
                : [h] "=&w"(r16)
                : [e] "w"(re), [o] "w"(ro), [off] "r"(out_off));
    }
#endif
    if (!int8_range)
    {
        r16 = vminq_s16(vmaxq_s16(r16, vdupq_n_s16((int16_t)lo)), vdupq_n_s16((int16_t)hi));
    }
    if (n == 8)
    {
        vstrbq_s16(out, r16);
    }
    else
    {
        vstrbq_p_s16(out, r16, vctp16q((uint32_t)n));
    }
}

/* Hides p's value from GCC at this point: it then addresses the parameter loads as p plus an
 * immediate offset in the loop instead of hoisting one pointer per load out of it (eight more live
 * pointers than registers: spilled and reloaded on every iteration). No effect on the host. */
#if defined(EDGEQ_EMULATE_MVE)
#define EDGEQ_MVE_DW3_OPAQUE(p) ((void)0)
#else
#define EDGEQ_MVE_DW3_OPAQUE(p) __asm__("" : "+r"(p))
#endif

/* acc (the correction added) requantized with the parameters at prm + 8 (lanes: the even or the
 * odd channels, off = 0 or 4) */
#define EDGEQ_MVE_DW3_RQ(acc, prm, off)                                                                       \
    edgeq_mve_requantize((acc), vldrwq_s32((prm) + 8 + (off)), vldrwq_s32((prm) + 16 + (off)),                \
                         vldrwq_s32((prm) + 24 + (off)))

/* 1 when every requantization may round a negative result's halves up (VRSHL alone, without
 * edgeq_mve_requantize_right's fix-up for TFLM's rounding away from zero): every shift negative,
 * and an activation floor at or above the output offset. A negative result rounds to at most 0
 * either way, and the floor (or the int8 saturation, lo = -128 = the offset) takes both to lo. */
static int32_t edgeq_mve_dw3_floored(int32_t simple, int32_t lo, int32_t out_off)
{
    return simple && lo >= out_off;
}

/* edgeq_mve_requantize_right without the fix-up of negative halves (edgeq_mve_dw3_floored holds) */
static inline __attribute__((always_inline)) int32x4_t edgeq_mve_dw3_requantize_floored(int32x4_t acc,
                                                                                       int32x4_t mult,
                                                                                       int32x4_t shift)
{
    return vrshlq_s32(vqrdmulhq_s32(acc, mult), shift);
}

/* One pixel's block from its sums (ae / ao: the even / odd channels): the correction added,
 * requantized with the parameters at prm (me / mo: the multipliers, used by the floored variant),
 * stored at out. */
static inline __attribute__((always_inline)) void edgeq_mve_dw3_finish(int8_t *out, int32x4_t ae, int32x4_t ao,
                                                                       const int32_t *prm, int32x4_t me, int32x4_t mo,
                                                                       int32_t n, int32_t out_off, int32_t lo,
                                                                       int32_t hi, int floored, int int8_range)
{
    if (floored)
    {
        ae = edgeq_mve_dw3_requantize_floored(vaddq_s32(ae, vldrwq_s32(prm)), me, vldrwq_s32(prm + 24));
        ao = edgeq_mve_dw3_requantize_floored(vaddq_s32(ao, vldrwq_s32(prm + 4)), mo, vldrwq_s32(prm + 28));
    }
    else
    {
        ae = EDGEQ_MVE_DW3_RQ(vaddq_s32(ae, vldrwq_s32(prm)), prm, 0);
        ao = EDGEQ_MVE_DW3_RQ(vaddq_s32(ao, vldrwq_s32(prm + 4)), prm, 4);
    }
    edgeq_mve_dw3_store(out, ae, ao, n, out_off, lo, hi, int8_range);
}

/* The even or the odd lanes (parameters at byte offset `o` of prm: corr, then the multipliers
 * 32 bytes on, the right shifts 96) of both pixels of a pair, floored requantization. */
#define EDGEQ_MVE_DW3_RQ2(a, b, o, m, sh)                                                                  \
    "vldrw.32 %q[t], [%[prm], #" o "]\n\t"                                                               \
    "vadd.i32 %q[" a "], %q[" a "], %q[t]\n\t"                                                           \
    "vadd.i32 %q[" b "], %q[" b "], %q[t]\n\t"                                                           \
    "vldrw.32 %q[t], [%[prm], #" m "]\n\t"                                                               \
    "vqrdmulh.s32 %q[" a "], %q[" a "], %q[t]\n\t"                                                       \
    "vqrdmulh.s32 %q[" b "], %q[" b "], %q[t]\n\t"                                                       \
    "vldrw.32 %q[t], [%[prm], #" sh "]\n\t"                                                              \
    "vrshl.s32 %q[" a "], %q[" a "], %q[t]\n\t"                                                          \
    "vrshl.s32 %q[" b "], %q[" b "], %q[t]\n\t"
/* a pixel's even / odd lanes narrowed into t's 16-bit lanes in channel order, output offset added */
#define EDGEQ_MVE_DW3_NARROW(e, o)                                                                         \
    "vqmovnb.s32 %q[t], %q[" e "]\n\t"                                                                   \
    "vqmovnt.s32 %q[t], %q[" o "]\n\t"                                                                   \
    "vqadd.s16 %q[t], %q[t], %[off]\n\t"

/* Both pixels of a stride-1 pair (acc: even / odd sums of pixel 0, then pixel 1), 8 channels,
 * floored requantization (edgeq_mve_dw3_floored), stored at out and out + out_step: one asm block
 * (each parameter vector loaded once for both pixels; in C, GCC kept a pointer per parameter and
 * spilled them: about 14 instructions more a pair). Volatile: its only effect is the stores. */
static inline __attribute__((always_inline)) void edgeq_mve_dw3_finish2(int8_t *out, int32_t out_step,
                                                                        int32x4_t acc[4], const int32_t *prm,
                                                                        int32_t out_off, int32_t lo, int32_t hi,
                                                                        int int8_range)
{
#if defined(EDGEQ_EMULATE_MVE)
    edgeq_mve_dw3_finish(out, acc[0], acc[1], prm, vldrwq_s32(prm + 8), vldrwq_s32(prm + 12), 8, out_off, lo, hi, 1,
                         int8_range);
    edgeq_mve_dw3_finish(out + out_step, acc[2], acc[3], prm, vldrwq_s32(prm + 8), vldrwq_s32(prm + 12), 8, out_off,
                         lo, hi, 1, int8_range);
#else
    int32x4_t ae0 = acc[0], ao0 = acc[1], ae1 = acc[2], ao1 = acc[3], t;
    int8_t *out1 = out + out_step;
    if (int8_range)
    {
        __asm__ volatile(EDGEQ_MVE_DW3_RQ2("ae0", "ae1", "0", "32", "96") EDGEQ_MVE_DW3_RQ2("ao0", "ao1", "16", "48", "112")
                EDGEQ_MVE_DW3_NARROW("ae0", "ao0")
                "vqmovnb.s16 %q[t], %q[t]\n\t"
                "vstrb.16 %q[t], [%[out]]\n\t"
                EDGEQ_MVE_DW3_NARROW("ae1", "ao1")
                "vqmovnb.s16 %q[t], %q[t]\n\t"
                "vstrb.16 %q[t], [%[out1]]"
                : [ae0] "+&w"(ae0), [ao0] "+&w"(ao0), [ae1] "+&w"(ae1), [ao1] "+&w"(ao1), [t] "=&w"(t)
                : [prm] "r"(prm), [out] "l"(out), [out1] "l"(out1), [off] "r"(out_off)
                : "memory");
    }
    else
    {
        const int16x8_t vlo = vdupq_n_s16((int16_t)lo), vhi = vdupq_n_s16((int16_t)hi);
        __asm__ volatile(EDGEQ_MVE_DW3_RQ2("ae0", "ae1", "0", "32", "96") EDGEQ_MVE_DW3_RQ2("ao0", "ao1", "16", "48", "112")
                EDGEQ_MVE_DW3_NARROW("ae0", "ao0")
                "vmax.s16 %q[t], %q[t], %q[lo]\n\t"
                "vmin.s16 %q[t], %q[t], %q[hi]\n\t"
                "vstrb.16 %q[t], [%[out]]\n\t"
                EDGEQ_MVE_DW3_NARROW("ae1", "ao1")
                "vmax.s16 %q[t], %q[t], %q[lo]\n\t"
                "vmin.s16 %q[t], %q[t], %q[hi]\n\t"
                "vstrb.16 %q[t], [%[out1]]"
                : [ae0] "+&w"(ae0), [ao0] "+&w"(ao0), [ae1] "+&w"(ae1), [ao1] "+&w"(ao1), [t] "=&w"(t)
                : [prm] "r"(prm), [out] "l"(out), [out1] "l"(out1), [off] "r"(out_off), [lo] "w"(vlo),
                  [hi] "w"(vhi)
                : "memory");
    }
#endif
}

/*
 * One block (8 channels, n of them stored) of n_px output pixels along a row: r0..r2 the row
 * pointers of the first pixel's window, s_w the stride (px_step = 8 * s_w bytes between windows),
 * out the first pixel's output at the block's channel, out_step the bytes between output pixels.
 * Stride 1 takes pairs of pixels (edgeq_mve_dw3_window2: one asm block, seven Q registers; in C
 * GCC spilled around the 8 accumulator / input / weight registers), then a last single pixel.
 */
static inline __attribute__((always_inline)) void edgeq_mve_dw3_run(const int8_t *r0, const int8_t *r1,
                                                                    const int8_t *r2, const int8_t *w,
                                                                    const int32_t *prm, int8_t *out, int32_t n_px,
                                                                    int32_t s_w, int32_t out_step, int32_t n,
                                                                    int32_t out_off, int32_t lo, int32_t hi,
                                                                    int floored, int int8_range)
{
    /* the window advanced the row pointers by one column already (none left for stride 1) */
    const int32_t px_step = 8 * s_w - 8;
    int32_t i;
    if (s_w == 1)
    {
        /* pairs of pixels (the multipliers reloaded: the pair's window takes seven Q registers),
         * then at most one pixel: no second loop to set up (KWS's rows of 5 pixels x 8 blocks) */
        const int32_t pairs = n_px >> 1;
        for (i = 0; i < pairs; i++)
        {
            int32x4_t acc[4];
            EDGEQ_MVE_DW3_OPAQUE(prm);
            edgeq_mve_dw3_window2(&r0, &r1, &r2, w, acc);
            if (floored && n == 8)
            {
                edgeq_mve_dw3_finish2(out, out_step, acc, prm, out_off, lo, hi, int8_range);
                out += 2 * out_step;
                continue;
            }
            edgeq_mve_dw3_finish(out, acc[0], acc[1], prm, vldrwq_s32(prm + 8), vldrwq_s32(prm + 12), n, out_off, lo,
                                 hi, floored, int8_range);
            EDGEQ_MVE_DW3_OPAQUE(prm); /* (the second pixel's loads from immediate offsets too) */
            edgeq_mve_dw3_finish(out + out_step, acc[2], acc[3], prm, vldrwq_s32(prm + 8), vldrwq_s32(prm + 12), n,
                                 out_off, lo, hi, floored, int8_range);
            out += 2 * out_step;
        }
        if (n_px & 1)
        {
            int32x4_t ae, ao;
            edgeq_mve_dw3_window(&r0, &r1, &r2, w, &ae, &ao);
            edgeq_mve_dw3_finish(out, ae, ao, prm, vldrwq_s32(prm + 8), vldrwq_s32(prm + 12), n, out_off, lo, hi,
                                 floored, int8_range);
        }
        return;
    }
    {
        /* the floored requantization's multipliers stay in registers across the pixels (the window
         * takes five Q registers, these two and one temporary the other three) */
        const int32x4_t me = vldrwq_s32(prm + 8), mo = vldrwq_s32(prm + 12);
        for (i = 0; i < n_px; i++)
        {
            int32x4_t ae, ao;
            EDGEQ_MVE_DW3_OPAQUE(prm);
            edgeq_mve_dw3_window(&r0, &r1, &r2, w, &ae, &ao);
            edgeq_mve_dw3_finish(out, ae, ao, prm, me, mo, n, out_off, lo, hi, floored, int8_range);
            r0 += px_step; /* (constant 0 in the stride-1 variants: no instruction) */
            r1 += px_step;
            r2 += px_step;
            out += out_step;
        }
    }
}

/* Blocks [0, nblk) of one output row: block b's rows at r0..r2 + b * row_step, its weights at
 * w + b * w_stride, its parameters at prm + b * p_stride, its outputs 8 channels on. */
static inline __attribute__((always_inline)) void edgeq_mve_dw3_run_blocks(
    const int8_t *r0, const int8_t *r1, const int8_t *r2, const int8_t *w, const int32_t *prm, int8_t *out,
    int32_t nblk, int32_t row_step, int32_t w_stride, int32_t p_stride, int32_t n_px, int32_t s_w, int32_t out_step,
    int32_t n, int32_t out_off, int32_t lo, int32_t hi, int floored, int int8_range)
{
    int32_t b;
    for (b = 0; b < nblk; b++)
    {
        edgeq_mve_dw3_run(r0, r1, r2, w, prm, out, n_px, s_w, out_step, n, out_off, lo, hi, floored, int8_range);
        r0 += row_step;
        r1 += row_step;
        r2 += row_step;
        w += w_stride;
        prm += p_stride;
        out += 8;
    }
}

/* The same for the requantization variants and stride 1 (constant flags: one specialised loop each), all
 * the blocks of a row in one call (a call per block cost about 30 instructions of argument
 * passing and register saving: KWS's rows of 5 pixels x 8 blocks paid it 200 times a layer). */
static void edgeq_mve_dw3_row(const int8_t *r0, const int8_t *r1, const int8_t *r2, const int8_t *w,
                              const int32_t *prm, int8_t *out, int32_t nblk, int32_t row_step, int32_t w_stride,
                              int32_t p_stride, int32_t n_px, int32_t s_w, int32_t out_step, int32_t n,
                              int32_t out_off, int32_t lo, int32_t hi, int32_t floored, int32_t int8_range)
{
    if (n == 8 && floored && int8_range && s_w == 1)
    {
        edgeq_mve_dw3_run_blocks(r0, r1, r2, w, prm, out, nblk, row_step, w_stride, p_stride, n_px, 1, out_step, 8,
                                 out_off, lo, hi, 1, 1);
    }
    else if (n == 8 && floored && int8_range)
    {
        edgeq_mve_dw3_run_blocks(r0, r1, r2, w, prm, out, nblk, row_step, w_stride, p_stride, n_px, s_w, out_step, 8,
                                 out_off, lo, hi, 1, 1);
    }
    else if (n == 8 && floored && s_w == 1)
    {
        edgeq_mve_dw3_run_blocks(r0, r1, r2, w, prm, out, nblk, row_step, w_stride, p_stride, n_px, 1, out_step, 8,
                                 out_off, lo, hi, 1, 0);
    }
    else if (n == 8 && floored)
    {
        edgeq_mve_dw3_run_blocks(r0, r1, r2, w, prm, out, nblk, row_step, w_stride, p_stride, n_px, s_w, out_step, 8,
                                 out_off, lo, hi, 1, 0);
    }
    else
    {
        /* shifts of either sign, and the last block of a channel count that is not a multiple of 8
         * (predicated store) */
        edgeq_mve_dw3_run_blocks(r0, r1, r2, w, prm, out, nblk, row_step, w_stride, p_stride, n_px, s_w, out_step, n,
                                 out_off, lo, hi, 0, 0);
    }
}

/* Copies input row y (or the zero point, for a row outside the input) of blocks [b0, b0 + nb)
 * into ring slot `dst` ([block][wp][8], the input's pixels from column pad_w on). */
static void edgeq_mve_dw3_fill_row(int8_t *dst, const int8_t *in_b, int32_t y, int32_t in_h, int32_t in_w,
                                   int32_t ch, int32_t b0, int32_t nb, int32_t wp, int32_t pad_w, int8_t zp)
{
    /* the input columns the padded row holds (a valid convolution may never read the last ones) */
    const int32_t cols = wp - pad_w < in_w ? wp - pad_w : in_w;
    int32_t b = 0, x;
    if (y >= 0 && y < in_h)
    {
        /* pairs of whole blocks: per column one 16-byte load of 16 channels and one scatter of
         * its four words (two to each block's column) */
        static const uint32_t word_off[4] = {0, 4, 0, 4};
        const int32_t pairs = ((ch - b0 * 8) >= nb * 8 ? nb : (ch - b0 * 8) >> 3) >> 1;
        if (pairs > 0)
        {
            const uint32x4_t so = vsetq_lane_u32((uint32_t)(wp * 8) + 4u,
                                                 vsetq_lane_u32((uint32_t)(wp * 8), vldrwq_u32(word_off), 2), 3);
            const int8_t *srow = in_b + y * in_w * ch + b0 * 8;
            int32_t g;
            for (g = 0; g < pairs; g++)
            {
                const int8_t *sp = srow + g * 16;
                int8_t *d = dst + (2 * g * wp + pad_w) * 8;
                for (x = 0; x < cols; x++)
                {
                    vstrwq_scatter_offset_s32((int32_t *)(void *)d, so, vreinterpretq_s32_s8(vldrbq_s8(sp)));
                    sp += ch;
                    d += 8;
                }
            }
            b = 2 * pairs;
        }
    }
    for (; b < nb; b++)
    {
        int8_t *d = dst + (b * wp + pad_w) * 8;
        const int32_t c = (b0 + b) * 8, n = ch - c < 8 ? ch - c : 8;
        if (y < 0 || y >= in_h)
        {
            const int16x8_t z = vdupq_n_s16(zp);
            for (x = 0; x < cols; x++)
            {
                vstrbq_s16(d, z);
                d += 8;
            }
        }
        else
        {
            const int8_t *s = in_b + y * in_w * ch + c;
            if (n == 8)
            {
                for (x = 0; x < cols; x++)
                {
                    vstrbq_s16(d, vldrbq_s16(s));
                    d += 8;
                    s += ch;
                }
            }
            else
            {
                const mve_pred16_t p = vctp16q((uint32_t)n);
                for (x = 0; x < cols; x++)
                {
                    vstrbq_s16(d, vldrbq_z_s16(s, p));
                    d += 8;
                    s += ch;
                }
            }
        }
    }
}

/*
 * Blocks [b0, b0 + nb) of every output pixel, through the ring (3 slots of nb * wp * 8 bytes):
 * w + b * w_stride the packed weights ([tap][8]) and prm + b * p_stride the parameters (32 int32,
 * the layout above) of block b0 + b.
 */
static __attribute__((noinline, noclone)) void edgeq_mve_dw3_chunk(const cmsis_nn_dw_conv_params *dw, const cmsis_nn_dims *input_dims,
                                const int8_t *input_data, const cmsis_nn_dims *output_dims, int8_t *output_data,
                                int32_t b0, int32_t nb, const int8_t *w, int32_t w_stride, const int32_t *prm,
                                int32_t p_stride, int8_t *ring, int32_t simple, int32_t bottom_up)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t s_h = dw->stride.h, s_w = dw->stride.w, pad_h = dw->padding.h, pad_w = dw->padding.w;
    const int32_t out_off = dw->output_offset;
    const int32_t wp = (out_w - 1) * s_w + 3;
    const int32_t lo = dw->activation.min, hi = dw->activation.max;
    const int32_t int8_range = lo == -128 && hi == 127, floored = edgeq_mve_dw3_floored(simple, lo, out_off);
    const int8_t zp = (int8_t)(-dw->input_offset);
    const int32_t slot = nb * wp * 8;
    int32_t bt, i;
    for (bt = 0; bt < input_dims->n; bt++)
    {
        const int8_t *in_b = input_data + bt * in_h * in_w * ch;
        int32_t tag[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
        /* the padding columns (left and right of the input) hold the zero point for good */
        {
            const int16x8_t z = vdupq_n_s16(zp);
            const int32_t cols = wp - pad_w < in_w ? wp - pad_w : in_w;
            int32_t sl, x;
            /* a padding column at a time down all 3 * nb slots (one loop of stores per column, not
             * two short loops per slot) */
            for (x = 0; x < wp; x++)
            {
                int8_t *r = ring + x * 8;
                if (x == pad_w && cols > 0)
                {
                    x = pad_w + cols - 1; /* skip the input's columns */
                    continue;
                }
                for (sl = 0; sl < 3 * nb; sl++)
                {
                    vstrbq_s16(r, z);
                    r += wp * 8;
                }
            }
        }
        /* bottom_up: the last output row first (a whole in-place layer whose output lies above its
         * input; see edgeq_mve_depthwise3_packed_s8) */
        for (i = 0; i < out_h; i++)
        {
            const int32_t oy = bottom_up ? out_h - 1 - i : i;
            const int32_t y0 = oy * s_h - pad_h;
            int8_t *rows[3];
            int32_t ky;
            for (ky = 0; ky < 3; ky++)
            {
                const int32_t y = y0 + ky, s = ((y % 3) + 3) % 3;
                /* rows outside the input all hold the zero point: one tag for them */
                const int32_t key = (y < 0 || y >= in_h) ? -1 : y;
                if (tag[s] != key)
                {
                    edgeq_mve_dw3_fill_row(ring + s * slot, in_b, y, in_h, in_w, ch, b0, nb, wp, pad_w, zp);
                    tag[s] = key;
                }
                rows[ky] = ring + s * slot;
            }
            {
                int8_t *out_row = output_data + ((bt * out_h + oy) * out_w) * ch + b0 * 8;
                /* the whole blocks in one call, then a last block of fewer than 8 channels */
                const int32_t full = ch - b0 * 8 >= nb * 8 ? nb : nb - 1, o = full * wp * 8;
                if (full > 0)
                {
                    edgeq_mve_dw3_row(rows[0], rows[1], rows[2], w, prm, out_row, full, wp * 8, w_stride, p_stride,
                                      out_w, s_w, ch, 8, out_off, lo, hi, floored, int8_range);
                }
                if (full < nb)
                {
                    edgeq_mve_dw3_row(rows[0] + o, rows[1] + o, rows[2] + o, w + full * w_stride,
                                      prm + full * p_stride, out_row + full * 8, 1, 0, 0, 0, out_w, s_w, ch,
                                      ch - (b0 + full) * 8, out_off, lo, hi, floored, int8_range);
                }
            }
        }
    }
}

/* 1 when the 3x3 row-buffer route takes this depthwise convolution. */
int32_t edgeq_mve_depthwise3_rows_ok(const cmsis_nn_dw_conv_params *p, const cmsis_nn_dims *input_dims,
                                     const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims)
{
    const int32_t wp = (output_dims->w - 1) * p->stride.w + 3;
    (void)input_dims;
    return filter_dims->h == 3 && filter_dims->w == 3 && p->dilation.h == 1 && p->dilation.w == 1 &&
           p->padding.w >= 0 && p->padding.h >= 0 && edgeq_mve_dw3_blocks(wp) >= 1 &&
           output_dims->n * output_dims->h * output_dims->w >= EDGEQ_MVE_DW3_MIN_PIXELS;
}

arm_cmsis_nn_status edgeq_mve_depthwise3_rows_s8(const cmsis_nn_dw_conv_params *dw,
                                                 const cmsis_nn_per_channel_quant_params *qp,
                                                 const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                 const int8_t *filter_data, const int32_t *bias_data,
                                                 const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t ch = input_dims->c;
    const int32_t off = dw->input_offset;
    /* padded row: every column some window of this call reads */
    const int32_t wp = (output_dims->w - 1) * dw->stride.w + 3;
    const int32_t blocks = (ch + 7) >> 3, per_chunk = edgeq_mve_dw3_blocks(wp);
    static const uint32_t even_idx[4] = {0, 2, 4, 6}, odd_idx[4] = {1, 3, 5, 7};
    const uint32x4_t ev = vldrwq_u32(even_idx), od = vldrwq_u32(odd_idx);
    int8_t buf[EDGEQ_MVE_DW3_BUF] __attribute__((aligned(16)));
    int32x4_t mx = vdupq_n_s32(INT32_MIN);
    int32_t simple, c, b0;
    /* simple: every shift negative (the largest, four at a time) */
    for (c = 0; c + 4 <= ch; c += 4)
    {
        mx = vmaxq_s32(mx, vldrwq_s32(qp->shift + c));
    }
    simple = vmaxvq_s32(INT32_MIN, mx) < 0;
    for (; c < ch; c++)
    {
        simple &= qp->shift[c] < 0;
    }
    for (b0 = 0; b0 < blocks; b0 += per_chunk)
    {
        const int32_t nb = blocks - b0 < per_chunk ? blocks - b0 : per_chunk;
        int8_t *wbuf = buf;                                             /* [nb][9][8] */
        int32_t *pbuf = (int32_t *)(void *)(buf + nb * EDGEQ_MVE_DW3_W); /* [nb][8][4] */
        int8_t *ring = buf + nb * (EDGEQ_MVE_DW3_W + EDGEQ_MVE_DW3_P);   /* [3][nb][wp][8] */
        int32_t b, t;
        for (b = 0; b < nb; b++)
        {
            const int32_t c0 = (b0 + b) * 8, n = ch - c0 < 8 ? ch - c0 : 8;
            const mve_pred16_t p16 = vctp16q((uint32_t)n);
            const mve_pred16_t pe = vctp32q((uint32_t)((n + 1) >> 1)), po = vctp32q((uint32_t)(n >> 1));
            const int32x4_t zero = vdupq_n_s32(0);
            int32_t *prm = pbuf + b * 32;
            int32x4_t be = zero, bo = zero, se, so;
            int16x8_t s16 = vdupq_n_s16(0);
            const int8_t *wsrc = filter_data + c0;
            int8_t *wdst = wbuf + b * EDGEQ_MVE_DW3_W;
            if (n == 8)
            {
                /* a whole block: unpredicated loads, no predicate set-up per load */
                for (t = 0; t < 9; t++)
                {
                    const int16x8_t wv = vldrbq_s16(wsrc);
                    vstrbq_s16(wdst, wv);
                    s16 = vaddq_s16(s16, wv); /* |sum| <= 9 * 128: exact in 16 bits */
                    wsrc += ch;
                    wdst += 8;
                }
                if (bias_data != 0)
                {
                    be = vldrwq_gather_shifted_offset_s32(bias_data + c0, ev);
                    bo = vldrwq_gather_shifted_offset_s32(bias_data + c0, od);
                }
                vstrwq_s32(prm + 8, vldrwq_gather_shifted_offset_s32(qp->multiplier + c0, ev));
                vstrwq_s32(prm + 12, vldrwq_gather_shifted_offset_s32(qp->multiplier + c0, od));
                se = vldrwq_gather_shifted_offset_s32(qp->shift + c0, ev);
                so = vldrwq_gather_shifted_offset_s32(qp->shift + c0, od);
            }
            else
            {
                for (t = 0; t < 9; t++)
                {
                    /* the weights of channels past ch packed as 0: their products are 0 */
                    const int16x8_t wv = vldrbq_z_s16(wsrc, p16);
                    vstrbq_s16(wdst, wv);
                    s16 = vaddq_s16(s16, wv);
                    wsrc += ch;
                    wdst += 8;
                }
                if (bias_data != 0)
                {
                    be = vldrwq_gather_shifted_offset_z_s32(bias_data + c0, ev, pe);
                    bo = vldrwq_gather_shifted_offset_z_s32(bias_data + c0, od, po);
                }
                vstrwq_s32(prm + 8, vldrwq_gather_shifted_offset_z_s32(qp->multiplier + c0, ev, pe));
                vstrwq_s32(prm + 12, vldrwq_gather_shifted_offset_z_s32(qp->multiplier + c0, od, po));
                se = vldrwq_gather_shifted_offset_z_s32(qp->shift + c0, ev, pe);
                so = vldrwq_gather_shifted_offset_z_s32(qp->shift + c0, od, po);
            }
            /* the correction bias + off * sum(w), modulo 2^32 like TFLM's accumulator */
            vstrwq_s32(prm, vmlaq_n_s32(be, vmovlbq_s16(s16), off));
            vstrwq_s32(prm + 4, vmlaq_n_s32(bo, vmovltq_s16(s16), off));
            vstrwq_s32(prm + 16, vmaxq_s32(se, zero));
            vstrwq_s32(prm + 20, vmaxq_s32(so, zero));
            vstrwq_s32(prm + 24, vminq_s32(se, zero));
            vstrwq_s32(prm + 28, vminq_s32(so, zero));
        }
        edgeq_mve_dw3_chunk(dw, input_dims, input_data, output_dims, output_data, b0, nb, wbuf, EDGEQ_MVE_DW3_W,
                            pbuf, 32, ring, simple, 0);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

/* ------------------------------------------------------------------ 3x3 by dot products */

/*
 * Rows of 16+ output pixels, stride 1 or 2, every shift negative (VWW's 48- and 24-wide maps): one VMLADAV.S8
 * per output, the nine taps of a channel's window as one 16-byte load. The ring holds per channel
 * the padded columns with the three rows interleaved ([channel][column][slot], slot = row mod 3,
 * dot_stride bytes per channel: the 16-byte load of the last window stays inside), so a window is
 * 9 consecutive bytes (the load's 7 more bytes meet zero weights). The channel's weights are
 * gathered from the prepared block into the same lane order (lane 3 kx + slot) for the row's slot
 * rotation; four outputs of a channel are requantized as one vector with the channel's scalar
 * parameters and scattered (VSTRB.32, ch bytes apart). Input rows enter the ring once each, in
 * the same order as the block kernel (in place: rows top or bottom first), with the zero point
 * in the padding, so the input offset folded into the correction holds there too.
 */
/* narrower rows measured slower than the block kernel on the virtual M55 (VWW's 12-wide stride-2
 * layer: the per-channel set-up of each row outweighs three groups of four outputs) */
#define EDGEQ_MVE_DW3D_MIN_W 16

static int32_t edgeq_mve_dw3d_stride(int32_t wp)
{
    return (3 * wp + 16 + 3) & ~3;
}

static int32_t edgeq_mve_dw3d_ok(int32_t ch, int32_t wp, int32_t out_w, int32_t s_w, int32_t simple)
{
    return simple && (s_w == 1 || s_w == 2) && out_w >= EDGEQ_MVE_DW3D_MIN_W &&
           ch * edgeq_mve_dw3d_stride(wp) <= EDGEQ_MVE_DW3_BUF;
}

/* Input row y (or the zero point outside the input) into its slot of every channel: eight
 * channels at a time down the row (one widening load and one 16-bit-offset byte scatter per
 * pixel), the last 1-7 channels predicated. */
static void edgeq_mve_dw3d_fill(int8_t *ring, int32_t S, const int8_t *in_b, int32_t y, int32_t in_h, int32_t in_w,
                                int32_t ch, int32_t cols, int32_t pad_w, int8_t zp)
{
    const uint16_t o[8] = {0u, (uint16_t)S, (uint16_t)(2 * S), (uint16_t)(3 * S), (uint16_t)(4 * S), (uint16_t)(5 * S),
                           (uint16_t)(6 * S), (uint16_t)(7 * S)};
    const uint16x8_t off = vldrhq_u16(o);
    const int32_t inside = y >= 0 && y < in_h, full = ch & ~7;
    const int16x8_t z = vdupq_n_s16(zp);
    int8_t *base = ring + 3 * pad_w + ((y % 3) + 3) % 3;
    const int8_t *row = in_b + (inside ? y : 0) * in_w * ch;
    int32_t x, c;
    for (c = 0; c < full; c += 8)
    {
        const int8_t *src = row + c;
        int8_t *d = base + c * S;
        if (inside)
        {
            for (x = 0; x < cols; x++)
            {
                vstrbq_scatter_offset_s16(d, off, vldrbq_s16(src));
                src += ch;
                d += 3;
            }
        }
        else
        {
            for (x = 0; x < cols; x++)
            {
                vstrbq_scatter_offset_s16(d, off, z);
                d += 3;
            }
        }
    }
    if (full < ch)
    {
        const mve_pred16_t p = vctp16q((uint32_t)(ch - full));
        const int8_t *src = row + full;
        int8_t *d = base + full * S;
        for (x = 0; x < cols; x++)
        {
            vstrbq_scatter_offset_p_s16(d, off, inside ? vldrbq_z_s16(src, p) : z, p);
            src += ch;
            d += 3;
        }
    }
}

/* Four outputs of one channel (acc: the raw sums) requantized and offset, in the low byte of
 * each lane, saturated to [lo, hi] (floored: edgeq_mve_dw3_floored holds, no fix-up of negative
 * halves). */
static inline __attribute__((always_inline)) int32x4_t edgeq_mve_dw3d_out(int32x4_t acc, int32_t corr, int32_t mult,
                                                                         int32_t sh, int32_t out_off, int32x4_t lo,
                                                                         int32x4_t hi, int floored)
{
    int32x4_t x = vqrdmulhq_n_s32(vaddq_n_s32(acc, corr), mult);
    x = vrshlq_n_s32(floored ? x : vqaddq_s32(x, vshrq_n_s32(x, 31)), sh);
    x = vaddq_n_s32(x, out_off); /* |x| <= 2^30 before (right shift >= 1): no wrap */
    return vminq_s32(vmaxq_s32(x, lo), hi);
}

/* Lanes [k, k + 9) of a byte vector as a predicate (the nine taps of a window k bytes into a load). */
static inline __attribute__((always_inline)) mve_pred16_t edgeq_mve_dw3d_taps_at(int32_t k)
{
    return (mve_pred16_t)(((1u << (k + 9)) - 1u) & ~((1u << k) - 1u));
}

/* The two loads of a group of four windows (*p and *p + 6 s_w bytes), *p moved on to the next
 * group (12 s_w bytes): the second with a post-increment (GCC copies the pointer and adds
 * separately: two instructions more per group). */
static inline __attribute__((always_inline)) void edgeq_mve_dw3d_load2(const int8_t **p, int32_t s_w,
                                                                      int8x16_t *x01, int8x16_t *x23)
{
#if defined(EDGEQ_EMULATE_MVE)
    *x01 = vldrbq_s8(*p);
    *x23 = vldrbq_s8(*p + 6 * s_w);
    *p += 12 * s_w;
#else
    const int8_t *q = *p;
    int8x16_t a, b;
    if (s_w == 1)
    {
        __asm__("vldrb.8 %q[b], [%[q], #6]\n\tvldrb.8 %q[a], [%[q]], #12"
                : [a] "=&w"(a), [b] "=&w"(b), [q] "+&r"(q)
                :
                : "memory");
    }
    else
    {
        __asm__("vldrb.8 %q[b], [%[q], #12]\n\tvldrb.8 %q[a], [%[q]], #24"
                : [a] "=&w"(a), [b] "=&w"(b), [q] "+&r"(q)
                :
                : "memory");
    }
    *x01 = a;
    *x23 = b;
    *p = q;
#endif
}

/* Output row out_row of every channel from the ring (rot: the slot of the window's first row).
 * Windows s_w columns apart start 3 s_w bytes apart: one 16-byte load holds two of them (bytes 0-8
 * and 3 s_w to 3 s_w + 8), so a group of four outputs takes two loads, each met by the weights at
 * lanes 0-8 (wv) and at lanes 3 s_w on (wn). */
static inline __attribute__((always_inline)) void edgeq_mve_dw3d_row(const int8_t *ring, int32_t S, int32_t rot,
                                                                    const int8_t *blocks, int8_t *out_row, int32_t ch,
                                                                    int32_t out_w, int32_t s_w, int32_t out_off,
                                                                    int32x4_t lo, int32x4_t hi, int floored)
{
    /* from byte 6: lane 3 kx + slot: the tap (ky = (slot - rot) mod 3, kx), [tap][8] in the block;
     * read from byte 6 - 3 s_w, the same moved up to the second window's lanes */
    static const uint8_t tap_off[3][22] = {
        {0, 0, 0, 0, 0, 0, 0, 24, 48, 8, 32, 56, 16, 40, 64, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 48, 0, 24, 56, 8, 32, 64, 16, 40, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 24, 48, 0, 32, 56, 8, 40, 64, 16, 0, 0, 0, 0, 0, 0, 0}};
    const int32_t step = 3 * s_w, groups = out_w >> 2, tail = out_w & 3;
    const uint8x16_t wo = vldrbq_u8(tap_off[rot] + 6), wo_n = vldrbq_u8(tap_off[rot] + 6 - step);
    const mve_pred16_t p9 = edgeq_mve_dw3d_taps_at(0), pn = edgeq_mve_dw3d_taps_at(step);
    const uint32_t oo[4] = {0u, (uint32_t)ch, 2u * (uint32_t)ch, 3u * (uint32_t)ch};
    const uint32x4_t off_out = vldrwq_u32(oo);
    int32_t c, g;
    for (c = 0; c < ch; c++)
    {
        const int8_t *blk = blocks + (c >> 3) * EDGEQ_MVE_DW3_RECORD;
        const int32_t *prm = (const int32_t *)(const void *)(blk + EDGEQ_MVE_DW3_W);
        const int32_t j = c & 7, pos = (j & 1) * 4 + (j >> 1);
        const int8x16_t wv = vldrbq_gather_offset_z_s8(blk + j, wo, p9);
        const int8x16_t wn = vldrbq_gather_offset_z_s8(blk + j, wo_n, pn);
        const int32_t corr = prm[pos], mult = prm[8 + pos], sh = prm[24 + pos];
        const int8_t *p = ring + c * S;
        int8_t *o = out_row + c;
        for (g = 0; g < groups; g++)
        {
            int8x16_t x01, x23;
            int32x4_t acc;
            edgeq_mve_dw3d_load2(&p, s_w, &x01, &x23);
            acc = vdupq_n_s32(vmladavq_s8(x01, wn));
            acc = vsetq_lane_s32(vmladavq_s8(x01, wv), acc, 0);
            acc = vsetq_lane_s32(vmladavq_s8(x23, wv), acc, 2);
            acc = vsetq_lane_s32(vmladavq_s8(x23, wn), acc, 3);
            vstrbq_scatter_offset_s32(o, off_out, edgeq_mve_dw3d_out(acc, corr, mult, sh, out_off, lo, hi, floored));
            o += 4 * ch;
        }
        if (tail)
        {
            const int8x16_t x01 = vldrbq_s8(p);
            const int32_t a0 = vmladavq_s8(x01, wv);
            const int32_t a1 = tail > 1 ? vmladavq_s8(x01, wn) : 0;
            const int32_t a2 = tail > 2 ? vmladavq_s8(vldrbq_s8(p + 2 * step), wv) : 0;
            const int32x4_t acc = vsetq_lane_s32(a2, vsetq_lane_s32(a0, vdupq_n_s32(a1), 0), 2);
            vstrbq_scatter_offset_p_s32(o, off_out, edgeq_mve_dw3d_out(acc, corr, mult, sh, out_off, lo, hi, floored),
                                        vctp32q((uint32_t)tail));
        }
    }
}

/* The whole call through the dot-product ring (edgeq_mve_dw3d_ok holds). */
static __attribute__((noinline, noclone)) void edgeq_mve_dw3d(const cmsis_nn_dw_conv_params *dw,
                                                              const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                              const cmsis_nn_dims *output_dims, int8_t *output_data,
                                                              const int8_t *blocks, int32_t bottom_up, int8_t *ring)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t s_h = dw->stride.h, s_w = dw->stride.w, pad_h = dw->padding.h, pad_w = dw->padding.w;
    const int32_t wp = (out_w - 1) * s_w + 3, S = edgeq_mve_dw3d_stride(wp);
    const int32_t cols = wp - pad_w < in_w ? wp - pad_w : in_w;
    const int8_t zp = (int8_t)(-dw->input_offset);
    const int32x4_t lo = vdupq_n_s32(dw->activation.min), hi = vdupq_n_s32(dw->activation.max);
    const int32_t floored = edgeq_mve_dw3_floored(1, dw->activation.min, dw->output_offset);
    int32_t bt, i, k;
    for (bt = 0; bt < input_dims->n; bt++)
    {
        const int8_t *in_b = input_data + bt * in_h * in_w * ch;
        int32_t tag[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
        const int8x16_t z = vdupq_n_s8(zp);
        /* the padding (columns left and right, the slack) holds the zero point for good */
        for (k = 0; k < ch * S; k += 16)
        {
            vstrbq_s8(ring + k, z);
        }
        for (i = 0; i < out_h; i++)
        {
            const int32_t oy = bottom_up ? out_h - 1 - i : i;
            const int32_t y0 = oy * s_h - pad_h;
            int32_t ky;
            for (ky = 0; ky < 3; ky++)
            {
                const int32_t y = y0 + ky, sl = ((y % 3) + 3) % 3;
                const int32_t key = (y < 0 || y >= in_h) ? -1 : y;
                if (tag[sl] != key)
                {
                    edgeq_mve_dw3d_fill(ring, S, in_b, y, in_h, in_w, ch, cols, pad_w, zp);
                    tag[sl] = key;
                }
            }
            {
                int8_t *out_row = output_data + ((bt * out_h + oy) * out_w) * ch;
                const int32_t rot = ((y0 % 3) + 3) % 3;
                /* constant strides: the window loads take immediate offsets */
                if (s_w == 1 && floored)
                {
                    edgeq_mve_dw3d_row(ring, S, rot, blocks, out_row, ch, out_w, 1, dw->output_offset, lo, hi, 1);
                }
                else if (floored)
                {
                    edgeq_mve_dw3d_row(ring, S, rot, blocks, out_row, ch, out_w, 2, dw->output_offset, lo, hi, 1);
                }
                else if (s_w == 1)
                {
                    edgeq_mve_dw3d_row(ring, S, rot, blocks, out_row, ch, out_w, 1, dw->output_offset, lo, hi, 0);
                }
                else
                {
                    edgeq_mve_dw3d_row(ring, S, rot, blocks, out_row, ch, out_w, 2, dw->output_offset, lo, hi, 0);
                }
            }
        }
    }
}

/* 1 when edgeq_mve_depthwise3_packed_s8 takes a depthwise convolution of this geometry (every
 * call of a banded layer has the same output width and stride). */
int32_t edgeq_mve_depthwise3_packed_ok(const cmsis_nn_dw_conv_params *p, const cmsis_nn_dims *input_dims,
                                       const cmsis_nn_dims *output_dims)
{
    const int32_t wp = (output_dims->w - 1) * p->stride.w + 3;
    return input_dims->c == output_dims->c && p->ch_mult == 1 && p->dilation.h == 1 && p->dilation.w == 1 &&
           p->padding.w >= 0 && p->padding.h >= 0 && 3 * 8 * wp <= EDGEQ_MVE_DW3_BUF;
}

arm_cmsis_nn_status edgeq_mve_depthwise3_packed_s8(const cmsis_nn_dw_conv_params *dw, const cmsis_nn_dims *input_dims,
                                                   const int8_t *input_data, const cmsis_nn_dims *output_dims,
                                                   int8_t *output_data, const int32_t *blocks, int32_t simple,
                                                   int32_t in_place)
{
    const int32_t wp = (output_dims->w - 1) * dw->stride.w + 3;
    const int32_t n_blocks = (input_dims->c + 7) >> 3, per_chunk = EDGEQ_MVE_DW3_BUF / (3 * 8 * wp);
    const int8_t *w = (const int8_t *)(const void *)blocks;
    int8_t ring[EDGEQ_MVE_DW3_BUF] __attribute__((aligned(16)));
    int32_t b0;
    if (!edgeq_mve_depthwise3_packed_ok(dw, input_dims, output_dims) || (in_place != 0 && n_blocks > per_chunk))
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    if (edgeq_mve_dw3d_ok(input_dims->c, wp, output_dims->w, dw->stride.w, simple))
    {
        edgeq_mve_dw3d(dw, input_dims, input_data, output_dims, output_data, w, in_place == 2, ring);
        return ARM_CMSIS_NN_SUCCESS;
    }
    for (b0 = 0; b0 < n_blocks; b0 += per_chunk)
    {
        const int8_t *blk = w + b0 * EDGEQ_MVE_DW3_RECORD;
        const int32_t nb = n_blocks - b0 < per_chunk ? n_blocks - b0 : per_chunk;
        edgeq_mve_dw3_chunk(dw, input_dims, input_data, output_dims, output_data, b0, nb, blk, EDGEQ_MVE_DW3_RECORD,
                            (const int32_t *)(const void *)(blk + EDGEQ_MVE_DW3_W), EDGEQ_MVE_DW3_RECORD / 4, ring,
                            simple, in_place == 2);
    }
    return ARM_CMSIS_NN_SUCCESS;
}

#else
typedef int edgeq_mve_depthwise_rows_unused; /* ISO C: a translation unit is not empty */
#endif /* EDGEQ_MVE */
