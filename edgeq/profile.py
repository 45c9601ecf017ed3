"""Per-layer profile on the device (issue 14, part 1).

A firmware built with the observation hooks (``EDGEQ_OBSERVE``: firmware/runtime/edgeq_observe.h)
reads the inference timer after every generated kernel call; the host asks for those ticks after
each inference (LAYER_TICKS) and turns them into a table: per layer, the op, its output shape,
its MACs, instructions (QEMU ``-icount``) or cycles (a real board's DWT), MACs per
instruction/cycle and its share of the total.

A "layer" is one generated call (``NAME_invoke``'s i-th block): one TFLite operator, except the
operators the generator folds away (they produce no call).
"""

from __future__ import annotations

from typing import Any

import numpy as np

OBSERVE_CMAKE = {"EDGEQ_OBSERVE": "ON"}  # build_firmware(extra_cmake=...) for the hooks


def layers_of(graph, name: str = "model") -> list[dict]:
    """The generated calls of ``graph`` as layers: index, operator, output tensor, MACs."""
    from .codegen.lower import lower
    from .flash_usage import op_macs

    lowered = lower(graph, name=name)
    out = []
    for k, c in enumerate(lowered.calls):
        op = graph.operators[c.index]
        outs = [_tensor_fields(graph.tensors[i]) for i in op.outputs]
        # the first output's fields are the layer's (profile table, messages); "outputs" has all of
        # them: a SPLIT's or UNPACK's hooks send and count every one
        out.append({"layer": k, "op_index": op.index, "op": op.label, "kernel": c.kind, **outs[0],
                    "bytes": sum(o["bytes"] for o in outs), "macs": int(op_macs(graph, op)), "outputs": outs})
    return out


def _tensor_fields(t) -> dict:
    return {"output": t.name, "output_tensor": t.index, "dtype": t.dtype, "shape": [int(d) for d in t.shape],
            "bytes": t.nbytes, "zero_point": int(t.quant.zero_point) if t.quant.is_quantized else None}


def output_tensors(layers: list[dict]) -> list[int]:
    """Every tensor the layers' hooks report (what the host reference must keep)."""
    return sorted({o["output_tensor"] for lay in layers for o in lay.get("outputs", [lay])})


def profile_table(layers: list[dict], records: list, timer_hz: int, cpu_hz: int,
                  emulated: bool, icount_shift: int = 0) -> dict:
    """Per-layer figures (median over the records) and the check that they add up.

    ``records``: InferRecords with ``layer_ticks``. Emulated boards report instructions
    (``-icount``: ticks × 1e9 / timer_hz / 2^shift), real boards cycles (ticks × cpu_hz / timer_hz).
    """
    recs = [r for r in records if r.layer_ticks]
    if not recs:
        return {"layers": [], "samples": 0}
    n = min(len(r.layer_ticks) for r in recs)
    ticks = np.array([r.layer_ticks[:n] for r in recs], dtype=np.float64)  # samples × layers
    totals = np.array([r.ticks for r in recs], dtype=np.float64)
    scale = (1e9 / timer_hz / (1 << icount_shift)) if emulated else (cpu_hz / timer_hz)
    unit = "instructions" if emulated else "cycles"
    per_layer = np.median(ticks, axis=0) * scale
    total = float(np.median(totals) * scale)
    layer_sum = float(per_layer.sum())
    rows = []
    for k in range(n):
        lay = dict(layers[k]) if k < len(layers) else {"layer": k, "op": "?", "macs": 0, "shape": []}
        v = float(per_layer[k])
        lay[unit] = round(v)
        lay[f"macs_per_{unit[:-1]}"] = (lay["macs"] / v) if v and lay.get("macs") else None
        lay["share"] = v / layer_sum if layer_sum else 0.0
        rows.append(lay)
    macs = sum(int(r.get("macs") or 0) for r in rows)
    return {"unit": unit, "samples": len(recs), "layers": rows, "total": round(total),
            "layers_sum": round(layer_sum),
            # the part of invoke() outside every layer: input/output copies and the hooks themselves
            "unattributed": round(total - layer_sum),
            "sum_vs_total": layer_sum / total if total else None,
            "macs": macs, f"macs_per_{unit[:-1]}": macs / total if total else None,
            "timer_ticks_per_unit": 1.0 / scale if scale else None}


def render_profile(prof: dict, out: Any) -> None:
    """The profile table on a rich console."""
    from . import ui

    if not prof.get("layers"):
        return
    unit = prof["unit"]
    per = f"macs_per_{unit[:-1]}"
    short = "instr" if unit == "instructions" else "cycles"
    rows = []
    for r in prof["layers"]:
        shape = "×".join(str(d) for d in r.get("shape", [])[1:]) or "-"
        rows.append([str(r["layer"]), r["op"], shape, f"{r.get('macs', 0):,}", f"{r[unit]:,}",
                     f"{r[per]:.3f}" if r.get(per) else "-", f"{100 * r['share']:.1f}%",
                     "█" * max(0, round(12 * r["share"]))])
    rows.append(["", "invoke()", "", f"{prof['macs']:,}", f"{prof['total']:,}",
                 f"{prof[per]:.3f}" if prof.get(per) else "-", "", ""])
    covered = f"; layers = {100 * prof['sum_vs_total']:.2f}% of invoke()" if prof.get("sum_vs_total") else ""
    out.print(ui.table(f"per-layer profile ({unit}, median of {prof['samples']} inferences{covered})",
                       ["#", "op", "output", "MACs", short, f"MAC/{short}", "share", ""], rows,
                       justify_right_from=3))
