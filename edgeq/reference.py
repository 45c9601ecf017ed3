"""The golden reference: the TFLM interpreter (what the device must match bit for bit) — or, for a
model with an op TFLM has no kernel for (its op registry row says ``reference == "TFLite"``), the
desktop TFLite interpreter with its reference kernels (``OpResolverType.BUILTIN_REF``).

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

from .errors import EdgeqError, InputError
from .ops import TFLITE, TFLM

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
    inputs_io: list[TensorIO]  # one per model input, in the model's order
    outputs_io: list[TensorIO]  # one per model output
    inputs_qs: list[np.ndarray] | None  # per input: (N, ...) what was fed, in the input's type
    outputs_qs: list[np.ndarray] | None  # per output: (N, ...) raw outputs, in the output's type
    tensors: dict | None = None  # tensor index → (N, ...) raw values, when asked for
    reference: str = TFLM  # which interpreter computed it: TFLM, or TFLITE (its reference kernels)

    # the first (or only) input and output, as single-I/O code reads them
    @property
    def input(self) -> TensorIO:
        return self.inputs_io[0]

    @property
    def output(self) -> TensorIO:
        return self.outputs_io[0]

    @property
    def inputs_q(self) -> np.ndarray | None:
        return None if self.inputs_qs is None else self.inputs_qs[0]

    @property
    def outputs_q(self) -> np.ndarray | None:
        return None if self.outputs_qs is None else self.outputs_qs[0]

    @property
    def outputs(self) -> np.ndarray:
        return self.output.dequantize(self.outputs_q)

    @property
    def outputs_all(self) -> list[np.ndarray]:
        """Every output in float units (dequantized), one (N, ...) array per model output."""
        return [t.dequantize(q) for t, q in zip(self.outputs_io, self.outputs_qs)]

    @property
    def reference_name(self) -> str:
        return REFERENCE_NAMES[self.reference]


#: how reports name the reference: TFLM, or the desktop TFLite interpreter's reference kernels
REFERENCE_NAMES = {TFLM: "TFLM", TFLITE: "TFLite (reference kernels)"}


def reference_for(tflite: bytes) -> str:
    """TFLITE when an op of the model is held to the TFLite interpreter's reference kernels (its op
    registry row says so: TFLM has no kernel for it), else TFLM."""
    from . import ops
    from .graph import load_graph

    try:
        graph = load_graph(tflite, check_supported=False)
    except EdgeqError:
        return TFLM  # TFLM gives its own message about a file edgeq cannot parse
    for op in graph.operators:
        row = ops.spec(op.opcode)
        if row is not None and row.reference == TFLITE:
            return TFLITE
    return TFLM


def keeps_state(tflite: bytes) -> bool:
    """True if the generated code keeps state from one invoke to the next (an SVDF's memory, as
    TFLM does): the samples of such a model form one sequence, on the device and in the reference."""
    from .graph import load_graph

    try:
        graph = load_graph(tflite, check_supported=False)
    except EdgeqError:
        return False
    return any(op.opcode in STATEFUL_OPS for op in graph.operators)


#: ops whose state (a variable tensor) persists across invokes in TFLM and in the generated code
STATEFUL_OPS = frozenset({"SVDF"})


def io_of(tflite: bytes) -> tuple[TensorIO, TensorIO]:
    """Input and output tensor types/quantization, read by the TFLM interpreter itself."""
    run = _run_worker(tflite, None)
    return run.input, run.output


def ios_of(tflite: bytes) -> tuple[list[TensorIO], list[TensorIO]]:
    """Every input's and output's type/quantization, as the reference interpreter reads them."""
    run = _run_worker(tflite, None)
    return run.inputs_io, run.outputs_io


def run_tflm(tflite: bytes, x, progress: Callable[[int, int], None] | None = None,
             quantized: bool = False, tensors: list[int] | None = None, reference: str | None = None
             ) -> ReferenceRun:
    """Run every sample of x (float, or already quantized when `quantized`) through the reference;
    `tensors` also returns those intermediate tensors' values for every sample.

    x: one (N, ...) array for a single-input model, or a list with one (N, ...) array per input.
    The reference is TFLM unless the model has an op held to the TFLite interpreter's reference
    kernels (``reference_for``); ``reference`` forces one (TFLM or TFLITE)."""
    return _run_worker(tflite, x, progress, quantized, tensors, reference)


run_reference = run_tflm


def _run_worker(tflite: bytes, x, progress=None, quantized=False, tensors=None, reference=None) -> ReferenceRun:
    kind = reference or reference_for(tflite)
    if kind not in REFERENCE_NAMES:
        raise ValueError(f"reference must be {TFLM} or {TFLITE}, not {kind!r}")
    with tempfile.TemporaryDirectory(prefix="edgeq-ref-") as tmp:
        req, resp = Path(tmp) / "req.npz", Path(tmp) / "resp.npz"
        arrays = {"model": np.frombuffer(tflite, dtype=np.uint8), "quantized": np.array(quantized),
                  "kind": np.array(kind)}
        if x is not None:
            xs = list(x) if isinstance(x, (list, tuple)) else [x]
            arrays.update({f"x_{k}": np.asarray(a) for k, a in enumerate(xs)})
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
            if code == 3 and tail.startswith("edgeq:"):  # a clear message from the worker
                raise InputError(tail.split("edgeq:", 1)[1].strip())
            raise EdgeqError(f"the {REFERENCE_NAMES[kind]} reference interpreter {reason} on this model"
                             + (f": {tail}" if tail else ""),
                             hint="the model has parameters the reference rejects; try --debug or another "
                                  "calibration")
        with np.load(resp, allow_pickle=False) as z:
            def tios(prefix):
                return [TensorIO(str(z[f"{prefix}{k}_dtype"]), tuple(int(d) for d in z[f"{prefix}{k}_shape"]),
                                 float(z[f"{prefix}{k}_scale"]), int(z[f"{prefix}{k}_zp"]))
                        for k in range(int(z[f"n_{prefix}"]))]

            def arrays_of(prefix, n):
                return [z[f"{prefix}_{k}"] for k in range(n)] if f"{prefix}_0" in z.files else None

            tin, tout = tios("in"), tios("out")
            dumped = {int(k[2:]): z[k] for k in z.files if k.startswith("t_")}
            return ReferenceRun(tin, tout, arrays_of("inputs_q", len(tin)), arrays_of("outputs_q", len(tout)),
                                dumped or None, kind)


def _details_io(d) -> TensorIO:
    q = d["quantization_parameters"]
    scale = float(q["scales"][0]) if len(q["scales"]) else 1.0
    zp = int(q["zero_points"][0]) if len(q["zero_points"]) else 0
    return TensorIO(np.dtype(d["dtype"]).name, tuple(int(s) for s in d["shape"]), scale, zp)


class _Tflm:
    """The TFLM Python interpreter behind one small interface."""

    def __init__(self, model: bytes, dump: bool):
        from tflite_micro.python.tflite_micro import runtime

        config = runtime.InterpreterConfig.kPreserveAllTensors if dump else \
            runtime.InterpreterConfig.kAllocationRecording
        self.it = runtime.Interpreter.from_bytes(model, arena_size=_arena_guess(len(model)),
                                                 intrepreter_config=config)
        self.sequence = keeps_state(model)
        self.started = False

    def details(self, n_in: int, n_out: int):
        return ([_details_io(self.it.get_input_details(k)) for k in range(n_in)],
                [_details_io(self.it.get_output_details(k)) for k in range(n_out)])

    def run(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        # every sample is an independent inference, as on the device: TFLM's reference kernels keep
        # variable tensors (an LSTM's state) from one invoke to the next until reset(). A model whose
        # generated code keeps state across invokes (SVDF) is run as one sequence instead, as the
        # device runs the samples one after the other from its zeroed start-up state.
        if not (self.sequence and self.started):
            self.it.reset()
        self.started = True
        for k, a in enumerate(xs):
            self.it.set_input(a, k)
        self.it.invoke()
        return [np.array(self.it.get_output(k))[0] for k in range(self.n_out)]

    def tensor(self, t: int) -> np.ndarray:
        d = self.it.GetTensor(t, 0)
        return np.array(d["tensor_data"]).reshape(d["shape"])


class _TfliteRef:
    """The desktop TFLite interpreter with its reference kernels (BUILTIN_REF: no XNNPACK, no
    optimized kernels) — the reference for ops TFLM has no kernel for."""

    def __init__(self, model: bytes, dump: bool):
        import warnings

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.it = tf.lite.Interpreter(
                model_content=model, experimental_preserve_all_tensors=dump,
                experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
        self.it.allocate_tensors()
        self.ins, self.outs = self.it.get_input_details(), self.it.get_output_details()

    def details(self, n_in: int, n_out: int):
        return [_details_io(d) for d in self.ins], [_details_io(d) for d in self.outs]

    def run(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        self.it.reset_all_variables()  # every sample an independent inference, as on the device
        for d, a in zip(self.ins, xs):
            self.it.set_tensor(d["index"], a)
        self.it.invoke()
        return [np.array(self.it.get_tensor(d["index"]))[0] for d in self.outs]

    def tensor(self, t: int) -> np.ndarray:
        return np.array(self.it.get_tensor(t))


def _worker(req: str, resp: str) -> None:
    from .graph import load_graph

    with np.load(req, allow_pickle=False) as z:
        model = z["model"].tobytes()
        xs = [z[f"x_{k}"] for k in range(sum(1 for f in z.files if f.startswith("x_")))]
        quantized = bool(z["quantized"])
        kind = str(z["kind"]) if "kind" in z.files else TFLM
        dump = [int(i) for i in z["dump"]] if "dump" in z.files else []
    try:
        graph = load_graph(model, check_supported=False)
        n_in, n_out = len(graph.inputs), len(graph.outputs)
    except EdgeqError:
        n_in = n_out = 1
    interp = (_TfliteRef if kind == TFLITE else _Tflm)(model, bool(dump))
    interp.n_out = n_out
    tin, tout = interp.details(n_in, n_out)
    out = {"n_in": n_in, "n_out": n_out}
    for prefix, ts in (("in", tin), ("out", tout)):
        for k, t in enumerate(ts):
            out.update({f"{prefix}{k}_dtype": t.dtype, f"{prefix}{k}_shape": np.array(t.shape),
                        f"{prefix}{k}_scale": t.scale, f"{prefix}{k}_zp": t.zero_point})
    if xs:
        if len(xs) != n_in:
            print(f"edgeq: the model has {n_in} inputs but {len(xs)} input array(s) were given",
                  file=sys.stderr)
            sys.exit(3)
        xq = [a.reshape((-1,) + t.shape[1:]).astype(DTYPES[t.dtype]) if quantized else t.quantize(a)
              for a, t in zip(xs, tin)]
        n = len(xq[0])
        ys = [[] for _ in range(n_out)]
        seen = {i: [] for i in dump}
        step = max(1, n // 100)
        for i in range(n):
            for k, y in enumerate(interp.run([a[i:i + 1] for a in xq])):
                ys[k].append(y)
            for t in dump:
                seen[t].append(interp.tensor(t))
            if (i + 1) % step == 0 or i + 1 == n:
                print(f"progress {i + 1} {n}", flush=True)
        out.update({f"inputs_q_{k}": a for k, a in enumerate(xq)})
        out.update({f"outputs_q_{k}": np.stack(v) for k, v in enumerate(ys)})
        out.update({f"t_{t}": np.stack(v) for t, v in seen.items()})
    np.savez(resp, **out)


def _arena_guess(model_bytes: int) -> int:
    # TFLM's own default can be too small for large activations; memory is cheap on the host.
    return max(1 << 20, 16 * model_bytes)


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
