"""Running a test set on one device session, or split over N (``flash-and-test --jobs N``).

One job streams every sample through one session into ``results.jsonl``, as it always did.

N jobs give each session a contiguous block of the samples (block k of N: the same split for
the same N, whatever the order the shards finish in). Every shard appends its results to its own
file, ``results.shard-K.jsonl`` next to ``results.jsonl``, flushed per result like one job's, so
a shard whose emulator (or board) dies keeps what it measured while the others carry on. When
the shards are done — or one failed, or the run is interrupted — their records are merged into
``results.jsonl`` (sorted by index, written atomically) and the shard files removed; a run that
was killed outright leaves the shard files, and ``--resume`` reads them back. A resume may use
another N: what is recorded anywhere (``results.jsonl`` or any shard file) is reused, and only the
missing indices are run.

Sessions are opened from the calling (main) thread: emulators are tied to the thread that
started them (PR_SET_PDEATHSIG), so only the streaming runs in worker threads. The work in those
threads is waiting on serial ports; the emulators themselves are separate processes, which is
where the speed-up comes from.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager

from .device.client import DeviceLost
from .device.runner import InferRecord, load_results, run_dataset
from .errors import GateFailed

SHARD_GLOB = "results.shard-*.jsonl"

# open_session(k) → a context manager yielding a DeviceSession for shard k (a QEMU instance, a
# board, a labgrid place); it must clean up on every exit path.
OpenSession = Callable[[int], ContextManager[Any]]


@dataclass
class DeviceRun:
    """What the sessions measured, merged over the shards."""

    records: list[InferRecord]   # one per sample, sorted by index
    info: Any                    # the DeviceInfo of shard 0 (every shard runs the same firmware)
    link: dict                   # the link counters, summed over the shards' sessions
    icount_shift: int | None
    device_stats: Any = None     # saturation counters (one job only)


def shard_blocks(n: int, jobs: int) -> list[range]:
    """Contiguous, balanced blocks of range(n): the first n % jobs blocks get one more."""
    size, extra = divmod(n, jobs)
    out, start = [], 0
    for k in range(jobs):
        stop = start + size + (1 if k < extra else 0)
        out.append(range(start, stop))
        start = stop
    return out


def shard_path(results_path: Path, k: int) -> Path:
    return results_path.with_name(f"results.shard-{k}.jsonl")


def _shard_files(results_path: Path) -> list[Path]:
    return sorted(results_path.parent.glob(SHARD_GLOB))


def recorded(results_path: Path) -> dict[int, InferRecord]:
    """Every record a previous run left: ``results.jsonl`` and any shard files (a run killed
    before it could merge them)."""
    out = load_results(results_path)
    for p in _shard_files(results_path):
        out.update(load_results(p))
    return out


def discard(results_path: Path) -> None:
    """A fresh start: no record of an earlier run survives (called before the identity is written)."""
    results_path.unlink(missing_ok=True)
    for p in _shard_files(results_path):
        p.unlink(missing_ok=True)


def _write_records(path: Path, records: dict[int, InferRecord]) -> None:
    """Records sorted by index, one JSON line each, in run_dataset's format; atomic."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for i in sorted(records):
            f.write(json.dumps(records[i].to_json(), sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def merge(results_path: Path) -> dict[int, InferRecord]:
    """Fold the shard files into ``results.jsonl`` (the file then holds everything measured)."""
    shards = _shard_files(results_path)
    if not shards:
        return load_results(results_path)
    records = recorded(results_path)
    _write_records(results_path, records)
    for p in shards:
        p.unlink(missing_ok=True)
    return records


def _check_model(dev, expected_sha: str, where: str) -> Any:
    info = dev.client.info()
    if info.model_sha256 != expected_sha:
        raise GateFailed(f"the device{where} runs model {info.model_sha256[:12]}…, not {expected_sha[:12]}…")
    return info


def run_device(open_session: OpenSession, jobs: int, samples, results_path: Path, *, resume: bool,
               expected_sha: str, upload: str, profile: bool, telemetry: bool = False,
               progress: Callable[[int, int], None] | None = None) -> DeviceRun:
    """Stream ``samples`` through ``jobs`` sessions; results in ``results_path`` (see the module doc)."""
    results_path = Path(results_path)
    if jobs <= 1:
        return _run_one(open_session, samples, results_path, resume=resume, expected_sha=expected_sha,
                        upload=upload, profile=profile, telemetry=telemetry, progress=progress)
    try:
        return _run_sharded(open_session, jobs, samples, results_path, resume=resume, expected_sha=expected_sha,
                            upload=upload, profile=profile, progress=progress)
    finally:
        merge(results_path)  # on every exit path: what any shard measured ends up in results.jsonl


def _run_one(open_session, samples, results_path, *, resume, expected_sha, upload, profile, telemetry,
             progress) -> DeviceRun:
    if resume:
        merge(results_path)  # shard files of a killed --jobs run count as recorded
    with open_session(0) as dev:
        info = _check_model(dev, expected_sha, "")
        if telemetry:
            dev.client.saturation(reset=True)  # count this run's inferences only
        recs = run_dataset(dev.client, samples, results_path, resume=resume, icount_shift=dev.icount_shift,
                           upload=upload, profile=profile, telemetry=telemetry,
                           progress=(lambda done, total, rec: progress(done, total)) if progress else None)
        device_stats = dev.client.saturation() if telemetry else None
        return DeviceRun(recs, info, dev.client.stats.to_dict(), dev.icount_shift, device_stats)


def _run_sharded(open_session, jobs, samples, results_path, *, resume, expected_sha, upload, profile,
                 progress) -> DeviceRun:
    n = len(samples)
    blocks = shard_blocks(n, jobs)
    # seed each shard file with what is already recorded for its block, so that run_dataset's
    # own resume skips it; a fresh run starts every shard file empty
    old = recorded(results_path) if resume else {}
    if resume:
        merge(results_path)  # shard files of another N are folded in before this N's are written
    paths = [shard_path(results_path, k) for k in range(jobs)]
    for block, path in zip(blocks, paths):
        _write_records(path, {i: old[i] for i in block if i in old})
    total = n
    done_count = [sum(1 for i in range(n) if i in old)]
    lock = threading.Lock()

    def tick(done, _total, _rec) -> None:
        with lock:
            done_count[0] += 1
            if progress is not None:
                progress(done_count[0], total)

    outcomes: list[Any] = [None] * jobs
    with contextlib.ExitStack() as stack:
        sessions = []
        for k in range(jobs):
            dev = stack.enter_context(open_session(k))
            info = _check_model(dev, expected_sha, f" of shard {k}")
            sessions.append((dev, info))

        def work(k: int) -> None:
            dev = sessions[k][0]
            try:
                outcomes[k] = run_dataset(dev.client, samples, paths[k], resume=True, indices=blocks[k],
                                          icount_shift=dev.icount_shift, upload=upload, profile=profile,
                                          progress=tick)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread below
                outcomes[k] = e

        threads = [threading.Thread(target=work, args=(k,), name=f"edgeq-shard-{k}", daemon=True)
                   for k in range(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        link: dict = {}
        for dev, _ in sessions:
            for key, v in dev.client.stats.to_dict().items():
                link[key] = link.get(key, 0) + v
    failed = [(k, e) for k, e in enumerate(outcomes) if isinstance(e, BaseException)]
    if failed:
        merged = merge(results_path)
        have = sum(1 for i in range(n) if i in merged)
        lost = [(k, e) for k, e in failed if isinstance(e, DeviceLost)]
        if len(lost) < len(failed):  # not a lost device: the first other error as it was raised
            raise next(e for _, e in failed if not isinstance(e, DeviceLost))
        what = "; ".join(f"shard {k} ({blocks[k].start}..{blocks[k].stop - 1}): "
                         f"{getattr(e, 'message', str(e)).split(' after ')[0]}" for k, e in lost)
        raise DeviceLost(f"{what} — after {have} of {n} results (saved in {results_path})",
                         records=sorted(merged.values(), key=lambda r: r.index), results_path=results_path)
    records = {r.index: r for recs in outcomes for r in recs}
    return DeviceRun([records[i] for i in range(n)], sessions[0][1], link, sessions[0][0].icount_shift)
