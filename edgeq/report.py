"""`edgeq report`: one self-contained HTML file showing what quantization did to a model.

Sections: provenance (the convert manifest next to the .tflite), float vs int8 accuracy with both
confusion matrices, the per-layer error table and SQNR chart, an activation histogram per tensor
with the int8 representable range, the arena plan drawn as a memory map and, given a
flash-and-test report.json (``--device``), what the device measured: its summary, the per-layer
profile and the saturation telemetry with its drift flags.

Python computes values and draws the plots (matplotlib, Agg, PNG embedded as base64); the layout
is ``templates/report.html.j2``. The output has no timestamps and no external references: the
same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .artifacts import sha256_bytes, sha256_path, write_text_atomic
from .errors import InputError
from .graph import tensor_label

#: Colours shared by the plots and the HTML (kept plain: prints and projects well).
FLOAT_COLOR = "#4c72b0"
INT8_COLOR = "#dd8452"
CALIB_COLOR = "#55a868"
SQNR_GOOD_DB = 30.0  # bars at or above: green; below SQNR_POOR_DB: red; between: amber
SQNR_POOR_DB = 15.0


@dataclass
class ReportResult:
    path: Path | None
    html_sha256: str
    model: str
    tflite_sha256: str
    task: str
    samples: int
    metrics: dict
    drop_pp: float | None
    layers: list[dict]  # layer_errors rows without the float arrays
    arena_bytes: int | None  # None: the model has an op edgeq generates no code for (host-only)
    lower_bound: int | None
    images: int
    verdict: dict = field(default_factory=dict)  # {"passed": bool | None, "text": str}
    manifest: str | None = None  # the manifest file used for provenance
    notes: list[str] = field(default_factory=list)
    html: str = field(default="", repr=False)
    outputs: list[dict] = field(default_factory=list)  # per model output: Evaluation.outputs
    reference: str = "TFLM"  # what ran the quantized model
    device: dict | None = None  # from flash-and-test's report.json (--device): summary, profile, telemetry

    @property
    def worst_layer(self) -> dict | None:
        finite = [r for r in self.layers if r["sqnr_db"] is not None]
        return min(finite, key=lambda r: r["sqnr_db"]) if finite else None

    def to_dict(self) -> dict:
        w = self.worst_layer
        return {"output": None if self.path is None else str(self.path), "html_sha256": self.html_sha256,
                "model": self.model, "tflite_sha256": self.tflite_sha256, "task": self.task,
                "samples": self.samples, "metrics": self.metrics, "drop_pp": self.drop_pp,
                "worst_layer": None if w is None else {"op": w["op"], "tensor": w["tensor"], "sqnr_db": w["sqnr_db"]},
                "layers": self.layers, "arena_bytes": self.arena_bytes, "lower_bound": self.lower_bound,
                "images": self.images, "manifest": self.manifest, "notes": self.notes,
                "outputs": self.outputs, "reference": self.reference, "verdict": self.verdict,
                "device": self.device}


# ------------------------------------------------------------------------------------ entry point

def build_report(model_path: Path, tflite_path: Path, data_spec: str, calib_spec: str | None = None,
                 out_path: Path | None = None, limit: int = 64, eval_limit: int | None = None,
                 task: str = "auto", progress: Callable[[int, int], None] | None = None,
                 max_drop: float | None = None, device: Path | None = None) -> ReportResult:
    """Measure, plot and render the report; write it atomically to ``out_path`` (if given).

    ``limit`` samples (drawn reproducibly) feed the per-layer error and the histograms;
    the accuracy and confusion matrices use ``eval_limit`` samples (default: all of the data).
    The verdict at the top compares the accuracy drop with ``max_drop`` (default 1 pp).
    ``device``: a flash-and-test report.json of this same .tflite (checked by sha256).
    """
    from .evaluate import _read_tflite, _run, activation_precision, compare_outputs
    from .errors import OpError
    from .graph import check_graph, load_graph
    from .memory import plan_memory
    from .quantize.layer_error import layer_errors

    model_path, tflite_path = Path(model_path), Path(tflite_path)
    if not model_path.exists():
        raise InputError(f"model not found: {model_path}")
    if not tflite_path.is_file():
        raise InputError(f"TFLite model not found: {tflite_path}")
    if limit <= 0:
        raise InputError(f"--limit must be positive, got {limit}")
    tflite = tflite_path.read_bytes()
    tflite_sha = sha256_bytes(tflite)
    notes: list[str] = []

    manifest, manifest_file = _manifest(tflite_path, tflite_sha, notes)
    device_run = None if device is None else load_device_run(Path(device), tflite_sha)
    _, parsed = _read_tflite(tflite_path)
    y_float, y_int, labels, names, ref = _run(model_path, tflite, parsed, data_spec, eval_limit, progress)
    ev = compare_outputs(y_float, y_int, labels, names, task, tflite_sha)
    ev.reference = ref.reference_name
    if len(names) == 1:
        confusion = _confusions(ev.task, y_float, y_int, labels)
    else:  # several outputs: the confusion matrices of the first classifier output
        k = next((o["index"] for o in ev.outputs if o["task"] in ("classification", "binary")), None)
        confusion = None if k is None else _confusions(ev.outputs[k]["task"], y_float[k], y_int[k], labels[k])
        if confusion is not None:
            confusion["output"] = f"output {k} {names[k]}"

    rows = layer_errors(model_path, tflite_path, data_spec, limit, keep_floats=True)
    calib_floats: dict[str, np.ndarray] = {}
    calib_info = None
    if calib_spec is not None:
        calib_rows = layer_errors(model_path, tflite_path, calib_spec, limit, keep_floats=True)
        calib_floats = {r["op"]: r["float_values"] for r in calib_rows}
        calib_info = _calib_check(calib_spec, manifest, notes)

    graph = load_graph(tflite_path, check_supported=False)
    try:
        check_graph(graph, tflite_path.name)
        plan = plan_memory(graph)
    except OpError as e:  # written with --allow-host-only: it runs in TFLM, edgeq generates no code
        plan = None
        notes.append(f"no memory map: {e.message} (the model runs on the host only)")

    images = 0
    layers = []
    for r in rows:
        floats = r.pop("float_values")
        layers.append({**r, "histogram": _png(_histogram_figure(r, floats, calib_floats.get(r["op"])))})
        images += 1
    q = activation_precision(graph)  # "int8", "int16x8" or "int8+int16": how the text names the model
    figures = {"sqnr": _png(_sqnr_figure(layers, q))}
    images += 1
    if plan is not None:
        figures["memory"] = _png(_memory_figure(graph, plan))
        images += 1
    if confusion is not None:
        confusion["label"] = q
        figures["confusion"] = _png(_confusion_figure(confusion))
        images += 1

    context = {
        "model": {"name": model_path.name, "sha256": sha256_path(model_path)},
        "tflite": {"name": tflite_path.name, "sha256": tflite_sha, "bytes": len(tflite)},
        "manifest": manifest, "manifest_file": manifest_file, "calib": calib_info,
        "data": {"spec": _display_spec(data_spec), "samples": ev.samples, "layer_samples": min(limit, ev.samples)},
        "evaluation": ev.to_dict(), "confusion": confusion, "layers": layers,
        "ops": [{"index": op.index, "opcode": op.opcode} for op in graph.operators],
        "memory": None if plan is None else _memory_context(graph, plan), "figures": figures, "notes": notes,
        "verdict": (verdict := _verdict(ev, max_drop, q)),
        "colors": {"float": FLOAT_COLOR, "int8": INT8_COLOR, "calib": CALIB_COLOR}, "q": q,
        "device": None if device_run is None else {"file": Path(device).name, "run": device_run},
    }
    html = render_html(context)
    if out_path is not None:
        write_text_atomic(Path(out_path), html)
    plain = [{k: v for k, v in r.items() if k != "histogram"} for r in layers]
    return ReportResult(path=None if out_path is None else Path(out_path), html_sha256=sha256_bytes(html.encode()),
                        model=model_path.name, tflite_sha256=tflite_sha, task=ev.task, samples=ev.samples,
                        metrics=ev.metrics, drop_pp=ev.drop_pp, layers=plain,
                        arena_bytes=None if plan is None else plan.arena_bytes,
                        lower_bound=None if plan is None else plan.lower_bound, images=images, verdict=verdict, manifest=manifest_file, notes=notes,
                        html=html, outputs=ev.outputs, reference=ev.reference,
                        device=None if device_run is None else device_summary(device_run))


DEFAULT_MAX_DROP_PP = 1.0


# ------------------------------------------------------------------------------------- on device

def load_device_run(path: Path, tflite_sha: str) -> dict:
    """flash-and-test's report.json for this model (its ``model.sha256`` is the .tflite's)."""
    if not path.is_file():
        raise InputError(f"device results not found: {path}",
                         "pass the report.json that flash-and-test writes in its --workdir")
    try:
        run = json.loads(path.read_text())
        sha, board = run["model"]["sha256"], run["board"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path} is not a flash-and-test report.json ({type(e).__name__}: {e})") from e
    if sha != tflite_sha:
        raise InputError(f"{path} holds results of another model (sha256 {sha[:12]}…, this .tflite "
                         f"is {tflite_sha[:12]}…)", "run flash-and-test on this .tflite first")
    return run


def device_summary(run: dict) -> dict:
    """What report --json carries of a device run: the figures, not the per-sample records."""
    keys = ("board", "core", "emulated", "samples", "reference", "mismatch_count", "bit_exact_rate",
            "device_accuracy", "latency", "memory", "kernels", "profile", "telemetry")
    return {k: run[k] for k in keys if k in run}


def _verdict(ev, max_drop: float | None, q: str) -> dict:
    """The line at the top of the report: pass/fail of the accuracy drop against the threshold
    (classifiers), or the output SQNR when there is no accuracy to compare (regression)."""
    limit = DEFAULT_MAX_DROP_PP if max_drop is None else max_drop
    if ev.drop_pp is None:
        sq = ev.metrics.get("output_sqnr_db")
        return {"passed": None, "max_drop_pp": None,
                "text": f"no accuracy gate ({ev.task}): output SQNR {'inf' if sq is None else f'{sq:.1f}'} dB"}
    ok = ev.drop_pp <= limit
    return {"passed": ok, "max_drop_pp": limit,
            "text": f"{'PASS' if ok else 'FAIL'}: {q} loses {ev.drop_pp:.2f} pp of accuracy against the float "
                    f"model ({'within' if ok else 'more than'} the {limit:g} pp threshold)"}


def render_html(context: dict) -> str:
    import jinja2

    from .resources import templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             undefined=jinja2.StrictUndefined, autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.2f} %"
    env.filters["num"] = lambda v, fmt=".4g": "–" if v is None else format(v, fmt)
    env.filters["db"] = lambda v: "∞" if v is None else f"{v:.1f}"
    env.filters["thousands"] = lambda v: f"{int(v):,}"
    env.filters["plain"] = _plain
    return env.get_template("report.html.j2").render(**context)


def _plain(v) -> str:
    """An option value as a person reads it, not a Python repr: yes/no, none, comma lists."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return "none"
    if isinstance(v, (list, tuple)):
        return ", ".join(_plain(x) for x in v) if v else "none"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_plain(x)}" for k, x in sorted(v.items())) if v else "none"
    return str(v)


# ------------------------------------------------------------------------------------ provenance

def _manifest(tflite_path: Path, tflite_sha: str, notes: list[str]) -> tuple[dict | None, str | None]:
    path = tflite_path.with_suffix(".manifest.json")  # convert.manifest_path_for, without importing TF
    if not path.is_file():
        notes.append(f"no manifest ({path.name}) next to the model: provenance limited to hashes")
        return None, None
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        notes.append(f"manifest {path.name} unreadable ({e}); ignored")
        return None, None
    if m.get("tflite", {}).get("sha256") != tflite_sha:
        notes.append(f"manifest {path.name} describes another .tflite (sha256 differs); ignored")
        return None, None
    cal, opts = m.get("calibration", {}), m.get("options", {})
    return {"model": m.get("model", {}), "calibration": {k: cal.get(k) for k in ("source", "sha256", "samples_used")},
            "options": opts, "tools": m.get("tools", {}),
            "ranges": len(cal.get("ranges", []) or [])}, path.name


def _calib_check(calib_spec: str, manifest: dict | None, notes: list[str]) -> dict:
    from . import data as data_mod

    try:
        sha = data_mod.load(calib_spec, None, role="calibration data").sha256
    except InputError:
        sha = None
    want = None if manifest is None else manifest["calibration"].get("sha256")
    matches = None if (sha is None or want is None) else sha == want
    if matches is False:
        notes.append("the --calib data is not the data the manifest says the model was calibrated on")
    return {"spec": _display_spec(calib_spec), "sha256": sha, "matches_manifest": matches}


def _display_spec(spec: str) -> str:
    """A data spec as shown in the report: a file's name (no machine-specific directories)."""
    s = str(spec)
    if ":" in s and not Path(s).exists():
        return s
    return Path(s).name


# -------------------------------------------------------------------------------------- accuracy

def _confusions(task: str, y_float: np.ndarray, y_int: np.ndarray, labels: np.ndarray) -> dict | None:
    if task not in ("classification", "binary"):
        return None
    n = len(labels)
    f2, i2 = y_float.reshape(n, -1), y_int.reshape(n, -1)
    y = labels.astype(np.int64).reshape(-1)
    if task == "classification":
        k = f2.shape[1]
        pf, pi = f2.argmax(1), i2.argmax(1)
    else:
        k = 2
        pf, pi = (f2[:, 0] >= 0.5).astype(np.int64), (i2[:, 0] >= 0.5).astype(np.int64)
    cf, ci = confusion_matrix(y, pf, k), confusion_matrix(y, pi, k)
    flipped = np.nonzero(pf != pi)[0]
    return {"classes": list(range(k)), "float": cf.tolist(), "int8": ci.tolist(),
            "diff": (ci - cf).tolist(), "max": int(max(cf.max(), ci.max(), 1)),
            "changed": [{"index": int(j), "label": int(y[j]), "float": int(pf[j]), "int8": int(pi[j])}
                        for j in flipped[:50]],
            "changed_count": int(len(flipped))}


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels, predicted), 1)
    return m


# --------------------------------------------------------------------------------------- figures

def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "edgeq"})
    return plt


def _png(fig) -> str:
    """The figure as base64 PNG; no Software/date metadata, so the bytes are reproducible."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _confusion_figure(c: dict):
    plt = _pyplot()
    k = len(c["classes"])
    size = min(4.2, 1.6 + 0.28 * k)
    # the float and int8 counts are the tables beside it: the figure shows only what changed
    fig, ax = plt.subplots(1, 1, figsize=(size + 1.2, size + 0.4))
    diff = np.array(c["diff"])
    lim = max(1, int(np.abs(diff).max()))
    for title, m, cmap, lo, hi in [(f"{c['label']} − float (red: more, blue: fewer)", diff, "RdBu_r", -lim, lim)]:
        ax.imshow(m, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        if k <= 16:
            for (i, j), v in np.ndenumerate(m):
                if v:
                    strong = abs(v) > 0.6 * max(abs(lo), hi)
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                            color="white" if strong else "black")
    fig.tight_layout()
    return fig


def _sqnr_color(v: float | None) -> str:
    if v is None or v >= SQNR_GOOD_DB:
        return "#55a868"
    return "#c44e52" if v < SQNR_POOR_DB else "#e1a53a"


def _sqnr_figure(layers: list[dict], label: str = "int8"):
    plt = _pyplot()
    n = max(len(layers), 1)
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.32 * n))
    finite = [r["sqnr_db"] for r in layers if r["sqnr_db"] is not None and np.isfinite(r["sqnr_db"])]
    top = max(finite + [SQNR_GOOD_DB]) * 1.15 + 1
    vals = [top if r["sqnr_db"] is None else max(float(r["sqnr_db"]), 0.0) for r in layers]
    names = [f"{r['op']}  {tensor_label(r['tensor'], 28)}" for r in layers]
    y = np.arange(len(layers))
    ax.barh(y, vals, color=[_sqnr_color(r["sqnr_db"]) for r in layers], height=0.7)
    for yi, r, v in zip(y, layers, vals):
        ax.text(v + top * 0.01, yi, "∞" if r["sqnr_db"] is None else f"{r['sqnr_db']:.1f} dB",
                va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8, family="monospace")
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.12)
    ax.axvline(SQNR_GOOD_DB, color="#999999", lw=0.8, ls="--")
    ax.axvline(SQNR_POOR_DB, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel(f"SQNR of the {label} activation vs float (dB, higher is better)")
    ax.set_title("Per-layer SQNR")
    fig.tight_layout()
    return fig


def _histogram_figure(row: dict, floats: np.ndarray, calib: np.ndarray | None):
    plt = _pyplot()
    lo, hi = row["range"]
    v = floats.reshape(-1).astype(np.float64)
    vals = [v] + ([] if calib is None else [calib.reshape(-1).astype(np.float64)])
    dmin = min(float(a.min()) for a in vals)
    dmax = max(float(a.max()) for a in vals)
    span = max(hi, dmax) - min(lo, dmin)
    left, right = min(lo, dmin) - 0.04 * span, max(hi, dmax) + 0.04 * span
    bins = np.linspace(left, right, 81)
    fig, ax = plt.subplots(figsize=(6.4, 2.3))
    ax.hist(np.clip(v, left, right), bins=bins, color=FLOAT_COLOR, alpha=0.85, label="float (test data)")
    if calib is not None:
        ax.hist(np.clip(vals[1], left, right), bins=bins, histtype="step", color=CALIB_COLOR, lw=1.3,
                label="float (calibration data)")
    ax.set_yscale("log")
    ax.axvspan(left, lo, color="#c44e52", alpha=0.12, lw=0)
    ax.axvspan(hi, right, color="#c44e52", alpha=0.12, lw=0)
    ax.axvline(lo, color=INT8_COLOR, lw=1.6)
    ax.axvline(hi, color=INT8_COLOR, lw=1.6, label=f"{row['dtype']} range")
    ax.set_xlim(left, right)
    ax.set_xlabel("activation value (float units)")
    ax.set_ylabel("count (log)")
    ax.set_title(f"{row['op']}  {tensor_label(row['tensor'], 46)}   range [{lo:.4g}, {hi:.4g}]  "
                 f"clipped {100 * row['clipped_fraction']:.2f} %", fontsize=8.5)
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    fig.tight_layout()
    return fig


def _memory_figure(graph, plan):
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    n = max(plan.n_steps, 1)
    fig, ax = plt.subplots(figsize=(min(12, 5 + 0.45 * n), 4.2))
    arena = max(plan.arena_bytes, 1)
    palette = ["#4c72b0", "#55a868", "#8172b3", "#937860", "#da8bc3", "#64b5cd", "#8c8c8c", "#ccb974"]
    for b in plan.buffers:
        if b.aligned_size == 0:
            continue
        scratch = b.kind == "scratch"
        color = "#dd8452" if scratch else palette[b.id % len(palette)]
        ax.add_patch(Rectangle((b.first - 0.45, b.offset), b.last - b.first + 0.9, b.aligned_size,
                               facecolor=color, edgecolor="black", lw=0.6, alpha=0.55 if scratch else 0.8,
                               hatch="//" if scratch else None))
        if b.aligned_size > 0.06 * arena:
            # the buffer table's first column: b<id>, then what it holds
            label = f"b{b.id} " + ("scratch" if scratch else tensor_label(graph.tensors[b.tensors[0]].name, 16))
            ax.text((b.first + b.last) / 2, b.offset + b.aligned_size / 2, f"{label}\n{b.aligned_size:,} B",
                    ha="center", va="center", fontsize=7)
    steps = np.arange(len(plan.live_bytes))
    ax.step(steps, plan.live_bytes, where="mid", color="black", lw=1, ls="--", label="live bytes")
    ax.axhline(plan.lower_bound, color="#c44e52", lw=0.8, ls=":", label="liveness lower bound")
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, arena * 1.18)
    ax.set_xticks(range(n))
    if n <= 40:
        ax.set_xticklabels([f"{op.index}\n{op.opcode.replace('_', ' ').title().replace(' ', '')[:14]}"
                            for op in graph.operators] or ["0"], fontsize=7,
                           rotation=0 if n <= 12 else 90)
    ax.set_xlabel("op step (buffer lifetime)")
    ax.set_ylabel("arena offset (bytes)")
    verdict = (f"{plan.arena_bytes / max(plan.lower_bound, 1):.2f}× the bound, in place"
               if plan.arena_bytes < plan.lower_bound else "optimal" if plan.optimal
               else f"+{plan.arena_bytes - plan.lower_bound:,} B over the bound")
    ax.set_title(f"Arena {plan.arena_bytes:,} B vs liveness lower bound {plan.lower_bound:,} B ({verdict})")
    ax.legend(fontsize=7, loc="upper right", frameon=False, ncol=2)
    fig.tight_layout()
    return fig


def _memory_context(graph, plan) -> dict:
    bufs = []
    for b in sorted(plan.buffers, key=lambda b: (b.offset, b.first, b.id)):
        names = [graph.tensors[i].name.split(";")[0] for i in b.tensors]
        bufs.append({"id": b.id, "kind": b.kind, "name": b.name if b.kind == "scratch" else (names[0] if names else b.name),
                     "tensors": list(b.tensors), "size": b.size, "aligned_size": b.aligned_size,
                     "offset": b.offset, "end": b.end, "first": b.first, "last": b.last})
    return {"arena_bytes": plan.arena_bytes, "lower_bound": plan.lower_bound, "optimal": plan.optimal,
            "greedy_bytes": plan.greedy_bytes, "strategy": plan.strategy, "peak_step": plan.peak_step,
            "alignment": plan.alignment, "buffers": bufs, "weights": weight_flash(graph)}


def weight_flash(graph) -> dict:
    """Weight flash as `edgeq generate` stores it (4-bit weights packed: edgeq.codegen.packed_weights):
    per weighted layer and per precision."""
    from .flash_usage import flash_usage

    fu = flash_usage(graph)
    rows = [{"index": o.index, "opcode": o.opcode, "output": o.output.split(";")[0], "precision": o.weight_precision,
             "bytes": o.weights, "int8_bytes": o.weights_int8} for o in fu.ops if o.weight_precision]
    return {"layers": rows, "by_precision": fu.weights_by_precision, "bytes": sum(r["bytes"] for r in rows),
            "int8_bytes": sum(r["int8_bytes"] for r in rows)}


