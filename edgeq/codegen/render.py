"""Rendering: lowered calls → C sources, through the Jinja2 templates in ``templates/``.

Python prepares values only; every line of C lives in a template. Output is deterministic
(same model + name → same bytes).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from .. import __version__
from ..resources import templates_dir
from .lower import Lowered
from .routes import kernel_routes


def layer_outputs(lowered: Lowered) -> list[dict]:
    """Per generated call (a "layer"): where each of its op's outputs is in the arena (the
    observation hooks: the first output is the layer's, a multi-output op such as SPLIT or UNPACK
    reports the others too)."""
    g = lowered.graph
    out = []
    for c in lowered.calls:
        outs = []
        for ti in g.operators[c.index].outputs:
            t = g.tensors[ti]
            stats = {"int8": "s8", "int16": "s16"}.get(t.dtype)  # saturation telemetry: int8/int16 outputs
            outs.append({"offset": 0 if t.is_constant else lowered.plan.offset(t.index), "bytes": t.nbytes,
                         "elements": t.size, "stats": stats,
                         "ctype": {"s8": "int8_t", "s16": "int16_t"}.get(stats)})
        out.append({**outs[0], "outputs": outs})
    return out


TEMPLATES = {  # output file (with {name}) → template
    "{name}.h": "model.h.j2",
    "{name}.c": "model.c.j2",
    "{name}_data.h": "model_data.h.j2",
    "{name}_data.c": "model_data.c.j2",
    "CMakeLists.txt": "CMakeLists.txt.j2",
    "edgeq_kernel_routes.h": "kernel_routes.h.j2",
}


def _c_rows(values, per_row: int):
    """Comma-joined rows of array values (the initializer body of a C array)."""
    vals = [str(v) for v in values]
    return [", ".join(vals[i:i + per_row]) for i in range(0, len(vals), per_row)]


def _c_comment(text) -> str:
    """Text safe inside a C block comment (no comment terminator, one line)."""
    return " ".join(str(text).replace("*/", "* /").replace("/*", "/ *").split())


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _raise(msg: str):
    raise jinja2.TemplateError(msg)


@functools.lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """One environment per process: it caches the compiled templates."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["c_rows"] = _c_rows
    env.filters["c_comment"] = _c_comment
    env.filters["json"] = _json  # plain JSON (jinja's tojson escapes < and >, meant for HTML)
    env.globals["raise"] = _raise
    return env


def _cmake_string(path) -> str:
    """A path inside a CMake double-quoted string."""
    return "" if path is None else Path(path).as_posix().replace("\\", "\\\\").replace('"', '\\"')


def _poison_table(lowered: Lowered) -> dict:
    """The EDGEQ_POISON_ARENA debug build's table: before op s, the arena ranges no op from s on
    needs (``edgeq.inplace.poison_ranges``), flattened: ranges[at[s]:at[s+1]] are (lo, hi)."""
    from ..inplace import poison_ranges

    steps = poison_ranges(lowered.graph, lowered.plan)
    at, flat = [0], []
    for free in steps:
        flat += [v for r in free for v in r]
        at.append(len(flat) // 2)
    return {"at": at, "ranges": flat or [0, 0], "steps": len(steps)}


def _state_tensors(lowered: Lowered) -> list[dict]:
    """The variable tensors' arena slots (an SVDF's state, kept across invokes): NAME_reset() zeroes them."""
    g, plan = lowered.graph, lowered.plan
    return [{"name": t.name, "offset": plan.offset(t.index), "bytes": t.nbytes}
            for t in g.tensors if t.is_variable and t.index in plan.tensor_buffer]


def _place_flag(placement) -> str:
    """The --place option that reproduces ``placement`` (for the banner), or ''."""
    if not placement:
        return ""
    parts = [f"{k}={v}" for k, v in (("arena", placement.arena), ("weights", placement.weights)) if v]
    return " --place " + ",".join(parts)


def context(lowered: Lowered, name: str, source_label: str, cmsis_nn_dir=None, fmt: str = "cmake",
            inplace: bool = True, shared: dict | None = None, regenerate: str | None = None,
            placement=None, pack_weights: str = "auto") -> dict:
    """The values every template sees (the model's and the package layouts'). ``cmsis_nn_dir``:
    the CMSIS-NN checkout the CMakeLists.txt links by default (None: edgeq's kernels, the copy in
    edgeq_kernels/). ``shared`` (a model of a set, ``edgeq.codegen.model_set``): the arena is the
    set's shared array (keys symbol, header, guard, others); ``regenerate``: the banner's
    regenerate command line. ``placement`` (``edgeq.placement.Placement``): the named sections of
    the arena and the constant arrays."""
    g = lowered.graph
    ctx = dict(
        name=name, guard=name.upper(), version=__version__, source=source_label, model_bytes=g.nbytes,
        sha256=g.sha256, sha256_bytes=[f"0x{g.sha256[i:i + 2]}" for i in range(0, 64, 2)],
        arena_bytes=lowered.arena_bytes, data_bytes=lowered.data_bytes, strategy=lowered.plan.strategy,
        calls=lowered.calls, data=lowered.data, inputs=lowered.inputs, outputs=lowered.outputs,
        kernels_dir="edgeq_kernels", cmsis_nn_dir=_cmake_string(cmsis_nn_dir),
        layers=layer_outputs(lowered),  # where each call's output is (the observation hooks)
        poison=_poison_table(lowered),
        regen_extra="" if fmt == "cmake" else f" --format {fmt}",  # the banner's command line
        inplace=inplace,  # provenance: the banner's regenerate line carries --no-inplace
        pack_weights=pack_weights,  # provenance: ... and --pack-weights off
        arena=shared["symbol"] if shared else f"{name}_arena", shared=shared,
        arena_section=placement.arena_section if placement else None,
        weights_section=placement.weights_section if placement else None,
        place=_place_flag(placement),
        state=_state_tensors(lowered),  # variable tensors: NAME_reset() zeroes them
        routes=kernel_routes(lowered),  # edgeq_kernel_routes.h: the kernel variants the calls take
    )
    if regenerate:
        ctx["regenerate"] = regenerate
    return ctx


def render(lowered: Lowered, name: str, source_label: str, cmsis_nn_dir=None, fmt: str = "cmake",
           ctx: dict | None = None, **options) -> dict[str, str]:
    """File name → text for every generated file, from ``ctx`` (default: ``context`` with these
    arguments and ``options``: inplace, shared, regenerate, placement). A model of a set
    (``shared``) gets no CMakeLists.txt of its own."""
    ctx = ctx if ctx is not None else context(lowered, name, source_label, cmsis_nn_dir, fmt, **options)
    shared = ctx.get("shared")
    env = environment()
    out = {}
    for fname, tpl in TEMPLATES.items():
        if shared and tpl in ("CMakeLists.txt.j2", "kernel_routes.h.j2"):
            continue  # the set's one CMakeLists.txt builds every model (with every kernel route)
        text = env.get_template(tpl).render(**ctx)
        out[fname.format(name=name)] = text
    return out


def write_files(files: dict[str, str], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fname in sorted(files):
        p = directory / fname
        p.write_text(files[fname], encoding="utf-8")
        paths.append(p)
    return paths
