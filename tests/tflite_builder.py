"""Write small .tflite flatbuffers by hand (no TensorFlow) for parser / planner / size-check tests.

    T = tensor spec: dict(name, shape, dtype="int8", data=None, scale=None, zp=None, axis=0)
    T may also say variable=True (a variable tensor: an SVDF's state).
    O = op spec:     dict(op="ADD" or builtin code, inputs=[...], outputs=[...], custom=None,
                          deprecated=None (deprecated_builtin_code override),
                          options=None or ("SVDFOptions", {"rank": 2, ...}): scalar fields only)

Ops without options get the defaults, which is all most tests need.
"""

from __future__ import annotations

import importlib

import flatbuffers
import numpy as np

_TYPES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "int16": 7, "int8": 9}


def _m(name: str):
    return importlib.import_module(f"tflite.{name}")


def _code(op) -> int:
    if isinstance(op, int):
        return op
    import tflite

    return getattr(tflite.BuiltinOperator, op)


def _int_vector(b, start_fn, values):
    start_fn(b, len(values))
    for v in reversed(values):
        b.PrependInt32(int(v))
    return b.EndVector()


def _offset_vector(b, start_fn, offsets):
    start_fn(b, len(offsets))
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _options(b, spec):
    """(BuiltinOptions type, table offset) of ("XOptions", {"field_name": scalar, ...})."""
    import tflite

    kind, fields = spec
    mod = _m(kind)
    mod.Start(b)
    for k, v in fields.items():
        getattr(mod, "Add" + "".join(w.title() for w in k.split("_")))(b, v)
    return getattr(tflite.BuiltinOptions, kind), mod.End(b)


def _subgraph(b, tensors, ops, inputs, outputs, opcode_index, tensor_buffers, name):
    T, O, Q, S = _m("Tensor"), _m("Operator"), _m("QuantizationParameters"), _m("SubGraph")
    t_offs = []
    for k, t in enumerate(tensors):
        nm = b.CreateString(t["name"])
        shape = _int_vector(b, T.StartShapeVector, list(t["shape"]))
        q = None
        if t.get("scale") is not None:
            scales = np.atleast_1d(np.asarray(t["scale"], np.float32))
            zps = np.atleast_1d(np.asarray(t.get("zp", 0) if t.get("zp") is not None else 0, np.int64))
            if zps.size == 1 and scales.size > 1:
                zps = np.repeat(zps, scales.size)
            Q.StartScaleVector(b, scales.size)
            for v in reversed(scales):
                b.PrependFloat32(float(v))
            sv = b.EndVector()
            Q.StartZeroPointVector(b, zps.size)
            for v in reversed(zps):
                b.PrependInt64(int(v))
            zv = b.EndVector()
            Q.Start(b)
            Q.AddScale(b, sv)
            Q.AddZeroPoint(b, zv)
            Q.AddQuantizedDimension(b, int(t.get("axis", 0)))
            q = Q.End(b)
        T.Start(b)
        T.AddShape(b, shape)
        T.AddType(b, _TYPES[t.get("dtype", "int8")])
        T.AddBuffer(b, tensor_buffers[k])
        T.AddName(b, nm)
        if q is not None:
            T.AddQuantization(b, q)
        if t.get("variable"):
            T.AddIsVariable(b, True)
        t_offs.append(T.End(b))
    o_offs = []
    for op in ops:
        iv = _int_vector(b, O.StartInputsVector, op["inputs"])
        ov = _int_vector(b, O.StartOutputsVector, op["outputs"])
        opt = _options(b, op["options"]) if op.get("options") else None
        O.Start(b)
        if opt is not None:
            O.AddBuiltinOptionsType(b, opt[0])
            O.AddBuiltinOptions(b, opt[1])
        O.AddOpcodeIndex(b, opcode_index[(op["op"], op.get("custom"), op.get("deprecated"))])
        O.AddInputs(b, iv)
        O.AddOutputs(b, ov)
        o_offs.append(O.End(b))
    tv = _offset_vector(b, S.StartTensorsVector, t_offs)
    ov = _offset_vector(b, S.StartOperatorsVector, o_offs)
    iv = _int_vector(b, S.StartInputsVector, inputs)
    outv = _int_vector(b, S.StartOutputsVector, outputs)
    nm = b.CreateString(name)
    S.Start(b)
    S.AddTensors(b, tv)
    S.AddOperators(b, ov)
    S.AddInputs(b, iv)
    S.AddOutputs(b, outv)
    S.AddName(b, nm)
    return S.End(b)


def build_tflite(tensors: list[dict], ops: list[dict], inputs: list[int], outputs: list[int],
                 subgraphs: int = 1, description: str = "edgeq test model") -> bytes:
    B, OC, M = _m("Buffer"), _m("OperatorCode"), _m("Model")
    b = flatbuffers.Builder(1024)
    # buffers: 0 = empty sentinel, then one per constant tensor
    buffer_offs = []
    tensor_buffers = []
    datas = []
    for t in tensors:
        if t.get("data") is not None:
            datas.append(np.ascontiguousarray(np.asarray(t["data"], dtype=t.get("dtype", "int8"))).tobytes())
            tensor_buffers.append(len(datas))
        else:
            tensor_buffers.append(0)
    data_vecs = []
    for raw in datas:
        b.StartVector(1, len(raw), 16)
        b.head = b.head - len(raw)
        b.Bytes[b.head:b.head + len(raw)] = raw
        data_vecs.append(b.EndVector())
    B.Start(b)
    buffer_offs.append(B.End(b))
    for v in data_vecs:
        B.Start(b)
        B.AddData(b, v)
        buffer_offs.append(B.End(b))
    # operator codes
    keys = []
    for op in ops:
        k = (op["op"], op.get("custom"), op.get("deprecated"))
        if k not in keys:
            keys.append(k)
    oc_offs = []
    for opname, custom, deprecated in keys:
        code = _code(opname)
        cs = b.CreateString(custom) if custom else None
        OC.Start(b)
        if deprecated is not None:
            OC.AddDeprecatedBuiltinCode(b, deprecated)
            OC.AddBuiltinCode(b, code)
        else:
            OC.AddDeprecatedBuiltinCode(b, min(code, 127))
            OC.AddBuiltinCode(b, code)
        if cs is not None:
            OC.AddCustomCode(b, cs)
        OC.AddVersion(b, 1)
        oc_offs.append(OC.End(b))
    opcode_index = {k: i for i, k in enumerate(keys)}
    sg = [_subgraph(b, tensors, ops, inputs, outputs, opcode_index, tensor_buffers, f"sg{i}")
          for i in range(subgraphs)]
    bv = _offset_vector(b, M.StartBuffersVector, buffer_offs)
    ocv = _offset_vector(b, M.StartOperatorCodesVector, oc_offs)
    sgv = _offset_vector(b, M.StartSubgraphsVector, sg)
    desc = b.CreateString(description)
    M.Start(b)
    M.AddVersion(b, 3)
    M.AddOperatorCodes(b, ocv)
    M.AddSubgraphs(b, sgv)
    M.AddDescription(b, desc)
    M.AddBuffers(b, bv)
    model = M.End(b)
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


# ----------------------------------------------------------------------------- ready-made models

def act(name, shape, dtype="int8", scale=0.05, zp=-3):
    return {"name": name, "shape": shape, "dtype": dtype, "scale": scale, "zp": zp}


def const(name, data, dtype="int8", scale=None, zp=None, axis=0):
    arr = np.asarray(data, dtype=dtype)
    return {"name": name, "shape": list(arr.shape), "dtype": dtype, "data": arr, "scale": scale, "zp": zp,
            "axis": axis}


def fc_model(n_in=16, n_out=8, op2="SOFTMAX", seed=0, op2_custom=None) -> bytes:
    """input[1,n_in] → FULLY_CONNECTED (per-channel int8 weights, int32 bias) → op2 → output."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, size=(n_out, n_in))
    bias = rng.integers(-1000, 1000, size=(n_out,))
    tensors = [act("input", [1, n_in]),
               const("dense/weights", w, "int8", scale=np.linspace(0.01, 0.02, n_out), zp=0),
               const("dense/bias", bias, "int32", scale=np.linspace(0.0005, 0.001, n_out), zp=0),
               act("dense/out", [1, n_out]),
               act(f"model/dense/{op2.title()}" if op2 != "SOFTMAX" else "output", [1, n_out])]
    ops = [{"op": "FULLY_CONNECTED", "inputs": [0, 1, 2], "outputs": [3]},
           {"op": op2, "inputs": [3], "outputs": [4], "custom": op2_custom}]
    return build_tflite(tensors, ops, [0], [4])
