"""Issue 14: see inside the device — per-layer profile (flash-and-test --profile), the divergence
finder (edgeq diff-device). Unit tests of the protocol pieces, and emulator runs on the digits model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import DIGITS, require_tool
from edgeq.device import protocol as P


def edgeq(*args):
    return subprocess.run([sys.executable, "-m", "edgeq", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


def _emulator_tools():
    for t in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake", "arm-none-eabi-nm"):
        require_tool(t)


def _symbols(elf) -> str:
    return subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout


# ------------------------------------------------------------------------------------------ unit

def test_layer_ticks_and_infer_layer_payloads_round_trip():
    assert P.decode_layer_ticks(P.encode_layer_ticks([5, 0, 123456])) == [5, 0, 123456]
    assert P.decode_layer_ticks(P.encode_layer_ticks([])) == []
    res = P.LayerResult(0, 3, bytes(range(10)))
    assert P.decode_infer_layer_reply(P.encode_infer_layer_reply(res)) == res
    with pytest.raises(P.ProtocolError):
        P.decode_layer_ticks(P.encode_layer_ticks([1]) + b"x")


def test_profile_table_adds_up():
    from edgeq.device.runner import InferRecord
    from edgeq.profile import profile_table

    layers = [{"layer": 0, "op": "CONV_2D", "macs": 1000, "shape": [1, 4]},
              {"layer": 1, "op": "SOFTMAX", "macs": 0, "shape": [1, 4]}]
    recs = [InferRecord(i, (), 100, "systick", layer_ticks=(70, 29)) for i in range(3)]
    prof = profile_table(layers, recs, timer_hz=25_000_000, cpu_hz=25_000_000, emulated=True)
    assert prof["unit"] == "instructions" and prof["total"] == 4000
    assert [r["instructions"] for r in prof["layers"]] == [2800, 1160]
    assert prof["sum_vs_total"] == pytest.approx(0.99)
    assert prof["layers"][0]["macs_per_instruction"] == pytest.approx(1000 / 2800)


# ------------------------------------------------------------------------------------------ emulator

@pytest.mark.emulator
def test_profile_layers_sum_to_total_and_plain_build_has_no_hooks(digits_tflite, tmp_path):
    _emulator_tools()
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 4, "--workdir", tmp_path / "prof", "--profile", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    prof = rep["profile"]
    assert prof["unit"] == "instructions" and prof["samples"] == 4
    ops = [l["op"] for l in prof["layers"]]
    assert ops == ["CONV_2D", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]
    # the per-layer instructions add up to the whole invoke() within 1 %
    assert abs(prof["layers_sum"] - prof["total"]) <= 0.01 * prof["total"]
    assert sum(l["instructions"] for l in prof["layers"]) == pytest.approx(prof["layers_sum"], abs=len(ops))
    assert prof["layers"][1]["macs"] == 73_728 and prof["layers"][1]["macs_per_instruction"] > 0
    assert json.loads((tmp_path / "prof" / "report.json").read_text())["profile"] == prof
    html = (tmp_path / "prof" / "report.html").read_text()
    assert 'id="profile"' in html and html.count('class="bar"') == len(ops)
    assert "edgeq_observe_layer" in _symbols(tmp_path / "prof" / "build" / "firmware.elf")

    # without --profile: no hook, no timing code for layers in the firmware
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 2, "--workdir", tmp_path / "plain", "--json")
    assert r.returncode == 0, r.stderr
    assert "profile" not in json.loads(r.stdout)
    syms = _symbols(tmp_path / "plain" / "build" / "firmware.elf")
    assert "edgeq_observe" not in syms and "layer_ticks" not in syms and "model_stats" not in syms

    # a device output that differs (a recorded result edited, the run resumed): the gate fails and
    # points at the divergence finder with the first differing sample
    res = tmp_path / "plain" / "results.jsonl"
    recs = [json.loads(x) for x in res.read_text().splitlines()]
    recs[1]["outputs"][0] = recs[1]["outputs"][0][:-2] + format(int(recs[1]["outputs"][0][-2:], 16) ^ 1, "02x")
    res.write_text("".join(json.dumps(x) + "\n" for x in recs))
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 2, "--workdir", tmp_path / "plain", "--resume")
    assert r.returncode == 1
    rep = json.loads((tmp_path / "plain" / "report.json").read_text())
    assert rep["suggest"].startswith("edgeq diff-device ") and f"--sample {rep['mismatches'][0]['data_index']}" in rep["suggest"]
    assert "edgeq diff-device" in " ".join(r.stderr.split())


_PERTURBED_MAX_POOL = r"""
#undef arm_max_pool_s8
/* test: a deliberately wrong kernel — the real max pool, then one output value off by one */
arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx, const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims, const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims, const cmsis_nn_dims *output_dims,
                                    int8_t *output_data)
{
    arm_cmsis_nn_status s = edgeq_real_max_pool_s8(ctx, pool_params, input_dims, input_data, filter_dims,
                                                   output_dims, output_data);
    output_data[5] = (int8_t)(output_data[5] == 127 ? 126 : output_data[5] + 1);
    return s;
}
"""


def _checkout(root, perturb_max_pool: bool):
    """edgeq's kernels laid out like an upstream CMSIS-NN checkout (Include/, Source/<group>/),
    optionally with arm_max_pool_s8 made wrong by one value."""
    import shutil

    nn = DIGITS.parents[1] / "firmware" / "cmsis_nn"
    (root / "Include").mkdir(parents=True)
    for h in sorted((nn / "include").glob("*.h")):
        shutil.copy(h, root / "Include" / h.name)
    (root / "Source" / "All").mkdir(parents=True)
    for c in sorted((nn / "src").glob("*.c")):
        text = c.read_text()
        if perturb_max_pool and c.name == "arm_pool_s8.c":
            text = "#define arm_max_pool_s8 edgeq_real_max_pool_s8\n" + text + _PERTURBED_MAX_POOL
        (root / "Source" / "All" / c.name).write_text(text)
    return root


@pytest.mark.emulator
def test_diff_device_names_the_perturbed_op_and_nothing_otherwise(digits_tflite, tmp_path):
    _emulator_tools()
    common = [digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz", "--sample", 3,
              "--sample", 11, "--json"]
    # the kernels of a CMSIS-NN checkout (here edgeq's own, laid out like upstream): no divergence
    r = edgeq("diff-device", *common, "--cmsis-nn", _checkout(tmp_path / "good", False),
              "--workdir", tmp_path / "ok")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["first_divergence"] is None and rep["layers"] == 7
    assert [s["layers_checked"] for s in rep["samples"]] == [7, 7]

    # one max pool output off by one: the finder names layer 2, MAX_POOL_2D, value 5
    r = edgeq("diff-device", *common, "--cmsis-nn", _checkout(tmp_path / "bad", True),
              "--workdir", tmp_path / "bad-run")
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    first = rep["first_divergence"]
    assert (first["layer"], first["op"], first["kernel"]) == (2, "MAX_POOL_2D", "maxpool")
    assert first["first_element"] == 5 and first["differing"] == 1 and first["max_abs_diff"] == 1
    assert first["first_index"] == [0, 0, 0, 5] and first["first_bytes"] == [5, 5]
    assert rep["diverged_samples"] == 2


def test_stats_payload_and_drift_rule():
    from edgeq.telemetry import telemetry_table

    res = P.StatsResult(10, ((5, 0), (0, 20)))
    assert P.decode_stats(P.encode_stats(res)) == res
    layers = [{"layer": 0, "op": "CONV_2D", "output": "a", "dtype": "int8", "shape": [1, 10], "zero_point": -128},
              {"layer": 1, "op": "FULLY_CONNECTED", "output": "b", "dtype": "int8", "shape": [1, 10], "zero_point": 3}]
    # layer 0: 5 % at min but min is its real zero (ReLU): no flag; layer 1: 20 % at max vs 1 %: flag
    tel = telemetry_table(layers, res, [(5, 0), (0, 20)], [(0, 0), (0, 1)], calib_samples=10)
    assert tel["matches_host"] and tel["drift_layers"] == [1]
    assert tel["layers"][1]["device_max_rate"] == pytest.approx(0.2)


def test_report_refuses_device_results_of_another_model(digits_tflite, tmp_path):
    run = {"model": {"tflite": "other.tflite", "sha256": "ab" * 32}, "board": "qemu-mps2-an386"}
    (tmp_path / "report.json").write_text(json.dumps(run))
    (tmp_path / "junk.json").write_text("[1, 2]")
    for f, words in (("report.json", "another model"), ("junk.json", "not a flash-and-test report.json"),
                     ("missing.json", "not found")):
        r = edgeq("report", DIGITS / "digits.keras", digits_tflite, "--data", DIGITS / "test.npz",
                  "--device", tmp_path / f, "-o", tmp_path / "r.html")
        assert r.returncode == 2, r.stderr
        assert words in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
        assert not (tmp_path / "r.html").exists()


@pytest.mark.emulator
def test_telemetry_counts_equal_host_and_drift_fires_only_on_shifted_data(digits_tflite, tmp_path):
    import numpy as np

    _emulator_tools()
    with np.load(DIGITS / "test.npz") as z:
        np.savez(tmp_path / "shifted.npz", x=(z["x"] * 3).astype(np.float32), y=z["y"])  # 3× the input scale
    reps = {}
    for what, data in (("test", DIGITS / "test.npz"), ("shifted", tmp_path / "shifted.npz")):
        r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", data, "--calib",
                  DIGITS / "train.npz", "--limit", 100, "--workdir", tmp_path / what, "--telemetry",
                  "--allow-mismatch", "--json", *(["--profile"] if what == "shifted" else []))
        assert r.returncode == 0, r.stderr
        reps[what] = json.loads(r.stdout)["telemetry"]
    for tel in reps.values():
        assert tel["inferences"] == 100 and tel["matches_host"] is True
        assert len(tel["layers"]) == 7  # every layer has int8 outputs
        for row in tel["layers"]:
            assert (row["device_at_min"], row["device_at_max"]) == (row["host_at_min"], row["host_at_max"])
    assert reps["test"]["drift_layers"] == []
    assert reps["shifted"]["drift_layers"]  # the fully connected layers clip far more than on calibration
    assert "model_stats" in _symbols(tmp_path / "test" / "build" / "firmware.elf")

    # edgeq report --device: the device's profile and telemetry (with the drift flag) in the HTML
    # report and its --json
    html = tmp_path / "report.html"
    r = edgeq("report", DIGITS / "digits.keras", digits_tflite, "--data", DIGITS / "test.npz", "--limit", 8,
              "--eval-limit", 50, "--device", tmp_path / "shifted" / "report.json", "-o", html, "--json")
    assert r.returncode == 0, r.stderr
    dev = json.loads(r.stdout)["device"]
    assert dev["telemetry"]["drift_layers"] == reps["shifted"]["drift_layers"]
    assert [l["op"] for l in dev["profile"]["layers"]][0] == "CONV_2D"
    page = html.read_text()
    assert 'id="device"' in page and 'id="profile"' in page and 'id="telemetry"' in page
    assert page.count("DRIFT</td>") == len(reps["shifted"]["drift_layers"])


@pytest.mark.emulator
@pytest.mark.parametrize("arch", ["kws", pytest.param("resnet8", marks=pytest.mark.long)])
def test_diff_device_finds_nothing_on_mlperf_tiny(arch, mlperf_tflite, tmp_path):
    """The MLPerf Tiny DS-CNN KWS and ResNet-8, every layer read back from the virtual M4: none
    differs from TFLM (edgeq's kernels)."""
    import numpy as np
    from models import mlperf_tiny

    _emulator_tools()
    np.savez(tmp_path / "x.npz", x=mlperf_tiny.sample_data(arch, 2, seed=2))
    r = edgeq("diff-device", mlperf_tflite(arch), "--board", "qemu-mps2-an386", "--data", tmp_path / "x.npz",
              "--sample", 1, "--workdir", tmp_path / "w", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["first_divergence"] is None and rep["layers"] >= 10
    assert rep["samples"][0]["layers_checked"] == rep["layers"]


# ------------------------------------------------------------------- ops with several outputs

def test_compare_layer_names_the_differing_output_of_a_split():
    import numpy as np

    from edgeq.diverge import compare_layer

    outs = [{"output": f"part{k}", "output_tensor": 10 + k, "dtype": "int8", "shape": [1, 2, 3], "bytes": 6}
            for k in range(3)]
    lay = {"layer": 4, "op": "SPLIT", **outs[0], "bytes": 18, "outputs": outs}
    host = {10 + k: np.arange(6, dtype=np.int8).reshape(1, 1, 2, 3) + k for k in range(3)}
    dev = b"".join(host[10 + k][0].tobytes() for k in range(3))
    assert compare_layer(lay, dev, host, 0) is None
    bad = bytearray(dev)
    bad[6 + 4] ^= 1  # the second output, element 4
    d = compare_layer(lay, bytes(bad), host, 0)
    assert d["tensor"] == "part1" and d["output"] == 1 and d["first_element"] == 4 and d["differing"] == 1
    assert compare_layer(lay, dev[:6], host, 0)["size_mismatch"]  # a device that sent one output only


@pytest.mark.emulator
def test_split_layers_send_and_count_every_output(tmp_path):
    """A SPLIT's three outputs: diff-device compares all of them (the harness sends them
    concatenated), telemetry counts all of them, equal to the host's counts."""
    import keras
    import numpy as np
    from keras import layers as L
    from keras import ops as K

    from _codegen_harness import convert_keras
    from edgeq.reference import run_tflm

    _emulator_tools()
    keras.utils.set_random_seed(5)
    x = keras.Input((6, 5, 4), batch_size=1)
    h = L.Conv2D(6, 3, padding="same")(x)
    a, b, c = K.split(h, 3, axis=-1)
    y = L.Dense(3)(L.Flatten()(L.Concatenate()([L.ReLU()(a), L.Multiply()([b, c])])))
    tfl = convert_keras(keras.Model(x, y), lambda rng: [rng.uniform(-1, 1, (1, 6, 5, 4))])
    model = tmp_path / "split.tflite"
    model.write_bytes(tfl)
    xs = np.random.default_rng(1).uniform(-3, 3, (6, 6, 5, 4)).astype(np.float32)  # 3× calibration: clips
    np.savez(tmp_path / "d.npz", x=xs)

    r = edgeq("diff-device", model, "--board", "qemu-mps2-an386", "--data", tmp_path / "d.npz", "--sample", 0,
              "--workdir", tmp_path / "diff", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["first_divergence"] is None and rep["samples"][0]["layers_checked"] == rep["layers"]

    r = edgeq("flash-and-test", model, "--board", "qemu-mps2-an386", "--data", tmp_path / "d.npz",
              "--calib", tmp_path / "d.npz", "--workdir", tmp_path / "tel", "--telemetry", "--json")
    assert r.returncode == 0, r.stderr
    tel = json.loads(r.stdout)["telemetry"]
    assert tel["inferences"] == 6 and tel["matches_host"] is True
    split = next(row for row in tel["layers"] if row["op"].startswith("SPLIT"))
    assert split["elements"] == 6 * 5 * 6  # all three parts, not the first one's 6 * 5 * 2
    from edgeq.graph import load_graph

    g = load_graph(tfl)
    op = next(o for o in g.operators if o.opcode == "SPLIT")
    ref = run_tflm(tfl, xs, tensors=list(op.outputs))
    want = [sum(int(np.count_nonzero(ref.tensors[t] == lim)) for t in op.outputs) for lim in (-128, 127)]
    assert (split["device_at_min"], split["device_at_max"]) == tuple(want)
    first_only = [int(np.count_nonzero(ref.tensors[op.outputs[0]] == lim)) for lim in (-128, 127)]
    assert sum(want) > sum(first_only)  # the other parts clip too: counting one would differ



# ------------------------------------------------------------------------- real boards (DWT)

def test_observe_build_for_a_real_board_times_layers_with_dwt(digits_tflite, tmp_path):
    """Under QEMU the layer clock is SysTick (CYCCNT reads 0 there); on a real Cortex-M4 the same
    hooks read the DWT cycle counter. The profile + telemetry firmware for nucleo-f446re builds and
    its timer reads DWT_CYCCNT (0xE0001004); the run itself is in the hardware tier."""
    from edgeq.boards import get_board
    from edgeq.build import build_firmware
    from edgeq.codegen import generate
    from edgeq.profile import OBSERVE_CMAKE
    from edgeq.telemetry import STATS_CMAKE

    for t in ("arm-none-eabi-gcc", "cmake", "arm-none-eabi-nm", "arm-none-eabi-objdump"):
        require_tool(t)
    board = get_board("nucleo-f446re")
    gen = generate(digits_tflite.read_bytes(), tmp_path / "gen", name="model")
    fw = build_firmware(board, tmp_path / "build", model_dir=gen.out_dir, extra_cmake={**OBSERVE_CMAKE, **STATS_CMAKE})
    syms = _symbols(fw.elf)
    assert "edgeq_observe_layer" in syms and "model_stats" in syms
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(fw.elf)], capture_output=True, text=True, check=True).stdout
    assert "0xe0001000" in dis.lower()  # the DWT block (CYCCNT is read at +4)


@pytest.mark.hardware
@pytest.mark.skipif(not (__import__("os").environ.get("EDGEQ_BOARD") and __import__("os").environ.get("EDGEQ_BOARD_PORT")),
                    reason="no board attached (set EDGEQ_BOARD and EDGEQ_BOARD_PORT)")
def test_profile_on_a_real_board_counts_cycles(digits_tflite, tmp_path):
    import os

    r = edgeq("flash-and-test", digits_tflite, "--board", os.environ["EDGEQ_BOARD"], "--port",
              os.environ["EDGEQ_BOARD_PORT"], "--data", DIGITS / "test.npz", "--limit", 8,
              "--workdir", tmp_path / "hw", "--profile", "--json")
    assert r.returncode == 0, r.stderr
    prof = json.loads(r.stdout)["profile"]
    assert prof["unit"] == "cycles" and prof["samples"] == 8
    assert abs(prof["layers_sum"] - prof["total"]) <= 0.01 * prof["total"]
