"""Activations TFLite Micro has no integer kernel for: EXP (int8 and int16) and RELU_N1_TO_1
(int8). Their bytes are held to the TFLite interpreter's kernels (``reference=TFLITE``), which
edgeq reproduces here in Python; the C kernels only read tables.

TFLite facts this follows (checked against the interpreter by tests/test_ops_exp_relu1.py):

- EXP int8: a 256-entry table built at Prepare in float32 (``LUTPopulate<int8_t>``): dequantize,
  ``expf``, times 1/output scale, round half away, plus the output zero point, converted to int32,
  clamped (exp overflowing float32 saturates to 127).
- EXP int16 (zero points 0): a 513-entry interpolation table over the input range
  (``LUTPopulate<int16_t>``: 512 segments in float32, each anchor biased by half its midpoint
  error) read with ``LUTLookup``: ``lut[256 + (v >> 7)]`` plus the slope times ``v & 127``,
  rounded; the slope is an int16, so it wraps where neighbouring anchors are 65535 apart (where
  ``expf`` overflows: an anchor of inf - inf is NaN, which converts to 0). The reference's bytes.
- RELU_N1_TO_1 int8 (``QuantizedReluX(-1, 1)``): the input requantized by the float32 quotient of
  the scales, plus the output zero point, clamped to [zp + round(-1 / s), zp + round(1 / s)] of the
  output (float32, rounded half away) within the int8 range. TFLite has no int16 kernel for it.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .. import quantmath as qm
from . import TFLITE, register

_F = np.float32


def _expf(x) -> np.float32:
    """expf, taken as the correctly rounded float32 of exp (inf where it overflows)."""
    try:
        return _F(math.exp(float(x)))
    except OverflowError:
        return _F(np.inf)


def _round_f(v: np.float32) -> np.float32:
    """TfLiteRound on a float32 (half away from zero); non-finite values pass through."""
    if not np.isfinite(v):
        return v
    return _F(qm.round_half_away(float(v)))


def _saturate_s8(v: np.float32) -> int:
    """The rescaled value clamped to int8; values beyond any integer range (exp overflowing
    float32 to inf) saturate too, as the interpreter's bytes show."""
    return int(min(max(float(v), -128.0), 127.0))


def exp_table_s8(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    """int8 EXP: output code for each input code -128..127 (TFLite's LUTPopulate<int8_t>)."""
    inv = _F(_F(1.0) / _F(out_scale))
    out = []
    for q in range(-128, 128):
        d = _F(_F(in_scale) * _F(q - in_zp))
        with np.errstate(over="ignore", invalid="ignore"):
            r = _round_f(_F(_expf(d) * inv))
            out.append(_saturate_s8(_F(r + _F(out_zp))))
    return out


def lut_populate_s16(fn, in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    """TFLite's LUTPopulate<int16_t> (float32): 513 anchors over the input's int16 range."""
    s_in, s_out = _F(in_scale), _F(out_scale)
    imin, imax = _F(s_in * _F(-32768 - in_zp)), _F(s_in * _F(32767 - in_zp))
    omin, omax = _F(s_out * _F(-32768 - out_zp)), _F(s_out * _F(32767 - out_zp))
    step = _F(_F(imax - imin) / _F(512))
    half = _F(step / _F(2))
    inv = _F(_F(65536) / _F(omax - omin))

    def clamp16(v: np.float32) -> int:
        if np.isnan(v):
            return 0  # NaN converts to INT32_MIN, whose low 16 bits are 0
        return int(float(min(max(float(v), -32768.0), 32767.0)))

    lut = []
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(512):
            x = _F(imin + _F(_F(i) * step))
            val, mid, nxt = fn(x), fn(_F(x + half)), fn(_F(imin + _F(_F(i + 1) * step)))
            sample = _round_f(_F(val * inv))
            interp = _round_f(_F(_F(_F(nxt * inv) + sample) / _F(2)))
            bias = _round_f(_F(_F(interp - _round_f(_F(mid * inv))) / _F(2)))
            lut.append(clamp16(_F(sample - bias)))
        lut.append(clamp16(_round_f(_F(fn(imax) * inv))))
    return lut


def lut_lookup_s16(v: int, lut: list[int]) -> int:
    """TFLite's LUTLookup(int16_t): interpolation between anchors 256 + (v >> 7) and the next.
    The slope is an int16 (wraps between anchors 65535 apart), the sum is truncated to int16."""
    i, off = 256 + (v >> 7), v & 0x7F
    slope = _wrap16(lut[i + 1] - lut[i])
    return _wrap16(lut[i] + ((slope * off + 64) >> 7))


def _wrap16(x: int) -> int:
    return ((x + 32768) & 0xFFFF) - 32768


def exp_lut_s16(in_scale: float, out_scale: float) -> list[int]:
    return lut_populate_s16(_expf, in_scale, 0, out_scale, 0)


def relu_n1_to_1_params(in_scale: float, out_scale: float) -> tuple[int, int]:
    """The requantization: TFLite's ReluPrepare divides the float32 scales in float32."""
    return qm.quantize_multiplier(float(_F(_F(in_scale) / _F(out_scale))))


def relu_n1_to_1_bounds(out_scale: float, out_zp: int) -> tuple[int, int]:
    lo = out_zp + qm.round_half_away(float(_F(_F(-1.0) / _F(out_scale))))
    hi = out_zp + qm.round_half_away(float(_F(_F(1.0) / _F(out_scale))))
    return max(-128, lo), min(127, hi)


def relu_n1_to_1_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    m, s = relu_n1_to_1_params(in_scale, out_scale)
    lo, hi = relu_n1_to_1_bounds(out_scale, out_zp)
    return [min(max(out_zp + qm.multiply_by_quantized_multiplier(q - in_zp, m, s), lo), hi)
            for q in range(-128, 128)]


# ------------------------------------------------------------------------------ rows

def _lut_s8(lw, op, values: list[int], what: str):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    data = bytes(v & 0xFF for v in values)
    sym = lw.model_table(f"lut_{hashlib.sha256(data).hexdigest()[:12]}", "int8_t", values,
                         f"int8 {what}: output code for input code -128..127")
    return lw._call("lut_s8", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size, table=sym)


@register("EXP", "edgeq_lut_s8 / edgeq_lut_s16", int16=True, reference=TFLITE, code_bytes=150,
          notes="TFLM: float only; int8 table, int16 513-entry interpolation table (zero points 0)")
def lower_exp(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    if lw.kernel_type(op, x, y) == "s16":
        lut = exp_lut_s16(x.quant.scale, y.quant.scale)
        data = np.asarray(lut, np.int16).tobytes()
        sym = lw.model_table(f"lut16_{hashlib.sha256(data).hexdigest()[:12]}", "int16_t", lut,
                             "int16 EXP: 513 interpolation anchors over the input range")
        return lw._call("lut_s16", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size, table=sym)
    return _lut_s8(lw, op, exp_table_s8(float(x.quant.scale), int(x.quant.zero_point),
                                        float(y.quant.scale), int(y.quant.zero_point)), "EXP")


@register("RELU_N1_TO_1", "edgeq_lut_s8", reference=TFLITE, code_bytes=100,
          notes="int8 only (TFLite has no int16 kernel; TFLM none at all)")
def lower_relu_n1_to_1(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    if x.dtype == "int16" or y.dtype == "int16":
        raise lw.fail(op, "int16 RELU_N1_TO_1 is not supported (TFLite has no int16 kernel for it either)")
    lw.kernel_type(op, x, y)
    return _lut_s8(lw, op, relu_n1_to_1_table(float(x.quant.scale), int(x.quant.zero_point),
                                              float(y.quant.scale), int(y.quant.zero_point)), "RELU_N1_TO_1")
