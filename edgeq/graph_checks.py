"""Checks on a parsed graph: ``validate`` (a sane file: shapes, scales, zero points, structure;
shared by size-check and generate) and ``check_graph`` (also: something edgeq can compile)."""

from __future__ import annotations

import numpy as np

from .errors import InputError, OpError
from .graph import _ITEMSIZE, Graph, Operator, Tensor, int16_activation, short_name
from .tflite_reader import _NOT_TFLITE_HINT


def check_graph(graph: Graph, label: str = "model") -> None:
    """Raise InputError if the graph is float/hybrid or uses an op outside ``SUPPORTED_OPS``."""
    from . import ops

    validate(graph, label)
    _check_integer(graph, label)
    supported, int16 = ops.supported_ops(), ops.int16_ops()
    for op in graph.operators:
        if op.opcode not in supported:
            raise OpError(
                f"{label}: operator #{op.index} ({op.label}{_out_desc(graph, op)}) is not supported by edgeq",
                op.index, hint="`edgeq ops` lists the supported ops")
        problem = _structure_problem(graph, op)
        if problem:
            raise OpError(f"{label}: operator #{op.index} ({op.label}{_out_desc(graph, op)}): {problem}", op.index)
        wide = int16_activation(graph, op)
        if wide is not None and op.opcode not in int16:
            raise OpError(
                f"{label}: operator #{op.index} ({op.label}{_out_desc(graph, op)}) has int16 activation "
                f"{wide.name!r}; this op has no int16 kernel (`edgeq ops` lists those that have)",
                op.index, hint="keep this layer in int8 (or requantize around it with QUANTIZE ops)")


#: Activation bytes beyond which a tensor is taken for a corrupted file (no MCU has 256 MiB of SRAM).
MAX_TENSOR_BYTES = 1 << 28
_INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(1 << 31), (1 << 31) - 1),
               "int64": (-(1 << 63), (1 << 63) - 1)}


def validate(graph: Graph, label: str = "model") -> None:
    """Reject a model that is structurally invalid before anything plans or lowers it: an empty
    graph, graph inputs/outputs that are constants, dimensions that are not positive (or absurdly
    large), scales that are not positive finite numbers, zero points outside their type's range,
    per-channel quantization that does not match its axis. size-check and generate share it."""
    if not graph.inputs or not graph.outputs or not graph.operators:
        raise InputError(f"{label} has an empty graph ({len(graph.inputs)} inputs, {len(graph.outputs)} outputs, "
                         f"{len(graph.operators)} operators)", hint=_NOT_TFLITE_HINT)
    for i in (*graph.inputs, *graph.outputs):
        t = graph.tensors[i]
        if t.is_constant:
            raise InputError(f"{label}: graph input/output tensor {short_name(t.name)!r} is a constant")
    used = {i for op in graph.operators for i in (*op.inputs, *op.outputs) if i >= 0}
    used |= set(graph.inputs) | set(graph.outputs)
    for i in sorted(used):
        problem = _tensor_problem(graph.tensors[i])
        if problem:
            raise InputError(f"{label}: tensor {i} ({short_name(graph.tensors[i].name)!r}) {problem}",
                             hint="the file is corrupted or was not written by the TFLite converter")


def _tensor_problem(t: Tensor) -> str | None:
    if any(d <= 0 for d in t.shape):
        return f"has shape {list(t.shape)}: every dimension must be positive"
    n = 1
    for d in t.shape:
        n *= d
    if n * _ITEMSIZE.get(t.dtype, 1) > MAX_TENSOR_BYTES:
        return f"has shape {list(t.shape)}: {n} elements is not a microcontroller tensor"
    q = t.quant
    if not q.is_quantized:
        return None
    if not np.all(np.isfinite(q.scales)) or np.any(q.scales <= 0):
        bad = next(float(v) for v in q.scales if not (np.isfinite(v) and v > 0))
        return f"has scale {bad!r}: scales must be positive finite numbers"
    lo, hi = _INT_RANGES.get(t.dtype, (None, None))
    if lo is not None and (np.any(q.zero_points < lo) or np.any(q.zero_points > hi)):
        bad = next(int(v) for v in q.zero_points if not lo <= v <= hi)
        return f"has zero point {bad}, outside the {t.dtype} range [{lo}, {hi}]"
    if q.per_channel and (q.axis >= len(t.shape) or q.axis < 0 or t.shape[q.axis] != q.scales.size):
        return (f"has {q.scales.size} per-channel scales on axis {q.axis}, which does not match its shape "
                f"{list(t.shape)}")
    return None


def _structure_problem(graph: Graph, op: Operator) -> str | None:
    """What is wrong with a supported op's operands (None if nothing): counts, ranks, constants."""
    if not op.outputs:
        return "has no output"
    if op.opcode not in ("QUANTIZE", "DEQUANTIZE") and (not op.inputs or op.inputs[0] < 0):
        return "has no data input"
    from . import ops

    sp = ops.spec(op.opcode)
    n_min, ranks, out_rank, consts = sp.min_inputs, sp.ranks, sp.out_rank, sp.const_inputs
    if len(op.inputs) < n_min or any(i < 0 for i in op.inputs[:n_min]):
        return f"expects at least {n_min} inputs, has {len([i for i in op.inputs if i >= 0])}"
    for pos, rank in ranks.items():
        t = graph.tensors[op.inputs[pos]]
        if len(t.shape) != rank:
            return f"input {pos} ({t.name!r}) has shape {list(t.shape)}, expected rank {rank}"
    if out_rank is not None and len(graph.tensors[op.outputs[0]].shape) != out_rank:
        return f"output has shape {list(graph.tensors[op.outputs[0]].shape)}, expected rank {out_rank}"
    for pos in consts:
        t = graph.tensors[op.inputs[pos]]
        if not t.is_constant:
            return f"input {pos} ({t.name!r}) must be a constant (weights/shape given at conversion time)"
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op.inputs) > 2 \
            and op.inputs[2] >= 0 and not graph.tensors[op.inputs[2]].is_constant:
        return f"bias input ({graph.tensors[op.inputs[2]].name!r}) must be a constant"
    return None


def _out_desc(graph: Graph, op: Operator) -> str:
    if op.outputs and 0 <= op.outputs[0] < len(graph.tensors):
        return f", output tensor {short_name(graph.tensors[op.outputs[0]].name)!r}"
    return ""


def _check_integer(graph: Graph, label: str) -> None:
    graph_in, graph_out = set(graph.inputs), set(graph.outputs)
    for t in graph.tensors:
        if t.is_constant or not t.dtype.startswith("float"):
            continue
        consumers = graph.consumers(t.index)
        producer = graph.producer(t.index)
        if t.index in graph_in and producer is None and consumers and all(
                c.opcode == "QUANTIZE" for c in consumers):
            continue
        if t.index in graph_out and producer is not None and producer.opcode == "DEQUANTIZE" \
                and not consumers:
            continue
        if not consumers and producer is None and t.index not in graph_in | graph_out:
            continue  # an unused tensor: harmless
        user = producer or (consumers[0] if consumers else None)
        where = f" (operator #{user.index} {user.label})" if user is not None else ""
        kind = "float" if not any(
            c.is_constant and c.dtype in ("int8", "int4") for op in graph.operators
            for c in graph.op_inputs(op) if c is not None) else "hybrid (float activations, int8 weights)"
        raise InputError(
            f"{label} is a {kind} model: tensor {t.name!r} is {t.dtype}{where}; edgeq needs a "
            f"fully integer-quantized model (int8/int16 activations)",
            hint="convert it with full-integer quantization: edgeq convert MODEL --calib DATA")
