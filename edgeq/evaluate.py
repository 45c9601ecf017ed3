"""`edgeq evaluate`: the float Keras model vs the int8 model (through TFLM) on labelled data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import data as data_mod
from .artifacts import sha256_bytes
from .errors import InputError
from .reference import run_tflm

TASKS = ("auto", "classification", "binary", "regression")


@dataclass
class Evaluation:
    task: str
    samples: int
    metrics: dict  # float / int8 metrics side by side
    per_class: list = field(default_factory=list)
    drop_pp: float | None = None  # accuracy drop in percentage points (classification)
    gate: dict | None = None
    # the quantized model's activations: "int8", "int16x8" or "int8+int16" (mixed); the metric
    # keys say int8_* whatever it is, so that scripts need one set of names
    precision: str = "int8"

    def to_dict(self) -> dict:
        return {"task": self.task, "samples": self.samples, "metrics": self.metrics,
                "per_class": self.per_class, "drop_pp": self.drop_pp, "gate": self.gate,
                "precision": self.precision}


def activation_precision(graph) -> str:
    """"int8", "int16x8" (every activation int16) or "int8+int16" (a mixed-precision model)."""
    kinds = {t.dtype for t in graph.activation_tensors()}
    if "int16" in kinds:
        return "int16x8" if kinds <= {"int16", "float32"} else "int8+int16"
    return "int8"


def evaluate(model_path: Path, tflite_path: Path, data_spec: str, task: str = "auto",
             limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> Evaluation:
    from .quantize import keras_io

    tflite, graph = _read_tflite(tflite_path)
    model = keras_io.load_float_model(Path(model_path))
    ds = data_mod.load(data_spec, keras_io.input_shape(model), role="evaluation data")
    if limit is not None:
        ds = ds.subset(limit)
    if ds.y is None:
        raise InputError(f"evaluation data {ds.source} has no labels (an npz needs an array 'y')")
    y_float = _predict(model, ds.x)
    ref = run_tflm(tflite, ds.x, progress)
    y_int = ref.outputs.reshape(y_float.shape)
    ev = compare(y_float, y_int, ds.y, task, sha256_bytes(tflite))
    ev.precision = activation_precision(graph)
    return ev


def predictions(model_path: Path, tflite_path: Path, data_spec: str, limit: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float outputs, int8 outputs in float units, labels) on labelled data, as `evaluate` computes
    them; `compare(*predictions(...))` gives the same Evaluation (report.py uses both)."""
    from .quantize import keras_io

    tflite, _ = _read_tflite(tflite_path)
    model = keras_io.load_float_model(Path(model_path))
    ds = data_mod.load(data_spec, keras_io.input_shape(model), role="evaluation data").subset(limit)
    if ds.y is None:
        raise InputError(f"evaluation data {ds.source} has no labels (an npz needs an array 'y')")
    y_float = _predict(model, ds.x)
    return y_float, run_tflm(tflite, ds.x, progress).outputs.reshape(y_float.shape), ds.y


def _read_tflite(path: Path):
    """(the file's bytes, its Graph) once edgeq's own parser has seen a TFLite model in them: a
    wrong file gets a clear message here instead of whatever the interpreter makes of it."""
    from .graph import load_graph

    path = Path(path)
    if not path.is_file():
        raise InputError(f"TFLite model not found: {path}")
    graph = load_graph(path, check_supported=False)
    return path.read_bytes(), graph


def _predict(model, x: np.ndarray) -> np.ndarray:
    from .quantize.tfenv import captured_output

    with captured_output():
        return np.asarray(model.predict(x, batch_size=256, verbose=0), dtype=np.float32)


def detect_task(y_float: np.ndarray, labels: np.ndarray) -> str:
    width = y_float.reshape(len(y_float), -1).shape[1]
    integral = labels.dtype.kind in "iub" or np.all(labels == np.round(labels))
    if width > 1 and integral and labels.ndim == 1:
        return "classification"
    if width == 1 and integral and set(np.unique(labels)) <= {0, 1}:
        return "binary"
    return "regression"


def compare(y_float: np.ndarray, y_int: np.ndarray, labels: np.ndarray, task: str = "auto",
            tflite_sha: str | None = None) -> Evaluation:
    """Metrics of float and int8 outputs against labels and against each other."""
    if task not in TASKS:
        raise InputError(f"--task must be one of {', '.join(TASKS)}, not {task!r}")
    if task == "auto":
        task = detect_task(y_float, labels)
    n = len(labels)
    f2 = y_float.reshape(n, -1).astype(np.float64)
    i2 = y_int.reshape(n, -1).astype(np.float64)
    err = i2 - f2
    metrics = {"output_rmse": float(np.sqrt(np.mean(err ** 2))),
               "output_max_abs_error": float(np.max(np.abs(err))),
               "output_sqnr_db": _sqnr(f2, err)}
    if tflite_sha:
        metrics["tflite_sha256"] = tflite_sha
    ev = Evaluation(task=task, samples=n, metrics=metrics)
    if task in ("classification", "binary"):
        y = labels.astype(np.int64).reshape(-1)
        if task == "classification":
            if y.min() < 0 or y.max() >= f2.shape[1]:
                raise InputError(f"labels range over [{y.min()}, {y.max()}] but the model has "
                                 f"{f2.shape[1]} outputs")
            pf, pi = f2.argmax(1), i2.argmax(1)
        else:
            pf, pi = (f2[:, 0] >= 0.5).astype(int), (i2[:, 0] >= 0.5).astype(int)
        acc_f, acc_i = float(np.mean(pf == y)), float(np.mean(pi == y))
        metrics.update({"float_accuracy": acc_f, "int8_accuracy": acc_i,
                        "agreement": float(np.mean(pf == pi))})
        ev.drop_pp = round(100.0 * (acc_f - acc_i), 4)
        for c in np.unique(y):
            m = y == c
            ev.per_class.append({"class": int(c), "count": int(m.sum()),
                                 "float_accuracy": float(np.mean(pf[m] == c)),
                                 "int8_accuracy": float(np.mean(pi[m] == c))})
    else:
        t = labels.reshape(n, -1).astype(np.float64)
        if t.shape[1] != f2.shape[1]:
            raise InputError(f"labels have {t.shape[1]} values per sample, the model outputs {f2.shape[1]}")
        metrics.update({"float_mse": float(np.mean((f2 - t) ** 2)), "int8_mse": float(np.mean((i2 - t) ** 2)),
                        "float_mae": float(np.mean(np.abs(f2 - t))), "int8_mae": float(np.mean(np.abs(i2 - t)))})
    return ev


def apply_gate(ev: Evaluation, max_drop: float | None) -> bool:
    """True when the accuracy drop is within max_drop percentage points (or no gate is set)."""
    if max_drop is None:
        return True
    if ev.drop_pp is None:
        raise InputError("--max-drop applies to classifiers; this model was evaluated as regression")
    ok = ev.drop_pp <= max_drop
    ev.gate = {"max_drop_pp": max_drop, "drop_pp": ev.drop_pp, "passed": ok}
    return ok


def _sqnr(signal: np.ndarray, noise: np.ndarray) -> float | None:
    p_noise = float(np.mean(noise ** 2))
    p_signal = float(np.mean(signal ** 2))
    if p_noise == 0.0:
        return None  # identical outputs: infinite SQNR
    return 10.0 * float(np.log10(p_signal / p_noise)) if p_signal > 0 else float("-inf")
