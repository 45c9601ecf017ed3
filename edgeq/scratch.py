"""Kernel scratch buffers: how many bytes each call needs, per kernel variant: edgeq's own kernels
("portable"), or upstream CMSIS-NN built for a DSP core ("dsp", also right for cores without DSP:
upstream's plain-C paths never want more) or for a Helium core ("mve"), or "any" (the larger of
the two: upstream CMSIS-NN on whatever core). The planner reserves them; the generated code
checks each kernel's ``*_get_buffer_size`` against them."""

from __future__ import annotations

from . import ops as op_registry
from .graph import Graph, Operator

SCRATCH_VARIANTS = ("portable", "dsp", "mve", "any")

# CMSIS-NN's MVE kernel constants (Include/arm_nnsupportfunctions.h, v7.0.0 and main):
_CH_IN_BLOCK_MVE = 124  # channels per block of arm_depthwise_conv_s8_opt
_DW_ONE_IN_CH_TO_CONV_ABOVE = 1  # depthwise with 1 input channel and more outputs → a convolution (GCC)


def scratch_variant_for(kernels: str, core_dsp: bool = True, core_mve: bool = False) -> str:
    """The scratch variant a kernel set needs on a core: edgeq's kernels → "portable"; upstream
    CMSIS-NN → "mve" on a Helium core, else "dsp" (upstream's non-DSP paths want no more)."""
    if kernels == "edgeq":
        return "portable"
    return "mve" if core_mve else "dsp"


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
      none with "portable" — edgeq's ``*_s16`` kernels read their input in place; "dsp" / "mve"
      follow upstream's ``*_s16`` rules (below). Whatever is linked, the generated code checks its
      ``*_get_buffer_size`` and returns ``ARM_CMSIS_NN_ARG_ERROR`` rather than overrun.

    ``variant="mve"`` follows the ``*_get_buffer_size_mve`` rules of CMSIS-NN (v7.0.0 and main):

    * CONV_2D: 1×1 (no padding, dilation 1, ungrouped) → none; 1×N (input height 1, filter
      height 1, dilation_w 1, stride_w·in_c a multiple of 4) → the 1×N kernel's padded row
      (``max(k_w·c + pad_w·c, (k_w−1)·c + right_pad·c)``, or the im2col size when the row
      split does not cover the output); else im2col: 4 columns of ``ceil16(k_h·k_w·in_c)`` int8.
      int16: 4 columns of ``ceil8(k_h·k_w·in_c)`` int16.
    * DEPTHWISE_CONV_2D: ch_mult 1 (dilation 1) → ``4 · 124 · k_h · k_w``; one input channel
      and more outputs → the conversion to CONV_2D: its scratch + the reordered filter
      (``k_h·k_w·out_c``), whichever is larger. int16 (ch_mult 1, dilation 1, k_h·k_w < 512):
      ``4·in_c·k_h·k_w·2 + 8`` (DSP: ``in_c·k_h·k_w·2``).
    * FULLY_CONNECTED int8: ``units · sizeof(int32)`` of kernel sums, which the kernel reads
      (bias + input offset · weight row sums): the generated code passes a constant array of
      them, computed at generation time, so the arena reserves nothing.
    * AVERAGE_POOL_2D: none.
    * int16 with "dsp": CONV_2D ``2·k_h·k_w·in_c·sizeof(int16)``, DEPTHWISE_CONV_2D as above,
      AVERAGE_POOL_2D ``in_c·sizeof(int32)``.

    "any" is the larger of "dsp" and "mve" for each op.

    The kernel owner (firmware/cmsis_nn) may change these to match edgeq's kernels; keep
    the planner and the generated code in agreement by editing only this function.
    """
    if variant not in SCRATCH_VARIANTS:
        raise ValueError(f"scratch variant must be one of {SCRATCH_VARIANTS}, not {variant!r}")
    if variant == "any":
        return max(scratch_bytes(graph, op, "dsp"), scratch_bytes(graph, op, "mve"))
    code = op.opcode
    sp = op_registry.spec(code)
    if sp is not None and sp.scratch is not None:  # ops added through the registry say it themselves
        return int(sp.scratch(graph, op, variant))  # (for int16 activations too)
    if code not in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"):
        return 0
    s16 = bool(op.inputs) and op.inputs[0] >= 0 and graph.tensors[op.inputs[0]].dtype == "int16"
    g = conv_geometry(graph, op)
    k_c = graph.tensors[op.inputs[1]].shape[3] if code == "CONV_2D" else g["in_c"]
    return kernel_scratch(code, g, variant, k_c=k_c, s16=s16)


def kernel_scratch(code: str, g: dict, variant: str, k_c: int | None = None, s16: bool = False) -> int:
    """``scratch_bytes`` of a CONV_2D / DEPTHWISE_CONV_2D / AVERAGE_POOL_2D from its geometry
    (``conv_geometry``'s dict; ``k_c``: the filter's input channels, grouped convolution when
    ≠ in_c); ``variant`` one of portable / dsp / mve (not any)."""
    k_c = g["in_c"] if k_c is None else k_c
    if s16:
        return 0 if variant == "portable" else _upstream_s16(code, g, variant)
    if variant == "mve":
        return _upstream_mve_s8(code, g, k_c)
    if code == "CONV_2D":
        if g["k_h"] == 1 and g["k_w"] == 1 and g["pad_h"] == 0 and g["pad_w"] == 0 \
                and g["dil_h"] == 1 and g["dil_w"] == 1 and (variant == "portable" or k_c == g["in_c"]):
            return 0  # (upstream main runs a grouped 1×1 through im2col)
        cols = g["k_h"] * g["k_w"] * g["in_c"]
        return 2 * align_up(cols, 4) * 2
    if code == "DEPTHWISE_CONV_2D":
        if variant == "portable":
            return 0
        ch_mult = g["out_c"] // max(g["in_c"], 1)
        if ch_mult != 1 or g["dil_h"] != 1 or g["dil_w"] != 1:
            return 0
        if g["k_h"] == 3 and g["k_w"] == 3 and g["pad_h"] <= 1 and g["pad_w"] <= 1:
            return 0
        return g["in_c"] * g["k_h"] * g["k_w"] * 2
    if code == "AVERAGE_POOL_2D":
        return 0 if variant == "portable" else g["in_c"] * 4
    return 0


def _conv_1x1(g: dict, k_c: int) -> bool:
    return g["k_h"] == 1 and g["k_w"] == 1 and g["pad_h"] == 0 and g["pad_w"] == 0 \
        and g["dil_h"] == 1 and g["dil_w"] == 1 and g["in_c"] == k_c


def _conv_mve_im2col(cols: int) -> int:
    """arm_convolve_s8 on MVE: four im2col columns, each padded to whole 16-byte Q registers."""
    return 4 * ((cols + 15) // 16) * 16


def _conv_s8_mve(g: dict, k_c: int) -> int:
    """The buffer arm_convolve_wrapper_s8 wants on an MVE core for this geometry."""
    c = g["in_c"]
    if _conv_1x1(g, k_c):
        return 0
    if g["in_h"] == 1 and g["dil_w"] == 1 and g["k_h"] == 1 and (g["stride_w"] * c) % 4 == 0 and c == k_c:
        # arm_convolve_1_x_n_s8: one padded input row; the output row splits into left-padded,
        # unpadded and right-padded parts, else the general kernel runs
        pad, k, stride, out_w = g["pad_w"], g["k_w"], g["stride_w"], g["out_w"]
        asym = ((out_w - 1) * stride + k - g["in_w"]) % 2
        right_n = max(1, (pad + asym + stride - 1) // stride) if pad + asym != 0 else 0
        left_n = max(1, (pad + stride - 1) // stride) if pad != 0 else 0
        mid_n = max(out_w - (right_n + left_n), 0)
        if right_n + mid_n + left_n != out_w:
            return _conv_mve_im2col(c * g["k_w"] * g["k_h"])
        pad_left = pad * c
        pad_right = right_n * c if asym else pad_left
        return max(k * c + pad_left, (k - 1) * c + pad_right)
    return _conv_mve_im2col(g["k_h"] * g["k_w"] * c)


def _upstream_mve_s8(code: str, g: dict, k_c: int) -> int:
    """Upstream CMSIS-NN's int8 kernels on a Helium core (``*_get_buffer_size_mve``)."""
    if code == "CONV_2D":
        return _conv_s8_mve(g, k_c)
    if code == "DEPTHWISE_CONV_2D":
        size = 0
        if g["in_c"] == g["out_c"] and g["dil_h"] == 1 and g["dil_w"] == 1:
            size = 4 * _CH_IN_BLOCK_MVE * g["k_h"] * g["k_w"]
        if g["in_c"] == 1 and g["out_c"] > _DW_ONE_IN_CH_TO_CONV_ABOVE:
            # run as a convolution with out_c filters of one channel, after reordering the filter
            as_conv = _conv_s8_mve(g, 1) + g["k_h"] * g["k_w"] * g["out_c"]
            size = max(size, as_conv)
        return size
    # FULLY_CONNECTED: upstream's MVE kernel wants ``units · sizeof(int32)`` of kernel sums in its
    # buffer; the generated code computes them ahead of time and passes a constant array (no arena)
    return 0


def _upstream_s16(code: str, g: dict, variant: str) -> int:
    """Upstream CMSIS-NN's int16-activation kernels (16x8) on a DSP ("dsp") or Helium ("mve") core."""
    if code == "CONV_2D":
        cols = g["in_c"] * g["k_h"] * g["k_w"]
        return 4 * ((cols + 7) // 8) * 8 * 2 if variant == "mve" else 2 * cols * 2
    if code == "DEPTHWISE_CONV_2D":
        if g["out_c"] != g["in_c"] or g["dil_h"] != 1 or g["dil_w"] != 1 or g["k_h"] * g["k_w"] >= 512:
            return 0
        taps = g["in_c"] * g["k_h"] * g["k_w"] * 2
        return 4 * taps + 8 if variant == "mve" else taps
    if code == "AVERAGE_POOL_2D":
        return 0 if variant == "mve" else g["in_c"] * 4
    return 0
