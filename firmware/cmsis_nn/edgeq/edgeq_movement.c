/*
 * edgeq -- data-movement byte mover (see edgeq_movement.h).
 * SPDX-License-Identifier: MIT
 */
#include "edgeq_movement.h"

#include <string.h>

static void edgeq_move_fill(uint8_t *out, int32_t block_bytes, int32_t elem_bytes, int32_t pad_value)
{
    if (elem_bytes == 2)
    {
        const int16_t v = (int16_t)pad_value;
        int32_t i;
        for (i = 0; i + 1 < block_bytes; i += 2)
        {
            memcpy(out + i, &v, 2);
        }
    }
    else
    {
        memset(out, (int)(int8_t)pad_value, (size_t)block_bytes);
    }
}

void edgeq_move(const void *input, const int32_t *shape, int32_t rank, const int32_t *table, int32_t block_bytes,
                int32_t elem_bytes, int32_t pad_value, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t *tabs[EDGEQ_MOVE_MAX_DIMS];
    int32_t idx[EDGEQ_MOVE_MAX_DIMS];
    int32_t k;
    const int32_t last = rank - 1;
    const int32_t n_last = shape[last];

    if (rank < 1 || rank > EDGEQ_MOVE_MAX_DIMS)
    {
        return;
    }
    for (k = 0; k < rank; k++)
    {
        tabs[k] = table;
        table += shape[k];
        idx[k] = 0;
        if (shape[k] <= 0)
        {
            return; /* empty output */
        }
    }
    for (;;)
    {
        /* the offset of the outer dims, then one pass over the innermost table */
        int32_t base = 0;
        int32_t i;
        const int32_t *t = tabs[last];
        for (k = 0; k < last; k++)
        {
            base += tabs[k][idx[k]];
        }
        if (block_bytes == 1)
        {
            for (i = 0; i < n_last; i++)
            {
                const int32_t off = base + t[i];
                *out++ = off >= 0 ? in[off] : (uint8_t)pad_value;
            }
        }
        else
        {
            for (i = 0; i < n_last; i++)
            {
                const int32_t off = base + t[i];
                if (off >= 0)
                {
                    memcpy(out, in + off, (size_t)block_bytes);
                }
                else
                {
                    edgeq_move_fill(out, block_bytes, elem_bytes, pad_value);
                }
                out += block_bytes;
            }
        }
        /* odometer over the outer dims */
        for (k = last - 1; k >= 0; k--)
        {
            if (++idx[k] < shape[k])
            {
                break;
            }
            idx[k] = 0;
        }
        if (k < 0)
        {
            return;
        }
    }
}
