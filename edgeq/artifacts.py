"""Atomic writes, content hashes and provenance shared by every stage's outputs."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import InputError


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_path(path: Path) -> str:
    """Hash of a file, or of a directory's files (relative names + contents, sorted)."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode())
            h.update(b"\0")
            h.update(f.read_bytes())
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def honour_umask(path: Path, directory: bool = False) -> None:
    """mkstemp/mkdtemp create 0600/0700 entries; an output should get what open()/mkdir would."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _write_error(path: Path, e: OSError) -> InputError:
    return InputError(f"cannot write {path}: {e.strerror or e}",
                      hint="choose an output path in a writable directory")


def write_files_atomic(items: list[tuple[Path, bytes]]) -> None:
    """Write several files all or nothing: each to a temporary file beside it, then rename them
    in turn; if a rename fails the ones already renamed are put back (or removed). Write errors
    (a directory in the way, no permission, a full disk) are the user's: InputError, exit 2."""
    items = [(Path(p), d) for p, d in items]
    for path, _ in items:
        if path.is_dir():
            raise InputError(f"cannot write {path}: it is a directory", hint="give a file path")
    temps: list[tuple[str, Path]] = []
    done: list[tuple[Path, str | None]] = []  # (target, backup of the previous file or None)
    current = items[0][0] if items else Path(".")
    try:
        for path, data in items:
            current = path
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            temps.append((tmp, path))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            honour_umask(Path(tmp))
        for tmp, path in temps:
            current = path
            backup = None
            if path.exists() and len(temps) > 1:
                fd, backup = tempfile.mkstemp(prefix=f".{path.name}.old.", dir=path.parent)
                os.close(fd)
                os.replace(path, backup)
            os.replace(tmp, path)
            done.append((path, backup))
        for _, backup in done:
            if backup:
                os.unlink(backup)
    except BaseException as e:
        for path, backup in reversed(done):
            if backup:
                os.replace(backup, path)
            else:
                path.unlink(missing_ok=True)
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        if isinstance(e, OSError):
            raise _write_error(current, e) from None
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory + rename: never a half-written file."""
    write_files_atomic([(path, data)])


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def to_json(obj: Any) -> str:
    """Stable JSON (sorted keys) so that equal content gives equal bytes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def _json_default(o: Any):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json_atomic(path: Path, obj: Any) -> None:
    write_text_atomic(path, to_json(obj))


def replace_dir_atomic(staging: Path, target: Path) -> None:
    """Move a fully written staging directory into place; the old target goes only after.

    The old directory is parked under a fresh unique name (never a fixed ``.NAME.old`` that
    could be somebody's directory) and removed once the new one is in place. ``target`` must
    not be an existing non-directory: callers check that first and refuse.
    """
    target = Path(target)
    if target.is_dir() and not target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rmdir(old)  # only the unique name was wanted: rename needs the destination absent
        os.replace(target, old)
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(old, target)  # put the user's directory back
            raise
        shutil.rmtree(old)
    elif target.exists() or target.is_symlink():
        raise FileExistsError(f"{target} exists and is not a directory")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)


def tool_versions(*packages: str) -> dict[str, str]:
    """Versions of the tools that shaped an artifact (for its manifest)."""
    out = {"python": platform.python_version()}
    for name in ("edgeq",) + packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out
