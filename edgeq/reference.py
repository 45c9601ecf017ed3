"""The golden reference: the TFLM interpreter (what the device must match bit for bit).

It runs in a child process: the interpreter can abort the whole process (SIGABRT, no message)
on parameters it rejects, and a crash must become a clear error, not a dead CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import EdgeqError

DTYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "float32": np.float32}


@dataclass(frozen=True)
class TensorIO:
    dtype: str
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """float samples → the tensor's type (round half away from zero, saturate)."""
        x = np.asarray(x, dtype=np.float32).reshape((-1,) + self.shape[1:])
        if self.dtype == "float32":
            return x
        info = np.iinfo(DTYPES[self.dtype])
        v = x.astype(np.float64) / self.scale
        q = np.sign(v) * np.floor(np.abs(v) + 0.5) + self.zero_point
        return np.clip(q, info.min, info.max).astype(DTYPES[self.dtype])

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if self.dtype == "float32":
            return np.asarray(q, dtype=np.float32)
        return ((q.astype(np.float64) - self.zero_point) * self.scale).astype(np.float32)


@dataclass
class ReferenceRun:
    input: TensorIO
    output: TensorIO
    inputs_q: np.ndarray  # (N, ...) what was fed, in the model's input type
    outputs_q: np.ndarray  # (N, ...) raw outputs, in the model's output type
    tensors: dict | None = None  # tensor index → (N, ...) raw values, when asked for

    @property
    def outputs(self) -> np.ndarray:
        return self.output.dequantize(self.outputs_q)


def io_of(tflite: bytes) -> tuple[TensorIO, TensorIO]:
    """Input and output tensor types/quantization, read by the TFLM interpreter itself."""
    run = _run_worker(tflite, None)
    return run.input, run.output


def run_tflm(tflite: bytes, x: np.ndarray | None, progress: Callable[[int, int], None] | None = None,
             quantized: bool = False, tensors: list[int] | None = None) -> ReferenceRun:
    """Run every sample of x (float, or already quantized when `quantized`) through TFLM;
    `tensors` also returns those intermediate tensors' values for every sample."""
    return _run_worker(tflite, x, progress, quantized, tensors)


def _run_worker(tflite: bytes, x, progress=None, quantized=False, tensors=None) -> ReferenceRun:
    with tempfile.TemporaryDirectory(prefix="edgeq-ref-") as tmp:
        req, resp = Path(tmp) / "req.npz", Path(tmp) / "resp.npz"
        arrays = {"model": np.frombuffer(tflite, dtype=np.uint8), "quantized": np.array(quantized)}
        if x is not None:
            arrays["x"] = np.asarray(x)
        if tensors:
            arrays["dump"] = np.asarray(tensors, dtype=np.int64)
        np.savez(req, **arrays)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = subprocess.Popen([sys.executable, "-m", "edgeq.reference", str(req), str(resp)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for line in proc.stdout:
            if line.startswith("progress ") and progress:
                done, total = map(int, line.split()[1:3])
                progress(done, total)
        err = proc.stderr.read()
        code = proc.wait()
        if code != 0:
            reason = f"was killed by signal {-code}" if code < 0 else f"failed (exit {code})"
            tail = "\n".join(err.strip().splitlines()[-3:])
            raise EdgeqError(f"the TFLM reference interpreter {reason} on this model"
                             + (f": {tail}" if tail else ""),
                             hint="the model has parameters TFLM rejects; try --debug or another calibration")
        with np.load(resp, allow_pickle=False) as z:
            def tio(prefix):
                return TensorIO(str(z[f"{prefix}_dtype"]), tuple(int(d) for d in z[f"{prefix}_shape"]),
                                float(z[f"{prefix}_scale"]), int(z[f"{prefix}_zp"]))
            dumped = {int(k[2:]): z[k] for k in z.files if k.startswith("t_")}
            return ReferenceRun(tio("in"), tio("out"),
                                z["inputs_q"] if "inputs_q" in z.files else None,
                                z["outputs_q"] if "outputs_q" in z.files else None,
                                dumped or None)


def _details_io(d) -> TensorIO:
    q = d["quantization_parameters"]
    scale = float(q["scales"][0]) if len(q["scales"]) else 1.0
    zp = int(q["zero_points"][0]) if len(q["zero_points"]) else 0
    return TensorIO(np.dtype(d["dtype"]).name, tuple(int(s) for s in d["shape"]), scale, zp)


def _worker(req: str, resp: str) -> None:
    from tflite_micro.python.tflite_micro import runtime

    with np.load(req, allow_pickle=False) as z:
        model = z["model"].tobytes()
        x = z["x"] if "x" in z.files else None
        quantized = bool(z["quantized"])
        dump = [int(i) for i in z["dump"]] if "dump" in z.files else []
    config = runtime.InterpreterConfig.kPreserveAllTensors if dump else runtime.InterpreterConfig.kAllocationRecording
    interp = runtime.Interpreter.from_bytes(model, arena_size=_arena_guess(len(model)), intrepreter_config=config)
    tin, tout = _details_io(interp.get_input_details(0)), _details_io(interp.get_output_details(0))
    out = {}
    for prefix, t in (("in", tin), ("out", tout)):
        out.update({f"{prefix}_dtype": t.dtype, f"{prefix}_shape": np.array(t.shape),
                    f"{prefix}_scale": t.scale, f"{prefix}_zp": t.zero_point})
    if x is not None:
        xq = x.reshape((-1,) + tin.shape[1:]).astype(DTYPES[tin.dtype]) if quantized else tin.quantize(x)
        ys = []
        seen = {i: [] for i in dump}
        step = max(1, len(xq) // 100)
        for i in range(len(xq)):
            interp.set_input(xq[i:i + 1], 0)
            interp.invoke()
            ys.append(np.array(interp.get_output(0))[0])
            for t in dump:
                d = interp.GetTensor(t, 0)
                seen[t].append(np.array(d["tensor_data"]).reshape(d["shape"]))
            if (i + 1) % step == 0 or i + 1 == len(xq):
                print(f"progress {i + 1} {len(xq)}", flush=True)
        out["inputs_q"] = xq
        out["outputs_q"] = np.stack(ys)
        out.update({f"t_{t}": np.stack(v) for t, v in seen.items()})
    np.savez(resp, **out)


def _arena_guess(model_bytes: int) -> int:
    # TFLM's own default can be too small for large activations; memory is cheap on the host.
    return max(1 << 20, 16 * model_bytes)


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
