"""Which layers run with int16 activations: named by the user (`--keep`) or searched (`--auto`).

Both produce a mixed model through ``mixed.splice`` from one int8 and one 16x8 conversion of the
same calibration data. The search is greedy forward selection: from all-int8, add the layer whose
int16 activation recovers the most accuracy on the held-out data (ties: the smaller model, then
the earlier layer) until the drop is within ``max_drop``, skipping choices that would not fit the
board. Greedy is not optimal in general, but each step is measured, not predicted, and the
result is the fewest layers the search found, not a guess.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import InputError
from . import keras_io, mixed

Progress = Callable[[int, int], None]


@dataclass
class KeepPlan:
    """The candidates of one model: layer → the activation tensor that keeping it keeps."""

    int8: bytes
    int16: bytes
    layer_tensor: dict[str, str]
    describe: Callable[[int], str]
    capable: frozenset[str]

    def splice(self, layers) -> mixed.SpliceResult:
        try:
            res = mixed.splice(self.int8, self.int16, {self.layer_tensor[n] for n in layers}, self.capable,
                               self.describe)
        except InputError as e:
            raise InputError(f"keeping {', '.join(map(repr, layers))} at int16: {e.message}", e.hint) from e
        res.layers = sorted(layers, key=list(self.layer_tensor).index)
        return res

    def resolve(self, names) -> list[str]:
        out = []
        for n in names:
            if n not in self.layer_tensor:
                close = difflib.get_close_matches(n, list(self.layer_tensor), n=3)
                raise InputError(f"--keep {n!r}: no such layer among the model's quantized layers",
                                 hint=("did you mean " + ", ".join(close) + "? " if close else "")
                                 + "layers: " + ", ".join(self.layer_tensor))
            out.append(n)
        return out


def check_names(model, names) -> None:
    """Refuse a --keep name that is no layer of the model at all before anything is converted (the
    two conversions a plan needs cost seconds each); ``KeepPlan.resolve`` then checks the rest
    against the layers the converted model actually has."""
    known = keras_io.layer_names(model)
    for n in names:
        if n not in known:
            close = difflib.get_close_matches(n, known, n=3)
            raise InputError(f"--keep {n!r}: no such layer in the model",
                             hint=("did you mean " + ", ".join(close) + "? " if close else "")
                             + "layers: " + ", ".join(known))


def build_plan(model, int8: bytes, int16: bytes) -> KeepPlan:
    from ..ops import int16_ops

    view = mixed.FlatGraph(mixed.read(int8))
    layer_of = keras_io.LayerMap(model, [view.out_name(k) for k in range(len(view.ops))])
    mixed.check_same_structure(view, mixed.FlatGraph(mixed.read(int16)))
    ops = mixed.layer_ops(view, layer_of)
    # a layer's activation is the output of its last op (a fused conv+relu is one op)
    layer_tensor = {layer: view.out_name(ks[-1]) for layer, ks in ops.items()}

    def describe(k: int) -> str:
        layer = layer_of(view.out_name(k))
        return f"operator #{k} ({view.opcode[k]}" + (f", layer {layer!r})" if layer else ")")

    return KeepPlan(int8, int16, layer_tensor, describe, int16_ops())


@dataclass
class AutoResult:
    splice: mixed.SpliceResult | None
    layers: list[str]
    float_accuracy: float
    int8_accuracy: float
    accuracy: float  # of the chosen model
    met: bool
    steps: list[dict] = field(default_factory=list)  # what each greedy step tried and chose

    @property
    def drop_pp(self) -> float:
        return round(100.0 * (self.float_accuracy - self.accuracy), 4)


def auto_select(plan: KeepPlan, y_float: np.ndarray, x: np.ndarray, y: np.ndarray, max_drop: float,
                fits: Callable[[bytes], bool] | None = None, progress: Progress | None = None) -> AutoResult:
    """Fewest int16 layers (greedy) that bring the accuracy drop on (x, y) within max_drop pp."""
    from ..evaluate import compare
    from ..reference import run_tflm

    def metrics(tflite: bytes) -> dict:
        ev = compare(y_float, run_tflm(tflite, x).outputs.reshape(y_float.shape), y)
        if "int8_accuracy" not in ev.metrics:
            raise InputError("--auto needs a classifier and labelled --data (it gates on accuracy drop)")
        return ev.metrics

    m0 = metrics(plan.int8)
    f_acc, base = m0["float_accuracy"], m0["int8_accuracy"]
    target = f_acc - max_drop / 100.0
    order = list(plan.layer_tensor)
    candidates = list(order)  # the first round drops those that cannot be kept (an op without an
    # int16 kernel reads their activation); a set is keepable when each of its layers is
    chosen: list[str] = []
    best, best_acc, steps = None, base, []
    total = max(1, len(candidates) * (len(candidates) + 1) // 2)
    done = 0
    while best_acc < target - 1e-12 and len(chosen) < len(candidates):
        trials = []
        for layer in list(candidates):
            if layer in chosen:
                continue
            done += 1
            if progress:
                progress(min(done, total), total)
            try:
                res = plan.splice(chosen + [layer])
            except InputError:
                candidates.remove(layer)
                continue
            if fits is not None and not fits(res.tflite):
                trials.append({"layer": layer, "accuracy": None, "fits": False})
                continue
            trials.append({"layer": layer, "accuracy": metrics(res.tflite)["int8_accuracy"], "fits": True,
                           "_res": res})
        ok = [t for t in trials if t["fits"]]
        if not ok:
            break
        pick = max(ok, key=lambda t: (round(t["accuracy"], 9), -len(t["_res"].tflite), -order.index(t["layer"])))
        if pick["accuracy"] <= best_acc:
            steps.append({"tried": _public(trials), "chose": None})
            break  # nothing helps any more
        chosen.append(pick["layer"])
        best, best_acc = pick["_res"], pick["accuracy"]
        steps.append({"tried": _public(trials), "chose": pick["layer"], "accuracy": best_acc})
    if progress:
        progress(total, total)
    return AutoResult(splice=best if chosen else None, layers=chosen, float_accuracy=f_acc, int8_accuracy=base,
                      accuracy=best_acc, met=best_acc >= target - 1e-12, steps=steps)


def _public(trials: list[dict]) -> list[dict]:
    return [{k: v for k, v in t.items() if not k.startswith("_")} for t in trials]
