"""3x3 depthwise layers prepared at generation time for the Cortex-M DSP kernel.

The DSP kernel's row loop (firmware/cmsis_nn/src/arm_depthwise_conv_s8.c) works on blocks of four
channels: nine taps sign-extended to int16 pairs, four biases, and per channel the constants of
the bounded requantization. Prepared at run time that costs about 175 instructions per block and
output row (kws: every call is one 5-pixel row); edgeq knows all of it when it generates, so it
writes the blocks here, in the exact layout the kernel reads (edgeq_dw_packed.h: 34 int32 per
block; a block on the bounded requantization stores its taps and biases doubled), and the
generated code hands them to ``edgeq_depthwise_conv_3x3_packed_s8`` on cores
where that kernel runs. The arithmetic mirrors the kernel's own preparation
(``edgeq_dw_block_prepare``) bit for bit; the tests compare the outputs with TFLM.
"""

from __future__ import annotations

import numpy as np

WORDS_PER_BLOCK = 34
#: the bounded requantization needs every accumulator below 2^29: |bias| + 9 taps * 255 * 128
BIAS_LIMIT = (1 << 29) - 9 * 255 * 128
#: the kernel's per-call list of border columns holds at most this many (EDGEQ_DW_MAX_EDGE)
MAX_EDGE_COLUMNS = 8


def _edge_columns(in_w: int, out_w: int, stride_w: int, pad_w: int) -> int:
    """Output columns whose 3x3 window has a tap column outside the input (the kernel's border list)."""
    return sum(1 for ox in range(out_w) if ox * stride_w - pad_w < 0 or ox * stride_w - pad_w + 2 >= in_w)


def applies(a: dict) -> bool:
    """Whether a lowered DEPTHWISE_CONV_2D (``_conv_common`` values + ch_mult) takes the prepared
    blocks: int8 activations and int8 (not 4-bit) weights, 3x3, dilation 1, depth multiplier 1,
    channels a multiple of 4 (the kernel's channel tail reads the int8 filter), and a border the
    kernel's row path lists (paddings wider than the filter take the per-pixel path)."""
    return (not a["s16"] and a["packed"] is None and a["weights"] is not None and a["k_h"] == 3 and a["k_w"] == 3
            and a["dil_h"] == 1 and a["dil_w"] == 1 and a["ch_mult"] == 1 and a["out_c"] % 4 == 0
            and a["pad_h"] <= 2 and a["pad_w"] <= 2
            and _edge_columns(a["in_w"], a["out_w"], a["stride_w"], a["pad_w"]) <= MAX_EDGE_COLUMNS)


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _pair(lo: int, hi: int) -> int:
    """Two int16 lanes in one int32 word (lo in bits 0-15)."""
    return _s32((lo & 0xFFFF) | ((hi & 0xFFFF) << 16))


def pack_blocks(weights: np.ndarray, bias: np.ndarray | None, mults, shifts, output_offset: int) -> list[int]:
    """The int32 words of every 4-channel block. weights: the TFLite filter [1, 3, 3, C] int8."""
    w = np.asarray(weights, np.int64).reshape(9, -1)  # tap (row-major), channel
    chans = w.shape[1]
    if chans % 4:
        raise ValueError(f"{chans} channels: the prepared blocks need a multiple of 4")
    b = np.zeros(chans, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    words: list[int] = []
    for c in range(0, chans, 4):
        ms = [int(mults[c + j]) for j in range(4)]
        ss = [int(shifts[c + j]) for j in range(4)]
        bounded = all(-23 <= s <= -1 and m != -(1 << 31) and -(BIAS_LIMIT - 1) <= int(b[c + j]) <= BIAS_LIMIT - 1
                      for j, (m, s) in enumerate(zip(ms, ss)))
        # bounded blocks: taps and biases doubled, the window sums 2 * acc (what the bounded
        # requantization multiplies; |2 w| <= 256 fits the int16 lanes, |2 acc| < 2^30)
        f = 2 if bounded else 1
        for t in range(9):
            words += [_pair(f * int(w[t, c]), f * int(w[t, c + 2])), _pair(f * int(w[t, c + 1]), f * int(w[t, c + 3]))]
        words += [f * int(v) for v in b[c:c + 4]]
        for m, s in zip(ms, ss):
            if bounded:
                e = -s
                words += [m, _s32((1 << (e - 1)) + (output_offset << e)), e]
            else:
                words += [m, s, 0]
    return words


def add_blocks(lw, op, a: dict) -> str | None:
    """Emit the prepared blocks of a lowered depthwise layer into the model's data (``lw``: the
    lowerer) and return their symbol, or None where they do not apply. The int8 filter, bias and
    multiplier / shift arrays stay in the data too: the generated code refers to them only on
    cores without the DSP kernel, so the linker drops them where the blocks are used."""
    from .lower import DataArray

    if not applies(a):
        return None
    values = {d.symbol: d.values for d in lw.data}
    w = lw.t(op.inputs[1])
    bias = None
    if a["bias"] is not None:
        bias = np.asarray(values[a["bias"]], np.int64)
    words = pack_blocks(np.asarray(w.data), bias, values[a["mult"]], values[a["shift"]], a["output_offset"])
    sym = f"{lw.name}_op{op.index}_dw3x3"
    replaced = tuple(x for x in (a["weights"], a["bias"], a["mult"], a["shift"]) if x)
    lw.data.append(DataArray(sym, "int32_t", words, f"{w.name}: 3x3 depthwise blocks of 4 channels "
                             "(edgeq_dw_packed.h: int16 tap pairs, biases, requantization constants)",
                             replaces=replaced))
    return sym
