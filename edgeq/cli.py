"""The `edgeq` command line: parse options, call one stage, render, exit with a reliable code.

Exit codes: 0 success, 1 a gate failed (accuracy drop, budget, mismatch), 2 bad input or usage.
Heavy imports (TensorFlow, the TFLM interpreter) happen inside commands, so `--help` is instant.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import EXIT_GATE, EXIT_USAGE, EdgeqError, Terminated

app = typer.Typer(
    name="edgeq",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

_state = {"debug": False}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")]


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False):
    """edgeq: Keras → int8 TFLite → C (CMSIS-NN API) → a board, with measurements at every step.

    Typical flow:

        edgeq convert model.keras --calib calib.npz -o model.tflite

        edgeq evaluate model.keras model.tflite --data test.npz --max-drop 1

        edgeq size-check model.tflite --board nucleo-l4r5zi

        edgeq generate model.tflite -o model_c

        edgeq flash-and-test model.tflite --board qemu-mps2-an386 --data test.npz

    Exit codes: 0 ok, 1 a gate failed (accuracy, budget, mismatch), 2 bad input, 3 the device or
    emulator was lost or did not answer; 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (what was
    measured is kept).
    """
    _state["debug"] = debug
    _handle_termination()


def _handle_termination() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C: emulators stopped, results kept, exit 128 + signal."""
    import signal

    def raise_terminated(signum, _frame):
        raise Terminated(signum)

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, raise_terminated)


def run(fn, *args, **kwargs):
    """Call a stage; turn edgeq's errors into a message + exit code, anything else into exit 2/3."""
    from . import ui

    try:
        return fn(*args, **kwargs)
    except EdgeqError as e:
        if _state["debug"]:
            traceback.print_exc()
        ui.error(e.message, e.hint)
        raise typer.Exit(e.exit_code)
    except KeyboardInterrupt:
        ui.error("interrupted")
        raise typer.Exit(130)
    except Terminated as e:
        import signal

        ui.error(f"terminated by {signal.Signals(e.signum).name}")
        raise typer.Exit(128 + e.signum)


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
    """
    from . import ui
    from .quantize.convert import ConvertOptions, convert_model

    opts = ConvertOptions(samples=samples, seed=seed, granularity=granularity, io=io, precision=precision,
                          method=method, percentile=percentile, keep=tuple(keep or ()), auto=auto,
                          max_drop=max_drop, eval_data=data, board=board, allow_host_only=allow_host_only)
    out_path = output or model.with_suffix(".tflite")
    with ui.progress("calibrating", enabled=not json_out) as bar:
        res = run(convert_model, model, calib, out_path, opts, bar)
    mix = res.manifest.get("mixed_precision")
    auto_res = (mix or {}).get("auto")
    if json_out:
        ui.print_json({"output": str(res.out_path), "manifest": str(res.manifest_path), **res.manifest})
    else:
        _render_convert(res, opts)
    if auto_res and not auto_res["met"]:
        ui.error(f"--auto could not bring the drop within {max_drop} pp: best {auto_res['drop_pp']:.2f} pp with "
                 f"{len(mix['int16_layers'])} int16 layer(s); the best model found was written")
        raise typer.Exit(EXIT_GATE)


def _render_convert(res, opts) -> None:
    from . import ui

    m = res.manifest

    def io_rows(kind: str) -> list:
        ts = m["io"][kind + "s"]
        return [[kind if len(ts) == 1 else f"{kind} {k}" + (f" ({t['name'].split(':')[0].removeprefix('serving_default_')})"
                                                            if kind == "input" else ""),
                 f"{t['dtype']} {tuple(t['shape'])} scale {ui.num(t['scale'])} zp {t['zero_point']}"]
                for k, t in enumerate(ts)]

    rows = [["output", str(res.out_path)], ["size", f"{m['tflite']['bytes']:,} B"],
            ["calibration", f"{res.calib_samples} samples of {m['calibration']['source']}"],
            ["granularity / precision", f"{opts.granularity} / {opts.precision}"],
            ["activation ranges", opts.method + (f" ({opts.percentile})" if opts.method == "percentile" else "")],
            *io_rows("input"), *io_rows("output"),
            ["tensors", f"{m['tensors']['quantized']} quantized, {m['tensors']['per_channel']} per-channel"]]
    mix = m.get("mixed_precision")
    if mix is not None:
        rows.append(["int16 layers", ", ".join(mix["int16_layers"]) or "none needed"])
        rows.append(["int16 activations", f"{len(mix['int16_tensors'])} tensors, {mix['requantize_ops']} "
                                          "requantize ops at the int8/int16 edges"])
        a = mix.get("auto")
        if a:
            rows.append(["accuracy float / int8 / mixed", f"{ui.pct(a['float_accuracy'])} / "
                         f"{ui.pct(a['all_int8_accuracy'])} / {ui.pct(a['accuracy'])}  (drop {a['drop_pp']:.2f} pp, "
                         f"target {a['max_drop_pp']} pp)"])
    rows.append(["manifest", str(res.manifest_path)])
    ui.out.print(ui.table("edgeq convert", ["", ""], rows, justify_right_from=2))


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
    from . import ui
    from .evaluate import apply_gate, evaluate as evaluate_fn

    with ui.progress("int8 reference", enabled=not json_out) as bar:
        ev = run(evaluate_fn, model, tflite, data, task, limit, bar)
    ok = run(apply_gate, ev, max_drop)
    if json_out:
        ui.print_json(ev.to_dict())
    else:
        _render_evaluation(ev)
    if not ok:
        ui.error(f"accuracy drop {ev.drop_pp:.2f} pp exceeds --max-drop {max_drop} pp")
        raise typer.Exit(EXIT_GATE)


def _render_evaluation(ev) -> None:
    from . import ui

    if len(ev.outputs) > 1:
        return _render_evaluation_outputs(ev)
    m = ev.metrics
    rows = []
    if ev.task in ("classification", "binary"):
        rows += [["top-1 accuracy", ui.pct(m["float_accuracy"]), ui.pct(m["int8_accuracy"])],
                 ["drop", "", f"{ev.drop_pp:.2f} pp"],
                 [f"float↔{ev.precision} agreement", "", ui.pct(m["agreement"])]]
    else:
        rows += [["MSE", ui.num(m["float_mse"]), ui.num(m["int8_mse"])],
                 ["MAE", ui.num(m["float_mae"]), ui.num(m["int8_mae"])]]
    rows += [["output RMSE vs float", "", ui.num(m["output_rmse"])],
             ["output max |error|", "", ui.num(m["output_max_abs_error"])],
             ["output SQNR", "", "∞" if m["output_sqnr_db"] is None else f"{m['output_sqnr_db']:.1f} dB"]]
    q = ev.precision
    ui.out.print(ui.table(f"edgeq evaluate — {ev.task}, {ev.samples} samples", ["metric", "float", q], rows))
    if ev.per_class:
        pc = [[c["class"], c["count"], ui.pct(c["float_accuracy"]), ui.pct(c["int8_accuracy"])] for c in ev.per_class]
        ui.out.print(ui.table("per class", ["class", "n", "float", q], pc))
    if ev.reference != "TFLM":
        ui.out.print(f"{q} model run by the {ev.reference} interpreter (an op has no TFLM kernel)")


def _render_evaluation_outputs(ev) -> None:
    """A model with several outputs: one row per output (its main metric float → quantized), then
    the float↔quantized error of each, then per-class accuracy of each classifier output."""
    from . import ui

    q = ev.precision
    rows = []
    for o in ev.outputs:
        m, label = o["metrics"], f"{o['index']} {o['name']}"
        sq = "∞" if m["output_sqnr_db"] is None else f"{m['output_sqnr_db']:.1f} dB"
        if o["task"] in ("classification", "binary"):
            rows.append([label, "accuracy", ui.pct(m["float_accuracy"]), ui.pct(m["int8_accuracy"]),
                         f"{-o['drop_pp']:+.2f} pp", sq])
        elif o["task"] == "regression":
            rows.append([label, "MSE", ui.num(m["float_mse"]), ui.num(m["int8_mse"]),
                         f"{m['int8_mse'] - m['float_mse']:+.3g}", sq])
            rows.append(["", "MAE", ui.num(m["float_mae"]), ui.num(m["int8_mae"]),
                         f"{m['int8_mae'] - m['float_mae']:+.3g}", ""])
        else:
            rows.append([label + " (no labels)", "MSE vs float", "", ui.num(m["output_mse"]), "", sq])
    ui.out.print(ui.table(f"edgeq evaluate — {len(ev.outputs)} outputs, {ev.samples} samples",
                          ["output", "metric", "float", q, "change", "SQNR"], rows))
    err = [[f"{o['index']} {o['name']}", ui.num(o["metrics"]["output_rmse"]), ui.num(o["metrics"]["output_max_abs_error"])]
           for o in ev.outputs]
    ui.out.print(ui.table(f"{q} vs float, per output", ["output", "RMSE", "max |error|"], err))
    for o in ev.outputs:
        if o["per_class"]:
            pc = [[c["class"], c["count"], ui.pct(c["float_accuracy"]), ui.pct(c["int8_accuracy"])]
                  for c in o["per_class"]]
            ui.out.print(ui.table(f"per class — output {o['index']} {o['name']}", ["class", "n", "float", q], pc))
    if ev.reference != "TFLM":
        ui.out.print(f"{q} model run by the {ev.reference} interpreter (an op has no TFLM kernel)")


# --------------------------------------------------------------------------------------- generate

@app.command()
def generate(
    model: Annotated[Path, typer.Argument(help="An int8 .tflite (from `edgeq convert`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the C sources "
                                         "(replaced atomically; new, or one edgeq wrote).")],
    name: Annotated[str, typer.Option("--name", "-n", "--prefix", help="C symbol and file prefix: NAME.c, "
                                      "NAME_model, NAME_invoke(), NAME_ARENA_SIZE (--prefix is the same "
                                      "option).")] = "model",
    scratch: Annotated[str, typer.Option("--scratch", help="Kernel scratch to plan for: portable | dsp "
                                         "(upstream CMSIS-NN built for a DSP core).")] = "portable",
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that holds other files "
                                        "(they are kept; same-named files are overwritten).")] = False,
    json_out: JsonOpt = False,
):
    """Generate ahead-of-time C for an int8 model: CMSIS-NN-API kernel calls, one static arena.

    Writes NAME.c/.h (arena, NAME_invoke, the edgeq_model_t), NAME_data.c/.h (weights, biases,
    requantization arrays), a CMakeLists.txt for add_subdirectory() and edgeq_kernels/ (the
    kernel sources, so the directory builds on its own). The arena is the one `edgeq size-check`
    reports. Unsupported ops are reported before anything is written; an existing file, or a
    directory holding files edgeq did not write (unless --force), is refused.

    Example:

        edgeq generate out/digits.tflite -o out/digits_c --name digits
    """
    from . import ui
    from .codegen import generate as generate_fn

    res = run(generate_fn, model, output, name=name, scratch_variant=scratch, force=force)
    if json_out:
        ui.print_json(res.to_dict())
        return
    files = ", ".join(p.name for p in res.files)
    if res.kernel_files:
        files += f" + {res.kernel_files[0].relative_to(res.out_dir).parts[0]}/ ({len(res.kernel_files)} kernel files)"
    rows = [["output", str(res.out_dir)], ["files", files],
            ["ops", f"{len(res.ops)} ({', '.join(f'{k} ×{v}' for k, v in sorted(res.kernels.items()))})"],
            ["arena (SRAM)", f"{res.arena_bytes:,} B"], ["constant data", f"{res.data_bytes:,} B"],
            ["flash (data + est. code)", f"{res.flash_bytes:,} B"], ["model sha256", res.sha256[:16] + "…"]]
    ui.out.print(ui.table(f"edgeq generate — {res.name}", ["", ""], rows, justify_right_from=2))


# ------------------------------------------------------------------------------- boards, size-check

@app.command()
def boards(json_out: JsonOpt = False):
    """List the boards edgeq knows (edgeq/boards/*.toml): virtual QEMU boards first.

    Example:

        edgeq boards --json
    """
    from . import ui
    from .boards import list_boards

    items = run(list_boards)
    if json_out:
        ui.print_json({"boards": [b.to_dict() for b in items]})
        return
    from .sizecheck import fmt_bytes

    rows = [[b.name, b.core.removeprefix("cortex-") + ("+mve" if b.mve else "") + ("" if b.fpu == "none" else
             f" {b.fpu}fpu"), f"{b.clock_hz / 1e6:g} MHz", fmt_bytes(b.flash_bytes), fmt_bytes(b.sram_bytes),
             "qemu" if b.emulated else b.flasher["tool"]] for b in items]
    ui.out.print(ui.table(f"edgeq boards ({len(items)})", ["board", "core", "clock", "flash", "sram", "flasher"],
                          rows, justify_right_from=2))


@app.command()
def ops(json_out: JsonOpt = False):
    """List the TFLite ops edgeq generates code for: int8 / int16 kernels, the reference the
    generated bytes are held to (TFLM, or the TFLite interpreter for ops TFLM lacks), and the
    CMSIS-NN function or edgeq kernel behind each.

    Example:

        edgeq ops --json
    """
    from . import ui
    from .ops import table

    rows = run(table)
    if json_out:
        ui.print_json({"ops": rows})
        return
    yes = lambda b: "yes" if b else "-"  # noqa: E731
    ui.out.print(ui.table(f"edgeq ops ({len(rows)})", ["op", "int8", "int16", "reference", "kernel"],
                          [[r["op"], yes(r["int8"]), yes(r["int16"]), r["reference"], r["kernel"]] for r in rows],
                          justify_right_from=5))


@app.command("size-check")
def size_check_cmd(
    model: Annotated[Path, typer.Argument(help="An int8 .tflite, or a Keras model (.keras/.h5/SavedModel dir) "
                                          "converted first with convert's defaults.")],
    board: Annotated[Optional[str], typer.Option("--board", "-b", help="Board name (see `edgeq boards`).")] = None,
    flash: Annotated[Optional[str], typer.Option("--flash", help="Flash budget instead of a board's: "
                                                 "512K, 1M, 0x80000 or bytes.")] = None,
    sram: Annotated[Optional[str], typer.Option("--sram", help="SRAM budget instead of a board's.")] = None,
    reserve_sram: Annotated[str, typer.Option("--reserve-sram", help="SRAM kept for the application "
                                              "(runtime .data/.bss).")] = "1K",
    stack: Annotated[str, typer.Option("--stack", help="Stack reserve.")] = "8K",
    reserve_flash: Annotated[Optional[str], typer.Option("--reserve-flash", help="Flash kept for startup, "
                                                         "UART and protocol code (default: edgeq's test "
                                                         "firmware runtime as measured for the board's core).")] = None,
    calib: Annotated[Optional[str], typer.Option("--calib", "-c", help="Calibration data when MODEL is Keras "
                                                 "(optional: sizes do not depend on it).")] = None,
    layers: Annotated[bool, typer.Option("--layers", help="Show the per-layer breakdown.")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", "-o", help="Also write the JSON result "
                                                   "to this file.")] = None,
    json_out: JsonOpt = False,
):
    """Will the model fit? Itemized flash and SRAM (planned arena, stack, reserves) vs a board.

    Exits 1 when over budget, stating by how many bytes and what dominates. Checking a .tflite
    does not load TensorFlow.

    Examples:

        edgeq size-check out/digits.tflite --board qemu-mps2-an386

        edgeq size-check model.tflite --flash 256K --sram 64K --layers --json
    """
    from . import ui
    from .quantize.model_graph import load_model_graph
    from .sizecheck import size_check

    if board is None and (flash is None or sram is None):
        ui.error("give --board NAME, or both --flash SIZE and --sram SIZE", "`edgeq boards` lists the boards")
        raise typer.Exit(EXIT_USAGE)
    graph, note = run(load_model_graph, model, calib)
    res = run(size_check, graph, board, flash_budget=flash, sram_budget=sram, reserve_sram=reserve_sram,
              stack_reserve=stack, reserve_flash=reserve_flash)
    if note:
        res.notes.insert(0, note)
    if report is not None:
        from .artifacts import write_json_atomic

        run(write_json_atomic, report, res.to_dict())
    if json_out:
        ui.print_json(res.to_dict())
    else:
        from .sizecheck import render

        render(res, ui.out, layers=layers)
    if not res.fits:
        ui.error(f"does not fit: {res.failure_message()}")
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
    from . import ui
    from .quantize.compare import calibrate_compare as compare_fn
    from .quantize.convert import ConvertOptions

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
    from . import ui
    from .quantize.layer_error import layer_errors

    from .graph import tensor_label

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
    json_out: JsonOpt = False,
):
    """Write one self-contained HTML report of what quantization did (plots embedded, no external links).

    Provenance, float vs int8 accuracy with both confusion matrices, the per-layer error table and
    SQNR chart, activation histograms against the int8 range, and the arena memory map. Same
    inputs give a byte-identical file.

    Example:

        edgeq report models/digits/digits.keras out/digits.tflite --data models/digits/test.npz -o out/report.html
    """
    from . import ui
    from .report import build_report

    out_path = output or tflite.with_suffix(".report.html")
    with ui.progress("int8 reference", enabled=not json_out) as bar:
        res = run(build_report, model, tflite, data, calib, out_path, limit=limit, eval_limit=eval_limit,
                  task=task, progress=bar)
    if json_out:
        ui.print_json(res.to_dict())
        return
    m = res.metrics
    rows = [["report", str(res.path)], ["task / samples", f"{res.task} / {res.samples}"]]
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
    rows += [["arena / lower bound", f"{res.arena_bytes:,} / {res.lower_bound:,} B"],
             ["plots", res.images], ["html sha256", res.html_sha256[:16] + "…"]]
    ui.out.print(ui.table(f"edgeq report — {res.model}", ["", ""], rows, justify_right_from=2))
    for n in res.notes:
        ui.err.print(f"[dim]note: {n}[/]")


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
    layer left float; both run through the TFLM reference on the held-out data. The last column
    is what `convert --keep LAYER` (that layer's activation at int16, the rest int8) wins back.

    Example:

        edgeq sensitivity models/digits/digits.keras --calib models/digits/train.npz --data models/digits/test.npz
    """
    from . import ui
    from .quantize.sensitivity import sensitivity as sensitivity_fn

    with ui.progress("layers", enabled=not json_out) as bar:
        res = run(sensitivity_fn, model, calib, data, samples, bar)
    if json_out:
        ui.print_json(res)
        return
    fmt = ui.pct if res["task"] != "regression" else ui.num

    def keep16(r):
        k = r.get("int16_keep")
        return "-" if not k or not k["possible"] else f"{100 * k['recovery']:+.2f}"

    from .graph import tensor_label

    rows = [[r["layer"] or tensor_label(r["tensor"], 40), r["op"], fmt(r["only_this_quantized"]["metric"]),
             f"{100 * r['cost']:+.2f}", fmt(r["all_but_this_quantized"]["metric"]), f"{100 * r['recovery']:+.2f}",
             keep16(r)] for r in res["layers"]]
    ui.out.print(ui.table(f"layer sensitivity — float {fmt(res['float_metric'])}, all int8 {fmt(res['int8_metric'])}",
                          ["layer", "op", "only it int8", "cost pp", "all but it int8", "float recovery pp",
                           "--keep (int16) pp"], rows, justify_right_from=2))
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
    from . import ui
    from .quantize.qat import QatOptions, qat_model

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


# --------------------------------------------------------------------------------- flash-and-test

@app.command("flash-and-test")
def flash_and_test(
    model: Annotated[Path, typer.Argument(help="An int8 .tflite, or a Keras model (converted first).")],
    board: Annotated[str, typer.Option("--board", "-b", help="Board name (see `edgeq boards`).")],
    data: Annotated[str, typer.Option("--data", "-d", help="Test data (labelled for accuracy).")],
    calib: Annotated[Optional[str], typer.Option("--calib", "-c", help="Calibration data for a Keras "
                                                 "model (default: the test data).")] = None,
    port: Annotated[Optional[str], typer.Option(help="Serial port of a real board, e.g. /dev/ttyACM0.")] = None,
    baud: Annotated[Optional[int], typer.Option(help="Baud rate (default: the board's).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Test only N samples (drawn reproducibly).")] = None,
    max_drop: Annotated[Optional[float], typer.Option(help="Gate: fail if device accuracy is more than this "
                                                      "many points below float (or host).")] = None,
    allow_mismatch: Annotated[bool, typer.Option(help="Do not fail on outputs that differ from the host "
                                                 "reference.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its results file.")] = False,
    workdir: Annotated[Path, typer.Option(help="Where generated code, build and results go.")] = Path("out/flash-and-test"),
    upload: Annotated[str, typer.Option(help="How inputs reach the device: serial (INFER frames over the "
                                        "UART, as on a real board) or file (emulated boards only: read "
                                        "from a host file through semihosting, faster).")] = "serial",
    float_model: Annotated[Optional[Path], typer.Option("--float-model", help="With a .tflite MODEL: the "
                                                        "Keras model it was converted from, for float "
                                                        "accuracy and the float-vs-device drop.")] = None,
    json_out: JsonOpt = False,
):
    """Build firmware around the model, run it on a board (QEMU for virtual ones), stream the test set
    over serial and compare every output byte with the host TFLM reference.

    Reports device accuracy, bit-exact rate vs the host, float-vs-device drop, latency
    (instructions under QEMU, cycles on real boards) and flash/RAM from the ELF. Results are
    written as they arrive (`WORKDIR/results.jsonl`); `--resume` continues an interrupted run.

    Example:

        edgeq flash-and-test models/digits/digits.keras --board qemu-mps2-an386 --data models/digits/test.npz --calib models/digits/train.npz
    """
    from . import ui
    from .flash_and_test import FlashTestOptions, flash_and_test as run_fn

    opts = FlashTestOptions(board=board, data=data, calib=calib, port=port, baud=baud, limit=limit,
                            max_drop=max_drop, allow_mismatch=allow_mismatch, resume=resume, workdir=workdir,
                            upload=upload, float_model=float_model)
    def log(s: str) -> None:  # progress notes are quiet under --json; warnings and notes never are
        if s.startswith(("warning:", "note:")):
            ui.err.print(f"[yellow]{s}[/]" if s.startswith("warning:") else s, soft_wrap=True)
        elif not json_out:
            ui.err.print(f"[dim]· {s}[/]")
    with ui.progress("on device", enabled=not json_out) as bar:
        rep = run(run_fn, model, opts, log, bar)
    if json_out:
        ui.print_json(rep)
    else:
        _render_flash_test(rep)
    if not rep["gate"]["passed"]:
        for f in rep["gate"]["failures"]:
            ui.error(f)
        raise typer.Exit(EXIT_GATE)


def _flash_test_outputs_table(outputs: list[dict]):
    """One row per output of a model with several: bit-exact rate, then its accuracy (classifier
    outputs with labels) or its MSE against the labels, on the device, the host reference and the
    float model, and the device's SQNR against float (regression outputs)."""
    from . import ui

    rows = []
    for o in outputs:
        row = [f"{o['index']} {o['name']}", ui.pct(o["bit_exact_rate"])]
        if "device_accuracy" in o:
            row += ["accuracy", ui.pct(o["device_accuracy"]), ui.pct(o["host_accuracy"]),
                    ui.pct(o["float_accuracy"]) if "float_accuracy" in o else "-"]
        elif "device_mse" in o:
            row += ["MSE", ui.num(o["device_mse"]), ui.num(o["host_mse"]),
                    ui.num(o["float_mse"]) if "float_mse" in o else "-"]
        elif "top1_agreement" in o:
            row += ["top-1 = host", ui.pct(o["top1_agreement"]), "", ""]
        else:
            row += ["", "", "", ""]
        sq = o.get("device_vs_float_sqnr_db")
        row.append("-" if sq is None else f"{sq:.1f} dB")
        rows.append(row)
    return ui.table("per output", ["output", "bit-exact", "metric", "device", "host", "float", "SQNR vs float"],
                    rows, justify_right_from=3)


def _render_flash_test(rep: dict) -> None:
    from . import ui

    rows = [["samples", f"{rep['samples']}  (inputs "
             + ("over the UART" if rep.get("upload", "serial") == "serial" else "from a host file, semihosting") + ")"],
            [f"bit-exact vs host {rep.get('reference', 'TFLM').split(' ')[0]}",
             ui.pct(rep["bit_exact_rate"]) + f" ({rep['mismatch_count']} mismatches)"]]
    if "top1_agreement" in rep:
        rows.append(["top-1 agreement vs host", ui.pct(rep["top1_agreement"])])
    if "device_accuracy" in rep:
        rows.append(["device accuracy", ui.pct(rep["device_accuracy"])])
    if "float_accuracy" in rep:
        rows.append(["float accuracy", ui.pct(rep["float_accuracy"]) + f"  (drop {rep['float_vs_device_drop_pp']:.2f} pp)"])
    lat = rep["latency"]
    unit = "instructions" if rep["emulated"] else "cycles"
    if lat.get(unit):
        s = lat[unit]
        rows.append([f"{unit} / inference", f"min {s['min']:,}  median {s['median']:,.0f}  p99 {s['p99']:,.0f}"])
        ms = lat["ms_at_clock"]
        rows.append([f"ms at {rep['clock_hz'] / 1e6:g} MHz", f"median {ms['median']:.3f}"
                     + ("  (1 instruction/cycle)" if rep["emulated"] else "")])
    m = rep["memory"]
    rows += [["flash (ELF)", f"{m['flash_bytes']:,} / {m['flash_capacity']:,} B"],
             ["RAM (ELF + stack)", f"{m['ram_bytes'] + m['stack_bytes']:,} / {m['ram_capacity']:,} B"],
             ["arena", f"{m['arena_bytes']:,} B"], ["results", rep["results_file"]]]
    ui.out.print(ui.table(f"edgeq flash-and-test — {rep['board']} ({rep['core']})", ["", ""], rows,
                          justify_right_from=2))
    if len(rep.get("outputs") or []) > 1:
        ui.out.print(_flash_test_outputs_table(rep["outputs"]))
    if rep.get("reference", "TFLM") != "TFLM":
        ui.out.print(f"host reference: {rep['reference']} (the model has an op TFLM has no kernel for)")
    link = rep.get("link") or {}
    if link.get("retransmits") or link.get("resets"):
        ui.err.print(f"link: {link['retransmits']} retransmits ({link['naks']} NAKs, {link['timeouts']} timeouts, "
                     f"{link['resets']} device resets) — all recovered")
    shown = 10
    for mm in rep["mismatches"][:shown]:
        ui.err.print(f"mismatch: sample {mm.get('data_index', mm['index'])} (max |diff| {mm['max_abs_diff']})")
    if len(rep["mismatches"]) > shown:
        ui.err.print(f"mismatch: … and {len(rep['mismatches']) - shown} more (all in report.json)")


def main() -> None:
    try:
        app()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
        sys.exit(code)


if __name__ == "__main__":
    main()
