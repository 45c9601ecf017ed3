"""`edgeq flash-and-test`: model → (convert) → generate → build → flash/start → stream a test set
over serial → compare the device with the host TFLM reference (and the float model).

Stages are the other modules' public entry points; this module only sequences them and turns
their results into one report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import data as data_mod
from .artifacts import write_json_atomic
from .errors import GateFailed, InputError

Log = Callable[[str], None]


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


def _stats(values: list[int]) -> dict | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    return {"min": int(a.min()), "median": float(np.median(a)), "p99": float(np.percentile(a, 99)),
            "max": int(a.max()), "mean": float(a.mean())}


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
    fit = size_check(graph, board)
    if not fit.fits:
        raise GateFailed(f"the model does not fit {board.name}: {fit.failure_message()}")

    log(f"generate C for {tflite_path.name}")
    gen = generate(tflite, work / "gen", name=opts.name)
    log(f"build firmware for {board.name}")
    fw = build_firmware(board, work / "build", model_dir=gen.out_dir)

    shape = tuple(graph.tensor(graph.inputs[0]).shape[1:])
    ds = data_mod.load(opts.data, shape, role="test data")
    if opts.limit is not None:
        ds = ds.subset(opts.limit)
    log(f"host reference (TFLM) on {len(ds)} samples")
    ref = run_tflm(tflite, ds.x)
    results_path = work / "results.jsonl"

    log(f"{'start' if board.emulated else 'flash'} {board.name}")
    with device_session(board, fw.elf, port=opts.port, baudrate=opts.baud) as dev:
        info = dev.client.info()
        if info.model_sha256 != gen.sha256:
            raise GateFailed(f"the device runs model {info.model_sha256[:12]}…, not {gen.sha256[:12]}…")
        recs = run_dataset(dev.client, ref.inputs_q, results_path, resume=opts.resume,
                           icount_shift=dev.icount_shift,
                           progress=(lambda done, total, rec: progress(done, total)) if progress else None)
    device_q = np.stack([r.output_arrays(info)[0] for r in recs]).reshape(ref.outputs_q.shape)
    report = _compare(ref, device_q, ds, keras_model, recs, info)
    report.update({
        "board": board.name, "core": board.core, "clock_hz": board.clock_hz, "emulated": board.emulated,
        "model": {"tflite": str(tflite_path), "sha256": gen.sha256, "arena_bytes": gen.arena_bytes},
        "memory": {"flash_bytes": fw.flash_bytes, "flash_capacity": fw.flash_capacity,
                   "ram_bytes": fw.ram_bytes, "stack_bytes": fw.stack_bytes, "ram_capacity": fw.ram_capacity,
                   "arena_bytes": gen.arena_bytes, "planned_arena_bytes": fit.to_dict().get("arena_bytes")},
        "results_file": str(results_path),
    })
    lat = report["latency"]
    unit = "instructions" if board.emulated else "cycles"
    if lat[unit]:
        lat["ms_at_clock"] = {k: v / board.clock_hz * 1e3 for k, v in lat[unit].items()}
    gate = {"mismatches": report["mismatch_count"], "allow_mismatch": opts.allow_mismatch,
            "max_drop_pp": opts.max_drop, "drop_pp": report.get("float_vs_device_drop_pp")}
    failures = []
    if report["mismatch_count"] and not opts.allow_mismatch:
        failures.append(f"{report['mismatch_count']} of {report['samples']} outputs differ from the host reference")
    if opts.max_drop is not None:
        drop = report.get("float_vs_device_drop_pp", report.get("host_vs_device_drop_pp"))
        if drop is None:
            raise InputError("--max-drop needs labelled classification data")
        if drop > opts.max_drop:
            failures.append(f"accuracy drop {drop:.2f} pp exceeds --max-drop {opts.max_drop} pp")
    gate["passed"] = not failures
    gate["failures"] = failures
    report["gate"] = gate
    write_json_atomic(work / "report.json", report)
    return report


def _compare(ref, device_q: np.ndarray, ds, keras_model, recs, info) -> dict:
    n = len(device_q)
    host_q = ref.outputs_q
    same = np.all(device_q.reshape(n, -1) == host_q.reshape(n, -1), axis=1)
    bad = np.flatnonzero(~same)
    diff = np.abs(device_q.reshape(n, -1).astype(np.int64) - host_q.reshape(n, -1).astype(np.int64))
    out = {"samples": n, "bit_exact_rate": float(same.mean()), "mismatch_count": int(len(bad)),
           "mismatches": [{"index": int(i), "max_abs_diff": int(diff[i].max())} for i in bad[:50]]}
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
