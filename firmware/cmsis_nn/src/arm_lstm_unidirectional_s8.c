/*
 * edgeq -- arm_lstm_unidirectional_s8: TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM in int8, under the
 * CMSIS-NN API name and signature, computing what the TFLite Micro reference kernel computes
 * (int8 activations and weights, int32 bias, int16 gates in Q3.12 -> Q0.15, int16 cell state of
 * scale 2^cell_scale_power).
 *
 * One time step, per batch row:
 *   gate  = act(sat16(sat16(rq(in_bias + W x)) + sat16(rq(hid_bias + R h))))   (f, i, g, o)
 *   c     = sat16(rq(f * c))              then c = sat16(c + sat16(rq(i * g))), clipped
 *   h     = sat8(rq(o * tanh(c)) + output_offset)
 * The effective biases hold the zero-point terms (offset * row sums), so x and h enter raw.
 * Every call starts from zero hidden and cell state: a fresh sequence, as a stateless Keras LSTM,
 * upstream CMSIS-NN and TFLM's CMSIS-NN build behave.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "arm_nnfunctions.h"
#include "edgeq_fixedpoint.h"

/* sigmoid(i / 24) in Q0.16, i = 0..255, each raised by half the midpoint error of linear
 * interpolation (edgeq.quantmath.sigmoid_s16_table); tanh uses it through tanh(x) = 2 sigmoid(2x) - 1. */
static const uint16_t lstm_sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65534};

/* x scaled to the table's input units: (x * 3 << s) or (x * 3 + round) >> -s, s = left_shift. */
static int32_t lstm_act_input(int32_t x, int32_t left_shift)
{
    if (left_shift >= 0)
    {
        return x * (3 << left_shift);
    }
    return (x * 3 + (1 << (-left_shift - 1))) >> (-left_shift);
}

static int16_t lstm_sigmoid(int32_t x)
{
    const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
    const uint32_t at = ax >> 9;
    uint32_t r = 0x7FFFu << 10;
    if (at < 255u)
    {
        const uint32_t lo = lstm_sigmoid_table[at], hi = lstm_sigmoid_table[at + 1];
        r = (lo << 9) + (ax & 0x1FFu) * (hi - lo);
    }
    r = x >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

static int16_t lstm_tanh(int32_t x)
{
    const uint32_t ax = (uint32_t)(x < 0 ? -x : x);
    const uint32_t at = ax >> 8;
    int32_t r = (int32_t)(0xFFFFu << 8);
    if (at < 255u)
    {
        const uint32_t lo = lstm_sigmoid_table[at], hi = lstm_sigmoid_table[at + 1];
        r = (int32_t)((lo << 8) + (ax & 0xFFu) * (hi - lo));
    }
    r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

static void lstm_activation(int16_t *data, const int16_t *input, int32_t n, int32_t left_shift,
                            arm_nn_activation_type type)
{
    int32_t i;
    for (i = 0; i < n; i++)
    {
        const int32_t x = lstm_act_input(input[i], left_shift);
        data[i] = type == ARM_SIGMOID ? lstm_sigmoid(x) : lstm_tanh(x);
    }
}

/* sat16(requantize(bias + w . x)) of one weight row */
static int32_t lstm_row(const int8_t *x, const int8_t *w, const int32_t *bias, int32_t r, int32_t depth,
                        int32_t multiplier, int32_t shift)
{
    int32_t acc = bias ? bias[r] : 0;
    int32_t d;
    for (d = 0; d < depth; d++)
    {
        acc += (int32_t)w[d] * (int32_t)x[d];
    }
    return edgeq_clamp_i32(edgeq_requantize(acc, multiplier, shift), INT16_MIN, INT16_MAX);
}

/* out[r] = act(sat16(input part + recurrent part)). A zero hidden state (h == NULL) sits at the
 * hidden zero point, so its recurrent part is exactly 0. */
static void lstm_gate(const int8_t *x, const int8_t *h, const cmsis_nn_lstm_gate *gate,
                      const cmsis_nn_lstm_params *p, int16_t *out)
{
    const int8_t *wx = (const int8_t *)gate->input_weights;
    const int8_t *wh = (const int8_t *)gate->hidden_weights;
    const int32_t n = p->hidden_size, depth = p->input_size;
    int32_t r;
    for (r = 0; r < n; r++)
    {
        int32_t v = lstm_row(x, wx + r * depth, (const int32_t *)gate->input_effective_bias, r, depth,
                             gate->input_multiplier, gate->input_shift);
        if (h != NULL)
        {
            v += lstm_row(h, wh + r * n, (const int32_t *)gate->hidden_effective_bias, r, n,
                          gate->hidden_multiplier, gate->hidden_shift);
        }
        out[r] = (int16_t)edgeq_clamp_i32(v, INT16_MIN, INT16_MAX);
    }
    lstm_activation(out, out, n, 0, gate->activation_type);
}

static int16_t lstm_mul16(int32_t a, int32_t b, int32_t multiplier, int32_t shift)
{
    return (int16_t)edgeq_clamp_i32(edgeq_requantize(a * b, multiplier, shift), INT16_MIN, INT16_MAX);
}

/* One time step of one batch row: x [input_size], h_in [hidden] (or NULL) -> h_out [hidden]. */
static void lstm_step(const int8_t *x, const int8_t *h_in, int8_t *h_out, int16_t *cell,
                      const cmsis_nn_lstm_params *p, int16_t *t1, int16_t *t2)
{
    const int32_t n = p->hidden_size;
    int32_t r;

    lstm_gate(x, h_in, &p->forget_gate, p, t1);
    for (r = 0; r < n; r++)
    {
        cell[r] = lstm_mul16(t1[r], cell[r], p->forget_to_cell_multiplier, p->forget_to_cell_shift);
    }
    lstm_gate(x, h_in, &p->input_gate, p, t1);
    lstm_gate(x, h_in, &p->cell_gate, p, t2);
    for (r = 0; r < n; r++)
    {
        const int32_t add = lstm_mul16(t1[r], t2[r], p->input_to_cell_multiplier, p->input_to_cell_shift);
        int32_t c = edgeq_clamp_i32((int32_t)cell[r] + add, INT16_MIN, INT16_MAX);
        if (p->cell_clip > 0)
        {
            c = edgeq_clamp_i32(c, -p->cell_clip, p->cell_clip);
        }
        cell[r] = (int16_t)c;
    }
    lstm_gate(x, h_in, &p->output_gate, p, t1);
    lstm_activation(t2, cell, n, p->cell_scale_power + 12, ARM_TANH);
    for (r = 0; r < n; r++)
    {
        const int32_t v = edgeq_requantize((int32_t)t1[r] * t2[r], p->output_multiplier, p->output_shift) +
                          p->output_offset;
        h_out[r] = (int8_t)edgeq_clamp_i32(v, INT8_MIN, INT8_MAX);
    }
}

arm_cmsis_nn_status arm_lstm_unidirectional_s8(const int8_t *input,
                                               int8_t *output,
                                               const cmsis_nn_lstm_params *params,
                                               cmsis_nn_lstm_context *buffers)
{
    const int32_t batches = params->batch_size, steps = params->time_steps;
    const int32_t in_size = params->input_size, n = params->hidden_size;
    int16_t *t1 = (int16_t *)buffers->temp1;
    int16_t *t2 = (int16_t *)buffers->temp2;
    int16_t *cells = (int16_t *)buffers->cell_state;
    int32_t b, t;

    if (batches <= 0 || steps < 0 || in_size <= 0 || n <= 0 || t1 == NULL || t2 == NULL || cells == NULL)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
    memset(cells, 0, (size_t)batches * (size_t)n * sizeof(int16_t));
    for (b = 0; b < batches; b++)
    {
        const int8_t *h = NULL; /* zero hidden state before the first step */
        int16_t *cell = cells + b * n;
        for (t = 0; t < steps; t++)
        {
            /* time major: [time, batch, size]; batch major: [batch, time, size] */
            const int32_t row = params->time_major ? t * batches + b : b * steps + t;
            int8_t *h_out = output + row * n;
            lstm_step(input + row * in_size, h, h_out, cell, params, t1, t2);
            h = h_out;
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
