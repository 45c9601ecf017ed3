"""Reading the ``.tflite`` flatbuffer into the IR (``edgeq.graph``) with the schema classes of the
``tflite`` package, no TensorFlow. Every malformed input becomes an ``InputError``."""

from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path

import numpy as np

from .errors import InputError
from .graph import Graph, Operator, PathOrBytes, Quant, Tensor

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


def read_source(source: PathOrBytes) -> tuple[bytes, str]:
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


def parse(data: bytes, label: str) -> Graph:
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
