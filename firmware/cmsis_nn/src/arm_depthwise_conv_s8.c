/*
 * edgeq kernels -- int8 depthwise convolution with depth multiplier and dilation.
 * Filter layout [1, H, W, C_in * ch_mult]; output channel c = c_in * ch_mult + m.
 * Portable C; with the DSP extension (EDGEQ_DOT_DSP) and ch_mult 1, four channels at a time
 * with SMLABB / SMLATT (no scratch).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgeq_mve_kernels.h"
#include "edgeq_dw_packed.h"
#include "edgeq_route_guards.h"

#include <string.h>

#if defined(EDGEQ_DOT_DSP)
/* ------------------------------------------------------------------ DSP path, ch_mult == 1 */

/* The 3x3 path's assembly (13 registers) and its pre-extended filter taps: optimised builds on
 * the core, except -Os, where GCC cannot free 13 registers around the 3x3 window; there (and
 * off the core) the same arithmetic in C on the int8 filter. */
#if defined(EDGEQ_DSP_ASM) && !defined(__OPTIMIZE_SIZE__)
#define EDGEQ_DW_ASM3 1
#endif

/*
 * Channels are independent in a depthwise convolution, so the vector runs across channels:
 * one input word (channels c..c+3 of a tap) becomes (x0 + off, x2 + off) and (x1 + off,
 * x3 + off) with one SXTAB16 each (sign-extend and add the offset pair; values in [-255, 255]:
 * exact in 16 bits), one filter word (w0, w2) and (w1, w3) with SXTB16, and SMLABB / SMLATT add
 * each lane's product to its own channel. Only in-bounds taps are visited (TFLM: padded taps
 * contribute nothing), so the offset stays per tap rather than hoisted into the bias.
 * Products |.| <= 255 * 128; the accumulators add modulo 2^32 like TFLM's int32 accumulator:
 * the same bits for all int8 inputs.
 *
 * Input and filter both advance by ch bytes per tap along a row (dilation 1), so one register
 * offset serves both pointers; a window walks row by row (input + in_w * ch, filter + k_w * ch)
 * with no per-tap index arithmetic.
 */
#define EDGEQ_DW_TAP(xp, wp)                                                                                         \
    do                                                                                                               \
    {                                                                                                                \
        const int32_t xv_ = edgeq_read_s8x4(xp), wv_ = edgeq_read_s8x4(wp);                                           \
        const int32_t x02_ = edgeq_sxtab16(off2, xv_), w02_ = edgeq_sxtb16(wv_);                                      \
        a0 = edgeq_smlabb(x02_, w02_, a0);                                                                           \
        a2 = edgeq_smlatt(x02_, w02_, a2);                                                                           \
        {                                                                                                            \
            const int32_t x13_ = edgeq_sxtab16_ror8(off2, xv_), w13_ = edgeq_sxtb16_ror8(wv_);                        \
            a1 = edgeq_smlabb(x13_, w13_, a1);                                                                       \
            a3 = edgeq_smlatt(x13_, w13_, a3);                                                                       \
        }                                                                                                            \
    } while (0)

/* acc[0..3] += the window of four channels: n_rows rows of n_taps taps; x steps tap_step per
 * tap and row_step per row, w steps ch per tap and w_row per row. */
#if defined(EDGEQ_DSP_ASM)
/* On the core: one row of n >= 1 taps, ch bytes apart in input and filter (dilation 1), as a
 * hand-allocated loop (13 registers), 14 instructions per tap (the tap's 10 plus two pointer
 * steps and the loop branch). */
static inline void edgeq_dw_row4_d1(const int8_t *x, const int8_t *w, int32_t n, int32_t ch, int32_t off2,
                                    int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t xv, wv, t1, t2;
    __asm__("1:\n\t"
            "ldr %[xv], [%[x]]\n\t"
            "ldr %[wv], [%[w]]\n\t"
            "add %[x], %[x], %[ch]\n\t"
            "add %[w], %[w], %[ch]\n\t"
            "sxtab16 %[t1], %[off2], %[xv]\n\t"
            "sxtb16 %[t2], %[wv]\n\t"
            "smlabb %[a0], %[t1], %[t2], %[a0]\n\t"
            "smlatt %[a2], %[t1], %[t2], %[a2]\n\t"
            "sxtab16 %[t1], %[off2], %[xv], ror #8\n\t"
            "sxtb16 %[t2], %[wv], ror #8\n\t"
            "smlabb %[a1], %[t1], %[t2], %[a1]\n\t"
            "smlatt %[a3], %[t1], %[t2], %[a3]\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+&r"(x), [w] "+&r"(w), [n] "+&r"(n),
              [xv] "=&r"(xv), [wv] "=&r"(wv), [t1] "=&r"(t1), [t2] "=&r"(t2)
            : [ch] "r"(ch), [off2] "r"(off2)
            : "memory", "cc");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif
static inline void edgeq_dw_row4(const int8_t *x, const int8_t *w, int32_t n, int32_t ch, int32_t tap_step,
                                 int32_t off2, int32_t *a0p, int32_t *a1p, int32_t *a2p, int32_t *a3p)
{
    int32_t a0 = *a0p, a1 = *a1p, a2 = *a2p, a3 = *a3p;
    for (; n > 0; n--, x += tap_step, w += ch)
    {
        EDGEQ_DW_TAP(x, w);
    }
    *a0p = a0;
    *a1p = a1;
    *a2p = a2;
    *a3p = a3;
}

/* acc[0..3] += the window of four channels: n_rows rows of n_taps >= 1 taps; x steps tap_step
 * per tap and row_step per row, w steps ch per tap and w_row per row. */
static __attribute__((noinline)) void edgeq_dw_window4(const int8_t *x, const int8_t *w, int32_t n_rows,
                                                      int32_t n_taps, int32_t ch,
                             int32_t tap_step, int32_t row_step, int32_t w_row, int32_t off2, int32_t acc[4])
{
    for (; n_rows > 0; n_rows--, x += row_step, w += w_row)
    {
#if defined(EDGEQ_DSP_ASM)
        if (tap_step == ch)
        {
            edgeq_dw_row4_d1(x, w, n_taps, ch, off2, acc);
            continue;
        }
#endif
        edgeq_dw_row4(x, w, n_taps, ch, tap_step, off2, &acc[0], &acc[1], &acc[2], &acc[3]);
    }
}

/* acc = bias + the whole 3x3 window in bounds (dilation 1): nine taps unrolled, the input walked
 * row by row (row_step = in_w * ch); the accumulators start from the bias (no copy per pixel). */
#if defined(EDGEQ_DW_ASM3)
/*
 * On the core: register-allocated by hand (with the intrinsics GCC schedules every load of the
 * window first and spills a fifth of the block to the stack); 13 registers. Input offsets ch and
 * 2 ch come from the one register ch (LSL #1 addressing).
 */
/* Taps on pre-extended weights (edgeq_dw_block.wx, w the block's wx + the window's first tap):
 * the filter words at immediate offsets (8 bytes a tap, 24 a row), eight instructions a tap. */
#define EDGEQ_DW_ASM_TAPX(xoff, woff)                                                                                  \
    "ldr %[xv], [%[x]" xoff "]\n\t"                                                                                    \
    "ldrd %[wa], %[wb], [%[w], #" woff "]\n\t"                                                                         \
    "sxtab16 %[t1], %[off2], %[xv]\n\t"                                                                                \
    "smlabb %[a0], %[t1], %[wa], %[a0]\n\t"                                                                            \
    "smlatt %[a2], %[t1], %[wa], %[a2]\n\t"                                                                            \
    "sxtab16 %[t1], %[off2], %[xv], ror #8\n\t"                                                                        \
    "smlabb %[a1], %[t1], %[wb], %[a1]\n\t"                                                                            \
    "smlatt %[a3], %[t1], %[wb], %[a3]\n\t"
#define EDGEQ_DW_ASM_ROWX3(w0, w1, w2)                                                                                 \
    EDGEQ_DW_ASM_TAPX("", w0) EDGEQ_DW_ASM_TAPX(", %[ch]", w1) EDGEQ_DW_ASM_TAPX(", %[ch], lsl #1", w2)
#define EDGEQ_DW_ASM_ROWX2(w0, w1) EDGEQ_DW_ASM_TAPX("", w0) EDGEQ_DW_ASM_TAPX(", %[ch]", w1)
#define EDGEQ_DW_ASM_NEXT_ROW "add %[x], %[x], %[rs]\n\t"
#define EDGEQ_DW_ASM_WINDOW_OPS                                                                                        \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+&r"(x), [xv] "=&r"(xv), [wa] "=&r"(wa),       \
      [wb] "=&r"(wb), [t1] "=&r"(t1)                                                                                   \
    : [w] "r"(w), [ch] "r"(ch), [rs] "r"(row_step), [off2] "r"(off2)                                                   \
    : "memory"
static inline __attribute__((always_inline)) void edgeq_dw_3x3_4(const int8_t *x, const int8_t *w, int32_t ch, int32_t row_step, int32_t off2,
                                  const int32_t bias[4], int32_t acc[4])
{
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    int32_t xv, wa, wb, t1;
    __asm__(EDGEQ_DW_ASM_ROWX3("0", "8", "16") EDGEQ_DW_ASM_NEXT_ROW EDGEQ_DW_ASM_ROWX3("24", "32", "40")
                EDGEQ_DW_ASM_NEXT_ROW EDGEQ_DW_ASM_ROWX3("48", "56", "64") EDGEQ_DW_ASM_WINDOW_OPS);
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#else
/* Off the core (and in -Os builds): the same taps in C, on the same pre-extended weights. */
static inline __attribute__((always_inline)) void edgeq_dw_3x3_4(const int8_t *x, const int8_t *w, int32_t ch, int32_t row_step, int32_t off2,
                                  const int32_t bias[4], int32_t acc[4])
{
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    const int32_t *wr = (const int32_t *)(const void *)w;
    int32_t r, t;
    for (r = 0; r < 3; r++, x += row_step, wr += 6)
    {
        for (t = 0; t < 3; t++)
        {
            const int32_t v = edgeq_read_s8x4(x + t * ch);
            const int32_t x02 = edgeq_sxtab16(off2, v), x13 = edgeq_sxtab16_ror8(off2, v);
            a0 = edgeq_smlabb(x02, wr[2 * t], a0);
            a2 = edgeq_smlatt(x02, wr[2 * t], a2);
            a1 = edgeq_smlabb(x13, wr[2 * t + 1], a1);
            a3 = edgeq_smlatt(x13, wr[2 * t + 1], a3);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

/* A layer's constants for the per-pixel code. */
typedef struct
{
    const int8_t *filter;
    const int32_t *bias, *mult, *shift;
    int32_t ch, in_off, off2, out_off, act_min, act_max;
    int32_t tap_step, row_step, w_row, dil_h, dil_w, k_w;
    const struct edgeq_dw_block_s *packed; /* the 3x3 path's blocks prepared at generation time, or NULL */
} edgeq_dw_layer;

/* Four requantized outputs; mode as edgeq_conv_out (a constant where inlined). */
static inline void edgeq_dw_out4(const edgeq_dw_layer *L, const int32_t acc[4], int32_t c, int32_t mode, int8_t *out)
{
    int32_t j;
    for (j = 0; j < 4; j++)
    {
        int32_t v;
        if (mode == 2)
        {
            v = edgeq_ssat8(edgeq_requant_fast(acc[j], L->mult[c + j], L->shift[c + j]) + L->out_off);
        }
        else if (mode == 1)
        {
            v = edgeq_clamp_i32(edgeq_ssat8(edgeq_requant_fast(acc[j], L->mult[c + j], L->shift[c + j]) + L->out_off),
                                L->act_min, L->act_max);
        }
        else
        {
            v = edgeq_clamp_i32(arm_nn_requantize(acc[j], L->mult[c + j], L->shift[c + j]) + L->out_off, L->act_min,
                                L->act_max);
        }
        out[c + j] = (int8_t)v;
    }
}

/* A block of four channels c..c+3: its filter taps sign-extended (the 3x3 path), biases and
 * requantization constants. The 3x3 path either reads these from the generated code
 * (edgeq_depthwise_conv_3x3_packed_s8: prepared at generation time, in flash, the layout
 * edgeq/codegen/dw_packed.py writes) or prepares them once per row (edgeq_dw_block_prepare).
 * rq[0].e == 0 marks a block the bounded requantization does not apply to; its rq[j] then hold
 * {multiplier, shift, 0} for the general requantization. A bounded block's taps and biases are
 * doubled (the window then sums 2 * acc, what edgeq_requant_bounded's SMMULR takes). */
typedef struct edgeq_dw_block_s
{
    /* tap t (row-major over the 3x3 window) as (w0, w2) and (w1, w3) int16 pairs at words 2t and
     * 2t + 1 (the inner loops load both with one LDRD) */
    int32_t wx[18];
    int32_t bias[4];
    edgeq_rq rq[4];
} edgeq_dw_block;
typedef char edgeq_dw_block_is_34_words[sizeof(edgeq_dw_block) == 34 * 4 ? 1 : -1];

static void edgeq_dw_block_prepare(const edgeq_dw_layer *L, int32_t c, edgeq_dw_block *B)
{
    int32_t j;
    for (j = 0; j < 4; j++)
    {
        B->rq[j] = edgeq_rq_prepare(L->mult[c + j], L->shift[c + j], L->out_off);
        B->bias[j] = L->bias != 0 ? L->bias[c + j] : 0;
    }
}

/* Four outputs through edgeq_requant_bounded (modes 3 and 4: the clamp only in mode 3). */
static inline void edgeq_dw_out4_bounded(const edgeq_dw_layer *L, const edgeq_dw_block *B, const int32_t acc[4],
                                         int32_t mode, int8_t *out)
{
    int32_t j;
#pragma GCC unroll 4
    for (j = 0; j < 4; j++) /* unrolled: the loop's own counter and branch cost a third of it */
    {
        int32_t v = edgeq_requant_bounded(acc[j], B->rq[j].m, B->rq[j].k, B->rq[j].e);
        if (mode == 3)
        {
            v = edgeq_clamp_i32(v, L->act_min, L->act_max);
        }
        out[j] = (int8_t)v;
    }
}

/* edgeq_dw_out4_bounded on doubled accumulators (the 3x3 path's bounded blocks carry doubled
 * taps and biases, so the window sums 2 * acc directly: edgeq_requant_bounded without its shift;
 * exact since |acc| < 2^29). */
static inline void edgeq_dw_out4_bounded2(const edgeq_dw_layer *L, const edgeq_dw_block *B, const int32_t acc2[4],
                                          int32_t mode, int8_t *out)
{
    int32_t j;
#pragma GCC unroll 4
    for (j = 0; j < 4; j++)
    {
        const int32_t v = edgeq_smmulr(acc2[j], B->rq[j].m);
        int32_t r = edgeq_ssat8((v + B->rq[j].k + (v >> 31)) >> B->rq[j].e);
        if (mode == 3)
        {
            r = edgeq_clamp_i32(r, L->act_min, L->act_max);
        }
        out[j] = (int8_t)r;
    }
}

static inline void edgeq_dw_bias4(const edgeq_dw_layer *L, int32_t c, int32_t acc[4])
{
    if (L->bias != 0)
    {
        memcpy(acc, L->bias + c, 4 * sizeof(int32_t));
    }
    else
    {
        acc[0] = acc[1] = acc[2] = acc[3] = 0;
    }
}

/* The last ch % 4 channels of one output pixel (window: n_rows x n_taps taps from x / w). */
static void edgeq_dw_tail(const edgeq_dw_layer *L, const int8_t *x, const int8_t *w, int32_t n_rows, int32_t n_taps,
                          int8_t *out)
{
    int32_t c, r, t;
    for (c = L->ch & ~3; c < L->ch; c++)
    {
        int32_t acc = L->bias != 0 ? L->bias[c] : 0;
        for (r = 0; r < n_rows; r++)
        {
            const int8_t *xr = x + r * L->row_step + c, *wr = w + r * L->w_row + c;
            for (t = 0; t < n_taps; t++)
            {
                acc += ((int32_t)xr[t * L->tap_step] + L->in_off) * (int32_t)wr[t * L->ch];
            }
        }
        acc = arm_nn_requantize(acc, L->mult[c], L->shift[c]) + L->out_off;
        out[c] = (int8_t)edgeq_clamp_i32(acc, L->act_min, L->act_max);
    }
}

/* One output pixel, any window (the borders, other kernel sizes, dilation). */
static inline void edgeq_dw_pixel(const edgeq_dw_layer *L, const int8_t *x, const int8_t *w, int32_t n_rows,
                                  int32_t n_taps, int32_t mode, int8_t *out)
{
    int32_t c;
    for (c = 0; c + 4 <= L->ch; c += 4)
    {
        int32_t acc[4];
        edgeq_dw_bias4(L, c, acc);
        if (n_rows > 0 && n_taps > 0)
        {
            edgeq_dw_window4(x + c, w + c, n_rows, n_taps, L->ch, L->tap_step, L->row_step, L->w_row, L->off2, acc);
        }
        if (mode >= 3)
        {
            edgeq_dw_block B;
            edgeq_dw_block_prepare(L, c, &B);
            edgeq_dw_out4_bounded(L, &B, acc, mode, out + c);
        }
        else
        {
            edgeq_dw_out4(L, acc, c, mode, out);
        }
    }
    edgeq_dw_tail(L, x, w, n_rows, n_taps, out);
}

/* Modes 3 and 4: one channel block (filter w) over a run of n_px pixels whose 3x3 windows are
 * wholly in bounds, x_step input bytes apart (the block's constants prepared once per row). */
static inline void edgeq_dw_3x3_block_body(const edgeq_dw_layer *L, const edgeq_dw_block *B, const int8_t *x,
                                           const int8_t *w, int32_t x_step, int32_t n_px, int32_t mode, int8_t *out)
{
    for (; n_px > 0; n_px--, x += x_step, out += L->ch)
    {
        int32_t acc[4];
        edgeq_dw_3x3_4(x, w, L->ch, L->row_step, L->off2, B->bias, acc); /* acc = 2 (bias + the window) */
        edgeq_dw_out4_bounded2(L, B, acc, mode, out);
    }
}

/* ---- 3x3 filters, dilation 1: a whole output row per channel block */

/* acc[0..3] += n_rows rows of n_taps (0..3) taps, the input rows row_step apart, the filter rows
 * 3 ch apart (k_w 3), taps ch apart in both: the border windows (a column or row of taps
 * dropped) without a per-tap loop. */
#if defined(EDGEQ_DW_ASM3)
static inline __attribute__((always_inline)) void edgeq_dw_rows3_4(const int8_t *x, const int8_t *w,
                                                                   int32_t n_rows, int32_t n_taps, int32_t ch,
                                                                   int32_t row_step, int32_t off2, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t xv, wa, wb, t1;
    if (n_taps == 2 && n_rows == 3) /* a left or right border column: 6 taps */
    {
        __asm__(EDGEQ_DW_ASM_ROWX2("0", "8") EDGEQ_DW_ASM_NEXT_ROW EDGEQ_DW_ASM_ROWX2("24", "32")
                    EDGEQ_DW_ASM_NEXT_ROW EDGEQ_DW_ASM_ROWX2("48", "56") EDGEQ_DW_ASM_WINDOW_OPS);
    }
    else if (n_taps == 3 && n_rows == 2) /* the top or bottom row */
    {
        __asm__(EDGEQ_DW_ASM_ROWX3("0", "8", "16") EDGEQ_DW_ASM_NEXT_ROW EDGEQ_DW_ASM_ROWX3("24", "32", "40")
                    EDGEQ_DW_ASM_WINDOW_OPS);
    }
    else if (n_taps == 2 && n_rows == 2) /* a corner */
    {
        __asm__(EDGEQ_DW_ASM_ROWX2("0", "8") EDGEQ_DW_ASM_NEXT_ROW EDGEQ_DW_ASM_ROWX2("24", "32")
                    EDGEQ_DW_ASM_WINDOW_OPS);
    }
    else
    {
        const int32_t *wr = (const int32_t *)(const void *)w;
        int32_t r, t;
        for (r = 0; r < n_rows; r++, x += row_step, wr += 6)
        {
            for (t = 0; t < n_taps; t++)
            {
                const int32_t v = edgeq_read_s8x4(x + t * ch);
                const int32_t x02 = edgeq_sxtab16(off2, v), x13 = edgeq_sxtab16_ror8(off2, v);
                a0 = edgeq_smlabb(x02, wr[2 * t], a0);
                a2 = edgeq_smlatt(x02, wr[2 * t], a2);
                a1 = edgeq_smlabb(x13, wr[2 * t + 1], a1);
                a3 = edgeq_smlatt(x13, wr[2 * t + 1], a3);
            }
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#else
static inline __attribute__((always_inline)) void edgeq_dw_rows3_4(const int8_t *x, const int8_t *w, int32_t n_rows, int32_t n_taps, int32_t ch,
                                    int32_t row_step, int32_t off2, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int32_t *wr = (const int32_t *)(const void *)w;
    int32_t r, t;
    for (r = 0; r < n_rows; r++, x += row_step, wr += 6)
    {
        for (t = 0; t < n_taps; t++)
        {
            const int32_t v = edgeq_read_s8x4(x + t * ch);
            const int32_t x02 = edgeq_sxtab16(off2, v), x13 = edgeq_sxtab16_ror8(off2, v);
            a0 = edgeq_smlabb(x02, wr[2 * t], a0);
            a2 = edgeq_smlatt(x02, wr[2 * t], a2);
            a1 = edgeq_smlabb(x13, wr[2 * t + 1], a1);
            a3 = edgeq_smlatt(x13, wr[2 * t + 1], a3);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

/* (the same, out of line: the general requantization's rare path) */
static __attribute__((noinline)) void edgeq_dw_rows3_4_call(const int8_t *x, const int8_t *w, int32_t n_rows,
                                                           int32_t n_taps, int32_t ch, int32_t row_step, int32_t off2,
                                                           int32_t acc[4])
{
    edgeq_dw_rows3_4(x, w, n_rows, n_taps, ch, row_step, off2, acc);
}

/* The block's taps, biases and requantization constants at run time (the generated code passes
 * them prepared: edgeq_depthwise_conv_3x3_packed_s8), and whether edgeq_requant_bounded applies to
 * these four channels (the conditions of edgeq_requant_bounded_ok for a 3x3 window, checked per
 * block where the constants are loaded anyway rather than over the whole layer at every call;
 * a block that fails keeps {multiplier, shift, 0} in rq for the general requantization). */
static int32_t edgeq_dw_block_prepare_3x3(const edgeq_dw_layer *L, int32_t c, edgeq_dw_block *B)
{
    const int32_t limit = (1 << 29) - 9 * 255 * 128;
    int32_t j, ok = 1;
    for (j = 0; j < 9; j++)
    {
        const int32_t v = edgeq_read_s8x4(L->filter + j * L->ch + c);
        B->wx[2 * j] = edgeq_sxtb16(v);
        B->wx[2 * j + 1] = edgeq_sxtb16_ror8(v);
    }
    for (j = 0; j < 4; j++)
    {
        const int32_t m = L->mult[c + j], s = L->shift[c + j], b = L->bias != 0 ? L->bias[c + j] : 0;
        B->bias[j] = b;
        if ((uint32_t)s + 23u > 22u || m == INT32_MIN || (uint32_t)b + (uint32_t)(limit - 1) > (uint32_t)(2 * limit - 2))
        {
            ok = 0;
            continue;
        }
        B->rq[j] = edgeq_rq_prepare(m, s, L->out_off);
    }
    if (!ok)
    {
        for (j = 0; j < 4; j++)
        {
            B->rq[j].m = L->mult[c + j];
            B->rq[j].k = L->shift[c + j];
            B->rq[j].e = 0;
        }
        return 0;
    }
    /* bounded: taps and biases doubled (|2 w| <= 256 fits the int16 lanes, |2 acc| < 2^30), so the
     * requantization needs no doubling of its own */
    for (j = 0; j < 18; j++)
    {
        B->wx[j] = edgeq_sadd16(B->wx[j], B->wx[j]);
    }
    for (j = 0; j < 4; j++)
    {
        B->bias[j] *= 2;
    }
    return 1;
}

/* Four outputs of a block the bounded requantization does not apply to (rq: multiplier, shift). */
static void edgeq_dw_out4_general(const edgeq_dw_layer *L, const edgeq_dw_block *B, const int32_t acc[4], int8_t *out)
{
    int32_t j;
    for (j = 0; j < 4; j++)
    {
        out[j] = (int8_t)edgeq_clamp_i32(arm_nn_requantize(acc[j], B->rq[j].m, B->rq[j].k) + L->out_off, L->act_min,
                                         L->act_max);
    }
}

/* One output row of the 3x3 path: x_row / w_row the input row and filter row of its first
 * in-bounds tap row, n_rows in-bounds tap rows (0..3); output columns [ox_a, ox_b) have all three
 * tap columns in bounds (run: and all three rows, the unrolled 3x3 window). */
#define EDGEQ_DW_MAX_EDGE 8
typedef struct
{
    const int8_t *x_row, *w_row;
    int32_t ky_lo, n_rows, in_w, stride_w, pad_w, out_w, ox_a, ox_b, run;
    int8_t *out;
    /* the border columns (outside [ox_a, ox_b)), prepared once per call: byte offsets of the
     * first in-bounds tap in the input row, its filter column, the tap count, the output */
    int32_t n_edge;
    struct
    {
        int32_t x, kx, taps, o;
    } edge[EDGEQ_DW_MAX_EDGE];
} edgeq_dw_row3;

/* The filter pointer of a window starting at tap column kx of the row's first tap row: the
 * block's pre-extended taps. */
#define EDGEQ_DW_3X3_W(L, R, B, c, kx) ((const int8_t *)(const void *)((B)->wx + 2 * (3 * (R)->ky_lo + (kx))))

/* One channel block over the row; mode 3 / 4 as edgeq_dw_out4_bounded, 0 the general
 * requantization (every column through the per-column window). The border columns first (each
 * with its own tap range), then the interior run. */
static inline __attribute__((always_inline)) void edgeq_dw_3x3_block_row_body(const edgeq_dw_layer *L, const edgeq_dw_row3 *R,
                                               const edgeq_dw_block *B, int32_t c, int32_t mode)
{
    const int32_t run = mode != 0 && R->run;
    const int32_t n = R->n_edge + (run ? 0 : R->ox_b - R->ox_a);
    int32_t i;
    /* the border columns, then (rows with fewer than three tap rows, or mode 0) the interior */
    for (i = 0; i < n; i++)
    {
        int32_t acc[4], xo = 0, kx = 0, taps = 3, o;
        const int8_t *w;
        if (i < R->n_edge)
        {
            xo = R->edge[i].x;
            kx = R->edge[i].kx;
            taps = R->edge[i].taps;
            o = R->edge[i].o;
        }
        else
        {
            const int32_t ox = R->ox_a + i - R->n_edge;
            xo = (ox * R->stride_w - R->pad_w) * L->ch;
            o = ox * L->ch;
        }
        w = EDGEQ_DW_3X3_W(L, R, B, c, kx);
        if (mode == 0)
        {
            memcpy(acc, B->bias, sizeof acc);
            edgeq_dw_rows3_4_call(R->x_row + xo + c, w, R->n_rows, taps, L->ch, L->row_step, L->off2, acc);
            edgeq_dw_out4_general(L, B, acc, R->out + o + c);
        }
        else
        {
            memcpy(acc, B->bias, sizeof acc);
            edgeq_dw_rows3_4(R->x_row + xo + c, w, R->n_rows, taps, L->ch, L->row_step, L->off2, acc);
            edgeq_dw_out4_bounded2(L, B, acc, mode, R->out + o + c);
        }
    }
    if (run)
    {
        edgeq_dw_3x3_block_body(L, B, R->x_row + c + (R->ox_a * R->stride_w - R->pad_w) * L->ch,
                                EDGEQ_DW_3X3_W(L, R, B, c, 0),
                                R->stride_w * L->ch, R->ox_b - R->ox_a, mode, R->out + c + R->ox_a * L->ch);
    }
}

static __attribute__((noinline)) void edgeq_dw_3x3_block_row(const edgeq_dw_layer *L, const edgeq_dw_row3 *R,
                                                            const edgeq_dw_block *B, int32_t c, int32_t mode)
{
    if (mode == 4)
    {
        edgeq_dw_3x3_block_row_body(L, R, B, c, 4);
    }
    else if (mode == 3)
    {
        edgeq_dw_3x3_block_row_body(L, R, B, c, 3);
    }
    else
    {
        edgeq_dw_3x3_block_row_body(L, R, B, c, 0);
    }
}

/* One output row, channel block by channel block (the block's requantization constants and
 * biases prepared once per row). A block whose constants fail the bounded requantization's
 * conditions takes the general one. */
static __attribute__((noinline)) void edgeq_dw_3x3_row_blocks(const edgeq_dw_layer *L, const edgeq_dw_row3 *R)
{
    const int32_t mode = L->act_min > -128 || L->act_max < 127 ? 3 : 4;
    int32_t c, ox;
    if (L->packed != 0 || !EDGEQ_NEED_DW_3X3_DSP) /* (then only prepared calls come here) */
    {
        /* prepared at generation time: no per-row work before the block's first pixel */
        const edgeq_dw_block *B = L->packed;
        for (c = 0; c + 4 <= L->ch; c += 4, B++)
        {
            edgeq_dw_3x3_block_row(L, R, B, c, B->rq[0].e != 0 ? mode : 0);
        }
        return; /* (the generated code packs only layers without a channel tail) */
    }
    for (c = 0; c + 4 <= L->ch; c += 4)
    {
        edgeq_dw_block B;
        edgeq_dw_3x3_block_row(L, R, &B, c, edgeq_dw_block_prepare_3x3(L, c, &B) ? mode : 0);
    }
    if (L->ch & 3)
    {
        for (ox = 0; ox < R->out_w; ox++)
        {
            const int32_t x0 = ox * R->stride_w - R->pad_w;
            int32_t kx_lo, kx_hi;
            edgeq_tap_range(x0, 1, 3, R->in_w, &kx_lo, &kx_hi);
            edgeq_dw_tail(L, R->x_row + (x0 + kx_lo) * L->ch, R->w_row + kx_lo * L->ch, R->n_rows, kx_hi - kx_lo,
                          R->out + ox * L->ch);
        }
    }
}

/* One output row of the general path (filters other than 3x3 with dilation 1): every pixel
 * through edgeq_dw_pixel with its own tap ranges. */
static __attribute__((noinline)) void edgeq_dw_row(const edgeq_dw_layer *L, const int8_t *in_b, int32_t in_w,
                                                  int32_t in_h, int32_t k_h, int32_t y0, int32_t stride_w,
                                                  int32_t pad_w, int32_t out_w, int32_t mode, int8_t *out)
{
    int32_t ky_lo, ky_hi, ox;
    edgeq_tap_range(y0, L->dil_h, k_h, in_h, &ky_lo, &ky_hi);
    for (ox = 0; ox < out_w; ox++, out += L->ch)
    {
        const int32_t x0 = ox * stride_w - pad_w;
        int32_t kx_lo, kx_hi;
        edgeq_tap_range(x0, L->dil_w, L->k_w, in_w, &kx_lo, &kx_hi);
        {
            const int8_t *x = in_b + ((y0 + ky_lo * L->dil_h) * in_w + x0 + kx_lo * L->dil_w) * L->ch;
            const int8_t *w = L->filter + (ky_lo * L->k_w + kx_lo) * L->ch;
            if (mode == 4)
            {
                edgeq_dw_pixel(L, x, w, ky_hi - ky_lo, kx_hi - kx_lo, 4, out);
            }
            else
            {
                edgeq_dw_pixel(L, x, w, ky_hi - ky_lo, kx_hi - kx_lo, mode, out);
            }
        }
    }
}

/* packed: the 3x3 path's blocks from the generated code (filter_data, bias_data and q unused then;
 * returns ARM_CMSIS_NN_ARG_ERROR if the shape would leave the 3x3 row path). Unprepared calls:
 * ARM_CMSIS_NN_NO_IMPL_ERROR when the model's routes leave this layer to the portable loop
 * (edgeq_route_guards.h). */
static arm_cmsis_nn_status edgeq_depthwise_s8_dsp(const cmsis_nn_dw_conv_params *dw,
                                                  const cmsis_nn_per_channel_quant_params *q,
                                                  const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                                  const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                                  int8_t *output_data, const edgeq_dw_block *packed)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t stride_h = dw->stride.h, stride_w = dw->stride.w, pad_h = dw->padding.h, pad_w = dw->padding.w;
    const int32_t act_min = dw->activation.min, act_max = dw->activation.max;
    /* 2: the fast requantization and the activation range is all of int8 (SSAT alone clamps) */
    /* 4 / 3: edgeq_requant_bounded applies (the accumulators provably below 2^29) */
    const int32_t full = act_min <= -128 && act_max >= 127;
    /* (3x3 filters with dilation 1 decide per channel block: edgeq_dw_3x3_row_blocks) */
    int32_t is3x3 = (packed != 0 || EDGEQ_NEED_DW_3X3_DSP) && k_h == 3 && k_w == 3 && dw->dilation.h == 1 &&
                    dw->dilation.w == 1;
    int32_t mode = 0;
    /* the output columns whose window columns are all in bounds: 0 <= x0 and x0 + 2 < in_w */
    const int32_t ox_a = is3x3 ? (pad_w + stride_w - 1) / stride_w : 0;
    const int32_t ox_b = is3x3 && in_w - 3 + pad_w >= 0 ? edgeq_min_i32((in_w - 3 + pad_w) / stride_w + 1, out_w) : 0;
    edgeq_dw_layer L;
    edgeq_dw_row3 R;
    int32_t b, oy;

    L.filter = filter_data;
    L.bias = bias_data;
    L.mult = q != 0 ? q->multiplier : 0;
    L.shift = q != 0 ? q->shift : 0;
    L.ch = ch;
    L.in_off = dw->input_offset;
    L.off2 = edgeq_dup16(dw->input_offset);
    L.out_off = dw->output_offset;
    L.act_min = act_min;
    L.act_max = act_max;
    L.dil_h = dw->dilation.h;
    L.dil_w = dw->dilation.w;
    L.k_w = k_w;
    L.tap_step = L.dil_w * ch;
    L.row_step = L.dil_h * in_w * ch;
    L.w_row = k_w * ch;
    L.packed = packed;
    if (is3x3)
    {
        int32_t ox;
        R.in_w = in_w;
        R.stride_w = stride_w;
        R.pad_w = pad_w;
        R.out_w = out_w;
        R.ox_a = edgeq_min_i32(ox_a, out_w);
        R.ox_b = edgeq_max_i32(ox_b, R.ox_a);
        R.n_edge = 0;
        for (ox = 0; ox < out_w; ox++)
        {
            const int32_t x0 = ox * stride_w - pad_w;
            int32_t kx_lo, kx_hi;
            if (ox >= R.ox_a && ox < R.ox_b)
            {
                continue;
            }
            if (R.n_edge == EDGEQ_DW_MAX_EDGE)
            {
                break; /* (only with paddings wider than the filter: the per-pixel path below) */
            }
            edgeq_tap_range(x0, 1, 3, in_w, &kx_lo, &kx_hi);
            R.edge[R.n_edge].x = (x0 + kx_lo) * ch;
            R.edge[R.n_edge].kx = kx_lo;
            R.edge[R.n_edge].taps = kx_hi - kx_lo;
            R.edge[R.n_edge].o = ox * ch;
            R.n_edge++;
        }
        is3x3 = ox == out_w;
    }
    if (packed != 0 && (!is3x3 || (ch & 3) != 0))
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    if (!is3x3 && !EDGEQ_NEED_DW_GENERIC_DSP)
    {
        return ARM_CMSIS_NN_NO_IMPL_ERROR; /* (edgeq_route_guards.h) */
    }
    if (!is3x3)
    {
        mode = edgeq_requant_bounded_ok(q->multiplier, q->shift, bias_data, ch, k_h * k_w)
                   ? (full ? 4 : 3)
                   : (edgeq_requant_fast_ok(q->multiplier, q->shift, ch) ? (full ? 2 : 1) : 0);
    }
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * ch;
        int8_t *out_row = output_data + b * out_h * out_w * ch;
        for (oy = 0; oy < out_h; oy++, out_row += out_w * ch)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            if (is3x3)
            {
                int32_t ky_lo, ky_hi;
                edgeq_tap_range(y0, 1, 3, in_h, &ky_lo, &ky_hi);
                R.x_row = in_b + (y0 + ky_lo) * in_w * ch;
                R.w_row = filter_data + ky_lo * 3 * ch;
                R.ky_lo = ky_lo;
                R.n_rows = ky_hi - ky_lo;
                R.run = R.n_rows == 3 && R.ox_a < R.ox_b;
                R.out = out_row;
                edgeq_dw_3x3_row_blocks(&L, &R);
                continue;
            }
            edgeq_dw_row(&L, in_b, in_w, in_h, k_h, y0, stride_w, pad_w, out_w, mode, out_row);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
#endif /* EDGEQ_DOT_DSP */

#if defined(EDGEQ_DW3X3_PACKED)
arm_cmsis_nn_status edgeq_depthwise_conv_3x3_packed_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                       const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                       const cmsis_nn_dims *output_dims, int8_t *output_data,
                                                       const int32_t *blocks)
{
    const cmsis_nn_dims filter_dims = {1, 3, 3, input_dims->c};
    if (output_dims->c != input_dims->c || dw_conv_params->ch_mult != 1 || dw_conv_params->dilation.h != 1 ||
        dw_conv_params->dilation.w != 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    return edgeq_depthwise_s8_dsp(dw_conv_params, 0, input_dims, input_data, &filter_dims, 0, 0, output_dims,
                                  output_data, (const edgeq_dw_block *)(const void *)blocks);
}
#endif

/* ------------------------------------------------------------------ entry point (portable path) */

arm_cmsis_nn_status arm_depthwise_conv_s8(const cmsis_nn_context *ctx,
                                          const cmsis_nn_dw_conv_params *dw_conv_params,
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
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = dw_conv_params->ch_mult;
    const int32_t stride_h = dw_conv_params->stride.h, stride_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h, pad_w = dw_conv_params->padding.w;
    const int32_t dil_h = dw_conv_params->dilation.h, dil_w = dw_conv_params->dilation.w;
    const int32_t in_off = dw_conv_params->input_offset, out_off = dw_conv_params->output_offset;
    const int32_t act_min = dw_conv_params->activation.min, act_max = dw_conv_params->activation.max;
    int32_t b, oy, ox, ic, m, ky, kx;
    (void)ctx;
    (void)bias_dims;

    if (out_c != in_c * mult)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
#if defined(EDGEQ_MVE)
    if (EDGEQ_NEED_DW_ROWS_MVE && mult == 1 && out_h * out_w * batches >= EDGEQ_MVE_DW3_MIN_PIXELS &&
        edgeq_mve_depthwise3_rows_ok(dw_conv_params, input_dims, filter_dims, output_dims))
    {
        return edgeq_mve_depthwise3_rows_s8(dw_conv_params, quant_params, input_dims, input_data, filter_data,
                                            bias_data, output_dims, output_data);
    }
    if (mult == 1)
    {
        return edgeq_mve_depthwise_conv_s8(dw_conv_params, quant_params, input_dims, input_data, filter_dims,
                                           filter_data, bias_data, output_dims, output_data);
    }
#endif
#if defined(EDGEQ_DOT_DSP)
    if (mult == 1)
    {
        const arm_cmsis_nn_status st = edgeq_depthwise_s8_dsp(dw_conv_params, quant_params, input_dims, input_data,
                                                              filter_dims, filter_data, bias_data, output_dims,
                                                              output_data, 0);
        if (st != ARM_CMSIS_NN_NO_IMPL_ERROR)
        {
            return st;
        }
    }
#endif
    for (b = 0; b < batches; b++)
    {
        const int8_t *in_b = input_data + (int32_t)b * in_h * in_w * in_c;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t ky_lo, ky_hi;
            edgeq_tap_range(y0, dil_h, k_h, in_h, &ky_lo, &ky_hi);
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t kx_lo, kx_hi;
                int8_t *out_px = output_data + (oy * out_w + ox) * out_c;
                edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                for (ic = 0; ic < in_c; ic++)
                {
                    for (m = 0; m < mult; m++)
                    {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = bias_data != 0 ? bias_data[oc] : 0;
                        for (ky = ky_lo; ky < ky_hi; ky++)
                        {
                            const int8_t *in_row = in_b + ((y0 + ky * dil_h) * in_w + x0) * in_c + ic;
                            const int8_t *w_row = filter_data + ky * k_w * out_c + oc;
                            for (kx = kx_lo; kx < kx_hi; kx++)
                            {
                                acc += ((int32_t)in_row[kx * dil_w * in_c] + in_off) * (int32_t)w_row[kx * out_c];
                            }
                        }
                        acc = arm_nn_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                        acc += out_off;
                        out_px[oc] = (int8_t)edgeq_clamp_i32(acc, act_min, act_max);
                    }
                }
            }
        }
        output_data += out_h * out_w * out_c;
    }
    return ARM_CMSIS_NN_SUCCESS;
}
