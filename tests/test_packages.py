"""`edgeq generate --format zephyr|platformio|arduino`: each package follows its tool's documented
layout rules, and compiles the way that tool compiles it (arm-none-eabi-gcc, only the sources,
include paths and flags the tool would use), links with a small test main and runs on the
virtual Cortex-M4 (QEMU mps2-an386), bit-exact with TFLM on real and random inputs.

How each tool builds a library (from its documentation):
* Arduino (library specification 1.5): every .c/.cpp under src/, recursively, with src/ as the
  include path, and no compile options of the library's own; the example sketch is C++ with
  Arduino.h included first.
* PlatformIO (library.json): the sources under build.srcDir selected by build.srcFilter, with
  build.includeDir (default include) on the include path and build.flags (-I relative to the
  library root).
* Zephyr (module.yml → CMakeLists.txt): zephyr_library_sources, zephyr_include_directories,
  zephyr_library_include_directories and zephyr_library_compile_options, when the Kconfig
  option the CMakeLists tests is enabled.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import DIGITS, REPO, require_tool

pytestmark = pytest.mark.emulator

FW = REPO / "firmware"
SHIM = Path(__file__).resolve().parent / "c" / "arduino_shim"
MAIN_C = Path(__file__).resolve().parent / "c" / "package_main.c"
BOARD = "qemu-mps2-an386"
OPT = ["-Os", "-ffunction-sections", "-fdata-sections"]  # what the tools' release builds pass
N_REAL, N_RANDOM = 16, 16


# ------------------------------------------------------------------------- the virtual board

@pytest.fixture(scope="module")
def m4(tmp_path_factory):
    """The virtual M4's startup, UART and exit objects, its linker script and CPU flags (the values
    `edgeq build` gives CMake, instantiated the way edgeq_firmware.cmake's configure_file does)."""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from edgeq.build import cmake_args, load_board, target_from_board

    board = load_board(BOARD)
    target = target_from_board(board)
    values = dict(a[2:].split("=", 1) for a in cmake_args(target))
    values["EDGEQ_BOARD_EXTRA_DEFINES"] = ""
    # edgeq_firmware.cmake's lines for the board's other memory regions (--place): none here
    values["EDGEQ_LD_MEMORY"] = values["EDGEQ_LD_SECTIONS"] = ""
    values.setdefault("EDGEQ_RAM_NAME", "ram")  # the cmake file's defaults for the default regions
    values.setdefault("EDGEQ_FLASH_NAME", "flash")
    root = tmp_path_factory.mktemp("m4")
    inc = root / "include"
    inc.mkdir()

    def configure(src: Path, dst: Path) -> None:
        dst.write_text(re.sub(r"@([A-Z_]+)@", lambda m: values[m.group(1)], src.read_text()))

    configure(FW / "platform" / "edgeq_board.h.in", inc / "edgeq_board.h")
    configure(FW / "platform" / "linker.ld.in", root / "linker.ld")
    shutil.copy(FW / "runtime" / "edgeq_port.h", inc / "edgeq_port.h")  # only the port API, not the runtime
    flags = target.cpu_flags
    objs = []
    for src in ("startup_cortexm.c", "timer.c", "exit.c", f"uart_{target.uart_family}.c"):
        obj = root / (src + ".o")
        _cc(["arm-none-eabi-gcc", *flags, *OPT, "-std=gnu11", f"-I{inc}", f"-I{FW / 'platform'}", "-c",
             str(FW / "platform" / src), "-o", str(obj)])
        objs.append(obj)
    return {"flags": flags, "objs": objs, "include": inc, "ld": root / "linker.ld",
            "machine": board.qemu_machine}


def _cc(cmd: list[str]) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(cmd)[:600]}\n{p.stderr[-3000:]}"


def _compile_all(sources: list[Path], out: Path, flags: list[str]) -> list[Path]:
    """Compile each source with ``flags`` (C or C++ by extension, as the tools do)."""
    out.mkdir(parents=True, exist_ok=True)

    def one(i_src):
        i, src = i_src
        obj = out / f"{i:03d}_{src.name}.o"
        cc = "arm-none-eabi-g++" if src.suffix in (".cpp", ".ino") else "arm-none-eabi-gcc"
        lang = ["-x", "c++"] if src.suffix == ".ino" else []
        _cc([cc, *flags, *lang, "-c", str(src), "-o", str(obj)])
        return obj

    with ThreadPoolExecutor(max_workers=2) as ex:
        return list(ex.map(one, enumerate(sources)))


def _link_and_run(m4, objs: list[Path], elf: Path) -> str:
    """Link with the board's startup and linker script, run under QEMU; the UART's output. (The
    sketch's C++ uses no C++ runtime: linked as C, no libstdc++ needed.)"""
    _cc(["arm-none-eabi-gcc", *m4["flags"], "-nostartfiles", f"-T{m4['ld']}",
         "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs", *map(str, objs), *map(str, m4["objs"]),
         "-lm", "-o", str(elf)])
    p = subprocess.run(["qemu-system-arm", "-M", m4["machine"], "-nographic", "-monitor", "none", "-semihosting",
                        "-kernel", str(elf)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"firmware exit {p.returncode}: {p.stdout[-2000:]} {p.stderr[-2000:]}"
    return p.stdout


# ------------------------------------------------------------------------------ the model

@pytest.fixture(scope="module")
def model(digits_tflite):
    """The digits model, its test inputs (real samples quantized, then random int8) and TFLM's
    outputs for them."""
    from _codegen_harness import tflm_run_many
    from edgeq.graph import load_graph

    g = load_graph(digits_tflite)
    t_in, t_out = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    assert t_in.dtype == "int8" and t_out.dtype == "int8"
    scale, zp = float(t_in.quant.scales[0]), int(t_in.quant.zero_points[0])
    with np.load(DIGITS / "test.npz") as z:
        x = z["x"][:N_REAL].astype(np.float32).reshape((N_REAL,) + tuple(t_in.shape[1:]))
    real = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
    rand = np.random.default_rng(15).integers(-128, 128, (N_RANDOM,) + tuple(t_in.shape[1:])).astype(np.int8)
    inputs = np.concatenate([real, rand])
    zero = np.full((1,) + tuple(t_in.shape[1:]), zp, np.int8)  # what the Arduino sketch feeds
    buf = Path(digits_tflite).read_bytes()
    ref, ref_zero = tflm_run_many([(buf, [inputs], 1), (buf, [zero], 1)])
    return {"path": digits_tflite, "inputs": inputs, "expected": ref[0], "zero_expected": ref_zero[0][0],
            "out_bytes": t_out.nbytes}


def _samples_header(model, directory: Path) -> Path:
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in s.reshape(-1)) + "}" for s in model["inputs"])
    n, size = len(model["inputs"]), model["inputs"][0].size
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package_samples.h").write_text(
        f'#include "digits.h"\n#define MODEL_INVOKE digits_invoke\n#define MODEL_OUTPUT_BYTES {model["out_bytes"]}u\n'
        f"#define SAMPLE_COUNT {n}u\nstatic const int8_t samples[{n}][{size}] = {{\n{rows}\n}};\n")
    return directory


def _check_outputs(stdout: str, model) -> None:
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    assert lines[-1] == "done", stdout[-500:]
    got = np.array([np.frombuffer(bytes.fromhex(ln), np.int8) for ln in lines[:-1]])
    assert got.shape == model["expected"].reshape(len(got), -1).shape
    np.testing.assert_array_equal(got, model["expected"].reshape(len(got), -1))  # every byte


def _generate(model, tmp_path, fmt: str) -> Path:
    from edgeq.codegen import generate

    out = tmp_path / fmt
    res = generate(model["path"], out, name="digits", fmt=fmt)
    assert res.format == fmt
    return out


# ------------------------------------------------------------------------------- Arduino

def _properties(path: Path) -> dict[str, str]:
    props = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, sep, v = line.partition("=")
            assert sep, f"{path.name}: not key=value: {line!r}"
            props[k.strip()] = v.strip()
    return props


def test_arduino_library_layout_and_run(model, m4, tmp_path):
    lib = _generate(model, tmp_path, "arduino")
    props = _properties(lib / "library.properties")
    # the fields the 1.5 specification lists (url left to the user: the package has no home page)
    for key in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "architectures"):
        assert props.get(key), f"library.properties lacks {key}"
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,62}", props["name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", props["version"])
    assert props["category"] in ("Display", "Communication", "Signal Input/Output", "Sensors", "Device Control",
                                 "Timing", "Data Storage", "Data Processing", "Other")
    assert (lib / "src" / props["includes"]).is_file()
    sketches = list((lib / "examples").glob("*/*.ino"))
    assert len(sketches) == 1 and sketches[0].stem == sketches[0].parent.name  # sketch name == folder name
    assert not (lib / "src" / "edgeq_kernels").exists()  # flat: Arduino's only include path is src/

    # as Arduino builds it: every .c/.cpp under src/ (recursively), -Isrc, no flags of the library's
    src = lib / "src"
    sources = sorted(p for p in src.rglob("*") if p.suffix in (".c", ".cpp"))
    lib_objs = _compile_all(sources, tmp_path / "obj_lib", [*m4["flags"], *OPT, "-std=gnu11", f"-I{src}"])

    # 1) the library on real and random samples, bit-exact with TFLM
    inc = _samples_header(model, tmp_path / "samples")
    main = _compile_all([MAIN_C], tmp_path / "obj_main", [*m4["flags"], *OPT, f"-I{src}", f"-I{inc}",
                                                          f"-I{m4['include']}"])
    _check_outputs(_link_and_run(m4, lib_objs + main, tmp_path / "lib.elf"), model)

    # 2) the example sketch: C++, Arduino.h first (what the IDE's preprocessing adds)
    ino = tmp_path / "sketch.ino"
    ino.write_text('#include <Arduino.h>\n#line 1 "sketch.ino"\n' + sketches[0].read_text())
    sketch = _compile_all([ino, SHIM / "arduino_main.cpp"], tmp_path / "obj_ino",
                          [*m4["flags"], *OPT, "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics", f"-I{SHIM}", f"-I{src}",
                           f"-I{m4['include']}"])
    out = _link_and_run(m4, lib_objs + sketch, tmp_path / "sketch.elf")
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    assert lines[0] == "digits_invoke: 0", out
    printed = [int(v) for v in lines[1].removeprefix("output0:").split()]
    assert printed == model["zero_expected"].reshape(-1).tolist()


# ---------------------------------------------------------------------------- PlatformIO

def _src_filter(src_dir: Path, patterns: list[str]) -> list[Path]:
    """PlatformIO's srcFilter: +<glob> adds, -<glob> removes, in order, paths relative to srcDir; a
    matched directory stands for everything under it."""
    chosen: set[Path] = set()
    for item in patterns:
        for sign, pat in re.findall(r"([+-])<([^>]*)>", item):
            matched = set()
            for p in src_dir.glob(pat):
                matched |= {f for f in p.rglob("*") if f.is_file()} if p.is_dir() else {p}
            chosen = chosen | matched if sign == "+" else chosen - matched
    return sorted(p for p in chosen if p.suffix in (".c", ".cpp", ".cc", ".S"))


def test_platformio_library_layout_and_run(model, m4, tmp_path):
    lib = _generate(model, tmp_path, "platformio")
    manifest = json.loads((lib / "library.json").read_text())
    assert manifest["name"] and re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    build = manifest["build"]
    src_dir, inc_dir = lib / build.get("srcDir", "src"), lib / build.get("includeDir", "include")
    assert src_dir.is_dir() and inc_dir.is_dir()
    assert all((inc_dir / h).is_file() for h in manifest["headers"])
    flags = build["flags"] if isinstance(build["flags"], list) else [build["flags"]]
    flags = [a for f in flags for a in shlex.split(f)]
    # -I paths are relative to the library root
    resolved, it = [], iter(flags)
    for a in it:
        if a == "-I":
            resolved.append(f"-I{lib / next(it)}")
        elif a.startswith("-I"):
            resolved.append(f"-I{lib / a[2:]}")
        else:
            resolved.append(a)
    sources = _src_filter(src_dir, build["srcFilter"])
    assert sources and all(s.suffix == ".c" for s in sources)
    assert {s.name for s in sources} >= {"digits.c", "digits_data.c"}
    objs = _compile_all(sources, tmp_path / "obj_lib", [*m4["flags"], *OPT, f"-I{inc_dir}", f"-I{src_dir}", *resolved])
    inc = _samples_header(model, tmp_path / "samples")
    # the user's project sees the library's includeDir only
    main = _compile_all([MAIN_C], tmp_path / "obj_main", [*m4["flags"], *OPT, f"-I{inc_dir}", f"-I{inc}",
                                                          f"-I{m4['include']}"])
    _check_outputs(_link_and_run(m4, objs + main, tmp_path / "pio.elf"), model)


def test_platformio_pack_validates(model, tmp_path):
    """PlatformIO's own check of the manifest: `pio pkg pack` validates library.json against its
    schema (offline) and refuses an invalid one."""
    import os
    import tarfile

    pio = require_tool("pio")
    lib = _generate(model, tmp_path, "platformio")
    env = dict(os.environ, PLATFORMIO_CORE_DIR=str(tmp_path / "pio-core"), PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
               PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650")
    dist = tmp_path / "dist"
    dist.mkdir()
    p = subprocess.run([pio, "pkg", "pack", str(lib), "-o", str(dist)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    (tarball,) = dist.glob("*.tar.gz")
    with tarfile.open(tarball) as t:
        names = set(t.getnames())
    assert {"library.json", "include/digits.h", "src/digits.c"} <= names
    # the check is real: a broken manifest is refused
    manifest = json.loads((lib / "library.json").read_text())
    manifest["version"] = "not a version"
    (lib / "library.json").write_text(json.dumps(manifest))
    p = subprocess.run([pio, "pkg", "pack", str(lib), "-o", str(dist)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode != 0 and "version" in (p.stdout + p.stderr)


# -------------------------------------------------------------------------------- Zephyr

def _cmake_calls(text: str, command: str) -> list[list[str]]:
    return [shlex.split(m) for m in re.findall(rf"^\s*{command}\(([^)]*)\)", text, re.M)]


def test_zephyr_module_layout_and_run(model, m4, tmp_path):
    mod = _generate(model, tmp_path, "zephyr")
    yml = (mod / "zephyr" / "module.yml").read_text()
    cmake_dir = re.search(r"^\s+cmake:\s*(\S+)", yml, re.M).group(1)
    kconfig = re.search(r"^\s+kconfig:\s*(\S+)", yml, re.M).group(1)
    assert re.search(r"^name:\s*\S+", yml, re.M)
    cml = (mod / cmake_dir / "CMakeLists.txt").read_text()
    kc = (mod / kconfig).read_text()
    option = re.search(r"^config (\w+)\n\s+bool ", kc, re.M).group(1)
    assert f"if(CONFIG_{option})" in cml  # nothing is built unless the application enables it
    assert _cmake_calls(cml, "zephyr_library_named") or "zephyr_library()" in cml
    root = re.search(r"set\(_edgeq_root \$\{CMAKE_CURRENT_LIST_DIR\}/([^)]*)\)", cml).group(1)
    base = (mod / cmake_dir / root).resolve()

    def paths(command):
        return [Path(a.replace("${_edgeq_root}", str(base))) for call in _cmake_calls(cml, command) for a in call]

    sources = paths("zephyr_library_sources")
    public, private = paths("zephyr_include_directories"), paths("zephyr_library_include_directories")
    options = [a for call in _cmake_calls(cml, "zephyr_library_compile_options") for a in call]
    assert sources and all(s.is_file() for s in sources) and all(d.is_dir() for d in public + private)
    objs = _compile_all(sources, tmp_path / "obj_lib",
                        [*m4["flags"], *OPT, "-std=c11", *(f"-I{d}" for d in public + private), *options])
    inc = _samples_header(model, tmp_path / "samples")
    main = _compile_all([MAIN_C], tmp_path / "obj_main", [*m4["flags"], *OPT, *(f"-I{d}" for d in public),
                                                          f"-I{inc}", f"-I{m4['include']}"])
    _check_outputs(_link_and_run(m4, objs + main, tmp_path / "zephyr.elf"), model)


# ------------------------------------------------------------------------------- the CLI

@pytest.mark.parametrize("fmt", ["zephyr", "platformio", "arduino"])
def test_generate_format_cli(model, tmp_path, fmt):
    from typer.testing import CliRunner

    from edgeq.cli import app

    out = tmp_path / "pkg"
    r = CliRunner().invoke(app, ["generate", str(model["path"]), "-o", str(out), "--name", "digits",
                                 "--format", fmt, "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["format"] == fmt and all(Path(f).is_file() for f in res["files"] + res["kernel_files"])
    # same C as the cmake layout, byte for byte after the banner (whose command line names the format)
    cmake = tmp_path / "cmake"
    assert CliRunner().invoke(app, ["generate", str(model["path"]), "-o", str(cmake), "--name", "digits"]).exit_code == 0

    def body(p: Path) -> bytes:
        return p.read_bytes().split(b"regenerate with:", 1)[1].split(b"\n", 2)[2]

    for f in ("digits.c", "digits_data.c", "digits.h"):
        packaged = next(Path(p) for p in res["files"] if p.endswith("/" + f))
        assert body(packaged) == body(cmake / f)
    assert sum(1 for _ in (cmake / "edgeq_kernels").rglob("*.c")) == \
        sum(1 for p in res["kernel_files"] + res["files"] if p.endswith(".c")) - 2


def test_generate_format_errors(model, tmp_path):
    from typer.testing import CliRunner

    from edgeq.cli import app

    r = CliRunner().invoke(app, ["generate", str(model["path"]), "-o", str(tmp_path / "x"), "--format", "bazel"])
    assert r.exit_code == 2 and "--format 'bazel'" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["generate", str(model["path"]), "-o", str(tmp_path / "y"), "--format", "arduino",
                                 "--kernels", "cmsis-nn", "--cmsis-nn", str(tmp_path)])
    assert r.exit_code == 2 and "--format arduino" in r.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
