"""`edgeq flash-and-test`: model → (convert) → generate → build → flash/start → stream a test set
over serial → compare the device with the host TFLM reference (and the float model).

Stages are the other modules' public entry points; this module only sequences them and turns
their results into one report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import data as data_mod
from .artifacts import write_json_atomic
from .errors import GateFailed, InputError

Log = Callable[[str], None]


UPLOADS = ("serial", "file")
META_VERSION = 1
SUBSET_SEED = 0  # the --limit draw (Dataset.subset); recorded so a resume can check it


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


def _stats(values: list[int]) -> dict | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    return {"min": int(a.min()), "median": float(np.median(a)), "p99": float(np.percentile(a, 99)),
            "max": int(a.max()), "mean": float(a.mean())}


def _sha256_arrays(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _check_options(opts: FlashTestOptions, board) -> None:
    if opts.limit is not None and opts.limit <= 0:
        raise InputError(f"--limit must be positive, got {opts.limit}")
    if opts.upload not in UPLOADS:
        raise InputError(f"--upload must be serial or file, not {opts.upload!r}")
    if opts.upload == "file" and not board.emulated:
        raise InputError(f"--upload file works only on emulated boards; {board.name} is a real board",
                         "a real board gets its inputs over serial: drop --upload (or pass --upload serial)")


def _check_single_io(graph) -> None:
    # the comparison, the input quantization and the report are written for one input and one
    # output tensor; a model with more would be compared on tensor 0 only, i.e. half-tested
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    if n_in != 1 or n_out != 1:
        raise InputError(f"flash-and-test supports models with one input and one output; this model has "
                         f"{n_in} input(s) and {n_out} output(s)",
                         "the device protocol carries several tensors (edgeq.device.run_dataset), "
                         "but this command does not compare them yet")


def _check_labels(ds, graph, opts: FlashTestOptions) -> None:
    if opts.max_drop is None:
        return
    classes = int(np.prod(graph.tensor(graph.outputs[0]).shape[1:]))
    if ds.y is None:
        raise InputError("--max-drop needs labelled test data (y), but the test data has no labels")
    if ds.y.ndim != 1 or classes < 2:
        raise InputError(f"--max-drop needs a classification model and one integer label per sample "
                         f"(labels have shape {list(ds.y.shape)}, the model {classes} output value(s))")
    y = np.asarray(ds.y)
    if not np.all(np.mod(y, 1) == 0) or y.min() < 0 or y.max() >= classes:
        raise InputError(f"--max-drop needs class labels 0..{classes - 1}; the test data has labels "
                         f"from {y.min()} to {y.max()}")


def _run_identity(board, graph, full_ds, ds, indices, opts: FlashTestOptions) -> dict:
    """What results.jsonl's records depend on: a resume must match every field (``data`` is
    only informative: the same file may be named by another path)."""
    return {"version": META_VERSION, "board": board.name, "model_sha256": graph.sha256,
            "data": str(opts.data), "data_sha256": full_ds.sha256,
            # a --limit at or above the data size selects everything, like no --limit
            "limit": opts.limit if opts.limit is not None and opts.limit < len(full_ds) else None,
            "seed": SUBSET_SEED, "samples": len(ds),
            "indices_sha256": _sha256_arrays(np.asarray(indices, dtype=np.int64)),
            "samples_sha256": _sha256_arrays(ds.x, ds.y)}


_IDENTITY_NAMES = {"board": "board", "model_sha256": "model", "data_sha256": "test data",
                   "limit": "--limit", "seed": "sample draw", "samples": "sample count",
                   "indices_sha256": "sample indices", "samples_sha256": "selected samples",
                   "version": "results format"}


def _check_resume(meta_path: Path, results_path: Path, identity: dict) -> None:
    has_results = results_path.exists() and results_path.stat().st_size > 0
    hint = "drop --resume to start over, or pass a fresh --workdir"
    if not meta_path.exists():
        if has_results:
            raise InputError(f"cannot resume: {results_path} has no run identity ({meta_path.name} is "
                             "missing), so its results may belong to another model or data set", hint)
        return  # nothing recorded yet: a resume is just a start
    try:
        old = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"cannot resume: {meta_path} is unreadable ({e})", hint) from e
    diff = [k for k in identity if k != "data" and old.get(k) != identity[k]]
    # name the cause (another --limit), not its consequences (other indices, other samples)
    causes = [k for k in diff if k not in ("samples", "indices_sha256", "samples_sha256")]
    diff = causes or diff
    if diff:
        def show(v):
            if v is None:
                return "none"
            return f"{v[:12]}…" if isinstance(v, str) and len(v) == 64 else repr(v)

        what = "; ".join(f"{_IDENTITY_NAMES.get(k, k)}: recorded {show(old.get(k))}, now {show(identity[k])}"
                         for k in diff)
        raise InputError(f"cannot resume: {results_path} belongs to a different run ({what})", hint)


def flash_and_test(model: Path, opts: FlashTestOptions, log: Log = lambda s: None,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    from .boards import get_board
    from .build import build_firmware
    from .codegen import generate
    from .device.runner import run_dataset
    from .device.session import device_session
    from .graph import load_graph
    from .reference import run_tflm
    from .sizecheck import size_check

    board = get_board(opts.board)
    _check_options(opts, board)
    model = Path(model)
    work = Path(opts.workdir)
    keras_model = None
    if model.suffix == ".tflite":
        if not model.is_file():
            raise InputError(f"TFLite model not found: {model}")
        tflite_path = model
    else:
        from .quantize.convert import ConvertOptions, convert_model

        keras_model = model
        tflite_path = work / f"{model.stem}.tflite"
        log(f"convert {model} (calibration: {opts.calib or opts.data})")
        convert_model(model, opts.calib or opts.data, tflite_path, ConvertOptions())
    tflite = tflite_path.read_bytes()
    graph = load_graph(tflite, name=tflite_path.name)
    _check_single_io(graph)
    # needs only the model and the board: the most basic answer comes first
    fit = size_check(graph, board)
    if not fit.fits:
        raise GateFailed(f"the model does not fit {board.name}: {fit.failure_message()}")

    # the test data (shape, labels for --max-drop) and a resume's identity are checked as soon
    # as the model's input and output are known: before minutes of code generation and building
    shape = tuple(graph.tensor(graph.inputs[0]).shape[1:])
    full_ds = data_mod.load(opts.data, shape, role="test data")
    # the same draw as `evaluate --limit N`; kept as indices because the report and the run
    # identity name data-file indices
    indices = data_mod.subset_indices(len(full_ds), opts.limit, SUBSET_SEED)
    ds = full_ds.take(indices)
    _check_labels(ds, graph, opts)
    results_path = work / "results.jsonl"
    meta_path = work / "results.meta.json"
    identity = _run_identity(board, graph, full_ds, ds, indices, opts)
    if opts.resume:
        _check_resume(meta_path, results_path, identity)

    log(f"generate C for {tflite_path.name}")
    gen = generate(tflite, work / "gen", name=opts.name)
    log(f"build firmware for {board.name}")
    fw = build_firmware(board, work / "build", model_dir=gen.out_dir)

    log(f"host reference (TFLM) on {len(ds)} samples")
    ref = run_tflm(tflite, ds.x)

    if not opts.resume:
        # the old results go before the new identity is written: at no moment does the identity
        # file vouch for records of another run
        results_path.unlink(missing_ok=True)
    write_json_atomic(meta_path, identity)
    log(f"{'start' if board.emulated else 'flash'} {board.name}; inputs over "
        f"{'the UART' if opts.upload == 'serial' else 'semihosting (host file)'}")
    with device_session(board, fw.elf, port=opts.port, baudrate=opts.baud) as dev:
        info = dev.client.info()
        if info.model_sha256 != gen.sha256:
            raise GateFailed(f"the device runs model {info.model_sha256[:12]}…, not {gen.sha256[:12]}…")
        recs = run_dataset(dev.client, ref.inputs_q, results_path, resume=opts.resume,
                           icount_shift=dev.icount_shift, upload=opts.upload,
                           progress=(lambda done, total, rec: progress(done, total)) if progress else None)
        link = dev.client.stats.to_dict()
    device_q = np.stack([r.output_arrays(info)[0] for r in recs]).reshape(ref.outputs_q.shape)
    report = _compare(ref, device_q, ds, keras_model, recs, info)
    for m in report["mismatches"]:
        m["data_index"] = int(indices[m["index"]])  # where the sample is in the test data file
    report.update({
        "board": board.name, "core": board.core, "clock_hz": board.clock_hz, "emulated": board.emulated,
        "model": {"tflite": str(tflite_path), "sha256": gen.sha256, "arena_bytes": gen.arena_bytes},
        "memory": {"flash_bytes": fw.flash_bytes, "flash_capacity": fw.flash_capacity,
                   "ram_bytes": fw.ram_bytes, "stack_bytes": fw.stack_bytes, "ram_capacity": fw.ram_capacity,
                   "arena_bytes": gen.arena_bytes, "planned_arena_bytes": fit.to_dict().get("arena_bytes")},
        "results_file": str(results_path), "upload": opts.upload,
        "link": link,  # retransmits / NAKs / device resets of this session: a flaky link shows
    })
    lat = report["latency"]
    unit = "instructions" if board.emulated else "cycles"
    if lat[unit]:
        lat["ms_at_clock"] = {k: v / board.clock_hz * 1e3 for k, v in lat[unit].items()}
    gate = {"mismatches": report["mismatch_count"], "allow_mismatch": opts.allow_mismatch,
            "max_drop_pp": opts.max_drop, "drop_pp": report.get("float_vs_device_drop_pp")}
    failures = []
    if report["mismatch_count"] and not opts.allow_mismatch:
        where = " (indices in the test data)" if len(indices) < len(full_ds) else ""
        failures.append(f"{report['mismatch_count']} of {report['samples']} outputs differ from the host "
                        f"reference{where}: {_index_list([m['data_index'] for m in report['mismatches']])}")
    if opts.max_drop is not None:
        drop = report.get("float_vs_device_drop_pp", report.get("host_vs_device_drop_pp"))
        if drop > opts.max_drop:
            failures.append(f"accuracy drop {drop:.2f} pp exceeds --max-drop {opts.max_drop} pp")
    gate["passed"] = not failures
    gate["failures"] = failures
    report["gate"] = gate
    write_json_atomic(work / "report.json", report)
    return report


def _index_list(indices: list[int], shown: int = 10) -> str:
    """"samples 3, 17, 40" — at most ``shown``, then how many more (a cut list says it is cut)."""
    head = ", ".join(str(i) for i in indices[:shown])
    more = f" and {len(indices) - shown} more (all in report.json)" if len(indices) > shown else ""
    return f"sample{'s' if len(indices) > 1 else ''} {head}{more}"


def _compare(ref, device_q: np.ndarray, ds, keras_model, recs, info) -> dict:
    n = len(device_q)
    host_q = ref.outputs_q
    same = np.all(device_q.reshape(n, -1) == host_q.reshape(n, -1), axis=1)
    bad = np.flatnonzero(~same)
    diff = np.abs(device_q.reshape(n, -1).astype(np.int64) - host_q.reshape(n, -1).astype(np.int64))
    out = {"samples": n, "bit_exact_rate": float(same.mean()), "mismatch_count": int(len(bad)),
           # every mismatch, not a sample of them: a list that is silently cut misleads
           "mismatches": [{"index": int(i), "max_abs_diff": int(diff[i].max()),
                           "values_differing": int(np.count_nonzero(diff[i]))} for i in bad]}
    dev_f = ref.output.dequantize(device_q).reshape(n, -1)
    host_f = ref.output.dequantize(host_q).reshape(n, -1)
    classify = dev_f.shape[1] > 1
    if classify:
        out["top1_agreement"] = float(np.mean(dev_f.argmax(1) == host_f.argmax(1)))
    if ds.y is not None and classify and ds.y.ndim == 1:
        y = ds.y.astype(np.int64)
        out["device_accuracy"] = float(np.mean(dev_f.argmax(1) == y))
        out["host_accuracy"] = float(np.mean(host_f.argmax(1) == y))
        out["host_vs_device_drop_pp"] = round(100 * (out["host_accuracy"] - out["device_accuracy"]), 4)
        if keras_model is not None:
            from .evaluate import _predict
            from .quantize import keras_io

            fl = _predict(keras_io.load_float_model(keras_model), ds.x).reshape(n, -1)
            out["float_accuracy"] = float(np.mean(fl.argmax(1) == y))
            out["float_vs_device_drop_pp"] = round(100 * (out["float_accuracy"] - out["device_accuracy"]), 4)
    out["latency"] = {"instructions": _stats([r.instructions for r in recs if r.instructions is not None]),
                      "cycles": _stats([r.cycles for r in recs if r.cycles is not None]),
                      "timer": recs[0].timer if recs else None}
    return out
