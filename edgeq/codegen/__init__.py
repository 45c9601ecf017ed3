"""`edgeq generate`: an int8 ``.tflite`` → ahead-of-time C calling CMSIS-NN-API kernels.

    from edgeq.codegen import generate
    result = generate("model.tflite", "out/model_c", name="model")

Writes ``NAME.c/.h`` (static arena, ``NAME_invoke``, the ``const edgeq_model_t NAME_model``),
``NAME_data.c/.h`` (weights, biases, requantization arrays), a ``CMakeLists.txt`` fragment and
``edgeq_kernels/`` (a copy of the kernel sources the fragment builds when the including project
has no kernel targets of its own); ``fmt`` lays the same files out as a Zephyr module, a PlatformIO
library or an Arduino library instead (``edgeq.codegen.packages``). Unsupported models raise
``InputError`` before anything is written; the output directory is replaced atomically.

The output directory is edgeq's: a marker file (``.edgeq-generated``) lists what edgeq wrote.
An existing *file* at the output path is refused, and so is a directory holding anything edgeq
did not write, unless ``force`` — and even then the user's files are carried over, never
deleted; only edgeq's own previous files are replaced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from ..artifacts import honour_umask, replace_dir_atomic
from ..errors import InputError

PathOrBytes = Union[str, Path, bytes, bytearray, memoryview]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_C_KEYWORDS = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
               "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
               "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
               "volatile", "while"}


@dataclass
class GenerateResult:
    out_dir: Path
    name: str
    files: list[Path]  # the model's files (NAME.c/.h, NAME_data.c/.h, CMakeLists.txt)
    arena_bytes: int  # the static arena the code declares (== size-check's number)
    data_bytes: int  # constant arrays: weights, biases, requantization parameters
    flash_bytes: int  # data + estimated code (memory.flash_usage)
    sha256: str
    ops: list[str] = field(default_factory=list)  # one line per lowered op
    kernels: dict[str, int] = field(default_factory=dict)  # kind → count
    kernel_files: list[Path] = field(default_factory=list)  # the copied kernel sources (edgeq_kernels/)
    kept: list[str] = field(default_factory=list)  # the user's entries carried over (force)
    kernel_set: str = "edgeq"  # "edgeq" or "cmsis-nn" (what the CMakeLists.txt links by default)
    cmsis_nn_dir: Path | None = None
    scratch_variant: str = "portable"
    format: str = "cmake"  # the layout (edgeq.codegen.packages.FORMATS)
    inplace: bool = True  # in-place planning (off: generate --no-inplace, the classic liveness arena)
    placement: dict | None = None  # --place: the regions/sections of the arena and the constants
    pack_weights: str = "auto"  # 4-bit weight storage (generate --pack-weights; edgeq.codegen.packed_weights)
    weight_precisions: dict = field(default_factory=dict)  # "int8"/"int4"/"clustered" → layers

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "name": self.name, "files": [str(p) for p in self.files],
                "arena_bytes": self.arena_bytes, "data_bytes": self.data_bytes, "flash_bytes": self.flash_bytes,
                "sha256": self.sha256, "ops": list(self.ops), "kernels": dict(self.kernels),
                "kernel_files": [str(p) for p in self.kernel_files], "kept": list(self.kept),
                "kernel_set": self.kernel_set, "cmsis_nn_dir": str(self.cmsis_nn_dir) if self.cmsis_nn_dir else None,
                "scratch_variant": self.scratch_variant, "format": self.format, "inplace": self.inplace,
                "placement": self.placement, "pack_weights": self.pack_weights,
                "weight_precisions": dict(self.weight_precisions)}


def check_kernel_choice(kernels: str, cmsis_nn_dir, scratch_variant: str | None) -> tuple:
    """Validate the kernel set and its checkout; the scratch variant defaults to what the kernels
    want ("any" for an upstream CMSIS-NN of unknown core, "portable" for edgeq's).
    Returns (the checked checkout or None, the scratch variant)."""
    from ..cmsis_nn import KERNELS, check_checkout
    from ..memory import SCRATCH_VARIANTS

    if kernels not in KERNELS:
        raise InputError(f"kernels must be one of {', '.join(KERNELS)}, not {kernels!r}")
    if kernels == "cmsis-nn":
        if cmsis_nn_dir is None:
            raise InputError("--kernels cmsis-nn needs a CMSIS-NN checkout (--cmsis-nn PATH)")
        cmsis_nn_dir = check_checkout(cmsis_nn_dir)
    elif cmsis_nn_dir is not None:
        raise InputError("a CMSIS-NN checkout was given with kernels=edgeq", "pass kernels=\"cmsis-nn\"")
    if scratch_variant is None:
        scratch_variant = "any" if kernels == "cmsis-nn" else "portable"
    if scratch_variant not in SCRATCH_VARIANTS:
        raise InputError(f"scratch variant {scratch_variant!r} is not one of {', '.join(SCRATCH_VARIANTS)}")
    return cmsis_nn_dir, scratch_variant


def check_name(name: str) -> str:
    if not _NAME_RE.match(name or "") or name in _C_KEYWORDS:
        raise InputError(f"--name {name!r} is not a usable C identifier",
                         hint="use letters, digits and underscores, not starting with a digit")
    return name


MARKER = ".edgeq-generated"  # lists the files edgeq wrote into an output directory
KERNELS_DIR = "edgeq_kernels"
_BANNER = b"Generated by edgeq "


def kernel_sources() -> dict[str, bytes]:
    """Relative path (under ``edgeq_kernels/``) → bytes of every kernel file the fragment builds.

    The generated directory carries its own copy of the kernels (about 150 KB of C) rather than
    pointing at the installed Python package: an embedded team commits the generated directory
    into its firmware repository and builds it in CI where Python and edgeq are not installed,
    the kernels always match the generator that emitted the calls, and no absolute path of this
    machine lands in the output (same model → same bytes on every machine)."""
    from ..resources import firmware_dir

    fw = firmware_dir()
    out = {}
    for sub in ("include", "src", "edgeq"):
        for f in sorted((fw / "cmsis_nn" / sub).iterdir()):
            if f.is_file() and f.suffix in (".c", ".h"):
                out[f"{sub}/{f.name}"] = f.read_bytes()
    out["runtime/edgeq_model.h"] = (fw / "runtime" / "edgeq_model.h").read_bytes()
    out["runtime/edgeq_observe.h"] = (fw / "runtime" / "edgeq_observe.h").read_bytes()
    # how the fragment builds an upstream CMSIS-NN checkout instead (-DEDGEQ_CMSIS_NN_DIR)
    out["upstream_cmsis_nn.cmake"] = (fw / "cmsis_nn" / "upstream_cmsis_nn.cmake").read_bytes()
    return out


def _owned_entries(directory: Path) -> set[str]:
    """Top-level names in ``directory`` that edgeq wrote: those its marker lists, plus files that
    start with edgeq's banner (outputs of versions before the marker)."""
    owned: set[str] = set()
    marker = directory / MARKER
    if marker.is_file():
        owned.add(MARKER)
        try:
            listed = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
            owned.update(str(f).split("/")[0] for f in listed if isinstance(f, str) and f)
        except (ValueError, OSError, AttributeError):
            pass
    for entry in directory.iterdir():
        if entry.name not in owned and entry.is_file() and not entry.is_symlink():
            try:
                with open(entry, "rb") as fh:
                    if _BANNER in fh.read(200):
                        owned.add(entry.name)
            except OSError:
                pass
    return {n for n in owned if (directory / n).exists() or (directory / n).is_symlink()}


def check_output_dir(out_dir: Union[str, Path], force: bool = False) -> tuple[Path, list[str]]:
    """Resolve ``out_dir`` and decide whether generate may write there.

    Returns (resolved path, the user's entries to keep). Raises InputError for an existing file
    (always: replacing it with a directory would lose it) and for a directory with entries edgeq
    did not write (unless ``force``: then those entries are kept)."""
    target = Path(out_dir).expanduser().resolve()  # "." / ".." / symlinks → a real, named path
    if target.exists() and not target.is_dir():
        raise InputError(f"output {out_dir} is an existing file, not a directory",
                         hint="give -o a directory path (new, or one edgeq generated before)")
    if not target.is_dir():
        return target, []
    foreign = sorted(e.name for e in target.iterdir() if e.name not in _owned_entries(target))
    if foreign and not force:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise InputError(f"output directory {out_dir} holds files edgeq did not write: {shown}",
                         hint="choose a new or empty directory, or pass --force to write into it "
                              "(your files are kept; same-named files are overwritten)")
    return target, foreign


def _contains_cwd(target: Path) -> bool:
    try:
        Path.cwd().resolve().relative_to(target)
        return True
    except (ValueError, OSError):
        return False


def _install(files: dict[str, bytes], target: Path, keep: list[str]) -> None:
    """Put ``files`` (relative path → bytes) and the marker into ``target``.

    Normally: write everything into a staging directory next to ``target`` (the user's kept
    entries copied in too), then swap it in with one rename — a reader sees the old directory or
    the new one, never a half-written one. When ``target`` is (or contains) the working directory,
    swapping it would strand the user's shell in a deleted directory, so the files are staged
    inside it and renamed into place one by one; edgeq's stale files are removed afterwards."""
    marker = {"generator": "edgeq generate", "files": sorted(files)}
    files = dict(files)
    files[MARKER] = (json.dumps(marker, indent=2, sort_keys=True) + "\n").encode()
    tops = {rel.split("/")[0] for rel in files}  # the top-level entries edgeq writes
    in_place = target.is_dir() and _contains_cwd(target)
    parent = target if in_place else target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".edgeq-staging.", dir=parent))
    honour_umask(staging, directory=True)  # the swapped-in directory should get what mkdir would
    try:
        for rel, data in files.items():
            p = staging / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        if not in_place:
            for name in keep:  # --force: the user's entries move over as copies; originals go only after
                if name in tops:  # (keep holds top-level names) ours replaces the user's same-named one
                    continue
                src, dst = target / name, staging / name
                if src.is_dir() and not src.is_symlink():
                    shutil.copytree(src, dst, symlinks=True)
                else:
                    shutil.copy2(src, dst, follow_symlinks=False)
            replace_dir_atomic(staging, target)
            return
        old_owned = _owned_entries(target)
        for top in sorted(tops):  # directories of ours (edgeq_kernels/) are swapped whole
            src, dst = staging / top, target / top
            if src.is_dir():
                if dst.exists() and not dst.is_dir():
                    os.unlink(dst)
                replace_dir_atomic(src, dst)
            else:
                if dst.is_dir() and not dst.is_symlink():
                    shutil.rmtree(dst)
                os.replace(src, dst)
        for name in sorted(old_owned - tops):
            p = target / name
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        shutil.rmtree(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def generate(model: PathOrBytes, out_dir: Union[str, Path], name: str = "model",
             scratch_variant: str | None = None, force: bool = False, kernels: str = "edgeq",
             cmsis_nn_dir: Union[str, Path, None] = None, fmt: str = "cmake", inplace: bool = True, place=None,
             board=None, pack_weights: str = "auto") -> GenerateResult:
    """Generate C for an int8 ``.tflite`` (path or bytes) into ``out_dir`` (replaced atomically).

    ``force``: write into a directory that also holds files edgeq did not write (they are kept).
    ``kernels="cmsis-nn"``: the directory's CMakeLists.txt links the upstream CMSIS-NN checkout
    ``cmsis_nn_dir`` (its default ``EDGEQ_CMSIS_NN_DIR``; -D overrides it), and the scratch
    defaults to "any" (what upstream wants on any core; "dsp" / "mve" size it for one core).
    ``scratch_variant`` None: "portable" for edgeq's kernels.
    ``fmt``: the layout (``edgeq.codegen.packages.FORMATS``): cmake (default), or a package for
    Zephyr, PlatformIO or Arduino carrying the same model and kernel sources. ``inplace`` False:
    no op output overlaps an input (the arena is then the classic liveness-bound plan; recorded in
    the banner). ``place`` ('arena=dtcm,weights=flash', a dict or an ``edgeq.placement.Placement``):
    the board regions (``board``: an ``edgeq.boards`` Board or name) of the arena and of the
    constant arrays, as named sections (``edgeq.placement``). ``pack_weights`` "auto": conv /
    depthwise / fully connected weights whose int8 values fit 4 bits (int4, or at most 16 distinct
    values) are stored packed and run by 4-bit-weight kernels; "off": every weight as int8
    (``edgeq.codegen.packed_weights``; recorded in the banner)."""
    from .packed_weights import check_mode, check_upstream_kernels

    check_mode(pack_weights)
    from ..placement import resolve as resolve_place

    placement = resolve_place(place, board)
    from .packages import check_kernels, layout

    check_kernels(fmt, kernels, cmsis_nn_dir)

    cmsis_nn_dir, scratch_variant = check_kernel_choice(kernels, cmsis_nn_dir, scratch_variant)
    kernel_set = kernels
    from ..graph import load_graph
    from ..memory import flash_usage
    from .lower import lower
    from .render import context, render

    check_name(name)
    target, keep = check_output_dir(out_dir, force)
    graph = load_graph(model, check_supported=True)
    source = graph.name if not isinstance(model, (bytes, bytearray, memoryview)) else "model.tflite"
    lowered = lower(graph, name=name, variant=scratch_variant, inplace=inplace, pack_weights=pack_weights)
    check_upstream_kernels(lowered, kernel_set)
    ctx = context(lowered, name, source, cmsis_nn_dir=cmsis_nn_dir, fmt=fmt, inplace=inplace, placement=placement,
                  pack_weights=pack_weights)
    files = render(lowered, name, source, ctx=ctx)
    kernels_src = kernel_sources()
    payload, model_files = layout(fmt, name, files, kernels_src, lowered, ctx)
    kernel_files = sorted(set(payload) - set(model_files))
    try:
        _install(payload, target, keep)
    except OSError as e:
        raise InputError(f"cannot write {out_dir}: {e.strerror or e}") from None
    out_dir = target
    flash = flash_usage(graph)
    kernels: dict[str, int] = {}
    precisions: dict[str, int] = {}
    for c in lowered.calls:
        kernels[c.kind] = kernels.get(c.kind, 0) + 1
        if c.kind in ("conv", "dwconv", "fc") and not c.args.get("s16"):
            p = (c.args.get("packed") or {}).get("precision", "int8")
            precisions[p] = precisions.get(p, 0) + 1
    return GenerateResult(out_dir=out_dir, name=name, files=[out_dir / f for f in model_files],
                          arena_bytes=lowered.arena_bytes, data_bytes=lowered.data_bytes,
                          flash_bytes=lowered.data_bytes + flash.code, sha256=graph.sha256,
                          ops=[c.comment for c in lowered.calls], kernels=kernels,
                          kernel_files=[out_dir / r for r in kernel_files],
                          kept=[k for k in keep if k not in {p.split("/")[0] for p in payload}],
                          kernel_set=kernel_set,
                          cmsis_nn_dir=cmsis_nn_dir, scratch_variant=scratch_variant, format=fmt, inplace=inplace,
                          placement=placement.to_dict() if placement else None, pack_weights=pack_weights,
                          weight_precisions=precisions)
