/* Test probe for edgeq_convolve_1x1_s8_in_place (edgeq_in_place.h): reads lines
 * "pixels in_c out_c band delta seed in_off" and prints, per line, "ok" when the in-place call on
 * one buffer (output delta bytes from the input: a forward band plan's offset) gives the bytes
 * arm_convolve_1x1_s8_fast gives on separate buffers, else "bad <first differing byte>".
 * Weights, biases, multipliers and shifts are pseudo-random from the seed; every fourth case
 * has a positive shift (off the DSP routes' bounded requantization) and every third a huge bias. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_nnfunctions.h"
#include "edgeq_in_place.h"

static unsigned int state;

static int32_t next(int32_t lo, int32_t hi) /* [lo, hi] */
{
    state = state * 1103515245u + 12345u;
    return lo + (int32_t)((state >> 8) % (unsigned int)(hi - lo + 1));
}

int main(void)
{
    int pixels, in_c, out_c, band, delta, in_off;
    unsigned int seed;
    while (scanf("%d %d %d %d %d %u %d", &pixels, &in_c, &out_c, &band, &delta, &seed, &in_off) == 7)
    {
        const int32_t in_bytes = pixels * in_c, out_bytes = pixels * out_c;
        const int32_t base = delta < 0 ? -delta : 0;
        const int32_t total = base + (in_bytes > delta + out_bytes ? in_bytes : delta + out_bytes);
        int8_t *in = malloc((size_t)in_bytes), *want = malloc((size_t)out_bytes), *buf = malloc((size_t)total);
        int8_t *w = malloc((size_t)(in_c * out_c));
        int32_t *bias = malloc(sizeof(int32_t) * (size_t)out_c), *mult = malloc(sizeof(int32_t) * (size_t)out_c);
        int32_t *shift = malloc(sizeof(int32_t) * (size_t)out_c);
        const cmsis_nn_context ctx = {NULL, 0};
        cmsis_nn_conv_params cp;
        cmsis_nn_per_channel_quant_params qp;
        cmsis_nn_dims in_dims = {1, 0, 1, 0}, f_dims = {0, 1, 1, 0}, b_dims = {1, 1, 1, 0}, out_dims = {1, 0, 1, 0};
        int32_t i;
        state = seed;
        for (i = 0; i < in_bytes; i++)
        {
            in[i] = (int8_t)next(-128, 127);
        }
        for (i = 0; i < in_c * out_c; i++)
        {
            w[i] = (int8_t)next(-127, 127);
        }
        for (i = 0; i < out_c; i++)
        {
            bias[i] = seed % 3 == 0 ? next(-(1 << 30), 1 << 30) : next(-5000, 5000);
            mult[i] = next(1 << 30, 0x7fffffff);
            shift[i] = seed % 4 == 0 && i % 2 ? next(0, 2) : next(-12, -5);
        }
        memset(&cp, 0, sizeof(cp));
        cp.input_offset = in_off;
        cp.output_offset = next(-128, 127);
        cp.stride.w = cp.stride.h = 1;
        cp.dilation.w = cp.dilation.h = 1;
        cp.activation.min = seed % 2 ? -128 : next(-128, 0);
        cp.activation.max = seed % 2 ? 127 : next(0, 127);
        qp.multiplier = mult;
        qp.shift = shift;
        in_dims.h = out_dims.h = pixels;
        in_dims.c = f_dims.c = in_c;
        out_dims.c = f_dims.n = b_dims.c = out_c;
        if (arm_convolve_1x1_s8_fast(&ctx, &cp, &qp, &in_dims, in, &f_dims, w, &b_dims, bias, &out_dims, want) !=
            ARM_CMSIS_NN_SUCCESS)
        {
            printf("error\n");
            return 1;
        }
        memset(buf, 0x5a, (size_t)total);
        memcpy(buf + base, in, (size_t)in_bytes);
        if (edgeq_convolve_1x1_s8_in_place(&cp, &qp, &in_dims, buf + base, w, bias, &out_dims, buf + base + delta,
                                           band) != ARM_CMSIS_NN_SUCCESS)
        {
            printf("error\n");
            return 1;
        }
        for (i = 0; i < out_bytes && buf[base + delta + i] == want[i]; i++)
        {
        }
        if (i == out_bytes)
        {
            printf("ok\n");
        }
        else
        {
            printf("bad %d\n", (int)i);
        }
        free(in);
        free(want);
        free(buf);
        free(w);
        free(bias);
        free(mult);
        free(shift);
    }
    return 0;
}
