"""Commands on the model: convert, evaluate, calibrate-compare, layer-error, sensitivity, qat, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import EXIT_GATE
from . import JsonOpt, app, run
from .render import render_convert, render_evaluation


# ---------------------------------------------------------------------------------------- convert

@app.command()
def convert(
    model: Annotated[Path, typer.Argument(help="Keras model: .keras, .h5 or a SavedModel directory.")],
    calib: Annotated[str, typer.Option("--calib", "-c", help="Calibration data: .npz (x[, y]), .npy, .csv, "
                                       "an image folder, or module:function.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output .tflite "
                                                   "(default: MODEL with .tflite).")] = None,
    samples: Annotated[int, typer.Option(help="Calibration samples, drawn reproducibly with --seed.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed for the calibration sample draw.")] = 0,
    granularity: Annotated[str, typer.Option(help="Weight quantization: per-channel | per-tensor.")] = "per-channel",
    io: Annotated[str, typer.Option("--io", help="Input/output type: int8 | uint8 | float32.")] = "int8",
    precision: Annotated[str, typer.Option(help="int8 | int16x8 (int16 activations, int8 weights).")] = "int8",
    method: Annotated[str, typer.Option(help="Activation ranges: minmax | percentile | mse | entropy.")] = "minmax",
    percentile: Annotated[float, typer.Option(help="Percentile kept by --method percentile.")] = 99.99,
    keep: Annotated[Optional[list[str]], typer.Option(
        "--keep", help="Mixed precision: keep this layer's activation at int16 (it and the ops reading it run "
        "16x8). Repeatable.")] = None,
    auto: Annotated[bool, typer.Option("--auto", help="Mixed precision: find the fewest int16 layers that bring "
                                       "the accuracy drop on --data within --max-drop.")] = False,
    max_drop: Annotated[Optional[float], typer.Option(help="With --auto: the accuracy drop target, in "
                                                      "percentage points.")] = None,
    data: Annotated[Optional[str], typer.Option("--data", "-d", help="With --auto: labelled held-out data "
                                                "to measure the drop on.")] = None,
    board: Annotated[Optional[str], typer.Option("--board", "-b", help="With --auto: only choices that fit "
                                                 "this board's memory.")] = None,
    allow_host_only: Annotated[bool, typer.Option(help="Write the model even if it has ops edgeq generate "
                                                  "cannot run (it still runs in TFLM).")] = False,
    weights: Annotated[str, typer.Option(help="Weights of every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED "
                                         "layer: int8 | int4 (values -7..7, nibbles on the device) | cluster16 "
                                         "(at most 16 distinct values, 4-bit indices + a table).")] = "int8",
    int4: Annotated[Optional[list[str]], typer.Option(
        "--int4", help="This layer's weights at int4 (the others as --weights says). Repeatable.")] = None,
    cluster16: Annotated[Optional[list[str]], typer.Option(
        "--cluster16", help="This layer's weights clustered to 16 values. Repeatable.")] = None,
    cluster_granularity: Annotated[str, typer.Option(help="Clustering: 16 values per-tensor | per-channel.")
                                   ] = "per-tensor",
    int4_scale: Annotated[str, typer.Option(help="int4 scale per channel: mse (clipped where that lowers the "
                                            "squared error) | max (max|w|/7).")] = "mse",
    max_flash: Annotated[Optional[str], typer.Option(help="With --auto: budget for the weight bytes (64K, 1M, "
                                                     "bytes); layers drop to int4 until it is met within "
                                                     "--max-drop (exit 1 if it cannot be).")] = None,
    json_out: JsonOpt = False,
):
    """Quantize a Keras model to a full-integer TFLite model, calibrated on representative data.

    Writes OUT.tflite and OUT.manifest.json (hashes of the inputs, options, tool versions,
    quantization parameters). Same inputs and options give byte-identical files. A model that
    `edgeq generate` could not run on a device is refused here, naming the op and layer.

    Examples:

        edgeq convert models/digits/digits.keras --calib models/digits/train.npz -o out/digits.tflite

        edgeq convert model.keras --calib train.npz --keep dense_2            # one layer at int16

        edgeq convert model.keras --calib train.npz --auto --max-drop 1 --data test.npz --board nucleo-l4r5zi

        edgeq convert model.keras --calib train.npz --weights int4             # 4-bit weights everywhere

        edgeq convert model.keras --calib train.npz --int4 conv2 --int4 fc1   # chosen layers only
    """
    from .. import ui
    from ..quantize.convert import ConvertOptions, convert_model

    opts = ConvertOptions(samples=samples, seed=seed, granularity=granularity, io=io, precision=precision,
                          method=method, percentile=percentile, keep=tuple(keep or ()), auto=auto,
                          max_drop=max_drop, eval_data=data, board=board, allow_host_only=allow_host_only,
                          weights=weights, int4=tuple(int4 or ()), cluster=tuple(cluster16 or ()),
                          cluster_granularity=cluster_granularity, max_flash=max_flash,
                          int4_scale=int4_scale)
    out_path = output or model.with_suffix(".tflite")
    with ui.progress("calibrating", enabled=not json_out) as bar:
        res = run(convert_model, model, calib, out_path, opts, bar)
    mix = res.manifest.get("mixed_precision")
    auto_res = (mix or {}).get("auto")
    if json_out:
        ui.print_json({"output": str(res.out_path), "manifest": str(res.manifest_path), **res.manifest})
    else:
        render_convert(res, opts)
    for w in res.warnings:
        ui.err.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    if auto_res and not auto_res["met"]:
        ui.error(f"--auto could not bring the drop within {max_drop} pp: best {auto_res['drop_pp']:.2f} pp with "
                 f"{len(mix['int16_layers'])} int16 layer(s); the best model found was written")
        raise typer.Exit(EXIT_GATE)
    w_auto = (res.manifest.get("weights") or {}).get("auto")
    if w_auto and not w_auto["met"]:
        ui.error(f"--auto: {w_auto['reason']}; the best model found was written")
        raise typer.Exit(EXIT_GATE)


# --------------------------------------------------------------------------------------- evaluate

@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="The float Keras model.")],
    tflite: Annotated[Path, typer.Argument(help="Its quantized .tflite.")],
    data: Annotated[str, typer.Option("--data", "-d", help="Labelled held-out data (same formats as --calib).")],
    max_drop: Annotated[Optional[float], typer.Option(help="Gate: fail (exit 1) if int8 accuracy is more than "
                                                      "this many percentage points below float.")] = None,
    task: Annotated[str, typer.Option(help="auto | classification | binary | regression.")] = "auto",
    limit: Annotated[Optional[int], typer.Option(help="Use only N samples (drawn reproducibly).")] = None,
    json_out: JsonOpt = False,
):
    """Compare the float model with the int8 model (run by the TFLM interpreter) on labelled data.

    Reports top-1 accuracy (MSE/MAE for regression), float↔int8 agreement, per-class accuracy
    and the output error in float units.

    Example:

        edgeq evaluate models/digits/digits.keras out/digits.tflite --data models/digits/test.npz --max-drop 1
    """
    from .. import ui
    from ..evaluate import apply_gate, evaluate as evaluate_fn

    with ui.progress("int8 reference", enabled=not json_out) as bar:
        ev = run(evaluate_fn, model, tflite, data, task, limit, bar)
    ok = run(apply_gate, ev, max_drop)
    if json_out:
        ui.print_json(ev.to_dict())
    else:
        render_evaluation(ev)
    if not ok:
        ui.error(f"accuracy drop {ev.drop_pp:.2f} pp exceeds --max-drop {max_drop} pp")
        raise typer.Exit(EXIT_GATE)


# ------------------------------------------------------------------------------ calibrate-compare

@app.command("calibrate-compare")
def calibrate_compare(
    model: Annotated[Path, typer.Argument(help="The float Keras model.")],
    calib: Annotated[str, typer.Option("--calib", "-c", help="Calibration data.")],
    data: Annotated[str, typer.Option("--data", "-d", help="Labelled held-out data.")],
    samples: Annotated[int, typer.Option(help="Calibration samples.")] = 300,
    percentile: Annotated[float, typer.Option(help="Percentile for --method percentile.")] = 99.99,
    json_out: JsonOpt = False,
):
    """Try every calibration method × weight granularity and say which wins.

    Methods: minmax, percentile, mse, entropy; granularity: per-channel, per-tensor. Reports
    int8 accuracy, agreement with float, output SQNR and model size for each.

    Example:

        edgeq calibrate-compare models/digits/digits.keras --calib models/digits/train.npz --data models/digits/test.npz
    """
    from .. import ui
    from ..quantize.compare import calibrate_compare as compare_fn
    from ..quantize.convert import ConvertOptions

    with ui.progress("calibrations", enabled=not json_out) as bar:
        res = run(compare_fn, model, calib, data, ConvertOptions(samples=samples, percentile=percentile),
                  progress=bar)
    if json_out:
        ui.print_json(res)
        return
    rows = []
    for c in res["candidates"]:
        m = c["metrics"]
        mark = "★" if (c["method"], c["granularity"]) == (res["best"]["method"], res["best"]["granularity"]) else ""
        primary = ui.pct(m.get("int8_accuracy")) if "int8_accuracy" in m else ui.num(m.get("int8_mse"))
        sq = "∞" if m["output_sqnr_db"] is None else f"{m['output_sqnr_db']:.1f} dB"
        rows.append([f"{mark}{c['method']}", c["granularity"], primary, ui.pct(m.get("agreement")), sq,
                     f"{c['tflite_bytes']:,}"])
    metric = "int8 acc" if res["task"] != "regression" else "int8 MSE"
    ui.out.print(ui.table(f"calibration comparison — {res['samples']} samples",
                          ["method", "granularity", metric, "agreement", "SQNR", "bytes"], rows,
                          justify_right_from=2))
    ui.out.print(f"best: [bold]{res['best']['method']}[/] with [bold]{res['best']['granularity']}[/] weights")


# ------------------------------------------------------------------------------------ layer-error

@app.command("layer-error")
def layer_error(
    model: Annotated[Path, typer.Argument(help="The float Keras model.")],
    tflite: Annotated[Path, typer.Argument(help="Its quantized .tflite.")],
    data: Annotated[str, typer.Option("--data", "-d", help="Samples to measure on (labels not needed).")],
    limit: Annotated[int, typer.Option(help="Samples used (drawn reproducibly).")] = 64,
    json_out: JsonOpt = False,
):
    """Quantization error layer by layer: int8 (TFLM) vs float, every activation tensor.

    For each tensor: scale, zero point, the rounding-error bound (step/2), the fraction of float
    values outside the int8 range (clipped), and the measured RMSE and SQNR.

    Example:

        edgeq layer-error models/digits/digits.keras out/digits.tflite --data models/digits/test.npz
    """
    from .. import ui
    from ..quantize.layer_error import layer_errors

    from ..graph import tensor_label

    rows = run(layer_errors, model, tflite, data, limit)
    if json_out:
        ui.print_json({"layers": rows})
        return
    body = []
    for r in rows:
        sq = "∞" if r["sqnr_db"] is None else f"{r['sqnr_db']:.1f}"
        bar = "█" * max(0, min(20, int((r["sqnr_db"] or 60) / 3)))
        body.append([r["op"], tensor_label(r["tensor"], 40), ui.num(r["scale"]), r["zero_point"], ui.num(r["rounding_bound"]),
                     ui.pct(r["clipped_fraction"]), ui.num(r["rmse"]), sq, bar])
    ui.out.print(ui.table(f"per-layer quantization error ({limit} samples)",
                          ["op", "tensor", "scale", "zp", "step/2", "clipped", "RMSE", "SQNR dB", ""], body,
                          justify_right_from=2))


# ------------------------------------------------------------------------------------ sensitivity

@app.command()
def sensitivity(
    model: Annotated[Path, typer.Argument(help="The float Keras model.")],
    calib: Annotated[str, typer.Option("--calib", "-c", help="Calibration data.")],
    data: Annotated[str, typer.Option("--data", "-d", help="Labelled held-out data.")],
    samples: Annotated[int, typer.Option(help="Calibration samples.")] = 300,
    json_out: JsonOpt = False,
):
    """Rank layers by what quantizing them costs.

    Each layer is quantized alone (the rest float) and the model is quantized with only that
    layer left float; both run through the TFLM reference on the held-out data. The --keep column
    is what `convert --keep LAYER` (that layer's activation at int16, the rest int8) wins back; the
    --int4 column what `convert --int4 LAYER` (only its weights at int4) costs, and the bytes it saves.

    Example:

        edgeq sensitivity models/digits/digits.keras --calib models/digits/train.npz --data models/digits/test.npz
    """
    from .. import ui
    from ..quantize.sensitivity import sensitivity as sensitivity_fn

    with ui.progress("layers", enabled=not json_out) as bar:
        res = run(sensitivity_fn, model, calib, data, samples, bar)
    if json_out:
        ui.print_json(res)
        return
    fmt = ui.pct if res["task"] != "regression" else ui.num

    def keep16(r):
        k = r.get("int16_keep")
        return "-" if not k or not k["possible"] else f"{100 * k['recovery']:+.2f}"

    from ..graph import tensor_label

    def int4(r):
        k = r.get("int4_weights")
        return "-" if not k else f"{-100 * k['cost']:+.2f} ({k['saves_bytes']:,} B)"

    rows = [[r["layer"] or tensor_label(r["tensor"], 40), r["op"], fmt(r["only_this_quantized"]["metric"]),
             f"{100 * r['cost']:+.2f}", fmt(r["all_but_this_quantized"]["metric"]), f"{100 * r['recovery']:+.2f}",
             keep16(r), int4(r)] for r in res["layers"]]
    ui.out.print(ui.table(f"layer sensitivity — float {fmt(res['float_metric'])}, all int8 {fmt(res['int8_metric'])}",
                          ["layer", "op", "only it int8", "cost pp", "all but it int8", "float recovery pp",
                           "--keep (int16) pp", "--int4 pp (saves)"], rows, justify_right_from=2))
    ui.out.print(f"most sensitive: [bold]{res['most_sensitive']}[/]")
    best = max((r for r in res["layers"] if (r.get("int16_keep") or {}).get("possible")),
               key=lambda r: r["int16_keep"]["recovery"], default=None)
    if best is not None and best["int16_keep"]["recovery"] > 0:
        ui.out.print(f"best single int16 layer: [bold]--keep {best['layer']}[/] "
                     f"({100 * best['int16_keep']['recovery']:+.2f} pp)")


# -------------------------------------------------------------------------------------------- qat

@app.command()
def qat(
    model: Annotated[Path, typer.Argument(help="Keras model: .keras (Keras 3) or .h5.")],
    train: Annotated[str, typer.Option("--train", "-t", help="Labelled training data.")],
    calib: Annotated[str, typer.Option("--calib", "-c", help="Calibration data for the final conversion.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output .tflite.")] = None,
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs with fake quantization.")] = 5,
    learning_rate: Annotated[float, typer.Option(help="Adam learning rate.")] = 5e-4,
    io: Annotated[str, typer.Option("--io", help="Input/output type: int8 | uint8 | float32.")] = "int8",
    json_out: JsonOpt = False,
):
    """Quantization-aware fine-tuning (TF-MOT), then full-integer conversion like `convert`.

    Keras 3 models are bridged to tf_keras (TF-MOT's Keras) and trained in a child process.

    Example:

        edgeq qat models/digits/digits.keras --train models/digits/train.npz --calib models/digits/train.npz -o out/digits_qat.tflite
    """
    from .. import ui
    from ..quantize.qat import QatOptions, qat_model

    out_path = output or model.with_name(model.stem + "_qat.tflite")
    with ui.progress("QAT epochs", enabled=not json_out) as bar:
        res = run(qat_model, model, train, calib, out_path,
                  QatOptions(epochs=epochs, learning_rate=learning_rate, io=io), bar)
    if json_out:
        ui.print_json({"output": str(res.out_path), "manifest": str(res.manifest_path), **res.manifest})
        return
    ui.out.print(ui.table("edgeq qat", ["", ""], [["output", str(res.out_path)],
                                                  ["size", f"{res.manifest['tflite']['bytes']:,} B"],
                                                  ["epochs", epochs], ["manifest", str(res.manifest_path)]],
                          justify_right_from=2))


# ----------------------------------------------------------------------------------------- report

@app.command()
def report(
    model: Annotated[Path, typer.Argument(help="The float Keras model.")],
    tflite: Annotated[Path, typer.Argument(help="Its quantized .tflite (OUT.manifest.json next to it is used "
                                           "for provenance).")],
    data: Annotated[str, typer.Option("--data", "-d", help="Labelled held-out data.")],
    calib: Annotated[Optional[str], typer.Option("--calib", "-c", help="Calibration data: its activations are "
                                                 "overlaid on the histograms.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output HTML "
                                                   "(default: TFLITE with .report.html).")] = None,
    limit: Annotated[int, typer.Option(help="Samples for the per-layer error and histograms.")] = 64,
    eval_limit: Annotated[Optional[int], typer.Option(help="Samples for accuracy (default: all).")] = None,
    task: Annotated[str, typer.Option(help="auto | classification | binary | regression.")] = "auto",
    max_drop: Annotated[Optional[float], typer.Option(help="The verdict's threshold in accuracy points "
                                                      "(default 1); given, a drop above it exits 1.")] = None,
    device: Annotated[Optional[Path], typer.Option(help="A flash-and-test report.json of this .tflite: adds "
                                                   "the device's figures, per-layer profile (--profile) and "
                                                   "saturation telemetry (--telemetry).")] = None,
    json_out: JsonOpt = False,
):
    """Write one self-contained HTML report of what quantization did (plots embedded, no external links).

    A pass/fail verdict at the top, provenance, float vs int8 accuracy with both confusion matrices, the per-layer error table and
    SQNR chart, activation histograms against the int8 range, and the arena memory map; with
    --device, what the device measured. Same inputs give a byte-identical file.

    Examples:

        edgeq report models/digits/digits.keras out/digits.tflite --data models/digits/test.npz -o out/report.html

        edgeq flash-and-test out/digits.tflite --board qemu-mps2-an386 --data models/digits/test.npz \
            --calib models/digits/train.npz --profile --telemetry --workdir out/run
        edgeq report models/digits/digits.keras out/digits.tflite --data models/digits/test.npz --device out/run/report.json
    """
    from .. import ui
    from ..report import build_report

    out_path = output or tflite.with_suffix(".report.html")
    with ui.progress("int8 reference", enabled=not json_out) as bar:
        res = run(build_report, model, tflite, data, calib, out_path, limit=limit, eval_limit=eval_limit,
                  task=task, progress=bar, max_drop=max_drop, device=device)
    failed = max_drop is not None and res.verdict.get("passed") is False
    if json_out:
        ui.print_json(res.to_dict())
        if failed:
            raise typer.Exit(EXIT_GATE)
        return
    m = res.metrics
    rows = [["verdict", res.verdict["text"]], ["report", str(res.path)], ["task / samples", f"{res.task} / {res.samples}"]]
    for o in (res.outputs if len(res.outputs) > 1 else [{"index": None, "metrics": m, "drop_pp": res.drop_pp}]):
        om, label = o["metrics"], "" if o["index"] is None else f"output {o['index']} {o['name']}: "
        if "float_accuracy" in om:
            rows.append([f"{label}accuracy float → int8", f"{ui.pct(om['float_accuracy'])} → "
                         f"{ui.pct(om['int8_accuracy'])}  (drop {o['drop_pp']:.2f} pp)"])
        elif "float_mse" in om:
            rows.append([f"{label}MSE float → int8", f"{ui.num(om['float_mse'])} → {ui.num(om['int8_mse'])}"])
        rows.append([f"{label}output SQNR", "∞" if om["output_sqnr_db"] is None else f"{om['output_sqnr_db']:.1f} dB"])
    w = res.worst_layer
    if w is not None:
        rows.append(["lowest layer SQNR", f"{w['sqnr_db']:.1f} dB at {w['op']}"])
    if res.arena_bytes is not None:
        rows.append(["arena / lower bound", f"{res.arena_bytes:,} / {res.lower_bound:,} B"])
    if res.device is not None:
        rows.append(["device", _device_line(res.device)])
    rows += [["plots", res.images], ["html sha256", res.html_sha256[:16] + "…"]]
    ui.out.print(ui.table(f"edgeq report — {res.model}", ["", ""], rows, justify_right_from=2))
    for n in res.notes:
        ui.err.print(f"[dim]note: {n}[/]")
    if failed:
        ui.error(res.verdict["text"])
        raise typer.Exit(EXIT_GATE)


def _device_line(dev: dict) -> str:
    """One line of what the device measured: bit-exactness, time, profile and drift."""
    unit = "instructions" if dev.get("emulated") else "cycles"
    parts = [f"{dev['board']}: {dev['samples'] - dev['mismatch_count']}/{dev['samples']} bit-exact"]
    lat = (dev.get("latency") or {}).get(unit)
    if lat:
        parts.append(f"{lat['median']:,.0f} {unit}")
    if (dev.get("profile") or {}).get("layers"):
        parts.append(f"profile of {len(dev['profile']['layers'])} layers")
    tel = dev.get("telemetry")
    if tel is not None:
        drift = tel.get("drift_layers") or []
        parts.append(f"DRIFT at layers {', '.join(map(str, drift))}" if drift else "no saturation drift")
    return "; ".join(parts)
