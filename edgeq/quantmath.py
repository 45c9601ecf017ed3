"""Quantization arithmetic, exactly as TensorFlow Lite Micro prepares its int8 kernels.

Everything the code generator bakes into C constants is computed here, in the same order of
floating-point operations as the reference runtime (float32 scales widened to double at the
same points), so that the generated code is bit-exact with the TFLM interpreter.

Integer helpers (``srdhm``, ``rdbpot``, ``multiply_by_quantized_multiplier``) mirror the C
kernels in ``firmware/cmsis_nn`` and serve as the Python reference in tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -32768, 32767
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# ------------------------------------------------------------------------------ fixed point

def round_half_away(x: float) -> int:
    """std::round: nearest integer, ties away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(m: float) -> tuple[int, int]:
    """Real multiplier → (q31 multiplier, shift) with m ≈ multiplier · 2^(shift − 31).

    frexp, round half away, renormalise when rounding reaches 2^31, flush when shift < −31.
    """
    m = float(m)
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if q_fixed > INT32_MAX:
        raise ValueError(f"multiplier {m} out of range")
    return int(q_fixed), int(shift)


def quantize_multiplier_greater_than_one(m: float) -> tuple[int, int]:
    q, shift = quantize_multiplier(m)
    if shift < 0:
        raise ValueError(f"multiplier {m} is below one")
    return q, shift


def _wrap32(x: int) -> int:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a: int, b: int) -> int:
    """Saturating rounding doubling high multiply (int32 × int32 → high 32 bits, rounded)."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = abs(v) >> 31  # division truncating toward zero
    return q if v >= 0 else -q


def rdbpot(x: int, e: int) -> int:
    """Rounding divide by 2^e, ties away from zero."""
    mask = (1 << e) - 1
    rem = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding)."""
    left = max(shift, 0)
    right = max(-shift, 0)
    return rdbpot(srdhm(_wrap32(x << left), multiplier), right)


# ------------------------------------------------------------------------------ shapes

def out_size(padding: str, in_size: int, k: int, stride: int, dilation: int = 1) -> int:
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    if padding == "VALID":
        return (in_size + stride - eff) // stride
    raise ValueError(f"unknown padding {padding!r}")


def padding_before(in_size: int, k: int, stride: int, dilation: int, out: int) -> int:
    """Top/left padding (TFLM ComputePaddingWithOffset); the extra odd pixel goes bottom/right."""
    eff = (k - 1) * dilation + 1
    total = max(0, (out - 1) * stride + eff - in_size)
    return total // 2


# ------------------------------------------------------------------------------ activations

def _quantize_f(f: float, scale: float, zp: int) -> int:
    q = np.float32(f) / np.float32(scale)  # float / float, as TFLM does
    return int(zp) + round_half_away(float(q))


def _int_range(dtype: str) -> tuple[int, int]:
    return (INT16_MIN, INT16_MAX) if dtype == "int16" else (INT8_MIN, INT8_MAX)


def activation_range(act: str, scale: float, zp: int, qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for a fused activation on the output tensor."""
    act = act or "NONE"
    if act == "NONE":
        return qmin, qmax
    if act == "RELU":
        return max(qmin, _quantize_f(0.0, scale, zp)), qmax
    if act == "RELU6":
        return max(qmin, _quantize_f(0.0, scale, zp)), min(qmax, _quantize_f(6.0, scale, zp))
    if act == "RELU_N1_TO_1":
        return max(qmin, _quantize_f(-1.0, scale, zp)), min(qmax, _quantize_f(1.0, scale, zp))
    raise ValueError(f"unsupported fused activation {act}")


# ------------------------------------------------------------------------------ per-op parameters

def conv_multipliers(in_scale: float, w_scales, out_scale: float, channels: int) -> tuple[list[int], list[int]]:
    """Per-channel (or per-tensor broadcast) multipliers/shifts for CONV/DEPTHWISE/FC.

    effective = (double)in_scale * (double)w_scale[c] / (double)out_scale.
    """
    w_scales = np.asarray(w_scales, np.float32).reshape(-1)
    mults, shifts = [], []
    for c in range(channels):
        ws = float(w_scales[c if w_scales.size > 1 else 0])
        eff = float(np.float32(in_scale)) * ws / float(np.float32(out_scale))
        m, s = quantize_multiplier(eff)
        mults.append(m)
        shifts.append(s)
    return mults, shifts


@dataclass(frozen=True)
class AddParams:
    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def add_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int, act: str = "NONE",
               bits: str = "int8") -> AddParams:
    """TFLM's general-scale ADD; int16 outputs shift the inputs left by 15 instead of 20 so that
    the 16-bit values keep 32-bit headroom."""
    left_shift = 15 if bits == "int16" else 20
    twice_max = 2 * float(max(np.float32(s1), np.float32(s2)))
    r1 = float(np.float32(s1)) / twice_max
    r2 = float(np.float32(s2)) / twice_max
    ro = twice_max / ((1 << left_shift) * float(np.float32(s_out)))
    m1, sh1 = quantize_multiplier(r1)
    m2, sh2 = quantize_multiplier(r2)
    mo, sho = quantize_multiplier(ro)
    lo, hi = activation_range(act, s_out, zp_out, *_int_range(bits))
    return AddParams(-int(zp1), -int(zp2), int(zp_out), left_shift, m1, sh1, m2, sh2, mo, sho, lo, hi)


@dataclass(frozen=True)
class MulParams:
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def mul_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int, act: str = "NONE",
               bits: str = "int8") -> MulParams:
    real = float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out))
    m, s = quantize_multiplier(real)
    lo, hi = activation_range(act, s_out, zp_out, *_int_range(bits))
    return MulParams(-int(zp1), -int(zp2), int(zp_out), m, s, lo, hi)


def input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius: the largest |input| whose rescaled value fits in the Q format."""
    max_rescaled = 1.0 * ((1 << integer_bits) - 1) * (1 << (total_signed_bits - integer_bits)) / (1 << left_shift)
    return int(math.floor(max_rescaled))


@dataclass(frozen=True)
class SoftmaxParams:
    multiplier: int
    shift: int
    diff_min: int


def softmax_params(beta: float, in_scale: float) -> SoftmaxParams:
    """int8 SOFTMAX: input rescaled to Q5.26 (PreprocessSoftmaxScaling + CalculateInputRadius)."""
    integer_bits = 5
    real = min(float(np.float32(beta)) * float(np.float32(in_scale)) * (1 << (31 - integer_bits)),
               float((1 << 31) - 1))
    m, s = quantize_multiplier_greater_than_one(real)
    diff_min = int(-1.0 * input_radius(integer_bits, s))
    return SoftmaxParams(m, s, diff_min)


def softmax_s16_params(beta: float, in_scale: float) -> tuple[int, int]:
    """int16 SOFTMAX: (multiplier, shift) scaling input differences so that [-65535, 0] spans
    [-10, 0], the exp table's domain (TFLM's CalculateSoftmaxParams for int16)."""
    return quantize_multiplier(float(np.float32(in_scale)) * float(np.float32(beta)) / (10.0 / 65535.0))


def _lut_s16(func, input_min: float, input_max: float) -> list[int]:
    """A 513-entry int16 interpolation table of func over [input_min, input_max], output range
    [-1, 1] in Q0.15: 512 samples, each biased by half its midpoint interpolation error, plus
    one end point for the last slope. Every step is float32 arithmetic, as TFLM builds its
    tables at Prepare time (so the values match its interpreter bit for bit)."""
    f = np.float32
    lo, hi = f(input_min), f(input_max)
    steps = 512
    step = f((hi - lo) / f(steps))
    half = f(step / f(2))
    inv = f(f(65536) / f(2))  # 2^16 codes over the output range [-1, 1]

    def q(v):  # round(v · inv), half away from zero, in float32
        return f(round_half_away(float(f(v * inv))))

    def clamp(v):
        return int(min(max(float(v), -32768.0), 32767.0))

    lut = []
    for i in range(steps):
        x = f(lo + f(f(i) * step))
        val, mid, nxt = func(x), func(f(x + half)), func(f(lo + f(f(i + 1) * step)))
        interp = f(round_half_away(float(f(f(f(nxt * inv) + q(val)) / f(2)))))
        bias = f(round_half_away(float(f(f(interp - q(mid)) / f(2)))))
        lut.append(clamp(f(q(val) - bias)))
    lut.append(clamp(q(func(hi))))
    return lut


@lru_cache(maxsize=None)
def softmax_s16_luts() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The int16 SOFTMAX tables: exp(x) on [-10, 0] and 1/(1+x) on [0, 1] (model independent).
    exp is evaluated in float64 and rounded once to float32: a correctly rounded expf."""
    f = np.float32
    exp_lut = _lut_s16(lambda x: f(math.exp(float(x))), -10.0, 0.0)
    recip_lut = _lut_s16(lambda x: f(f(1) / f(f(1) + x)), 0.0, 1.0)
    return tuple(exp_lut), tuple(recip_lut)


def logistic_s16_params(in_scale: float) -> tuple[int, int]:
    """int16 LOGISTIC: (multiplier, shift) with (x · multiplier + round) >> shift the input in
    units of 1/(3 · 4096), so that ±2^17 spans ±10.7, the sigmoid table's range (TFLite's
    LOGISTIC Prepare for int16: a power-of-two scale of 2^-12 multiplies by 3; any other scale
    doubles the multiplier scale · 3 · 4096 until it exceeds 2^14 - 1/2, counting the shift)."""
    f = np.float32
    scale = f(in_scale)
    log2 = f(f(math.log(float(scale))) * f(1.0 / math.log(2.0)))
    rounded = round_half_away(float(log2))
    if abs(float(f(log2 - f(rounded)))) < 1e-3 and 12 + rounded == 0:
        return 3, 0
    multiplier, shift = float(scale) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


@lru_cache(maxsize=None)
def sigmoid_s16_table() -> tuple[int, ...]:
    """The int16 LOGISTIC table: sigmoid(i/24), i = 0..255, in Q0.16 (saturated at 65535). Each
    entry is raised by half the error linear interpolation makes at the middle of the interval
    to its right, which halves the worst-case error of the interpolated curve (sigmoid is concave
    there, so chords lie below it). Matches TFLM's table on every int16 input (tests)."""
    def sig(x: float) -> float:
        return 65536.0 / (1.0 + math.exp(-x))

    h = 1.0 / 24.0
    out = []
    for i in range(256):
        x = i * h
        mid_error = sig(x + h / 2) - (sig(x) + sig(x + h)) / 2
        out.append(min(round_half_away(sig(x) + mid_error / 2), 65535))
    # TFLite's table ends at 65535 (the rule gives 65534): invisible to LOGISTIC's interpolation
    # at 1/512 resolution, one code at the top of int16 TANH's (1/256), which shares the table
    out[-1] = 65535
    return tuple(out)


@dataclass(frozen=True)
class LogisticParams:
    input_zp: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


def logistic_params(in_scale: float, in_zp: int) -> LogisticParams:
    """int8 LOGISTIC: input rescaled to Q4.27 (frexp + round, no renormalisation, like TFLM)."""
    integer_bits = 4
    real = float(np.float32(in_scale)) * float(1 << (31 - integer_bits))
    q, shift = math.frexp(real)
    mult = round_half_away(q * (1 << 31))
    if mult > INT32_MAX:  # TFLM would overflow here; keep the value representable
        mult //= 2
        shift += 1
    return LogisticParams(int(in_zp), input_radius(integer_bits, shift, 31), int(mult), int(shift))


def requantize_params(in_scale: float, out_scale: float) -> tuple[int, int]:
    """QUANTIZE between integer types: effective = (double)in_scale / (double)out_scale."""
    return quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))


def mean_params(in_scale: float, out_scale: float, count: int) -> tuple[int, int]:
    """int8 MEAN (QuantizedMeanOrSum): in/out multiplier with the 1/count factor folded in.

    shift_n = floor(log2(count)) clamped to <= 32 and <= 31 + shift;
    multiplier' = (multiplier << shift_n) // count, shift' = shift - shift_n.
    """
    m, s = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    shift_n = min(int(count).bit_length() - 1, 32, 31 + s)
    shift_n = max(shift_n, 0)
    m2 = (m << shift_n) // int(count)
    return int(m2), int(s - shift_n)
