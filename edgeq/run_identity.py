"""What a flash-and-test run's recorded results depend on, so that `--resume` continues only the
same run, and the workdir lock that keeps two runs out of one workdir."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .errors import InputError

META_VERSION = 1
SUBSET_SEED = 0  # the --limit draw (Dataset.subset); recorded so a resume can check it


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


def run_identity(board, graph, full_ds, ds, indices, opts) -> dict:
    """What results.jsonl's records depend on: a resume must match every field (``data`` is
    only informative: the same file may be named by another path)."""
    return {"version": META_VERSION, "board": board.name, "model_sha256": graph.sha256,
            "data": str(opts.data), "data_sha256": full_ds.sha256,
            # a --limit at or above the data size selects everything, like no --limit
            "limit": opts.limit if opts.limit is not None and opts.limit < len(full_ds) else None,
            "seed": SUBSET_SEED, "samples": len(ds), "kernels": opts.kernels,
            "indices_sha256": _sha256_arrays(np.asarray(indices, dtype=np.int64)),
            # one input and output: the same hash as before several were supported (old runs resume)
            "samples_sha256": _sha256_arrays(ds.x, ds.y) if len(ds.inputs) == 1 and len(ds.labels) == 1
            else _sha256_arrays(*ds.inputs, *ds.labels)}


_IDENTITY_NAMES = {"board": "board", "model_sha256": "model", "data_sha256": "test data",
                   "limit": "--limit", "seed": "sample draw", "samples": "sample count",
                   "indices_sha256": "sample indices", "samples_sha256": "selected samples",
                   "version": "results format", "kernels": "--kernels"}


def check_resume(meta_path: Path, results_path: Path, identity: dict) -> None:
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
    old.setdefault("kernels", "edgeq")  # recorded before the kernels were selectable
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



@contextlib.contextmanager
def workdir_lock(work: Path):
    """Hold WORKDIR/.edgeq.lock for the run: two runs in one workdir would race on the build and
    interleave their results. An advisory lock, released by the OS however the holder dies."""
    import fcntl

    work.mkdir(parents=True, exist_ok=True)
    path = work / ".edgeq.lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise InputError(f"workdir {work} is in use by another run ({holder})",
                             "wait for it to finish, or give this run its own --workdir") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"edgeq flash-and-test, pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
