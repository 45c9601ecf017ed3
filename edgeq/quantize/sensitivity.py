"""Layer sensitivity: quantize one layer at a time (the rest float) and all layers but one, and
rank layers by the accuracy / SQNR they cost. Both variants come from the same calibrated model
(`denylisted_nodes` keeps layers float) and run through the TFLM reference."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from .. import data as data_mod
from ..errors import InputError
from ..evaluate import _predict, compare
from ..reference import run_tflm
from . import keras_io
from .calibrate import calibrated_float_model
from .tfenv import captured_output, import_tf

PASSIVE = {"RESHAPE", "SQUEEZE", "QUANTIZE", "DEQUANTIZE"}  # move or convert values, no own error


def _ops(calibrated: bytes) -> list[tuple[str, str]]:
    tf, _ = import_tf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_content=calibrated)
    det = it.get_tensor_details()
    return [(op["op_name"], det[int(op["outputs"][0])]["name"]) for op in it._get_ops_details()
            if op["op_name"] not in PASSIVE]


def _quantize(calibrated: bytes, deny: list[str]) -> bytes:
    tf, _ = import_tf()
    from tensorflow.lite.python import convert as tfconvert

    with captured_output():
        return tfconvert.mlir_quantize(calibrated, fully_quantize=True, input_data_type=tf.float32,
                                       output_data_type=tf.float32, denylisted_nodes=deny or None)


def sensitivity(model_path: Path, calib: str, data: str, samples: int = 300,
                progress: Callable[[int, int], None] | None = None) -> dict:
    model = keras_io.load_float_model(Path(model_path))
    shape = keras_io.input_shape(model)
    cal_ds = data_mod.load(calib, shape, role="calibration data").subset(samples)
    test = data_mod.load(data, shape, role="evaluation data")
    if test.y is None:
        raise InputError(f"evaluation data {test.source} has no labels")
    with captured_output():
        calibrated = calibrated_float_model(keras_io.batch_one(model), cal_ds.x)
    y_float = _predict(model, test.x)
    ops = _ops(calibrated)
    names = [n for _, n in ops]
    layer_of = keras_io.LayerMap(model, names)

    def measure(tflite: bytes) -> dict:
        ev = compare(y_float, run_tflm(tflite, test.x).outputs.reshape(y_float.shape), test.y)
        return {"metric": ev.metrics.get("int8_accuracy", -ev.metrics.get("int8_mse", 0.0)),
                "sqnr_db": ev.metrics["output_sqnr_db"], "task": ev.task,
                "float_metric": ev.metrics.get("float_accuracy", -ev.metrics.get("float_mse", 0.0))}

    full = measure(_quantize(calibrated, []))
    layers = []
    for k, (op, name) in enumerate(ops):
        only = measure(_quantize(calibrated, [n for n in names if n != name]))
        all_but = measure(_quantize(calibrated, [name]))
        layers.append({"op": f"#{k} {op}", "tensor": name.split(";")[0], "layer": layer_of(name),
            "only_this_quantized": only, "all_but_this_quantized": all_but,
            "cost": only["float_metric"] - only["metric"],  # what quantizing this layer alone loses
            "recovery": all_but["metric"] - full["metric"],  # what keeping it float wins back
            "index": k})
        if progress:
            progress(k + 1, len(ops))
    _int16_column(model, cal_ds.x, layers, measure)
    # Quantizing a layer also quantizes its input activation, so a consumer shares the cost of
    # a bad activation with its producer; on a tie the producer (the earlier op) takes the blame.
    ranked = sorted(layers, key=lambda r: (-round(r["cost"], 9), r["index"]))
    return {"task": full["task"], "float_metric": full["float_metric"], "int8_metric": full["metric"],
            "layers": ranked, "most_sensitive": ranked[0]["layer"] or ranked[0]["tensor"] if ranked else None}


def _int16_column(model, x: np.ndarray, layers: list[dict], measure) -> None:
    """What `convert --keep LAYER` would win back: each layer's activation at int16 in the int8
    model (None where an op reading it has no int16 kernel, with the reason). Measured against
    the int8 model `convert` writes (int8 I/O), the one `--keep` splices into, not against the
    float-I/O model of the other columns."""
    from .convert import ConvertOptions, quantize_keras
    from .keep import build_plan

    int8, _ = quantize_keras(model, x, ConvertOptions())
    int16, _ = quantize_keras(model, x, ConvertOptions(precision="int16x8"))
    plan = build_plan(model, int8, int16)
    int8_metric = measure(int8)["metric"]
    _int4_column(model, int8, layers, measure, int8_metric)
    for row in layers:
        row["int16_keep"] = None
        if row["layer"] not in plan.layer_tensor:
            continue
        try:
            res = plan.splice([row["layer"]])
        except InputError as e:
            row["int16_keep"] = {"possible": False, "why": e.message}
            continue
        m = measure(res.tflite)
        row["int16_keep"] = {"possible": True, "metric": m["metric"], "sqnr_db": m["sqnr_db"],
                             "recovery": m["metric"] - int8_metric}


def _int4_column(model, int8: bytes, layers: list[dict], measure, int8_metric: float) -> None:
    """What `convert --int4 LAYER` costs: the int8 model with only that layer's weights at int4
    (None for a layer without CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights)."""
    from . import lowbit

    weight_layers = lowbit.weight_layers(int8, model)
    for row in layers:
        row["int4_weights"] = None
        if not row["layer"]:
            continue
        try:
            plan = lowbit.choose(weight_layers, "int8", int4=(row["layer"],))
        except InputError:
            continue  # no weights (or int16 activations): nothing to drop
        tflite, records = lowbit.apply(int8, weight_layers, plan)
        m = measure(tflite)
        rec = next(r for r in records if r["format"] == "int4")
        row["int4_weights"] = {"metric": m["metric"], "sqnr_db": m["sqnr_db"], "cost": int8_metric - m["metric"],
                               "weight_layer": rec["layer"], "saves_bytes": rec["int8_bytes"] - rec["bytes"]}
