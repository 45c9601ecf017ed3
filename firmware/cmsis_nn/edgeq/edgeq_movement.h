/*
 * edgeq -- data-movement operators (STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, UNPACK, TRANSPOSE,
 * GATHER, MIRROR_PAD, PADV2, SPACE_TO_DEPTH, DEPTH_TO_SPACE, TILE, ...). They move or pick
 * elements and never rescale, so one byte mover serves int8 and int16 alike.
 * SPDX-License-Identifier: MIT
 */
#ifndef EDGEQ_MOVEMENT_H
#define EDGEQ_MOVEMENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest rank edgeq_move walks (the generator folds trailing contiguous dims into one block). */
#define EDGEQ_MOVE_MAX_DIMS 8

/* A table entry that marks a padded position: any element whose entries sum below zero is
 * padding. Valid byte offsets stay below 2^27 (128 MiB), so up to 8 marks still fit an int32. */
#define EDGEQ_MOVE_PAD (-(1 << 27))

/* Separable gather over a contiguous output of shape[0..rank-1] blocks:
 *   block(i_0, ..., i_{rank-1}) = input bytes at  table_0[i_0] + ... + table_{rank-1}[i_{rank-1}]
 * where the tables are concatenated in `table` (shape[0] entries, then shape[1], ...), hold
 * byte offsets, and a block is block_bytes long. A negative sum writes block_bytes of padding:
 * the elem_bytes-wide value pad_value (elem_bytes 1 or 2) repeated. 1 <= rank <= 8. */
void edgeq_move(const void *input, const int32_t *shape, int32_t rank, const int32_t *table, int32_t block_bytes,
                int32_t elem_bytes, int32_t pad_value, void *output);

#ifdef __cplusplus
}
#endif

#endif /* EDGEQ_MOVEMENT_H */
