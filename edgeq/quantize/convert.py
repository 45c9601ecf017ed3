"""`edgeq convert`: a Keras model + calibration data → a full-integer TFLite model + manifest."""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .. import data as data_mod
from ..artifacts import sha256_bytes, sha256_path, to_json, tool_versions, write_files_atomic
from ..errors import InputError
from . import keras_io, ranges
from .tfenv import captured_output, import_tf

GRANULARITIES = ("per-channel", "per-tensor")
IO_TYPES = ("int8", "uint8", "float32")
PRECISIONS = ("int8", "int16x8")
EDGE_OPS = {"QUANTIZE", "DEQUANTIZE"}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ConvertOptions:
    samples: int | None = 300  # calibration samples, drawn reproducibly (None = all)
    seed: int = 0
    granularity: str = "per-channel"
    io: str = "int8"
    precision: str = "int8"
    method: str = "minmax"  # activation range estimator, see ranges.py
    percentile: float = 99.99
    keep: tuple[str, ...] = ()  # layers whose activations stay int16 (mixed precision, see keep.py)
    auto: bool = False  # search the fewest int16 layers meeting max_drop on eval_data
    max_drop: float | None = None
    eval_data: str | None = None
    board: str | None = None  # with auto: only choices that fit this board
    allow_host_only: bool = False  # accept ops edgeq generate cannot run (the .tflite still runs in TFLM)
    weights: str = "int8"  # every weight layer's format: int8 | int4 | cluster16 (see lowbit.py)
    int4: tuple[str, ...] = ()  # layers whose weights drop to int4 (values -7..7)
    cluster: tuple[str, ...] = ()  # layers whose weights take at most 16 distinct values
    cluster_granularity: str = "per-tensor"  # 16 values per tensor or per output channel
    int4_scale: str = "mse"  # int4 scale per channel: mse (clipped, least squared error) | max (max|w|/7)
    max_flash: str | int | None = None  # with auto: weight bytes budget (int4 where needed, see auto_weights.py)

    def validate(self) -> None:
        for name, value, allowed in (("granularity", self.granularity, GRANULARITIES),
                                     ("io", self.io, IO_TYPES), ("precision", self.precision, PRECISIONS)):
            if value not in allowed:
                raise InputError(f"--{name} must be one of {', '.join(allowed)}, not {value!r}")
        if self.samples is not None and self.samples <= 0:
            raise InputError(f"--samples must be positive, got {self.samples}")
        if self.method not in ranges.METHODS:
            raise InputError(f"--method must be one of {', '.join(ranges.METHODS)}, not {self.method!r}")
        if not 50.0 < self.percentile <= 100.0:
            raise InputError(f"--percentile must be in (50, 100], got {self.percentile}")
        if self.method != "minmax" and self.precision != "int8":
            raise InputError(f"--method {self.method} is available with --precision int8 only")
        if self.precision == "int16x8" and self.io == "uint8":
            raise InputError("--precision int16x8 takes --io int8 (meaning int16 here) or float32, not uint8")
        if (self.keep or self.auto) and self.precision != "int8":
            raise InputError("--keep / --auto mix int16 layers into an int8 model: use them with --precision int8")
        if self.auto and (self.max_drop is None or self.eval_data is None):
            raise InputError("--auto needs --max-drop PP and labelled held-out --data to measure the drop")
        if self.keep and self.auto:
            raise InputError("give either --keep LAYER (by hand) or --auto, not both")
        from .lowbit import CLUSTER_GRANULARITIES, FORMATS, INT4_SCALES

        if self.int4_scale not in INT4_SCALES:
            raise InputError(f"--int4-scale must be one of {', '.join(INT4_SCALES)}, not {self.int4_scale!r}")

        if self.weights not in FORMATS:
            raise InputError(f"--weights must be one of {', '.join(FORMATS)}, not {self.weights!r}")
        if self.cluster_granularity not in CLUSTER_GRANULARITIES:
            raise InputError(f"--cluster-granularity must be one of {', '.join(CLUSTER_GRANULARITIES)}, "
                             f"not {self.cluster_granularity!r}")
        if self.max_flash is not None:
            from ..sizecheck import parse_size

            parse_size(self.max_flash, "--max-flash")
            if not self.auto:
                raise InputError("--max-flash is a budget for --auto (give --auto --max-drop PP --data TEST too)")
        if self.auto and self.low_bit:
            raise InputError("--auto chooses the weight formats itself (int4 where --max-flash or --board needs "
                             "it): drop --weights / --int4 / --cluster16, or --auto")
        if self.low_bit and self.precision != "int8":
            raise InputError("--weights int4/cluster16, --int4 and --cluster16 rewrite int8 models: use them with "
                             "--precision int8 (layers at int16 keep int8 weights)")

    @property
    def low_bit(self) -> bool:
        return self.weights != "int8" or bool(self.int4) or bool(self.cluster)


@dataclass
class ConvertResult:
    tflite: bytes
    manifest: dict
    calib_samples: int
    out_path: Path | None = None
    manifest_path: Path | None = None
    tensors: list = field(default_factory=list)
    ranges: dict = field(default_factory=dict)  # per activation: observed, chosen, clipped (non-minmax)
    warnings: list[str] = field(default_factory=list)  # for the user: the command prints them


def convert_model(model_path: Path, calib: str, out_path: Path | None = None,
                  options: ConvertOptions = ConvertOptions(), progress: Progress | None = None,
                  check_method: bool = True) -> ConvertResult:
    """Convert, check that every op is integer, write OUT.tflite + OUT.manifest.json atomically.

    ``check_method``: for a range method other than minmax, also measure minmax and warn when the
    method is clearly worse (``_method_check``); calibrate-compare measures every method itself.
    The minmax model is converted alongside, from the same calibration (``quantize_variants``)."""
    prep = prepare(model_path, calib, options)
    check = check_method and options.method != "minmax"
    variants = [options] + ([replace(options, method="minmax")] if check else [])
    results = quantize_variants(prep.model, prep.ds.model_input, variants, progress)
    tflite, chosen = results[0]
    method_check = _method_check(prep.model, prep.ds.x, tflite, results[1][0], options) if check and chosen else None
    return finish(prep, options, tflite, chosen, method_check, out_path)


@dataclass
class Prepared:
    """A loaded model and its calibration data, ready to be quantized one or more ways."""

    model_path: Path
    model: object
    ds: object  # data_mod.Dataset: the calibration subset
    several: bool  # several inputs or outputs
    shape: tuple | None  # the input shape (one input)


def prepare(model_path: Path, calib: str, options: ConvertOptions) -> Prepared:
    options.validate()
    model_path = keras_io.check_model_path(Path(model_path))
    model = keras_io.load_float_model(model_path)
    if options.keep:
        from . import keep

        keep.check_names(model, options.keep)
    specs, outputs = keras_io.input_specs(model), keras_io.output_names(model)
    several = len(specs) > 1 or len(outputs) > 1
    if several:
        _check_several_io_options(options, specs, outputs)
    # one array per input, each checked against its input's shape (errors name the input)
    ds = data_mod.load(calib, role="calibration data", inputs=specs,
                       outputs=outputs).subset(options.samples, options.seed)
    return Prepared(model_path, model, ds, several, None if several else keras_io.input_shape(model))


def finish(prep: Prepared, options: ConvertOptions, tflite: bytes, chosen: dict, method_check: dict | None = None,
           out_path: Path | None = None) -> ConvertResult:
    """The steps after the converter: io order, mixed precision, the integer and device-op checks,
    the manifest; written atomically when ``out_path`` is given."""
    model, ds = prep.model, prep.ds
    if prep.several:
        tflite = _keras_io_order(tflite, model)
    mix = None
    if options.keep or options.auto:
        tflite, mix = _mixed_precision(model, prep.shape, ds.x, tflite, options)
    if options.auto and (options.max_flash is not None or options.board):
        tflite, weights = _auto_weights(model, prep.shape, tflite, options)
    else:
        tflite, weights = low_bit_weights(model, tflite, options)
    tensors = _tensor_table(tflite)
    _check_fully_integer(tflite, model, options)
    if not options.allow_host_only:
        _check_device_ops(tflite, model)
    manifest = _manifest(prep.model_path, ds, options, tflite, tensors)
    if chosen:
        manifest["calibration"]["ranges"] = chosen
        if method_check is not None:
            manifest["calibration"]["method_check"] = method_check
    if mix is not None:
        manifest["mixed_precision"] = mix
    manifest["weights"] = weights
    result = ConvertResult(tflite=tflite, manifest=manifest, calib_samples=len(ds), tensors=tensors,
                           ranges=chosen, warnings=[method_check["warning"]] if method_check and
                           method_check.get("warning") else [])
    if out_path is not None:
        out_path = Path(out_path)
        result.out_path = out_path
        result.manifest_path = manifest_path_for(out_path)
        write_files_atomic([(out_path, tflite), (result.manifest_path, to_json(manifest).encode())])  # both or neither
    return result


def _check_several_io_options(options: ConvertOptions, specs, outputs) -> None:
    what = f"{len(specs)} input(s) and {len(outputs)} output(s)"
    if options.method != "minmax":
        raise InputError(f"--method {options.method} calibrates models with one input and one output; this "
                         f"model has {what}", hint="use --method minmax (the default)")
    if options.keep or options.auto:
        raise InputError(f"--keep / --auto (mixed precision) handle models with one input and one output; "
                         f"this model has {what}")


#: A range method whose output SQNR on the calibration data is this much below minmax's is flagged.
METHOD_WARN_DB = 3.0
METHOD_CHECK_SAMPLES = 64


def _method_check(model, x: np.ndarray, tflite: bytes, minmax: bytes, options: ConvertOptions) -> dict:
    """Compare a clipping range method with minmax on (a slice of) the calibration data: the output
    SQNR against the float model, each way. Entropy can clip what a residual net needs (58.6 % vs
    86.7 % accuracy measured on one): when the chosen method is clearly worse, say so."""
    from ..evaluate import _sqnr
    from ..reference import run_tflm

    xs = x[:METHOD_CHECK_SAMPLES]
    with captured_output():
        y = np.asarray(model.predict(xs, verbose=0), np.float64).reshape(len(xs), -1)
    sq = {}
    for name, blob in ((options.method, tflite), ("minmax", minmax)):
        out = np.asarray(run_tflm(blob, xs).outputs, np.float64).reshape(len(xs), -1)
        sq[name] = _sqnr(y, out - y)
    db = {k: (None if v is None else round(v, 2)) for k, v in sq.items()}  # None: identical to float
    chosen, base = (float("inf") if v is None else v for v in (sq[options.method], sq["minmax"]))
    check = {"samples": len(xs), "output_sqnr_db": db}
    if chosen < base - METHOD_WARN_DB:
        check["warning"] = (f"--method {options.method}: output SQNR {chosen:.1f} dB against the float model on "
                            f"{len(xs)} calibration samples, {base - chosen:.1f} dB below minmax ({base:.1f} dB); "
                            "its clipping may cost accuracy: compare with `edgeq calibrate-compare`")
    return check


def _keras_io_order(tflite: bytes, model) -> bytes:
    """The converter orders a model's inputs and outputs its own way (by signature name, outputs
    reversed, ...): put the .tflite's graph inputs and outputs back in the Keras model's order, so
    that input k of the data, of the device protocol and of the generated code is the model's input
    k. Only the subgraph's input/output index vectors change (same length, in place): tensors,
    buffers and the signature (which maps names to tensor indices) are untouched."""
    it = _interpreter(tflite)
    sigs = it._get_full_signature_list()
    sig = sigs.get("serving_default") or (next(iter(sigs.values())) if len(sigs) == 1 else None)
    current_in = [int(d["index"]) for d in it.get_input_details()]
    current_out = [int(d["index"]) for d in it.get_output_details()]
    try:
        want_in = [int(sig["inputs"][n]) for n in keras_io.signature_inputs(model)]
        want_out = [int(sig["outputs"][f"output_{k}"]) for k in range(len(model.outputs))]
    except (KeyError, TypeError) as e:
        raise InputError(f"cannot match the converted model's inputs/outputs to the Keras model's ({e!s} "
                         "missing from its signature)") from e
    if sorted(want_in) != sorted(current_in) or sorted(want_out) != sorted(current_out):
        raise InputError("the converted model's signature does not name its graph inputs/outputs")
    if want_in == current_in and want_out == current_out:
        return tflite
    return _set_io_order(tflite, want_in, want_out)


def _set_io_order(tflite: bytes, inputs: list[int], outputs: list[int]) -> bytes:
    """Rewrite subgraph 0's input and output tensor-index vectors in place (a permutation)."""
    import flatbuffers
    import tflite as schema

    buf = bytearray(tflite)
    sg = schema.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    for field_offset, values in ((6, inputs), (8, outputs)):
        o = sg._tab.Offset(field_offset)
        start = sg._tab.Vector(o)
        if sg._tab.VectorLen(o) != len(values):
            raise InputError("internal: input/output count changed while reordering")
        for j, v in enumerate(values):
            flatbuffers.encode.Write(flatbuffers.packer.int32, buf, start + 4 * j, v)
    return bytes(buf)


def _mixed_precision(model, shape, x: np.ndarray, int8: bytes, options: ConvertOptions) -> tuple[bytes, dict]:
    """Splice int16 layers into the int8 model: the named ones, or those the --auto search picks."""
    from . import keep

    # the int16 side always uses the converter's min/max: 65,536 levels make room for the outliers
    # that a clipping method would trade resolution against
    int16, _ = quantize_keras(model, x, replace(options, precision="int16x8", method="minmax",
                                                io="float32" if options.io == "float32" else "int8"))
    plan = keep.build_plan(model, int8, int16)
    if options.keep:
        res = plan.splice(plan.resolve(options.keep))
        return res.tflite, _mix_summary(res)
    from ..evaluate import _predict

    test = data_mod.load(options.eval_data, shape, role="evaluation data")
    if test.y is None:
        raise InputError(f"--auto: evaluation data {test.source} has no labels")
    fits = _fits_board(options.board) if options.board else None
    auto = keep.auto_select(plan, _predict(model, test.x), test.x, test.y, options.max_drop, fits)
    summary = _mix_summary(auto.splice)
    summary["auto"] = {"max_drop_pp": options.max_drop, "met": auto.met, "float_accuracy": auto.float_accuracy,
                       "all_int8_accuracy": auto.int8_accuracy, "accuracy": auto.accuracy,
                       "drop_pp": auto.drop_pp, "eval_samples": len(test), "steps": auto.steps,
                       "board": options.board}
    return (auto.splice.tflite if auto.splice else int8), summary


def low_bit_weights(model, tflite: bytes, options: ConvertOptions) -> tuple[bytes, dict]:
    """Every weight layer's format (int8, or int4 / cluster16 as chosen), applied in place; the
    manifest's ``weights`` record (per layer: format, bytes int8 and as `generate` stores them)."""
    from . import lowbit

    layers = lowbit.weight_layers(tflite, model)
    plan = lowbit.choose(layers, options.weights, options.int4, options.cluster,
                         keras_io.layer_names(model) if model is not None else None)
    tflite, records = lowbit.apply(tflite, layers, plan, options.cluster_granularity, options.int4_scale)
    return tflite, lowbit.summary(records, options.weights, options.cluster_granularity, options.int4_scale)


def _auto_weights(model, shape, tflite: bytes, options: ConvertOptions) -> tuple[bytes, dict]:
    """--auto with a flash budget: int4 for the layers ``auto_weights.search`` picks."""
    from ..evaluate import _predict
    from ..sizecheck import parse_size
    from . import auto_weights

    test = data_mod.load(options.eval_data, shape, role="evaluation data")
    if test.y is None:
        raise InputError(f"--auto: evaluation data {test.source} has no labels")
    y_float = _predict(model, test.x)
    from ..evaluate import compare

    float_acc = compare(y_float, y_float, test.y).metrics.get("float_accuracy")
    if float_acc is None:
        raise InputError("--auto needs a classifier and labelled --data (it gates on accuracy drop)")
    budget = parse_size(options.max_flash, "--max-flash") if options.max_flash is not None else None
    found = auto_weights.search(tflite, model, auto_weights.accuracy_on(y_float, test.x, test.y), float_acc,
                                options.max_drop, budget, _fits_board(options.board) if options.board else None,
                                options.int4_scale)
    chosen, weights = low_bit_weights(model, tflite, replace(options, int4=tuple(found.int4_layers)))
    if chosen != found.tflite:
        raise InputError("internal: the weight search's model and its re-application differ")
    weights["auto"] = {"max_flash_bytes": budget, "board": options.board, "max_drop_pp": options.max_drop,
                       "met": found.met, "reason": found.reason, "int4_layers": found.int4_layers,
                       "accuracy": found.accuracy, "float_accuracy": float_acc,
                       "drop_pp": round(100.0 * (float_acc - found.accuracy), 4), "steps": found.steps}
    return chosen, weights


def _mix_summary(res) -> dict:
    """The manifest's record of a splice (None: nothing was kept, the model is all int8)."""
    if res is None:
        return {"int16_layers": [], "int16_tensors": [], "int16_ops": [], "requantize_ops": 0}
    return {"int16_layers": list(res.layers), "int16_tensors": res.int16_tensors,
            "int16_ops": res.int16_ops, "requantize_ops": res.requantize_ops}


def _fits_board(board_name: str):
    from ..boards import get_board
    from ..graph import load_graph
    from ..sizecheck import size_check

    board = get_board(board_name)
    return lambda tflite: size_check(load_graph(tflite, check_supported=False), board).fits


def _check_device_ops(tflite: bytes, model) -> None:
    """Refuse now what `edgeq generate` would refuse later: an op it has no kernel for, or a mode
    of one it cannot lower (the lowering is run as a dry run: it is fast and TensorFlow-free)."""
    from ..codegen.lower import lower
    from ..errors import OpError
    from ..graph import check_graph, int16_activation, load_graph

    graph = load_graph(tflite, check_supported=False)
    try:
        check_graph(graph, "converted model")
        lower(graph)
    except OpError as e:
        op = graph.operators[e.op_index]
        layer_of = keras_io.LayerMap(model, [t.name for t in graph.tensors])
        layer = layer_of(graph.tensors[op.outputs[0]].name) if op.outputs else None
        where = f"layer {layer!r}: " if layer else ""
        hint = "keep only chosen layers at int16 (--keep or --auto)" if int16_activation(graph, op) else e.hint
        raise InputError(f"{where}{e.message}: edgeq generate and the device kernels could not run it, so "
                         "nothing was written", hint=(hint + "; " if hint else "") + "--allow-host-only "
                         "writes the model anyway (it runs in TFLM)") from e


def manifest_path_for(tflite_path: Path) -> Path:
    return Path(tflite_path).with_suffix(".manifest.json")


def quantize_keras(model, x: np.ndarray, options: ConvertOptions, progress: Progress | None = None
                   ) -> tuple[bytes, dict]:
    """One conversion (``quantize_variants`` with one variant)."""
    return quantize_variants(model, x, [options], progress)[0]


def quantize_variants(model, x: np.ndarray, variants: list[ConvertOptions], progress: Progress | None = None
                      ) -> list[tuple[bytes, dict]]:
    """Post-training full-integer quantization of a Keras model, calibrated on x (N, ...) — a list
    with one (N, ...) array per input for a model with several inputs.

    TensorFlow's converter runs in a child process (``convert_worker``): a crash there (the
    calibrator segfaults on Keras 3 LSTM/GRU) becomes an InputError with its last output lines.
    Models with recurrent layers take the path in ``recurrent``: LSTM rebuilt in tf_keras (one
    fused UNIDIRECTIONAL_SEQUENCE_LSTM op), GRU/SimpleRNN unrolled.

    ``variants`` differ in method, granularity or percentile only (precision and io are the
    first's): they are converted in one child from one export, and every range method other than
    minmax shares one calibration pass and the values it recorded (calibrate-compare's eight
    candidates, convert's method check).

    Returns per variant the .tflite bytes and, for range methods other than minmax, the ranges chosen."""
    import json
    import tempfile

    from . import recurrent

    options = variants[0]
    route, rnn_layers = recurrent.route(model)
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    with tempfile.TemporaryDirectory(prefix="edgeq-convert-") as tmp:
        tmp = Path(tmp)
        req = {"precision": options.precision, "io": options.io, "inputs": len(xs),
               "variants": [{"method": v.method, "granularity": v.granularity, "percentile": v.percentile}
                            for v in variants],
               "names": keras_io.signature_inputs(model) if len(xs) > 1 else None,
               "data": str(tmp / "data.npz"), "out": str(tmp / "out.tflite"), "result": str(tmp / "result.json")}
        np.savez(tmp / "data.npz", **{f"x{i}": np.asarray(a, np.float32) for i, a in enumerate(xs)})
        if route == "tf_keras":
            from . import qat_bridge

            if len(xs) > 1 or len(model.outputs) > 1:
                raise InputError(f"recurrent layer(s) {recurrent.describe(rnn_layers)} in a model with several "
                                 "inputs or outputs: edgeq converts recurrent models with one input and one output")
            (tmp / "model.json").write_text(json.dumps(qat_bridge.describe(model)))
            np.savez(tmp / "weights.npz", **qat_bridge.weights(model))
            req.update(mode="tf_keras", description=str(tmp / "model.json"), weights=str(tmp / "weights.npz"))
        else:
            source = recurrent.unrolled(model) if route == "unroll" else model
            _export_for_converter(keras_io.batch_one(source), tmp / "saved_model")
            req.update(mode="saved_model", saved_model=str(tmp / "saved_model"), keras_metadata=True)
        (tmp / "request.json").write_text(json.dumps(req))
        where = f" (recurrent layers {recurrent.describe(rnn_layers)})" if rnn_layers else ""
        result = _run_converter_child(tmp / "request.json", progress, where)
        if "error" in result:
            raise InputError(result["error"] + where if rnn_layers else result["error"])
        out = [((tmp / f"out.tflite.{k}").read_bytes(), r["ranges"]) for k, r in enumerate(result["variants"])]
    if route == "unroll" and options.io != "float32":
        for tflite, _ in out:
            recurrent.check_unrolled(tflite, rnn_layers)
    return out


def _export_for_converter(wrapped, out_dir: Path) -> None:
    """Write the SavedModel ``TFLiteConverter.from_keras_model`` writes internally for a Keras 3
    model (an ExportArchive with one inference endpoint, training=False, the model's input specs):
    converting it in the child gives the bytes an in-process conversion gives."""
    import functools

    tf, keras = import_tf()
    specs = [tf.TensorSpec(t.shape, dtype=t.dtype, name=t.name) for t in wrapped.inputs]
    signature = [specs] if len(specs) > 1 else specs
    archive = keras.export.ExportArchive()
    archive.track(wrapped)
    archive.add_endpoint("serve", functools.partial(wrapped.__call__, training=False), signature)
    with captured_output() as log:
        try:
            archive.write_out(str(out_dir))
        except Exception as e:
            raise InputError(_converter_message(e, log())) from e


def _run_converter_child(request: Path, progress: Progress | None, where: str) -> dict:
    """Run ``convert_worker`` on a request; relay its progress; a crash becomes an InputError."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    read_fd, write_fd = os.pipe()
    env = dict(os.environ, EDGEQ_PROGRESS_FD=str(write_fd), PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([sys.executable, "-m", "edgeq.quantize.convert_worker", str(request)],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "r") as lines:
            for line in lines:
                parts = line.split()
                if progress and len(parts) == 3 and parts[0] == "progress":
                    progress(int(parts[1]), int(parts[2]))
        code = proc.wait()
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    result_path = Path(json.loads(request.read_text())["result"])
    if code == 0 and result_path.exists():
        return json.loads(result_path.read_text())
    if code < 0:
        try:
            what = f"signal {signal.Signals(-code).name}"
        except ValueError:
            what = f"signal {-code}"
    else:
        what = f"exit {code}"
    last = _crash_lines(text)
    raise InputError(f"TensorFlow's converter crashed ({what}) converting the model{where}"
                     + (": " + " | ".join(last) if last else ""),
                     hint="the layers named are the likely cause; `edgeq ops` lists what edgeq runs")


def _crash_lines(stderr: str) -> list[str]:
    """What to show of a crashed converter's stderr: Python's fault report (the error and the
    innermost frames, where TensorFlow was) if there is one, else the last lines."""
    lines = [ln.strip() for ln in stderr.strip().splitlines()
             if ln.strip() and not ln.startswith(("W0000", "I0000"))]
    for i, ln in enumerate(lines):
        if ln.startswith("Fatal Python error"):
            frames = [f for f in lines[i + 1:] if f.startswith("File ")][:2]
            return [ln] + frames
    return lines[-3:]


def _converter_message(e: Exception, log: str) -> str:
    text = f"{e}\n{log}"
    ops = sorted(set(re.findall(r"'(tf\.[A-Za-z0-9_]+)'", text)))
    where = sorted(set(re.findall(r'loc\(.*?"([^"]+)"', text)))[:3]
    if ops:
        msg = f"TFLite cannot convert op(s) {', '.join(ops)}"
        if where:
            msg += f" (at {', '.join(where)})"
        return msg + ": edgeq needs models built from TFLite builtin ops"
    first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
    return f"TFLite conversion failed: {first}"


def _interpreter(tflite: bytes):
    tf, _ = import_tf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_content=tflite)


def _tensor_table(tflite: bytes) -> list[dict]:
    it = _interpreter(tflite)
    rows = []
    for t in it.get_tensor_details():
        q = t["quantization_parameters"]
        scales = np.asarray(q["scales"], dtype=np.float64)
        rows.append({
            "index": int(t["index"]),
            "name": t["name"],
            "dtype": np.dtype(t["dtype"]).name,
            "shape": [int(d) for d in t["shape"]],
            "channels": int(scales.size),
            "scale": float(scales[0]) if scales.size == 1 else None,
            "scale_range": [float(scales.min()), float(scales.max())] if scales.size > 1 else None,
            "zero_point": int(q["zero_points"][0]) if len(q["zero_points"]) else None,
            "axis": int(q["quantized_dimension"]) if scales.size > 1 else None,
        })
    return rows


def _check_fully_integer(tflite: bytes, model, options: ConvertOptions) -> None:
    """Every op must compute in integers; name the first op/layer that does not."""
    it = _interpreter(tflite)
    details = it.get_tensor_details()
    graph_in = {d["index"] for d in it.get_input_details()}
    graph_out = {d["index"] for d in it.get_output_details()}
    layer_of = keras_io.LayerMap(model, [d["name"] for d in details])
    for pos, op in enumerate(it._get_ops_details()):
        types = [np.dtype(t) for t in list(op["operand_types"]) + list(op["result_types"])]
        if not any(t.kind == "f" for t in types):
            continue
        ins, outs = set(int(i) for i in op["inputs"]), set(int(i) for i in op["outputs"])
        if options.io == "float32" and op["op_name"] == "QUANTIZE" and ins <= graph_in:
            continue
        if options.io == "float32" and op["op_name"] == "DEQUANTIZE" and outs <= graph_out:
            continue
        if op["op_name"] in EDGE_OPS:
            continue  # the float op they feed is what gets reported
        tensor = details[int(op["outputs"][0])]["name"]
        layer = layer_of(tensor)
        where = f"layer {layer!r}" if layer else f"tensor {tensor!r}"
        raise InputError(
            f"{where} cannot be fully quantized: its op {op['op_name']} (operator #{pos}) has no "
            f"integer kernel in TFLite, so it would stay float32",
            hint="replace that layer with a quantizable one (e.g. ReLU/ReLU6 for activations)")


def io_params(tflite: bytes) -> dict:
    it = _interpreter(tflite)

    def one(d):
        q = d["quantization_parameters"]
        return {"name": d["name"], "dtype": np.dtype(d["dtype"]).name, "shape": [int(s) for s in d["shape"]],
                "scale": float(q["scales"][0]) if len(q["scales"]) else None,
                "zero_point": int(q["zero_points"][0]) if len(q["zero_points"]) else None}

    return {"inputs": [one(d) for d in it.get_input_details()],
            "outputs": [one(d) for d in it.get_output_details()]}


def _manifest(model_path: Path, ds, options: ConvertOptions, tflite: bytes, tensors: list) -> dict:
    quantized = [t for t in tensors if t["dtype"] in ("int8", "uint8", "int16")]
    return {
        "kind": "edgeq.convert",
        "model": {"path": model_path.name, "sha256": sha256_path(model_path)},
        "calibration": {"source": Path(ds.source).name if ":" not in ds.source else ds.source,
                        "sha256": ds.sha256, "samples_used": len(ds), "sha256_samples": sha256_bytes(b"".join(a.tobytes() for a in ds.inputs))},
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(options).items()},  # as JSON reads back
        "tflite": {"sha256": sha256_bytes(tflite), "bytes": len(tflite)},
        "io": io_params(tflite),
        "tensors": {"count": len(tensors), "quantized": len(quantized),
                    "per_channel": sum(1 for t in tensors if t["channels"] > 1),
                    "table": tensors},
        "tools": tool_versions("tensorflow", "keras", "tflite-micro", "numpy"),
    }
