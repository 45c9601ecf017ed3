"""`edgeq generate` on whole models: the digits example on its full test set and the four MLPerf
Tiny architectures, compared byte for byte with TFLM; plus the CMake host build, the Cortex-M4
cross-compile, and the generator's contract (errors, determinism, atomic output, arena size).
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest

from _codegen_harness import NN, REPO, RUNTIME, HostBuilder, assert_bit_exact, random_inputs, tflm_run_many
from conftest import require_tool


@pytest.fixture(scope="module")
def builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("codegen_models"))


# ------------------------------------------------------------------------------ bit-exact models

@pytest.mark.toolchain
def test_digits_whole_test_set_bit_exact(digits_tflite, digits_data, builder):
    from edgeq.reference import run_tflm

    require_tool("gcc")
    buf = digits_tflite.read_bytes()
    ref = run_tflm(buf, digits_data["x_test"])  # quantizes the float test set as the device input
    host = builder.build(buf, name="digits")
    got = host.run([ref.inputs_q])
    n = assert_bit_exact("digits", got, [ref.outputs_q])
    assert n == len(digits_data["x_test"]) * 10
    # and the int8 model still classifies
    acc = float((got[0].argmax(axis=1) == digits_data["y_test"]).mean())
    assert acc > 0.9


@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("arch", ["kws", "vww", "resnet8", "autoencoder"])
def test_mlperf_tiny_bit_exact(arch, mlperf_tflite, builder):
    require_tool("gcc")
    buf = mlperf_tflite(arch).read_bytes()
    host = builder.build(buf, name=arch)
    inputs = random_inputs(host.graph, 12, seed=3)
    ref = tflm_run_many([(buf, inputs, len(host.graph.outputs))])[0]
    assert_bit_exact(arch, host.run(inputs), ref)
    from edgeq.memory import plan_memory
    assert host.arena_bytes in (None, plan_memory(host.graph).arena_bytes)


# ------------------------------------------------------------------------------ builds

@pytest.mark.toolchain
def test_cmake_host_runner_matches(digits_tflite, tmp_path, builder):
    """The top-level CMakeLists.txt builds kernels + generated model + host runner."""
    require_tool("cmake")
    from edgeq.codegen import generate

    gen = tmp_path / "gen"
    generate(digits_tflite, gen, name="digits")
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), f"-DEDGEQ_MODEL_DIR={gen}"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "-j2"], check=True, capture_output=True)
    runner = build / "edgeq_host_runner"
    info = subprocess.run([str(runner), "--info"], capture_output=True, text=True, check=True).stdout
    assert "name digits" in info
    x = np.random.default_rng(0).integers(-128, 128, (20, 8, 8, 1)).astype(np.int8)
    out = subprocess.run([str(runner)], input=x.tobytes(), capture_output=True, check=True).stdout
    quick = builder.build(digits_tflite.read_bytes(), name="digits").run([x])[0]
    assert out == quick.tobytes()


def _family_c_dirs(tmp_path, bufs: dict[str, bytes]) -> list:
    from edgeq.codegen import generate

    return [generate(buf, tmp_path / name, name=name).out_dir for name, buf in bufs.items()]


@pytest.mark.toolchain
def test_cortex_m4_compile_warning_free(digits_tflite, family_models_for_cross, tmp_path):
    """Kernels and generated code compile with -Wall -Wextra -Werror for Cortex-M4F."""
    cc = require_tool("arm-none-eabi-gcc")
    flags = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c99", "-Wall", "-Wextra",
             "-Werror", "-O2", "-ffp-contract=off", f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}", f"-I{RUNTIME}"]
    srcs = sorted((NN / "src").glob("*.c")) + sorted((NN / "edgeq").glob("*.c"))
    dirs = _family_c_dirs(tmp_path, {"digits": digits_tflite.read_bytes(), **family_models_for_cross})
    jobs = [(src, []) for src in srcs]
    for d in dirs:
        jobs += [(src, [f"-I{d}"]) for src in sorted(d.glob("*.c"))]
    from concurrent.futures import ThreadPoolExecutor

    def compile_one(job):
        src, extra = job
        obj = tmp_path / f"{src.parent.name}_{src.stem}.o"
        return src, subprocess.run([cc, *flags, *extra, "-c", str(src), "-o", str(obj)], capture_output=True,
                                   text=True)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for src, p in ex.map(compile_one, jobs):
            assert p.returncode == 0, f"{src}: {p.stderr}"


@pytest.fixture(scope="module")
def family_models_for_cross(request):
    """A few op-grid models (all ops between them) if the op-grid fixture is available."""
    try:
        models = request.getfixturevalue("family_models")
    except pytest.FixtureLookupError:
        return {}
    return {f"m_{k}": v for k, v in models.items()}


# ------------------------------------------------------------------------------ generator contract

@pytest.mark.unit
def test_generate_is_deterministic_and_arena_matches_planner(digits_tflite, tmp_path):
    from edgeq.codegen import generate
    from edgeq.graph import load_graph
    from edgeq.memory import plan_memory

    a = generate(digits_tflite, tmp_path / "a", name="digits")
    b = generate(digits_tflite, tmp_path / "b", name="digits")
    c = generate(digits_tflite.read_bytes(), tmp_path / "c", name="digits")
    for fa, fb, fc in zip(a.files, b.files, c.files):
        assert fa.name == fb.name == fc.name
        assert fa.read_bytes() == fb.read_bytes(), fa.name
        # from bytes, only the banner's source label differs
        strip = lambda t: [ln for ln in t.splitlines() if "model: " not in ln]  # noqa: E731
        assert strip(fa.read_text()) == strip(fc.read_text()), fa.name
    plan = plan_memory(load_graph(digits_tflite))
    assert a.arena_bytes == plan.arena_bytes
    header = (tmp_path / "a" / "digits.h").read_text()
    assert re.search(rf"#define DIGITS_ARENA_SIZE {plan.arena_bytes}\b", header)
    assert "generated by edgeq" in (tmp_path / "a" / "digits.c").read_text().lower()
    assert load_graph(digits_tflite).sha256 in (tmp_path / "a" / "digits.c").read_text()
    assert "const edgeq_model_t digits_model" in (tmp_path / "a" / "digits.c").read_text()
    assert {p.name for p in a.files} == {"digits.c", "digits.h", "digits_data.c", "digits_data.h", "CMakeLists.txt"}
    assert a.flash_bytes > a.data_bytes > 0


@pytest.mark.unit
def test_generate_replaces_output_dir_atomically(digits_tflite, tmp_path):
    from edgeq.codegen import generate

    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.c").write_text("old")
    generate(digits_tflite, out, name="m1")
    assert not (out / "stale.c").exists() and (out / "m1.c").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging left behind


@pytest.mark.unit
@pytest.mark.parametrize("bad", ["1model", "my-model", "", "int", "a b"])
def test_generate_rejects_bad_names(digits_tflite, tmp_path, bad):
    from edgeq.codegen import generate
    from edgeq.errors import InputError

    with pytest.raises(InputError):
        generate(digits_tflite, tmp_path / "x", name=bad)
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def tanh_tflite(tmp_path_factory):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from _codegen_harness import convert_keras

    x = keras.Input((6,), batch_size=1)
    y = keras.layers.Dense(4, activation="tanh")(x)
    return convert_keras(keras.Model(x, y), lambda rng: [rng.uniform(-1, 1, (1, 6)).astype(np.float32)])


@pytest.mark.unit
def test_unsupported_op_is_an_input_error_before_writing(tanh_tflite, tmp_path):
    from edgeq.codegen import generate
    from edgeq.errors import InputError

    out = tmp_path / "gen"
    with pytest.raises(InputError) as e:
        generate(tanh_tflite, out)
    assert "TANH" in e.value.message and "#1" in e.value.message
    assert not out.exists()
