"""4-bit weight storage (``edgeq generate --pack-weights auto``), chosen by the weight values.

A quantized model stays an ordinary int8 TFLite file (unmodified TFLM runs it: the bit-exact
reference). The generator looks at each CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED int8 weight
tensor of a layer with int8 activations:

* **int4**: every value in [-8, 7] → packed nibbles (``ceil(n/2)`` bytes; CMSIS-NN's s4 packing:
  the flattened tensor two elements a byte, the even element in the low nibble) and the
  ``arm_*_s4`` kernels;
* **clustered**: at most 16 distinct values in the tensor (one table) or in each output channel
  (a table per channel) → 4-bit indices in the same packing plus an int8 table of 16 entries per
  tensor or per channel, only when that is smaller than the int8 tensor; the ``edgeq_*_lut_s8``
  kernels decode them on the fly;
* otherwise int8, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PACK_MODES = ("auto", "off")
PRECISIONS = ("int8", "int4", "clustered")
INT4_CODES = np.array([0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1], np.int8)  # code → value


@dataclass
class Packing:
    precision: str  # "int4" or "clustered"
    codes: np.ndarray  # uint8, ceil(n/2) bytes
    table: np.ndarray | None  # int8, 16 per table (clustered only)
    table_stride: int  # 0: one table; 16: one per output channel

    @property
    def nbytes(self) -> int:
        return int(self.codes.size) + (0 if self.table is None else int(self.table.size))


def pack_nibbles(codes: np.ndarray) -> np.ndarray:
    """4-bit codes (flattened) → bytes, element 2i in the low nibble of byte i, 2i+1 in the high one."""
    c = np.asarray(codes, np.uint8).reshape(-1) & 0x0F
    if c.size % 2:
        c = np.concatenate([c, np.zeros(1, np.uint8)])
    return (c[0::2] | (c[1::2] << 4)).astype(np.uint8)


def unpack_nibbles(packed: np.ndarray, n: int) -> np.ndarray:
    """The inverse of ``pack_nibbles``: n codes."""
    p = np.asarray(packed, np.uint8).reshape(-1)
    out = np.empty(p.size * 2, np.uint8)
    out[0::2], out[1::2] = p & 0x0F, p >> 4
    return out[:n]


def _channels_first(w: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def _channel_index(shape, axis: int) -> np.ndarray:
    """The output channel of every element of a tensor of ``shape``, flattened in C order."""
    chans = int(shape[axis])
    return np.broadcast_to(np.arange(chans).reshape([chans if a == axis else 1 for a in range(len(shape))]),
                           shape).reshape(-1)


def choose_packing(values: np.ndarray, channel_axis: int) -> Packing | None:
    """How to store an int8 weight tensor (None: as int8). ``channel_axis``: its output-channel
    axis (conv/FC 0, depthwise 3), which per-channel tables are indexed by."""
    w = np.asarray(values).astype(np.int16)
    n = w.size
    if n == 0:
        return None
    flat = w.reshape(-1)
    if flat.min() >= -8 and flat.max() <= 7:
        return Packing("int4", pack_nibbles((flat & 0x0F).astype(np.uint8)), None, 0)
    packed_bytes = (n + 1) // 2
    uniq = np.unique(flat)
    if uniq.size <= 16 and packed_bytes + 16 < n:
        table = np.zeros(16, np.int8)
        table[:uniq.size] = uniq
        codes = np.searchsorted(uniq, flat).astype(np.uint8)
        return Packing("clustered", pack_nibbles(codes), table, 0)
    if w.ndim == 0:
        return None
    chans = int(w.shape[channel_axis])
    if packed_bytes + 16 * chans >= n:
        return None
    rows = _channels_first(w, channel_axis)
    tables = np.zeros((chans, 16), np.int8)
    uniques = []
    for c in range(chans):
        u = np.unique(rows[c])
        if u.size > 16:
            return None
        tables[c, :u.size] = u
        uniques.append(u)
    # each element's code: its position in its own channel's table
    ch_index = _channel_index(w.shape, channel_axis)
    codes = np.empty(n, np.uint8)
    for c in range(chans):
        sel = ch_index == c
        codes[sel] = np.searchsorted(uniques[c], flat[sel])
    return Packing("clustered", pack_nibbles(codes), tables.reshape(-1), 16)


def decode(p: Packing, shape, channel_axis: int) -> np.ndarray:
    """The int8 values a packing stands for (what the kernels compute with)."""
    n = int(np.prod(shape))
    codes = unpack_nibbles(p.codes, n).astype(np.int64)
    if p.precision == "int4":
        return INT4_CODES[codes].reshape(shape)
    if p.table_stride == 0:
        return p.table[codes].reshape(shape)
    return p.table[_channel_index(shape, channel_axis) * 16 + codes].reshape(shape)


def check_mode(mode: str) -> str:
    from ..errors import InputError

    if mode not in PACK_MODES:
        raise InputError(f"--pack-weights must be one of {', '.join(PACK_MODES)}, not {mode!r}")
    return mode


def check_upstream_kernels(lowered, kernels: str) -> None:
    """Upstream CMSIS-NN's arm_*_s4 kernels want scratch the memory plan does not reserve (edgeq's
    own need none) and are untested here: refuse int4 layers with --kernels cmsis-nn rather than
    build firmware that fails at run time. Clustered layers run edgeq's kernels either way."""
    from ..errors import InputError

    if kernels != "cmsis-nn":
        return
    int4 = [c.comment for c in lowered.calls if (c.args.get("packed") or {}).get("precision") == "int4"]
    if int4:
        raise InputError(f"{len(int4)} layer(s) have int4 weights ({int4[0]}{', ...' if len(int4) > 1 else ''}), "
                         "which --kernels cmsis-nn does not run yet",
                         hint="pass --pack-weights off (stores them as int8, same outputs) or use the edgeq kernels")


# the weight input and its output-channel axis of the ops whose weights can be packed
PACKABLE = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


def layer_weights(graph, op, mode: str = "auto") -> tuple[str, int, int] | None:
    """(precision, stored bytes, int8 bytes) of the weights of a packable op, or None for other ops.
    Packing applies only with int8 activations (the s4 / lut kernels are int8-activation kernels)."""
    axis = PACKABLE.get(op.opcode)
    if axis is None or len(op.inputs) < 2 or op.inputs[1] < 0:
        return None
    w = graph.tensors[op.inputs[1]]
    if w.dtype != "int8" or not w.is_constant:
        return None
    x = graph.tensors[op.inputs[0]]
    n = int(w.size)
    if mode == "off" or x.dtype != "int8" or (w.quant.is_quantized and (w.quant.zero_points != 0).any()):
        return ("int8", n, n)
    p = choose_packing(np.asarray(w.data).reshape(w.shape), axis if len(w.shape) > axis else 0)
    if p is None:
        return ("int8", n, n)
    return (p.precision, p.nbytes, n)
