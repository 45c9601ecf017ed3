"""Unary activations: TANH, LEAKY_RELU, HARD_SWISH, RELU, RELU6, ELU, RSQRT (elementwise), PRELU
(with a constant, broadcast alpha), LOG_SOFTMAX and L2_NORMALIZATION (row-wise).

int8 elementwise ops run as a 256-entry lookup table (``edgeq_lut_s8``): an int8 input has 256
values, so the table *is* the op. edgeq computes each table here by running TFLite Micro's integer
arithmetic for that op (its Prepare parameters, then its Eval on every input code) in exact Python
integers — gemmlowp's fixed-point tanh, the 16-bit hard-swish pipeline, the two-slope leaky-relu
requantization, the Newton inverse square root — or, for ELU, TFLM's own float32 table build. One
load per element on the device, 256 bytes of flash per distinct table (identical tables are
emitted once). The int16 kernels compute directly (``edgeq_activations.c``): TANH by the sigmoid
table interpolation LOGISTIC uses (the same 256-entry table, shared), LEAKY_RELU / RELU by
requantization, RELU6 by clamping. PRELU, LOG_SOFTMAX and L2_NORMALIZATION have kernels of their own.

TFLM facts this follows (checked against the interpreter by tests/test_ops_activations.py):
- RELU and LEAKY_RELU ratios (in/out scale, in scale * alpha / out scale) are taken in double
  from the float32 scales: the interpreter matches that on every code, and a float32 quotient
  misses it by one code on exact ties. A negative alpha negates the requantized value.
- The int8 TANH kernel writes codes of 1/128 (zp 0), whatever the output tensor says; int16 TANH
  needs an output scale of 2^-15. Its sigmoid table is LOGISTIC's (shared, emitted once).
- RELU6 clamps the input codes to [zp, quantized 6] of the *input* and ignores the output's
  quantization (the converter gives RELU6 an output scale different from its input's; TFLM's
  bytes are what they are, edgeq reproduces them).
- RSQRT rejects inputs below the zero point (Invoke fails); edgeq maps them to the maximum.
- HARD_SWISH, ELU, LOG_SOFTMAX, L2_NORMALIZATION and RSQRT have int8 kernels only. EXP (float
  only in TFLM) and RELU_N1_TO_1 (no TFLM kernel) are held to the TFLite interpreter:
  ``activations_tflite.py``.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .. import quantmath as qm
from . import register

_F = np.float32
INT32_MAX, INT32_MIN = qm.INT32_MAX, qm.INT32_MIN


# ------------------------------------------------------------------------------ fixed point (Python)

def _w(x: int) -> int:
    """Wrap to int32 (two's complement), as the C additions do."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _sat_shl(x: int, e: int) -> int:
    """x * 2^e saturated to int32 (e >= 0)."""
    if e == 0:
        return x
    thr = (1 << (31 - e)) - 1
    if x > thr:
        return INT32_MAX
    if x < -thr:
        return INT32_MIN
    return _w(x << e)


def _pot(x: int, e: int) -> int:
    """Multiply by 2^e: saturating left shift (e > 0) or rounding right shift (e < 0)."""
    return _sat_shl(x, e) if e > 0 else (qm.rdbpot(x, -e) if e < 0 else x)


def _mul(a: int, b: int) -> int:
    return qm.srdhm(a, b)


def _exp_quarter(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8."""
    c = 1895147668  # exp(-1/8)
    third = 715827883
    x = _w(a + (1 << 28))
    x2 = _mul(x, x)
    x3 = _mul(x2, x)
    x4 = _mul(x2, x2)
    poly = qm.rdbpot(_w(_mul(_w(qm.rdbpot(x4, 2) + x3), third) + x2), 1)
    return _w(c + _mul(c, _w(x + poly)))


_EXP_NEG_POT = {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308, 2: 39332535, 3: 720401, 4: 242}


def exp_on_negative_values(a: int, int_bits: int) -> int:
    """exp(a), a <= 0 in Q(int_bits).(31 - int_bits), result Q0.31 (int_bits <= 5)."""
    frac = 31 - int_bits
    quarter = 1 << (frac - 2)
    r = _w((a & (quarter - 1)) - quarter)
    result = _exp_quarter(_pot(r, int_bits))
    rem = _w(r - a)
    for k in range(-2, 5):
        if int_bits > k and rem & (1 << (frac + k)):
            result = _mul(result, _EXP_NEG_POT[k])
    return INT32_MAX if a == 0 else result


def _one_minus_x_over_one_plus_x(a: int) -> int:
    """(1 - a) / (1 + a) for a in [0, 1), Q0.31: Newton-Raphson on the half denominator."""
    half_den = _half_sum(a, INT32_MAX)
    x = _w(1515870810 + _mul(half_den, -1010580540))  # 48/17 - 32/17 * d, Q2.29
    for _ in range(3):
        t = _w((1 << 29) - _mul(half_den, x))
        x = _w(x + _sat_shl(_mul(x, t), 2))
    return _sat_shl(_w(x - (1 << 29)), 2)


def _trunc_div(n: int, d: int) -> int:
    """n / d truncated toward zero (C integer division), d > 0."""
    q = abs(n) // d
    return q if n >= 0 else -q


def _half_sum(a: int, b: int) -> int:
    """(a + b) / 2 rounded half away from zero (gemmlowp RoundingHalfSum, in 64 bits)."""
    s = a + b
    return _trunc_div(s + (1 if s >= 0 else -1), 2)


def tanh_q(a: int) -> int:
    """tanh of a Q4.27 value, Q0.31 (gemmlowp's tanh: exp(-2|a|) through (1 - e) / (1 + e))."""
    if a == 0:
        return 0
    n = a if a < 0 else -a
    t = _one_minus_x_over_one_plus_x(exp_on_negative_values(n, 5))  # the raw read as Q5.26: 2n
    return _w(-t) if a < 0 else t


def inv_sqrt_multiplier(x: int) -> tuple[int, int]:
    """1/sqrt(x) as (Q0.31 multiplier, left shift), TFLite's GetInvSqrtQuantizedMultiplierExp with
    reverse shift -1: five Newton steps in Q3.28 on x normalised to [2^27, 2^29)."""
    if x <= 1:
        return INT32_MAX, 0
    shift = 11
    while x >= (1 << 29):
        x //= 4
        shift += 1
    clz = 32 - x.bit_length()
    pairs = (clz - 1) // 2 - 1
    shift -= pairs
    x <<= 2 * pairs
    fx = x >> 1
    half = qm.rdbpot(fx, 1)
    three_halves = (1 << 28) + (1 << 27)
    y = 1 << 28
    for _ in range(5):
        y3 = _sat_shl(_mul(_mul(y, y), y), 6)
        y = _sat_shl(_w(_mul(three_halves, y) - _mul(half, y3)), 3)
    y = _mul(y, 1518500250)  # sqrt(2)/2
    if shift < 0:
        y = _w(y << -shift)
        shift = 0
    return y, -shift


def _mbqm(x: int, m: int, s: int) -> int:
    return qm.multiply_by_quantized_multiplier(x, m, s)


def _codes(dtype: str = "int8"):
    return range(-128, 128) if dtype == "int8" else range(-32768, 32768)


# ------------------------------------------------------------------------------ int8 tables

def tanh_table(in_scale: float, in_zp: int) -> list[int]:
    """int8 TANH (output 1/128, zp 0): input to Q4.27 as LOGISTIC does (frexp, no renormalising)."""
    p = qm.logistic_params(in_scale, in_zp)
    out = []
    for q in _codes():
        x = q - in_zp
        if x <= -p.input_range_radius:
            out.append(-128)
        elif x >= p.input_range_radius:
            out.append(127)
        else:
            t = tanh_q(_mbqm(x, p.input_multiplier, p.input_left_shift))
            out.append(min(max(qm.rdbpot(t, 24), -128), 127))
    return out


def leaky_relu_params(in_scale: float, out_scale: float, alpha: float) -> tuple[int, int, int, int]:
    """(identity multiplier, shift, alpha multiplier, shift): in_scale / out_scale and
    in_scale * alpha / out_scale from the float32 values, in double. (TFLM's source has the
    products in float32; the interpreter edgeq is held to matches the double form on every int16
    code and not the float32 one, e.g. alpha 1.9: tests/test_ops_activations.py.)"""
    a = float(_F(in_scale)) * float(_F(alpha)) / float(_F(out_scale))
    mi, si = qm.quantize_multiplier(float(_F(in_scale)) / float(_F(out_scale)))
    ma, sa = qm.quantize_multiplier(a)
    return mi, si, ma, sa


def two_slope(q: int, in_zp: int, out_zp: int, mp: int, sp: int, mn: int, sn: int, lo: int, hi: int) -> int:
    """LEAKY_RELU's arithmetic (RELU's with mn = mp): x >= 0 by the identity multiplier, x < 0 by
    |alpha multiplier| (negated for a negative alpha), plus the output zero point, clamped."""
    x = q - in_zp
    if x >= 0:
        v = _mbqm(x, mp, sp)
    else:
        v = _mbqm(x, abs(mn), sn)
        v = -v if mn < 0 else v
    return min(max(out_zp + v, lo), hi)


def hard_swish_params(in_scale: float, out_scale: float) -> tuple[int, int, int, int]:
    """(output multiplier int16, exponent, reluish multiplier int16, exponent): float32 ratios of
    the input scale / 128 to the output scale and to 3/32768, then Q15 multipliers."""
    hires = _F(_F(1.0 / 128.0) * _F(in_scale))
    om, oe = qm.quantize_multiplier(float(hires / _F(out_scale)))
    rm, re_ = qm.quantize_multiplier(float(hires / _F(3.0 / 32768.0)))
    return _downscale16(om), oe, _downscale16(rm), re_


def _downscale16(m: int) -> int:
    if m >= INT32_MAX - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


def _s16(x: int) -> int:
    return ((x + 32768) & 0xFFFF) - 32768


def _srdhm16(a: int, b: int) -> int:
    if a == b == -32768:
        return 32767
    ab = a * b
    return _s16(_trunc_div(ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14)), 1 << 15))


def _sdhm16(a: int, b: int) -> int:
    """Doubling high multiply truncating toward zero (no rounding)."""
    if a == b == -32768:
        return 32767
    return _s16(_trunc_div(a * b, 1 << 15))


def _sat_shl16(x: int, e: int) -> int:
    return min(max(x * (1 << e), -32768), 32767)


def hard_swish_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    om, oe, rm, re_ = hard_swish_params(in_scale, out_scale)
    if oe > 0:
        raise ValueError("HARD_SWISH output multiplier above one (TFLM rejects it)")
    out = []
    for q in _codes():
        x = _s16(q - in_zp)
        hires = _s16(x * 128)
        pre = _srdhm16(hires, om)
        r = hires
        if re_ > 0:
            r = _sat_shl16(r, re_ - 1)
        r = _srdhm16(r, rm)
        if re_ > 0:
            r = _sat_shl16(r, 1)
        if re_ < 0:
            r = qm.rdbpot(r, -re_)
        r = (r + (1 << 15)) >> 1
        y = qm.rdbpot(_sdhm16(r, pre), -oe)
        y = _s16(y + out_zp)
        out.append(min(max(y, -128), 127))
    return out


def relu_params(in_scale: float, out_scale: float) -> tuple[int, int]:
    """RELU's requantization: the ratio of the float32 scales taken in double (checked against
    the TFLM interpreter: a float32 quotient differs from it by one code on exact ties)."""
    return qm.quantize_multiplier(float(_F(in_scale)) / float(_F(out_scale)))


def relu_table(in_scale, in_zp, out_scale, out_zp) -> list[int]:
    m, s = relu_params(in_scale, out_scale)
    lo = max(-128, out_zp)
    return [two_slope(q, in_zp, out_zp, m, s, m, s, lo, 127) for q in _codes()]


def relu6_bounds(in_scale: float, in_zp: int, bits: str = "int8") -> tuple[int, int]:
    """RELU6 as TFLM runs it: clamp the input codes to [zp, round(6 / scale) + zp] (input scale)."""
    lo, hi = (-128, 127) if bits == "int8" else (-32768, 32767)
    six = qm.round_half_away(float(_F(6.0) / _F(in_scale))) + int(in_zp)
    return int(in_zp), min(max(six, lo), hi)


def elu_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> list[int]:
    """TFLM's ELU table, built in float32 at Prepare: dequantize, exp(x) - 1 below zero, times
    1/out_scale, round half away, add the zero point, clamp. expf is taken as the correctly
    rounded float32 of exp."""
    inv = _F(_F(1.0) / _F(out_scale))
    out = []
    for q in _codes():
        d = _F(_F(in_scale) * _F(q - in_zp))
        t = _F(_F(math.exp(float(d))) - _F(1.0)) if d < 0 else d
        r = qm.round_half_away(float(_F(t * inv)))
        v = int(_F(_F(r) + _F(out_zp)))
        out.append(min(max(v, -128), 127))
    return out


def rsqrt_params(in_scale: float, out_scale: float) -> tuple[int, int]:
    """1 / (sqrtf(in_scale) * out_scale) (float32 product, then double)."""
    return qm.quantize_multiplier(1.0 / float(_F(np.sqrt(_F(in_scale)) * _F(out_scale))))


def rsqrt_table(in_scale, in_zp, out_scale, out_zp) -> list[int]:
    m, s = rsqrt_params(in_scale, out_scale)
    out = []
    for q in _codes():
        v = q - in_zp
        if v <= 0:  # 0: TFLM's maximum; negative: TFLM fails the Invoke (edgeq: the maximum)
            out.append(127)
            continue
        im, ish = inv_sqrt_multiplier(v)
        data = _mbqm(1, im, ish + 20)
        out.append(min(max(_mbqm(data, m, s - 20) + out_zp, -128), 127))
    return out


# ------------------------------------------------------------------------------ lowering helpers

def _io(lw, op):
    return lw.t(op.inputs[0]), lw.t(op.outputs[0])


def _lut(lw, op, values: list[int], what: str):
    x, y = _io(lw, op)
    data = bytes(v & 0xFF for v in values)
    sym = lw.model_table(f"lut_{hashlib.sha256(data).hexdigest()[:12]}", "int8_t", values,
                         f"int8 {what}: output code for input code -128..127")
    return lw._call("lut_s8", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size, table=sym)


def _q(t):
    return float(t.quant.scale), int(t.quant.zero_point)


def _fixed_output(lw, op, y, scale: float, zp: int) -> None:
    if int(y.quant.zero_point) != zp or abs(float(_F(y.quant.scale)) - scale) > scale * 1e-6:
        raise lw.fail(op, f"int8 {op.opcode} needs output scale {scale:g} and zero point {zp} "
                          f"(has {y.quant.scale:g}, {y.quant.zero_point})")


def _checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 (float32 log, rounded): (is a power of two, log2)."""
    lg = _F(_F(math.log(float(_F(x)))) * _F(1.0 / math.log(2.0)))
    r = qm.round_half_away(float(lg))
    return abs(float(_F(lg - _F(r)))) < 1e-3, r


def tanh_s16_params(in_scale: float) -> tuple[int, int]:
    """int16 TANH (multiplier, shift): a power-of-two input scale 2^-12 or 2^-11 multiplies by
    3 << (12 + log2); any other scale doubles scale * 3 * 4096 while <= 16383.5 (as LOGISTIC)."""
    pot, lg = _checked_log2(in_scale)
    ls = 12 + lg
    if pot and ls in (0, 1):
        return 3 << ls, 0
    mult, shift = float(in_scale) * 4096.0 * 3.0, 0
    while mult <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        mult *= 2.0
    return int(mult), shift


# ------------------------------------------------------------------------------ rows

@register("TANH", "edgeq_lut_s8 / edgeq_tanh_s16", int16=True, code_bytes=200,
          notes="int8: output 1/128 zp 0; int16: output 2^-15, sigmoid-table interpolation")
def lower_tanh(lw, op):
    x, y = _io(lw, op)
    if lw.kernel_type(op, x, y) == "s16":
        pot, lg = _checked_log2(y.quant.scale)
        if not pot or lg != -15:
            raise lw.fail(op, f"int16 TANH needs output scale 2^-15, not {y.quant.scale:g}")
        mult, shift = tanh_s16_params(x.quant.scale)
        table = lw.model_table("sigmoid_table", "uint16_t", qm.sigmoid_s16_table(),
                               "int16 LOGISTIC: sigmoid(i/24), Q0.16")
        return lw._call("tanh_s16", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size,
                        mult=mult, shift=shift, table=table)
    # like TFLM, the int8 kernel writes codes of 1/128 whatever the output tensor says
    return _lut(lw, op, tanh_table(*_q(x)), "TANH")


def _two_slope_s16(lw, op, x, y, mp, sp, mn, sn, lo, hi):
    return lw._call("two_slope_s16", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size,
                    input_zp=x.quant.zero_point, output_zp=y.quant.zero_point, mp=mp, sp=sp,
                    mn=abs(mn), sn=sn, negate=int(mn < 0), lo=lo, hi=hi)


@register("LEAKY_RELU", "edgeq_lut_s8 / edgeq_two_slope_s16", int16=True, code_bytes=250)
def lower_leaky_relu(lw, op):
    x, y = _io(lw, op)
    alpha = float(op.options.get("alpha", 0.2))
    mi, si, ma, sa = leaky_relu_params(x.quant.scale, y.quant.scale, alpha)
    if ma == INT32_MIN:
        raise lw.fail(op, f"alpha {alpha} gives a multiplier of -2^31 (TFLM overflows)")
    if lw.kernel_type(op, x, y) == "s16":
        return _two_slope_s16(lw, op, x, y, mi, si, ma, sa, qm.INT16_MIN, qm.INT16_MAX)
    return _lut(lw, op, [two_slope(q, x.quant.zero_point, y.quant.zero_point, mi, si, ma, sa, -128, 127)
                         for q in _codes()], f"LEAKY_RELU alpha={alpha:g}")


@register("RELU", "edgeq_lut_s8 / edgeq_two_slope_s16", int16=True, code_bytes=250)
def lower_relu(lw, op):
    x, y = _io(lw, op)
    if lw.kernel_type(op, x, y) == "s16":
        m, s = relu_params(x.quant.scale, y.quant.scale)
        return _two_slope_s16(lw, op, x, y, m, s, m, s, max(qm.INT16_MIN, y.quant.zero_point), qm.INT16_MAX)
    return _lut(lw, op, relu_table(*_q(x), *_q(y)), "RELU")


@register("RELU6", "edgeq_lut_s8 / edgeq_clamp_s16", int16=True, code_bytes=150,
          notes="as TFLM: clamps the input codes to the input's [0, 6], output quantization ignored")
def lower_relu6(lw, op):
    x, y = _io(lw, op)
    if lw.kernel_type(op, x, y) == "s16":
        lo, hi = relu6_bounds(*_q(x), bits="int16")
        return lw._call("clamp_s16", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size, lo=lo, hi=hi)
    lo, hi = relu6_bounds(*_q(x))
    return _lut(lw, op, [min(max(q, lo), hi) for q in _codes()], "RELU6")


@register("HARD_SWISH", "edgeq_lut_s8", code_bytes=100, notes="int8 only (as TFLM)")
def lower_hard_swish(lw, op):
    x, y = _io(lw, op)
    lw.kernel_type(op, x, y)
    try:
        values = hard_swish_table(*_q(x), *_q(y))
    except ValueError as e:
        raise lw.fail(op, str(e)) from e
    return _lut(lw, op, values, "HARD_SWISH")


@register("ELU", "edgeq_lut_s8", code_bytes=100, notes="int8 only (as TFLM); the converter keeps ELU in float")
def lower_elu(lw, op):
    x, y = _io(lw, op)
    lw.kernel_type(op, x, y)
    return _lut(lw, op, elu_table(*_q(x), *_q(y)), "ELU")


@register("RSQRT", "edgeq_lut_s8", code_bytes=100,
          notes="int8 only (as TFLM); inputs below the zero point give the maximum (TFLM fails)")
def lower_rsqrt(lw, op):
    x, y = _io(lw, op)
    lw.kernel_type(op, x, y)
    return _lut(lw, op, rsqrt_table(*_q(x), *_q(y)), "RSQRT")


@register("PRELU", "edgeq_prelu_s8 / _s16", int16=True, min_inputs=2, const_inputs=(1,), code_bytes=500,
          notes="alpha a constant int8 tensor, broadcast (rank <= 4)")
def lower_prelu(lw, op):
    x, a, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, x, y)
    lw.require(op, a, "int8")
    if len(x.shape) > 4 or len(a.shape) > 4 or len(y.shape) > 4:
        raise lw.fail(op, "PRELU supports ranks up to 4")
    m1, s1 = qm.quantize_multiplier(float(_F(x.quant.scale)) / float(_F(y.quant.scale)))
    m2, s2 = qm.quantize_multiplier(float(_F(x.quant.scale)) * float(_F(a.quant.scale)) / float(_F(y.quant.scale)))
    return lw._call("prelu", op, input=lw.ref(x.index), alpha=lw.ref(a.index), output=lw.ref(y.index), ty=ty,
                    in_shape=lw.shape4(x.shape), alpha_shape=lw.shape4(a.shape), out_shape=lw.shape4(y.shape),
                    input_offset=-x.quant.zero_point, alpha_offset=-a.quant.zero_point,
                    output_offset=y.quant.zero_point, m1=m1, s1=s1, m2=m2, s2=s2)


def log_softmax_params(in_scale: float) -> tuple[int, int, int, int, int]:
    """(multiplier, left shift, reverse divisor, reverse shift (<= 0), diff_min) as TFLM's
    PreprocessLogSoftmaxScalingExp with beta 1 and 5 integer bits."""
    real = min(float(_F(in_scale)) * float(1 << 26), float((1 << 31) - 1))
    m, ls = qm.quantize_multiplier_greater_than_one(real)
    rev = float(1 << (31 - ls)) / float(m)
    rm, rs = qm.quantize_multiplier(rev)
    if rs > 0:
        raise ValueError("reverse scaling divisor above one")
    return m, ls, rm, rs, -qm.input_radius(5, ls)


@register("LOG_SOFTMAX", "edgeq_log_softmax_s8", code_bytes=900,
          notes="int8 only (as TFLM); output scale 16/256, zero point 127")
def lower_log_softmax(lw, op):
    x, y = _io(lw, op)
    lw.kernel_type(op, x, y)
    _fixed_output(lw, op, y, 16.0 / 256.0, 127)
    try:
        m, ls, rm, rs, diff_min = log_softmax_params(x.quant.scale)
    except ValueError as e:
        raise lw.fail(op, f"input scale {x.quant.scale:g}: {e}") from e
    depth = int(x.shape[-1])
    return lw._call("log_softmax", op, input=lw.ref(x.index), output=lw.ref(y.index), rows=x.size // depth,
                    depth=depth, mult=m, shift=ls, rev_mult=rm, rev_shift=rs, diff_min=diff_min)


@register("L2_NORMALIZATION", "edgeq_l2_normalize_s8", code_bytes=500,
          notes="int8 only (as TFLM), last axis; output 1/128 zp 0")
def lower_l2_normalization(lw, op):
    x, y = _io(lw, op)
    lw.kernel_type(op, x, y)
    if op.options.get("fused_activation_function", "NONE") not in ("NONE", 0):
        raise lw.fail(op, "fused activation on L2_NORMALIZATION is not supported (nor by TFLM)")
    if len(x.shape) > 4:
        raise lw.fail(op, "L2_NORMALIZATION supports ranks up to 4")
    depth = int(x.shape[-1])
    return lw._call("l2norm", op, input=lw.ref(x.index), output=lw.ref(y.index), rows=x.size // depth,
                    depth=depth, input_zp=x.quant.zero_point)
