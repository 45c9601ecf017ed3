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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

import numpy as np


def __getattr__(name: str):
    """``SUPPORTED_OPS``, ``INT16_OPS`` and ``ALIAS_OPS``, from the op registry (``edgeq.ops``):
    ops edgeq generate lowers, those with an int16 (16x8) kernel, and those whose output only
    reinterprets the input's memory. Computed on first use (the registry imports its modules)."""
    from . import ops

    sets = {"SUPPORTED_OPS": ops.supported_ops, "INT16_OPS": ops.int16_ops, "ALIAS_OPS": ops.alias_ops}
    if name in sets:
        return sets[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from .tflite_reader import parse, read_source

    data, label = read_source(source)
    graph = parse(data, label)
    graph.name = name or label
    if check_supported:
        check_graph(graph, label)
    return graph


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


def iter_ops(graph: Graph, opcodes: Iterable[str]) -> list[Operator]:
    """Operators whose opcode is in ``opcodes``, in execution order."""
    wanted = set(opcodes)
    return [op for op in graph.operators if op.opcode in wanted]


# Validation lives in its own module; the names stay importable from here.
from .graph_checks import MAX_TENSOR_BYTES, check_graph, validate  # noqa: E402,F401
