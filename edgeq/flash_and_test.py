"""`edgeq flash-and-test`: model → (convert) → generate → build → flash/start → stream a test set
over serial → compare the device with the host TFLM reference (and the float model).

Stages are the other modules' public entry points; this module only sequences them and turns
their results into one report.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import data as data_mod
from . import shards
from .artifacts import write_json_atomic
from .device_compare import compare, index_list
from .errors import GateFailed, InputError
from .run_identity import SUBSET_SEED, check_resume, run_identity, workdir_lock

Log = Callable[[str], None]


UPLOADS = ("serial", "file")


@dataclass(frozen=True)
class FlashTestOptions:
    board: str
    data: str
    calib: str | None = None  # for a Keras model; defaults to the test data
    port: str | None = None
    baud: int | None = None
    limit: int | None = None
    max_drop: float | None = None
    allow_mismatch: bool = False
    resume: bool = False
    workdir: Path = Path("out/flash-and-test")
    name: str = "model"
    # "serial": every input goes to the device in INFER frames over its UART, as on a real board.
    # "file" (emulated boards only): the device reads the inputs from a host file through
    # semihosting, which skips QEMU's slow emulated UART; outputs still come back over serial.
    upload: str = "serial"
    # the float Keras model a .tflite was converted from: adds float accuracy and the drop
    float_model: Path | None = None
    # a build with the per-layer hooks (EDGEQ_OBSERVE): per-layer ticks of every inference
    profile: bool = False
    # saturation telemetry (EDGEQ_STATS): per-layer counts of outputs at the type's limits, vs the
    # host's on the same inputs and on the calibration data (--calib); drift flagged above threshold
    telemetry: bool = False
    drift_threshold: float | None = None
    # "edgeq": the bundled kernels; "cmsis-nn": the upstream CMSIS-NN checkout cmsis_nn, with the
    # scratch its kernels want on the board's core (edgeq.cmsis_nn)
    kernels: str = "edgeq"
    cmsis_nn: Path | None = None
    # in-place planning (edgeq.inplace); False: the classic arena (flash-and-test --no-inplace)
    inplace: bool = True
    # 4-bit weight storage (generate --pack-weights): "auto" or "off"
    pack_weights: str = "auto"
    # memory banks (edgeq.placement): e.g. "arena=dtcm"; None: the board's default regions
    place: str | None = None
    # the test set split over this many device sessions (emulator instances) run at once (edgeq.shards)
    jobs: int = 1
    # labgrid places to run on instead of a local board/emulator (edgeq.farm), and the coordinator
    # (HOST:PORT; default $LG_COORDINATOR)
    labgrid: tuple[str, ...] = ()
    coordinator: str | None = None



def _check_options(opts: FlashTestOptions, board) -> None:
    from .cmsis_nn import KERNELS, check_checkout

    if opts.kernels not in KERNELS:
        raise InputError(f"--kernels must be one of {', '.join(KERNELS)}, not {opts.kernels!r}")
    if opts.kernels == "cmsis-nn":
        if opts.cmsis_nn is None:
            raise InputError("--kernels cmsis-nn needs a CMSIS-NN checkout: give --cmsis-nn PATH or set "
                             "EDGEQ_CMSIS_NN_DIR")
        check_checkout(opts.cmsis_nn)
    if opts.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {opts.jobs}")
    if opts.labgrid:
        from .farm.place import coordinator_address

        coordinator_address(opts.coordinator)
        if opts.upload == "file":
            raise InputError("--upload file reads inputs from a file on the emulator's host: not with --labgrid")
        if opts.port:
            raise InputError("--port and --labgrid both name the board's serial port: give one",
                             "a labgrid place brings its own (network) serial port")
        if len(set(opts.labgrid)) != len(opts.labgrid):
            raise InputError("the same --labgrid place is given twice")
        if opts.jobs > len(opts.labgrid):
            raise InputError(f"--jobs {opts.jobs} needs as many labgrid places; {len(opts.labgrid)} given")
    elif opts.jobs > 1 and not board.emulated:
        raise InputError(f"--jobs {opts.jobs} needs as many devices: {board.name} is one real board on --port",
                         "run real boards in parallel through a labgrid farm, or drop --jobs")
    if opts.jobs > 1 and opts.telemetry:
        raise InputError("--telemetry counts saturation on one device: it cannot be combined with --jobs",
                         "drop --jobs (or --telemetry)")
    if opts.limit is not None and opts.limit <= 0:
        raise InputError(f"--limit must be positive, got {opts.limit}")
    if opts.upload not in UPLOADS:
        raise InputError(f"--upload must be serial or file, not {opts.upload!r}")
    if opts.upload == "file" and not board.emulated:
        raise InputError(f"--upload file works only on emulated boards; {board.name} is a real board",
                         "a real board gets its inputs over serial: drop --upload (or pass --upload serial)")
    if not board.emulated and not opts.port and not opts.labgrid:
        # refused here, before minutes of converting, generating and building
        raise InputError(f"{board.name} is a real board: give its serial port with --port",
                         "e.g. --port /dev/ttyACM0 (a board's port is usually /dev/ttyACM* or /dev/ttyUSB*)")



def io_names(graph, keras_outputs: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Names of the model's inputs and outputs for data keys and messages: a converted model's
    input tensors are 'serving_default_NAME:0' (NAME: the Keras input), its outputs are named by
    the Keras model when it is at hand, else output_0, output_1, ..."""
    import re

    ins = []
    for k, t in enumerate(graph.inputs):
        name = graph.tensor(t).name.split(";")[0].split(":")[0].removeprefix("serving_default_")
        ins.append(name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) else f"input_{k}")
    outs = list(keras_outputs) if keras_outputs and len(keras_outputs) == len(graph.outputs) else \
        [f"output_{k}" for k in range(len(graph.outputs))]
    return ins, outs


def _classifier_outputs(ds, graph) -> list[int]:
    """Outputs that have class labels (one integer per sample) and more than one value."""
    found = []
    for k, y in enumerate(ds.labels):
        classes = int(np.prod(graph.tensor(graph.outputs[k]).shape[1:]))
        if y is not None and np.asarray(y).ndim == 1 and classes >= 2:
            found.append(k)
    return found


def _check_labels(ds, graph, opts: FlashTestOptions) -> None:
    if opts.max_drop is None:
        return
    if len(graph.outputs) > 1:
        outs = _classifier_outputs(ds, graph)
        if not outs:
            raise InputError("--max-drop needs labelled classifier outputs (y0, y1, ... with one integer label "
                             "per sample); the test data labels none of this model's outputs that way")
        for k in outs:
            _check_class_range(np.asarray(ds.labels[k]), int(np.prod(graph.tensor(graph.outputs[k]).shape[1:])),
                               f" of output {k}")
        return
    classes = int(np.prod(graph.tensor(graph.outputs[0]).shape[1:]))
    if ds.y is None:
        raise InputError("--max-drop needs labelled test data (y), but the test data has no labels")
    if ds.y.ndim != 1 or classes < 2:
        raise InputError(f"--max-drop needs a classification model and one integer label per sample "
                         f"(labels have shape {list(ds.y.shape)}, the model {classes} output value(s))")
    _check_class_range(np.asarray(ds.y), classes, "")


def _check_class_range(y: np.ndarray, classes: int, what: str) -> None:
    if not np.all(np.mod(y, 1) == 0) or y.min() < 0 or y.max() >= classes:
        raise InputError(f"--max-drop needs class labels 0..{classes - 1}; the test data has labels{what} "
                         f"from {y.min()} to {y.max()}")


class _Samples:
    """Sample i of a model with several inputs: one quantized array per input (what
    ``run_dataset`` sends as one INFER payload)."""

    def __init__(self, arrays: list[np.ndarray]):
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, i: int) -> tuple:
        return tuple(a[i] for a in self.arrays)



def flash_and_test(model: Path, opts: FlashTestOptions, log: Log = lambda s: None,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    from .boards import get_board

    board = get_board(opts.board)  # looked up once: every stage below takes this object
    _check_options(opts, board)
    if opts.labgrid:
        from .farm.place import check_places, coordinator_address

        check_places(coordinator_address(opts.coordinator), opts.labgrid[:max(opts.jobs, 1)] if opts.jobs > 1
                     else opts.labgrid)
    with workdir_lock(Path(opts.workdir)):
        return _flash_and_test(model, opts, board, log, progress)


def _flash_and_test(model: Path, opts: FlashTestOptions, board, log: Log, progress) -> dict:
    from .build import build_firmware
    from .codegen import generate
    from .device.session import device_session
    from .graph import load_graph
    from .reference import REFERENCE_NAMES, keeps_state, reference_for, run_tflm
    from .sizecheck import size_check

    model = Path(model)
    work = Path(opts.workdir)
    keras_model = None
    if model.suffix == ".tflite":
        if not model.is_file():
            raise InputError(f"TFLite model not found: {model}")
        tflite_path = model
        keras_model = Path(opts.float_model) if opts.float_model else None
        if keras_model is not None and not keras_model.exists():
            raise InputError(f"--float-model not found: {keras_model}")
    else:
        from .quantize.convert import ConvertOptions, convert_model

        keras_model = model
        tflite_path = work / f"{model.stem}.tflite"
        if opts.calib is None:
            log(f"warning: no --calib: calibrating {model.name} on the test data ({opts.data}); the int8 model "
                "has then seen the data it is tested on — give --calib for an honest figure")
        log(f"convert {model} (calibration: {opts.calib or opts.data})")
        convert_model(model, opts.calib or opts.data, tflite_path, ConvertOptions())
    tflite = tflite_path.read_bytes()
    graph = load_graph(tflite, name=tflite_path.name)
    if opts.resume and keeps_state(tflite):
        # the samples of such a model are one sequence: a device restarted mid-run has lost the
        # state the reference carries on with
        raise InputError("--resume is not possible for a model that keeps state between inferences (SVDF): "
                         "its samples form one sequence; run it again from the start")
    # needs only the model and the board: the most basic answer comes first
    fit = size_check(graph, board, inplace=opts.inplace, place=opts.place, pack_weights=opts.pack_weights)
    if not fit.fits:
        raise GateFailed(f"the model does not fit {board.name}: {fit.failure_message()}")

    # the test data (shape, labels for --max-drop) and a resume's identity are checked as soon
    # as the model's input and output are known: before minutes of code generation and building
    keras_outputs = None
    if keras_model is not None and len(graph.outputs) > 1:
        from .quantize import keras_io

        keras_outputs = keras_io.output_names(keras_io.load_float_model(keras_model))
    in_names, out_names = io_names(graph, keras_outputs)
    specs = [(name, tuple(graph.tensor(t).shape[1:])) for name, t in zip(in_names, graph.inputs)]
    full_ds = data_mod.load(opts.data, role="test data", inputs=specs, outputs=out_names)
    # the same draw as `evaluate --limit N`; kept as indices because the report and the run
    # identity name data-file indices
    indices = data_mod.subset_indices(len(full_ds), opts.limit, SUBSET_SEED)
    ds = full_ds.take(indices)
    _check_labels(ds, graph, opts)
    results_path = work / "results.jsonl"
    meta_path = work / "results.meta.json"
    identity = run_identity(board, graph, full_ds, ds, indices, opts)
    if opts.resume:
        check_resume(meta_path, results_path, identity)
        reused = sum(1 for i in shards.recorded(results_path) if 0 <= i < len(ds))
        log(f"note: resuming: {reused} of {len(ds)} results reused from {results_path}, {len(ds) - reused} to run")

    from .cmsis_nn import scratch_for_board

    cmsis_nn = opts.cmsis_nn if opts.kernels == "cmsis-nn" else None
    scratch = scratch_for_board(opts.kernels, board)
    log(f"generate C for {tflite_path.name}" + (f" (upstream CMSIS-NN kernels, {scratch} scratch)" if cmsis_nn else ""))
    gen = generate(tflite, work / "gen", name=opts.name, kernels=opts.kernels, cmsis_nn_dir=cmsis_nn,
                   scratch_variant=scratch, inplace=opts.inplace, place=opts.place, board=board,
                   pack_weights=opts.pack_weights)
    log(f"build firmware for {board.name}" + (f" with CMSIS-NN from {gen.cmsis_nn_dir}" if cmsis_nn else ""))
    from .profile import OBSERVE_CMAKE
    from .telemetry import STATS_CMAKE

    extra_cmake = {**(OBSERVE_CMAKE if opts.profile else {}), **(STATS_CMAKE if opts.telemetry else {})}
    fw = build_firmware(board, work / "build", model_dir=gen.out_dir, cmsis_nn_dir=gen.cmsis_nn_dir,
                        extra_cmake=extra_cmake or None)

    reference = REFERENCE_NAMES[reference_for(tflite)]
    log(f"host reference ({reference}) on {len(ds)} samples")
    layers = None
    if opts.profile or opts.telemetry:
        from .profile import layers_of, output_tensors

        layers = layers_of(graph, opts.name)
    ref = run_tflm(tflite, ds.model_input,
                   tensors=output_tensors(layers) if opts.telemetry else None)

    if not opts.resume:
        # the old results go before the new identity is written: at no moment does the identity
        # file vouch for records of another run
        shards.discard(results_path)
    write_json_atomic(meta_path, identity)
    jobs = min(opts.jobs if opts.jobs > 1 or not opts.labgrid else len(opts.labgrid), len(ds))
    where = f"labgrid place{'s' if jobs > 1 else ''} {', '.join(opts.labgrid[:jobs])}" if opts.labgrid else \
        board.name + (f" ×{jobs}" if jobs > 1 else "")
    log(f"{'start' if board.emulated and not opts.labgrid else 'flash'} {where}"
        + f"; inputs over {'the UART' if opts.upload == 'serial' else 'semihosting (host file)'}")
    samples = ref.inputs_q if len(ref.inputs_qs) == 1 else _Samples(ref.inputs_qs)
    with contextlib.ExitStack() as farm:
        if opts.labgrid:
            from .farm.place import coordinator_address, coordinator_session, place_session

            lg = farm.enter_context(coordinator_session(coordinator_address(opts.coordinator)))

            def open_session(k):
                return place_session(lg, opts.labgrid[k], board, fw.elf, log=log)
        else:
            def open_session(k):
                return device_session(board, fw.elf, port=opts.port, baudrate=opts.baud)
        run = shards.run_device(open_session, jobs, samples, results_path, resume=opts.resume,
                                expected_sha=gen.sha256, upload=opts.upload, profile=opts.profile,
                                telemetry=opts.telemetry, progress=progress)
    recs, info, link, icount_shift, device_stats = (run.records, run.info, run.link, run.icount_shift,
                                                   run.device_stats)
    device_qs = [np.stack([r.output_arrays(info)[k] for r in recs]).reshape(host.shape)
                 for k, host in enumerate(ref.outputs_qs)]
    report = compare(ref, device_qs, ds, keras_model, recs, info, out_names)
    report["reference"] = ref.reference_name
    for m in report["mismatches"]:
        m["data_index"] = int(indices[m["index"]])  # where the sample is in the test data file
    report.update({
        "board": board.name, "core": board.core, "clock_hz": board.clock_hz, "emulated": board.emulated,
        "model": {"tflite": str(tflite_path), "sha256": gen.sha256, "arena_bytes": gen.arena_bytes},
        "memory": {"flash_bytes": fw.flash_bytes, "flash_capacity": fw.flash_capacity,
                   "ram_bytes": fw.ram_bytes, "stack_bytes": fw.stack_bytes, "ram_capacity": fw.ram_capacity,
                   "arena_bytes": gen.arena_bytes, "planned_arena_bytes": fit.plan.arena_bytes,
                   "inplace": opts.inplace, "liveness_bound_bytes": fit.plan.lower_bound,
                   "pack_weights": opts.pack_weights, "weight_precisions": gen.weight_precisions,
                   "weights_by_precision": fit.flash_usage.weights_by_precision,
                   "placement": gen.placement, "regions": [b.to_dict() for b in fit.regions]},
        "kernels": {"set": opts.kernels, "cmsis_nn_dir": str(gen.cmsis_nn_dir) if gen.cmsis_nn_dir else None,
                    "scratch": gen.scratch_variant},
        "results_file": str(results_path), "upload": opts.upload,
        "link": link,  # retransmits / NAKs / device resets of this session: a flaky link shows
    })
    if opts.profile:
        from .profile import profile_table

        report["profile"] = profile_table(layers, recs, info.timer_hz, info.cpu_hz,
                                          board.emulated, icount_shift or 0)
    if opts.telemetry:
        report["telemetry"] = _telemetry(tflite, graph, layers, device_stats, ref, ds, opts, keras_model, specs,
                                         out_names, log, [r.runs for r in recs])
    lat = report["latency"]
    unit = "instructions" if board.emulated else "cycles"
    if lat[unit]:
        lat["ms_at_clock"] = {k: v / board.clock_hz * 1e3 for k, v in lat[unit].items()}
    gate = {"mismatches": report["mismatch_count"], "allow_mismatch": opts.allow_mismatch,
            "max_drop_pp": opts.max_drop, "drop_pp": report.get("float_vs_device_drop_pp")}
    failures = []
    if report["mismatch_count"] and not opts.allow_mismatch:
        where = " (indices in the test data)" if len(indices) < len(full_ds) else ""
        several = len(report["outputs"]) > 1
        bad_outputs = "" if not several else " (outputs " + ", ".join(
            f"{o['index']} {o['name']}: {o['mismatch_count']}" for o in report["outputs"] if o["mismatch_count"]) + ")"
        failures.append(f"{report['mismatch_count']} of {report['samples']} {'samples' if several else 'outputs'} "
                        f"differ from the host reference{where}{bad_outputs}: "
                        f"{index_list([m['data_index'] for m in report['mismatches']])}")
        report["suggest"] = (f"edgeq diff-device {model} --board {board.name} --data {opts.data} "
                             f"--sample {report['mismatches'][0]['data_index']}"
                             + (f" --calib {opts.calib}" if opts.calib and keras_model == model else "")
                             + (f" --port {opts.port}" if opts.port else ""))
    if opts.max_drop is not None:
        drop = report.get("float_vs_device_drop_pp", report.get("host_vs_device_drop_pp"))
        if drop > opts.max_drop:
            failures.append(f"accuracy drop {drop:.2f} pp exceeds --max-drop {opts.max_drop} pp")
    gate["passed"] = not failures
    gate["failures"] = failures
    report["gate"] = gate
    report["html"] = str(work / "report.html")
    write_json_atomic(work / "report.json", report)
    from .device_report import write_device_html

    write_device_html(work / "report.html", report)
    return report


def _telemetry(tflite, graph, layers, device_stats, ref, ds, opts: FlashTestOptions, keras_model, specs,
               out_names, log, runs: list[int]) -> dict:
    """The device's saturation counters vs the host's on the same inputs and on the calibration data.

    ``runs``: per sample, how many times the device ran it (a retransmitted INFER whose first
    attempt ran counts twice on the device, so the host counts it twice too). A resumed run's
    earlier records were counted by another session: no exact comparison then."""
    from .reference import run_tflm
    from .telemetry import DEFAULT_THRESHOLD, host_counts, telemetry_table

    exact = not opts.resume and device_stats.inferences == sum(runs)
    same = host_counts(layers, ref.tensors, runs=runs) if exact else None
    calib_spec = opts.calib or (opts.data if keras_model is not None else None)
    calib = None
    n_cal = 0
    if calib_spec is not None:
        cal = data_mod.load(calib_spec, role="calibration data", inputs=specs, outputs=out_names)
        cal = cal.take(data_mod.subset_indices(len(cal), 500, SUBSET_SEED))  # at most 500: a rate, not a census
        log(f"saturation on the calibration data ({len(cal)} samples of {calib_spec})")
        from .profile import output_tensors

        cal_ref = run_tflm(tflite, cal.model_input, tensors=output_tensors(layers))
        calib, n_cal = host_counts(layers, cal_ref.tensors), len(cal)
    else:
        log("note: --telemetry without --calib: device counts only (no calibration baseline, no drift flag)")
    tel = telemetry_table(layers, device_stats, same, calib, n_cal,
                          opts.drift_threshold if opts.drift_threshold is not None else DEFAULT_THRESHOLD)
    tel["calib"] = calib_spec
    return tel
