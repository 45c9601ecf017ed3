/*
 * edgeq kernels -- int8 convolution (NHWC input, OHWI filter, per-channel requant).
 *
 * Two implementations, chosen at compile time:
 *  - portable C (no scratch): reads the input in place, one output value at a time;
 *  - DSP extension (EDGEQ_DOT_DSP: Cortex-M4/M7/M33/M55, or emulated on the host with
 *    -DEDGEQ_EMULATE_DSP): im2col of two output pixels into int16 columns, then a 2 x 2
 *    (pixels x output channels) block of SMLAD dual multiply-accumulates.
 * Grouped convolution (as CMSIS-NN's arm_convolve_s8): filter_dims->c may be a divisor of the
 * input channels; groups = in_c / filter_dims->c, output channel oc reads the input channels
 * [g * filter_dims->c, (g + 1) * filter_dims->c) of its group g = oc / (out_c / groups).
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgeq_mve_kernels.h"
#include "edgeq_route_guards.h"

#include <string.h>

#if defined(EDGEQ_DOT_DSP)
/* int16 elements of one im2col column: the receptive field rounded up to a multiple of four. */
static int32_t edgeq_im2col_len(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    return (k + 3) & ~3;
}
#endif

int32_t arm_convolve_s8_get_buffer_size(const cmsis_nn_dims *input_dims, const cmsis_nn_dims *filter_dims)
{
#if defined(EDGEQ_DOT_DSP)
    /* two int16 columns; edgeq.memory.scratch_bytes reserves exactly 2 * align4(k) * 2 bytes */
    return 2 * edgeq_im2col_len(input_dims, filter_dims) * (int32_t)sizeof(int16_t);
#else
    /* the portable kernel reads the input in place (no im2col copy): no scratch */
    (void)input_dims;
    (void)filter_dims;
    return 0;
#endif
}

#if defined(EDGEQ_DOT_DSP)
/* ------------------------------------------------------------------ DSP (SMLAD) im2col path */

/*
 * Column layout. Element j of a receptive field (ky, kx, c in filter order) holds
 * x + input_offset (in [-255, 255], fits int16), or 0 where the tap lies in the padding: TFLM
 * skips padded taps, so they must contribute nothing, and a 0 column entry does exactly that.
 *
 * The two pixels' columns are interleaved by groups of four elements: group g of pixel i sits
 * at cols[8 * g + 4 * i ...], so one pointer walks both columns and each step reads 16
 * consecutive bytes (two LDRD). Within a whole group the order is [e0 e2 e1 e3]: SXTB16 of a
 * weight word yields the pairs (w0, w2) and (w1, w3), so the column words (e0, e2) and (e1, e3)
 * line up with them without repacking the weights. A last partial group (k % 4 elements) is
 * stored in the same order and zero-filled to four, so a filter pair whose next align4(k) bytes
 * lie inside the filter array runs it as a whole group (the bytes past the filter row meet 0);
 * the last pair reads no further than its row (a scalar tail). Size: 8 * ceil(k / 4) =
 * 2 * align4(k) int16.
 */

/* Pixel i's column filled in natural order (element j at 8 * (j / 4) + 4 * i + j % 4, i.e.
 * j + (j & ~3) + 4 * i): swap e1 and e2 of every group (k4: the elements rounded up to whole
 * groups, a partial last group zero-filled first). */
static void edgeq_col_interleave(int16_t *cols, int32_t i, int32_t k4)
{
    int16_t *g = cols + 4 * i;
    int32_t j;
    for (j = 0; j < k4; j += 4, g += 8)
    {
        const int16_t e1 = g[1];
        g[1] = g[2];
        g[2] = e1;
    }
}

/* Receptive fields up to this many int8 elements take the byte-field route below when in_c is
 * not a multiple of four (the field lives on the stack). */
#define EDGEQ_IM2COL_FIELD_MAX 512

/* Kernel rows of a receptive field that lies wholly inside the input, gathered as int8 (rows of
 * row_len bytes, src_step bytes apart in the input): a word at a time (unaligned words), the
 * last row_len % 4 bytes one by one. */
static inline void edgeq_field_rows(int8_t *f, const int8_t *src, int32_t k_h, int32_t row_len, int32_t src_step)
{
    const int32_t row_words = row_len & ~3;
    int32_t ky, j;
    for (ky = 0; ky < k_h; ky++, f += row_len, src += src_step)
    {
        for (j = 0; j < row_words; j += 4)
        {
            int32_t v = edgeq_read_s8x4(src + j);
            /* (an empty asm on the value, here and below: GCC would turn the loops into memcpy
             * calls, costlier than the copy of a few words) */
            __asm__("" : "+r"(v));
            memcpy(f + j, &v, 4);
        }
        for (; j < row_len; j++)
        {
            int32_t v = src[j];
            __asm__("" : "+r"(v));
            f[j] = (int8_t)v;
        }
    }
}

/* A gathered int8 field (k elements; 3 bytes of room past them) widened into pixel i's column,
 * four at a time: SXTAB16 of a word gives (e0 + off, e2 + off) and (e1 + off, e3 + off), the
 * [e0 e2 e1 e3] group order. The partial last group's missing elements are the pad byte
 * (-input_offset), which widens to 0: those products vanish. */
static inline void edgeq_field_widen(int16_t *cols, int32_t i, int8_t *field, int32_t k, int8_t pad, int32_t off2)
{
    int16_t *dst = cols + 4 * i;
    int32_t j;
    field[k] = pad;
    field[k + 1] = pad;
    field[k + 2] = pad;
    for (j = 0; j < k; j += 4, dst += 8)
    {
        const int32_t v = edgeq_read_s8x4(field + j);
        edgeq_write_s16x2(dst, edgeq_sxtab16(off2, v));
        edgeq_write_s16x2(dst + 2, edgeq_sxtab16_ror8(off2, v));
    }
}

/* The 3 x 3 x 3 field (an RGB first layer) of an interior pixel straight into pixel i's column:
 * its seven words built from unaligned loads within the three 9-byte rows (bytes 8 of row 0
 * and 0..2 of row 1 merged by a shift, likewise across rows 1 and 2; the 28th byte is the pad
 * byte, so it widens to 0), each widened by two SXTAB16. No byte field, no loops. */
static __attribute__((noinline)) void edgeq_field_333(int16_t *cols, int32_t i, const int8_t *r0, int32_t step, int32_t off2,
                                   uint32_t pad24)
{
    const int8_t *r1 = r0 + step, *r2 = r1 + step;
    int32_t *dst = (int32_t *)__builtin_assume_aligned(cols + 4 * i, 4);
    uint16_t h;
    int32_t w[7], g;
    memcpy(&h, r1 + 7, 2);
    w[0] = edgeq_read_s8x4(r0);
    w[1] = edgeq_read_s8x4(r0 + 4);
    w[2] = (int32_t)((uint32_t)(uint8_t)r0[8] | ((uint32_t)edgeq_read_s8x4(r1) << 8));
    w[3] = edgeq_read_s8x4(r1 + 3);
    w[4] = (int32_t)((uint32_t)h | ((uint32_t)edgeq_read_s8x4(r2) << 16));
    w[5] = edgeq_read_s8x4(r2 + 2);
    w[6] = (int32_t)(((uint32_t)edgeq_read_s8x4(r2 + 5) >> 8) | pad24); /* (no read past the row) */
    for (g = 0; g < 7; g++, dst += 4)
    {
        dst[0] = edgeq_sxtab16(off2, w[g]);
        dst[1] = edgeq_sxtab16_ror8(off2, w[g]);
    }
}

/*
 * Pixel i's receptive field, in_c % 4 != 0 (a first layer's 1 or 3 channels): gathered first as
 * int8 in natural order (whole kernel rows copied when in bounds; padded taps get the byte
 * -input_offset, which is the input zero point, so that x + input_offset is 0 there), then
 * widened four at a time: SXTAB16 of a word gives (e0 + off, e2 + off) and (e1 + off, e3 + off),
 * exactly the [e0 e2 e1 e3] group order of the column. The last partial group is widened into
 * the same order, zero-filled. Replaces an element-by-element fill plus a reorder pass.
 */
static void edgeq_im2col_field(int16_t *cols, int32_t i, const int8_t *in_b, int32_t in_h, int32_t in_w,
                               int32_t in_c, int32_t c_stride, int32_t k_h, int32_t k_w, int32_t y0, int32_t x0,
                               int32_t dil_h, int32_t dil_w, int32_t in_off)
{
    /* +8: whole words copied past a row's end and the pad bytes of the last group */
    int8_t field[EDGEQ_IM2COL_FIELD_MAX + 8];
    const int32_t k = k_h * k_w * in_c, row_len = k_w * in_c;
    const int8_t pad = (int8_t)(-in_off);
    const int32_t off2 = edgeq_dup16(in_off);
    const int32_t row_contiguous = dil_w == 1 && c_stride == in_c && x0 >= 0 && x0 + k_w <= in_w;
    int8_t *f = field;
    int32_t ky, kx, c;
    if (row_contiguous && y0 >= 0 && y0 + (k_h - 1) * dil_h < in_h)
    {
        /* the whole field inside the input (every pixel of an interior run): each kernel row
         * copied a word at a time (unaligned words), its last row_len % 4 bytes one by one */
        edgeq_field_rows(field, in_b + (y0 * in_w + x0) * in_c, k_h, row_len, dil_h * in_w * in_c);
    }
    else
    {
        /* a border field: tap by tap, a padded tap's in_c bytes the pad byte (byte loops with an
         * empty asm on the value: GCC would call memset / memcpy for a handful of bytes) */
        for (ky = 0; ky < k_h; ky++)
        {
            const int32_t y = y0 + ky * dil_h;
            for (kx = 0; kx < k_w; kx++, f += in_c)
            {
                const int32_t x = x0 + kx * dil_w;
                if (y < 0 || y >= in_h || x < 0 || x >= in_w)
                {
                    for (c = 0; c < in_c; c++)
                    {
                        int32_t v = pad;
                        __asm__("" : "+r"(v));
                        f[c] = (int8_t)v;
                    }
                }
                else
                {
                    const int8_t *src = in_b + (y * in_w + x) * c_stride;
                    for (c = 0; c < in_c; c++)
                    {
                        int32_t v = src[c];
                        __asm__("" : "+r"(v));
                        f[c] = (int8_t)v;
                    }
                }
            }
        }
    }
    edgeq_field_widen(cols, i, field, k, pad, off2);
}

/* Pixel i's receptive field into the interleaved columns (k = k_h * k_w * in_c elements): in_c
 * channels of each tap, pixels c_stride channels apart (c_stride > in_c for one group's slice). */
static void edgeq_im2col(int16_t *cols, int32_t i, const int8_t *in_b, int32_t in_h, int32_t in_w, int32_t in_c,
                         int32_t c_stride, int32_t k_h, int32_t k_w, int32_t y0, int32_t x0, int32_t dil_h,
                         int32_t dil_w, int32_t in_off)
{
    const int32_t off2 = (int32_t)(((uint32_t)(in_off & 0xFFFF) << 16) | (uint32_t)(in_off & 0xFFFF));
    int32_t ky, kx, c, j = 0;
    for (ky = 0; ky < k_h; ky++)
    {
        const int32_t y = y0 + ky * dil_h;
        for (kx = 0; kx < k_w; kx++, j += in_c)
        {
            const int32_t x = x0 + kx * dil_w;
            const int32_t inside = y >= 0 && y < in_h && x >= 0 && x < in_w;
            const int8_t *src = in_b + (y * in_w + x) * c_stride;
            if ((in_c & 3) == 0)
            {
                /* every tap starts a whole group: SXTB16 gives (e0, e2) and (e1, e3) directly */
                int16_t *dst = cols + (j >> 2) * 8 + i * 4;
                for (c = 0; c < in_c; c += 4, dst += 8)
                {
                    int32_t lo = 0, hi = 0;
                    if (inside)
                    {
                        const int32_t v = edgeq_read_s8x4(src + c);
                        lo = edgeq_sadd16(edgeq_sxtb16(v), off2);
                        hi = edgeq_sadd16(edgeq_sxtb16_ror8(v), off2);
                    }
                    edgeq_write_s16x2(dst, lo);
                    edgeq_write_s16x2(dst + 2, hi);
                }
            }
            else
            {
                /* natural order within groups for now (interleaved below) */
                int16_t *lane = cols + 4 * i;
                int32_t e = j;
                if (inside)
                {
                    for (c = 0; c < in_c; c++, e++)
                    {
                        lane[e + (e & ~3)] = (int16_t)(src[c] + in_off);
                    }
                }
                else
                {
                    for (c = 0; c < in_c; c++, e++)
                    {
                        lane[e + (e & ~3)] = 0;
                    }
                }
            }
        }
    }
    if ((in_c & 3) != 0)
    {
        const int32_t k_all = k_h * k_w * in_c, k_up = (k_all + 3) & ~3;
        int32_t e;
        for (e = k_all; e < k_up; e++) /* zero-fill the partial last group */
        {
            cols[4 * i + e + (e & ~3)] = 0;
        }
        edgeq_col_interleave(cols, i, k_up);
    }
}

/* The im2col variant for the layer's shape. */
static inline void edgeq_im2col_any(int16_t *cols, int32_t i, const int8_t *in_b, int32_t in_h, int32_t in_w,
                                    int32_t in_c, int32_t c_stride, int32_t k_h, int32_t k_w, int32_t y0, int32_t x0,
                                    int32_t dil_h, int32_t dil_w, int32_t in_off)
{
    /* (the padding byte -in_off must be an int8: it is for every int8 zero point) */
    if ((in_c & 3) != 0 && k_h * k_w * in_c <= EDGEQ_IM2COL_FIELD_MAX && in_off >= -127 && in_off <= 128)
    {
        edgeq_im2col_field(cols, i, in_b, in_h, in_w, in_c, c_stride, k_h, k_w, y0, x0, dil_h, dil_w, in_off);
    }
    else
    {
        edgeq_im2col(cols, i, in_b, in_h, in_w, in_c, c_stride, k_h, k_w, y0, x0, dil_h, dil_w, in_off);
    }
}

/*
 * out[p][oc] for the two interleaved columns (pixels) and two filters (output channels) at
 * once: each weight word is loaded and sign-extended once for both pixels, each column word
 * once for both channels. w1 may equal w0 (odd channel count; the duplicate sums are not stored).
 *
 * Overflow: every SMLAD adds two products of an int16 in [-255, 255] and an int8, |.| <= 65280.
 * The accumulators add modulo 2^32 (SMLAD only sets the Q flag), exactly like TFLM's int32
 * accumulator (bias + sum of products, in any order): the same bits for all int8 inputs, and
 * the exact sum whenever it fits int32 (k <= 32896 taps x channels covers every real layer).
 */
#if defined(EDGEQ_DSP_ASM)
/*
 * On the core, register-allocated by hand (14 registers: 4 accumulators, the column and filter
 * pointers, the filter-1 step, the count, 6 temporaries). Per group of four: two LDRD fetch
 * both pixels' column words, filter 0 is loaded with post-increment and filter 1 step = k - 4
 * bytes further into the same register once filter 0's products are done: 16 instructions per
 * 16 MACs.
 */
#define EDGEQ_CONV_ASM_GROUP                                                                                          \
    "ldrd %[c0], %[c1], [%[col]], #16\n\t"                                                                             \
    "ldrd %[d0], %[d1], [%[col], #-8]\n\t"                                                                             \
    "ldr %[wv], [%[w]], #4\n\t"                                                                                        \
    "sxtb16 %[t], %[wv]\n\t"                                                                                           \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                                  \
    "smlad %[a00], %[c0], %[t], %[a00]\n\t"                                                                            \
    "smlad %[a00], %[c1], %[wv], %[a00]\n\t"                                                                           \
    "smlad %[a10], %[d0], %[t], %[a10]\n\t"                                                                            \
    "smlad %[a10], %[d1], %[wv], %[a10]\n\t"                                                                           \
    "ldr %[wv], [%[w], %[st]]\n\t"                                                                                     \
    "sxtb16 %[t], %[wv]\n\t"                                                                                           \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                                  \
    "smlad %[a01], %[c0], %[t], %[a01]\n\t"                                                                            \
    "smlad %[a01], %[c1], %[wv], %[a01]\n\t"                                                                           \
    "smlad %[a11], %[d0], %[t], %[a11]\n\t"                                                                            \
    "smlad %[a11], %[d1], %[wv], %[a11]\n\t"
static inline void edgeq_dot_2x2_groups(const int16_t **cols, const int8_t **w0, int32_t n4, int32_t step,
                                        int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int16_t *col = *cols;
    const int8_t *w = *w0;
    int32_t c0, c1, d0, d1, t, wv;
    if (n4 & 1)
    {
        __asm__(EDGEQ_CONV_ASM_GROUP
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+&r"(col), [w] "+&r"(w),
                  [c0] "=&r"(c0), [c1] "=&r"(c1), [d0] "=&r"(d0), [d1] "=&r"(d1), [t] "=&r"(t), [wv] "=&r"(wv)
                : [st] "r"(step)
                : "memory");
    }
    n4 >>= 1;
    if (n4 > 0)
    {
        __asm__("1:\n\t" EDGEQ_CONV_ASM_GROUP EDGEQ_CONV_ASM_GROUP
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+&r"(col), [w] "+&r"(w),
                  [n] "+&r"(n4), [c0] "=&r"(c0), [c1] "=&r"(c1), [d0] "=&r"(d0), [d1] "=&r"(d1), [t] "=&r"(t),
                  [wv] "=&r"(wv)
                : [st] "r"(step)
                : "memory", "cc");
    }
    *cols = col;
    *w0 = w;
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#else
static inline void edgeq_dot_2x2_groups(const int16_t **cols, const int8_t **w0, int32_t n4, int32_t step,
                                        int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3]; /* a<pixel><channel> */
    const int16_t *col = *cols;
    const int8_t *w = *w0;
    for (; n4 > 0; n4--, w += 4, col += 8)
    {
        const int32_t wa = edgeq_read_s8x4(w), wb = edgeq_read_s8x4(w + 4 + step);
        const int32_t wa02 = edgeq_sxtb16(wa), wa13 = edgeq_sxtb16_ror8(wa);
        const int32_t wb02 = edgeq_sxtb16(wb), wb13 = edgeq_sxtb16_ror8(wb);
        const int32_t c02 = edgeq_read_s16x2(col), c13 = edgeq_read_s16x2(col + 2);
        const int32_t d02 = edgeq_read_s16x2(col + 4), d13 = edgeq_read_s16x2(col + 6);
        a00 = edgeq_smlad(c13, wa13, edgeq_smlad(c02, wa02, a00));
        a01 = edgeq_smlad(c13, wb13, edgeq_smlad(c02, wb02, a01));
        a10 = edgeq_smlad(d13, wa13, edgeq_smlad(d02, wa02, a10));
        a11 = edgeq_smlad(d13, wb13, edgeq_smlad(d02, wb02, a11));
    }
    *cols = col;
    *w0 = w;
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#endif

/*
 * out[p][oc] for the two interleaved columns (pixels) and two filters (output channels) at
 * once: each weight word is loaded and sign-extended once for both pixels, each column word
 * once for both channels. w1 is w0 + k, or w0 itself for an odd channel count (step -4; the
 * duplicate sums are not stored). whole: the k % 4 last elements may run as a whole group (the
 * caller checked that w1 + align4(k) stays inside the filter array; the column is 0 there).
 *
 * Overflow: every SMLAD adds two products of an int16 in [-255, 255] and an int8, |.| <= 65280.
 * The accumulators add modulo 2^32 (SMLAD only sets the Q flag), exactly like TFLM's int32
 * accumulator (bias + sum of products, in any order): the same bits for all int8 inputs, and
 * the exact sum whenever it fits int32 (k <= 32896 taps x channels covers every real layer).
 */
static inline void edgeq_dot_2x2(const int16_t *cols, const int8_t *w0, const int8_t *w1, int32_t k, int32_t whole,
                                 int32_t acc[4])
{
    /* the planner's scratch is word aligned (LDRD of the column words) */
    const int16_t *col = (const int16_t *)__builtin_assume_aligned(cols, 4);
    const int8_t *w = w0;
    int32_t j = whole ? k : k & ~3;
    edgeq_dot_2x2_groups(&col, &w, whole ? (k + 3) >> 2 : k >> 2, (int32_t)(w1 - w0) - 4, acc);
    for (; j < k; j++) /* the last, partial group, its elements in [e0 e2 e1 e3] order */
    {
        const int32_t r = ((j & 1) << 1) | ((j & 2) >> 1);
        acc[0] += col[r] * w0[j];
        acc[1] += col[r] * w1[j];
        acc[2] += col[4 + r] * w0[j];
        acc[3] += col[4 + r] * w1[j];
    }
}

/* One int8 output; mode (a constant where inlined): 4 edgeq_requant_bounded (kb its constant k,
 * the output offset folded in) with the whole int8 range as activation range, 3 bounded + clamp,
 * 2 the fast requantization with the whole int8 range (SSAT alone clamps), 1 fast + clamp, 0 the
 * general one. */
static inline int8_t edgeq_conv_out(int32_t acc, int32_t m, int32_t s, int32_t kb, int32_t mode, int32_t out_off,
                                    int32_t act_min, int32_t act_max)
{
    if (mode == 4)
    {
        return (int8_t)edgeq_requant_bounded(acc, m, kb, -s);
    }
    if (mode == 3)
    {
        return (int8_t)edgeq_clamp_i32(edgeq_requant_bounded(acc, m, kb, -s), act_min, act_max);
    }
    if (mode == 2)
    {
        return (int8_t)edgeq_ssat8(edgeq_requant_fast(acc, m, s) + out_off);
    }
    if (mode == 1)
    {
        return (int8_t)edgeq_clamp_i32(edgeq_ssat8(edgeq_requant_fast(acc, m, s) + out_off), act_min, act_max);
    }
    return (int8_t)edgeq_clamp_i32(arm_nn_requantize(acc, m, s) + out_off, act_min, act_max);
}

/* Output channels [oc0, oc_end) of the pixel pair in cols (n_px 1 or 2), two at a time. */
static inline void edgeq_conv_channels(const int16_t *cols, const int8_t *filter_data, const int8_t *filter_end,
                                       int32_t k, int32_t oc0, int32_t oc_end, const int32_t *bias, const int32_t *mult,
                                       const int32_t *shift, int32_t mode, int32_t out_off, int32_t act_min,
                                       int32_t act_max, int32_t n_px,
                                       int8_t *out0, int8_t *out1)
{
    int32_t oc;
    for (oc = oc0; oc < oc_end; oc += 2)
    {
        const int32_t n_oc = oc_end - oc >= 2 ? 2 : 1;
        const int8_t *w0 = filter_data + oc * k;
        const int8_t *w1 = n_oc == 2 ? w0 + k : w0;
        const int32_t oc1 = oc + n_oc - 1;
        int32_t acc[4];
        acc[0] = acc[2] = bias != 0 ? bias[oc] : 0;
        acc[1] = acc[3] = bias != 0 ? bias[oc1] : 0;
        /* (pointer comparison within the filter array, or one past its end) */
        edgeq_dot_2x2(cols, w0, w1, k, (k & 3) != 0 && (filter_end - w1) >= ((k + 3) & ~3), acc);
        {
            const int32_t m0 = mult[oc], s0 = shift[oc], m1 = mult[oc1], s1 = shift[oc1];
            /* the bounded modes' k, once per channel pair (two pixels share it) */
            const int32_t kb0 = mode >= 3 ? edgeq_rq_prepare(m0, s0, out_off).k : 0;
            const int32_t kb1 = mode >= 3 ? edgeq_rq_prepare(m1, s1, out_off).k : 0;
            out0[oc] = edgeq_conv_out(acc[0], m0, s0, kb0, mode, out_off, act_min, act_max);
            if (n_px == 2)
            {
                out1[oc] = edgeq_conv_out(acc[2], m0, s0, kb0, mode, out_off, act_min, act_max);
            }
            if (n_oc == 2)
            {
                out0[oc1] = edgeq_conv_out(acc[1], m1, s1, kb1, mode, out_off, act_min, act_max);
                if (n_px == 2)
                {
                    out1[oc1] = edgeq_conv_out(acc[3], m1, s1, kb1, mode, out_off, act_min, act_max);
                }
            }
        }
    }
}

static __attribute__((noinline)) void edgeq_conv_channels_mode(const int16_t *cols, const int8_t *filter_data,
                                                              const int8_t *filter_end, int32_t k, int32_t oc0,
                                                              int32_t oc_end,
                                                              const int32_t *bias, const int32_t *mult,
                                                              const int32_t *shift, int32_t mode, int32_t out_off,
                                                              int32_t act_min, int32_t act_max, int32_t n_px,
                                                              int8_t *out0, int8_t *out1)
{
    if (mode == 4)
    {
        edgeq_conv_channels(cols, filter_data, filter_end, k, oc0, oc_end, bias, mult, shift, 4, out_off, act_min, act_max, n_px,
                            out0, out1);
    }
    else if (mode == 3)
    {
        edgeq_conv_channels(cols, filter_data, filter_end, k, oc0, oc_end, bias, mult, shift, 3, out_off, act_min, act_max, n_px,
                            out0, out1);
    }
    else if (mode == 2)
    {
        edgeq_conv_channels(cols, filter_data, filter_end, k, oc0, oc_end, bias, mult, shift, 2, out_off, act_min, act_max, n_px,
                            out0, out1);
    }
    else if (mode == 1)
    {
        edgeq_conv_channels(cols, filter_data, filter_end, k, oc0, oc_end, bias, mult, shift, 1, out_off, act_min, act_max, n_px,
                            out0, out1);
    }
    else
    {
        edgeq_conv_channels(cols, filter_data, filter_end, k, oc0, oc_end, bias, mult, shift, 0, out_off, act_min, act_max, n_px,
                            out0, out1);
    }
}

/*
 * The byte-field route as a whole layer loop (a first layer's 1 or 3 input channels: groups 1,
 * in_c % 4 != 0, k <= EDGEQ_IM2COL_FIELD_MAX, the bounded requantization): pixel coordinates
 * walked instead of divided, interior fields gathered inline (border ones by
 * edgeq_im2col_field), and the filters widened once per call (per chunk of output channels
 * when they outgrow EDGEQ_FIELD_TABLE_WORDS, 3 KB of stack) into a stack table in the order the block loop reads them: per output-channel pair a header
 * {bias a, bias b, m, k, e of a, of b}, then per group of four taps {a (w0, w2), a (w1, w3),
 * b (w0, w2), b (w1, w3)} as int16 pairs, the partial last group zero-filled. Per group of the
 * 2 pixels x 2 channels block: 4 LDRD and 8 SMLAD (no sign extension, no tail), where the int8
 * filters took 2 LDR and 4 SXTB16 more. Same sums (modulo 2^32) and the same requantization as
 * the generic loop: the same bytes.
 */
#define EDGEQ_FIELD_TABLE_WORDS 768
#define EDGEQ_FIELD_HEADER 8

/* Words of the filter table for out_c channels of k taps. */
static int32_t edgeq_field_table_words(int32_t out_c, int32_t k)
{
    return ((out_c + 1) >> 1) * (EDGEQ_FIELD_HEADER + ((k + 3) & ~3));
}

/* Taps [4g, 4g + 4) of a k-tap filter as one word, the taps past k as 0. */
static int32_t edgeq_field_group(const int8_t *w, int32_t g, int32_t k)
{
    if (4 * g + 4 <= k)
    {
        return edgeq_read_s8x4(w + 4 * g);
    }
    {
        int8_t t[4] = {0, 0, 0, 0};
        int32_t j;
        for (j = 4 * g; j < k; j++)
        {
            t[j - 4 * g] = w[j];
        }
        return edgeq_read_s8x4(t);
    }
}

static void edgeq_field_table(int32_t *table, const int8_t *filter, const int32_t *bias, const int32_t *mult,
                              const int32_t *shift, int32_t out_off, int32_t out_c, int32_t k)
{
    const int32_t n_g = (k + 3) >> 2;
    int32_t oc, g;
    for (oc = 0; oc < out_c; oc += 2)
    {
        const int32_t ob = oc + 1 < out_c ? oc + 1 : oc; /* an odd last channel repeats (not stored) */
        const int8_t *wa = filter + oc * k, *wb = filter + ob * k;
        const edgeq_rq qa = edgeq_rq_prepare(mult[oc], shift[oc], out_off), qb = edgeq_rq_prepare(mult[ob], shift[ob], out_off);
        table[0] = bias != 0 ? bias[oc] : 0;
        table[1] = bias != 0 ? bias[ob] : 0;
        table[2] = qa.m;
        table[3] = qa.k;
        table[4] = qa.e;
        table[5] = qb.m;
        table[6] = qb.k;
        table[7] = qb.e;
        table += EDGEQ_FIELD_HEADER;
        for (g = 0; g < n_g; g++, table += 4)
        {
            const int32_t va = edgeq_field_group(wa, g, k), vb = edgeq_field_group(wb, g, k);
            table[0] = edgeq_sxtb16(va);
            table[1] = edgeq_sxtb16_ror8(va);
            table[2] = edgeq_sxtb16(vb);
            table[3] = edgeq_sxtb16_ror8(vb);
        }
    }
}

/* acc += the 2 x 2 block over n_g >= 1 groups: col the pixel pair's columns, w the pair's
 * widened filter groups. */
#if defined(EDGEQ_DSP_ASM)
static inline void edgeq_field_block(const int16_t *col, const int32_t *w, int32_t n_g, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t c0, c1, d0, d1, p, q;
    __asm__("1:\n\t"
            "ldrd %[c0], %[c1], [%[col]], #8\n\t"
            "ldrd %[d0], %[d1], [%[col]], #8\n\t"
            "ldrd %[p], %[q], [%[w]], #8\n\t"
            "smlad %[a00], %[c0], %[p], %[a00]\n\t"
            "smlad %[a00], %[c1], %[q], %[a00]\n\t"
            "smlad %[a10], %[d0], %[p], %[a10]\n\t"
            "smlad %[a10], %[d1], %[q], %[a10]\n\t"
            "ldrd %[p], %[q], [%[w]], #8\n\t"
            "smlad %[a01], %[c0], %[p], %[a01]\n\t"
            "smlad %[a01], %[c1], %[q], %[a01]\n\t"
            "smlad %[a11], %[d0], %[p], %[a11]\n\t"
            "smlad %[a11], %[d1], %[q], %[a11]\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+&r"(col), [w] "+&r"(w),
              [n] "+&r"(n_g), [c0] "=&r"(c0), [c1] "=&r"(c1), [d0] "=&r"(d0), [d1] "=&r"(d1), [p] "=&r"(p),
              [q] "=&r"(q)
            :
            : "memory", "cc");
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#else
static inline void edgeq_field_block(const int16_t *col, const int32_t *w, int32_t n_g, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    for (; n_g > 0; n_g--, col += 8, w += 4)
    {
        const int32_t c0 = edgeq_read_s16x2(col), c1 = edgeq_read_s16x2(col + 2);
        const int32_t d0 = edgeq_read_s16x2(col + 4), d1 = edgeq_read_s16x2(col + 6);
        a00 = edgeq_smlad(c1, w[1], edgeq_smlad(c0, w[0], a00));
        a10 = edgeq_smlad(d1, w[1], edgeq_smlad(d0, w[0], a10));
        a01 = edgeq_smlad(c1, w[3], edgeq_smlad(c0, w[2], a01));
        a11 = edgeq_smlad(d1, w[3], edgeq_smlad(d0, w[2], a11));
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}
#endif

/* Every output channel of the pixel pair in cols (n_px 1 or 2). */
static inline void edgeq_field_channels(const int16_t *cols, const int32_t *table, int32_t n_g, int32_t out_c,
                                        int32_t clamp, int32_t act_min, int32_t act_max, int32_t n_px, int8_t *out0,
                                        int8_t *out1)
{
    const int32_t rec = EDGEQ_FIELD_HEADER + 4 * n_g;
    int32_t oc;
    for (oc = 0; oc < out_c; oc += 2, table += rec)
    {
        int32_t acc[4], r00, r01, r10, r11;
        acc[0] = acc[2] = table[0];
        acc[1] = acc[3] = table[1];
        edgeq_field_block((const int16_t *)__builtin_assume_aligned(cols, 4), table + EDGEQ_FIELD_HEADER, n_g, acc);
        r00 = edgeq_requant_bounded(acc[0], table[2], table[3], table[4]);
        r10 = edgeq_requant_bounded(acc[2], table[2], table[3], table[4]);
        r01 = edgeq_requant_bounded(acc[1], table[5], table[6], table[7]);
        r11 = edgeq_requant_bounded(acc[3], table[5], table[6], table[7]);
        if (clamp)
        {
            r00 = edgeq_clamp_i32(r00, act_min, act_max);
            r01 = edgeq_clamp_i32(r01, act_min, act_max);
            r10 = edgeq_clamp_i32(r10, act_min, act_max);
            r11 = edgeq_clamp_i32(r11, act_min, act_max);
        }
        out0[oc] = (int8_t)r00;
        if (n_px == 2)
        {
            out1[oc] = (int8_t)r10;
        }
        if (oc + 1 < out_c)
        {
            out0[oc + 1] = (int8_t)r01;
            if (n_px == 2)
            {
                out1[oc + 1] = (int8_t)r11;
            }
        }
    }
}

static inline __attribute__((always_inline)) void
edgeq_conv_field_run(int16_t *cols, const cmsis_nn_conv_params *conv_params, const int32_t *table,
                     const cmsis_nn_dims *input_dims, const int8_t *input_data, const cmsis_nn_dims *filter_dims,
                     const cmsis_nn_dims *output_dims, int8_t *output_data, int32_t n_oc, int32_t clamp)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_w = output_dims->w, out_c = output_dims->c, pixels = output_dims->h * out_w;
    const int32_t k = k_h * k_w * in_c, row_len = k_w * in_c, n_g = (k + 3) >> 2;
    const int32_t stride_h = conv_params->stride.h, stride_w = conv_params->stride.w;
    const int32_t pad_h = conv_params->padding.h, pad_w = conv_params->padding.w;
    const int32_t dil_h = k_h == 1 ? 1 : conv_params->dilation.h, dil_w = k_w == 1 ? 1 : conv_params->dilation.w;
    const int32_t in_off = conv_params->input_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    const int32_t y_reach = (k_h - 1) * dil_h, src_step = dil_h * in_w * in_c;
    const int8_t pad = (int8_t)(-in_off);
    const int32_t off2 = edgeq_dup16(in_off);
    const uint32_t pad24 = (uint32_t)(uint8_t)pad << 24;
    int8_t field[EDGEQ_IM2COL_FIELD_MAX + 8];
    int32_t b, p, i;
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * in_c;
        int8_t *out0 = output_data + b * pixels * out_c;
        int32_t oy = 0, ox = 0; /* pixel p's coordinates */
        for (p = 0; p < pixels; p += 2, out0 += 2 * out_c)
        {
            const int32_t n_px = pixels - p >= 2 ? 2 : 1;
            for (i = 0; i < 2; i++)
            {
                /* an odd last pixel fills both columns (its duplicate results are not stored) */
                const int32_t y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
                if (dil_w == 1 && y0 >= 0 && y0 + y_reach < in_h && x0 >= 0 && x0 + k_w <= in_w)
                {
                    const int8_t *src = in_b + (y0 * in_w + x0) * in_c;
                    if (k_h == 3 && row_len == 9)
                    {
                        edgeq_field_333(cols, i, src, src_step, off2, pad24);
                    }
                    else
                    {
                        edgeq_field_rows(field, src, k_h, row_len, src_step);
                        edgeq_field_widen(cols, i, field, k, pad, off2);
                    }
                }
                else
                {
                    edgeq_im2col_field(cols, i, in_b, in_h, in_w, in_c, in_c, k_h, k_w, y0, x0, dil_h, dil_w, in_off);
                }
                if (i < n_px && ++ox == out_w)
                {
                    ox = 0;
                    oy++;
                }
            }
            edgeq_field_channels(cols, table, n_g, n_oc, clamp, act_min, act_max, n_px, out0, out0 + out_c);
        }
    }
}

static __attribute__((noinline)) void
edgeq_conv_field_dsp(int16_t *cols, const cmsis_nn_conv_params *conv_params,
                     const cmsis_nn_per_channel_quant_params *quant_params, const cmsis_nn_dims *input_dims,
                     const int8_t *input_data, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                     const int32_t *bias_data, const cmsis_nn_dims *output_dims, int8_t *output_data, int32_t clamp)
{
    /* output channels in chunks of as many pairs as the table holds (each chunk gathers the
     * fields again: only layers with many filters, e.g. kws's 64 of 40 taps, take two) */
    const int32_t out_c = output_dims->c, k = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t chunk = 2 * (EDGEQ_FIELD_TABLE_WORDS / edgeq_field_table_words(2, k));
    int32_t table[EDGEQ_FIELD_TABLE_WORDS];
    int32_t c0;
    for (c0 = 0; c0 < out_c; c0 += chunk)
    {
        const int32_t n_oc = out_c - c0 < chunk ? out_c - c0 : chunk;
        edgeq_field_table(table, filter_data + c0 * k, bias_data != 0 ? bias_data + c0 : 0,
                          quant_params->multiplier + c0, quant_params->shift + c0, conv_params->output_offset, n_oc,
                          k);
        if (clamp)
        {
            edgeq_conv_field_run(cols, conv_params, table, input_dims, input_data, filter_dims, output_dims,
                                 output_data + c0, n_oc, 1);
        }
        else
        {
            edgeq_conv_field_run(cols, conv_params, table, input_dims, input_data, filter_dims, output_dims,
                                 output_data + c0, n_oc, 0);
        }
    }
}

/* 1 when it ran the layer; 0 when the model's routes leave this layer to the portable loop */
static int32_t edgeq_convolve_s8_dsp(int16_t *cols, const cmsis_nn_conv_params *conv_params,
                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                  const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                  const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                  const int32_t *bias_data, const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, k_c = filter_dims->c;
    const int32_t out_w = output_dims->w, out_c = output_dims->c;
    const int32_t pixels = output_dims->h * out_w;
    const int32_t k = k_h * k_w * k_c;
    const int32_t groups = in_c / k_c, oc_per_group = out_c / groups;
    const int32_t out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    const int32_t full_act = act_min <= -128 && act_max >= 127;
    /* 4 / 3: every accumulator bias + sum((x + input_offset) * w) over k taps provably below 2^29
     * (padded taps add 0): edgeq_requant_bounded; 2 / 1 the fast requantization; 0 the general */
    const int32_t mode =
        edgeq_requant_bounded_ok(quant_params->multiplier, quant_params->shift, bias_data, out_c, k) ? (full_act ? 4 : 3)
        : edgeq_requant_fast_ok(quant_params->multiplier, quant_params->shift, out_c)                 ? (full_act ? 2 : 1)
                                                                                                      : 0;
    int32_t b, p, i, g;

    if (EDGEQ_NEED_CONV_FIELD_DSP && groups == 1 && mode >= 3 && (in_c & 3) != 0 && k <= EDGEQ_IM2COL_FIELD_MAX &&
        conv_params->input_offset >= -127 &&
        conv_params->input_offset <= 128)
    {
        edgeq_conv_field_dsp(cols, conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                             bias_data, output_dims, output_data, mode == 3);
        return 1;
    }
    if (!EDGEQ_NEED_CONV_GENERIC_DSP)
    {
        return 0; /* (edgeq_route_guards.h) */
    }
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * in_c;
        for (p = 0; p < pixels; p += 2)
        {
            const int32_t n_px = pixels - p >= 2 ? 2 : 1;
            int8_t *out0 = output_data + p * out_c;
            int8_t *out1 = out0 + out_c;
            for (g = 0; g < groups; g++)
            {
                const int32_t oc_end = (g + 1) * oc_per_group;
                for (i = 0; i < 2; i++)
                {
                    /* an odd last pixel fills both columns (its duplicate results are not stored) */
                    const int32_t q = p + (i < n_px ? i : 0);
                    const int32_t oy = q / out_w, ox = q % out_w;
                    edgeq_im2col_any(cols, i, in_b + g * k_c, in_h, in_w, k_c, in_c, k_h, k_w,
                                 oy * conv_params->stride.h - conv_params->padding.h,
                                 ox * conv_params->stride.w - conv_params->padding.w, conv_params->dilation.h,
                                 conv_params->dilation.w, conv_params->input_offset);
                }
                edgeq_conv_channels_mode(cols, filter_data, filter_data + out_c * k, k, g * oc_per_group, oc_end,
                                         bias_data, quant_params->multiplier, quant_params->shift, mode, out_off, act_min,
                                         act_max, n_px, out0, out1);
            }
        }
        output_data += pixels * out_c;
    }
    return 1;
}
#endif /* EDGEQ_DOT_DSP */

/* ------------------------------------------------------------------ portable path */

arm_cmsis_nn_status arm_convolve_s8(const cmsis_nn_context *ctx,
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
    const int32_t batches = input_dims->n;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, k_c = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t stride_h = conv_params->stride.h, stride_w = conv_params->stride.w;
    const int32_t pad_h = conv_params->padding.h, pad_w = conv_params->padding.w;
    /* a single tap along an axis makes its dilation irrelevant (and callers of the 1x1 paths may
     * leave it unset): only a real dilation is divided by below */
    const int32_t dil_h = k_h == 1 ? 1 : conv_params->dilation.h, dil_w = k_w == 1 ? 1 : conv_params->dilation.w;
    const int32_t in_off = conv_params->input_offset, out_off = conv_params->output_offset;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    int32_t b, oy, ox, oc, ky, kx, groups, oc_per_group;
    (void)ctx;
    (void)bias_dims;

    if (k_c <= 0 || in_c % k_c != 0 || out_c % (in_c / k_c) != 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    groups = in_c / k_c;
    oc_per_group = out_c / groups;
#if defined(EDGEQ_MVE)
    if (groups == 1 && ctx != 0 && ctx->buf != 0 &&
        ctx->size >= edgeq_mve_convolve_s8_buffer_size(input_dims, filter_dims))
    {
        return edgeq_mve_convolve_s8((int8_t *)ctx->buf, conv_params, quant_params, input_dims, input_data,
                                     filter_dims, filter_data, bias_data, output_dims, output_data);
    }
#endif
#if defined(EDGEQ_DOT_DSP)
    /* without the planned scratch (a caller that passes none) the portable loop below runs */
    if ((EDGEQ_NEED_CONV_FIELD_DSP || EDGEQ_NEED_CONV_GENERIC_DSP) && ctx != 0 && ctx->buf != 0 &&
        ctx->size >= arm_convolve_s8_get_buffer_size(input_dims, filter_dims) &&
        edgeq_convolve_s8_dsp((int16_t *)ctx->buf, conv_params, quant_params, input_dims, input_data, filter_dims,
                              filter_data, bias_data, output_dims, output_data))
    {
        return ARM_CMSIS_NN_SUCCESS;
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
                edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                /* g_off: the first input channel of oc's group; left: channels left in the group */
                int32_t g_off = 0, left = oc_per_group;
                for (oc = 0; oc < out_c; oc++)
                {
                    const int8_t *w_oc = filter_data + oc * k_h * k_w * k_c;
                    int32_t acc = bias_data != 0 ? bias_data[oc] : 0;
                    for (ky = ky_lo; ky < ky_hi; ky++)
                    {
                        const int32_t y = y0 + ky * dil_h;
                        const int8_t *in_row = in_b + (y * in_w + x0) * in_c + g_off;
                        const int8_t *w_row = w_oc + ky * k_w * k_c;
                        if (dil_w == 1 && groups == 1)
                        {
                            /* the in-bounds taps of this row are contiguous in input and filter */
                            acc += edgeq_dot_off_s8(in_row + kx_lo * in_c, w_row + kx_lo * in_c,
                                                    (kx_hi - kx_lo) * in_c, in_off);
                        }
                        else
                        {
                            for (kx = kx_lo; kx < kx_hi; kx++)
                            {
                                acc += edgeq_dot_off_s8(in_row + kx * dil_w * in_c, w_row + kx * k_c, k_c, in_off);
                            }
                        }
                    }
                    if (--left == 0)
                    {
                        left = oc_per_group;
                        g_off += k_c;
                    }
                    acc = arm_nn_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                    acc += out_off;
                    acc = edgeq_clamp_i32(acc, act_min, act_max);
                    *output_data++ = (int8_t)acc;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
