"""The IR: a parsed ``.tflite`` model as plain dataclasses, read without TensorFlow.

One IR feeds both the memory planner (``edgeq.memory``) and the code generator
(``edgeq.codegen``). Its shape is meant to stay stable:

``Graph``
    ``tensors`` (list of ``Tensor``, indexed by TFLite tensor index), ``operators`` (list of
    ``Operator`` in execution order), ``inputs`` / ``outputs`` (tensor indices), ``description``,
    ``sha256`` (of the file bytes), ``version`` (schema version), ``nbytes`` (file size).

``Tensor``
    ``index``, ``name``, ``shape`` (tuple of int; ``()`` for a scalar), ``dtype`` (numpy-style
    name: "int8", "uint8", "int16", "int32", "int64", "float32", "float16", "bool", ...),
    ``quant`` (``Quant``: ``scales`` float32 array, ``zero_points`` int64 array, ``axis``; both
    arrays empty when the tensor is not quantized), ``data`` (numpy array of ``shape`` and
    ``dtype`` for constants, else ``None``), ``buffer`` (TFLite buffer index), ``is_variable``.
    Properties: ``size`` (elements), ``itemsize``, ``nbytes``, ``is_constant``, ``per_channel``.

``Operator``
    ``index`` (position in execution order), ``opcode`` (builtin name such as "CONV_2D"; the
    effective code is ``max(builtin_code, deprecated_builtin_code)``; custom ops are "CUSTOM"
    with ``custom_code`` set), ``version``, ``inputs`` / ``outputs`` (tensor indices, ``-1`` for
    an absent optional input), ``options`` (plain dict of the builtin options, TFLite schema
    field names in snake_case, enums as names: ``padding`` "SAME"/"VALID",
    ``fused_activation_function`` "NONE"/"RELU"/"RELU6"/..., ``stride_h``/``stride_w``,
    ``dilation_h_factor``/``dilation_w_factor``, ``depth_multiplier``, ``filter_height``/
    ``filter_width``, ``axis``, ``keep_dims``, ``beta``, ``new_shape``, ``squeeze_dims``, ...).

Every malformed or unsupported input raises ``edgeq.errors.InputError`` with a message that
names the file and, for ops, the operator position, opcode and output tensor.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

import numpy as np

from .errors import InputError, OpError

def __getattr__(name: str):
    """``SUPPORTED_OPS``, ``INT16_OPS`` and ``ALIAS_OPS``, from the op registry (``edgeq.ops``):
    ops edgeq generate lowers, those with an int16 (16x8) kernel, and those whose output only
    reinterprets the input's memory. Computed on first use (the registry imports its modules)."""
    from . import ops

    sets = {"SUPPORTED_OPS": ops.supported_ops, "INT16_OPS": ops.int16_ops, "ALIAS_OPS": ops.alias_ops}
    if name in sets:
        return sets[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FILE_ID = b"TFL3"

# TensorType → (name, numpy dtype or None when there is no plain numpy equivalent)
_DTYPES = {
    "FLOAT32": ("float32", np.float32), "FLOAT16": ("float16", np.float16),
    "FLOAT64": ("float64", np.float64), "INT32": ("int32", np.int32), "UINT8": ("uint8", np.uint8),
    "INT64": ("int64", np.int64), "STRING": ("string", None), "BOOL": ("bool", np.bool_),
    "INT16": ("int16", np.int16), "COMPLEX64": ("complex64", np.complex64), "INT8": ("int8", np.int8),
    "COMPLEX128": ("complex128", np.complex128), "UINT64": ("uint64", np.uint64),
    "RESOURCE": ("resource", None), "VARIANT": ("variant", None), "UINT32": ("uint32", np.uint32),
    "UINT16": ("uint16", np.uint16), "INT4": ("int4", None), "BFLOAT16": ("bfloat16", None),
}

_ITEMSIZE = {"float32": 4, "float16": 2, "float64": 8, "int32": 4, "uint8": 1, "int64": 8, "bool": 1,
             "int16": 2, "complex64": 8, "int8": 1, "complex128": 16, "uint64": 8, "uint32": 4,
             "uint16": 2, "bfloat16": 2}

PathOrBytes = Union[str, Path, bytes, bytearray, memoryview]


# ------------------------------------------------------------------------------------ dataclasses

@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = (q - zero_point) * scale, per tensor or per channel on `axis`."""

    scales: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    zero_points: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    axis: int = 0

    @property
    def is_quantized(self) -> bool:
        return self.scales.size > 0

    @property
    def per_channel(self) -> bool:
        return self.scales.size > 1

    @property
    def scale(self) -> float:
        """The per-tensor scale (first scale); raises if the tensor is not quantized."""
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if self.zero_points.size else 0


@dataclass(eq=False)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant
    data: np.ndarray | None = None
    buffer: int = 0
    is_variable: bool = False

    @property
    def size(self) -> int:
        """Number of elements (1 for a scalar)."""
        n = 1
        for d in self.shape:
            n *= max(int(d), 0)
        return n

    @property
    def itemsize(self) -> int:
        if self.dtype == "int4":
            return 1  # packed two per byte; nbytes accounts for it
        return _ITEMSIZE.get(self.dtype, 1)

    @property
    def nbytes(self) -> int:
        """Bytes the tensor occupies (its constant data, or the activation buffer it needs)."""
        if self.dtype == "int4":
            return (self.size + 1) // 2
        return self.size * self.itemsize

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def per_channel(self) -> bool:
        return self.quant.per_channel

    def __repr__(self) -> str:
        kind = "const" if self.is_constant else "act"
        return f"Tensor(#{self.index} {self.name!r} {self.dtype}{list(self.shape)} {kind})"


@dataclass(eq=False)
class Operator:
    index: int
    opcode: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict
    version: int = 1
    custom_code: str | None = None

    @property
    def label(self) -> str:
        return f"custom op {self.custom_code!r}" if self.opcode == "CUSTOM" else self.opcode

    def __repr__(self) -> str:
        return f"Operator(#{self.index} {self.label} in={list(self.inputs)} out={list(self.outputs)})"


@dataclass(eq=False)
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str = ""
    sha256: str = ""
    version: int = 3
    nbytes: int = 0
    name: str = ""

    def tensor(self, i: int) -> Tensor:
        return self.tensors[i]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        """The op's input tensors (None where an optional input is absent)."""
        return [None if i < 0 else self.tensors[i] for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]

    def constant_tensors(self) -> list[Tensor]:
        return [t for t in self.tensors if t.is_constant]

    def activation_tensors(self) -> list[Tensor]:
        """Non-constant tensors that some op reads or writes, or that are graph I/O."""
        used = set(self.inputs) | set(self.outputs)
        for op in self.operators:
            used.update(i for i in op.inputs if i >= 0)
            used.update(op.outputs)
        return [t for t in self.tensors if not t.is_constant and t.index in used]

    def producer(self, tensor_index: int) -> Operator | None:
        """The op that writes the tensor (None for graph inputs and constants).

        producer()/consumers() cache an index of the operators: call ``invalidate()`` after
        editing ``operators`` in place."""
        return self._producers().get(tensor_index)

    def invalidate(self) -> None:
        """Drop the cached producer/consumer index (after editing the graph)."""
        self.__dict__.pop("_prod", None)
        self.__dict__.pop("_cons", None)

    def consumers(self, tensor_index: int) -> list[Operator]:
        return self._consumers().get(tensor_index, [])

    def opcodes(self) -> list[str]:
        """Distinct op labels in first-use order."""
        seen: dict[str, None] = {}
        for op in self.operators:
            seen.setdefault(op.label, None)
        return list(seen)

    def _producers(self) -> dict[int, Operator]:
        cache = self.__dict__.get("_prod")
        if cache is None:
            cache = {o: op for op in self.operators for o in op.outputs}
            self.__dict__["_prod"] = cache
        return cache

    def _consumers(self) -> dict[int, list[Operator]]:
        cache = self.__dict__.get("_cons")
        if cache is None:
            cache = {}
            for op in self.operators:
                for i in dict.fromkeys(op.inputs):
                    if i >= 0:
                        cache.setdefault(i, []).append(op)
            self.__dict__["_cons"] = cache
        return cache

    def __repr__(self) -> str:
        return (f"Graph({self.name or 'model'}: {len(self.operators)} ops, {len(self.tensors)} tensors, "
                f"in={list(self.inputs)} out={list(self.outputs)})")


# ---------------------------------------------------------------------------------------- loading

def load_graph(source: PathOrBytes, check_supported: bool = True, name: str | None = None) -> Graph:
    """Parse a ``.tflite`` file (path or bytes) into a ``Graph``.

    With ``check_supported`` (the default) the model must also be something edgeq can compile:
    fully integer (no float activations except graph I/O converted by QUANTIZE/DEQUANTIZE) and
    only ops from ``SUPPORTED_OPS``. Raises ``InputError`` otherwise, or when the file is not a
    valid TFLite flatbuffer.
    """
    data, label = _read_source(source)
    graph = _parse(data, label)
    graph.name = name or label
    if check_supported:
        check_graph(graph, label)
    return graph


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


def int16_activation(graph: Graph, op: Operator) -> Tensor | None:
    """The op's first non-constant int16 input or output (None if it has none). Variable tensors
    (an LSTM's int16 cell state) are the op's own state, not activations flowing between ops."""
    for i in (*op.inputs, *op.outputs):
        if i >= 0 and graph.tensors[i].dtype == "int16" and not graph.tensors[i].is_constant \
                and not graph.tensors[i].is_variable:
            return graph.tensors[i]
    return None


def short_name(name: str, limit: int = 60) -> str:
    """A tensor name fit for a one-line message: the converter joins the names of every fused
    layer with ';' (1.5 KB for an UNPACK), so keep the first and cut it at ``limit``."""
    first = name.split(";")[0]
    more = first != name
    if len(first) > limit:
        first, more = first[:limit], True
    return first + ("…" if more else "")


def tensor_label(name: str, width: int = 32) -> str:
    """A readable tail of a TFLite tensor name for tables: the first of ';'-joined names, without
    the traced scopes ('functional_1/conv2d_1/Relu;...' → 'conv2d_1/Relu'), cut from the left."""
    first = name.split(";")[0].split(":")[0].removeprefix("serving_default_")
    parts = [p for p in first.split("/") if p]
    tail = "/".join(parts[-2:]) if len(parts) > 1 else first
    return tail if len(tail) <= width else "…" + tail[-(width - 1):]


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


def _read_source(source: PathOrBytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "model"
    path = Path(source)
    if not path.exists():
        raise InputError(f"model not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a .tflite file")
    try:
        return path.read_bytes(), path.name
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from e


_NOT_TFLITE_HINT = "give an int8 .tflite produced by `edgeq convert` (or TFLiteConverter)"


def _parse(data: bytes, label: str) -> Graph:
    if len(data) < 8:
        raise InputError(f"{label} is not a TFLite model ({len(data)} bytes: too short)", hint=_NOT_TFLITE_HINT)
    if data[4:8] != _FILE_ID:
        raise InputError(f"{label} is not a TFLite model (no 'TFL3' file identifier)", hint=_NOT_TFLITE_HINT)
    import tflite  # the generated flatbuffer schema classes (pure Python, no TensorFlow)

    try:
        return _parse_model(tflite, data, label)
    except InputError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, AttributeError,
            UnicodeDecodeError, MemoryError, RecursionError) as e:
        raise InputError(f"{label} is a malformed or truncated TFLite file ({type(e).__name__}: {e})",
                         hint=_NOT_TFLITE_HINT) from e


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


_ENUMS: dict[str, dict[int, str]] = {}


def _enums(tflite) -> dict[str, dict[int, str]]:
    if not _ENUMS:
        _ENUMS.update(
            op=_enum_names(tflite.BuiltinOperator), options=_enum_names(tflite.BuiltinOptions),
            dtype=_enum_names(tflite.TensorType), padding=_enum_names(tflite.Padding),
            act=_enum_names(tflite.ActivationFunctionType),
            weights_format=_enum_names(tflite.FullyConnectedOptionsWeightsFormat),
            mirror=_enum_names(tflite.MirrorPadMode))
    return _ENUMS


def _check_index(i: int, n: int, what: str) -> int:
    if not 0 <= i < n:
        raise InputError(f"malformed TFLite file: {what} {i} out of range (0..{n - 1})")
    return i


def _parse_model(tflite, data: bytes, label: str) -> Graph:
    enums = _enums(tflite)
    buf = bytearray(data)  # flatbuffers' numpy helpers want a writable-compatible buffer type
    if len(data) < 8 or struct.unpack_from("<I", data, 0)[0] >= len(data):
        raise InputError(f"{label} is a truncated TFLite file (root offset beyond the end)", hint=_NOT_TFLITE_HINT)
    model = tflite.Model.GetRootAs(buf, 0)
    n_sub = model.SubgraphsLength()
    if n_sub == 0:
        raise InputError(f"{label} has no subgraph: not a usable TFLite model")
    if n_sub > 1:
        raise InputError(f"{label} has {n_sub} subgraphs (control flow such as WHILE/IF, or several "
                         "signatures); edgeq supports single-subgraph models",
                         hint="convert without control flow (unrolled loops, no tf.cond)")
    version = model.Version()
    description = (model.Description() or b"").decode("utf-8", "replace")

    # operator codes
    opcodes: list[tuple[str, str | None]] = []
    for k in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(k)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        name = enums["op"].get(code, f"BUILTIN_{code}")
        custom = oc.CustomCode()
        opcodes.append((name, custom.decode("utf-8", "replace") if custom is not None else None))

    n_buffers = model.BuffersLength()
    sub = model.Subgraphs(0)

    tensors: list[Tensor] = []
    n_tensors = sub.TensorsLength()
    for i in range(n_tensors):
        t = sub.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if not t.ShapeIsNone() else ()
        type_name = enums["dtype"].get(int(t.Type()), f"TYPE_{t.Type()}")
        dtype, npdtype = _DTYPES.get(type_name, (type_name.lower(), None))
        quant = _quant(t.Quantization())
        b = _check_index(int(t.Buffer()), max(n_buffers, 1), f"tensor {i} buffer index")
        raw = _buffer_bytes(model, b, data) if n_buffers else None
        arr = None
        if raw is not None and len(raw):
            arr = _constant(raw, dtype, npdtype, shape, i, t)
        name = (t.Name() or b"").decode("utf-8", "replace")
        tensors.append(Tensor(index=i, name=name, shape=shape, dtype=dtype, quant=quant, data=arr,
                              buffer=b, is_variable=bool(t.IsVariable())))

    operators: list[Operator] = []
    for k in range(sub.OperatorsLength()):
        o = sub.Operators(k)
        idx = int(o.OpcodeIndex())
        _check_index(idx, len(opcodes), f"operator #{k} opcode index")
        name, custom = opcodes[idx]
        ins = tuple(int(x) for x in o.InputsAsNumpy()) if not o.InputsIsNone() else ()
        outs = tuple(int(x) for x in o.OutputsAsNumpy()) if not o.OutputsIsNone() else ()
        for x in ins:
            if x != -1:
                _check_index(x, n_tensors, f"operator #{k} input tensor")
        for x in outs:
            _check_index(x, n_tensors, f"operator #{k} output tensor")
        options = _options(tflite, enums, o)
        version_ = int(model.OperatorCodes(idx).Version())
        operators.append(Operator(index=k, opcode=name, inputs=ins, outputs=outs, options=options,
                                  version=version_, custom_code=custom if name == "CUSTOM" else None))

    inputs = tuple(int(x) for x in sub.InputsAsNumpy()) if not sub.InputsIsNone() else ()
    outputs = tuple(int(x) for x in sub.OutputsAsNumpy()) if not sub.OutputsIsNone() else ()
    for x in inputs + outputs:
        _check_index(x, n_tensors, "graph input/output tensor")
    return Graph(tensors=tensors, operators=operators, inputs=inputs, outputs=outputs,
                 description=description, sha256=hashlib.sha256(data).hexdigest(), version=version,
                 nbytes=len(data))


def _quant(q) -> Quant:
    if q is None:
        return Quant()
    scales = np.asarray(q.ScaleAsNumpy(), np.float32) if q.ScaleLength() else np.zeros(0, np.float32)
    zps = np.asarray(q.ZeroPointAsNumpy(), np.int64) if q.ZeroPointLength() else np.zeros(0, np.int64)
    if scales.size and zps.size not in (0, scales.size):
        raise InputError(f"malformed quantization: {scales.size} scales but {zps.size} zero points")
    if scales.size and not zps.size:
        zps = np.zeros(scales.size, np.int64)
    return Quant(scales=scales.reshape(-1), zero_points=zps.reshape(-1), axis=int(q.QuantizedDimension()))


def _buffer_bytes(model, b: int, data: bytes) -> bytes | None:
    if b == 0:
        return None  # buffer 0 is the empty sentinel
    buffer = model.Buffers(b)
    offset, size = int(buffer.Offset()), int(buffer.Size())
    if offset > 1:  # data stored after the flatbuffer (models > 2 GB layout)
        if offset + size > len(data):
            raise InputError(f"truncated TFLite file: buffer {b} extends beyond the end of the file")
        return data[offset:offset + size]
    if buffer.DataIsNone() or buffer.DataLength() == 0:
        return None
    arr = buffer.DataAsNumpy()
    return arr.tobytes()


def _constant(raw: bytes, dtype: str, npdtype, shape: tuple[int, ...], i: int, t) -> np.ndarray:
    if npdtype is None:
        return np.frombuffer(raw, np.uint8).copy()  # opaque (int4, string...): raw bytes
    n = 1
    for d in shape:
        n *= d
    itemsize = np.dtype(npdtype).itemsize
    if len(raw) != n * itemsize:
        name = (t.Name() or b"").decode("utf-8", "replace")
        raise InputError(f"malformed TFLite file: tensor {i} ({name!r}) has {len(raw)} bytes of data, "
                         f"expected {n * itemsize} for {dtype}{list(shape)}")
    arr = np.frombuffer(raw, dtype=np.dtype(npdtype).newbyteorder("<")).astype(npdtype, copy=True)
    return arr.reshape(shape)


_SKIP_METHODS = {"Init"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_OPTION_FIELDS_CACHE: dict[str, list[tuple[str, str, bool]]] = {}


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _option_fields(cls) -> list[tuple[str, str, bool]]:
    """(method, snake_name, is_vector) for the getters of a generated options table class."""
    key = cls.__name__
    if key not in _OPTION_FIELDS_CACHE:
        names = [n for n in vars(cls) if not n.startswith("_") and callable(getattr(cls, n))]
        fields = []
        for n in names:
            if n in _SKIP_METHODS or n.startswith("GetRootAs") or n.endswith("BufferHasIdentifier"):
                continue
            if n.endswith(("AsNumpy", "IsNone", "Length")):
                continue
            is_vec = f"{n}Length" in names
            fields.append((n, _snake(n), is_vec))
        _OPTION_FIELDS_CACHE[key] = fields
    return _OPTION_FIELDS_CACHE[key]


_ENUM_FIELDS = {"padding": "padding", "fused_activation_function": "act", "weights_format": "weights_format",
                "mode": "mirror"}


def _options(tflite, enums, o) -> dict:
    kind = int(o.BuiltinOptionsType())
    if kind == 0:
        return {}
    cls_name = enums["options"].get(kind)
    cls = getattr(tflite, cls_name, None) if cls_name else None
    table = o.BuiltinOptions()
    if cls is None or table is None:
        return {}
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    out: dict = {}
    for method, key, is_vec in _option_fields(cls):
        fn = getattr(opts, method)
        if is_vec:
            if getattr(opts, f"{method}IsNone")():
                out[key] = []
                continue
            out[key] = [v.item() if hasattr(v, "item") else v for v in getattr(opts, f"{method}AsNumpy")()]
            continue
        try:
            v = fn()
        except TypeError:
            continue  # a getter that takes arguments (nested table): not needed here
        if hasattr(v, "_tab") or v is None:
            continue
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, (bool, np.bool_)):
            v = bool(v)
        elif isinstance(v, (float, np.floating)):
            v = float(v)
        elif isinstance(v, (int, np.integer)):
            v = int(v)
        if key in _ENUM_FIELDS and isinstance(v, int):
            v = enums[_ENUM_FIELDS[key]].get(v, v)
        elif key == "quantized_bias_type" and isinstance(v, int):
            if v == 0:
                continue  # FLOAT32 (0) is the schema's "not set"
            v = _DTYPES.get(enums["dtype"].get(v, ""), (v,))[0]
        out[key] = v
    return out


def iter_ops(graph: Graph, opcodes: Iterable[str]) -> list[Operator]:
    """Operators whose opcode is in ``opcodes``, in execution order."""
    wanted = set(opcodes)
    return [op for op in graph.operators if op.opcode in wanted]
