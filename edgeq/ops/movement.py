"""Data-movement ops: they move or pick elements and never rescale (STRIDED_SLICE, SLICE, SPLIT,
SPLIT_V, PACK, UNPACK, TRANSPOSE, EXPAND_DIMS, GATHER, GATHER_ND, MIRROR_PAD, PADV2,
SPACE_TO_DEPTH, DEPTH_TO_SPACE, BATCH_TO_SPACE_ND, BROADCAST_TO, REVERSE_V2 and TILE).

Almost all lower to one byte mover, ``edgeq_move`` (firmware/cmsis_nn/edgeq/edgeq_movement.c):
a *separable gather*. Every output position (i_0, ..., i_{r-1}) reads the input at
``table_0[i_0] + ... + table_{r-1}[i_{r-1}]``: one small table per output dimension, computed
here from the op's constant operands (slice bounds, permutation, paddings, indices, block size,
multiples). Trailing dimensions the output copies unchanged fold into one contiguous block
(a memcpy), so a slice of NHWC rows copies whole rows. Padding is a table entry
``EDGEQ_MOVE_PAD``: a position whose entries sum below zero gets the pad value. The same kernel
serves int8 and int16 (it moves bytes), so every op here has an int16 variant.

TRANSPOSE of int8 up to rank 4 calls CMSIS-NN's ``arm_transpose_s8``; PACK reuses
CONCATENATION's kernel; EXPAND_DIMS is an alias (the planner shares the buffer, as RESHAPE).

These ops never requantize in TFLM (they copy bytes, whatever the tensors' quantization says),
so edgeq refuses an op whose input and output quantization differ rather than copy values that
would mean something else.
"""

from __future__ import annotations

import numpy as np

from . import TFLITE, register

#: table entry for a padded position (EDGEQ_MOVE_PAD in edgeq_movement.h)
MOVE_PAD = -(1 << 27)
MAX_DIMS = 8  # EDGEQ_MOVE_MAX_DIMS
_MARK = -(1 << 60)  # pad marker while tables are built (element offsets)


# ------------------------------------------------------------------------------------ helpers

def _same_quant(a, b) -> bool:
    qa, qb = a.quant, b.quant
    if qa.is_quantized != qb.is_quantized:
        return False
    if not qa.is_quantized:
        return True
    return np.float32(qa.scale) == np.float32(qb.scale) and qa.zero_point == qb.zero_point


def _check(lw, op, x, *ys) -> int:
    """Element size of a byte-moving op: int8 or int16 throughout, identical quantization."""
    lw.require(op, x, "int8", "int16")
    for y in ys:
        lw.require(op, y, x.dtype)
        if not _same_quant(x, y):
            raise lw.fail(op, f"input and output quantization differ ({x.name!r}: scale {x.quant.scale:g}, zero "
                              f"point {x.quant.zero_point}; {y.name!r}: scale {y.quant.scale:g}, zero point "
                              f"{y.quant.zero_point}); {op.opcode} copies values without requantizing")
    return x.itemsize


def _const(lw, op, pos: int, what: str) -> np.ndarray:
    if pos >= len(op.inputs) or op.inputs[pos] < 0:
        raise lw.fail(op, f"missing {what} operand")
    t = lw.t(op.inputs[pos])
    if not t.is_constant:
        raise lw.fail(op, f"{what} ({t.name!r}) must be a constant")
    if t.dtype not in ("int32", "int64"):
        raise lw.fail(op, f"{what} ({t.name!r}) is {t.dtype}; expected int32 or int64")
    return np.asarray(t.data).astype(np.int64)


def _strides(shape) -> list[int]:
    st = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        st[k] = st[k + 1] * int(shape[k + 1])
    return st


def _ident(n: int, stride: int) -> np.ndarray:
    return np.arange(int(n), dtype=np.int64) * int(stride)


def _normalize(shape, tables, base: int = 0):
    """Drop size-1 dims and fold trailing contiguous dims into the block: (shape, tables, block
    elements). Table entries are element offsets, ``_MARK`` for padding."""
    ks, kt = [], []
    for n, t in zip(shape, tables):
        t = np.asarray(t, np.int64).reshape(-1)
        if len(t) != int(n):
            raise ValueError(f"table of {len(t)} entries for a dimension of {n}")
        if int(n) == 1 and t[0] >= 0:
            base += int(t[0])
            continue
        ks.append(int(n))
        kt.append(t)
    run = 1
    while ks:
        t, n = kt[-1], ks[-1]
        if (t < 0).any() or not np.array_equal(t, t[0] + np.arange(n, dtype=np.int64) * run):
            break
        base += int(t[0])
        run *= n
        ks.pop()
        kt.pop()
    if not ks:
        ks, kt = [1], [np.zeros(1, np.int64)]
    t0 = kt[0].copy()
    t0[t0 >= 0] += base
    kt[0] = t0
    return ks, kt, run


def _move_args(lw, op, x, y, shape, tables, base=0, out_offset=0, tag="") -> dict:
    """One edgeq_move into output y (at byte out_offset), reading input x."""
    es = x.itemsize
    if x.nbytes >= (1 << 27) or y.nbytes >= (1 << 27):
        raise lw.fail(op, "tensor larger than 128 MiB")
    ks, kt, run = _normalize(shape, tables, base)
    if len(ks) > MAX_DIMS:
        raise lw.fail(op, f"needs a {len(ks)}-D walk; edgeq_move handles up to {MAX_DIMS}")
    flat = np.concatenate(kt)
    flat = np.where(flat >= 0, flat * es, MOVE_PAD)
    sym = lw.int_array(f"{lw.name}_op{op.index}_move{tag}", flat.tolist(),
                       f"{op.opcode} byte offsets per output dim {ks}")
    return dict(output=lw.ref(y.index), out_offset=out_offset, shape=ks, rank=len(ks), table=sym, block=run * es)


def _moves(lw, op, x, moves, pad_value=0):
    return lw._call("move", op, input=lw.ref(x.index), moves=moves, elem=x.itemsize, pad=int(pad_value))


def _axis(axis: int, rank: int, lw, op) -> int:
    a = int(axis) + (rank if axis < 0 else 0)
    if not 0 <= a < rank:
        raise lw.fail(op, f"axis {axis} out of range for rank {rank}")
    return a


def _expect_shape(lw, op, y, shape) -> None:
    if [int(d) for d in y.shape] != [int(d) for d in shape]:
        raise lw.fail(op, f"output {y.name!r} has shape {list(y.shape)}, but the operands give {list(shape)}")


# ------------------------------------------------------------------------------------ slices

def _ss_start(b, n, s, masked):
    if b < 0:
        b += n
    b = min(max(b, 0), n) if s > 0 else min(max(b, -1), n - 1)
    if masked:
        b = 0 if s > 0 else n - 1
    return b


def _ss_end(e, n, s, start, masked, shrink):
    if shrink:
        return start if start >= n else start + 1
    if e < 0:
        e += n
    e = min(max(e, 0), n) if s > 0 else min(max(e, -1), n - 1)
    if masked:
        e = n if s > 0 else -1
    return e


@register("STRIDED_SLICE", "edgeq_move", int16=True, min_inputs=4, const_inputs=(1, 2, 3),
          folded_inputs={1, 2, 3}, code_bytes=300,
          notes="begin/end/shrink masks, negative strides; rank <= 5 (TFLM stops at 4); "
                "no ellipsis/new-axis masks (TFLM ignores them)")
def lower_strided_slice(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    o = op.options
    if o.get("ellipsis_mask", 0) or o.get("new_axis_mask", 0):
        raise lw.fail(op, "ellipsis_mask / new_axis_mask are not supported (TFLM ignores them)")
    if o.get("offset", False):
        raise lw.fail(op, "the 'offset' form of STRIDED_SLICE is not supported (TFLM ignores it)")
    begin, end, strides = (_const(lw, op, i, w).reshape(-1) for i, w in ((1, "begin"), (2, "end"), (3, "strides")))
    rank = len(x.shape)
    if rank > 5:
        raise lw.fail(op, f"rank {rank} > 5")
    if not len(begin) == len(end) == len(strides) == rank:
        raise lw.fail(op, f"begin/end/strides have {len(begin)}/{len(end)}/{len(strides)} entries for rank {rank}")
    bm, em, sm = int(o.get("begin_mask", 0)), int(o.get("end_mask", 0)), int(o.get("shrink_axis_mask", 0))
    st = _strides(x.shape)
    shape, tables, base = [], [], 0
    for ax in range(rank):
        n, s = int(x.shape[ax]), int(strides[ax])
        if s == 0:
            raise lw.fail(op, f"stride 0 on axis {ax}")
        shrink = bool(sm >> ax & 1)
        start = _ss_start(int(begin[ax]), n, s, bool(bm >> ax & 1))
        stop = _ss_end(int(end[ax]), n, s, start, bool(em >> ax & 1), shrink)
        idx = list(range(start, stop, s))
        if shrink:
            if len(idx) != 1:
                raise lw.fail(op, f"shrunk axis {ax} selects {len(idx)} elements")
            base += idx[0] * st[ax]
            continue
        shape.append(len(idx))
        tables.append(np.asarray(idx, np.int64) * st[ax])
    _expect_shape(lw, op, y, shape)
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables, base)])


@register("SLICE", "edgeq_move", int16=True, min_inputs=3, const_inputs=(1, 2), folded_inputs={1, 2},
          code_bytes=300, notes="rank <= 5; size -1 = to the end")
def lower_slice(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    begin, size = _const(lw, op, 1, "begin").reshape(-1), _const(lw, op, 2, "size").reshape(-1)
    rank = len(x.shape)
    if rank > 5 or len(begin) != rank or len(size) != rank:
        raise lw.fail(op, f"begin/size must have one entry per dim (rank {rank} <= 5)")
    st = _strides(x.shape)
    shape, tables = [], []
    for ax in range(rank):
        n, b, s = int(x.shape[ax]), int(begin[ax]), int(size[ax])
        if s == -1:
            s = n - b
        if b < 0 or s < 0 or b + s > n:
            raise lw.fail(op, f"slice [{b}, {b + s}) out of range on axis {ax} (size {n})")
        shape.append(s)
        tables.append((b + np.arange(s, dtype=np.int64)) * st[ax])
    _expect_shape(lw, op, y, shape)
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)])


def _split_moves(lw, op, x, outs, axis, sizes):
    """Each output is the input's [off, off + size) range along axis."""
    st = _strides(x.shape)
    moves, off = [], 0
    for j, (y, sz) in enumerate(zip(outs, sizes)):
        shape = list(x.shape)
        shape[axis] = sz
        _expect_shape(lw, op, y, shape)
        tables = [_ident(n, st[k]) for k, n in enumerate(shape)]
        tables[axis] = (off + np.arange(sz, dtype=np.int64)) * st[axis]
        moves.append(_move_args(lw, op, x, y, shape, tables, tag=f"_{j}"))
        off += sz
    if off != int(x.shape[axis]):
        raise lw.fail(op, f"outputs cover {off} of {x.shape[axis]} elements along axis {axis}")
    return _moves(lw, op, x, moves)


@register("SPLIT", "edgeq_move", int16=True, min_inputs=2, const_inputs=(0,), folded_inputs={0}, code_bytes=300,
          notes="axis constant (input 0); one move per output")
def lower_split(lw, op):
    x = lw.t(op.inputs[1])
    outs = [lw.t(i) for i in op.outputs]
    _check(lw, op, x, *outs)
    axis = _axis(int(_const(lw, op, 0, "axis").reshape(-1)[0]), len(x.shape), lw, op)
    n = len(outs)
    if int(x.shape[axis]) % n:
        raise lw.fail(op, f"{x.shape[axis]} elements do not split in {n}")
    return _split_moves(lw, op, x, outs, axis, [int(x.shape[axis]) // n] * n)


@register("SPLIT_V", "edgeq_move", int16=True, min_inputs=3, const_inputs=(1, 2), folded_inputs={1, 2},
          code_bytes=300, notes="size_splits and axis constant; one move per output")
def lower_split_v(lw, op):
    x = lw.t(op.inputs[0])
    outs = [lw.t(i) for i in op.outputs]
    _check(lw, op, x, *outs)
    axis = _axis(int(_const(lw, op, 2, "axis").reshape(-1)[0]), len(x.shape), lw, op)
    return _split_moves(lw, op, x, outs, axis, [int(y.shape[axis]) if len(y.shape) > axis else -1 for y in outs])


@register("UNPACK", "edgeq_move", int16=True, code_bytes=300, notes="one move per output")
def lower_unpack(lw, op):
    x = lw.t(op.inputs[0])
    outs = [lw.t(i) for i in op.outputs]
    _check(lw, op, x, *outs)
    axis = _axis(int(op.options.get("axis", 0)), len(x.shape), lw, op)
    if len(outs) != int(x.shape[axis]):
        raise lw.fail(op, f"{len(outs)} outputs for {x.shape[axis]} elements along axis {axis}")
    st = _strides(x.shape)
    shape = [int(d) for k, d in enumerate(x.shape) if k != axis]
    tables = [_ident(n, st[k]) for k, n in enumerate(x.shape) if k != axis]
    moves = []
    for j, y in enumerate(outs):
        _expect_shape(lw, op, y, shape)
        moves.append(_move_args(lw, op, x, y, shape, tables, base=j * st[axis], tag=f"_{j}"))
    return _moves(lw, op, x, moves)


@register("PACK", "edgeq_concat_s8 / _s16", int16=True, code_bytes=300,
          notes="CONCATENATION's kernel, one slice of the new axis per input")
def lower_pack(lw, op):
    y = lw.t(op.outputs[0])
    ins = [lw.t(i) for i in op.inputs]
    for t in ins:
        _check(lw, op, t, y)
        if tuple(t.shape) != tuple(ins[0].shape):
            raise lw.fail(op, "inputs of different shapes")
    rank = len(y.shape)
    axis = _axis(int(op.options.get("axis", 0)), rank, lw, op)
    if int(y.shape[axis]) != len(ins):
        raise lw.fail(op, f"{len(ins)} inputs for an axis of {y.shape[axis]}")
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    inner = int(np.prod(y.shape[axis + 1:], dtype=np.int64))
    return lw._call("concat", op, inputs=[lw.ref(t.index) for t in ins], sizes=[1] * len(ins), outer=outer,
                    inner=inner, output=lw.ref(y.index), ty="s16" if y.dtype == "int16" else "s8")


# ------------------------------------------------------------------------------------ permutes

@register("TRANSPOSE", "arm_transpose_s8, edgeq_move (int16, rank 5)", int16=True, min_inputs=2,
          const_inputs=(1,), folded_inputs={1}, code_bytes=300, notes="any permutation up to rank 5")
def lower_transpose(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    perm = [int(p) for p in _const(lw, op, 1, "perm").reshape(-1)]
    rank = len(x.shape)
    if rank > 5 or sorted(perm) != list(range(rank)):
        raise lw.fail(op, f"permutation {perm} is not a permutation of rank {rank} (<= 5)")
    shape = [int(x.shape[p]) for p in perm]
    _expect_shape(lw, op, y, shape)
    if x.dtype == "int8" and rank <= 4:
        pad = [1] * (4 - rank)
        return lw._call("transpose_s8", op, input=lw.ref(x.index), output=lw.ref(y.index), rank=rank, perm=perm,
                        in_dims=[int(d) for d in x.shape] + pad, out_dims=shape + pad)
    st = _strides(x.shape)
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, [_ident(n, st[p]) for n, p in zip(shape, perm)])])


def _lower_expand_dims(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    if x.size != y.size:
        raise lw.fail(op, "input and output sizes differ")
    return lw._alias(op)


register("EXPAND_DIMS", "(alias, or edgeq_copy)", int16=True, alias=True, min_inputs=2, const_inputs=(1,),
         folded_inputs={1}, code_bytes=0)(_lower_expand_dims)


@register("SPACE_TO_DEPTH", "edgeq_move", ranks={0: 4}, out_rank=4, code_bytes=300,
          notes="int8 (the converter has no 16x8 form, TFLM no int16 kernel)")
def lower_space_to_depth(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    bs = int(op.options.get("block_size", 0))
    n, h, w, c = (int(d) for d in x.shape)
    if bs < 1 or h % bs or w % bs:
        raise lw.fail(op, f"block size {bs} does not divide {h}x{w}")
    shape = [n, h // bs, w // bs, c * bs * bs]
    _expect_shape(lw, op, y, shape)
    st = _strides(x.shape)
    oc = np.arange(shape[3], dtype=np.int64)
    dy, dx, ch = oc // (bs * c), (oc // c) % bs, oc % c
    tables = [_ident(n, st[0]), _ident(shape[1], bs * st[1]), _ident(shape[2], bs * st[2]),
              dy * st[1] + dx * st[2] + ch]
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)])


@register("DEPTH_TO_SPACE", "edgeq_move", ranks={0: 4}, out_rank=4, code_bytes=300,
          notes="int8 (the converter has no 16x8 form, TFLM no int16 kernel)")
def lower_depth_to_space(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    bs = int(op.options.get("block_size", 0))
    n, h, w, c = (int(d) for d in x.shape)
    if bs < 1 or c % (bs * bs):
        raise lw.fail(op, f"block size {bs}: {c} channels are not a multiple of {bs * bs}")
    oc = c // (bs * bs)
    shape = [n, h * bs, w * bs, oc]
    _expect_shape(lw, op, y, shape)
    st = _strides(x.shape)
    oh, ow = np.arange(shape[1], dtype=np.int64), np.arange(shape[2], dtype=np.int64)
    tables = [_ident(n, st[0]), (oh // bs) * st[1] + (oh % bs) * bs * oc, (ow // bs) * st[2] + (ow % bs) * oc,
              _ident(oc, 1)]
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)])


@register("REVERSE_V2", "edgeq_move", int16=True, min_inputs=2, const_inputs=(1,), folded_inputs={1},
          code_bytes=300, notes="keras.ops.flip")
def lower_reverse_v2(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    rank = len(x.shape)
    axes = {_axis(int(a), rank, lw, op) for a in _const(lw, op, 1, "axis").reshape(-1)}
    _expect_shape(lw, op, y, x.shape)
    st = _strides(x.shape)
    tables = [(int(n) - 1 - np.arange(int(n), dtype=np.int64)) * st[k] if k in axes else _ident(n, st[k])
              for k, n in enumerate(x.shape)]
    return _moves(lw, op, x, [_move_args(lw, op, x, y, list(x.shape), tables)])


# ------------------------------------------------------------------------------------ repeats

def _broadcast_tables(x, out_shape):
    """Tables that repeat x (numpy broadcasting, or tiling when the out dim is a multiple)."""
    rank = len(out_shape)
    xs = [1] * (rank - len(x.shape)) + [int(d) for d in x.shape]
    st = [0] * (rank - len(x.shape)) + _strides(x.shape)
    return [(np.arange(int(n), dtype=np.int64) % xs[k]) * st[k] for k, n in enumerate(out_shape)]


@register("TILE", "edgeq_move", int16=True, reference=TFLITE, min_inputs=2, const_inputs=(1,), folded_inputs={1},
          code_bytes=300, notes="TFLM has no TILE: held to the TFLite interpreter's reference kernels; "
                                "Keras 3 UpSampling1D/2D (nearest), RepeatVector, keras.ops.repeat/tile")
def lower_tile(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    mult = [int(m) for m in _const(lw, op, 1, "multiples").reshape(-1)]
    if len(mult) != len(x.shape) or min(mult, default=1) < 0:
        raise lw.fail(op, f"multiples {mult} for rank {len(x.shape)}")
    shape = [int(d) * m for d, m in zip(x.shape, mult)]
    _expect_shape(lw, op, y, shape)
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, _broadcast_tables(x, shape))])


@register("BROADCAST_TO", "edgeq_move", int16=True, min_inputs=2, const_inputs=(1,), folded_inputs={1},
          code_bytes=300, notes="rank <= 5")
def lower_broadcast_to(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    shape = [int(d) for d in _const(lw, op, 1, "shape").reshape(-1)]
    if len(shape) > 5 or len(shape) < len(x.shape):
        raise lw.fail(op, f"cannot broadcast {list(x.shape)} to {shape}")
    xs = [1] * (len(shape) - len(x.shape)) + [int(d) for d in x.shape]
    if any(a != b and a != 1 for a, b in zip(xs, shape)):
        raise lw.fail(op, f"cannot broadcast {list(x.shape)} to {shape}")
    _expect_shape(lw, op, y, shape)
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, _broadcast_tables(x, shape))])


# ------------------------------------------------------------------------------------ padding

def _paddings(lw, op, x) -> np.ndarray:
    pads = _const(lw, op, 1, "paddings")
    if pads.shape != (len(x.shape), 2):
        raise lw.fail(op, f"paddings of shape {list(pads.shape)} for rank {len(x.shape)}")
    if (pads < 0).any():
        raise lw.fail(op, "negative padding")
    return pads


@register("PADV2", "edgeq_move", int16=True, min_inputs=3, const_inputs=(1, 2), folded_inputs={1, 2},
          code_bytes=300, notes="constant pad value (its quantization must be the output's, as TFLM checks)")
def lower_padv2(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    pads = _paddings(lw, op, x)
    pad_value = y.quant.zero_point
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        cv = lw.t(op.inputs[2])
        if not cv.is_constant or cv.dtype != x.dtype or cv.size != 1:
            raise lw.fail(op, f"the pad value ({cv.name!r}) must be one constant {x.dtype}")
        if x.dtype == "int8" and not _same_quant(cv, y):
            raise lw.fail(op, "the pad value's quantization differs from the output's (TFLM refuses it)")
        pad_value = int(np.asarray(cv.data).reshape(-1)[0])
    st = _strides(x.shape)
    shape, tables = [], []
    for k, n in enumerate(x.shape):
        before, after = int(pads[k, 0]), int(pads[k, 1])
        j = np.arange(before + int(n) + after, dtype=np.int64) - before
        shape.append(len(j))
        tables.append(np.where((j >= 0) & (j < int(n)), j * st[k], _MARK))
    _expect_shape(lw, op, y, shape)
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)], pad_value=pad_value)


def _mirror_index(i: int, left: int, n: int, offset: int) -> int:
    """TFLite's MIRROR_PAD index map (offset 1 = REFLECT, 0 = SYMMETRIC)."""
    if i < left:
        orig = left + offset - 1
        return orig - min(i, orig - offset)
    i -= left
    if i >= n:
        i -= n
        orig = n - (1 + offset)
        return orig - min(i, orig)
    return i


@register("MIRROR_PAD", "edgeq_move", int16=True, min_inputs=2, const_inputs=(1,), folded_inputs={1},
          code_bytes=300, notes="REFLECT / SYMMETRIC; int16: TFLM has int8 only, held to the TFLite interpreter")
def lower_mirror_pad(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    pads = _paddings(lw, op, x)
    mode = op.options.get("mode", "REFLECT")
    offset = 1 if mode == "REFLECT" else 0
    st = _strides(x.shape)
    shape, tables = [], []
    for k, n in enumerate(x.shape):
        left, right, n = int(pads[k, 0]), int(pads[k, 1]), int(n)
        if left > n - offset or right > n - offset:
            raise lw.fail(op, f"{mode} padding ({left}, {right}) larger than {'the size - 1' if offset else 'the size'}"
                              f" ({n}) on axis {k}")
        idx = [_mirror_index(i, left, n, offset) for i in range(left + n + right)]
        shape.append(len(idx))
        tables.append(np.asarray(idx, np.int64) * st[k])
    _expect_shape(lw, op, y, shape)
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)])


# ------------------------------------------------------------------------------------ gathers

@register("GATHER", "edgeq_move", int16=True, min_inputs=2, const_inputs=(1,), folded_inputs={1}, code_bytes=300,
          notes="constant indices (int32/int64), batch_dims 0; TFLM takes int8 data and int32 indices only: "
                "int16 and int64 indices are held to the TFLite interpreter")
def lower_gather(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    ti = lw.t(op.inputs[1])
    if not ti.is_constant:
        raise lw.fail(op, f"indices ({ti.name!r}) computed at run time are not supported; only constant indices")
    idx = _const(lw, op, 1, "indices").reshape(-1)
    if int(op.options.get("batch_dims", 0)) != 0:
        raise lw.fail(op, "batch_dims != 0 is not supported")
    rank = len(x.shape)
    axis = _axis(int(op.options.get("axis", 0)), rank, lw, op)
    n = int(x.shape[axis])
    if ((idx < 0) | (idx >= n)).any():
        raise lw.fail(op, f"index out of range [0, {n})")
    _expect_shape(lw, op, y, list(x.shape[:axis]) + list(ti.shape) + list(x.shape[axis + 1:]))
    st = _strides(x.shape)
    shape = list(x.shape[:axis]) + [len(idx)] + list(x.shape[axis + 1:])
    tables = [_ident(d, st[k]) for k, d in enumerate(x.shape[:axis])] + [idx * st[axis]] + \
             [_ident(d, st[axis + 1 + k]) for k, d in enumerate(x.shape[axis + 1:])]
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)])


@register("GATHER_ND", "edgeq_move", int16=True, min_inputs=2, const_inputs=(1,), folded_inputs={1},
          code_bytes=300, notes="constant indices; int16 held to the TFLite interpreter (TFLM has int8 only)")
def lower_gather_nd(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    idx = _const(lw, op, 1, "indices")
    if idx.ndim < 1 or idx.shape[-1] > len(x.shape):
        raise lw.fail(op, f"indices of shape {list(idx.shape)} for rank {len(x.shape)}")
    k = int(idx.shape[-1])
    flat = idx.reshape(-1, k)
    lim = np.asarray(x.shape[:k], np.int64)
    if ((flat < 0) | (flat >= lim)).any():
        raise lw.fail(op, "index out of range")
    st = _strides(x.shape)
    _expect_shape(lw, op, y, list(idx.shape[:-1]) + list(x.shape[k:]))
    shape = [len(flat)] + [int(d) for d in x.shape[k:]]
    tables = [flat @ np.asarray(st[:k], np.int64)] + [_ident(d, st[k + j]) for j, d in enumerate(x.shape[k:])]
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)])


# ------------------------------------------------------------------------------------ batch <-> space

@register("BATCH_TO_SPACE_ND", "edgeq_move", int16=True, min_inputs=3, const_inputs=(1, 2), folded_inputs={1, 2},
          code_bytes=300, notes="3-D (NHC) or 4-D NHWC; a dilated convolution with a dynamic batch")
def lower_batch_to_space_nd(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    block = [int(b) for b in _const(lw, op, 1, "block_shape").reshape(-1)]
    crops = _const(lw, op, 2, "crops").reshape(-1, 2)
    rank = len(x.shape)
    if rank not in (3, 4) or len(block) != rank - 2 or crops.shape[0] != rank - 2 or min(block) < 1:
        raise lw.fail(op, f"needs a 3-D or 4-D input with {rank - 2} block sizes and crops")
    if rank == 3:
        block, crops = block + [1], np.vstack([crops, [[0, 0]]])
    ins = [int(d) for d in x.shape] + ([1] if rank == 3 else [])
    bi, hi, wi, c = ins
    bh, bw = block
    if bi % (bh * bw) or (crops < 0).any():
        raise lw.fail(op, f"batch {bi} is not a multiple of the block {bh}x{bw}, or negative crops")
    bo = bi // (bh * bw)
    ho, wo = hi * bh - int(crops[0].sum()), wi * bw - int(crops[1].sum())
    shape = [bo, ho, wo, c]
    _expect_shape(lw, op, y, shape if rank == 4 else [bo, ho, c])
    st = _strides(ins)
    h = np.arange(ho, dtype=np.int64) + int(crops[0, 0])
    w = np.arange(wo, dtype=np.int64) + int(crops[1, 0])
    tables = [_ident(bo, st[0]), (h % bh) * bw * bo * st[0] + (h // bh) * st[1],
              (w % bw) * bo * st[0] + (w // bw) * st[2], _ident(c, 1)]
    return _moves(lw, op, x, [_move_args(lw, op, x, y, shape, tables)])


@register("SPACE_TO_BATCH_ND", "edgeq_move", int16=True, reference=TFLITE, min_inputs=3, const_inputs=(1, 2),
          folded_inputs={1, 2}, code_bytes=300,
          notes="3-D (NHC) or 4-D NHWC; pads with the output zero point. Held to TFLite: TFLM's pad value "
                "is uninitialized memory (seen: 0 in a fresh arena, -96 after other models)")
def lower_space_to_batch_nd(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    _check(lw, op, x, y)
    block = [int(b) for b in _const(lw, op, 1, "block_shape").reshape(-1)]
    pads = _const(lw, op, 2, "paddings").reshape(-1, 2)
    rank = len(x.shape)
    if rank not in (3, 4) or len(block) != rank - 2 or pads.shape[0] != rank - 2 or min(block) < 1:
        raise lw.fail(op, f"needs a 3-D or 4-D input with {rank - 2} block sizes and paddings")
    if (pads < 0).any():
        raise lw.fail(op, "negative padding")
    # TFLM's SPACE_TO_BATCH_ND never sets its pad value (SpaceToBatchParams.output_offset): it pads
    # with whatever its arena held. TFLite pads with the output zero point (real 0), as here.
    if rank == 3:
        block, pads = block + [1], np.vstack([pads, [[0, 0]]])
    ins = [int(d) for d in x.shape] + ([1] if rank == 3 else [])
    b, h, w, c = ins
    bh, bw = block
    ph, pw = h + int(pads[0].sum()), w + int(pads[1].sum())
    if ph % bh or pw % bw:
        raise lw.fail(op, f"padded size {ph}x{pw} is not a multiple of the block {bh}x{bw}")
    oh, ow = ph // bh, pw // bw
    _expect_shape(lw, op, y, [b * bh * bw, oh, ow, c] if rank == 4 else [b * bh * bw, oh, c])
    st = _strides(ins)
    moves = []
    for sh in range(bh):
        for sw in range(bw):
            r = np.arange(oh, dtype=np.int64) * bh + sh - int(pads[0, 0])
            q = np.arange(ow, dtype=np.int64) * bw + sw - int(pads[1, 0])
            tables = [_ident(b, st[0]), np.where((r >= 0) & (r < h), r * st[1], _MARK),
                      np.where((q >= 0) & (q < w), q * st[2], _MARK), _ident(c, 1)]
            k = sh * bw + sw
            moves.append(_move_args(lw, op, x, y, [b, oh, ow, c], tables, out_offset=k * b * oh * ow * c * x.itemsize,
                                    tag=f"_{k}"))
    return _moves(lw, op, x, moves, pad_value=y.quant.zero_point)
