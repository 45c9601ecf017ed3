"""`edgeq calibrate-compare`: every range method × weight granularity on the same data, ranked."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .. import data as data_mod
from ..evaluate import compare
from ..reference import run_tflm
from . import keras_io, ranges
from .convert import ConvertOptions, finish, prepare, quantize_variants


@dataclass
class Candidate:
    method: str
    granularity: str
    tflite_bytes: int
    metrics: dict
    drop_pp: float | None


def calibrate_compare(model_path: Path, calib: str, test: str, base: ConvertOptions = ConvertOptions(),
                      methods=ranges.METHODS, granularities=("per-channel", "per-tensor"),
                      progress: Callable[[int, int], None] | None = None) -> dict:
    from ..evaluate import _predict

    model = keras_io.load_float_model(Path(model_path))
    ds = data_mod.load(test, keras_io.input_shape(model), role="evaluation data")
    y_float = _predict(model, ds.x)
    if ds.y is None:
        raise data_mod.InputError(f"evaluation data {ds.source} has no labels")
    runs = [replace(base, method=m, granularity=g) for m in methods for g in granularities]
    prep = prepare(model_path, calib, base)
    # one export and one calibration pass for every candidate (quantize_variants)
    converted = quantize_variants(prep.model, prep.ds.model_input, runs)
    cands = []
    for k, (opts, (tflite, chosen)) in enumerate(zip(runs, converted)):
        res = finish(prep, opts, tflite, chosen)
        method, gran = opts.method, opts.granularity
        y_int = run_tflm(res.tflite, ds.x).outputs.reshape(y_float.shape)
        ev = compare(y_float, y_int, ds.y)
        cands.append(Candidate(method, gran, len(res.tflite), ev.metrics, ev.drop_pp))
        if progress:
            progress(k + 1, len(runs))
    best = max(cands, key=_score)
    return {"task": ev.task, "samples": len(ds), "candidates": [c.__dict__ for c in cands],
            "best": {"method": best.method, "granularity": best.granularity}}


def _score(c: Candidate):
    """Rank by int8 accuracy (or −MSE), then by output SQNR against the float model."""
    m = c.metrics
    primary = m["int8_accuracy"] if "int8_accuracy" in m else -m["int8_mse"]
    sqnr = m["output_sqnr_db"] if m["output_sqnr_db"] is not None else float("inf")
    return (primary, sqnr)
