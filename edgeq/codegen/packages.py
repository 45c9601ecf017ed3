"""`edgeq generate --format`: the generated model + edgeq's kernels laid out for a user's build system.

    cmake       NAME.c/.h, NAME_data.c/.h, CMakeLists.txt, edgeq_kernels/   (add_subdirectory)
    zephyr      a Zephyr module: zephyr/module.yml, zephyr/CMakeLists.txt, zephyr/Kconfig,
                model/, edgeq_kernels/
    platformio  a PlatformIO library: library.json, include/ (the public headers), src/
    arduino     an Arduino library (1.5 format): library.properties, src/ (flat), examples/

Every layout carries the same bytes of the model and the kernels (the cmake one's), so each
builds where Python and edgeq are not installed. Python only decides where files go and
prepares the values; the build-system files come from templates/packages/<format>/.
"""

from __future__ import annotations

from ..errors import InputError

FORMATS = ("cmake", "zephyr", "platformio", "arduino")

# The one compile option bit-exactness needs: float quantization steps must not be fused into a
# multiply-add (the reference rounds the product first).
FP_FLAGS = ["-ffp-contract=off"]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    return fmt


def check_kernels(fmt: str, kernels: str | None, cmsis_nn) -> None:
    """A package carries edgeq's kernels; an upstream CMSIS-NN checkout is for the cmake layout
    (its own CMake picks its sources). Checked before the checkout is looked at."""
    check_format(fmt)
    if fmt != "cmake" and (kernels not in (None, "edgeq") or cmsis_nn is not None):
        raise InputError(f"--format {fmt} packages edgeq's kernels; --kernels cmsis-nn / --cmsis-nn are for "
                         "--format cmake", hint="drop --kernels/--cmsis-nn, or use --format cmake")


def _is_source(rel: str) -> bool:
    return rel.endswith(".c")


def _kernel_tree(kernels: dict[str, bytes]) -> dict[str, bytes]:
    """The kernel files a package ships: C sources and headers (the CMake helper for an upstream
    CMSIS-NN checkout only makes sense in the cmake layout)."""
    return {rel: data for rel, data in kernels.items() if rel.endswith((".c", ".h"))}


def _render(template: str, **ctx) -> bytes:
    from .render import environment

    return environment().get_template(template).render(**ctx).encode("utf-8")


def _sketch_values(lowered) -> dict:
    """What the example sketch needs per input/output: C type, element count, the fill value
    (the input's zero point: the quantized 0.0)."""
    def io(t, fill: bool):
        elements = 1
        for d in t.shape:
            elements *= d
        d = {"ctype": t.ctype, "elements": elements, "dtype": t.dtype}
        if fill:
            d["fill"] = "0.0f" if t.dtype.startswith("float") else str(t.zero_point)
        return d

    return {"sketch_inputs": [io(t, True) for t in lowered.inputs],
            "sketch_outputs": [io(t, False) for t in lowered.outputs]}


def layout(fmt: str, name: str, model_files: dict[str, str], kernels: dict[str, bytes], lowered,
           common: dict) -> tuple[dict[str, bytes], list[str]]:
    """(relative path → bytes of every file of the package, the paths of the model's own files).

    ``model_files``: the rendered NAME.c/.h, NAME_data.c/.h (and CMakeLists.txt for cmake);
    ``kernels``: ``kernel_sources()`` (paths under edgeq_kernels/); ``common``: the template
    values shared with the model templates (name, version, source, sha256...)."""
    from . import KERNELS_DIR

    check_format(fmt)
    model = {f: t.encode("utf-8") for f, t in model_files.items()}
    if fmt == "cmake":
        out = dict(model)
        out.update({f"{KERNELS_DIR}/{rel}": data for rel, data in kernels.items()})
        return out, sorted(model)
    model.pop("CMakeLists.txt", None)
    ktree = _kernel_tree(kernels)
    if fmt == "zephyr":
        return _zephyr(name, model, ktree, common)
    if fmt == "platformio":
        return _platformio(name, model, ktree, common)
    return _arduino(name, model, ktree, lowered, common)


def _zephyr(name, model, ktree, common):
    from . import KERNELS_DIR

    out = {f"model/{f}": data for f, data in model.items()}
    out.update({f"{KERNELS_DIR}/{rel}": data for rel, data in ktree.items()})
    sources = sorted(p for p in out if _is_source(p))
    ctx = dict(common, kconfig=f"EDGEQ_MODEL_{name.upper()}", sources=sources, fp_flags=FP_FLAGS,
               public_dirs=["model", f"{KERNELS_DIR}/runtime"],
               private_dirs=[f"{KERNELS_DIR}/include", f"{KERNELS_DIR}/edgeq"])
    for f in ("module.yml", "CMakeLists.txt", "Kconfig"):
        out[f"zephyr/{f}"] = _render(f"packages/zephyr/{f}.j2", **ctx)
    return out, sorted(f"model/{f}" for f in model) + ["zephyr/CMakeLists.txt", "zephyr/Kconfig", "zephyr/module.yml"]


# Headers the user's code includes: the model's API and the descriptor type it uses.
def _public_headers(name: str) -> tuple[str, ...]:
    return (f"{name}.h",)


def _platformio(name, model, ktree, common):
    from . import KERNELS_DIR

    out = {}
    for f, data in model.items():
        out[("include/" if f in _public_headers(name) else "src/") + f] = data
    for rel, data in ktree.items():
        if rel.startswith("runtime/"):  # edgeq_model.h / edgeq_observe.h: NAME.h includes them
            out["include/" + rel.split("/", 1)[1]] = data
        else:
            out[f"src/{KERNELS_DIR}/{rel}"] = data
    kdirs = sorted({rel.split("/")[0] for rel in ktree if _is_source(rel)})  # directories with C sources
    ctx = dict(common, library=f"edgeq_{name}", headers=list(_public_headers(name)),
               # -I paths are relative to the library root (where library.json is)
               flags=[f"-I src/{KERNELS_DIR}/{d}" for d in ("include", "edgeq")] + FP_FLAGS,
               src_filter=["+<*.c>"] + [f"+<{KERNELS_DIR}/{d}/*.c>" for d in kdirs])
    out["library.json"] = _render("packages/platformio/library.json.j2", **ctx)
    return out, sorted(p for p in out if p.rsplit("/", 1)[-1] in model) + ["library.json"]


def arduino_names(name: str) -> tuple[str, str]:
    """(library name, example sketch name): the Arduino specification allows letters, digits,
    spaces, underscores, dots and dashes, starting with a letter or digit, at most 63 characters."""
    lib, sketch = f"edgeq_{name}", f"run_{name}"
    if len(lib) > 63 or len(sketch) > 63:
        raise InputError(f"--name {name!r} is too long for an Arduino library (its names are limited to 63 "
                         "characters)", hint="use a name of at most 57 characters")
    return lib, sketch


def _arduino(name, model, ktree, lowered, common):
    """Arduino builds every .c/.cpp under src/ with src/ as the only include path and no
    per-library compile options: the package is flat, and each C file starts with a prologue
    that turns floating-point contraction off for that file (FP_FLAGS' job elsewhere)."""
    lib, sketch = arduino_names(name)
    flat: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    prologue = _render("packages/arduino/fp_contract.h.j2", **common)
    for rel, data in list(model.items()) + list(ktree.items()):
        base = rel.rsplit("/", 1)[-1]
        if base in flat:  # two kernel directories with a same-named file cannot be flattened
            raise InputError(f"cannot lay out an Arduino library: {rel} and {origin[base]} share a name")
        origin[base] = rel
        flat[base] = prologue + data if _is_source(base) else data
    out = {f"src/{f}": data for f, data in flat.items()}
    ctx = dict(common, library=lib, sketch=sketch, **_sketch_values(lowered))
    out["library.properties"] = _render("packages/arduino/library.properties.j2", **ctx)
    out[f"examples/{sketch}/{sketch}.ino"] = _render("packages/arduino/sketch.ino.j2", **ctx)
    return out, sorted(f"src/{f}" for f in model) + [f"examples/{sketch}/{sketch}.ino", "library.properties"]
