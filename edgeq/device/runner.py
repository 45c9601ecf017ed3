"""Stream a dataset through a device and record every result as it arrives.

Each result is one JSON line in the results file, flushed (and fsync'ed) before the next
inference starts, so an interrupted run loses nothing; ``resume=True`` skips the indices that
are already in the file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeq.device import protocol as P
from edgeq.device.client import DeviceClient, DeviceLost, DeviceProtocolError


@dataclass(frozen=True)
class InferRecord:
    """One on-device inference."""

    index: int
    outputs: tuple[bytes, ...]     # raw output tensors, as the device sent them
    ticks: int                     # timer ticks around invoke()
    timer: str                     # "systick" | "dwt" | "none"
    status: int = 0
    instructions: int | None = None  # under QEMU -icount (ticks converted)
    cycles: int | None = None        # on a real board
    layer_ticks: tuple[int, ...] | None = None  # per-layer ticks (profile builds, run_dataset(profile=True))
    # how many times the device ran invoke() on this input: 2 when a retransmitted INFER had
    # already run (its reply was lost or corrupted). Known only in telemetry runs, where the
    # device counts its inferences; the saturation counters include every run.
    runs: int = 1

    def to_json(self) -> dict:
        d = {"index": self.index, "status": self.status,
             "outputs": [o.hex() for o in self.outputs], "ticks": self.ticks,
             "timer": self.timer, "instructions": self.instructions, "cycles": self.cycles}
        if self.layer_ticks is not None:
            d["layer_ticks"] = list(self.layer_ticks)
        if self.runs != 1:
            d["runs"] = self.runs
        return d

    @classmethod
    def from_json(cls, d: dict) -> "InferRecord":
        lt = d.get("layer_ticks")
        return cls(int(d["index"]), tuple(bytes.fromhex(h) for h in d["outputs"]), int(d["ticks"]),
                   d.get("timer", "none"), int(d.get("status", 0)), d.get("instructions"),
                   d.get("cycles"), tuple(int(t) for t in lt) if lt is not None else None,
                   int(d.get("runs", 1)))

    def output_arrays(self, info: P.DeviceInfo) -> list[np.ndarray]:
        """The outputs as numpy arrays of the model's dtypes and shapes."""
        return [np.frombuffer(b, dtype=t.numpy_dtype).reshape(t.shape)
                for b, t in zip(self.outputs, info.outputs)]


def load_results(path: str | Path) -> dict[int, InferRecord]:
    """Records already in a results file (a torn last line from a crash is ignored)."""
    path = Path(path)
    out: dict[int, InferRecord] = {}
    if not path.exists():
        return out
    with path.open("r", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = InferRecord.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue  # a half-written line from a kill: that index is simply redone
            out[rec.index] = rec
    return out


def quantize_input(x: np.ndarray, tensor: P.TensorInfo) -> np.ndarray:
    """Float values → the device input's integer type: round(x / scale) + zero_point, saturated
    (float32 inputs pass through). Works on one sample or a batch."""
    x = np.asarray(x)
    if tensor.dtype == P.DTYPE_FLOAT32:
        return x.astype(np.float32)
    info = np.iinfo(np.dtype(tensor.numpy_dtype))
    q = np.round(x.astype(np.float64) / tensor.scale) + tensor.zero_point
    return np.clip(q, info.min, info.max).astype(tensor.numpy_dtype)


def dequantize_output(q: np.ndarray, tensor: P.TensorInfo) -> np.ndarray:
    """Integer outputs → real values: (q − zero_point) × scale."""
    q = np.asarray(q)
    if tensor.dtype == P.DTYPE_FLOAT32:
        return q.astype(np.float32)
    return (q.astype(np.float64) - tensor.zero_point) * tensor.scale


def sample_bytes(sample: Any, info: P.DeviceInfo) -> bytes:
    """One sample → the INFER payload. ``sample``: bytes, one array (single-input model) or a
    sequence of arrays (one per input); arrays are cast to the device's input dtypes (values
    must already be quantized on the host)."""
    if isinstance(sample, (bytes, bytearray)):
        return bytes(sample)
    parts = [sample] if len(info.inputs) == 1 or isinstance(sample, np.ndarray) else list(sample)
    if len(parts) != len(info.inputs):
        raise DeviceProtocolError(f"sample has {len(parts)} inputs, the model {len(info.inputs)}")
    out = b""
    for arr, t in zip(parts, info.inputs):
        a = np.asarray(arr)
        if a.size * P.DTYPE_SIZES[t.dtype] != t.bytes:
            raise DeviceProtocolError(f"input of {a.size} values does not match the model's "
                                      f"{t.dtype_name}{list(t.shape)} input")
        out += np.ascontiguousarray(a.reshape(-1), dtype=t.numpy_dtype).tobytes()
    return out


def _record(index: int, res: P.InferResult, info: P.DeviceInfo, icount_shift: int | None,
            layer_ticks: list[int] | None = None, runs: int = 1) -> InferRecord:
    instructions = cycles = None
    if res.timer_kind != P.TIMER_NONE and info.timer_hz:
        if icount_shift is not None:
            instructions = P.ticks_to_instructions(res.ticks, info.timer_hz, icount_shift)
        else:
            cycles = P.ticks_to_cycles(res.ticks, info.timer_hz, info.cpu_hz)
    return InferRecord(index, res.outputs, res.ticks, P.TIMER_NAMES.get(res.timer_kind, "none"),
                       res.status, instructions, cycles, tuple(layer_ticks) if layer_ticks is not None else None,
                       runs)


def run_dataset(client: DeviceClient, samples: Sequence[Any] | np.ndarray, results_path: str | Path,
                *, resume: bool = False, icount_shift: int | None = None,
                indices: Iterable[int] | None = None,
                progress: Callable[[int, int, InferRecord], None] | None = None,
                upload: str = "auto", profile: bool = False, telemetry: bool = False) -> list[InferRecord]:
    """Run every sample through INFER and append one JSON line per result to ``results_path``.

    samples:      indexable (``samples[i]``): int8/uint8/int16 arrays already quantized with the
                  model's input scale/zero point (see ``sample_bytes``)
    resume:       keep the records already in the file and skip their indices; without it the
                  file is started afresh
    icount_shift: the QEMU ``-icount`` shift if the device is emulated (ticks → instructions);
                  None for a real board (ticks → cycles)
    indices:      a subset of sample indices to run (default: all)
    progress:     called as ``progress(done, total, record)`` after each new record
    upload:       how inputs reach the device: "serial" (INFER frames), "file" (INFER_FILE: an
                  emulated board reads them from a host file via semihosting — no slow emulated
                  UART), or "auto" = "file" under QEMU (icount_shift given), falling back to
                  "serial" if the firmware does not know INFER_FILE
    profile:      also fetch each inference's per-layer ticks (LAYER_TICKS; observe builds only)
    telemetry:    after an INFER that needed a retransmission, ask the device how many inferences
                  it has counted (STATS, telemetry builds only): the record's ``runs`` says whether
                  the lost attempt ran too, so the host can count saturation exactly as the device

    Returns all records (old and new) sorted by index. If the device is lost, raises
    ``DeviceLost`` whose ``records`` are the ones completed so far (already in the file).
    """
    results_path = Path(results_path)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    done = load_results(results_path) if resume else {}
    if not resume:
        results_path.write_text("")
    elif done:
        _rewrite_clean(results_path, done)  # drop a torn last line before appending
    info = client.info()
    wanted = list(range(len(samples)) if indices is None else indices)
    # only records of the indices asked for count: a results file from a longer run must not leak
    # extra (or foreign) records into this run's comparison. They stay in the file, untouched.
    wanted_set = set(wanted)
    done = {i: r for i, r in done.items() if i in wanted_set}
    todo = [i for i in wanted if i not in done]
    total = len(done) + len(todo)
    use_file = upload == "file" or (upload == "auto" and icount_shift is not None)
    if upload not in ("auto", "serial", "file"):
        raise ValueError(f"upload must be auto, serial or file, not {upload!r}")
    payloads = {i: sample_bytes(samples[i], info) for i in todo} if use_file else None
    inputs_file: Path | None = None
    if payloads:
        inputs_file = results_path.with_name(f".{results_path.name}.{os.getpid()}.inputs")
        with inputs_file.open("wb") as fi:
            for i in todo:
                fi.write(payloads[i])
    counted = client.saturation().inferences if telemetry else 0  # the device's inference counter
    try:
        with results_path.open("a", encoding="utf-8") as f:
            for k, i in enumerate(todo):
                sent = client.stats.sent
                try:
                    if inputs_file is not None:
                        try:
                            res = client.infer_file(str(inputs_file.resolve()), k * info.input_bytes)
                        except DeviceProtocolError:
                            if upload == "file" or k:
                                raise
                            inputs_file.unlink(missing_ok=True)  # firmware without INFER_FILE
                            inputs_file = None
                            res = client.infer(sample_bytes(samples[i], info))
                    else:
                        res = client.infer(sample_bytes(samples[i], info))
                except DeviceLost as e:
                    e.records = sorted(done.values(), key=lambda r: r.index)
                    e.results_path = results_path
                    e.message = (f"{e.message} after {len(done)} of {total} results "
                                 f"(saved in {results_path})")
                    e.args = (e.message,)
                    raise
                runs = 1
                if telemetry:
                    if client.stats.sent - sent > 1:  # retransmitted: did a lost attempt run?
                        runs = client.saturation().inferences - counted
                    counted += runs
                rec = _record(i, res, info, icount_shift, client.layer_ticks() if profile else None, runs)
                f.write(json.dumps(rec.to_json(), sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
                done[i] = rec
                if progress is not None:
                    progress(len(done), total, rec)
    finally:
        if inputs_file is not None:
            inputs_file.unlink(missing_ok=True)
    return sorted(done.values(), key=lambda r: r.index)


def _rewrite_clean(path: Path, records: dict[int, InferRecord]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{int(time.time() * 1e6)}")
    with tmp.open("w", encoding="utf-8") as f:
        for r in sorted(records.values(), key=lambda r: r.index):
            f.write(json.dumps(r.to_json(), sort_keys=True) + "\n")
    os.replace(tmp, path)
