"""`edgeq evaluate`: the float Keras model vs the int8 model (through TFLM) on labelled data.

A model with several outputs is compared output by output (``Evaluation.outputs``): accuracy for a
classifier output with labels, MSE/MAE against labels for a regression output, and the float↔int8
error (RMSE, MAE, max, SQNR) for every output, labelled or not."""

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
    # one entry per model output: {"index", "name", "task", "metrics", "per_class", "drop_pp"};
    # a single-output model has one, repeating the top-level fields
    outputs: list = field(default_factory=list)
    reference: str = "TFLM"  # what ran the quantized model: TFLM or TFLite (reference kernels)

    def to_dict(self) -> dict:
        return {"task": self.task, "samples": self.samples, "metrics": self.metrics,
                "per_class": self.per_class, "drop_pp": self.drop_pp, "gate": self.gate,
                "precision": self.precision, "outputs": self.outputs, "reference": self.reference}


MULTI = "multi-output"  # Evaluation.task of a model with several outputs
UNLABELLED = "unlabelled"  # an output's task when the data has no labels for it


def activation_precision(graph) -> str:
    """"int8", "int16x8" (every activation int16) or "int8+int16" (a mixed-precision model)."""
    kinds = {t.dtype for t in graph.activation_tensors()}
    if "int16" in kinds:
        return "int16x8" if kinds <= {"int16", "float32"} else "int8+int16"
    return "int8"


def evaluate(model_path: Path, tflite_path: Path, data_spec: str, task: str = "auto",
             limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> Evaluation:
    tflite, graph = _read_tflite(tflite_path)
    y_float, y_int, labels, names, ref = _run(model_path, tflite, graph, data_spec, limit, progress)
    ev = compare_outputs(y_float, y_int, labels, names, task, sha256_bytes(tflite))
    ev.precision = activation_precision(graph)
    ev.reference = ref.reference_name
    return ev


def predictions(model_path: Path, tflite_path: Path, data_spec: str, limit: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float outputs, int8 outputs in float units, labels) on labelled data, as `evaluate` computes
    them; `compare(*predictions(...))` gives the same Evaluation (report.py uses both).
    For a model with several outputs, each of the three is a list with one entry per output
    (labels None where the data has none); ``compare_outputs`` takes them."""
    tflite, graph = _read_tflite(tflite_path)
    y_float, y_int, labels, _, _ = _run(model_path, tflite, graph, data_spec, limit, progress)
    return y_float, y_int, labels


def output_names(model_path: Path) -> list[str]:
    from .quantize import keras_io

    return keras_io.output_names(keras_io.load_float_model(Path(model_path)))


def _run(model_path, tflite: bytes, graph, data_spec, limit, progress):
    """Float and quantized outputs on the data: single arrays for a one-output model, else lists."""
    from .quantize import keras_io

    model = keras_io.load_float_model(Path(model_path))
    specs, names = keras_io.input_specs(model), keras_io.output_names(model)
    several = len(specs) > 1 or len(names) > 1
    if not several:
        keras_io.input_shape(model)  # its message for an unfixed shape
    ds = data_mod.load(data_spec, role="evaluation data", inputs=specs, outputs=names).subset(limit, option="--limit")
    if not any(y is not None for y in ds.labels):
        raise InputError(f"evaluation data {ds.source} has no labels (an npz needs an array 'y'"
                         + (", or y0, y1, ... per output)" if len(names) > 1 else ")"))
    if several:
        check_io_match(graph, specs, names)
    y_float = _predict_all(model, ds.model_input)
    ref = run_tflm(tflite, ds.model_input, progress)
    y_int = [q.reshape(f.shape) for q, f in zip(ref.outputs_all, y_float)]
    if len(names) == 1:
        return y_float[0], y_int[0], ds.y, names, ref
    return y_float, y_int, ds.labels, names, ref


def check_io_match(graph, specs, names) -> None:
    """The .tflite must have the Keras model's inputs and outputs, in the same order (edgeq
    convert writes them so); name the first that differs."""
    if len(graph.inputs) != len(specs) or len(graph.outputs) != len(names):
        raise InputError(f"the .tflite has {len(graph.inputs)} input(s) and {len(graph.outputs)} output(s), the "
                         f"Keras model {len(specs)} and {len(names)}: is it that model's conversion?")
    for k, (name, shape) in enumerate(specs):
        got = tuple(graph.tensor(graph.inputs[k]).shape[1:])
        if int(np.prod(got)) != int(np.prod(shape)):
            raise InputError(f"the .tflite's input {k} has shape {got} but the Keras model's input {k} "
                             f"{name!r} has {shape}",
                             hint="edgeq convert keeps the Keras model's input/output order; convert the model "
                                  "with it")


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


def _predict_all(model, x) -> list[np.ndarray]:
    """The float model's outputs, one (N, ...) array per output (x: an array, or a list per input)."""
    from .quantize.tfenv import captured_output

    with captured_output():
        y = model.predict(x, batch_size=256, verbose=0)
    if isinstance(y, dict):
        from .quantize.keras_io import output_names

        y = [y[n] for n in output_names(model)]
    ys = list(y) if isinstance(y, (list, tuple)) else [y]
    return [np.asarray(a, dtype=np.float32) for a in ys]


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
    metrics = _error_metrics(f2, i2)
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


def compare_outputs(y_float, y_int, labels, names: list[str], task: str = "auto",
                    tflite_sha: str | None = None) -> Evaluation:
    """``compare`` output by output. One output: the same Evaluation as ``compare`` (with
    ``outputs`` filled in). Several: lists per output; ``task`` is one value for every labelled
    output or a comma-separated list per output; the top-level ``drop_pp`` is the largest drop of
    the classifier outputs (what --max-drop gates)."""
    if len(names) == 1:
        ev = compare(y_float, y_int, labels, task, tflite_sha)
        ev.outputs = [_entry(0, names[0], ev)]
        return ev
    tasks = [t.strip() for t in task.split(",")] if "," in task else [task] * len(names)
    if len(tasks) != len(names):
        raise InputError(f"--task lists {len(tasks)} tasks but the model has {len(names)} outputs")
    n = len(y_float[0])
    entries = []
    for k, (f, q, y, name) in enumerate(zip(y_float, y_int, labels, names)):
        if y is None:
            ev = Evaluation(task=UNLABELLED, samples=n, metrics=_error_metrics(f, q))
        else:
            try:
                ev = compare(f, q, y, tasks[k])
            except InputError as e:
                raise InputError(f"output {k} {name!r}: {e.message}", e.hint) from e
        entries.append(_entry(k, name, ev))
    drops = [e["drop_pp"] for e in entries if e["drop_pp"] is not None]
    metrics = {"tflite_sha256": tflite_sha} if tflite_sha else {}
    return Evaluation(task=MULTI, samples=n, metrics=metrics, drop_pp=max(drops) if drops else None,
                      outputs=entries)


def _entry(k: int, name: str, ev: Evaluation) -> dict:
    metrics = {key: v for key, v in ev.metrics.items() if key != "tflite_sha256"}
    return {"index": k, "name": name, "task": ev.task, "metrics": metrics, "per_class": ev.per_class,
            "drop_pp": ev.drop_pp}


def _error_metrics(y_float: np.ndarray, y_int: np.ndarray) -> dict:
    """The quantized output against the float one, in float units."""
    n = len(y_float)
    f2 = y_float.reshape(n, -1).astype(np.float64)
    err = y_int.reshape(n, -1).astype(np.float64) - f2
    return {"output_rmse": float(np.sqrt(np.mean(err ** 2))),
            "output_max_abs_error": float(np.max(np.abs(err))),
            "output_sqnr_db": _sqnr(f2, err),
            "output_mse": float(np.mean(err ** 2)), "output_mae": float(np.mean(np.abs(err)))}


def apply_gate(ev: Evaluation, max_drop: float | None) -> bool:
    """True when the accuracy drop is within max_drop percentage points (or no gate is set)."""
    if max_drop is None:
        return True
    if ev.drop_pp is None:
        if ev.task == MULTI:
            raise InputError("--max-drop applies to classifier outputs with labels; this model has none")
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
