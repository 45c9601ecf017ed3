/*
 * edgeq kernels -- int8 fully connected, per-tensor and per-channel requantization. With the
 * DSP extension (EDGEQ_DOT_DSP) and a symmetric filter (filter_offset 0, what the converter
 * emits), four units at a time share the sign-extended, offset input words (SMLAD).
 * filter_dims->n = accumulation depth, output_dims->c = output units, input_dims->n = batches.
 * Filter layout [units, depth].
 * SPDX-License-Identifier: MIT
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "edgeq_mve_kernels.h"

int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}

#if defined(EDGEQ_DOT_DSP)
/* ------------------------------------------------------------------ DSP (SMLAD) path */

/*
 * acc[u] += sum((x[i] + in_off) * w_u[i]) for four filter rows w_u = w + u * depth. The input
 * word is extended once into (x0 + off, x2 + off), (x1 + off, x3 + off) — in [-255, 255], so
 * the non-saturating SADD16 is exact — and used by all four rows.
 *
 * Overflow: each SMLAD adds two products |(x + off) * w| <= 255 * 128; the accumulators add
 * modulo 2^32 like TFLM's int32 accumulator, so the bits agree for all int8 inputs.
 */
#if defined(EDGEQ_DSP_ASM)
/* On the core, register-allocated by hand (14 registers: 4 accumulators, the input and filter
 * pointers, depth and 3 * depth, the offset pair, the count, 4 temporaries). Rows 1..3 are read
 * at register offsets from row 0's pointer, which post-increments last: 23 instructions per
 * 16 MACs. */
#define EDGEQ_FC_ASM_ROW(addr, acc)                                                                                   \
    "ldr %[wv], " addr "\n\t"                                                                                          \
    "sxtb16 %[t], %[wv]\n\t"                                                                                           \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                                                                                  \
    "smlad %[" acc "], %[x02], %[t], %[" acc "]\n\t"                                                                   \
    "smlad %[" acc "], %[x13], %[wv], %[" acc "]\n\t"
#define EDGEQ_FC_ASM_GROUP                                                                                            \
    "ldr %[x13], [%[x]], #4\n\t"                                                                                       \
    "sxtab16 %[x02], %[off2], %[x13]\n\t"                                                                              \
    "sxtab16 %[x13], %[off2], %[x13], ror #8\n\t" EDGEQ_FC_ASM_ROW("[%[w], %[d]]", "a1")                               \
        EDGEQ_FC_ASM_ROW("[%[w], %[d], lsl #1]", "a2") EDGEQ_FC_ASM_ROW("[%[w], %[d3]]", "a3")                           \
            EDGEQ_FC_ASM_ROW("[%[w]], #4", "a0")
static __attribute__((noinline)) void edgeq_fc_dot_1x4(const int8_t *x, const int8_t *w, int32_t depth,
                                                       int32_t in_off, int32_t acc[4])
{
    const int32_t off2 = edgeq_dup16(in_off);
    const int32_t d3 = 3 * depth;
    const int8_t *x0 = x, *w0 = w;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t n = depth >> 3, i;
    int32_t x02, x13, wv, t;
    if (depth & 4)
    {
        __asm__(EDGEQ_FC_ASM_GROUP
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+&r"(x), [w] "+&r"(w),
                  [x02] "=&r"(x02), [x13] "=&r"(x13), [wv] "=&r"(wv), [t] "=&r"(t)
                : [d] "r"(depth), [d3] "r"(d3), [off2] "r"(off2)
                : "memory");
    }
    if (n > 0)
    {
        __asm__("1:\n\t" EDGEQ_FC_ASM_GROUP EDGEQ_FC_ASM_GROUP
                "subs %[n], %[n], #1\n\t"
                "bne 1b\n\t"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+&r"(x), [w] "+&r"(w),
                  [n] "+&r"(n), [x02] "=&r"(x02), [x13] "=&r"(x13), [wv] "=&r"(wv), [t] "=&r"(t)
                : [d] "r"(depth), [d3] "r"(d3), [off2] "r"(off2)
                : "memory", "cc");
    }
    for (i = depth & ~3; i < depth; i++)
    {
        const int32_t xo = (int32_t)x0[i] + in_off;
        a0 += xo * w0[i];
        a1 += xo * w0[depth + i];
        a2 += xo * w0[2 * depth + i];
        a3 += xo * w0[d3 + i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#else
static void edgeq_fc_dot_1x4(const int8_t *x, const int8_t *w, int32_t depth, int32_t in_off, int32_t acc[4])
{
    const int32_t off2 = edgeq_dup16(in_off);
    const int8_t *w0 = w, *w1 = w + depth, *w2 = w + 2 * depth, *w3 = w + 3 * depth;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i;
    for (i = 0; i + 4 <= depth; i += 4)
    {
        const int32_t xv = edgeq_read_s8x4(x + i);
        const int32_t x02 = edgeq_sxtab16(off2, xv);
        const int32_t x13 = edgeq_sxtab16_ror8(off2, xv);
        int32_t wv = edgeq_read_s8x4(w0 + i);
        a0 = edgeq_smlad(x02, edgeq_sxtb16(wv), a0);
        a0 = edgeq_smlad(x13, edgeq_sxtb16_ror8(wv), a0);
        wv = edgeq_read_s8x4(w1 + i);
        a1 = edgeq_smlad(x02, edgeq_sxtb16(wv), a1);
        a1 = edgeq_smlad(x13, edgeq_sxtb16_ror8(wv), a1);
        wv = edgeq_read_s8x4(w2 + i);
        a2 = edgeq_smlad(x02, edgeq_sxtb16(wv), a2);
        a2 = edgeq_smlad(x13, edgeq_sxtb16_ror8(wv), a2);
        wv = edgeq_read_s8x4(w3 + i);
        a3 = edgeq_smlad(x02, edgeq_sxtb16(wv), a3);
        a3 = edgeq_smlad(x13, edgeq_sxtb16_ror8(wv), a3);
    }
    for (; i < depth; i++)
    {
        const int32_t xo = (int32_t)x[i] + in_off;
        a0 += xo * w0[i];
        a1 += xo * w1[i];
        a2 += xo * w2[i];
        a3 += xo * w3[i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

/*
 * One int8 output of unit q. mode (a constant at each call site, so each copy has no
 * per-output dispatch): 3 = edgeq_requant_bounded (the accumulator provably below 2^29; the
 * output offset in its rounding constant), 0 = the general arm_nn_requantize. full (also a constant): the activation range is all of int8 (no clamp
 * after the SSAT).
 */
static inline int8_t edgeq_fc_out(int32_t acc, int32_t m, int32_t shift, const cmsis_nn_fc_params *p, int32_t mode,
                                  int32_t full)
{
    int32_t v;
    if (mode == 3)
    {
        const int32_t e = -shift;
        const int32_t k = (int32_t)((1u << (e - 1)) + ((uint32_t)p->output_offset << e));
        v = edgeq_requant_bounded(acc, m, k, e);
    }
    else
    {
        v = arm_nn_requantize(acc, m, shift) + p->output_offset;
        full = 0;
    }
    return (int8_t)(full ? v : edgeq_clamp_i32(v, p->activation.min, p->activation.max));
}

/* One batch row, units in blocks of four (the remainder one at a time), requantized by mode. */
static inline void edgeq_fc_row(const cmsis_nn_fc_params *p, const int32_t *mult, const int32_t *shift,
                                int32_t per_channel, const int8_t *in, const int8_t *filter, int32_t depth,
                                const int32_t *bias, int32_t units, int8_t *out, int32_t mode, int32_t full)
{
    int32_t u, j;
    for (u = 0; u + 4 <= units; u += 4)
    {
        int32_t acc[4];
        for (j = 0; j < 4; j++)
        {
            acc[j] = bias != 0 ? bias[u + j] : 0;
        }
        edgeq_fc_dot_1x4(in, filter + u * depth, depth, p->input_offset, acc);
        for (j = 0; j < 4; j++)
        {
            const int32_t q = per_channel ? u + j : 0;
            out[u + j] = edgeq_fc_out(acc[j], mult[q], shift[q], p, mode, full);
        }
    }
    for (; u < units; u++)
    {
        const int32_t q = per_channel ? u : 0;
        const int32_t acc = (bias != 0 ? bias[u] : 0) + edgeq_dot_off_s8(in, filter + u * depth, depth, p->input_offset);
        out[u] = edgeq_fc_out(acc, mult[q], shift[q], p, mode, full);
    }
}

/* filter_offset == 0. The requantization is chosen once per layer: bounded when every
 * accumulator |bias| + depth * 255 * 128 stays below 2^29 and the shifts allow it
 * (edgeq_requant_bounded_ok's conditions), else the general one (rare: a bias near 2^29; one
 * copy fewer keeps the flash down). */
static __attribute__((noinline)) void edgeq_fc_core_dsp(const cmsis_nn_fc_params *p, const int32_t *mult,
                                                        const int32_t *shift, int32_t per_channel, int32_t batches,
                                                        const int8_t *input, const int8_t *filter, int32_t depth,
                                                        const int32_t *bias, int32_t units, int8_t *output)
{
    const int32_t nq = per_channel ? units : 1;
    const int32_t fast = edgeq_requant_fast_ok(mult, shift, nq);
    const int32_t full = p->activation.min <= -128 && p->activation.max >= 127;
    /* (edgeq_requant_bounded_ok's bias test, for a bias of units entries and nq multipliers) */
    const int64_t limit = ((int64_t)1 << 29) - (int64_t)depth * 255 * 128;
    int32_t bounded = fast && limit > 0;
    int32_t b, u;
    for (u = 0; bounded && bias != 0 && u < units; u++)
    {
        bounded = (bias[u] < 0 ? -(int64_t)bias[u] : (int64_t)bias[u]) < limit;
    }
    for (b = 0; b < batches; b++)
    {
        const int8_t *in = input + b * depth;
        int8_t *out = output + b * units;
        if (bounded && full)
        {
            edgeq_fc_row(p, mult, shift, per_channel, in, filter, depth, bias, units, out, 3, 1);
        }
        else if (bounded)
        {
            edgeq_fc_row(p, mult, shift, per_channel, in, filter, depth, bias, units, out, 3, 0);
        }
        else
        {
            edgeq_fc_row(p, mult, shift, per_channel, in, filter, depth, bias, units, out, 0, 0);
        }
    }
}
#endif /* EDGEQ_DOT_DSP */

/* ------------------------------------------------------------------ portable path */

static void edgeq_fc_core(const cmsis_nn_fc_params *p, const int32_t *mult, const int32_t *shift, int32_t per_channel,
                          int32_t batches, const int8_t *input, const int8_t *filter, int32_t depth,
                          const int32_t *bias, int32_t units, int8_t *output)
{
    int32_t b, u, i;
#if defined(EDGEQ_DOT_DSP)
    if (p->filter_offset == 0)
    {
        edgeq_fc_core_dsp(p, mult, shift, per_channel, batches, input, filter, depth, bias, units, output);
        return;
    }
#endif
    for (u = 0; u < units; u++)
    {
        const int8_t *w = filter + u * depth;
        const int32_t q = per_channel ? u : 0;
        int32_t base = bias != 0 ? bias[u] : 0;
        int32_t wsum = 0;
        if (p->filter_offset == 0 && batches > 1)
        {
            /* amortized over the batches: sum(w) once per unit */
            for (i = 0; i < depth; i++)
            {
                wsum += w[i];
            }
            base += p->input_offset * wsum;
        }
        for (b = 0; b < batches; b++)
        {
            const int8_t *in = input + b * depth;
            int32_t acc = base;
            if (p->filter_offset == 0 && batches > 1)
            {
                acc += edgeq_dot_s8(in, w, depth);
            }
            else if (p->filter_offset == 0)
            {
                acc += edgeq_dot_off_s8(in, w, depth, p->input_offset);
            }
            else
            {
                for (i = 0; i < depth; i++)
                {
                    acc += ((int32_t)in[i] + p->input_offset) * ((int32_t)w[i] + p->filter_offset);
                }
            }
            acc = arm_nn_requantize(acc, mult[q], shift[q]);
            acc += p->output_offset;
            output[b * units + u] = (int8_t)edgeq_clamp_i32(acc, p->activation.min, p->activation.max);
        }
    }
}

arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *filter_data,
                                           const cmsis_nn_dims *bias_dims,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data)
{
#if defined(EDGEQ_MVE)
    if (fc_params->filter_offset == 0)
    {
        (void)ctx;
        (void)bias_dims;
        return edgeq_mve_fully_connected_s8(fc_params, &quant_params->multiplier, &quant_params->shift, 0, input_dims, input_data, filter_dims,
                                            filter_data, bias_data, output_dims, output_data);
    }
#endif
    (void)ctx;
    (void)bias_dims;
    edgeq_fc_core(fc_params, &quant_params->multiplier, &quant_params->shift, 0, input_dims->n, input_data,
                  filter_data, filter_dims->n, bias_data, output_dims->c, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_per_channel_s8(const cmsis_nn_context *ctx,
                                                       const cmsis_nn_fc_params *fc_params,
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
#if defined(EDGEQ_MVE)
    if (fc_params->filter_offset == 0)
    {
        (void)ctx;
        (void)bias_dims;
        return edgeq_mve_fully_connected_s8(fc_params, quant_params->multiplier, quant_params->shift, 1, input_dims, input_data, filter_dims,
                                            filter_data, bias_data, output_dims, output_data);
    }
#endif
    (void)ctx;
    (void)bias_dims;
    edgeq_fc_core(fc_params, quant_params->multiplier, quant_params->shift, 1, input_dims->n, input_data,
                  filter_data, filter_dims->n, bias_data, output_dims->c, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}
