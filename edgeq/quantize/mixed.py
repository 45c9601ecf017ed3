"""Mixed precision: chosen activations at int16 (TFLite's 16x8 ops around them), the rest int8.

The converter quantizes a whole model in one mode, so edgeq converts it twice from the same
calibration data, full int8 and full 16x8, and splices the two flatbuffers: every op that
produces or reads a kept activation comes from the 16x8 model (int16 activations, int8 weights,
int64 bias), every other op from the int8 model, and a QUANTIZE op (which TFLM and edgeq's
kernels run as an integer requantization) sits on each edge between the two worlds.

Keeping an activation means keeping it on both sides: an int16 producer whose output is
requantized to int8 before its consumer reads it would win nothing back. So "keep layer L" runs
L and the ops that read L's output at 16 bits; RESHAPE/SQUEEZE only move values, so a kept
activation stays kept through them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..errors import InputError

PASSIVE = {"RESHAPE", "SQUEEZE"}  # move values without rescaling: a kept tensor stays kept through them


@dataclass
class SpliceResult:
    tflite: bytes
    int16_tensors: list[str]  # activation tensors stored as int16
    int16_ops: list[int]  # operator indices (of the int8 model) that run 16x8
    requantize_ops: int  # QUANTIZE ops inserted at int8/int16 boundaries
    layers: list[str] = field(default_factory=list)


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    return schema, flatbuffer_utils


def _name(t) -> str:
    n = t.name
    return n.decode() if isinstance(n, bytes) else n


class FlatGraph:
    """A read-only look at one subgraph: opcode names, producers, consumers, constants."""

    def __init__(self, model):
        schema, _ = _schema()
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.model = model
        self.sg = model.subgraphs[0]
        self.ops = list(self.sg.operators)
        self.opcode = [names.get(self.code(op), str(self.code(op))) for op in self.ops]
        self.producer: dict[int, int] = {}
        self.consumers: dict[int, list[int]] = {}
        for k, op in enumerate(self.ops):
            for o in op.outputs:
                self.producer[int(o)] = k
            for i in op.inputs:
                if i >= 0 and not self.is_constant(int(i)):
                    self.consumers.setdefault(int(i), []).append(k)

    def code(self, op) -> int:
        c = self.model.operatorCodes[op.opcodeIndex]
        return max(int(c.builtinCode), int(c.deprecatedBuiltinCode))

    def is_constant(self, t: int) -> bool:
        buf = self.model.buffers[self.sg.tensors[t].buffer] if self.sg.tensors[t].buffer > 0 else None
        return buf is not None and buf.data is not None and len(buf.data) > 0

    def tensor_name(self, t: int) -> str:
        return _name(self.sg.tensors[t])

    def out_name(self, k: int) -> str:
        return self.tensor_name(int(self.ops[k].outputs[0]))


def read(tflite: bytes):
    _, fb = _schema()
    return fb.read_model_from_bytearray(bytearray(tflite))


def layer_ops(v: FlatGraph, layer_of) -> dict[str, list[int]]:
    """Keras layer name → indices of the (non-passive) ops computing it. ``layer_of(tensor name)``
    maps a TFLite tensor name back to its layer (see keras_io.LayerMap)."""
    out: dict[str, list[int]] = {}
    for k in range(len(v.ops)):
        if v.opcode[k] in PASSIVE or v.opcode[k] in ("QUANTIZE", "DEQUANTIZE"):
            continue
        layer = layer_of(v.out_name(k))
        if layer:
            out.setdefault(layer, []).append(k)
    return out


def kept_closure(v: FlatGraph, tensors: set[int]) -> set[int]:
    """The kept tensors plus everything a passive op makes of them."""
    todo, seen = list(tensors), set(tensors)
    while todo:
        t = todo.pop()
        for k in v.consumers.get(t, []):
            if v.opcode[k] in PASSIVE:
                o = int(v.ops[k].outputs[0])
                if o not in seen:
                    seen.add(o)
                    todo.append(o)
    return seen


def int16_ops_for(v: FlatGraph, kept: set[int], describe, int16_capable: frozenset[str]) -> set[int]:
    """The ops that must run 16x8 to keep ``kept`` at int16; refuse an op without an int16 kernel."""
    ops: set[int] = set()
    for t in sorted(kept):
        if t in v.producer:
            ops.add(v.producer[t])
        ops.update(v.consumers.get(t, []))
    for k in sorted(ops):
        if v.opcode[k] not in int16_capable:
            raise InputError(
                f"{describe(k)} would have to run with int16 activations, but edgeq generate has no int16 "
                f"kernel for {v.opcode[k]}",
                hint="keep a layer whose output is read by ops with int16 kernels: "
                     + ", ".join(sorted(int16_capable - {"QUANTIZE"})))
    return ops


def splice(int8: bytes, int16: bytes, keep_tensors: set[str], int16_capable: frozenset[str],
           describe=None) -> SpliceResult:
    """The int8 model with the named activation tensors (and what passive ops make of them) at int16.

    ``int16`` must be the 16x8 conversion of the same model from the same calibration data: ops
    and tensors are matched by name, and a mismatch is an error rather than a guess."""
    schema, fb = _schema()
    m8, m16 = read(int8), read(int16)
    v8, v16 = FlatGraph(m8), FlatGraph(m16)
    describe = describe or (lambda k: f"operator #{k} ({v8.opcode[k]})")
    by_name8 = {v8.tensor_name(i): i for i in range(len(v8.sg.tensors))}
    op16_by_out = {v16.out_name(k): k for k in range(len(v16.ops))}
    missing = sorted(n for n in keep_tensors if n not in by_name8)
    if missing:
        raise InputError(f"no activation tensor named {missing[0]!r} in the int8 model")
    kept = kept_closure(v8, {by_name8[n] for n in keep_tensors})
    wide_ops = int16_ops_for(v8, kept, describe, int16_capable)

    sg = v8.sg
    original = [copy.deepcopy(t) for t in sg.tensors]  # the int8 versions, before any retyping

    def add_tensor(t) -> int:
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    def copy_constant(t16: int) -> int:
        t = copy.deepcopy(v16.sg.tensors[t16])
        m8.buffers.append(copy.deepcopy(m16.buffers[t.buffer]))
        t.buffer = len(m8.buffers) - 1
        return add_tensor(t)

    def opcode_index(code: int, version: int) -> int:
        for i, c in enumerate(m8.operatorCodes):
            if max(int(c.builtinCode), int(c.deprecatedBuiltinCode)) == code and int(c.version) == version:
                return i
        c = schema.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, min(code, 127), version
        m8.operatorCodes.append(c)
        return len(m8.operatorCodes) - 1

    # 1. ops that run 16x8 take the 16x8 model's op: options, opcode version, int8 weights, int64 bias
    wide_tensors: set[int] = set()
    counterpart: dict[int, int] = {}  # int8-model activation → the same tensor in the 16x8 model
    for k in sorted(wide_ops):
        op = v8.ops[k]
        k16 = op16_by_out.get(v8.out_name(k))
        if k16 is None or v16.opcode[k16] != v8.opcode[k] or len(v16.ops[k16].inputs) != len(op.inputs):
            raise InputError(f"{describe(k)}: the int8 and 16x8 conversions differ here, cannot mix them")
        op16 = v16.ops[k16]
        code16 = m16.operatorCodes[op16.opcodeIndex]
        op.opcodeIndex = opcode_index(v16.code(op16), int(code16.version))
        op.builtinOptionsType, op.builtinOptions = op16.builtinOptionsType, copy.deepcopy(op16.builtinOptions)
        inputs = list(op.inputs)
        for j, (t8, t16) in enumerate(zip(op.inputs, op16.inputs)):
            if t8 >= 0 and v8.is_constant(int(t8)):
                inputs[j] = copy_constant(int(t16))
            elif t8 >= 0:
                counterpart.setdefault(int(t8), int(t16))
        op.inputs = inputs
        for o8, o16 in zip(op.outputs, op16.outputs):
            wide_tensors.add(int(o8))
            counterpart[int(o8)] = int(o16)

    # 2. what those ops write is int16, with the 16x8 model's scale (zero point 0)
    for t in wide_tensors:
        src = v16.sg.tensors[counterpart[t]]
        sg.tensors[t].type = schema.TensorType.INT16
        sg.tensors[t].quantization = copy.deepcopy(src.quantization)

    # 3. a QUANTIZE on every edge between an int8 and an int16 side, just before its first reader
    q_code = opcode_index(schema.BuiltinOperator.QUANTIZE, 1)
    converted: dict[int, int] = {}
    new_ops = []

    def converted_tensor(t: int, to_wide: bool) -> int:
        if t not in converted:
            name = v8.tensor_name(t)
            if to_wide:
                nt = copy.deepcopy(v16.sg.tensors[counterpart[t]])
                nt.name = (name + "/int16").encode()
            else:
                nt = copy.deepcopy(original[t])
                nt.name = (name + "/int8").encode()
            nt.buffer = 0
            converted[t] = add_tensor(nt)
            q = schema.OperatorT()
            q.opcodeIndex, q.inputs, q.outputs = q_code, [t], [converted[t]]
            q.builtinOptionsType = 0
            new_ops.append(q)
        return converted[t]

    for k, op in enumerate(v8.ops):
        wants_wide = k in wide_ops
        inputs = list(op.inputs)
        for j, t in enumerate(op.inputs):
            t = int(t)
            if t < 0 or v8.is_constant(t) or j >= 1 and v8.opcode[k] in PASSIVE:
                continue  # constants and a RESHAPE's shape operand keep their type
            if (t in wide_tensors) != wants_wide:
                inputs[j] = converted_tensor(t, wants_wide)
        op.inputs = inputs
        new_ops.append(op)
    outputs = list(sg.outputs)
    for j, t in enumerate(sg.outputs):
        if int(t) in wide_tensors:
            outputs[j] = converted_tensor(int(t), False)  # the graph's interface stays as converted
    remap = {int(a): int(b) for a, b in zip(sg.outputs, outputs)}
    sg.outputs = outputs
    sg.operators = new_ops
    for sig in m8.signatureDefs or []:
        for o in sig.outputs or []:
            o.tensorIndex = remap.get(int(o.tensorIndex), int(o.tensorIndex))
    data = fb.convert_object_to_bytearray(m8)
    return SpliceResult(tflite=bytes(data), int16_tensors=sorted(v8.tensor_name(t) for t in wide_tensors),
                        int16_ops=sorted(wide_ops), requantize_ops=len(converted))


def check_same_structure(a: FlatGraph, b: FlatGraph) -> None:
    """Both conversions must have the same ops in the same order (names matched later)."""
    if [x for x in a.opcode if x != "QUANTIZE"] != [x for x in b.opcode if x != "QUANTIZE"]:
        raise InputError("the int8 and 16x8 conversions of this model have different ops; "
                         "mixed precision needs both to have the same structure")

