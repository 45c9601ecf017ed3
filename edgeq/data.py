"""Loading calibration / evaluation data from the formats users have, validated against a model.

Formats (one `--calib` / `--data` argument everywhere in edgeq):
  x.npz                 arrays `x` (samples) and optionally `y` (labels)
  x.npy                 samples only
  folder/               images; one sub-folder per class gives labels (sorted names → 0, 1, ...);
                        pixels scaled to [0, 1] and resized to the model's input
  x.csv                 one sample per row, numeric; a header column named `label` or `y` gives labels
  module:function       a Python callable returning (x, y), x, or an iterable of samples / (x, y) pairs;
  path/file.py:function the same from a file
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .artifacts import sha256_bytes, sha256_path
from .errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff"}


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # (N, ...) float32
    y: np.ndarray | None  # (N,) or (N, k), or None when unlabelled
    source: str
    sha256: str  # of the source file/folder, or of the arrays for callables
    flat: bool = False  # rows that still need reshaping to the model's input (CSV)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, n: int | None, seed: int = 0) -> "Dataset":
        """A reproducible random subset of n samples (all, in the original order, when n is None)."""
        if n is None or n >= len(self):
            return self
        if n <= 0:
            raise InputError(f"--samples must be positive, got {n}")
        return self.take(subset_indices(len(self), n, seed))

    def take(self, idx: np.ndarray) -> "Dataset":
        return replace(self, x=self.x[idx], y=None if self.y is None else self.y[idx])


def subset_indices(size: int, n: int | None, seed: int = 0) -> np.ndarray:
    """The indices ``Dataset.subset(n, seed)`` keeps, in file order (all when n is None or ≥ size)."""
    if n is None or n >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).permutation(size)[:n])


def load(spec: str | Path, input_shape: tuple[int, ...] | None = None, role: str = "data") -> Dataset:
    """Load a dataset and, when the model's input shape (without batch) is given, conform to it."""
    spec = str(spec)
    ds = _load_raw(spec, input_shape, role)
    ds = _check_values(ds, role)
    if input_shape is not None:
        ds = conform(ds, tuple(input_shape), role)
    return ds


def _load_raw(spec: str, input_shape, role: str) -> Dataset:
    path = Path(spec)
    if path.is_dir():
        return _load_images(path, input_shape, role)
    if path.suffix.lower() in {".npz", ".npy", ".csv"}:
        if not path.is_file():
            raise InputError(f"{role} file not found: {path}")
        loader = {".npz": _load_npz, ".npy": _load_npy, ".csv": _load_csv}[path.suffix.lower()]
        return loader(path, role)
    if ":" in spec and not path.exists():
        return _load_callable(spec, role)
    if not path.exists():
        raise InputError(f"{role} not found: {spec}",
                         hint="give an .npz/.npy/.csv file, an image folder, or module:function")
    raise InputError(f"unsupported {role} format: {spec}",
                     hint="use .npz (x, y), .npy, .csv, an image folder, or module:function")


def _load_npz(path: Path, role: str) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z.files:
                raise InputError(f"{role} file {path} has no array named 'x' (it has: {', '.join(z.files) or 'none'})")
            x = z["x"]
            y = z["y"] if "y" in z.files else None
    except InputError:
        raise
    except Exception as e:  # zipfile / pickle / format errors
        raise InputError(f"cannot read {role} file {path}: {e}") from e
    return Dataset(x=x, y=y, source=str(path), sha256=sha256_path(path))


def _load_npy(path: Path, role: str) -> Dataset:
    try:
        x = np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"cannot read {role} file {path}: {e}") from e
    return Dataset(x=x, y=None, source=str(path), sha256=sha256_path(path))


def _load_csv(path: Path, role: str) -> Dataset:
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"{role} file {path} is empty")
    header = None
    if not _is_number(rows[0][0]) and not all(_is_number(c) for c in rows[0]):
        header, rows = [c.strip().lower() for c in rows[0]], rows[1:]
    label_col = None
    if header is not None:
        for name in ("label", "y", "target", "class"):
            if name in header:
                label_col = header.index(name)
                break
    values = []
    for lineno, row in enumerate(rows, start=2 if header else 1):
        try:
            values.append([float(c) for c in row])
        except ValueError:
            bad = next(c for c in row if not _is_number(c))
            raise InputError(f"{role} file {path}, line {lineno}: non-numeric value {bad!r}") from None
    widths = {len(v) for v in values}
    if len(widths) != 1:
        raise InputError(f"{role} file {path}: rows have different numbers of columns ({sorted(widths)})")
    arr = np.asarray(values, dtype=np.float64)
    y = None
    if label_col is not None:
        y = arr[:, label_col]
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
        arr = np.delete(arr, label_col, axis=1)
    return Dataset(x=arr.astype(np.float32), y=y, source=str(path), sha256=sha256_path(path), flat=True)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _load_images(folder: Path, input_shape, role: str) -> Dataset:
    from PIL import Image

    subdirs = sorted(p for p in folder.iterdir() if p.is_dir())
    if subdirs:
        groups = [(i, sorted(f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))
                  for i, d in enumerate(subdirs)]
    else:
        groups = [(None, sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))]
    files = [(label, f) for label, fs in groups for f in fs]
    if not files:
        raise InputError(f"{role} folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if input_shape is None or len(input_shape) != 3:
        raise InputError(f"an image folder needs a model with an (H, W, C) input, not {input_shape}")
    h, w, c = input_shape
    if c not in (1, 3):
        raise InputError(f"images can feed 1- or 3-channel inputs; the model's input has {c} channels")
    xs = []
    for _, f in files:
        try:
            with Image.open(f) as im:
                im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
                a = np.asarray(im, dtype=np.float32) / 255.0
        except Exception as e:
            raise InputError(f"cannot read image {f}: {e}") from e
        xs.append(a.reshape(h, w, c))
    y = None if subdirs == [] else np.array([label for label, _ in files], dtype=np.int64)
    return Dataset(x=np.stack(xs), y=y, source=str(folder), sha256=sha256_path(folder))


def _load_callable(spec: str, role: str) -> Dataset:
    mod_name, _, fn_name = spec.rpartition(":")
    try:
        if mod_name.endswith(".py"):
            file = Path(mod_name)
            if not file.is_file():
                raise InputError(f"{role} module file not found: {file}")
            mspec = importlib.util.spec_from_file_location(file.stem, file)
            module = importlib.util.module_from_spec(mspec)
            mspec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(mod_name)
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"cannot import {role} module {mod_name!r}: {type(e).__name__}: {e}") from e
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise InputError(f"{role}: {mod_name!r} has no callable named {fn_name!r}")
    try:
        result = fn()
    except Exception as e:
        raise InputError(f"{role}: {spec}() raised {type(e).__name__}: {e}") from e
    x, y = _from_python(result, spec, role)
    digest = sha256_bytes(x.tobytes() + (b"" if y is None else y.tobytes()))
    return Dataset(x=x, y=y, source=spec, sha256=digest)


def _from_python(result, spec: str, role: str):
    if isinstance(result, tuple) and len(result) == 2 and all(hasattr(r, "__len__") for r in result) \
            and len(result[0]) == len(result[1]) and not np.isscalar(result[1]):
        return _as_numeric(result[0], spec, role), np.asarray(result[1])
    if isinstance(result, np.ndarray):
        return _as_numeric(result, spec, role), None
    samples = list(result)
    if not samples:
        raise InputError(f"{role}: {spec}() returned no samples")
    if all(isinstance(s, tuple) and len(s) == 2 for s in samples):
        return (_as_numeric([s[0] for s in samples], spec, role),
                np.asarray([s[1] for s in samples]))
    return _as_numeric(samples, spec, role), None


def _as_numeric(x, spec: str, role: str) -> np.ndarray:
    try:
        return np.asarray(x)
    except ValueError as e:  # ragged samples
        raise InputError(f"{role}: samples from {spec} do not all have the same shape ({e})") from e


def _check_values(ds: Dataset, role: str) -> Dataset:
    x = ds.x
    if x.ndim == 0 or x.shape[0] == 0:
        raise InputError(f"{role} {ds.source} holds no samples")
    if x.dtype.kind not in "biuf":
        raise InputError(f"{role} {ds.source} has dtype {x.dtype}; edgeq needs numeric samples "
                         "(float or integer arrays)")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        bad = int(np.argwhere(~np.isfinite(x.reshape(len(x), -1)))[0, 0])
        raise InputError(f"{role} {ds.source} has NaN or infinite values (first in sample {bad})")
    y = ds.y
    if y is not None:
        if len(y) != len(x):
            raise InputError(f"{role} {ds.source} has {len(x)} samples but {len(y)} labels")
        if y.dtype.kind not in "biuf":
            raise InputError(f"{role} {ds.source} labels have dtype {y.dtype}; labels must be numeric")
    return replace(ds, x=x)


def conform(ds: Dataset, shape: tuple[int, ...], role: str = "data") -> Dataset:
    """Make samples the model's input shape, or say exactly why they are not."""
    got = tuple(ds.x.shape[1:])
    if got == shape:
        return ds
    want_size = int(np.prod(shape))
    if ds.flat and int(np.prod(got)) == want_size:
        return replace(ds, x=ds.x.reshape((len(ds),) + shape), flat=False)
    if got + (1,) == shape:  # grayscale images without the channel axis
        return replace(ds, x=ds.x[..., None])
    raise InputError(
        f"{role} {ds.source}: samples have shape {got} ({int(np.prod(got))} values) "
        f"but the model expects {shape} ({want_size} values)",
        hint="the first axis is the sample axis; each sample must match the model's input")
