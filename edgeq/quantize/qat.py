"""`edgeq qat`: quantization-aware fine-tuning (tensorflow-model-optimization) → full-integer TFLite.

TF-MOT runs only under Keras 2, so training happens in a child process with
TF_USE_LEGACY_KERAS=1 (edgeq.quantize.qat_worker); this side loads and validates the model and
data with Keras 3, hands over a bridge description, and checks and records the result like
`convert` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import data as data_mod
from ..artifacts import to_json, write_files_atomic
from ..errors import InputError
from . import keras_io, qat_bridge
from .convert import (ConvertOptions, ConvertResult, _check_device_ops, _check_fully_integer, _manifest,
                      _tensor_table, manifest_path_for)


@dataclass(frozen=True)
class QatOptions:
    epochs: int = 5
    learning_rate: float = 5e-4
    batch_size: int = 32
    samples: int = 300  # calibration samples for the converter's final pass
    seed: int = 0
    io: str = "int8"
    task: str = "classification"

    def validate(self) -> None:
        if self.epochs <= 0:
            raise InputError(f"--epochs must be positive, got {self.epochs}")
        if self.io not in ("int8", "uint8", "float32"):
            raise InputError(f"--io must be int8, uint8 or float32, not {self.io!r}")


def qat_model(model_path: Path, train: str, calib: str, out_path: Path | None = None,
              options: QatOptions = QatOptions(), progress=None) -> ConvertResult:
    options.validate()
    model_path = keras_io.check_model_path(Path(model_path))
    if model_path.is_dir():
        raise InputError("QAT needs a Keras model file (.keras or .h5), not a SavedModel directory")
    model = keras_io.load_float_model(model_path)
    shape = keras_io.input_shape(model)
    tr = data_mod.load(train, shape, role="training data")
    if tr.y is None:
        raise InputError(f"training data {tr.source} has no labels (an npz needs an array 'y')")
    cal = data_mod.load(calib, shape, role="calibration data").subset(options.samples, options.seed)
    desc = qat_bridge.describe(model)
    with tempfile.TemporaryDirectory(prefix="edgeq-qat-") as tmp:
        tmp = Path(tmp)
        (tmp / "model.json").write_text(json.dumps(desc))
        np.savez(tmp / "weights.npz", **qat_bridge.weights(model))
        np.savez(tmp / "data.npz", x_train=tr.x, y_train=tr.y, x_calib=cal.x)
        req = {"description": str(tmp / "model.json"), "weights": str(tmp / "weights.npz"),
               "data": str(tmp / "data.npz"), "out": str(tmp / "out.tflite"), **asdict(options)}
        (tmp / "req.json").write_text(json.dumps(req))
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = subprocess.Popen([sys.executable, "-m", "edgeq.quantize.qat_worker", str(tmp / "req.json")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for line in proc.stdout:
            if line.startswith("progress ") and progress:
                progress(*map(int, line.split()[1:3]))
        err = proc.stderr.read()
        if proc.wait() != 0:
            last = [ln for ln in err.strip().splitlines() if ln.strip() and not ln.startswith(("W0000", "I0000", "E0000"))]
            raise InputError("quantization-aware training failed: " + (last[-1] if last else f"exit {proc.returncode}"))
        tflite = (tmp / "out.tflite").read_bytes()
    conv_opts = ConvertOptions(samples=options.samples, seed=options.seed, io=options.io)
    _check_fully_integer(tflite, model, conv_opts)
    _check_device_ops(tflite, model)
    tensors = _tensor_table(tflite)
    manifest = _manifest(model_path, cal, conv_opts, tflite, tensors)
    manifest["kind"] = "edgeq.qat"
    manifest["qat"] = {**asdict(options), "train": {"source": Path(tr.source).name, "sha256": tr.sha256,
                                                     "samples": len(tr)}}
    res = ConvertResult(tflite=tflite, manifest=manifest, calib_samples=len(cal), tensors=tensors)
    if out_path is not None:
        res.out_path, res.manifest_path = Path(out_path), manifest_path_for(Path(out_path))
        write_files_atomic([(res.out_path, tflite), (res.manifest_path, to_json(manifest).encode())])  # both or neither
    return res
