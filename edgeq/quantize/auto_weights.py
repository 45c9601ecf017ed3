"""`convert --auto` under a flash budget: which layers' weights drop from int8 to int4.

After the int16 search (keep.auto_select) has chosen the activations, the weights are searched
the other way: while the weight bytes exceed the budget (``--max-flash``, and/or the model must
fit ``--board``), layers drop to int4, the cheapest first. Each candidate is first measured alone
(the model with only that layer at int4: its int4 sensitivity); the layers that alone stay within
``--max-drop`` are taken first, those that save the most bytes first (so few layers meet the
budget), then the others, least harmful first; each is kept only if the accuracy of the model so
far stays within ``--max-drop`` of float.
The search stops as soon as the budget is met; when no order of the candidates meets it, the
result says so (convert exits 1, as --auto does when the drop cannot be met).

Like the int16 search, every step is measured with the TFLM reference on the held-out data, not
predicted. Layers with int16 activations keep int8 weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import lowbit


@dataclass
class WeightSearch:
    tflite: bytes
    int4_layers: list[str]
    weight_bytes: int  # the chosen model's weight bytes as `generate` stores them (lowbit.flash_bytes)
    int8_weight_bytes: int
    accuracy: float
    met: bool  # budget and drop both met
    reason: str | None = None  # why not
    steps: list[dict] = field(default_factory=list)


def weight_bytes(layers: list[lowbit.WeightLayer], formats: dict[int, str]) -> int:
    return sum(lowbit.flash_bytes(wl.elements, wl.channels, formats.get(wl.op, "int8")) for wl in layers)


def search(tflite: bytes, model, accuracy_of: Callable[[bytes], float], float_accuracy: float, max_drop: float,
           max_flash: int | None, fits: Callable[[bytes], bool] | None, int4_scale: str = "mse") -> WeightSearch:
    """The fewest int4 layers (greedy, cheapest first) that meet the flash budget within max_drop."""
    layers = lowbit.weight_layers(tflite, model)
    target = float_accuracy - max_drop / 100.0
    int8_bytes = weight_bytes(layers, {})

    def build(int4_ops: set[int]) -> bytes:
        plan = lowbit.WeightPlan({wl.op: ("int4" if wl.op in int4_ops else "int8") for wl in layers})
        return lowbit.apply(tflite, layers, plan, int4_scale=int4_scale)[0]

    def within(model_bytes: bytes, formats: dict[int, str]) -> bool:
        return ((max_flash is None or weight_bytes(layers, formats) <= max_flash)
                and (fits is None or fits(model_bytes)))

    base_acc = accuracy_of(tflite)
    if within(tflite, {}):
        return WeightSearch(tflite, [], int8_bytes, int8_bytes, base_acc, True)
    candidates = [wl for wl in layers if not wl.int16]
    alone = []
    for wl in candidates:
        acc = accuracy_of(build({wl.op}))
        saved = wl.elements - lowbit.flash_bytes(wl.elements, wl.channels, "int4")
        alone.append({"layer": wl.name, "alone_accuracy": acc, "saves_bytes": saved, "_wl": wl})
    # the biggest savings first among the layers that alone stay within the drop; the others
    # (which would break it already on their own) last, the least harmful first
    alone.sort(key=lambda r: (r["alone_accuracy"] < target - 1e-12, -r["saves_bytes"] if r["alone_accuracy"]
                              >= target - 1e-12 else -round(r["alone_accuracy"], 9), r["_wl"].op))
    chosen: set[int] = set()
    names: list[str] = []
    acc, current, steps = base_acc, tflite, []
    for r in alone:
        trial = chosen | {r["_wl"].op}
        trial_bytes = build(trial)
        trial_acc = accuracy_of(trial_bytes)
        kept = trial_acc >= target - 1e-12
        steps.append({"layer": r["layer"], "alone_accuracy": r["alone_accuracy"], "saves_bytes": r["saves_bytes"],
                      "accuracy": trial_acc, "kept": kept})
        if not kept:
            continue
        chosen, acc, current = trial, trial_acc, trial_bytes
        names.append(r["layer"])
        formats = {op: "int4" for op in chosen}
        if within(current, formats):
            return WeightSearch(current, names, weight_bytes(layers, formats), int8_bytes, acc, True, steps=steps)
    formats = {op: "int4" for op in chosen}
    got = weight_bytes(layers, formats)
    budget = f"{max_flash:,} B of weights" if max_flash is not None else "the board's flash"
    reason = (f"the flash budget ({budget}) cannot be met within the accuracy drop: {len(names)} of "
              f"{len(candidates)} weight layers at int4 give {got:,} B of weights"
              + (" and the model still does not fit the board" if fits is not None and not fits(current) else ""))
    return WeightSearch(current, names, got, int8_bytes, acc, False, reason, steps)


def accuracy_on(y_float: np.ndarray, x: np.ndarray, y: np.ndarray) -> Callable[[bytes], float]:
    """The quantized model's accuracy (TFLM reference) on labelled data, as evaluate computes it."""
    from ..errors import InputError
    from ..evaluate import compare
    from ..reference import run_tflm

    def acc(tflite: bytes) -> float:
        ev = compare(y_float, run_tflm(tflite, x).outputs.reshape(y_float.shape), y)
        if "int8_accuracy" not in ev.metrics:
            raise InputError("--auto needs a classifier and labelled --data (it gates on accuracy drop)")
        return float(ev.metrics["int8_accuracy"])

    return acc
