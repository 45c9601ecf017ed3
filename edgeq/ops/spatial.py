"""Spatial ops: TRANSPOSE_CONV (int8 through CMSIS-NN's ``arm_transpose_conv_s8`` API, int16
through ``edgeq_transpose_conv_s16``), RESIZE_NEAREST_NEIGHBOR (int8 and int16) and
RESIZE_BILINEAR (int8 only: TFLM has no int16 bilinear kernel); kernels in
``firmware/cmsis_nn/edgeq/edgeq_spatial.c``. All bit-exact with TFLM's reference kernels.

Grouped CONV_2D (Keras ``Conv2D(groups=N)``: a filter shallower than the input) is not a row of
its own: the CONV_2D kernels take it (``arm_convolve_s8`` / ``_s16``, as CMSIS-NN does).
"""

from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import register

# ------------------------------------------------------------------------------ TRANSPOSE_CONV


def _compute_out_size(padding: str, in_size: int, k: int, stride: int) -> int:
    """TFLite's ComputeOutSize (dilation 1) of a forward convolution."""
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size + stride - k) // stride


def transpose_conv_padding(padding: str, out_size: int, k: int, stride: int) -> int:
    """Top (left) padding of TRANSPOSE_CONV as TFLM's Prepare computes it: the padding of the
    forward convolution that maps the transpose conv's *output* (size out_size) back to its input,
    ``ComputePaddingHeightWidth(stride, 1, out_size, k, padding)`` — total // 2, total clamped at 0.
    It depends on the output size and the padding type only (not on the input size)."""
    fwd_out = _compute_out_size(padding, out_size, k, stride)
    return max(0, (fwd_out - 1) * stride + k - out_size) // 2


def _tconv_scratch(graph, op, variant: str) -> int:
    """``arm_transpose_conv_s8_get_buffer_size`` of edgeq's kernel: it gathers each output value
    from its taps (no int32 accumulation buffer over the output), so no scratch — in every
    variant; the generated code still calls get_buffer_size and refuses (ARG_ERROR) a linked
    kernel that wants more."""
    return 0


@register("TRANSPOSE_CONV", "arm_transpose_conv_s8 / edgeq_transpose_conv_s16", int16=True,
          min_inputs=3, ranks={1: 4, 2: 4}, out_rank=4, const_inputs=(0, 1), folded_inputs={0},
          scratch=_tconv_scratch, code_bytes=700, macs=lambda g, op: (
              g.tensors[op.inputs[2]].size * g.tensors[op.inputs[1]].size // g.tensors[op.inputs[2]].shape[-1]),
          notes="Conv2DTranspose; inputs (output_shape, weights, input, bias); per-channel; int16 with int64 bias")
def lower_transpose_conv(lw, op):
    shape_t, w, x, y = lw.t(op.inputs[0]), lw.t(op.inputs[1]), lw.t(op.inputs[2]), lw.t(op.outputs[0])
    b = lw.t(op.inputs[3]) if len(op.inputs) > 3 and op.inputs[3] >= 0 else None
    s16 = lw.activations_16x8(op, x, y)
    if not s16:
        for t in (x, y):
            lw.require(op, t, "int8")
    lw.require(op, w, "int8")
    if w.quant.is_quantized and (w.quant.zero_points != 0).any():
        raise lw.fail(op, f"weights {w.name!r} have a non-zero zero point")
    if b is not None:
        if not b.is_constant:
            raise lw.fail(op, f"bias input ({b.name!r}) must be a constant")
        if s16 and b.dtype == "int32":
            # checked: TFLM runs it but its outputs saturate (+-32767 alternating), as if it read
            # the int32 bias as int64 — no sane reference to be bit-exact with
            raise lw.fail(op, f"int16 TRANSPOSE_CONV with an int32 bias ({b.name!r}) is not supported (TFLM "
                              "reads it as int64); convert with int64 biases, the 16x8 default")
        lw.require(op, b, "int64" if s16 else "int32")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise lw.fail(op, "needs 4-D input and output")
    out_shape = [int(v) for v in np.asarray(shape_t.data).reshape(-1)]
    if out_shape != [int(d) for d in y.shape]:
        raise lw.fail(op, f"output_shape operand {out_shape} differs from the output tensor {list(y.shape)}")
    out_c, k_h, k_w, in_c = (int(d) for d in w.shape)
    if in_c != int(x.shape[3]) or out_c != int(y.shape[3]) or int(x.shape[0]) != int(y.shape[0]):
        raise lw.fail(op, f"weights {list(w.shape)} do not fit input {list(x.shape)} and output {list(y.shape)}")
    padding = op.options.get("padding", "SAME")
    s_h, s_w = int(op.options.get("stride_h", 1) or 1), int(op.options.get("stride_w", 1) or 1)
    out_h, out_w = int(y.shape[1]), int(y.shape[2])
    pad_h = transpose_conv_padding(padding, out_h, k_h, s_h)
    pad_w = transpose_conv_padding(padding, out_w, k_w, s_w)
    mults, shifts = qm.conv_multipliers(x.quant.scale, w.quant.scales, y.quant.scale, out_c)
    pre = f"{lw.name}_op{op.index}"
    lo, hi = lw.act(op, y)
    return lw._call(
        "transpose_conv", op, input=lw.ref(x.index), output=lw.ref(y.index), weights=lw.const_symbol(w),
        bias=lw.const_symbol(b) if b is not None else None, s16=s16,
        mult=lw.int_array(f"{pre}_mult", mults, "per-channel multipliers"),
        shift=lw.int_array(f"{pre}_shift", shifts, "per-channel shifts"),
        n=int(x.shape[0]), in_h=int(x.shape[1]), in_w=int(x.shape[2]), in_c=in_c, out_h=out_h, out_w=out_w,
        out_c=out_c, k_h=k_h, k_w=k_w, stride_h=s_h, stride_w=s_w, pad_h=pad_h, pad_w=pad_w,
        input_offset=-x.quant.zero_point, output_offset=y.quant.zero_point, act_min=lo, act_max=hi,
        scratch=lw.scratch(op))


# ------------------------------------------------------------------------------ RESIZE_*

def nearest_map(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> list[int]:
    """Input index of every output index, TFLite's ``GetNearestNeighbor``: float32 arithmetic
    ``(o + offset) * scale`` (scale = in/out, or (in-1)/(out-1) with align_corners), rounded
    half away from zero with align_corners, floored otherwise; clamped to [0, in-1]."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    out = []
    for o in range(out_size):
        v = (f32(o) + offset) * scale  # float32 throughout, as the C++ (int + float) * float
        if align_corners:
            idx = int(_round_half_away(v))
        else:
            idx = int(np.floor(v))
        idx = min(idx, in_size - 1)
        if half_pixel_centers:
            idx = max(0, idx)
        out.append(idx)
    return out


def _round_half_away(v: np.float32) -> float:
    """std::round of a float: half away from zero, computed exactly."""
    fl = np.floor(v)
    diff = v - fl  # exact for float32 values
    return float(fl) + 1.0 if diff > 0.5 or (diff == 0.5 and v > 0) else float(fl)


def bilinear_bounds(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> tuple[int, int]:
    """(lowest, highest) lower input index TFLite's integer bilinear resize reads along one axis
    (``edgeq_resize_pos`` in C): the upper index is clamped by the kernel, the lower one only at 0."""
    if align_corners and out_size > 1:
        s = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        s = ((1 << 10) * in_size + out_size // 2) // out_size
    lows = []
    for o in range(out_size):
        v = o * s + s // 2 - (1 << 9) if half_pixel_centers else o * s
        lows.append(max(v // 1024, 0))  # C truncates a negative v toward 0: clamped to 0 either way
    return min(lows), max(lows)


def _resize_common(lw, op):
    x, y = lw.t(op.inputs[0]), lw.t(op.outputs[0])
    ty = lw.kernel_type(op, x, y)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise lw.fail(op, "needs 4-D input and output")
    if x.quant.zero_point != y.quant.zero_point or np.float32(x.quant.scale) != np.float32(y.quant.scale):
        raise lw.fail(op, "input and output quantization differ (TFLM copies values without requantizing)")
    size = [int(v) for v in np.asarray(lw.t(op.inputs[1]).data).reshape(-1)]
    if size != [int(y.shape[1]), int(y.shape[2])]:
        raise lw.fail(op, f"size operand {size} differs from the output tensor {list(y.shape)}")
    if int(x.shape[0]) != int(y.shape[0]) or int(x.shape[3]) != int(y.shape[3]):
        raise lw.fail(op, "batch and channels of input and output differ")
    ac = bool(op.options.get("align_corners", False))
    hp = bool(op.options.get("half_pixel_centers", False))
    if ac and hp:
        raise lw.fail(op, "align_corners and half_pixel_centers together are not supported (TFLM refuses them)")
    return x, y, ty, ac, hp


_RESIZE = dict(min_inputs=2, ranks={0: 4}, out_rank=4, const_inputs=(1,), folded_inputs={1})


@register("RESIZE_NEAREST_NEIGHBOR", "edgeq_resize_nearest", int16=True, code_bytes=150, **_RESIZE,
          notes="align_corners / half_pixel_centers; index maps computed by edgeq (TFLite's float32 index math)")
def lower_resize_nearest(lw, op):
    x, y, ty, ac, hp = _resize_common(lw, op)
    in_h, in_w, out_h, out_w = int(x.shape[1]), int(x.shape[2]), int(y.shape[1]), int(y.shape[2])
    pre = f"{lw.name}_op{op.index}"
    return lw._call("resize_nearest", op, input=lw.ref(x.index), output=lw.ref(y.index), n=int(x.shape[0]),
                    in_h=in_h, in_w=in_w, c=int(x.shape[3]), elem_bytes=x.itemsize, out_h=out_h, out_w=out_w,
                    y_map=lw.int_array(f"{pre}_ymap", nearest_map(in_h, out_h, ac, hp), "input row of each output row"),
                    x_map=lw.int_array(f"{pre}_xmap", nearest_map(in_w, out_w, ac, hp),
                                       "input column of each output column"))


@register("RESIZE_BILINEAR", "edgeq_resize_bilinear_s8", code_bytes=500, **_RESIZE,
          notes="align_corners / half_pixel_centers; TFLite's integer (Q10) interpolation; no int16 (TFLM has none)")
def lower_resize_bilinear(lw, op):
    x, y, ty, ac, hp = _resize_common(lw, op)
    for axis in (1, 2):
        lo, hi = bilinear_bounds(int(x.shape[axis]), int(y.shape[axis]), ac, hp)
        if hi > int(x.shape[axis]) - 1:
            raise lw.fail(op, f"resize from {x.shape[axis]} to {y.shape[axis]} along axis {axis}: TFLite's "
                              "Q10 step reads past the input (no reference to be exact with)")
    return lw._call("resize_bilinear", op, input=lw.ref(x.index), output=lw.ref(y.index),
                    in_shape=[int(d) for d in x.shape], out_h=int(y.shape[1]), out_w=int(y.shape[2]),
                    align_corners=int(ac), half_pixel_centers=int(hp))
