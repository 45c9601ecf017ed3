"""`edgeq generate A.tflite B.tflite ... -o DIR`: several models over one shared arena.

For models that never run at the same time (a wake-word detector, then the command recognizer
it wakes): each model is planned and lowered exactly as alone (its own ``NAME_invoke``, its own
weights ``NAME_data.c``, its own ``NAME_ARENA_SIZE``), but every model's arena offsets start at
the same array, ``edgeq_shared_arena``, sized for the largest model — max, not sum. One
``CMakeLists.txt`` builds the kernels once and one library per model (``edgeq_models`` links all).

A model that keeps state in its arena between invocations (variable tensors: LSTM / RNN state)
cannot share: another model's run would overwrite that state. Such sets are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from ..errors import InputError
from . import (KERNELS_DIR, GenerateResult, PathOrBytes, _install, check_kernel_choice, check_name,
               check_output_dir, kernel_sources)

SHARED_SYMBOL = "edgeq_shared_arena"  # the array, its .c/.h and its CMake target
SHARED_GUARD = "EDGEQ_SHARED_ARENA"


@dataclass
class GenerateSetResult:
    out_dir: Path
    models: list[GenerateResult]
    arena_bytes: int  # the shared arena: the largest model's arena
    files: list[Path] = field(default_factory=list)  # the set's own files (shared arena, CMakeLists.txt)
    kernel_files: list[Path] = field(default_factory=list)

    @property
    def arena_sum(self) -> int:
        """What separate arenas would take (each model generated alone)."""
        return sum(m.arena_bytes for m in self.models)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "arena_bytes": self.arena_bytes, "arena_sum_bytes": self.arena_sum,
                "shared_arena_symbol": SHARED_SYMBOL, "files": [str(p) for p in self.files],
                "kernel_files": [str(p) for p in self.kernel_files], "models": [m.to_dict() for m in self.models]}


def default_names(models: list) -> list[str]:
    """C names from the file stems ('kws-v2.tflite' → 'kws_v2'); 'model1', 'model2'... for bytes."""
    names = []
    for k, m in enumerate(models):
        if isinstance(m, (bytes, bytearray, memoryview)):
            names.append(f"model{k + 1}")
            continue
        stem = re.sub(r"[^A-Za-z0-9_]", "_", Path(m).stem) or f"model{k + 1}"
        names.append(stem if re.match(r"[A-Za-z_]", stem) else f"m_{stem}")
    return names


def generate_set(models: list[PathOrBytes], out_dir: Union[str, Path], names: list[str] | None = None,
                 scratch_variant: str | None = None, force: bool = False, kernels: str = "edgeq",
                 cmsis_nn_dir: Union[str, Path, None] = None, inplace: bool = True,
                 pack_weights: str = "auto") -> GenerateSetResult:
    """Generate C for several int8 models sharing one arena into ``out_dir`` (replaced atomically).

    ``names``: the C prefix of each model (default: from the file names). The other options mean
    what they mean for ``edgeq.codegen.generate`` and apply to every model."""
    from .. import __version__
    from ..graph import load_graph
    from ..memory import flash_usage
    from .lower import lower
    from .packed_weights import check_upstream_kernels
    from .render import _cmake_string, environment, render

    if len(models) < 2:
        raise InputError("a shared arena needs at least two models")
    names = list(names) if names else default_names(models)
    if len(names) != len(models):
        raise InputError(f"--name gives {len(names)} names for {len(models)} models",
                         hint="one name per model, comma-separated in the models' order")
    for n in names:
        check_name(n)
    dup = sorted({n for n in names if names.count(n) > 1} | {n for n in names if n == SHARED_SYMBOL})
    if dup:
        raise InputError(f"model name {dup[0]!r} is used twice (or is the shared arena's name)",
                         hint="give each model its own name: --name a,b")
    cmsis_nn_dir, scratch_variant = check_kernel_choice(kernels, cmsis_nn_dir, scratch_variant)
    from .packed_weights import check_mode

    check_mode(pack_weights)
    target, keep = check_output_dir(out_dir, force)

    loaded = []
    for m, n in zip(models, names):
        graph = load_graph(m, check_supported=True)
        stateful = [t.name for t in graph.tensors if t.is_variable]
        if stateful:
            raise InputError(f"model {n} ({graph.name}) keeps state between invocations in its arena "
                             f"(variable tensor {stateful[0]!r}): it cannot share an arena with other models",
                             hint="generate it on its own")
        source = graph.name if not isinstance(m, (bytes, bytearray, memoryview)) else "model.tflite"
        lowered = lower(graph, name=n, variant=scratch_variant, inplace=inplace, pack_weights=pack_weights)
        check_upstream_kernels(lowered, kernels)
        loaded.append((graph, n, source, lowered))
    arena = max(lw.arena_bytes for *_, lw in loaded)
    sources = " ".join(Path(s).name for _, _, s, _ in loaded)
    regenerate = (f"edgeq generate {sources} -o DIR --name {','.join(names)}"
                  + ("" if inplace else " --no-inplace")
                  + ("" if pack_weights == "auto" else f" --pack-weights {pack_weights}"))

    files: dict[str, str] = {}
    results = []
    for graph, n, source, lw in loaded:
        shared = {"symbol": SHARED_SYMBOL, "header": f"{SHARED_SYMBOL}.h", "guard": SHARED_GUARD,
                  "others": [o for o in names if o != n]}
        own = render(lw, n, source, cmsis_nn_dir=cmsis_nn_dir, inplace=inplace, shared=shared,
                     regenerate=regenerate)
        files.update(own)
        fu = flash_usage(graph)
        kinds: dict[str, int] = {}
        for c in lw.calls:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        results.append(GenerateResult(out_dir=target, name=n, files=[target / f for f in sorted(own)],
                                      arena_bytes=lw.arena_bytes, data_bytes=lw.data_bytes,
                                      flash_bytes=lw.data_bytes + fu.code, sha256=graph.sha256,
                                      ops=[c.comment for c in lw.calls], kernels=kinds, kernel_set=kernels,
                                      cmsis_nn_dir=cmsis_nn_dir, scratch_variant=scratch_variant, inplace=inplace))
    ctx = dict(version=__version__, regenerate=regenerate, symbol=SHARED_SYMBOL, guard=SHARED_GUARD,
               header=f"{SHARED_SYMBOL}.h", arena_bytes=arena, kernels_dir=KERNELS_DIR,
               cmsis_nn_dir=_cmake_string(cmsis_nn_dir),
               models=[{"name": n, "source": s, "model_bytes": g.nbytes, "sha256": g.sha256,
                        "arena_bytes": lw.arena_bytes} for g, n, s, lw in loaded])
    env = environment()
    own_files = {f"{SHARED_SYMBOL}.h": "shared_arena.h.j2", f"{SHARED_SYMBOL}.c": "shared_arena.c.j2",
                 "CMakeLists.txt": "CMakeLists_set.txt.j2"}
    for fname, tpl in own_files.items():
        files[fname] = env.get_template(tpl).render(**ctx)
    kernels_src = kernel_sources()
    payload = {f: t.encode("utf-8") for f, t in files.items()}
    payload.update({f"{KERNELS_DIR}/{rel}": data for rel, data in kernels_src.items()})
    try:
        _install(payload, target, keep)
    except OSError as e:
        raise InputError(f"cannot write {out_dir}: {e.strerror or e}") from None
    for r in results:
        r.kept = [k for k in keep if k not in payload]
    return GenerateSetResult(out_dir=target, models=results, arena_bytes=arena,
                             files=[target / f for f in sorted(own_files)],
                             kernel_files=[target / KERNELS_DIR / r for r in sorted(kernels_src)])
