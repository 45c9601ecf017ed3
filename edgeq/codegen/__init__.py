"""`edgeq generate`: an int8 ``.tflite`` → ahead-of-time C calling CMSIS-NN-API kernels.

    from edgeq.codegen import generate
    result = generate("model.tflite", "out/model_c", name="model")

Writes ``NAME.c/.h`` (static arena, ``NAME_invoke``, the ``const edgeq_model_t NAME_model``),
``NAME_data.c/.h`` (weights, biases, requantization arrays) and a ``CMakeLists.txt`` fragment.
Unsupported models raise ``InputError`` before anything is written; the output directory is
replaced atomically.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from ..artifacts import replace_dir_atomic
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
    files: list[Path]
    arena_bytes: int  # the static arena the code declares (== size-check's number)
    data_bytes: int  # constant arrays: weights, biases, requantization parameters
    flash_bytes: int  # data + estimated code (memory.flash_usage)
    sha256: str
    ops: list[str] = field(default_factory=list)  # one line per lowered op
    kernels: dict[str, int] = field(default_factory=dict)  # kind → count

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "name": self.name, "files": [str(p) for p in self.files],
                "arena_bytes": self.arena_bytes, "data_bytes": self.data_bytes, "flash_bytes": self.flash_bytes,
                "sha256": self.sha256, "ops": list(self.ops), "kernels": dict(self.kernels)}


def check_name(name: str) -> str:
    if not _NAME_RE.match(name or "") or name in _C_KEYWORDS:
        raise InputError(f"--name {name!r} is not a usable C identifier",
                         hint="use letters, digits and underscores, not starting with a digit")
    return name


def generate(model: PathOrBytes, out_dir: Union[str, Path], name: str = "model",
             scratch_variant: str = "portable") -> GenerateResult:
    """Generate C for an int8 ``.tflite`` (path or bytes) into ``out_dir`` (replaced atomically)."""
    from ..graph import load_graph
    from ..memory import flash_usage
    from .lower import lower
    from .render import render, write_files

    check_name(name)
    from ..memory import SCRATCH_VARIANTS

    if scratch_variant not in SCRATCH_VARIANTS:
        raise InputError(f"scratch variant {scratch_variant!r} is not one of {', '.join(SCRATCH_VARIANTS)}")
    graph = load_graph(model, check_supported=True)
    source = graph.name if not isinstance(model, (bytes, bytearray, memoryview)) else "model.tflite"
    lowered = lower(graph, name=name, variant=scratch_variant)
    files = render(lowered, name, source)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_files(files, staging)
        replace_dir_atomic(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    flash = flash_usage(graph)
    kernels: dict[str, int] = {}
    for c in lowered.calls:
        kernels[c.kind] = kernels.get(c.kind, 0) + 1
    return GenerateResult(out_dir=out_dir, name=name, files=[out_dir / f for f in sorted(files)],
                          arena_bytes=lowered.arena_bytes, data_bytes=lowered.data_bytes,
                          flash_bytes=lowered.data_bytes + flash.code, sha256=graph.sha256,
                          ops=[c.comment for c in lowered.calls], kernels=kernels)
