"""Make int4 / clustered test models from an ordinary int8 .tflite: overwrite the weight bytes of
CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED in place (same length; scales and biases stay), so
the file is still an int8 model that unmodified TFLM runs: the bit-exact reference for the
4-bit-weight kernels of `edgeq generate --pack-weights auto`.

Modes per layer: "int4" (round(q / 18), clipped to [-8, 7]), "tensor" (at most 16 distinct values
in the tensor: q snapped to multiples of 17), "channel" (at most 16 per output channel but more in
the tensor: the channel's multiples of 17 shifted by a channel-dependent amount), "int8" (unchanged).
"""

from __future__ import annotations

import numpy as np

PACKABLE_AXES = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


def patched_values(q: np.ndarray, mode: str, axis: int) -> np.ndarray:
    q = np.asarray(q, np.int32)
    if mode == "int4":
        return np.clip(np.rint(q / 18.0), -8, 7).astype(np.int8)
    if mode == "tensor":
        return np.clip(np.rint(q / 17.0) * 17, -119, 119).astype(np.int8)
    if mode == "channel":
        shape = [1] * q.ndim
        shape[axis] = q.shape[axis]
        shift = (np.arange(q.shape[axis]) % 7).reshape(shape)  # another value set per channel
        return np.clip(np.rint(q / 17.0) * 17 - 51, -119, 68).astype(np.int32).__add__(shift).astype(np.int8)
    if mode == "int8":
        return q.astype(np.int8)
    raise ValueError(mode)


def patch_weights(tflite: bytes, modes) -> bytes:
    """``modes``: one mode for every packable layer, or a list used round-robin over them (in
    operator order). Weight buffers are found by their bytes (each must occur once in the file)."""
    from edgeq.graph import load_graph

    g = load_graph(bytes(tflite))
    buf = bytearray(tflite)
    modes = [modes] if isinstance(modes, str) else list(modes)
    k = 0
    done = set()
    for op in g.operators:
        axis = PACKABLE_AXES.get(op.opcode)
        if axis is None or op.inputs[1] in done:
            continue
        w = g.tensors[op.inputs[1]]
        if w.dtype != "int8" or g.tensors[op.inputs[0]].dtype != "int8":
            continue
        done.add(op.inputs[1])
        mode = modes[k % len(modes)]
        k += 1
        old = np.asarray(w.data, np.int8).reshape(w.shape)
        raw = old.tobytes()
        pos = buf.find(raw)
        assert pos >= 0 and buf.find(raw, pos + 1) < 0, f"weights of {w.name} not found once in the file"
        new = patched_values(old, mode, axis).tobytes()
        buf[pos:pos + len(raw)] = new
    return bytes(buf)
