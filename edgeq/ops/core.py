"""The original op set: convolutions, fully connected, pooling, softmax, elementwise ADD/MUL,
PAD, MEAN, CONCATENATION, LOGISTIC, the reshapes and the (de)quantizers, and their lowering
(``lw`` is the lowerer, ``edgeq.codegen.lower._Lowerer``: shared helpers such as ``lw.ref``)."""

from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from ..graph import Operator
from ..scratch import conv_geometry
from . import register

# QUANTIZE between integer types → its kernel. TFLM requantizes every pair with the same 32-bit
# arithmetic, the int8/int16 pairs included (the mixed-precision boundaries).
_REQUANTIZE_KERNELS = {
    ("int8", "int8"): "edgeq_requantize_s8_s8", ("uint8", "int8"): "edgeq_requantize_u8_s8",
    ("int8", "uint8"): "edgeq_requantize_s8_u8", ("int8", "int16"): "edgeq_requantize_s8_s16",
    ("int16", "int8"): "edgeq_requantize_s16_s8", ("int16", "int16"): "edgeq_requantize_s16_s16",
}


def _c_float(x: float) -> str:
    from ..codegen.lower import c_float  # the lowerer's C literal (imported late: lower imports the registry)

    return c_float(x)


def _conv_common(lw, op: Operator, depthwise: bool) -> dict:
    x, w, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    b = lw.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    s16 = lw.activations_16x8(op, x, y)
    if not s16:
        for t in (x, y):
            lw.require(op, t, "int8")
    lw.require(op, w, "int8")
    if s16:
        if depthwise and b is not None and b.dtype == "int32":
            # checked against TFLM: with an int32 bias its int16 depthwise outputs saturate,
            # as if it read the bias as int64 (past the buffer): there is no sane reference
            raise lw.fail(op, f"int16 DEPTHWISE_CONV_2D with an int32 bias ({b.name!r}) is not "
                                "supported (TFLM reads it as int64); convert with int64 biases, "
                                "the 16x8 default")
        # conv's API takes int64 or int32 (cmsis_nn_bias_data); depthwise int64 only
        bias, bias_int32 = lw.bias_16x8(op, b)
    elif b is not None:
        lw.require(op, b, "int32")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise lw.fail(op, "needs 4-D input and output")
    k_c = int(w.shape[3])
    if not depthwise and (k_c <= 0 or int(x.shape[3]) % k_c or int(y.shape[3]) % (int(x.shape[3]) // k_c)):
        raise lw.fail(op, f"grouped convolution with {x.shape[3]} input channels, filter depth {k_c} and "
                            f"{y.shape[3]} output channels (the groups must divide both channel counts)")
    g = conv_geometry(lw.g, op)
    out_c = g["out_c"]
    mults, shifts = qm.conv_multipliers(x.quant.scale, w.quant.scales, y.quant.scale, out_c)
    pre = f"{lw.name}_op{op.index}"
    lo, hi = lw.act(op, y)
    packed = None if s16 else lw.packed(op, w, 3 if depthwise else 0)
    return dict(
        input=lw.ref(x.index), output=lw.ref(y.index), weights=None if packed else lw.const_symbol(w),
        packed=packed,
        bias=bias if s16 else (lw.const_symbol(b) if b is not None else None),
        s16=s16, bias_int32=s16 and bias_int32,
        mult=lw.int_array(f"{pre}_mult", mults, "per-channel multipliers"),
        shift=lw.int_array(f"{pre}_shift", shifts, "per-channel shifts"),
        n=int(x.shape[0]), in_h=g["in_h"], in_w=g["in_w"], in_c=g["in_c"], k_c=k_c,
        out_h=g["out_h"], out_w=g["out_w"], out_c=out_c, k_h=g["k_h"], k_w=g["k_w"],
        stride_h=g["stride_h"], stride_w=g["stride_w"], pad_h=g["pad_h"], pad_w=g["pad_w"],
        dil_h=g["dil_h"], dil_w=g["dil_w"], input_offset=-x.quant.zero_point,
        output_offset=y.quant.zero_point, act_min=lo, act_max=hi, scratch=lw.scratch(op))


def _with_bands(lw, op: Operator, a: dict) -> dict:
    """The plan's in-place decision for a "rows" op (``edgeq.inplace.Bands``): the template
    runs the kernel once per band. A pixel-banded 1x1 conv is shown to it as one column of
    n*h*w pixels (an unpadded stride-1 1x1 conv is the same computation on any pixel layout)."""
    b = lw.plan.inplace.get(op.index)
    a["bands"] = b.to_dict() | {"count": b.count} if b is not None and b.rows else None
    # a forward pixel-banded int8 1x1: one call to edgeq_convolve_1x1_s8_in_place, which runs it
    # whole on the routes that walk the pixels in order and band by band on the others
    a["one_call_1x1"] = bool(a["bands"] and b.pixels and not b.backward and not a["s16"] and a["packed"] is None
                             and a["k_c"] == a["in_c"])
    if a["bands"] and b.pixels:
        px = a["n"] * a["in_h"] * a["in_w"]
        a.update(n=1, in_h=px, in_w=1, out_h=px, out_w=1)
        if not a["s16"] and a["input_offset"] != 0:
            # every band call would sum each filter again for the input offset; an unpadded 1x1
            # has no padded taps, so sum((x + off) * w) + bias = sum(x * w) + (bias + off * sum(w))
            # (modulo 2^32 on both sides, as the kernels and TFLM accumulate): fold it once here
            w = lw.t(op.inputs[1])
            wsum = np.asarray(w.data, np.int64).reshape(int(w.shape[0]), -1).sum(axis=1)
            bias = np.zeros_like(wsum) if a["bias"] is None else np.asarray(lw.t(op.inputs[2]).data, np.int64)
            folded = ((bias + a["input_offset"] * wsum + 2**31) % 2**32 - 2**31).astype(np.int64)
            if a["bias"] is not None and sum(op.inputs[2] in o.inputs for o in lw.g.operators) == 1:
                lw.data = [d for d in lw.data if d.symbol != a["bias"]]  # the unfolded bias: unused now
                lw._const_syms.pop(op.inputs[2], None)
            a["bias"] = lw.int_array(f"{lw.name}_op{op.index}_bias", folded, "bias + input offset x filter sums")
            a["input_offset"] = 0
    return a


def _lower_conv_2d(lw, op):
    return lw._call("conv", op, **_with_bands(lw, op, _conv_common(lw, op, False)))


def _lower_depthwise_conv_2d(lw, op):
    a = _conv_common(lw, op, True)
    a["ch_mult"] = a["out_c"] // a["in_c"]
    if a["ch_mult"] * a["in_c"] != a["out_c"]:
        raise lw.fail(op, "output channels are not a multiple of input channels")
    from ..codegen import dw_mve, dw_packed  # (imported late: codegen imports the registry)

    a["dw3x3"] = dw_packed.add_blocks(lw, op, a)  # 3x3 blocks prepared for the DSP kernel, or None
    a["dw3mve"] = dw_mve.add_blocks(lw, op, a)  # and for the Helium kernel
    return lw._call("dwconv", op, **_with_bands(lw, op, a))


def _lower_fully_connected(lw, op):
    x, w, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    b = lw.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    s16 = lw.activations_16x8(op, x, y)
    for t in (w,) if s16 else (x, y, w):
        lw.require(op, t, "int8")
    bias_int32 = False
    if s16:
        # an int32 bias needs TFLite's 32-bit accumulation: edgeq_fully_connected_s16_b32
        bias, bias_int32 = lw.bias_16x8(op, b)
    elif b is not None:
        lw.require(op, b, "int32")
        bias = lw.const_symbol(b)
    else:
        bias = None
    if op.options.get("weights_format", "DEFAULT") not in ("DEFAULT", 0):
        raise lw.fail(op, "shuffled weights format is not supported")
    if w.is_constant is False:
        raise lw.fail(op, "non-constant weights are not supported")
    units, depth = int(w.shape[0]), int(w.shape[-1])
    packed = None if s16 or w.quant.zero_point != 0 else lw.packed(op, w, 0)
    batches = x.size // depth
    mults, shifts = qm.conv_multipliers(x.quant.scale, w.quant.scales, y.quant.scale,
                                        units if w.per_channel else 1)
    lo, hi = lw.act(op, y)
    a = dict(input=lw.ref(x.index), output=lw.ref(y.index), weights=None if packed else lw.const_symbol(w),
             packed=packed, bias=bias, s16=s16, bias_int32=bias_int32, batches=batches, depth=depth,
             units=units, input_offset=-x.quant.zero_point, filter_offset=-w.quant.zero_point,
             output_offset=y.quant.zero_point, act_min=lo, act_max=hi, per_channel=w.per_channel,
             scratch=lw.scratch(op))
    a["ksum"] = None
    if not s16 and not packed and lw.variant in ("mve", "any"):
        # upstream CMSIS-NN's MVE kernels read per-unit kernel sums from ctx.buf (what its
        # arm_vector_sum_s8 computes: bias + input offset × (row sum + depth × filter offset));
        # they are known now, so they go to flash rather than into the arena at every invoke
        ks = np.asarray(w.data, np.int64).reshape(units, depth).sum(axis=1) + depth * a["filter_offset"]
        ks = ks * a["input_offset"] + (np.asarray(b.data, np.int64).reshape(-1) if b is not None else 0)
        ks = (ks + 2**31) % 2**32 - 2**31  # the int32 arithmetic of arm_vector_sum_s8
        a["ksum"] = lw.int_array(f"{lw.name}_op{op.index}_ksum", ks.tolist(),
                                 "kernel sums for upstream CMSIS-NN's MVE kernel")
    if w.per_channel:
        pre = f"{lw.name}_op{op.index}"
        a["mult"] = lw.int_array(f"{pre}_mult", mults, "per-channel multipliers")
        a["shift"] = lw.int_array(f"{pre}_shift", shifts, "per-channel shifts")
    else:
        a["multiplier"], a["shift_value"] = mults[0], shifts[0]
    return lw._call("fc", op, **a)


def _pool(lw, op, kind):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    s16 = x.dtype == "int16"  # pools don't rescale: any zero point works, as in TFLM
    lw.require(op, x, "int16" if s16 else "int8")
    lw.require(op, y, x.dtype)
    if len(x.shape) != 4:
        raise lw.fail(op, "needs a 4-D input")
    if x.quant.zero_point != y.quant.zero_point or not np.isclose(x.quant.scale, y.quant.scale, rtol=0, atol=0):
        raise lw.fail(op, "input and output quantization differ")
    g = conv_geometry(lw.g, op)
    lo, hi = lw.act(op, y)
    return lw._call(kind, op, **_with_bands(lw, op, dict(
        input=lw.ref(x.index), output=lw.ref(y.index), n=int(x.shape[0]), in_h=g["in_h"], in_w=g["in_w"],
        in_c=g["in_c"], out_h=g["out_h"], out_w=g["out_w"], out_c=g["out_c"], k_h=g["k_h"], k_w=g["k_w"],
        stride_h=g["stride_h"], stride_w=g["stride_w"], pad_h=g["pad_h"], pad_w=g["pad_w"], act_min=lo,
        act_max=hi, scratch=lw.scratch(op), s16=s16)))


def _lower_average_pool_2d(lw, op):
    return _pool(lw, op, "avgpool")


def _lower_max_pool_2d(lw, op):
    return _pool(lw, op, "maxpool")


def _lower_softmax(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    row = int(x.shape[-1])
    beta = op.options.get("beta", 1.0)
    if lw.kernel_type(op, x, y) == "s16":
        lw.require_q15_output(op, y)
        mult, shift = qm.softmax_s16_params(beta, x.quant.scale)
        return lw._call("softmax_s16", op, input=lw.ref(x.index), output=lw.ref(y.index),
                          rows=x.size // row, row_size=row, mult=mult, shift=shift, luts=lw.softmax_luts())
    p = qm.softmax_params(beta, x.quant.scale)
    return lw._call("softmax", op, input=lw.ref(x.index), output=lw.ref(y.index),
                      rows=x.size // row, row_size=row, mult=p.multiplier, shift=p.shift, diff_min=p.diff_min)


def _binary(lw, kind, op, params):
    a, b, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, a, b, y)
    same = tuple(a.shape) == tuple(b.shape) == tuple(y.shape) or (a.size == b.size == y.size)
    p = params(a.quant.scale, a.quant.zero_point, b.quant.scale, b.quant.zero_point, y.quant.scale,
               y.quant.zero_point, op.options.get("fused_activation_function", "NONE"), bits=y.dtype)
    return lw._call(kind, op, in1=lw.ref(a.index), in2=lw.ref(b.index), output=lw.ref(y.index),
                      p=p.__dict__, size=y.size, broadcast=not same, shape1=lw.shape4(a.shape),
                      shape2=lw.shape4(b.shape), out_shape=lw.shape4(y.shape), ty=ty)


def _lower_add(lw, op):
    if op.options.get("pot_scale_int16", False) and lw.t(op.outputs[0]).dtype == "int16":
        raise lw.fail(op, "int16 ADD with power-of-two scaling (pot_scale_int16) is not supported; "
                            "the converter's 16x8 mode writes the general-scale form")
    return _binary(lw, "add", op, qm.add_params)


def _lower_mul(lw, op):
    return _binary(lw, "mul", op, qm.mul_params)


def _lower_pad(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, x, y)
    pads = np.asarray(lw.t(op.inputs[1]).data).reshape(-1, 2)
    if (pads < 0).any():
        raise lw.fail(op, "negative padding")
    rank = len(x.shape)
    before = [0] * (4 - rank) + [int(v) for v in pads[:, 0]]
    pad_value = y.quant.zero_point
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        pad_value = int(np.asarray(lw.t(op.inputs[2]).data).reshape(-1)[0])
    return lw._call("pad", op, input=lw.ref(x.index), output=lw.ref(y.index),
                      in_shape=lw.shape4(x.shape), out_shape=lw.shape4(y.shape), before=before,
                      pad_value=pad_value, ty=ty)


def _lower_mean(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, x, y)
    rank = len(x.shape)
    axes = sorted({int(a) % rank for a in np.asarray(lw.t(op.inputs[1]).data).reshape(-1)})
    keep = bool(op.options.get("keep_dims", False))
    shape = lw.shape4(x.shape)
    mask, count = 0, 1
    for a in axes:
        mask |= 1 << (a + 4 - rank)
        count *= int(x.shape[a])
    # TFLM requantizes (sum - zp·count) even when input and output quantization are equal
    m, s = qm.mean_params(x.quant.scale, y.quant.scale, count)
    return lw._call("mean", op, input=lw.ref(x.index), output=lw.ref(y.index), shape=shape, mask=mask,
                      mode=1, input_zp=x.quant.zero_point, mult=m, shift=s,
                      output_zp=y.quant.zero_point, keep_dims=keep, ty=ty)


def _lower_concatenation(lw, op):
    y = lw.t(op.outputs[0])
    rank = len(y.shape)
    axis = int(op.options.get("axis", 0)) % rank
    ins = [lw.t(i) for i in op.inputs]
    ty = lw.kernel_type(op, y, *ins)
    for t in ins:
        if t.quant.zero_point != y.quant.zero_point or np.float32(t.quant.scale) != np.float32(y.quant.scale):
            raise lw.fail(op, "inputs with a quantization different from the output's are not supported")
    if op.options.get("fused_activation_function", "NONE") != "NONE":
        raise lw.fail(op, "fused activation on CONCATENATION is not supported")
    outer = int(np.prod(y.shape[:axis], dtype=np.int64)) if axis else 1
    inner = int(np.prod(y.shape[axis + 1:], dtype=np.int64)) if axis + 1 < rank else 1
    return lw._call("concat", op, inputs=[lw.ref(t.index) for t in ins],
                      sizes=[int(t.shape[axis]) for t in ins], outer=outer, inner=inner,
                      output=lw.ref(y.index), ty=ty)


def _lower_logistic(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    if lw.kernel_type(op, x, y) == "s16":
        lw.require_q15_output(op, y)
        mult, shift = qm.logistic_s16_params(x.quant.scale)
        table = lw.model_table("sigmoid_table", "uint16_t", qm.sigmoid_s16_table(),
                                 "int16 LOGISTIC: sigmoid(i/24), Q0.16")
        return lw._call("logistic_s16", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size,
                          mult=mult, shift=shift, table=table)
    p = qm.logistic_params(x.quant.scale, x.quant.zero_point)
    return lw._call("logistic", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size,
                      p=p.__dict__)


def _lower_quantize(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    if x.dtype == "float32" and y.dtype in ("int8", "int16"):
        return lw._call("quantize_f32", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size,
                          scale=_c_float(y.quant.scale), zp=y.quant.zero_point,
                          fn="edgeq_quantize_f32_s16" if y.dtype == "int16" else "edgeq_quantize_f32_s8")
    fn = _REQUANTIZE_KERNELS.get((x.dtype, y.dtype))
    if fn is not None:
        m, s = qm.requantize_params(x.quant.scale, y.quant.scale)
        return lw._call("requantize", op, fn=fn, input=lw.ref(x.index), output=lw.ref(y.index),
                          size=x.size, input_zp=x.quant.zero_point, mult=m, shift=s,
                          output_zp=y.quant.zero_point)
    raise lw.fail(op, f"QUANTIZE from {x.dtype} to {y.dtype} is not supported")


def _lower_dequantize(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    if x.dtype in ("int8", "int16") and y.dtype == "float32":
        return lw._call("dequantize", op, input=lw.ref(x.index), output=lw.ref(y.index), size=x.size,
                          scale=_c_float(x.quant.scale), zp=x.quant.zero_point,
                          fn="edgeq_dequantize_s16_f32" if x.dtype == "int16" else "edgeq_dequantize_s8_f32")
    raise lw.fail(op, f"DEQUANTIZE from {x.dtype} to {y.dtype} is not supported")


# In place (edgeq.inplace): CONV_2D, DEPTHWISE_CONV_2D and the pools run as bands of output rows
# where the planner overlaps their output with their input ("rows": every kernel reads only the
# input rows of its call). ADD and MUL with same-shape operands: arm_elementwise_add/mul_s8/_s16
# (edgeq_elementwise_impl.h) read input_1[i] and input_2[i], then write output[i], i ascending;
# upstream's DSP/MVE loops read a group of 4/16 elements of both inputs before writing that group.
# Either way output[i] may sit at or below input[i] ("elementwise"). The broadcast kernels
# re-read inputs and are never overlapped.
_ROWS = [
    # opcode, kernel, int16, extra
    ("CONV_2D", "arm_convolve_wrapper_s8 / _s16", True,
     dict(min_inputs=2, ranks={0: 4, 1: 4}, out_rank=4, const_inputs=(1,), code_bytes=2600, inplace="rows")),
    ("DEPTHWISE_CONV_2D", "arm_depthwise_conv_wrapper_s8 / _s16", True,
     dict(min_inputs=2, ranks={0: 4, 1: 4}, out_rank=4, const_inputs=(1,), code_bytes=2200, inplace="rows")),
    ("FULLY_CONNECTED", "arm_fully_connected_s8 / _per_channel_s8 / _s16", True,
     dict(min_inputs=2, ranks={1: 2}, const_inputs=(1,), code_bytes=900)),
    ("AVERAGE_POOL_2D", "arm_avgpool_s8 / _s16", True, dict(ranks={0: 4}, out_rank=4, code_bytes=600,
                                                                   inplace="rows")),
    ("MAX_POOL_2D", "arm_max_pool_s8 / _s16", True, dict(ranks={0: 4}, out_rank=4, code_bytes=450,
                                                                  inplace="rows")),
    ("SOFTMAX", "arm_softmax_s8 / arm_softmax_s16", True, dict(code_bytes=900)),
    ("ADD", "arm_elementwise_add_s8 / _s16, edgeq_broadcast_add_s8 / _s16", True,
     dict(min_inputs=2, code_bytes=500, inplace="elementwise")),
    ("MUL", "arm_elementwise_mul_s8 / _s16, edgeq_broadcast_mul_s8 / _s16", True,
     dict(min_inputs=2, code_bytes=400, inplace="elementwise")),
    ("RESHAPE", "(alias, or edgeq_copy)", True, dict(alias=True, folded_inputs={1}, code_bytes=0)),
    ("SQUEEZE", "(alias, or edgeq_copy)", True, dict(alias=True, code_bytes=0)),
    ("PAD", "edgeq_pad_s8 / _s16", True, dict(min_inputs=2, const_inputs=(1,), folded_inputs={1}, code_bytes=350)),
    ("MEAN", "edgeq_mean_s8 / _s16", True, dict(min_inputs=2, const_inputs=(1,), folded_inputs={1}, code_bytes=500)),
    ("CONCATENATION", "edgeq_concat_s8 / _s16", True, dict(code_bytes=300)),
    ("LOGISTIC", "edgeq_logistic_s8 / _s16", True, dict(code_bytes=700)),
    ("QUANTIZE", "edgeq_quantize_f32_s8 / _s16, edgeq_requantize_*", True, dict(code_bytes=400)),
    ("DEQUANTIZE", "edgeq_dequantize_s8_f32 / _s16_f32", True, dict(code_bytes=300)),
]

def _lower_alias(lw, op):
    return lw._alias(op)


_lower_reshape = _lower_squeeze = _lower_alias

for _opcode, _kernel, _int16, _extra in _ROWS:
    register(_opcode, _kernel, int16=_int16, **_extra)(globals()[f"_lower_{_opcode.lower()}"])
