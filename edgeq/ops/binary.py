"""Binary elementwise ops, reductions and batch matmul: SUB, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE,
SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN, BATCH_MATMUL.

Their parameters are computed here the way TFLite Micro's Prepare computes them (each op has its
own order of float32 / double operations, noted per function); the kernels are in
``firmware/cmsis_nn/edgeq/edgeq_binary.c`` and, for the CMSIS-NN API functions, in
``firmware/cmsis_nn/src/arm_maximum_minimum_s8.c`` and ``arm_batch_matmul_s8.c`` / ``_s16.c``.

Limits (TFLM's): REDUCE_MAX / REDUCE_MIN / ARG_MAX / ARG_MIN have int8 kernels only; ARG_* write
int32 indices (TFLM rejects an int64 output); DIV is int8 only, and refused where TFLM's own
shift arithmetic would be undefined.
"""

from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import register

_F = np.float32


# ------------------------------------------------------------------------------ parameter math

def sub_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int, act: str = "NONE",
               bits: str = "int8") -> qm.AddParams:
    """SUB: ADD's parameters (left shift 20, or 15 for int16; input ratios s_i / (2 · max scale),
    output ratio 2 · max / (2^shift · s_out), all in double). The kernel subtracts the rescaled
    second input instead of adding it. Checked against the TFLM interpreter edgeq is held to: the
    tflite-micro sources of mid-2026 compute these ratios in float32 (``sub_common.cc``), which
    differs by 1 LSB on some int16 inputs; the installed interpreter agrees with double."""
    return qm.add_params(s1, zp1, s2, zp2, s_out, zp_out, act, bits=bits)


def squared_difference_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
                              bits: str = "int8") -> qm.AddParams:
    """SQUARED_DIFFERENCE (TFLM ``PrepareQuantized``): inputs shifted left by 7 (int8) or 0
    (int16) and rescaled by s_i / (2 · max scale) in double; the squared difference rescaled by
    (2 · max)² / (2^(2·shift) · s_out), the denominator a float32 product, by a general multiplier."""
    left_shift = 0 if bits == "int16" else 7
    twice_max = 2.0 * float(max(_F(s1), _F(s2)))
    r1 = float(_F(s1)) / twice_max
    r2 = float(_F(s2)) / twice_max
    ro = (twice_max * twice_max) / float(_F(1 << (2 * left_shift)) * _F(s_out))
    m1, sh1 = qm.quantize_multiplier(r1)
    m2, sh2 = qm.quantize_multiplier(r2)
    mo, sho = qm.quantize_multiplier(ro)
    lo, hi = (qm.INT16_MIN, qm.INT16_MAX) if bits == "int16" else (qm.INT8_MIN, qm.INT8_MAX)
    return qm.AddParams(-int(zp1), -int(zp2), int(zp_out), left_shift, m1, sh1, m2, sh2, mo, sho, lo, hi)


def batch_matmul_multiplier(s_lhs: float, s_rhs: float, s_out: float) -> tuple[int, int]:
    """BATCH_MATMUL: (double)s_lhs · (double)s_rhs / (double)s_out, a general multiplier. Checked
    against the TFLM interpreter on scales where it matters: the mid-2026 tflite-micro sources
    take the product in float32 (GetQuantizedConvolutionMultipler without bias); the interpreter
    edgeq is held to rounds like the double product."""
    return qm.quantize_multiplier(float(_F(s_lhs)) * float(_F(s_rhs)) / float(_F(s_out)))


# ------------------------------------------------------------------------------ helpers

def _axes(lw, op) -> list[int]:
    x = lw.t(op.inputs[0])
    rank = len(x.shape)
    return sorted({int(a) % rank for a in np.asarray(lw.t(op.inputs[1]).data).reshape(-1)})


def _reduce_mask(lw, op) -> tuple[list[int], int, int]:
    """(4-D input shape, bit mask of the reduced axes, reduced element count)."""
    x = lw.t(op.inputs[0])
    rank = len(x.shape)
    mask, count = 0, 1
    for a in _axes(lw, op):
        mask |= 1 << (a + 4 - rank)
        count *= int(x.shape[a])
    return lw.shape4(x.shape), mask, count


def _same_quant(a, b) -> bool:
    return a.quant.zero_point == b.quant.zero_point and _F(a.quant.scale) == _F(b.quant.scale)


def _broadcast_args(lw, op) -> dict:
    a, b, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    for t in (a, b, y):
        if len(t.shape) > 4:
            raise lw.fail(op, f"tensor {t.name!r} has rank {len(t.shape)}; at most 4 is supported")
    return dict(in1=lw.ref(a.index), in2=lw.ref(b.index), output=lw.ref(y.index), shape1=lw.shape4(a.shape),
                shape2=lw.shape4(b.shape), out_shape=lw.shape4(y.shape))


# ------------------------------------------------------------------------------ elementwise

@register("SUB", "edgeq_sub_s8 / _s16", int16=True, min_inputs=2, code_bytes=450,
          notes="broadcast over 4-D; TFLM's float32 scale ratios")
def lower_sub(lw, op):
    a, b, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, a, b, y)
    p = sub_params(a.quant.scale, a.quant.zero_point, b.quant.scale, b.quant.zero_point, y.quant.scale,
                   y.quant.zero_point, op.options.get("fused_activation_function", "NONE"), bits=y.dtype)
    # pot_scale_int16: TFLM's SUB ignores it (general scaling for int16 either way)
    return lw._call("sub", op, p=p.__dict__, ty=ty, **_broadcast_args(lw, op))


@register("SQUARED_DIFFERENCE", "edgeq_squared_difference_s8 / _s16", int16=True, min_inputs=2, code_bytes=450,
          notes="broadcast over 4-D")
def lower_squared_difference(lw, op):
    a, b, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, a, b, y)
    p = squared_difference_params(a.quant.scale, a.quant.zero_point, b.quant.scale, b.quant.zero_point,
                                  y.quant.scale, y.quant.zero_point, bits=y.dtype)
    if p.output_shift > 7:
        raise lw.fail(op, f"output rescaling 2^{p.output_shift} is out of the kernel's range")
    return lw._call("squared_difference", op, p=p.__dict__, ty=ty, **_broadcast_args(lw, op))


def div_params(s1: float, s2: float, s_out: float) -> tuple[int, int]:
    """DIV (TFLM ``CalculateOpDataDiv``): s1 / (s2 · s_out), the product and the quotient in
    float32, widened, a general multiplier."""
    return qm.quantize_multiplier(float(_F(s1) / (_F(s2) * _F(s_out))))


@register("DIV", "edgeq_div_s8", min_inputs=2, code_bytes=500,
          notes="int8; broadcast over 4-D; refused where TFLM's shifts are undefined")
def lower_div(lw, op):
    a, b, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    lw.kernel_type(op, a, b, y)  # int8 only (TFLM has no int16 DIV)
    mult, shift = div_params(a.quant.scale, b.quant.scale, y.quant.scale)
    # TFLM rescales by 2^(shift - reciprocal shift - headroom): the right shift must stay <= 31
    # for every dividend (headroom 31 at 0 and -1) and divisor (reciprocal shift up to
    # floor(log2(max |divisor|))), and >= 0 (headroom >= 22 for an int8 difference)
    zp2 = b.quant.zero_point
    v2_max = max(abs(-128 - zp2), abs(127 - zp2))
    recip_max = v2_max.bit_length() - 1
    if shift < recip_max or shift > 22:
        raise lw.fail(op, f"its rescaling (2^{shift} for divisors up to {v2_max}) takes TFLM's reference "
                          "arithmetic outside its defined shift range; the result would be undefined")
    lo, hi = lw.act(op, y)
    return lw._call("div", op, in1_offset=-a.quant.zero_point, in2_offset=-zp2, out_offset=y.quant.zero_point,
                    mult=mult, shift=shift, act_min=lo, act_max=hi, **_broadcast_args(lw, op))


def _max_min(lw, op, which: str):
    a, b, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, a, b, y)
    fn = f"arm_{which}_s8" if ty == "s8" else f"edgeq_{which}_s16"
    return lw._call("max_min", op, fn=fn, ctype=y.dtype + "_t", **_broadcast_args(lw, op))


@register("MAXIMUM", "arm_maximum_s8, edgeq_maximum_s16", int16=True, min_inputs=2, code_bytes=250,
          notes="raw values compared (TFLM does not rescale)")
def lower_maximum(lw, op):
    return _max_min(lw, op, "maximum")


@register("MINIMUM", "arm_minimum_s8, edgeq_minimum_s16", int16=True, min_inputs=2, code_bytes=250,
          notes="raw values compared (TFLM does not rescale)")
def lower_minimum(lw, op):
    return _max_min(lw, op, "minimum")


# ------------------------------------------------------------------------------ reductions

@register("SUM", "edgeq_mean_s8 / _s16 (sum mode)", int16=True, min_inputs=2, const_inputs=(1,),
          folded_inputs={1}, code_bytes=0, notes="any axes, keep_dims either way")
def lower_sum(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, x, y)
    if len(x.shape) > 4:
        raise lw.fail(op, f"input rank {len(x.shape)}; at most 4 is supported")
    shape, mask, _ = _reduce_mask(lw, op)
    # QuantizedMeanOrSum with compute_sum: (sum - zp·count) requantized by in/out, no 1/count
    m, s = qm.requantize_params(x.quant.scale, y.quant.scale)
    return lw._call("mean", op, input=lw.ref(x.index), output=lw.ref(y.index), shape=shape, mask=mask, mode=1,
                    input_zp=x.quant.zero_point, mult=m, shift=s, output_zp=y.quant.zero_point,
                    keep_dims=bool(op.options.get("keep_dims", False)), ty=ty)


def _reduce_extreme(lw, op, which: str):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    lw.kernel_type(op, x, y)
    if len(x.shape) > 4:
        raise lw.fail(op, f"input rank {len(x.shape)}; at most 4 is supported")
    if not _same_quant(x, y):
        raise lw.fail(op, "input and output quantization differ (TFLM requires them equal)")
    shape, mask, _ = _reduce_mask(lw, op)
    return lw._call("reduce_extreme", op, fn=f"edgeq_reduce_{which}_s8", input=lw.ref(x.index),
                    output=lw.ref(y.index), shape=shape, mask=mask)


@register("REDUCE_MAX", "edgeq_reduce_max_s8", min_inputs=2, const_inputs=(1,), folded_inputs={1},
          code_bytes=300, notes="int8 only (TFLM has no int16 kernel)")
def lower_reduce_max(lw, op):
    return _reduce_extreme(lw, op, "max")


@register("REDUCE_MIN", "edgeq_reduce_min_s8", min_inputs=2, const_inputs=(1,), folded_inputs={1},
          code_bytes=0, notes="int8 only (TFLM has no int16 kernel)")
def lower_reduce_min(lw, op):
    return _reduce_extreme(lw, op, "min")


def _arg(lw, op, which: str):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    lw.require(op, x, "int8")
    if y.dtype != "int32":
        raise lw.fail(op, f"output {y.name!r} is {y.dtype}; TFLM's {op.opcode} writes int32 only "
                          "(tf.math.argmax(..., output_type=tf.int32))")
    axes = np.asarray(lw.t(op.inputs[1]).data).reshape(-1)
    rank = len(x.shape)
    axis = int(axes[0]) % rank
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    return lw._call("arg_extreme", op, fn=f"edgeq_arg_{which}_s8", input=lw.ref(x.index), output=lw.ref(y.index),
                    outer=outer, axis_size=int(x.shape[axis]), inner=inner)


@register("ARG_MAX", "edgeq_arg_max_s8", min_inputs=2, const_inputs=(1,), folded_inputs={1}, code_bytes=200,
          notes="int8 in, int32 out; first index on ties")
def lower_arg_max(lw, op):
    return _arg(lw, op, "max")


@register("ARG_MIN", "edgeq_arg_min_s8", min_inputs=2, const_inputs=(1,), folded_inputs={1}, code_bytes=0,
          notes="int8 in, int32 out; first index on ties")
def lower_arg_min(lw, op):
    return _arg(lw, op, "min")


# ------------------------------------------------------------------------------ batch matmul

def _bmm_scratch(graph, op, variant) -> int:
    """Bytes of the transposed copies: the lhs when adj_x, the rhs unless adj_y (the kernel reads
    lhs rows and rhs columns as rows, like CMSIS-NN's arm_batch_matmul_s8)."""
    lhs, rhs = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    n = 0
    if op.options.get("adj_x", False):
        n += (lhs.nbytes + 3) // 4 * 4
    if not op.options.get("adj_y", False):
        n += rhs.nbytes
    return n


def _bmm_dims(shape) -> list[int]:
    s = [int(d) for d in shape]
    return [1] * (4 - len(s)) + s


@register("BATCH_MATMUL", "arm_batch_matmul_s8 / _s16 (+ edgeq_transpose_rows_cols_*)", int16=True,
          min_inputs=2, scratch=_bmm_scratch, code_bytes=500,
          macs=lambda g, op: g.tensors[op.outputs[0]].size * (
              g.tensors[op.inputs[0]].shape[-2] if op.options.get("adj_x") else g.tensors[op.inputs[0]].shape[-1]),
          notes="both operands activations or constants; adj_x/adj_y; batch dims broadcast (rank <= 4)")
def lower_batch_matmul(lw, op):
    lhs, rhs, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, lhs, rhs, y)
    for t in (lhs, rhs, y):
        if not 2 <= len(t.shape) <= 4:
            raise lw.fail(op, f"tensor {t.name!r} has rank {len(t.shape)}; 2 to 4 is supported")
        if t.quant.per_channel:
            raise lw.fail(op, f"tensor {t.name!r} is quantized per channel; BATCH_MATMUL needs per-tensor")
    adj_x, adj_y = bool(op.options.get("adj_x", False)), bool(op.options.get("adj_y", False))
    ld, rd, od = _bmm_dims(lhs.shape), _bmm_dims(rhs.shape), _bmm_dims(y.shape)
    rows, depth = (ld[3], ld[2]) if adj_x else (ld[2], ld[3])
    cols, rdepth = (rd[2], rd[3]) if adj_y else (rd[3], rd[2])
    if depth != rdepth or od[2] != rows or od[3] != cols:
        raise lw.fail(op, f"inconsistent shapes {list(lhs.shape)} x {list(rhs.shape)} -> {list(y.shape)}")
    for k in (0, 1):
        if od[k] not in (ld[k], rd[k]) or 1 not in (ld[k], rd[k]) and ld[k] != rd[k]:
            raise lw.fail(op, f"batch dimensions of {list(lhs.shape)} and {list(rhs.shape)} do not broadcast")
    mult, shift = batch_matmul_multiplier(lhs.quant.scale, rhs.quant.scale, y.quant.scale)
    lo, hi = (qm.INT16_MIN, qm.INT16_MAX) if ty == "s16" else (qm.INT8_MIN, qm.INT8_MAX)
    esize = 2 if ty == "s16" else 1
    scratch = lw.scratch(op)
    lhs_t = (lhs.nbytes + 3) // 4 * 4 if adj_x else 0
    return lw._call("batch_matmul", op, ty=ty, ctype=y.dtype + "_t", lhs=lw.ref(lhs.index), rhs=lw.ref(rhs.index),
                    output=lw.ref(y.index), adj_x=adj_x, adj_y=adj_y, scratch=scratch,
                    scratch_needed=_bmm_scratch(lw.g, op, lw.variant),
                    # the transposes: [batches, r, c] -> [batches, c, r]
                    lhs_batches=ld[0] * ld[1], lhs_r=ld[2], lhs_c=ld[3],
                    rhs_batches=rd[0] * rd[1], rhs_r=rd[2], rhs_c=rd[3],
                    rhs_t_offset=lhs_t // esize,
                    lhs_dims=[ld[0], ld[1], rows, depth], rhs_dims=[rd[0], rd[1], cols, depth],
                    out_dims=[od[0], od[1], rows, cols], lhs_offset=-lhs.quant.zero_point,
                    rhs_offset=-rhs.quant.zero_point, output_offset=y.quant.zero_point, mult=mult, shift=shift,
                    act_min=lo, act_max=hi)
