"""3x3 depthwise layers prepared at generation time for the Helium (MVE) row-buffer kernel.

The Cortex-M55's 3x3 depthwise kernel (firmware/cmsis_nn/edgeq/edgeq_mve_depthwise_rows.c) works
on blocks of eight channels: the nine taps as [tap][8] bytes, and per block eight int32x4 vectors
(the correction bias + input offset x sum of the taps, multiplier, left shift and negative right
shift, each for the even and the odd channels: the VMULLB / VMULLT lane order). Packed at run
time that costs about 2.7 K instructions a call (KWS's one-row bands of 5 pixels: more than the
convolution); edgeq knows all of it when it generates, so it writes the blocks here, 200 bytes
each (EDGEQ_MVE_DW3_RECORD: the 72 weight bytes, then the 32 parameters), and the generated code
hands them to ``edgeq_mve_depthwise3_packed_s8`` on Helium cores. The arithmetic mirrors the
kernel's own preparation (``edgeq_mve_depthwise3_rows_s8``); the tests compare the outputs with
TFLM.
"""

from __future__ import annotations

import numpy as np

#: int32 words per 8-channel block: 72 weight bytes (18 words), 32 parameters
WORDS_PER_BLOCK = 50
#: the kernel's ring of three padded rows of one block lives in a 3072-byte stack buffer
#: (EDGEQ_MVE_DW3_BUF): 3 rows x 8 channels x padded width
MAX_PADDED_WIDTH = 3072 // (3 * 8)


def _padded_width(a: dict) -> int:
    """Input columns one output row of the 3x3 window reads (the ring's row width per block)."""
    return (a["out_w"] - 1) * a["stride_w"] + 3


def one_pass(a: dict) -> bool:
    """Whether every channel block fits the kernel's ring at once (one pass over the rows): then a
    layer run in place can be one call (in_place 1 / 2, see edgeq_mve_depthwise3_packed_s8)
    instead of a call per band (about 1.1 K instructions of set-up each on KWS's one-row bands)."""
    blocks = -(-a["out_c"] // 8)
    return blocks * _padded_width(a) <= MAX_PADDED_WIDTH


def applies(a: dict) -> bool:
    """Whether a lowered DEPTHWISE_CONV_2D (``_conv_common`` values + ch_mult) takes the prepared
    blocks: int8 activations and int8 (not 4-bit) weights, 3x3, dilation 1, depth multiplier 1,
    and a padded row ((out_w - 1) * stride + 3 columns) that fits the kernel's ring."""
    return (not a["s16"] and a["packed"] is None and a["weights"] is not None and a["k_h"] == 3 and a["k_w"] == 3
            and a["dil_h"] == 1 and a["dil_w"] == 1 and a["ch_mult"] == 1 and a["pad_h"] >= 0 and a["pad_w"] >= 0
            and _padded_width(a) <= MAX_PADDED_WIDTH)


def _wrap32(v: np.ndarray) -> np.ndarray:
    """Modulo 2^32 into the int32 range (the kernels and TFLM accumulate modulo 2^32)."""
    return ((np.asarray(v, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int64)


def pack_blocks(weights: np.ndarray, bias: np.ndarray | None, mults, shifts, input_offset: int) -> list[int]:
    """The int32 words of every 8-channel block (a channel count that is not a multiple of 8 gets a
    last block padded with zero weights and parameters; the kernel stores only the real channels).
    weights: the TFLite filter [1, 3, 3, C] int8."""
    w = np.asarray(weights, np.int64).reshape(9, -1)  # tap (row-major), channel
    chans = w.shape[1]
    blocks = -(-chans // 8)
    wpad = np.zeros((9, blocks * 8), np.int64)
    wpad[:, :chans] = w
    b = np.zeros(blocks * 8, np.int64)
    if bias is not None:
        b[:chans] = np.asarray(bias, np.int64).reshape(-1)
    m = np.zeros(blocks * 8, np.int64)
    m[:chans] = np.asarray(mults, np.int64)
    s = np.zeros(blocks * 8, np.int64)
    s[:chans] = np.asarray(shifts, np.int64)
    # the input offset folded over all nine taps (the ring's padding holds the zero point, whose
    # product with a tap is -input_offset * w: the padded taps add nothing, as in TFLM)
    corr = _wrap32(b + input_offset * wpad.sum(axis=0))
    words: list[int] = []
    for blk in range(blocks):
        c = slice(blk * 8, blk * 8 + 8)
        taps = wpad[:, c].astype(np.int8).tobytes()  # [tap][8]
        words += [int(v) for v in np.frombuffer(taps, "<i4")]
        for v in (corr[c], m[c], np.maximum(s[c], 0), np.minimum(s[c], 0)):
            words += [int(x) for x in v[0::2]] + [int(x) for x in v[1::2]]  # even, then odd channels
    return words


def add_blocks(lw, op, a: dict) -> dict | None:
    """Emit the prepared blocks of a lowered depthwise layer into the model's data (``lw``: the
    lowerer) and return {"blocks": symbol, "simple": 0 / 1} (simple: every shift negative, the
    kernel's shorter requantization), or None where they do not apply. The int8 filter, bias and
    multiplier / shift arrays stay in the data: other cores refer to them, and the linker drops
    whichever the core's code does not use."""
    from .lower import DataArray

    if not applies(a):
        return None
    values = {d.symbol: d.values for d in lw.data}
    w = lw.t(op.inputs[1])
    bias = None if a["bias"] is None else np.asarray(values[a["bias"]], np.int64)
    shifts = values[a["shift"]]
    words = pack_blocks(np.asarray(w.data), bias, values[a["mult"]], shifts, a["input_offset"])
    sym = f"{lw.name}_op{op.index}_dw3mve"
    replaced = tuple(x for x in (a["weights"], a["bias"], a["mult"], a["shift"]) if x)
    lw.data.append(DataArray(sym, "int32_t", words, f"{w.name}: 3x3 depthwise blocks of 8 channels for Helium "
                             "(edgeq/codegen/dw_mve.py: taps, folded bias, requantization vectors)",
                             replaces=replaced))
    return {"blocks": sym, "simple": int(all(int(x) < 0 for x in shifts)), "one_pass": one_pass(a)}
