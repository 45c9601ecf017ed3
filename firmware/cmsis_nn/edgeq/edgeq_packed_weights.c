/*
 * edgeq -- 4-bit-coded weights decoded on the fly (see edgeq_packed_weights.h).
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_packed_weights.h"

#include <string.h>

#include "edgeq_fixedpoint.h"
#include "edgeq_mve.h" /* the decoded conv's dot products on Helium (Cortex-M55) */

const int8_t edgeq_int4_table[16] = {0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1};

/* The code of element e (the even element sits in the low nibble). */
static inline int32_t edgeq_code(const uint8_t *codes, int32_t e)
{
    const uint32_t byte = codes[e >> 1];
    return (int32_t)((e & 1) ? (byte >> 4) : (byte & 0x0Fu));
}

/* sum over n consecutive elements from element e of (x[i] + offset) * table[code]. */
static inline int32_t edgeq_dot_codes(const int8_t *x, int32_t offset, const uint8_t *codes, int32_t e,
                                      const int8_t *table, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
    if ((e & 1) && n > 0)
    {
        /* start on a high nibble: take it alone, then whole bytes */
        acc += ((int32_t)x[0] + offset) * table[codes[e >> 1] >> 4];
        i = 1;
    }
    {
        const uint8_t *p = codes + ((e + i) >> 1);
        for (; i + 1 < n; i += 2)
        {
            const uint32_t byte = *p++;
            acc += ((int32_t)x[i] + offset) * table[byte & 0x0Fu];
            acc += ((int32_t)x[i + 1] + offset) * table[byte >> 4];
        }
        if (i < n)
        {
            acc += ((int32_t)x[i] + offset) * table[*p & 0x0Fu];
        }
    }
    return acc;
}

/* The same sum for int4 weights (the code is the weight's two's-complement nibble). On a core with
 * the DSP extension (and under EDGEQ_EMULATE_DSP) eight weights a step: one word of codes, the
 * even and odd nibbles masked out with bit 3 flipped (n ^ 8, 0..15), widened to 16-bit lanes by
 * SXTB16 and shifted back by -8 per lane (SADD16), which sign-extends them; the eight inputs are
 * widened with the offset (SXTAB16) and paired to the weights' lane order (PKHBT / PKHTB): lanes
 * (0, 4), (2, 6), (1, 5), (3, 7); four SMLAD. About 29 instructions per 8 MACs instead of 44. */
static inline int32_t edgeq_dot_s4(const int8_t *x, int32_t offset, const uint8_t *codes, int32_t e, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
    const uint8_t *p;
    if ((e & 1) && n > 0)
    {
        acc += ((int32_t)x[0] + offset) * ((int32_t)(int8_t)(uint8_t)codes[e >> 1] >> 4);
        i = 1;
    }
    p = codes + ((e + i) >> 1);
#if defined(EDGEQ_DOT_DSP)
    {
        const int32_t off2 = (int32_t)(((uint32_t)offset << 16) | ((uint32_t)offset & 0xFFFFu));
        const int32_t minus8 = (int32_t)0xFFF8FFF8u;
        for (; i + 8 <= n; i += 8)
        {
            uint32_t w;
            int32_t lo, hi, x0, x1, x02, x13, x46, x57;
            memcpy(&w, p, 4);
            p += 4;
            w ^= 0x88888888u;
            lo = (int32_t)(w & 0x0F0F0F0Fu);        /* n0 n2 n4 n6 (each ^ 8) */
            hi = (int32_t)((w >> 4) & 0x0F0F0F0Fu); /* n1 n3 n5 n7 */
            x0 = edgeq_read_s8x4(x + i);
            x1 = edgeq_read_s8x4(x + i + 4);
            x02 = edgeq_sxtab16(off2, x0);
            x13 = edgeq_sxtab16_ror8(off2, x0);
            x46 = edgeq_sxtab16(off2, x1);
            x57 = edgeq_sxtab16_ror8(off2, x1);
            acc = edgeq_smlad(edgeq_pkhbt(x02, x46), edgeq_sadd16(edgeq_sxtb16(lo), minus8), acc);
            acc = edgeq_smlad(edgeq_pkhtb(x46, x02), edgeq_sadd16(edgeq_sxtb16_ror8(lo), minus8), acc);
            acc = edgeq_smlad(edgeq_pkhbt(x13, x57), edgeq_sadd16(edgeq_sxtb16(hi), minus8), acc);
            acc = edgeq_smlad(edgeq_pkhtb(x57, x13), edgeq_sadd16(edgeq_sxtb16_ror8(hi), minus8), acc);
        }
    }
#endif
    for (; i + 1 < n; i += 2)
    {
        const uint32_t byte = *p++;
        acc += ((int32_t)x[i] + offset) * ((int32_t)(int8_t)(uint8_t)(byte << 4) >> 4);
        acc += ((int32_t)x[i + 1] + offset) * ((int32_t)(int8_t)(uint8_t)byte >> 4);
    }
    if (i < n)
    {
        acc += ((int32_t)x[i] + offset) * ((int32_t)(int8_t)(uint8_t)((uint32_t)*p << 4) >> 4);
    }
    return acc;
}

/* Either sum: int4 weights take the dedicated path. */
static inline int32_t edgeq_dot(const int8_t *x, int32_t offset, const uint8_t *codes, int32_t e,
                                const int8_t *table, int32_t n)
{
    return table == edgeq_int4_table ? edgeq_dot_s4(x, offset, codes, e, n)
                                     : edgeq_dot_codes(x, offset, codes, e, table, n);
}

static inline int8_t edgeq_requant_out(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo,
                                       int32_t hi)
{
    int32_t v = edgeq_requantize(acc, mult, shift) + out_offset;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Output channels per pass of the depthwise kernel: their accumulators live on the stack. */
#define EDGEQ_DW_CHUNK 32

/* Output requantization of the decoded kernels: on DSP cores edgeq_requant_fast when the layer's
 * parameters allow it (checked once per call: fast != 0), bit-exact with edgeq_requant_out. */
static inline int8_t edgeq_requant_out2(int32_t fast, int32_t acc, int32_t mult, int32_t shift, int32_t out_offset,
                                        int32_t lo, int32_t hi)
{
#if defined(EDGEQ_DOT_DSP)
    if (fast)
    {
        int32_t v = edgeq_requant_fast(acc, mult, shift) + out_offset;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        return (int8_t)v;
    }
#endif
    (void)fast;
    return edgeq_requant_out(acc, mult, shift, out_offset, lo, hi);
}

static inline int32_t edgeq_requant_fast_layer(const cmsis_nn_per_channel_quant_params *q, int32_t n)
{
#if defined(EDGEQ_DOT_DSP)
    return edgeq_requant_fast_ok(q->multiplier, q->shift, n);
#else
    (void)q;
    (void)n;
    return 0;
#endif
}

/* ---- Decode-then-multiply: a block of weights decoded once into an int8 buffer on the stack,
 * then every output pixel runs int8 x int8 dot products on it. Decoding then costs O(weights)
 * per layer call instead of per output pixel. EDGEQ_DECODE_BYTES bounds the buffer (the
 * firmware stack is 8 KB); a layer whose one output channel (conv) or one channel's taps
 * (depthwise) do not fit falls back to decoding inside the dot products above. */
#ifndef EDGEQ_DECODE_BYTES
#define EDGEQ_DECODE_BYTES 1024
#endif

/* dst[i] = table[code of element e + i], i < n. */
static void edgeq_decode_run(const uint8_t *codes, int32_t e, int32_t n, const int8_t *table, int8_t *dst)
{
    const uint8_t *p;
    int32_t i = 0;
    if ((e & 1) && n > 0)
    {
        dst[0] = table[codes[e >> 1] >> 4];
        i = 1;
    }
    p = codes + ((e + i) >> 1);
    for (; i + 1 < n; i += 2)
    {
        const uint32_t byte = *p++;
        dst[i] = table[byte & 0x0Fu];
        dst[i + 1] = table[byte >> 4];
    }
    if (i < n)
    {
        dst[i] = table[*p & 0x0Fu];
    }
}

/* acc0 += sum((x[i] + offset) * w0[i]), acc1 likewise with w1: two output channels share each
 * input load and widening (SXTAB16 adds the offset in the same instruction on DSP cores). */
static inline void edgeq_dot2_off_s8(const int8_t *x, int32_t offset, const int8_t *w0, const int8_t *w1,
                                     int32_t n, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1, i = 0;
#if defined(EDGEQ_MVE)
    for (; i < n; i += 8)
    {
        const mve_pred16_t p = vctp16q((uint32_t)(n - i));
        const int16x8_t vx = vaddq_n_s16(vldrbq_z_s16(x + i, p), (int16_t)offset);
        a0 = vmladavaq_s16(a0, vx, vldrbq_z_s16(w0 + i, p));
        a1 = vmladavaq_s16(a1, vx, vldrbq_z_s16(w1 + i, p));
    }
#elif defined(EDGEQ_DOT_DSP)
    {
        const int32_t off2 = (int32_t)(((uint32_t)(offset & 0xFFFF) << 16) | (uint32_t)(offset & 0xFFFF));
        for (; i + 4 <= n; i += 4)
        {
            const int32_t vx = edgeq_read_s8x4(x + i);
            const int32_t x02 = edgeq_sxtab16(off2, vx), x13 = edgeq_sxtab16_ror8(off2, vx);
            const int32_t v0 = edgeq_read_s8x4(w0 + i), v1 = edgeq_read_s8x4(w1 + i);
            a0 = edgeq_smlad(x02, edgeq_sxtb16(v0), a0);
            a0 = edgeq_smlad(x13, edgeq_sxtb16_ror8(v0), a0);
            a1 = edgeq_smlad(x02, edgeq_sxtb16(v1), a1);
            a1 = edgeq_smlad(x13, edgeq_sxtb16_ror8(v1), a1);
        }
    }
#endif
    for (; i < n; i++)
    {
        const int32_t xi = (int32_t)x[i] + offset;
        a0 += xi * w0[i];
        a1 += xi * w1[i];
    }
    *acc0 = a0;
    *acc1 = a1;
}

/* Four output channels (filters w, w + fs, w + 2 fs, w + 3 fs) sharing each input load and
 * widening: 23 instructions per 16 MACs on DSP cores instead of 26 for two pairs. */
static inline void edgeq_dot4_off_s8(const int8_t *x, int32_t offset, const int8_t *w, int32_t fs, int32_t n,
                                     int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], i = 0;
#if defined(EDGEQ_MVE)
    /* eight elements a step widened to 16-bit lanes, the tail predicated (inactive weights load
     * as 0 and add nothing; the loads do not touch memory past n) */
    for (; i < n; i += 8)
    {
        const mve_pred16_t p = vctp16q((uint32_t)(n - i));
        const int16x8_t vx = vaddq_n_s16(vldrbq_z_s16(x + i, p), (int16_t)offset);
        a0 = vmladavaq_s16(a0, vx, vldrbq_z_s16(w + i, p));
        a1 = vmladavaq_s16(a1, vx, vldrbq_z_s16(w + fs + i, p));
        a2 = vmladavaq_s16(a2, vx, vldrbq_z_s16(w + 2 * fs + i, p));
        a3 = vmladavaq_s16(a3, vx, vldrbq_z_s16(w + 3 * fs + i, p));
    }
#elif defined(EDGEQ_DOT_DSP)
    {
        const int32_t off2 = edgeq_dup16(offset);
        for (; i + 4 <= n; i += 4)
        {
            const int32_t vx = edgeq_read_s8x4(x + i);
            const int32_t x02 = edgeq_sxtab16(off2, vx), x13 = edgeq_sxtab16_ror8(off2, vx);
            int32_t v = edgeq_read_s8x4(w + i);
            a0 = edgeq_smlad(x02, edgeq_sxtb16(v), a0);
            a0 = edgeq_smlad(x13, edgeq_sxtb16_ror8(v), a0);
            v = edgeq_read_s8x4(w + fs + i);
            a1 = edgeq_smlad(x02, edgeq_sxtb16(v), a1);
            a1 = edgeq_smlad(x13, edgeq_sxtb16_ror8(v), a1);
            v = edgeq_read_s8x4(w + 2 * fs + i);
            a2 = edgeq_smlad(x02, edgeq_sxtb16(v), a2);
            a2 = edgeq_smlad(x13, edgeq_sxtb16_ror8(v), a2);
            v = edgeq_read_s8x4(w + 3 * fs + i);
            a3 = edgeq_smlad(x02, edgeq_sxtb16(v), a3);
            a3 = edgeq_smlad(x13, edgeq_sxtb16_ror8(v), a3);
        }
    }
#endif
    for (; i < n; i++)
    {
        const int32_t xi = (int32_t)x[i] + offset;
        a0 += xi * w[i];
        a1 += xi * w[fs + i];
        a2 += xi * w[2 * fs + i];
        a3 += xi * w[3 * fs + i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One pixel, one or two output channels of edgeq_convolve_lut_s8 (w: decoded filters). */
typedef struct
{
    const int8_t *in_b;
    int32_t in_h, in_w, in_c, k_h, k_w, k_c, y0, x0, dil_h, dil_w, off, filter_size;
} edgeq_conv_px;

static inline void edgeq_conv_px_dot2(const edgeq_conv_px *px, int32_t c_in0, const int8_t *w0, const int8_t *w1,
                                      int32_t *acc0, int32_t *acc1)
{
    const int32_t kx_lo = px->x0 < 0 ? -px->x0 : 0;
    const int32_t kx_hi = px->x0 + px->k_w > px->in_w ? px->in_w - px->x0 : px->k_w;
    const int32_t row_runs = px->dil_w == 1 && px->k_c == px->in_c && kx_hi > kx_lo;
    int32_t ky, kx;
    for (ky = 0; ky < px->k_h; ky++)
    {
        const int32_t y = px->y0 + ky * px->dil_h;
        if (y < 0 || y >= px->in_h)
        {
            continue; /* padded taps add nothing (their input is -input_offset) */
        }
        if (row_runs)
        {
            const int32_t wo = (ky * px->k_w + kx_lo) * px->k_c;
            edgeq_dot2_off_s8(px->in_b + (y * px->in_w + px->x0 + kx_lo) * px->in_c, px->off, w0 + wo, w1 + wo,
                              (kx_hi - kx_lo) * px->k_c, acc0, acc1);
            continue;
        }
        for (kx = 0; kx < px->k_w; kx++)
        {
            const int32_t x = px->x0 + kx * px->dil_w;
            const int32_t wo = (ky * px->k_w + kx) * px->k_c;
            if (x < 0 || x >= px->in_w)
            {
                continue;
            }
            edgeq_dot2_off_s8(px->in_b + (y * px->in_w + x) * px->in_c + c_in0, px->off, w0 + wo, w1 + wo, px->k_c,
                              acc0, acc1);
        }
    }
}

/* The same for four output channels of one group. */
static inline void edgeq_conv_px_dot4(const edgeq_conv_px *px, int32_t c_in0, const int8_t *w0, int32_t acc[4])
{
    const int32_t kx_lo = px->x0 < 0 ? -px->x0 : 0;
    const int32_t kx_hi = px->x0 + px->k_w > px->in_w ? px->in_w - px->x0 : px->k_w;
    const int32_t row_runs = px->dil_w == 1 && px->k_c == px->in_c && kx_hi > kx_lo;
    int32_t ky, kx;
    for (ky = 0; ky < px->k_h; ky++)
    {
        const int32_t y = px->y0 + ky * px->dil_h;
        if (y < 0 || y >= px->in_h)
        {
            continue; /* padded taps add nothing (their input is -input_offset) */
        }
        if (row_runs)
        {
            const int32_t wo = (ky * px->k_w + kx_lo) * px->k_c;
            edgeq_dot4_off_s8(px->in_b + (y * px->in_w + px->x0 + kx_lo) * px->in_c, px->off, w0 + wo,
                              px->filter_size, (kx_hi - kx_lo) * px->k_c, acc);
            continue;
        }
        for (kx = 0; kx < px->k_w; kx++)
        {
            const int32_t x = px->x0 + kx * px->dil_w;
            const int32_t wo = (ky * px->k_w + kx) * px->k_c;
            if (x < 0 || x >= px->in_w)
            {
                continue;
            }
            edgeq_dot4_off_s8(px->in_b + (y * px->in_w + x) * px->in_c + c_in0, px->off, w0 + wo, px->filter_size,
                              px->k_c, acc);
        }
    }
}

/* edgeq_convolve_lut_s8 when one output channel's filter fits the buffer: chunks of output
 * channels decoded once, then all pixels; output channels four (or two, or one) a pass within a group. */
static void edgeq_convolve_decoded(const cmsis_nn_conv_params *conv_params,
                                   const cmsis_nn_per_channel_quant_params *quant_params,
                                   const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims, const uint8_t *codes, const int8_t *table,
                                   int32_t table_stride, const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                   int8_t *output_data, int32_t per_group)
{
    int8_t w[EDGEQ_DECODE_BYTES];
    edgeq_conv_px px;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t filter_size = filter_dims->h * filter_dims->w * filter_dims->c;
    const int32_t per_chunk = EDGEQ_DECODE_BYTES / filter_size;
    const int32_t fast = edgeq_requant_fast_layer(quant_params, out_c);
    int32_t oc0, b, oy, ox, c;
    px.in_h = input_dims->h;
    px.in_w = input_dims->w;
    px.in_c = input_dims->c;
    px.k_h = filter_dims->h;
    px.k_w = filter_dims->w;
    px.k_c = filter_dims->c;
    px.dil_h = conv_params->dilation.h;
    px.dil_w = conv_params->dilation.w;
    px.off = conv_params->input_offset;
    px.filter_size = filter_size;
    for (oc0 = 0; oc0 < out_c; oc0 += per_chunk)
    {
        const int32_t n = out_c - oc0 < per_chunk ? out_c - oc0 : per_chunk;
        for (c = 0; c < n; c++)
        {
            edgeq_decode_run(codes, (oc0 + c) * filter_size, filter_size, table + table_stride * (oc0 + c),
                             w + c * filter_size);
        }
        for (b = 0; b < input_dims->n; b++)
        {
            px.in_b = input_data + b * px.in_h * px.in_w * px.in_c;
            for (oy = 0; oy < out_h; oy++)
            {
                px.y0 = oy * conv_params->stride.h - conv_params->padding.h;
                for (ox = 0; ox < out_w; ox++)
                {
                    int8_t *out = output_data + ((b * out_h + oy) * out_w + ox) * out_c;
                    px.x0 = ox * conv_params->stride.w - conv_params->padding.w;
                    for (c = 0; c < n;)
                    {
                        const int32_t oc = oc0 + c;
                        if (c + 4 <= n && (oc + 3) / per_group == oc / per_group)
                        {
                            int32_t acc[4], j;
                            for (j = 0; j < 4; j++)
                            {
                                acc[j] = bias_data ? bias_data[oc + j] : 0;
                            }
                            edgeq_conv_px_dot4(&px, (oc / per_group) * px.k_c, w + c * filter_size, acc);
                            for (j = 0; j < 4; j++)
                            {
                                out[oc + j] = edgeq_requant_out2(fast, acc[j], quant_params->multiplier[oc + j],
                                                                 quant_params->shift[oc + j], conv_params->output_offset,
                                                                 conv_params->activation.min,
                                                                 conv_params->activation.max);
                            }
                            c += 4;
                            continue;
                        }
                        const int32_t pair = c + 1 < n && (oc + 1) / per_group == oc / per_group;
                        const int8_t *w0 = w + c * filter_size;
                        int32_t acc0 = bias_data ? bias_data[oc] : 0;
                        int32_t acc1 = pair && bias_data ? bias_data[oc + 1] : 0;
                        /* a lone channel runs as a pair with itself; the second sum is dropped */
                        edgeq_conv_px_dot2(&px, (oc / per_group) * px.k_c, w0, pair ? w0 + filter_size : w0, &acc0,
                                           &acc1);
                        out[oc] = edgeq_requant_out2(fast, acc0, quant_params->multiplier[oc], quant_params->shift[oc],
                                                    conv_params->output_offset, conv_params->activation.min,
                                                    conv_params->activation.max);
                        if (pair)
                        {
                            out[oc + 1] = edgeq_requant_out2(fast, acc1, quant_params->multiplier[oc + 1],
                                                            quant_params->shift[oc + 1], conv_params->output_offset,
                                                            conv_params->activation.min,
                                                            conv_params->activation.max);
                        }
                        c += pair ? 2 : 1;
                    }
                }
            }
        }
    }
}

/* The taps [lo, hi) of a kernel of k taps (dilation d) from input position start that land
 * inside [0, size): padded taps add nothing (their input is -input_offset). */
static inline void edgeq_taps_inside(int32_t start, int32_t d, int32_t k, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t l = start < 0 ? (-start + d - 1) / d : 0;
    int32_t h = size - start <= 0 ? 0 : (size - start + d - 1) / d;
    h = h > k ? k : h;
    *lo = l;
    *hi = h > l ? h : l;
}

/* edgeq_depthwise_conv_lut_s8 when one channel's taps fit the buffer: a block of up to
 * EDGEQ_DW_CHUNK channels' taps decoded once ([tap][channel]), then all pixels. */
static void edgeq_depthwise_decoded(const cmsis_nn_dw_conv_params *dw_conv_params,
                                    const cmsis_nn_per_channel_quant_params *quant_params,
                                    const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims, const uint8_t *codes, const int8_t *table,
                                    int32_t table_stride, const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                    int8_t *output_data)
{
    int8_t w[EDGEQ_DECODE_BYTES];
    int32_t acc[EDGEQ_DW_CHUNK];
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, taps = k_h * k_w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = dw_conv_params->ch_mult;
    const int32_t off = dw_conv_params->input_offset;
    const int32_t fit = EDGEQ_DECODE_BYTES / taps;
    const int32_t per_chunk = fit < EDGEQ_DW_CHUNK ? fit : EDGEQ_DW_CHUNK;
    const int32_t fast = edgeq_requant_fast_layer(quant_params, out_c);
    const int32_t dil_h = dw_conv_params->dilation.h, dil_w = dw_conv_params->dilation.w;
    int32_t c0, b, oy, ox, ky, kx, c, t;
    for (c0 = 0; c0 < out_c; c0 += per_chunk)
    {
        const int32_t n = out_c - c0 < per_chunk ? out_c - c0 : per_chunk;
        for (t = 0; t < taps; t++)
        {
            if (table_stride == 0)
            {
                edgeq_decode_run(codes, t * out_c + c0, n, table, w + t * n);
            }
            else
            {
                for (c = 0; c < n; c++)
                {
                    w[t * n + c] = table[table_stride * (c0 + c) + edgeq_code(codes, t * out_c + c0 + c)];
                }
            }
        }
        for (b = 0; b < input_dims->n; b++)
        {
            const int8_t *in_b = input_data + b * in_h * in_w * in_c;
            for (oy = 0; oy < out_h; oy++)
            {
                const int32_t y0 = oy * dw_conv_params->stride.h - dw_conv_params->padding.h;
                int32_t ky_lo, ky_hi;
                edgeq_taps_inside(y0, dil_h, k_h, in_h, &ky_lo, &ky_hi);
                for (ox = 0; ox < out_w; ox++)
                {
                    const int32_t x0 = ox * dw_conv_params->stride.w - dw_conv_params->padding.w;
                    int8_t *out = output_data + ((b * out_h + oy) * out_w + ox) * out_c + c0;
                    int32_t kx_lo, kx_hi;
                    edgeq_taps_inside(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                    c = 0;
#if defined(EDGEQ_DOT_DSP)
                    /* depth multiplier 1: four channels a pass, accumulators in registers; one
                     * word of inputs and one of weights per tap, lanes (0, 2) and (1, 3) */
                    for (; mult == 1 && c + 4 <= n; c += 4)
                    {
                        const int32_t off2 = edgeq_dup16(off);
                        int32_t a[4];
                        int32_t a0 = bias_data ? bias_data[c0 + c] : 0, a1 = bias_data ? bias_data[c0 + c + 1] : 0;
                        int32_t a2 = bias_data ? bias_data[c0 + c + 2] : 0, a3 = bias_data ? bias_data[c0 + c + 3] : 0;
                        for (ky = ky_lo; ky < ky_hi; ky++)
                        {
                            const int8_t *xr = in_b + ((y0 + ky * dil_h) * in_w + x0 + kx_lo * dil_w) * in_c + c0 + c;
                            const int8_t *wr = w + (ky * k_w + kx_lo) * n + c;
                            for (kx = kx_lo; kx < kx_hi; kx++, xr += dil_w * in_c, wr += n)
                            {
                                const int32_t vx = edgeq_read_s8x4(xr), vw = edgeq_read_s8x4(wr);
                                const int32_t x02 = edgeq_sxtab16(off2, vx), x13 = edgeq_sxtab16_ror8(off2, vx);
                                const int32_t w02 = edgeq_sxtb16(vw), w13 = edgeq_sxtb16_ror8(vw);
                                a0 = edgeq_smlabb(x02, w02, a0);
                                a2 = edgeq_smlatt(x02, w02, a2);
                                a1 = edgeq_smlabb(x13, w13, a1);
                                a3 = edgeq_smlatt(x13, w13, a3);
                            }
                        }
                        a[0] = a0;
                        a[1] = a1;
                        a[2] = a2;
                        a[3] = a3;
                        for (t = 0; t < 4; t++)
                        {
                            out[c + t] = edgeq_requant_out2(fast, a[t], quant_params->multiplier[c0 + c + t],
                                                            quant_params->shift[c0 + c + t],
                                                            dw_conv_params->output_offset,
                                                            dw_conv_params->activation.min,
                                                            dw_conv_params->activation.max);
                        }
                    }
#endif
                    if (c < n)
                    {
                        for (t = c; t < n; t++)
                        {
                            acc[t] = bias_data ? bias_data[c0 + t] : 0;
                        }
                        for (ky = ky_lo; ky < ky_hi; ky++)
                        {
                            for (kx = kx_lo; kx < kx_hi; kx++)
                            {
                                const int8_t *xp = in_b + ((y0 + ky * dil_h) * in_w + x0 + kx * dil_w) * in_c;
                                const int8_t *wt = w + (ky * k_w + kx) * n;
                                int32_t i;
                                for (i = c; i < n; i++)
                                {
                                    acc[i] += ((int32_t)xp[(c0 + i) / mult] + off) * wt[i];
                                }
                            }
                        }
                        for (t = c; t < n; t++)
                        {
                            out[t] = edgeq_requant_out2(fast, acc[t], quant_params->multiplier[c0 + t],
                                                        quant_params->shift[c0 + t], dw_conv_params->output_offset,
                                                        dw_conv_params->activation.min,
                                                        dw_conv_params->activation.max);
                        }
                    }
                }
            }
        }
    }
}

arm_cmsis_nn_status edgeq_convolve_lut_s8(const cmsis_nn_conv_params *conv_params,
                                          const cmsis_nn_per_channel_quant_params *quant_params,
                                          const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                          const cmsis_nn_dims *filter_dims, const uint8_t *codes,
                                          const int8_t *table, int32_t table_stride, const int32_t *bias_data,
                                          const cmsis_nn_dims *output_dims, int8_t *output_data)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, k_c = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t groups = k_c > 0 ? in_c / k_c : 1;
    const int32_t per_group = groups > 0 ? out_c / groups : out_c;
    const int32_t filter_size = k_h * k_w * k_c;
    const int32_t off = conv_params->input_offset;
    int32_t b, oy, ox, oc, ky, kx;
    if (k_c <= 0 || groups <= 0 || per_group <= 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    if (filter_size <= EDGEQ_DECODE_BYTES)
    {
        edgeq_convolve_decoded(conv_params, quant_params, input_dims, input_data, filter_dims, codes, table,
                               table_stride, bias_data, output_dims, output_data, per_group);
        return ARM_CMSIS_NN_SUCCESS;
    }
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * in_c;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * conv_params->stride.h - conv_params->padding.h;
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * conv_params->stride.w - conv_params->padding.w;
                const int32_t kx_lo = x0 < 0 ? -x0 : 0;
                const int32_t kx_hi = x0 + k_w > in_w ? in_w - x0 : k_w;
                const int32_t row_runs = conv_params->dilation.w == 1 && groups == 1 && kx_hi > kx_lo;
                int8_t *out = output_data + ((b * out_h + oy) * out_w + ox) * out_c;
                for (oc = 0; oc < out_c; oc++)
                {
                    const int8_t *tab = table + table_stride * oc;
                    const int32_t c0 = (oc / per_group) * k_c;
                    int32_t acc = bias_data ? bias_data[oc] : 0;
                    for (ky = 0; ky < k_h; ky++)
                    {
                        const int32_t y = y0 + ky * conv_params->dilation.h;
                        if (y < 0 || y >= in_h)
                        {
                            continue; /* padded taps add nothing (their input is -input_offset) */
                        }
                        if (row_runs)
                        {
                            /* the in-bounds taps of a kernel row are one contiguous run of input and
                             * of weights: one dot product for the row */
                            acc += edgeq_dot(in_b + (y * in_w + x0 + kx_lo) * in_c, off, codes,
                                             oc * filter_size + (ky * k_w + kx_lo) * k_c, tab, (kx_hi - kx_lo) * k_c);
                            continue;
                        }
                        for (kx = 0; kx < k_w; kx++)
                        {
                            const int32_t x = x0 + kx * conv_params->dilation.w;
                            if (x < 0 || x >= in_w)
                            {
                                continue;
                            }
                            acc += edgeq_dot(in_b + (y * in_w + x) * in_c + c0, off, codes,
                                             oc * filter_size + (ky * k_w + kx) * k_c, tab, k_c);
                        }
                    }
                    out[oc] = edgeq_requant_out(acc, quant_params->multiplier[oc], quant_params->shift[oc],
                                                conv_params->output_offset, conv_params->activation.min,
                                                conv_params->activation.max);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgeq_depthwise_conv_lut_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                const cmsis_nn_per_channel_quant_params *quant_params,
                                                const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                const cmsis_nn_dims *filter_dims, const uint8_t *codes,
                                                const int8_t *table, int32_t table_stride,
                                                const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                                int8_t *output_data)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = dw_conv_params->ch_mult;
    const int32_t off = dw_conv_params->input_offset;
    int32_t b, oy, ox, c0, ky, kx;
    int32_t acc[EDGEQ_DW_CHUNK];
    if (mult <= 0 || in_c * mult != out_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    if (k_h * k_w <= EDGEQ_DECODE_BYTES)
    {
        edgeq_depthwise_decoded(dw_conv_params, quant_params, input_dims, input_data, filter_dims, codes, table,
                                table_stride, bias_data, output_dims, output_data);
        return ARM_CMSIS_NN_SUCCESS;
    }
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * in_c;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * dw_conv_params->stride.h - dw_conv_params->padding.h;
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * dw_conv_params->stride.w - dw_conv_params->padding.w;
                int8_t *out = output_data + ((b * out_h + oy) * out_w + ox) * out_c;
                /* channels innermost: each in-bounds tap is a run of channels, contiguous in the
                 * input (depth multiplier 1) and in the codes (filter [1, k_h, k_w, out_c]) */
                for (c0 = 0; c0 < out_c; c0 += EDGEQ_DW_CHUNK)
                {
                    const int32_t n = out_c - c0 < EDGEQ_DW_CHUNK ? out_c - c0 : EDGEQ_DW_CHUNK;
                    int32_t c;
                    for (c = 0; c < n; c++)
                    {
                        acc[c] = bias_data ? bias_data[c0 + c] : 0;
                    }
                    for (ky = 0; ky < k_h; ky++)
                    {
                        const int32_t y = y0 + ky * dw_conv_params->dilation.h;
                        if (y < 0 || y >= in_h)
                        {
                            continue;
                        }
                        for (kx = 0; kx < k_w; kx++)
                        {
                            const int32_t x = x0 + kx * dw_conv_params->dilation.w;
                            const int8_t *xp;
                            int32_t e;
                            if (x < 0 || x >= in_w)
                            {
                                continue;
                            }
                            xp = in_b + (y * in_w + x) * in_c;
                            e = (ky * k_w + kx) * out_c + c0;
                            if (mult == 1 && table_stride == 0)
                            {
                                xp += c0;
                                for (c = 0; c < n; c++, e++)
                                {
                                    acc[c] += ((int32_t)xp[c] + off) * table[edgeq_code(codes, e)];
                                }
                            }
                            else
                            {
                                for (c = 0; c < n; c++, e++)
                                {
                                    acc[c] += ((int32_t)xp[(c0 + c) / mult] + off) *
                                              table[table_stride * (c0 + c) + edgeq_code(codes, e)];
                                }
                            }
                        }
                    }
                    for (c = 0; c < n; c++)
                    {
                        out[c0 + c] = edgeq_requant_out(acc[c], quant_params->multiplier[c0 + c],
                                                        quant_params->shift[c0 + c], dw_conv_params->output_offset,
                                                        dw_conv_params->activation.min,
                                                        dw_conv_params->activation.max);
                    }
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status edgeq_fully_connected_lut_s8(const int8_t *input_data, const uint8_t *codes, const int8_t *table,
                                                 int32_t table_stride, const int32_t *bias_data, int32_t batches,
                                                 int32_t depth, int32_t units, int32_t input_offset,
                                                 int32_t output_offset, const int32_t *multiplier,
                                                 const int32_t *shift, int32_t per_channel, int32_t act_min,
                                                 int32_t act_max, int8_t *output_data)
{
    int32_t b, u;
    for (b = 0; b < batches; b++)
    {
        const int8_t *x = input_data + b * depth;
        for (u = 0; u < units; u++)
        {
            const int32_t acc = (bias_data ? bias_data[u] : 0) +
                                edgeq_dot(x, input_offset, codes, u * depth, table + table_stride * u, depth);
            const int32_t q = per_channel ? u : 0;
            output_data[b * units + u] =
                edgeq_requant_out(acc, multiplier[q], shift[q], output_offset, act_min, act_max);
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
