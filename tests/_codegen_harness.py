"""Test helpers for `edgeq generate`: convert small Keras models, build the generated C for the
host, run it on many inputs in one process, and run the same inputs through TFLM (the golden
reference) in a child process. Shared by the codegen test modules.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NN = REPO / "firmware" / "cmsis_nn"
RUNTIME = REPO / "firmware" / "runtime"
RUNNER_C = REPO / "firmware" / "host" / "host_runner.c"
WORKER = Path(__file__).resolve().parent / "_tflm_worker.py"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-ffp-contract=off"]
NP_TYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "float32": np.float32, "int32": np.int32}


# ----------------------------------------------------------------------------- Keras → int8

def convert_keras(model, data_fn, io: str = "int8", samples: int = 32, precision: str = "int8",
                  bias_type: str | None = None) -> bytes:
    """Full-integer conversion of a batch-1 Keras model; data_fn(rng) → one float sample list.

    precision "int16x8": TFLite's 16x8 mode (int16 activations, int8 weights, int64 bias; io
    "int16" for int16 model inputs/outputs). bias_type "int32" asks the converter for int32
    biases in that mode instead (its experimental option)."""
    import tensorflow as tf

    def rep():
        rng = np.random.default_rng(123)
        for _ in range(samples):
            yield [np.asarray(a, np.float32) for a in data_fn(rng)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    if precision == "int16x8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        if bias_type == "int32":
            conv._experimental_full_integer_quantization_bias_type = tf.int32
    elif precision == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    else:
        raise ValueError(f"precision must be int8 or int16x8, not {precision!r}")
    io_type = {"int8": tf.int8, "uint8": tf.uint8, "int16": tf.int16, "float32": tf.float32}[io]
    conv.inference_input_type = io_type
    conv.inference_output_type = io_type
    return conv.convert()


# ----------------------------------------------------------------------------- host build

def arena_define(gen_dir: Path, name: str) -> int:
    """The ``#define NAME_ARENA_SIZE`` value in a generated ``NAME.h`` (and the array uses it)."""
    import re

    header = (Path(gen_dir) / f"{name}.h").read_text()
    m = re.findall(rf"^#define {name.upper()}_ARENA_SIZE (\d+)\s*$", header, re.M)
    assert len(m) == 1, f"{name}.h: {len(m)} ARENA_SIZE defines"
    source = (Path(gen_dir) / f"{name}.c").read_text()
    assert re.search(rf"_arena\[{name.upper()}_ARENA_SIZE > 0 \? {name.upper()}_ARENA_SIZE : 16\]", source), \
        "the arena array is not sized by the define"
    return int(m[0])


class HostBuilder:
    """Builds generated models for the host: the kernels once (a static library), then one small
    link per model. Builds are cached by model hash."""

    def __init__(self, root: Path, defines: tuple[str, ...] = ()):
        """defines: extra -D flags for kernels and model, e.g. ("EDGEQ_EMULATE_DSP",) to run the
        Cortex-M DSP code path (SMLAD dot products) on the host."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.defines = tuple(f"-D{d}" for d in defines)
        self._lib: Path | None = None
        # build() runs in thread pools; without the lock two threads archive the same library
        # at once and a third links a truncated file
        self._lib_lock = threading.Lock()

    def kernel_lib(self) -> Path:
        with self._lib_lock:
            return self._kernel_lib_locked()

    def _kernel_lib_locked(self) -> Path:
        if self._lib is None:
            obj_dir = self.root / "kernels"
            obj_dir.mkdir(exist_ok=True)
            srcs = sorted((NN / "src").glob("*.c")) + sorted((NN / "edgeq").glob("*.c"))

            def cc(src: Path) -> Path:
                obj = obj_dir / (src.stem + ".o")
                subprocess.run(["gcc", *CFLAGS, *self.defines, "-O2", f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}", "-c", str(src),
                                "-o", str(obj)], check=True, capture_output=True, text=True)
                return obj

            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
                objs = list(ex.map(cc, srcs))
            lib = self.root / "libedgeq_nn.a"
            tmp = lib.with_suffix(".a.tmp")
            tmp.unlink(missing_ok=True)
            subprocess.run(["ar", "rcs", str(tmp), *map(str, objs)], check=True)
            os.replace(tmp, lib)
            self._lib = lib
        return self._lib

    def build(self, tflite: bytes, name: str = "model") -> "HostModel":
        from edgeq.codegen import generate
        from edgeq.graph import load_graph

        key = hashlib.sha256(tflite).hexdigest()[:16] + "_" + name
        work = self.root / key
        exe = work / "runner"
        gen = work / "gen"
        if not exe.exists():
            res = generate(tflite, gen, name=name)
            cmd = ["gcc", *CFLAGS, *self.defines, f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}", f"-I{RUNTIME}", f"-I{gen}",
                   f"-DEDGEQ_MODEL_SYMBOL={name}_model", str(gen / f"{name}.c"), str(gen / f"{name}_data.c"),
                   str(RUNNER_C), str(self.kernel_lib()), "-lm", "-o", str(exe)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                raise AssertionError(f"host build of generated C failed:\n{p.stderr}")
            assert res.arena_bytes == arena_define(gen, name)
        g = load_graph(tflite)
        # read from the header on every call (cached builds too): the arena the C declares
        return HostModel(exe=exe, gen_dir=gen, graph=g, arena_bytes=arena_define(gen, name))


@dataclass
class HostModel:
    exe: Path
    gen_dir: Path
    graph: object
    arena_bytes: int  # NAME_ARENA_SIZE as the generated header defines it

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """inputs[i]: (N, ...) samples of model input i → outputs[o]: (N, ...)."""
        g = self.graph
        n = len(inputs[0])
        ins = [np.ascontiguousarray(np.asarray(x, NP_TYPES[g.tensors[t].dtype]).reshape(
            (n,) + tuple(g.tensors[t].shape[1:]))) for x, t in zip(inputs, g.inputs)]
        stream = b"".join(b"".join(x[s].tobytes() for x in ins) for s in range(n))
        p = subprocess.run([str(self.exe)], input=stream, capture_output=True)
        if p.returncode != 0:
            raise AssertionError(f"generated model failed (exit {p.returncode}): {p.stderr.decode()}")
        outs_t = [g.tensors[t] for t in g.outputs]
        per = [t.nbytes for t in outs_t]
        raw = np.frombuffer(p.stdout, np.uint8).reshape(n, sum(per))
        res, pos = [], 0
        for t, nb in zip(outs_t, per):
            res.append(raw[:, pos:pos + nb].copy().view(NP_TYPES[t.dtype]).reshape((n,) + tuple(t.shape[1:])))
            pos += nb
        return res


# ----------------------------------------------------------------------------- TFLM reference

def run_cases_in_child(script: Path, cases: list[tuple[bytes, list[np.ndarray], int]], what: str,
                       env_extra: dict | None = None) -> list[list[np.ndarray]]:
    """Run (model, inputs, n_outputs) cases through a reference worker script (``script REQ RESP``,
    npz files) in one child process: a crash of the interpreter cannot take the tests down."""
    with tempfile.TemporaryDirectory(prefix="edgeq-ref-") as tmp:
        req, resp = Path(tmp) / "req.npz", Path(tmp) / "resp.npz"
        arrays = {}
        for m, (buf, ins, nout) in enumerate(cases):
            arrays[f"model_{m}"] = np.frombuffer(buf, np.uint8)
            arrays[f"nout_{m}"] = np.array(nout)
            for i, x in enumerate(ins):
                arrays[f"in_{m}_{i}"] = np.asarray(x)
        np.savez(req, **arrays)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), **(env_extra or {}))
        p = subprocess.run([sys.executable, str(script), str(req), str(resp)], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            last = [ln for ln in p.stdout.splitlines() if ln.startswith("model ")]
            raise AssertionError(f"{what} worker failed (exit {p.returncode}) at {last[-1] if last else '?'}: "
                                 f"{p.stderr[-2000:]}")
        with np.load(resp) as z:
            return [[z[f"out_{m}_{o}"] for o in range(nout)] for m, (_, _, nout) in enumerate(cases)]


def tflm_run_many(cases: list[tuple[bytes, list[np.ndarray], int]]) -> list[list[np.ndarray]]:
    """Run (model, inputs, n_outputs) cases through TFLM in one child process."""
    return run_cases_in_child(WORKER, cases, "TFLM")


def uniform_data(lo: float, hi: float, *shapes):
    """A representative-data function (see convert_keras): one uniform sample per input shape."""
    return lambda rng: [rng.uniform(lo, hi, (1,) + s).astype(np.float32) for s in shapes]


def random_inputs(graph, n: int, seed: int = 0) -> list[np.ndarray]:
    """n random samples for every graph input: full int8/uint8 range, or floats in [-2, 2]."""
    rng = np.random.default_rng(seed)
    out = []
    for t in graph.inputs:
        tt = graph.tensors[t]
        shape = (n,) + tuple(tt.shape[1:])
        if tt.dtype == "float32":
            out.append(rng.uniform(-2, 2, shape).astype(np.float32))
        else:
            info = np.iinfo(NP_TYPES[tt.dtype])
            out.append(rng.integers(info.min, info.max + 1, shape).astype(NP_TYPES[tt.dtype]))
    return out


def assert_bit_exact(name: str, got: list[np.ndarray], want: list[np.ndarray]) -> int:
    """Every output byte equal; returns the number of bytes compared."""
    assert len(got) == len(want), f"{name}: {len(got)} outputs vs {len(want)}"
    total = 0
    for o, (g, w) in enumerate(zip(got, want)):
        w = np.asarray(w).reshape(g.shape)
        gb, wb = g.view(np.uint8), np.ascontiguousarray(w.astype(g.dtype)).view(np.uint8)
        bad = int((gb != wb).sum())
        if bad:
            idx = np.argwhere(g.reshape(len(g), -1) != w.reshape(len(w), -1))[:5]
            raise AssertionError(f"{name} output {o}: {bad} of {gb.size} bytes differ from TFLM; first at "
                                 f"(sample, element) {idx.tolist()}: got "
                                 f"{[g.reshape(len(g), -1)[i, j] for i, j in idx]} want "
                                 f"{[w.reshape(len(w), -1)[i, j] for i, j in idx]}")
        total += gb.size
    return total


M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99", "-Wall", "-Wextra",
            "-Werror", "-O2", "-ffp-contract=off"]


def cross_compile(cc: str, gen_dirs: list[Path], obj_dir: Path, kernels: bool = True) -> None:
    """Compile (no link) the kernels and each generated directory for Cortex-M4F, warnings as errors."""
    obj_dir.mkdir(parents=True, exist_ok=True)
    inc = [f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}", f"-I{RUNTIME}"]
    jobs = []
    if kernels:
        jobs += [(src, []) for src in sorted((NN / "src").glob("*.c")) + sorted((NN / "edgeq").glob("*.c"))]
    for d in gen_dirs:
        jobs += [(src, [f"-I{d}"]) for src in sorted(Path(d).glob("*.c"))]

    def one(numbered_job):
        # numbered: generated dirs are all called gen/, so names alone could collide
        i, (src, extra) = numbered_job
        obj = obj_dir / f"{i:03d}_{src.stem}.o"
        return src, subprocess.run([cc, *M4_FLAGS, *inc, *extra, "-c", str(src), "-o", str(obj)],
                                   capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for src, p in ex.map(one, enumerate(jobs)):
            if p.returncode != 0:
                raise AssertionError(f"arm-none-eabi-gcc failed on {src}:\n{p.stderr}")


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def qemu_run(tflite: bytes, inputs: list[np.ndarray], work: Path, board: str = "qemu-mps2-an386",
             name: str = "m", defines: tuple[str, ...] = ()) -> list[np.ndarray]:
    """Generate, cross-build and run a model on a virtual board (QEMU) over the serial protocol:
    inputs[i] is (N, ...) samples of model input i → outputs[o] (N, ...), as HostModel.run.
    defines: macros defined at the top of the generated model source (e.g. EDGEQ_POISON_ARENA)."""
    from conftest import require_tool

    from edgeq.build import build_firmware, load_board
    from edgeq.codegen import generate
    from edgeq.device.client import DeviceClient
    from edgeq.device.flashers import start_qemu
    from edgeq.graph import load_graph

    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "cmake"):
        require_tool(tool)
    g = load_graph(tflite)
    b = load_board(board)
    gen = generate(tflite, Path(work) / "gen", name=name)
    if defines:
        src = gen.out_dir / f"{name}.c"
        src.write_text("".join(f"#define {d} 1\n" for d in defines) + src.read_text())
    fw = build_firmware(b, Path(work) / "fw", model_dir=gen.out_dir)
    n = len(inputs[0])
    ins = [np.asarray(x, NP_TYPES[g.tensors[t].dtype]) for x, t in zip(inputs, g.inputs)]
    outs_t = [g.tensors[t] for t in g.outputs]
    res: list[list[np.ndarray]] = [[] for _ in outs_t]
    with start_qemu(b.qemu_machine, fw.elf) as q:
        c = DeviceClient(q.port)
        c.wait_ready()
        assert c.info().arena_bytes == gen.arena_bytes
        for s in range(n):
            r = c.infer([np.ascontiguousarray(x[s]).tobytes() for x in ins])
            for o, (t, raw) in enumerate(zip(outs_t, r.outputs)):
                res[o].append(np.frombuffer(raw, NP_TYPES[t.dtype]).reshape(tuple(t.shape[1:])))
        c.bye()
    return [np.stack(r) for r in res]
