"""`edgeq diff-device`: the first layer where the device and the host reference disagree
(issue 14, part 2).

The firmware is built with the observation hooks (``EDGEQ_OBSERVE``). For each chosen sample and
each layer (a generated call) in order, the host sends INFER_LAYER: the device runs the model up
to that layer and sends the layer's output tensor back, straight from the arena. The host
reference (TFLM, ``kPreserveAllTensors``; or the TFLite interpreter's reference kernels for ops
TFLM lacks) gives the same tensor. The first tensor that differs names the op that went wrong:
a kernel from another library, a compiler flag, an arena overwritten by the application.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError

Log = Callable[[str], None]


@dataclass(frozen=True)
class DiffOptions:
    board: str
    data: str
    samples: tuple[int, ...] = (0,)  # indices in the data file
    calib: str | None = None  # for a Keras model (default: the data)
    port: str | None = None
    baud: int | None = None
    workdir: Path = Path("out/diff-device")
    name: str = "model"
    all_layers: bool = False  # keep comparing after the first divergence of a sample
    kernels: str = "edgeq"  # or "cmsis-nn": the kernels of the checkout cmsis_nn_dir
    cmsis_nn_dir: Path | None = None  # link these kernels (an upstream CMSIS-NN checkout)
    extra_cmake: dict = field(default_factory=dict)


def _np_dtype(dtype: str):
    return {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32,
            "float32": np.float32, "int64": np.int64}[dtype]


def compare_tensor(layer: dict, device: bytes, host: np.ndarray) -> dict | None:
    """None when equal; else where and by how much the device's tensor differs."""
    dt = _np_dtype(layer["dtype"])
    host = np.ascontiguousarray(np.asarray(host).astype(dt, copy=False)).reshape(-1)
    dev = np.frombuffer(device, dtype=dt)
    if dev.size != host.size:
        return {"elements_device": int(dev.size), "elements_host": int(host.size), "size_mismatch": True}
    if np.array_equal(dev, host):
        return None
    diff = np.abs(dev.astype(np.float64) - host.astype(np.float64))
    bad = np.flatnonzero(diff)
    first = int(bad[0])
    shape = [int(d) for d in layer["shape"]]
    itemsize = np.dtype(dt).itemsize
    worst = int(np.argmax(diff))
    return {"elements": int(host.size), "differing": int(bad.size),
            "first_element": first, "first_index": [int(i) for i in np.unravel_index(first, shape)] if shape else [],
            "first_bytes": [first * itemsize, first * itemsize + itemsize - 1],
            "device_value": dev[first].item(), "host_value": host[first].item(),
            "max_abs_diff": diff.max().item(), "max_at_index": [int(i) for i in np.unravel_index(worst, shape)]
            if shape else []}


def compare_layer(lay: dict, device: bytes, host_tensors: dict, sample: int) -> dict | None:
    """The layer's outputs as the device sent them (concatenated in order) against the host's:
    None when all are equal, else the first differing output's tensor and where it differs."""
    outs = lay.get("outputs") or [lay]
    if len(device) != sum(o["bytes"] for o in outs):
        return {"elements_device": len(device), "elements_host": sum(o["bytes"] for o in outs),
                "size_mismatch": True}
    at = 0
    for k, o in enumerate(outs):
        d = compare_tensor(o, device[at:at + o["bytes"]], host_tensors[o["output_tensor"]][sample])
        at += o["bytes"]
        if d is not None:
            where = {} if k == 0 else {"tensor": o["output"], "dtype": o["dtype"], "shape": o["shape"],
                                       "output": k}
            return {**where, **d}
    return None


def diff_device(model: Path, opts: DiffOptions, log: Log = lambda s: None) -> dict:
    from . import data as data_mod
    from .boards import get_board
    from .build import build_firmware
    from .codegen import generate
    from .device.runner import sample_bytes
    from .device.session import device_session
    from .flash_and_test import io_names
    from .run_identity import workdir_lock
    from .graph import load_graph
    from .profile import OBSERVE_CMAKE, layers_of, output_tensors
    from .reference import REFERENCE_NAMES, reference_for, run_tflm

    board = get_board(opts.board)
    if not board.emulated and not opts.port:
        raise InputError(f"{board.name} is a real board: give its serial port with --port")
    model = Path(model)
    work = Path(opts.workdir)
    with workdir_lock(work):
        if model.suffix == ".tflite":
            if not model.is_file():
                raise InputError(f"TFLite model not found: {model}")
            tflite_path = model
        else:
            from .quantize.convert import ConvertOptions, convert_model

            tflite_path = work / f"{model.stem}.tflite"
            log(f"convert {model} (calibration: {opts.calib or opts.data})")
            convert_model(model, opts.calib or opts.data, tflite_path, ConvertOptions())
        tflite = tflite_path.read_bytes()
        graph = load_graph(tflite, name=tflite_path.name)
        from .reference import keeps_state

        if keeps_state(tflite):
            # INFER_LAYER runs the model up to each layer in turn: every run would advance the state
            raise InputError(f"{tflite_path.name} keeps state across invokes (SVDF): diff-device runs the model "
                             "once per layer, which would advance that state, so its tensors cannot be compared",
                             "compare whole outputs with flash-and-test (it runs the samples as one sequence)")
        in_names, out_names = io_names(graph)
        specs = [(n, tuple(graph.tensor(t).shape[1:])) for n, t in zip(in_names, graph.inputs)]
        ds = data_mod.load(opts.data, role="data", inputs=specs, outputs=out_names)
        for i in opts.samples:
            if not 0 <= i < len(ds):
                raise InputError(f"--sample {i} is outside the data (0..{len(ds) - 1})")
        ds = ds.take(list(opts.samples))
        layers = layers_of(graph, opts.name)

        kind = reference_for(tflite)
        log(f"host reference ({REFERENCE_NAMES[kind]}) with every intermediate tensor")
        ref = run_tflm(tflite, ds.model_input, tensors=output_tensors(layers))

        log(f"generate C and build the observe firmware for {board.name}")
        from .cmsis_nn import scratch_for_board

        checkout = opts.cmsis_nn_dir if opts.kernels == "cmsis-nn" else None
        gen = generate(tflite, work / "gen", name=opts.name, kernels=opts.kernels, cmsis_nn_dir=checkout,
                       scratch_variant=scratch_for_board(opts.kernels, board))
        fw = build_firmware(board, work / "build", model_dir=gen.out_dir, cmsis_nn_dir=gen.cmsis_nn_dir,
                            extra_cmake={**OBSERVE_CMAKE, **opts.extra_cmake})

        results = []
        with device_session(board, fw.elf, port=opts.port, baudrate=opts.baud) as dev:
            info = dev.client.info()
            if info.model_sha256 != gen.sha256:
                raise InputError(f"the device runs model {info.model_sha256[:12]}…, not {gen.sha256[:12]}…")
            for s, data_index in enumerate(opts.samples):
                sample = tuple(q[s] for q in ref.inputs_qs)
                payload = sample_bytes(sample if len(sample) > 1 else sample[0], info)
                diverged = []
                for lay in layers:
                    res = dev.client.infer_layer(lay["layer"], payload, reply_bytes=lay["bytes"])
                    if res.status != 0:
                        diverged.append({**_where(lay), "status": res.status,
                                         "error": f"the model failed with status {res.status} before this layer"})
                        break
                    d = compare_layer(lay, res.data, ref.tensors, s)
                    if d is not None:
                        diverged.append({**_where(lay), **d})
                        if not opts.all_layers:
                            break
                log(f"sample {data_index}: " + (f"first divergence at layer {diverged[0]['layer']} "
                                                f"({diverged[0]['op']})" if diverged else
                                                f"all {len(layers)} layers identical"))
                results.append({"data_index": int(data_index), "layers_checked": len(layers) if opts.all_layers
                                or not diverged else diverged[0]["layer"] + 1,
                                "first": diverged[0] if diverged else None, "diverging": diverged})
    firsts = [r["first"] for r in results if r["first"]]
    first = min(firsts, key=lambda d: d["layer"]) if firsts else None
    return {"model": str(tflite_path), "board": board.name, "reference": REFERENCE_NAMES[kind],
            "kernels": str(opts.cmsis_nn_dir) if opts.cmsis_nn_dir else "edgeq",
            "layers": len(layers), "samples": results, "first_divergence": first,
            "diverged_samples": sum(1 for r in results if r["first"])}


def _where(lay: dict) -> dict:
    return {"layer": lay["layer"], "op_index": lay["op_index"], "op": lay["op"], "kernel": lay["kernel"],
            "tensor": lay["output"], "dtype": lay["dtype"], "shape": lay["shape"]}


def render_diff(rep: dict, out) -> None:
    from . import ui

    first = rep["first_divergence"]
    n = len(rep["samples"])
    if first is None:
        out.print(f"[green]no divergence[/]: all {rep['layers']} layers identical to {rep['reference']} "
                  f"on {n} sample{'s' if n > 1 else ''} ({rep['board']}, kernels: {rep['kernels']})")
        return
    rows = [["layer", f"{first['layer']} (operator #{first['op_index']})"], ["op", first["op"]],
            ["kernel call", first["kernel"]], ["tensor", first["tensor"]],
            ["shape", f"{first['dtype']}{first['shape']}"]]
    if "error" in first:
        rows.append(["error", first["error"]])
    elif first.get("size_mismatch"):
        rows.append(["size", f"device {first['elements_device']} elements, host {first['elements_host']}"])
    else:
        rows += [["differing", f"{first['differing']:,} of {first['elements']:,} values"],
                 ["first at", f"index {first['first_index']} (bytes {first['first_bytes'][0]}..{first['first_bytes'][1]}):"
                              f" device {first['device_value']}, host {first['host_value']}"],
                 ["max |diff|", f"{first['max_abs_diff']:g} at index {first['max_at_index']}"]]
    rows.append(["samples diverging", f"{rep['diverged_samples']} of {n}"])
    out.print(ui.table(f"edgeq diff-device — first diverging layer ({rep['board']}, vs {rep['reference']})",
                       ["", ""], rows, justify_right_from=2))
