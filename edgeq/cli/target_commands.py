"""Commands towards the target: generate, boards, ops, size-check, flash-and-test."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import EXIT_GATE, EXIT_USAGE
from . import CmsisNnOpt, InplaceOpt, JsonOpt, KernelsOpt, PackWeightsOpt, PlaceOpt, app, run
from .render import render_flash_test


# --------------------------------------------------------------------------------------- generate

@app.command()
def generate(
    model: Annotated[list[Path], typer.Argument(help="An int8 .tflite (from `edgeq convert`); several: "
                                                "models sharing one arena (they never run at the same time).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the C sources "
                                         "(replaced atomically; new, or one edgeq wrote).")],
    name: Annotated[Optional[str], typer.Option("--name", "-n", "--prefix", help="C symbol and file prefix: NAME.c, "
                                                "NAME_model, NAME_invoke(), NAME_ARENA_SIZE (--prefix is the same "
                                                "option). Default: model; with several models, one name each, "
                                                "comma-separated (default: the file names).")] = None,
    scratch: Annotated[Optional[str], typer.Option("--scratch", help="Kernel scratch to plan for: portable "
                                                   "(edgeq's kernels) | dsp | mve (upstream CMSIS-NN built for "
                                                   "a DSP / a Helium core) | any (the larger of dsp and mve). "
                                                   "Default: portable for --kernels edgeq; for cmsis-nn the "
                                                   "--board's core, else any.")] = None,
    kernels: Annotated[Optional[str], typer.Option("--kernels", help="Kernels the generated CMakeLists.txt "
                                                   "links: edgeq (the bundled copy) | cmsis-nn (an upstream "
                                                   "CMSIS-NN checkout, --cmsis-nn). Default: cmsis-nn when "
                                                   "--cmsis-nn is given, else edgeq.")] = None,
    cmsis_nn: Annotated[Optional[Path], typer.Option("--cmsis-nn", help="CMSIS-NN checkout for --kernels "
                                                     "cmsis-nn (default: $EDGEQ_CMSIS_NN_DIR).")] = None,
    board: Annotated[Optional[str], typer.Option("--board", "-b", help="Size the scratch for this board's "
                                                 "core (with --kernels cmsis-nn; see `edgeq boards`).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that holds other files "
                                        "(they are kept; same-named files are overwritten).")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Layout for your build system: cmake (a "
                                     "CMakeLists.txt for add_subdirectory) | zephyr (a Zephyr module) | "
                                     "platformio (a PlatformIO library) | arduino (an Arduino library with "
                                     "an example sketch). Same C in each.")] = "cmake",
    inplace: InplaceOpt = True,
    place: PlaceOpt = None,
    pack_weights: PackWeightsOpt = "auto",
    json_out: JsonOpt = False,
):
    """Generate ahead-of-time C for an int8 model: CMSIS-NN-API kernel calls, one static arena.

    Writes NAME.c/.h (arena, NAME_invoke, the edgeq_model_t), NAME_data.c/.h (weights, biases,
    requantization arrays), a CMakeLists.txt for add_subdirectory() and edgeq_kernels/ (the
    kernel sources, so the directory builds on its own); `--format zephyr|platformio|arduino` lays
    the same files out as a Zephyr module, a PlatformIO library or an Arduino library instead.
    The arena is the one `edgeq size-check` reports. Unsupported ops are reported before anything is written; an existing file, or a
    directory holding files edgeq did not write (unless --force), is refused.

    Example:

        edgeq generate out/digits.tflite -o out/digits_c --name digits

        edgeq generate out/digits.tflite -o ~/Arduino/libraries/edgeq_digits --name digits --format arduino

        edgeq generate out/kws.tflite -o out/kws_c --kernels cmsis-nn --cmsis-nn ../CMSIS-NN --board qemu-mps3-an547

        edgeq generate out/wake.tflite out/command.tflite -o out/voice_c --name wake,command

    Several models: NAME.c/.h and NAME_data.c/.h per model (its own NAME_invoke and weights),
    edgeq_shared_arena.c/.h (one arena, the largest model's size) and one CMakeLists.txt that
    compiles the kernels once (target edgeq_models, or edgeq_model_NAME).
    """
    from .. import ui
    from ..cmsis_nn import resolve, scratch_for_board
    from ..codegen import generate as generate_fn
    from ..codegen.packages import check_kernels

    run(check_kernels, fmt, kernels, cmsis_nn)
    kernels, checkout = run(resolve, kernels, cmsis_nn)
    target = None
    if board is not None:
        from ..boards import get_board

        target = run(get_board, board)
    if scratch is None:
        scratch = scratch_for_board(kernels, target)
    if len(model) > 1:
        for given, what in ((place, "--place"), (fmt != "cmake", "--format " + fmt)):
            if given:
                ui.error(f"{what} is not supported with several models yet", f"generate the set without {what.split()[0]}")
                raise typer.Exit(EXIT_USAGE)
        from ..codegen.model_set import generate_set

        names = [n.strip() for n in name.split(",")] if name else None
        res = run(generate_set, model, output, names=names, scratch_variant=scratch, force=force, kernels=kernels,
                  cmsis_nn_dir=checkout, inplace=inplace, pack_weights=pack_weights)
        if json_out:
            ui.print_json(res.to_dict())
            return
        rows = [[m.name, f"{m.arena_bytes:,} B", f"{m.data_bytes:,} B", f"{len(m.ops)}"] for m in res.models]
        rows.append(["[bold]shared arena[/]", f"[bold]{res.arena_bytes:,} B[/]", "", ""])
        ui.out.print(ui.table(f"edgeq generate — {len(res.models)} models, one arena in {res.out_dir}",
                              ["model", "arena", "constant data", "ops"], rows, justify_right_from=1))
        ui.out.print(f"shared arena {res.arena_bytes:,} B (separate arenas would take {res.arena_sum:,} B); "
                     f"kernels once: {len(res.kernel_files)} files in "
                     f"{res.kernel_files[0].relative_to(res.out_dir).parts[0]}/")
        return
    res = run(generate_fn, model[0], output, name=name or "model", scratch_variant=scratch, force=force,
              kernels=kernels, cmsis_nn_dir=checkout, fmt=fmt, inplace=inplace, place=place, board=target,
              pack_weights=pack_weights)
    if json_out:
        ui.print_json(res.to_dict())
        return
    files = ", ".join(p.relative_to(res.out_dir).as_posix() for p in res.files)
    if res.kernel_files:
        files += f" + {len(res.kernel_files)} kernel files"
    rows = [["output", str(res.out_dir)], ["format", fmt], ["files", files],
            ["ops", f"{len(res.ops)} ({', '.join(f'{k} ×{v}' for k, v in sorted(res.kernels.items()))})"],
            ["kernels", f"upstream CMSIS-NN at {checkout} (scratch: {scratch})" if checkout else
             f"edgeq (scratch: {scratch})"],
            ["arena (SRAM)", f"{res.arena_bytes:,} B" + ("" if inplace else " (--no-inplace)")
             + (f" in {res.placement['arena']} ({res.placement['arena_section']})"
                if res.placement and res.placement["arena"] else "")], ["constant data", f"{res.data_bytes:,} B"],
            ["weights", ", ".join(f"{k} ×{v}" for k, v in sorted(res.weight_precisions.items())) or "none"
             + ("" if pack_weights == "auto" else "") + (" (--pack-weights off)" if pack_weights == "off" else "")],
            ["flash (data + est. code)", f"{res.flash_bytes:,} B"], ["model sha256", res.sha256[:16] + "…"]]
    ui.out.print(ui.table(f"edgeq generate — {res.name}", ["", ""], rows, justify_right_from=2))


# ------------------------------------------------------------------------------- boards, size-check

@app.command()
def boards(json_out: JsonOpt = False):
    """List the boards edgeq knows (edgeq/boards/*.toml): virtual QEMU boards first.

    Example:

        edgeq boards --json
    """
    from .. import ui
    from ..boards import list_boards

    items = run(list_boards)
    if json_out:
        ui.print_json({"boards": [b.to_dict() for b in items]})
        return
    from ..sizecheck import fmt_bytes

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
    from .. import ui
    from ..ops import table

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
    model: Annotated[list[Path], typer.Argument(help="An int8 .tflite, or a Keras model (.keras/.h5/SavedModel "
                                                "dir) converted first with convert's defaults. Several: a set "
                                                "sharing one arena, as `edgeq generate A B ...` emits it.")],
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
    inplace: InplaceOpt = True,
    place: PlaceOpt = None,
    pack_weights: PackWeightsOpt = "auto",
    json_out: JsonOpt = False,
):
    """Will the model fit? Itemized flash and SRAM (planned arena, stack, reserves) vs a board.

    Exits 1 when over budget, stating by how many bytes and what dominates. Checking a .tflite
    does not load TensorFlow.

    Examples:

        edgeq size-check out/digits.tflite --board qemu-mps2-an386

        edgeq size-check model.tflite --flash 256K --sram 64K --layers --json

        edgeq size-check out/wake.tflite out/command.tflite --board nucleo-l4r5zi

    Several models: SRAM holds the largest model's arena (they share one), flash every model's
    data and glue but each kernel type and the runtime once; a table per model follows.
    """
    from .. import ui
    from ..quantize.model_graph import load_model_graph
    from ..sizecheck import size_check

    if board is None and (flash is None or sram is None):
        ui.error("give --board NAME, or both --flash SIZE and --sram SIZE", "`edgeq boards` lists the boards")
        raise typer.Exit(EXIT_USAGE)
    if len(model) > 1:
        if place:
            ui.error("--place is not supported with several models yet", "check the set without --place")
            raise typer.Exit(EXIT_USAGE)
        _size_check_set(model, board, flash, sram, reserve_sram, stack, reserve_flash, calib, report, inplace,
                        json_out)
        return
    graph, note = run(load_model_graph, model[0], calib)
    res = run(size_check, graph, board, flash_budget=flash, sram_budget=sram, reserve_sram=reserve_sram,
              stack_reserve=stack, reserve_flash=reserve_flash, inplace=inplace, place=place,
              pack_weights=pack_weights)
    if note:
        res.notes.insert(0, note)
    if report is not None:
        from ..artifacts import write_json_atomic

        run(write_json_atomic, report, res.to_dict())
    if json_out:
        ui.print_json(res.to_dict())
    else:
        from ..sizecheck import render

        render(res, ui.out, layers=layers)
    if not res.fits:
        ui.error(f"does not fit: {res.failure_message()}")
        raise typer.Exit(EXIT_GATE)


def _size_check_set(models, board, flash, sram, reserve_sram, stack, reserve_flash, calib, report, inplace,
                    json_out) -> None:
    from .. import ui
    from ..codegen.model_set import default_names
    from ..quantize.model_graph import load_model_graph
    from ..sizecheck_set import render_set, size_check_set

    loaded = [run(load_model_graph, m, calib) for m in models]
    res = run(size_check_set, [g for g, _ in loaded], default_names(models), board, flash_budget=flash,
              sram_budget=sram, reserve_sram=reserve_sram, stack_reserve=stack, reserve_flash=reserve_flash,
              inplace=inplace)
    if report is not None:
        from ..artifacts import write_json_atomic

        run(write_json_atomic, report, res.to_dict())
    if json_out:
        ui.print_json(res.to_dict())
    else:
        render_set(res, ui.out)
        for _, note in loaded:
            if note:
                ui.err.print(f"[dim]note: {note}[/]")
    if not res.fits:
        ui.error(f"does not fit: {res.failure_message()}")
        raise typer.Exit(EXIT_GATE)


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
    profile: Annotated[bool, typer.Option("--profile", help="Build with a timing hook after every layer and "
                                          "report instructions/cycles per layer (op, shape, MACs, share).")] = False,
    telemetry: Annotated[bool, typer.Option("--telemetry", help="Build with saturation counters (NAME_stats): "
                                            "per layer, outputs at the type's limits on the device vs the "
                                            "calibration data (--calib); flags drift.")] = False,
    drift_threshold: Annotated[Optional[float], typer.Option("--drift-threshold", help="Flag a layer whose "
                                                             "clipping rate exceeds calibration's by more than "
                                                             "this fraction of its outputs (default 0.005).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Split the test set over N emulator instances run "
                                      "at once (one build); results merge into the same report.")] = 1,
    labgrid: Annotated[Optional[list[str]], typer.Option("--labgrid", help="Run on this labgrid place "
                                                         "(acquired, flashed, released); repeat for --jobs "
                                                         "across places.")] = None,
    coordinator: Annotated[Optional[str], typer.Option("--coordinator", help="labgrid coordinator HOST:PORT "
                                                       "(default: $LG_COORDINATOR).")] = None,
    kernels: KernelsOpt = None,
    cmsis_nn: CmsisNnOpt = None,
    inplace: InplaceOpt = True,
    place: PlaceOpt = None,
    pack_weights: PackWeightsOpt = "auto",
    json_out: JsonOpt = False,
):
    """Build firmware around the model, run it on a board (QEMU for virtual ones), stream the test set
    over serial and compare every output byte with the host TFLM reference.

    Reports device accuracy, bit-exact rate vs the host, float-vs-device drop, latency
    (instructions under QEMU, cycles on real boards) and flash/RAM from the ELF. Results are
    written as they arrive (`WORKDIR/results.jsonl`); `--resume` continues an interrupted run.

    Example:

        edgeq flash-and-test models/digits/digits.keras --board qemu-mps2-an386 --data models/digits/test.npz --calib models/digits/train.npz

        edgeq flash-and-test out/digits.tflite --board qemu-mps3-an547 --data models/digits/test.npz --kernels cmsis-nn --cmsis-nn ../CMSIS-NN
    """
    from .. import ui
    from ..cmsis_nn import resolve
    from ..flash_and_test import FlashTestOptions, flash_and_test as run_fn

    kernels, checkout = run(resolve, kernels, cmsis_nn)
    opts = FlashTestOptions(board=board, data=data, calib=calib, port=port, baud=baud, limit=limit,
                            max_drop=max_drop, allow_mismatch=allow_mismatch, resume=resume, workdir=workdir,
                            upload=upload, float_model=float_model, profile=profile, telemetry=telemetry,
                            drift_threshold=drift_threshold, kernels=kernels, cmsis_nn=checkout, inplace=inplace,
                            place=place, pack_weights=pack_weights, jobs=jobs, labgrid=tuple(labgrid or ()), coordinator=coordinator)
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
        render_flash_test(rep)
    if not rep["gate"]["passed"]:
        for f in rep["gate"]["failures"]:
            ui.error(f)
        if rep.get("suggest"):
            ui.err.print(f"hint: find the first layer that differs: {rep['suggest']}", soft_wrap=True)
        raise typer.Exit(EXIT_GATE)


# --------------------------------------------------------------------------------- diff-device

@app.command("diff-device")
def diff_device(
    model: Annotated[Path, typer.Argument(help="An int8 .tflite, or a Keras model (converted first).")],
    board: Annotated[str, typer.Option("--board", "-b", help="Board name (see `edgeq boards`).")],
    data: Annotated[str, typer.Option("--data", "-d", help="Data holding the input(s) to replay.")],
    sample: Annotated[Optional[list[int]], typer.Option("--sample", "-s", help="Index of a sample in the data "
                                                        "(repeatable; default 0).")] = None,
    calib: Annotated[Optional[str], typer.Option("--calib", "-c", help="Calibration data for a Keras "
                                                 "model (default: the data).")] = None,
    port: Annotated[Optional[str], typer.Option(help="Serial port of a real board, e.g. /dev/ttyACM0.")] = None,
    baud: Annotated[Optional[int], typer.Option(help="Baud rate (default: the board's).")] = None,
    all_layers: Annotated[bool, typer.Option("--all-layers", help="Compare every layer, not just up to the "
                                             "first that differs.")] = False,
    kernels: KernelsOpt = None,
    cmsis_nn: CmsisNnOpt = None,
    workdir: Annotated[Path, typer.Option(help="Where generated code and build go.")] = Path("out/diff-device"),
    json_out: JsonOpt = False,
):
    """Find the first layer whose output on the device differs from the host reference.

    Builds the firmware with a hook after every layer, replays the sample(s) on the device layer by
    layer (each layer's output tensor read back over serial, straight from the arena) and compares
    each with TFLM's intermediate tensor. Prints the first tensor that differs: the op and layer
    that produced it, which values/bytes, by how much. Exits 1 when a layer differs.

    Example:

        edgeq diff-device out/digits.tflite --board qemu-mps2-an386 --data models/digits/test.npz --sample 17
    """
    from .. import ui
    from ..cmsis_nn import resolve
    from ..diverge import DiffOptions, diff_device as run_fn, render_diff

    kernels, checkout = run(resolve, kernels, cmsis_nn)
    opts = DiffOptions(board=board, data=data, samples=tuple(sample or [0]), calib=calib, port=port, baud=baud,
                       workdir=workdir, all_layers=all_layers, kernels=kernels, cmsis_nn_dir=checkout)

    def log(s: str) -> None:
        if not json_out:
            ui.err.print(f"[dim]· {s}[/]")
    rep = run(run_fn, model, opts, log)
    if json_out:
        ui.print_json(rep)
    else:
        render_diff(rep, ui.out)
    if rep["first_divergence"] is not None:
        raise typer.Exit(EXIT_GATE)
