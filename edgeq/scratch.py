"""Kernel scratch buffers: how many bytes each call needs, per kernel variant (portable C, or
upstream CMSIS-NN built for a DSP core). The planner reserves them; the generated code checks
each kernel's ``*_get_buffer_size`` against them."""

from __future__ import annotations

from . import ops as op_registry
from .graph import Graph, Operator

SCRATCH_VARIANTS = ("portable", "dsp")


def align_up(n: int, a: int = 16) -> int:
    """``n`` rounded up to a multiple of ``a`` (the arena's 16-byte alignment by default)."""
    return (n + a - 1) // a * a


def _same_pad(in_size: int, out_size: int, k: int, stride: int, dilation: int) -> int:
    """Top/left padding of SAME convolution (total // 2)."""
    total = max(0, (out_size - 1) * stride + (k - 1) * dilation + 1 - in_size)
    return total // 2


def conv_geometry(graph: Graph, op: Operator) -> dict:
    """Shapes and padding of a CONV_2D / DEPTHWISE_CONV_2D / pooling op (NHWC, batch 1).

    Returns dict(in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w,
    dil_h, dil_w, pad_h, pad_w) — pad_* are the top/left paddings as CMSIS-NN takes them.
    """
    x = graph.tensors[op.inputs[0]]
    y = graph.tensors[op.outputs[0]]
    o = op.options
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = graph.tensors[op.inputs[1]]
        k_h, k_w = w.shape[1], w.shape[2]
    else:
        k_h, k_w = o.get("filter_height", 1), o.get("filter_width", 1)
    in_h, in_w, in_c = x.shape[1], x.shape[2], x.shape[3]
    out_h, out_w, out_c = y.shape[1], y.shape[2], y.shape[3]
    s_h, s_w = o.get("stride_h", 1) or 1, o.get("stride_w", 1) or 1
    d_h, d_w = o.get("dilation_h_factor", 1) or 1, o.get("dilation_w_factor", 1) or 1
    if o.get("padding") == "SAME":
        pad_h, pad_w = _same_pad(in_h, out_h, k_h, s_h, d_h), _same_pad(in_w, out_w, k_w, s_w, d_w)
    else:
        pad_h = pad_w = 0
    return dict(in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c, k_h=k_h, k_w=k_w,
                stride_h=s_h, stride_w=s_w, dil_h=d_h, dil_w=d_w, pad_h=pad_h, pad_w=pad_w)


def scratch_bytes(graph: Graph, op: Operator, variant: str = "portable") -> int:
    """Bytes of the ``cmsis_nn_context`` scratch buffer the op's kernel needs (0 = none).

    THE single place for these formulas: the planner reserves exactly this much in the arena
    for the op's step, and the code generator passes a buffer of this size to the kernel.
    They follow the CMSIS-NN ``*_get_buffer_size`` functions, as the wrappers pick a kernel:

    * CONV_2D (``arm_convolve_wrapper_s8``): 1×1 filter, no padding, dilation 1 → the 1×1
      kernel, no buffer. Otherwise the im2col kernel: two columns of int16,
      ``2 * align4(k_h * k_w * in_c) * sizeof(int16)``.
    * DEPTHWISE_CONV_2D (``arm_depthwise_conv_wrapper_s8``): portable C needs none. With
      ``variant="dsp"``: 3×3 filter, ch_mult 1, dilation 1 and padding ≤ 1 → the 3×3 kernel
      (none); other ch_mult-1 cases → ``in_c * k_h * k_w * sizeof(int16)``.
    * AVERAGE_POOL_2D: portable none; ``dsp``: ``in_c * sizeof(int32)``.
    * FULLY_CONNECTED, MAX_POOL_2D, SOFTMAX, ADD, MUL, PAD, MEAN, CONCATENATION, LOGISTIC,
      QUANTIZE, DEQUANTIZE, RESHAPE, SQUEEZE: none.
    * int16 activations (16x8: CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D with an int16 input):
      none in every variant — edgeq's ``*_s16`` kernels read their input in place. (An upstream
      CMSIS-NN linked instead may want scratch there; the generated code checks its
      ``*_get_buffer_size`` and returns ``ARM_CMSIS_NN_ARG_ERROR`` rather than overrun.)

    The kernel owner (firmware/cmsis_nn) may change these to match edgeq's kernels; keep
    the planner and the generated code in agreement by editing only this function.
    """
    if variant not in SCRATCH_VARIANTS:
        raise ValueError(f"scratch variant must be one of {SCRATCH_VARIANTS}, not {variant!r}")
    code = op.opcode
    sp = op_registry.spec(code)
    if sp is not None and sp.scratch is not None:  # ops added through the registry say it themselves
        return int(sp.scratch(graph, op, variant))  # (for int16 activations too)
    if op.inputs and op.inputs[0] >= 0 and graph.tensors[op.inputs[0]].dtype == "int16":
        return 0
    if code == "CONV_2D":
        g = conv_geometry(graph, op)
        if g["k_h"] == 1 and g["k_w"] == 1 and g["pad_h"] == 0 and g["pad_w"] == 0 \
                and g["dil_h"] == 1 and g["dil_w"] == 1:
            return 0
        cols = g["k_h"] * g["k_w"] * g["in_c"]
        return 2 * align_up(cols, 4) * 2
    if code == "DEPTHWISE_CONV_2D":
        if variant == "portable":
            return 0
        g = conv_geometry(graph, op)
        ch_mult = g["out_c"] // max(g["in_c"], 1)
        if ch_mult != 1 or g["dil_h"] != 1 or g["dil_w"] != 1:
            return 0
        if g["k_h"] == 3 and g["k_w"] == 3 and g["pad_h"] <= 1 and g["pad_w"] <= 1:
            return 0
        return g["in_c"] * g["k_h"] * g["k_w"] * 2
    if code == "AVERAGE_POOL_2D":
        return 0 if variant == "portable" else graph.tensors[op.inputs[0]].shape[-1] * 4
    return 0
