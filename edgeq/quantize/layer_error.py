"""Per-tensor quantization error: the int8 model (TFLM) and the float model (TFLite float
conversion of the same Keras model) run side by side; every int8 activation is compared with
its float twin, matched by tensor name."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from .. import data as data_mod
from ..errors import InputError
from ..reference import run_tflm
from . import keras_io
from .tfenv import captured_output, import_tf


def _key(name: str) -> str:
    """Tensor names carry Keras' per-process counters ('conv1_1'); drop them to match."""
    return re.sub(r"_\d+(?=/|;|$)", "", name)


def _float_activations(model, x) -> dict[str, np.ndarray]:
    """x: one (N, ...) array, or a list with one per input (a model with several inputs)."""
    tf, _ = import_tf()
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    with captured_output():
        fb = tf.lite.TFLiteConverter.from_keras_model(keras_io.batch_one(model)).convert()
        if len(model.inputs) > 1 or len(model.outputs) > 1:
            from .convert import _keras_io_order

            fb = _keras_io_order(fb, model)  # graph input k = the model's input k
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            it = tf.lite.Interpreter(model_content=fb, experimental_preserve_all_tensors=True)
        it.allocate_tensors()
        details = it.get_tensor_details()
        acts = sorted({int(o) for op in it._get_ops_details() for o in op["outputs"]}
                      | {d["index"] for d in it.get_input_details()})
        seen = {i: [] for i in acts}
        inps = [d["index"] for d in it.get_input_details()]
        for k in range(len(xs[0])):
            for inp, a in zip(inps, xs):
                it.set_tensor(inp, a[k:k + 1])
            it.invoke()
            for i in acts:
                seen[i].append(np.array(it.get_tensor(i))[0])
    return {_key(details[i]["name"]): np.stack(v) for i, v in seen.items()}


def _int8_activations(tflite: bytes):
    """(index, name, op, dtype, scale, zp) of every activation tensor of the int8 model, in op order."""
    tf, _ = import_tf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_content=tflite)
    details = it.get_tensor_details()
    rows = []
    for pos, op in enumerate(it._get_ops_details()):
        for o in op["outputs"]:
            d = details[int(o)]
            q = d["quantization_parameters"]
            if np.dtype(d["dtype"]).kind not in "iu" or len(q["scales"]) != 1:
                continue
            rows.append((int(o), d["name"], f"#{pos} {op['op_name']}", np.dtype(d["dtype"]).name,
                         float(q["scales"][0]), int(q["zero_points"][0])))
    return rows


def layer_errors(model_path: Path, tflite_path: Path, data_spec: str, limit: int = 64,
                 keep_floats: bool = False) -> list[dict]:
    """One row per int8 activation tensor: quantization parameters and measured error vs float.
    With ``keep_floats`` each row also has ``float_values``: the float model's values of that
    tensor (an ndarray shaped like the int8 tensor's run, not JSON) for histograms."""
    tflite_path = Path(tflite_path)
    if not tflite_path.is_file():
        raise InputError(f"TFLite model not found: {tflite_path}")
    tflite = tflite_path.read_bytes()
    model = keras_io.load_float_model(Path(model_path))
    specs = keras_io.input_specs(model)
    if len(specs) == 1 and len(model.outputs) == 1:
        keras_io.input_shape(model)  # its message for an unfixed shape
    ds = data_mod.load(data_spec, inputs=specs, outputs=keras_io.output_names(model)).subset(limit, option="--limit")
    floats = _float_activations(model, ds.model_input)
    acts = _int8_activations(tflite)
    ref = run_tflm(tflite, ds.model_input, tensors=[a[0] for a in acts])
    rows = []
    for idx, name, op, dtype, scale, zp in acts:
        f = floats.get(_key(name))
        q = ref.tensors[idx]
        if f is None or f.size != q.size:
            continue  # no float twin (e.g. a requantize the converter inserted)
        f = f.reshape(q.shape).astype(np.float64)
        deq = (q.astype(np.float64) - zp) * scale
        info = np.iinfo(dtype)
        lo, hi = (info.min - zp) * scale, (info.max - zp) * scale
        err = deq - f
        p_sig, p_err = float(np.mean(f ** 2)), float(np.mean(err ** 2))
        rows.append({
            "op": op, "tensor": name.split(";")[0], "dtype": dtype, "scale": scale, "zero_point": zp,
            "range": [lo, hi], "rounding_bound": scale / 2,
            "clipped_fraction": float(np.mean((f < lo - scale / 2) | (f > hi + scale / 2))),
            "rmse": float(np.sqrt(p_err)), "max_abs_error": float(np.max(np.abs(err))),
            "sqnr_db": None if p_err == 0 else (10 * np.log10(p_sig / p_err) if p_sig > 0 else float("-inf")),
        })
        if keep_floats:
            rows[-1]["float_values"] = f.astype(np.float32)
    return rows
