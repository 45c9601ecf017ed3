"""Loading calibration / evaluation data from the formats users have, validated against a model.

Formats (one `--calib` / `--data` argument everywhere in edgeq):
  x.npz                 arrays `x` (samples) and optionally `y` (labels); for a model with several
                        inputs `x0, x1, ...` (or arrays named after the model's inputs), with several
                        outputs `y0, y1, ...` (or named after the outputs; `y` alone labels output 0)
  x.npy                 samples only
  folder/               images; one sub-folder per class gives labels (sorted names → 0, 1, ...);
                        pixels scaled to [0, 1] and resized to the model's input
  x.csv                 one sample per row, numeric; a header column named `label` or `y` gives labels
  module:function       a Python callable returning (x, y), x, or an iterable of samples / (x, y) pairs;
                        for several inputs a tuple/list of arrays (one per input), or (inputs, labels)
                        with labels one array or a tuple/list per output; or a dict with the npz keys
  path/file.py:function the same from a file

Only .npz, module:function (and a dict) can feed a model with several inputs; the rest feed one.
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
    x: np.ndarray  # (N, ...) float32: the (first) input
    y: np.ndarray | None  # (N,) or (N, k), or None when unlabelled: labels of the (first) output
    source: str
    sha256: str  # of the source file/folder, or of the arrays for callables
    flat: bool = False  # rows that still need reshaping to the model's input (CSV)
    more_x: tuple = ()  # inputs 1, 2, ... of a model with several inputs, (N, ...) each
    more_y: tuple = ()  # labels of outputs 1, 2, ... of a model with several outputs (None: unlabelled)
    input_names: tuple = ()  # the model's input names, when it has several (for messages)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def inputs(self) -> list[np.ndarray]:
        """One (N, ...) array per model input, in the model's input order."""
        return [self.x, *self.more_x]

    @property
    def labels(self) -> list[np.ndarray | None]:
        """Labels per model output (None for an unlabelled one); one entry for a single output."""
        return [self.y, *self.more_y]

    @property
    def model_input(self):
        """What a model (Keras or the reference) is fed: the array, or the list for several inputs."""
        return self.x if not self.more_x else self.inputs

    def subset(self, n: int | None, seed: int = 0, option: str = "--samples") -> "Dataset":
        """A reproducible random subset of n samples (all, in the original order, when n is None);
        ``option`` names the command-line option n came from, for the error."""
        if n is not None and n <= 0:
            raise InputError(f"{option} must be positive, got {n}")
        if n is None or n >= len(self):
            return self
        return self.take(subset_indices(len(self), n, seed))

    def take(self, idx: np.ndarray) -> "Dataset":
        return replace(self, x=self.x[idx], y=None if self.y is None else self.y[idx],
                       more_x=tuple(a[idx] for a in self.more_x),
                       more_y=tuple(None if a is None else a[idx] for a in self.more_y))


def subset_indices(size: int, n: int | None, seed: int = 0) -> np.ndarray:
    """The indices ``Dataset.subset(n, seed)`` keeps, in file order (all when n is None or ≥ size)."""
    if n is None or n >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).permutation(size)[:n])


def load(spec: str | Path, input_shape: tuple[int, ...] | None = None, role: str = "data", *,
         inputs: list[tuple[str, tuple[int, ...]]] | None = None,
         outputs: list[str] | None = None) -> Dataset:
    """Load a dataset and, when the model's input shape (without batch) is given, conform to it.

    ``inputs``: the model's inputs as (name, shape) pairs (a model with several inputs needs them:
    each is read, checked and conformed on its own, and errors name it); ``outputs``: the model's
    output names (a model with several outputs gets labels per output, y0, y1, ...)."""
    spec = str(spec)
    if inputs is not None and len(inputs) == 1:
        input_shape = tuple(inputs[0][1])
    multi_in = inputs is not None and len(inputs) > 1
    multi_out = outputs is not None and len(outputs) > 1
    if multi_in or multi_out:
        ds = _load_multi(spec, inputs or [("input", input_shape)], list(outputs or ["output"]), role)
        ds = _check_values(ds, role)
        shapes = [None if s is None else tuple(s) for _, s in (inputs or [("input", input_shape)])]
        if any(s is not None for s in shapes):
            ds = _conform_all(ds, shapes, role)
        return ds
    ds = _load_raw(spec, input_shape, role)
    ds = _check_values(ds, role)
    if input_shape is not None:
        ds = conform(ds, tuple(input_shape), role)
    return ds


def _load_multi(spec: str, inputs, outputs: list[str], role: str) -> Dataset:
    """A dataset for a model with several inputs and/or outputs: .npz keys or a Python callable."""
    path = Path(spec)
    names = [n for n, _ in inputs]
    what = (f"{len(inputs)} inputs" if len(inputs) > 1 else "") + \
        (" and " if len(inputs) > 1 and len(outputs) > 1 else "") + \
        (f"{len(outputs)} outputs" if len(outputs) > 1 else "")
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise InputError(f"{role} file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as e:  # zipfile / pickle / format errors
            raise InputError(f"cannot read {role} file {path}: {e}") from e
        return _from_arrays(arrays, inputs, outputs, str(path), sha256_path(path), role)
    if ":" in spec and not path.exists():
        result = _call(spec, role)
        if isinstance(result, dict):
            arrays = {str(k): _as_numeric(v, spec, role) for k, v in result.items()}
        else:
            arrays = _python_multi(result, len(inputs), len(outputs), spec, role)
        ds = _from_arrays(arrays, inputs, outputs, spec, "", role)
        digest = sha256_bytes(b"".join(a.tobytes() for a in ds.inputs + [y for y in ds.labels if y is not None]))
        return replace(ds, sha256=digest)
    if len(inputs) > 1:
        if not path.exists():
            raise InputError(f"{role} not found: {spec}",
                             hint="give an .npz file (x0, x1, ...) or module:function")
        raise InputError(f"{role} {spec}: a model with {what} needs .npz data (arrays x0, x1, ... or "
                         f"named {', '.join(repr(n) for n in names)}) or module:function",
                         hint="the .npy/.csv/image-folder formats hold one input")
    # one input, several outputs: any format; its labels (if any) label output 0
    ds = _load_raw(spec, inputs[0][1], role)
    return replace(ds, more_y=(None,) * (len(outputs) - 1))


def _key_for(arrays: dict, candidates: list[str]) -> str | None:
    return next((k for k in candidates if k in arrays), None)


def _from_arrays(arrays: dict, inputs, outputs: list[str], source: str, sha: str, role: str) -> Dataset:
    """Inputs from keys x0, x1, ... (x for input 0) or the input names; labels from y0, y1, ...
    (y for output 0) or the output names."""
    have = ", ".join(sorted(arrays)) or "none"
    xs = []
    names = [n for n, _ in inputs]
    for k, name in enumerate(names):
        cands = [f"x{k}"] + (["x"] if k == 0 else []) + ([name] if name else [])
        key = _key_for(arrays, cands)
        if key is None:
            nm = f" {name!r}" if name else ""
            raise InputError(f"{role} {source} has no array for input {k}{nm} (give 'x{k}'"
                             + (f" or '{name}'" if name else "") + f"; it has: {have})",
                             hint="a model with several inputs reads x0, x1, ... in the model's input order")
        xs.append(arrays[key])
    ys = []
    for k, name in enumerate(outputs):
        cands = [f"y{k}"] + (["y"] if k == 0 else []) + ([name] if name and name not in names else [])
        key = _key_for(arrays, cands)
        ys.append(None if key is None else np.asarray(arrays[key]))
    return Dataset(x=xs[0], y=ys[0], source=source, sha256=sha, more_x=tuple(xs[1:]), more_y=tuple(ys[1:]),
                   input_names=tuple(names) if len(names) > 1 else ())


def _python_multi(result, n_in: int, n_out: int, spec: str, role: str) -> dict:
    """A callable's result for a model with several inputs/outputs → npz-style keys."""
    def seq(v):
        return isinstance(v, (tuple, list)) and not np.isscalar(v)

    out = {}
    if n_in > 1:
        if seq(result) and len(result) == n_in and all(hasattr(a, "shape") for a in result):
            ins, labels = result, None  # one array per input, unlabelled
        elif seq(result) and len(result) == 2 and seq(result[0]) and len(result[0]) == n_in:
            ins, labels = result
        else:
            raise InputError(f"{role}: {spec}() must return {n_in} arrays (one per input) or (inputs, labels) "
                             f"for this model with {n_in} inputs",
                             hint="e.g. return (x0, x1), y   or   return {'x0': ..., 'x1': ..., 'y': ...}")
        for k, a in enumerate(ins):
            out[f"x{k}"] = _as_numeric(a, spec, role)
    else:
        if seq(result) and len(result) == 2:
            out["x0"], labels = _as_numeric(result[0], spec, role), result[1]
        else:
            out["x0"], labels = _as_numeric(result, spec, role), None
    if labels is not None:
        if seq(labels) and len(labels) == n_out and n_out > 1:
            for k, a in enumerate(labels):
                if a is not None:
                    out[f"y{k}"] = np.asarray(a)
        else:
            out["y0"] = np.asarray(labels)
    return out


def _conform_all(ds: Dataset, shapes: list, role: str) -> Dataset:
    names = ds.input_names or ("",) * len(shapes)
    xs = []
    for k, (a, shape) in enumerate(zip(ds.inputs, shapes)):
        if shape is None:
            xs.append(a)
            continue
        where = f"{ds.source}, input {k}" + (f" {names[k]!r}" if names[k] else "")
        xs.append(conform(replace(ds, x=a, more_x=(), source=where), shape, role).x)
    return replace(ds, x=xs[0], more_x=tuple(xs[1:]))


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
            xkey = "x" if "x" in z.files else "x0" if "x0" in z.files else None
            if xkey is None:
                raise InputError(f"{role} file {path} has no array named 'x' (it has: {', '.join(z.files) or 'none'})")
            x = z[xkey]
            ykey = "y" if "y" in z.files else "y0" if "y0" in z.files else None
            y = z[ykey] if ykey else None
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


def _call(spec: str, role: str):
    """Import module:function (or path/file.py:function) and call it."""
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
        return fn()
    except Exception as e:
        raise InputError(f"{role}: {spec}() raised {type(e).__name__}: {e}") from e


def _load_callable(spec: str, role: str) -> Dataset:
    result = _call(spec, role)
    if isinstance(result, dict):
        arrays = {str(k): _as_numeric(v, spec, role) for k, v in result.items()}
        ds = _from_arrays(arrays, [("", None)], ["y"], spec, "", role)
        x, y = ds.x, ds.y
    else:
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
    names = ds.input_names or ("",) * len(ds.inputs)
    several = len(ds.inputs) > 1
    xs = []
    for k, x in enumerate(ds.inputs):
        src = ds.source + (f", input {k}" + (f" {names[k]!r}" if names[k] else "") if several else "")
        if x.ndim == 0 or x.shape[0] == 0:
            raise InputError(f"{role} {src} holds no samples")
        if x.dtype.kind not in "biuf":
            raise InputError(f"{role} {src} has dtype {x.dtype}; edgeq needs numeric samples "
                             "(float or integer arrays)")
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            bad = int(np.argwhere(~np.isfinite(x.reshape(len(x), -1)))[0, 0])
            raise InputError(f"{role} {src} has NaN or infinite values (first in sample {bad})")
        if k and len(x) != len(xs[0]):
            raise InputError(f"{role} {src} has {len(x)} samples but input 0 has {len(xs[0])}",
                             hint="every input array needs one entry per sample")
        xs.append(x)
    n = len(xs[0])
    several_out = len(ds.labels) > 1
    for k, y in enumerate(ds.labels):
        if y is None:
            continue
        what = f"labels of output {k}" if several_out else "labels"
        if len(y) != n:
            raise InputError(f"{role} {ds.source} has {n} samples but {len(y)} "
                             + ("labels" if not several_out else what))
        if y.dtype.kind not in "biuf":
            raise InputError(f"{role} {ds.source} {what} have dtype {y.dtype}; labels must be numeric")
    return replace(ds, x=xs[0], more_x=tuple(xs[1:]))


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
