"""`edgeq generate` on whole models: the digits example on its full test set and the four MLPerf
Tiny architectures, compared byte for byte with TFLM; plus the CMake host build, the Cortex-M4
cross-compile, and the generator's contract (errors, determinism, atomic output, arena size).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from _codegen_harness import NN, REPO, HostBuilder, assert_bit_exact, random_inputs, tflm_run_many
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
@pytest.mark.parametrize("path, seed", [("portable", 3), ("dsp", 4)])
@pytest.mark.parametrize("arch", ["kws", "vww", "resnet8", "autoencoder"])
def test_mlperf_tiny_bit_exact(arch, path, seed, mlperf_tflite, request):
    """The portable kernels and the Cortex-M DSP code path (emulated on the host)."""
    require_tool("gcc")
    buf = mlperf_tflite(arch).read_bytes()
    host = request.getfixturevalue("builder" if path == "portable" else "builder_dsp").build(buf, name=arch)
    inputs = random_inputs(host.graph, 12, seed=seed)
    ref = tflm_run_many([(buf, inputs, len(host.graph.outputs))])[0]
    assert_bit_exact(f"{arch} ({path})", host.run(inputs), ref)
    if path == "portable":
        # the arena the generated header declares is the one size-check reports
        from edgeq.sizecheck import size_check
        assert host.arena_bytes == size_check(host.graph, "qemu-mps2-an386").to_dict()["arena"]["bytes"]


@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("arch", ["digits", "kws", "vww", "resnet8", "autoencoder"])
def test_whole_models_16x8_bit_exact(arch, mlperf_tflite, digits16_tflite, digits_data, builder):
    """Whole models converted in 16x8 mode (int16 activations everywhere: residual ADDs, MEAN,
    SOFTMAX included) against TFLM: the digits CNN on its whole test set, MLPerf Tiny on random
    inputs."""
    from edgeq.reference import run_tflm

    require_tool("gcc")
    buf = (digits16_tflite if arch == "digits" else mlperf_tflite(arch, "int16x8")).read_bytes()
    host = builder.build(buf, name=f"{arch}16")
    assert all(t.dtype == "int16" for t in host.graph.activation_tensors())
    if arch == "digits":
        ref = run_tflm(buf, digits_data["x_test"])
        inputs, expected = [ref.inputs_q], [ref.outputs_q]
        assert float((ref.outputs_q.argmax(axis=1) == digits_data["y_test"]).mean()) > 0.9
    else:
        inputs = random_inputs(host.graph, 8, seed=5)
        expected = tflm_run_many([(buf, inputs, len(host.graph.outputs))])[0]
    assert_bit_exact(f"{arch} (16x8)", host.run(inputs), expected)


@pytest.fixture(scope="module")
def builder_dsp(tmp_path_factory) -> HostBuilder:
    """The kernels' Cortex-M DSP code path (im2col + SMLAD conv, 1x1, FC), emulated on the host."""
    return HostBuilder(tmp_path_factory.mktemp("codegen_models_dsp"), defines=("EDGEQ_EMULATE_DSP",))


@pytest.mark.toolchain
def test_digits_dsp_path_bit_exact(digits_tflite, digits_data, builder_dsp):
    from edgeq.reference import run_tflm

    require_tool("gcc")
    buf = digits_tflite.read_bytes()
    ref = run_tflm(buf, digits_data["x_test"])
    got = builder_dsp.build(buf, name="digits").run([ref.inputs_q])
    assert assert_bit_exact("digits (DSP path)", got, [ref.outputs_q]) == len(digits_data["x_test"]) * 10


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


_CMSIS_NN_LAYOUT = {  # upstream CMSIS-NN's Source/ folders, by kernel file prefix
    "arm_convolve": "ConvolutionFunctions", "arm_depthwise_conv": "ConvolutionFunctions",
    "arm_fully_connected": "FullyConnectedFunctions", "arm_pool": "PoolingFunctions",
    "arm_softmax": "SoftmaxFunctions", "arm_elementwise": "BasicMathFunctions",
    "arm_maximum": "BasicMathFunctions", "arm_batch_matmul": "MatrixMultiplicationFunctions",
    "arm_transpose_conv": "ConvolutionFunctions", "arm_transpose": "TransposeFunctions",
    "arm_lstm": "LSTMFunctions", "arm_svdf": "SVDFunctions", "arm_vector_sum": "NNSupportFunctions", "arm_nn_": "NNSupportFunctions"}


def _fake_cmsis_nn_checkout(root):
    """edgeq's kernels laid out like a CMSIS-NN checkout: Include/*.h, Source/<Group>/*.c."""
    import shutil

    (root / "Include").mkdir(parents=True)
    for h in sorted((NN / "include").glob("*.h")):
        shutil.copy(h, root / "Include" / h.name)
    for c in sorted((NN / "src").glob("*.c")):
        group = next(g for pre, g in _CMSIS_NN_LAYOUT.items() if c.name.startswith(pre))
        (root / "Source" / group).mkdir(parents=True, exist_ok=True)
        shutil.copy(c, root / "Source" / group / c.name)
    return root


_USER_MAIN_C = r"""
#include <stdio.h>
#include "digits.h"

/* A user's application: samples on stdin, outputs on stdout, through the generated API only. */
int main(void) {
    static unsigned char in[DIGITS_INPUT_BYTES], out[DIGITS_OUTPUT_BYTES];
    const void *ins[1] = {in};
    void *outs[1] = {out};
    while (fread(in, 1, sizeof in, stdin) == sizeof in) {
        if (digits_invoke(ins, outs) != 0) return 3;
        fwrite(out, 1, sizeof out, stdout);
    }
    return 0;
}
"""


@pytest.mark.toolchain
@pytest.mark.parametrize("kernels", ["bundled", "cmsis_nn_dir"])
def test_user_cmake_project_add_subdirectory(digits_tflite, tmp_path, kernels):
    """A user's own 5-line CMake project adds the generated directory with add_subdirectory()
    and links edgeq_model_digits; no edgeq tree, no EDGEQ_* variables. The directory is copied
    away from where it was generated and checked for paths of this machine, so it builds the
    same where edgeq is not installed. Outputs equal TFLM's, byte for byte — with the bundled
    kernels, and with -DEDGEQ_CMSIS_NN_DIR pointing the fragment at a CMSIS-NN-layout checkout."""
    require_tool("cmake")
    import shutil

    from edgeq.codegen import generate
    from edgeq.reference import run_tflm

    generate(digits_tflite, tmp_path / "elsewhere", name="digits")
    proj = tmp_path / "app"
    proj.mkdir()
    shutil.copytree(tmp_path / "elsewhere", proj / "gen")
    shutil.rmtree(tmp_path / "elsewhere")
    for f in (proj / "gen").rglob("*"):
        if f.is_file():
            assert str(REPO) not in f.read_text(errors="replace"), f
    (proj / "main.c").write_text(_USER_MAIN_C)
    (proj / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\n"
        "project(app C)\n"
        "add_subdirectory(gen)\n"
        "add_executable(app main.c)\n"
        "target_link_libraries(app PRIVATE edgeq_model_digits)\n")
    build = tmp_path / "build"
    extra = [f"-DEDGEQ_CMSIS_NN_DIR={_fake_cmsis_nn_checkout(tmp_path / 'CMSIS-NN')}"] if kernels != "bundled" else []
    for cmd in (["cmake", "-S", str(proj), "-B", str(build), *extra], ["cmake", "--build", str(build), "-j4"]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    x = np.random.default_rng(5).uniform(0, 1, (16, 8, 8, 1)).astype(np.float32)
    ref = run_tflm(digits_tflite.read_bytes(), x)
    out = subprocess.run([str(build / "app")], input=ref.inputs_q.tobytes(), capture_output=True, check=True).stdout
    got = np.frombuffer(out, np.int8).reshape(ref.outputs_q.shape)
    assert_bit_exact("digits via a user CMake project", [got], [ref.outputs_q])


@pytest.mark.toolchain
def test_cmake_with_cmsis_nn_dir_is_bit_exact(digits_tflite, digits_data, tmp_path):
    """-DEDGEQ_CMSIS_NN_DIR: the top-level build compiles the kernels from that checkout (and
    none of firmware/cmsis_nn/src) and the digits host runner still matches TFLM bit for bit."""
    require_tool("cmake")
    import json

    from edgeq.codegen import generate
    from edgeq.reference import run_tflm

    checkout = _fake_cmsis_nn_checkout(tmp_path / "CMSIS-NN")
    gen = tmp_path / "gen"
    generate(digits_tflite, gen, name="digits")
    build = tmp_path / "build"
    p = subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), f"-DEDGEQ_MODEL_DIR={gen}",
                        f"-DEDGEQ_CMSIS_NN_DIR={checkout}", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert f"kernels from upstream CMSIS-NN at {checkout}" in p.stdout
    p = subprocess.run(["cmake", "--build", str(build), "-j4"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    compiled = [e["file"] for e in json.loads((build / "compile_commands.json").read_text())]
    assert sum(str(checkout / "Source") in f for f in compiled) == len(list((NN / "src").glob("*.c")))
    assert not [f for f in compiled if str(NN / "src") in f or "edgeq_kernels/src" in f]
    x = digits_data["x_test"][:200]
    ref = run_tflm(digits_tflite.read_bytes(), x)
    out = subprocess.run([str(build / "edgeq_host_runner")], input=ref.inputs_q.tobytes(), capture_output=True,
                         check=True).stdout
    got = np.frombuffer(out, np.int8).reshape(ref.outputs_q.shape)
    assert_bit_exact("digits against a CMSIS-NN-layout checkout", [got], [ref.outputs_q])


@pytest.mark.toolchain
def test_cortex_m4_compile_warning_free(digits_tflite, tmp_path):
    """Kernels and generated code compile with -Wall -Wextra -Werror for Cortex-M4F
    (test_codegen_ops does the same for every op-grid model)."""
    from _codegen_harness import cross_compile
    from edgeq.codegen import generate

    cc = require_tool("arm-none-eabi-gcc")
    gen = generate(digits_tflite, tmp_path / "digits", name="digits").out_dir
    cross_compile(cc, [gen], tmp_path / "obj", kernels=True)


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
    # the header's define (which sizes the arena array) == size-check's arena, API and CLI
    import json

    from typer.testing import CliRunner

    from _codegen_harness import arena_define
    from edgeq.cli import app
    from edgeq.sizecheck import size_check

    declared = arena_define(tmp_path / "a", "digits")
    assert declared == size_check(load_graph(digits_tflite), "qemu-mps2-an386").to_dict()["arena"]["bytes"]
    r = CliRunner().invoke(app, ["size-check", str(digits_tflite), "--board", "qemu-mps2-an386", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["arena"]["bytes"] == declared == a.arena_bytes
    assert "generated by edgeq" in (tmp_path / "a" / "digits.c").read_text().lower()
    assert load_graph(digits_tflite).sha256 in (tmp_path / "a" / "digits.c").read_text()
    assert "const edgeq_model_t digits_model" in (tmp_path / "a" / "digits.c").read_text()
    assert {p.name for p in a.files} == {"digits.c", "digits.h", "digits_data.c", "digits_data.h", "CMakeLists.txt",
                                         "edgeq_kernel_routes.h"}
    assert a.kernel_files and all(p.is_file() for p in a.kernel_files)
    for fa, fb in zip(a.kernel_files, b.kernel_files):
        assert fa.read_bytes() == fb.read_bytes()
    assert a.flash_bytes > a.data_bytes > 0


@pytest.mark.unit
def test_generate_replaces_output_dir_atomically(digits_tflite, tmp_path):
    from edgeq.codegen import generate
    from edgeq.errors import InputError

    out = tmp_path / "out"
    generate(digits_tflite, out, name="m0")
    generate(digits_tflite, out, name="m1")  # edgeq's own directory: replaced, old files gone
    assert not (out / "m0.c").exists() and (out / "m1.c").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging / old copy left behind
    (out / "stale.c").write_text("old")  # not edgeq's: refused, nothing touched
    with pytest.raises(InputError):
        generate(digits_tflite, out, name="m2")
    assert (out / "stale.c").read_text() == "old" and (out / "m1.c").exists()


@pytest.mark.unit
@pytest.mark.parametrize("bad", ["1model", "my-model", "", "int", "a b"])
def test_generate_rejects_bad_names(digits_tflite, tmp_path, bad):
    from edgeq.codegen import generate
    from edgeq.errors import InputError

    with pytest.raises(InputError):
        generate(digits_tflite, tmp_path / "x", name=bad)
    assert not (tmp_path / "x").exists()


@pytest.mark.unit
def test_unsupported_op_is_an_input_error_before_writing(tmp_path):
    from tflite_builder import fc_model

    from edgeq.codegen import generate
    from edgeq.errors import InputError

    out = tmp_path / "gen"
    with pytest.raises(InputError) as e:
        generate(fc_model(op2="CUMSUM"), out)
    assert "CUMSUM" in e.value.message and "#1" in e.value.message
    assert not out.exists()


@pytest.mark.emulator
def test_generated_digits_on_qemu_cortex_m4_bit_exact(digits_tflite, digits_data, tmp_path):
    """The generated C, cross-built into the test firmware, on the emulated Cortex-M4 (mps2-an386)."""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    require_tool("cmake")
    from edgeq.build import build_firmware, load_board
    from edgeq.codegen import generate
    from edgeq.device.client import DeviceClient
    from edgeq.device.flashers import start_qemu
    from edgeq.reference import run_tflm

    gen = generate(digits_tflite, tmp_path / "gen", name="digits")
    fw = build_firmware(load_board("qemu-mps2-an386"), tmp_path / "fw", model_dir=gen.out_dir)
    x = digits_data["x_test"][:40]
    ref = run_tflm(digits_tflite.read_bytes(), x)
    with start_qemu("mps2-an386", fw.elf) as q:
        c = DeviceClient(q.port)
        c.wait_ready()
        info = c.info()
        assert info.arena_bytes == gen.arena_bytes and info.model_sha256 == gen.sha256
        got = np.stack([np.frombuffer(c.infer(ref.inputs_q[i].tobytes()).outputs[0], np.int8)
                        for i in range(len(x))])
        c.bye()
    assert_bit_exact("digits@qemu-m4", [got], [ref.outputs_q])


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("arch", ["kws", "resnet8", "autoencoder", "vww"])
def test_generated_mlperf_on_qemu_cortex_m4_bit_exact(arch, mlperf_tflite, tmp_path):
    """MLPerf Tiny architectures on the emulated Cortex-M4 (the DSP code path), random inputs."""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    require_tool("cmake")
    from edgeq.build import build_firmware, load_board
    from edgeq.codegen import generate
    from edgeq.device.client import DeviceClient
    from edgeq.device.flashers import start_qemu

    buf = mlperf_tflite(arch).read_bytes()
    gen = generate(buf, tmp_path / "gen", name=arch)
    fw = build_firmware(load_board("qemu-mps2-an386"), tmp_path / "fw", model_dir=gen.out_dir)
    from edgeq.graph import load_graph

    g = load_graph(buf)
    inputs = random_inputs(g, 4, seed=8)
    ref = tflm_run_many([(buf, inputs, len(g.outputs))])[0]
    with start_qemu("mps2-an386", fw.elf) as q:
        c = DeviceClient(q.port, timeout=30)
        c.wait_ready()
        replies = [c.infer([x[i].tobytes() for x in inputs]).outputs for i in range(len(inputs[0]))]
        c.bye()
    got = [np.stack([np.frombuffer(r[o], ref[o].dtype) for r in replies]) for o in range(len(ref))]
    assert_bit_exact(f"{arch}@qemu-m4", got, ref)
