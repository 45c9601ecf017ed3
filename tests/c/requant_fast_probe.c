/* Test probe for the DSP kernels' shortcuts in edgeq_fixedpoint.h (compiled with
 * -DEDGEQ_EMULATE_DSP): reads "acc multiplier shift" lines and prints, per line, 1 when
 * edgeq_requant_fast / edgeq_requant_fast_pre give the same int8 as edgeq_requantize for every
 * output offset in [-128, 127] (after SSAT), else 0; when |acc| < 2^29 (what
 * edgeq_requant_bounded_ok guarantees) edgeq_requant_bounded must agree too. */
#include <stdio.h>

#include "edgeq_fixedpoint.h"

int main(void)
{
    long long a, m, s;
    while (scanf("%lld %lld %lld", &a, &m, &s) == 3)
    {
        const int32_t acc = (int32_t)a, mult = (int32_t)m, shift = (int32_t)s;
        int ok = 1, off;
        if (!edgeq_requant_fast_ok(&mult, &shift, 1))
        {
            printf("skip\n");
            continue;
        }
        for (off = -128; off <= 127; off++)
        {
            const int32_t want = edgeq_clamp_i32(edgeq_requantize(acc, mult, shift) + off, -128, 127);
            const int32_t got = edgeq_ssat8(edgeq_requant_fast(acc, mult, shift) + off);
            const int32_t got_pre = edgeq_ssat8(
                edgeq_requant_fast_pre(acc, mult, (int32_t)(0x40000000u >> (31 + shift)), -shift) + off);
            if (got != want || got_pre != want)
            {
                ok = 0;
            }
            if (acc > -(1 << 29) && acc < (1 << 29))
            {
                const edgeq_rq r = edgeq_rq_prepare(mult, shift, off);
                if (edgeq_requant_bounded(acc, r.m, r.k, r.e) != want)
                {
                    ok = 0;
                }
            }
        }
        printf("%d\n", ok);
    }
    return 0;
}
