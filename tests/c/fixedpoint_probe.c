/* Test probe: evaluates edgeq's C fixed-point primitives on "op a b c" lines from stdin and
 * prints one result per line, for comparison with edgeq.quantmath (the Python reference). */
#include <stdio.h>
#include <string.h>

#include "edgeq_fixedpoint.h"

int main(void)
{
    char op[16];
    long long a, b, c;
    while (scanf("%15s %lld %lld %lld", op, &a, &b, &c) == 4)
    {
        long long r = 0;
        if (strcmp(op, "srdhm") == 0)
        {
            r = edgeq_srdhm((int32_t)a, (int32_t)b);
        }
        else if (strcmp(op, "rdbpot") == 0)
        {
            r = edgeq_rdbpot((int32_t)a, (int32_t)b);
        }
        else if (strcmp(op, "mbqm") == 0)
        {
            r = edgeq_requantize((int32_t)a, (int32_t)b, (int32_t)c);
        }
        printf("%lld\n", r);
    }
    return 0;
}
