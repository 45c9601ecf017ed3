/*
 * edgeq -- Helium (MVE) depthwise convolution, depth multiplier 1.
 *
 * Eight channels per vector in 16-bit lanes: VLDRB.S16 widens eight input bytes and eight
 * weights, the input offset is added in 16 bits (x + off in [-255, 255], exact), and
 * VMULLB / VMULLT.S16 give the 32-bit products of the even and of the odd channels, summed into
 * two int32x4 accumulators (modulo 2^32 like TFLM's int32 accumulator: bit-exact for all int8
 * data). Only the in-bounds taps are visited (padding contributes nothing, as in TFLM). The
 * last block of a channel count that is not a multiple of 8 runs predicated (VCTP.16: zeroing
 * loads, a predicated store). The bias and requantization parameters of the even / odd
 * channels are gathered (VLDRW gather), requantized four lanes at a time
 * (edgeq_mve_requantize) and narrowed back into channel order by VMOVNB / VMOVNT, then stored
 * with one VSTRB.16. No scratch.
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_mve.h"

#if defined(EDGEQ_MVE)

#include "edgeq_fixedpoint.h"

typedef struct
{
    const int32_t *bias, *mult, *shift;
    int32_t out_off, n_ky, n_kx, y_step, x_step, w_row, ch;
    int16_t in_off;
} edgeq_mve_dw_args;

#define EDGEQ_MVE_DW_TAP(first)                                                                            \
    "vldrb.s16 %q[x], [%[p]]\n\t"                                                                            \
    "vldrb.s16 %q[wv], [%[q]]\n\t"                                                                           \
    "add %[p], %[p], %[xs]\n\t"                                                                               \
    "add %[q], %[q], %[ch]\n\t"                                                                               \
    "vadd.i16 %q[x], %q[x], %[off]\n\t" first

#define EDGEQ_MVE_DW_ACC                                                                                     \
    "vmullb.s16 %q[t], %q[x], %q[wv]\n\t"                                                                     \
    "vadd.i32 %q[ae], %q[ae], %q[t]\n\t"                                                                      \
    "vmullt.s16 %q[t], %q[x], %q[wv]\n\t"                                                                     \
    "vadd.i32 %q[ao], %q[ao], %q[t]\n\t"

/*
 * The nine taps of a whole 3x3 window for eight channels (in, w: the first tap's input and
 * weights at the block's channel): *acc_e / *acc_o = the even / odd channels' sums of
 * (x + in_off) * w. The weights of the nine taps are ch bytes apart (w_row = 3 ch). On the
 * target this is one inline-assembly block of nine instructions per tap: GCC, given the same
 * code in intrinsics, hoists every load of the window above the first multiply and spills the
 * Q registers to the stack. The host emulation runs the same arithmetic in C.
 */
static inline __attribute__((always_inline)) void edgeq_mve_dw_win3(const edgeq_mve_dw_args *a, const int8_t *in,
                                                                    const int8_t *w, int32x4_t *acc_e,
                                                                    int32x4_t *acc_o)
{
#if defined(EDGEQ_EMULATE_MVE)
    int32x4_t ae = vdupq_n_s32(0), ao = vdupq_n_s32(0);
    int32_t ky, kx;
    for (ky = 0; ky < 3; ky++)
    {
        for (kx = 0; kx < 3; kx++)
        {
            const int16x8_t x = vaddq_n_s16(vldrbq_s16(in + ky * a->y_step + kx * a->x_step), a->in_off);
            const int16x8_t wv = vldrbq_s16(w + (ky * 3 + kx) * a->ch);
            ae = vaddq_s32(ae, vmullbq_int_s16(x, wv));
            ao = vaddq_s32(ao, vmulltq_int_s16(x, wv));
        }
    }
    *acc_e = ae;
    *acc_o = ao;
#else
    int32x4_t ae, ao, t;
    int16x8_t x, wv;
    const int8_t *p = in, *q = w;
    const int32_t next_row = a->y_step - 3 * a->x_step, off = a->in_off;
    __asm__(EDGEQ_MVE_DW_TAP("vmullb.s16 %q[ae], %q[x], %q[wv]\n\tvmullt.s16 %q[ao], %q[x], %q[wv]\n\t")
            EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC) EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC)
            "add %[p], %[p], %[nr]\n\t"
            EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC) EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC) EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC)
            "add %[p], %[p], %[nr]\n\t"
            EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC) EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC) EDGEQ_MVE_DW_TAP(EDGEQ_MVE_DW_ACC)
            : [ae] "=&w"(ae), [ao] "=&w"(ao), [t] "=&w"(t), [x] "=&w"(x), [wv] "=&w"(wv), [p] "+&r"(p),
              [q] "+&r"(q)
            : [xs] "r"(a->x_step), [ch] "r"(a->ch), [nr] "r"(next_row), [off] "r"(off)
            : "memory");
    *acc_e = ae;
    *acc_o = ao;
#endif
}

/*
 * Channels [c, c + 8) of one output pixel (full: all eight, unpredicated; else the first n,
 * predicated). in / w: the first in-bounds tap of the pixel and its weights.
 */
static inline __attribute__((always_inline)) void edgeq_mve_dw_block(const edgeq_mve_dw_args *a, const int8_t *in,
                                                                     const int8_t *w, int8_t *out, int32_t c,
                                                                     int32_t n, int full, int simple, int win3,
                                                                     int int8_range, uint32x4_t ev,
                                                                     uint32x4_t od, int32x4_t lo, int32x4_t hi)
{
    const mve_pred16_t p16 = vctp16q((uint32_t)n);
    const mve_pred16_t pe = vctp32q((uint32_t)((n + 1) >> 1)), po = vctp32q((uint32_t)(n >> 1));
    const int32x4_t zero = vdupq_n_s32(0);
    int32x4_t acc_e = zero, acc_o = zero, se, so, re, ro;
    int16x8_t r16;
    int32_t ky, kx;
    in += c;
    w += c;
    if (win3)
    {
        edgeq_mve_dw_win3(a, in, w, &acc_e, &acc_o);
    }
    for (ky = 0; !win3 && ky < a->n_ky; ky++)
    {
        const int8_t *ip = in, *wp = w;
        for (kx = 0; kx < a->n_kx; kx++)
        {
            const int16x8_t xv = vaddq_n_s16(full ? vldrbq_s16(ip) : vldrbq_z_s16(ip, p16), a->in_off);
            const int16x8_t wv = full ? vldrbq_s16(wp) : vldrbq_z_s16(wp, p16);
            acc_e = vaddq_s32(acc_e, vmullbq_int_s16(xv, wv));
            acc_o = vaddq_s32(acc_o, vmulltq_int_s16(xv, wv));
            ip += a->x_step;
            wp += a->ch;
        }
        in += a->y_step;
        w += a->w_row;
    }
    if (full)
    {
        if (a->bias != 0)
        {
            acc_e = vaddq_s32(acc_e, vldrwq_gather_shifted_offset_s32(a->bias + c, ev));
            acc_o = vaddq_s32(acc_o, vldrwq_gather_shifted_offset_s32(a->bias + c, od));
        }
        se = vldrwq_gather_shifted_offset_s32(a->shift + c, ev);
        so = vldrwq_gather_shifted_offset_s32(a->shift + c, od);
        if (simple)
        {
            re = edgeq_mve_requantize_right(acc_e, vldrwq_gather_shifted_offset_s32(a->mult + c, ev), se);
            ro = edgeq_mve_requantize_right(acc_o, vldrwq_gather_shifted_offset_s32(a->mult + c, od), so);
        }
        else
        {
            re = edgeq_mve_requantize(acc_e, vldrwq_gather_shifted_offset_s32(a->mult + c, ev),
                                      vmaxq_s32(se, zero), vminq_s32(se, zero));
            ro = edgeq_mve_requantize(acc_o, vldrwq_gather_shifted_offset_s32(a->mult + c, od),
                                      vmaxq_s32(so, zero), vminq_s32(so, zero));
        }
    }
    else
    {
        if (a->bias != 0)
        {
            acc_e = vaddq_s32(acc_e, vldrwq_gather_shifted_offset_z_s32(a->bias + c, ev, pe));
            acc_o = vaddq_s32(acc_o, vldrwq_gather_shifted_offset_z_s32(a->bias + c, od, po));
        }
        se = vldrwq_gather_shifted_offset_z_s32(a->shift + c, ev, pe);
        so = vldrwq_gather_shifted_offset_z_s32(a->shift + c, od, po);
        re = edgeq_mve_requantize(acc_e, vldrwq_gather_shifted_offset_z_s32(a->mult + c, ev, pe),
                                  vmaxq_s32(se, zero), vminq_s32(se, zero));
        ro = edgeq_mve_requantize(acc_o, vldrwq_gather_shifted_offset_z_s32(a->mult + c, od, po),
                                  vmaxq_s32(so, zero), vminq_s32(so, zero));
    }
    if (int8_range)
    {
        /* activation range = the int8 range: saturate to int16 while narrowing, then to int8 by a
         * saturating shift left and back (no clamp vectors held in Q registers) */
        r16 = vqmovnbq_s32(vdupq_n_s16(0), vaddq_n_s32(re, a->out_off));
        r16 = vqmovntq_s32(r16, vaddq_n_s32(ro, a->out_off));
        r16 = vshrq_n_s16(vqshlq_n_s16(r16, 8), 8);
    }
    else
    {
        re = vminq_s32(vmaxq_s32(vaddq_n_s32(re, a->out_off), lo), hi);
        ro = vminq_s32(vmaxq_s32(vaddq_n_s32(ro, a->out_off), lo), hi);
        r16 = vmovnbq_s32(vdupq_n_s16(0), re);
        r16 = vmovntq_s32(r16, ro);
    }
    if (full)
    {
        vstrbq_s16(out + c, r16);
    }
    else
    {
        vstrbq_p_s16(out + c, r16, p16);
    }
}

arm_cmsis_nn_status edgeq_mve_depthwise_conv_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                const cmsis_nn_per_channel_quant_params *quant_params,
                                                const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                                const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                                const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                                int8_t *output_data)
{
    static const uint32_t even_idx[4] = {0, 2, 4, 6}, odd_idx[4] = {1, 3, 5, 7};
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t s_h = dw_conv_params->stride.h, s_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h, pad_w = dw_conv_params->padding.w;
    const int32_t dil_h = k_h == 1 ? 1 : dw_conv_params->dilation.h, dil_w = k_w == 1 ? 1 : dw_conv_params->dilation.w;
    const int32x4_t lo = vdupq_n_s32(dw_conv_params->activation.min);
    const int32x4_t hi = vdupq_n_s32(dw_conv_params->activation.max);
    const uint32x4_t ev = vldrwq_u32(even_idx), od = vldrwq_u32(odd_idx);
    const int32_t ch_full = ch & ~7;
    edgeq_mve_dw_args a;
    const int32_t k3 = k_h == 3 && k_w == 3;
    const int32_t int8_range = dw_conv_params->activation.min == -128 && dw_conv_params->activation.max == 127;
    int32_t b, oy, ox, c, simple = 1;
    for (c = 0; c < ch; c++)
    {
        simple &= quant_params->shift[c] < 0; /* every right shift > 0: edgeq_mve_requantize_right */
    }
    a.bias = bias_data;
    a.mult = quant_params->multiplier;
    a.shift = quant_params->shift;
    a.out_off = dw_conv_params->output_offset;
    a.in_off = (int16_t)dw_conv_params->input_offset;
    a.x_step = dil_w * ch;
    a.y_step = dil_h * in_w * ch;
    a.w_row = k_w * ch;
    a.ch = ch;
    for (b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_b = input_data + b * in_h * in_w * ch;
        for (oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * s_h - pad_h;
            int32_t ky_lo, ky_hi;
            edgeq_tap_range(y0, dil_h, k_h, in_h, &ky_lo, &ky_hi);
            a.n_ky = ky_hi - ky_lo;
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * s_w - pad_w;
                int32_t kx_lo, kx_hi;
                int8_t *out = output_data + ((b * out_h + oy) * out_w + ox) * ch;
                const int8_t *in_first, *w_first;
                if (x0 >= 0 && x0 + (k_w - 1) * dil_w < in_w)
                {
                    kx_lo = 0; /* an interior pixel: no divisions */
                    kx_hi = k_w;
                }
                else
                {
                    edgeq_tap_range(x0, dil_w, k_w, in_w, &kx_lo, &kx_hi);
                }
                a.n_kx = kx_hi - kx_lo;
                in_first = in_b + ((y0 + ky_lo * dil_h) * in_w + x0 + kx_lo * dil_w) * ch;
                w_first = filter_data + (ky_lo * k_w + kx_lo) * ch;
                if (k3 && a.n_ky == 3 && a.n_kx == 3)
                {
                    if (simple && int8_range)
                    {
                        for (c = 0; c < ch_full; c += 8)
                        {
                            edgeq_mve_dw_block(&a, in_first, w_first, out, c, 8, 1, 1, 1, 1, ev, od, lo, hi);
                        }
                    }
                    else if (simple)
                    {
                        for (c = 0; c < ch_full; c += 8)
                        {
                            edgeq_mve_dw_block(&a, in_first, w_first, out, c, 8, 1, 1, 1, 0, ev, od, lo, hi);
                        }
                    }
                    else
                    {
                        for (c = 0; c < ch_full; c += 8)
                        {
                            edgeq_mve_dw_block(&a, in_first, w_first, out, c, 8, 1, 0, 1, 0, ev, od, lo, hi);
                        }
                    }
                }
                else if (simple)
                {
                    for (c = 0; c < ch_full; c += 8)
                    {
                        edgeq_mve_dw_block(&a, in_first, w_first, out, c, 8, 1, 1, 0, 0, ev, od, lo, hi);
                    }
                }
                else
                {
                    for (c = 0; c < ch_full; c += 8)
                    {
                        edgeq_mve_dw_block(&a, in_first, w_first, out, c, 8, 1, 0, 0, 0, ev, od, lo, hi);
                    }
                }
                if (c < ch)
                {
                    edgeq_mve_dw_block(&a, in_first, w_first, out, c, ch - c, 0, 0, 0, 0, ev, od, lo, hi);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

#else
typedef int edgeq_mve_depthwise_unused; /* ISO C: a translation unit is not empty */
#endif /* EDGEQ_MVE */
