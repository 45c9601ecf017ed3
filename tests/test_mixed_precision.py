"""Mixed precision: int16 activations for chosen layers of an int8 model (`convert --keep/--auto`).

The subject is conftest's `build_fragile_mlp`: one unit of layer `fragile` ×300, so the int8
range of that activation is set by one unit and the other 31 lose their resolution.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import DIGITS, build_fragile_mlp
from edgeq.errors import InputError
from edgeq.quantize.convert import ConvertOptions, convert_model

pytestmark = pytest.mark.slow

CALIB = str(DIGITS / "train.npz")
TEST = str(DIGITS / "test.npz")


@pytest.fixture(scope="module")
def fragile(tmp_path_factory, digits_data):
    return build_fragile_mlp(tmp_path_factory.mktemp("mixed") / "fragile.keras", digits_data)


def _accuracy(tflite: bytes, digits_data) -> float:
    from edgeq.reference import run_tflm

    out = run_tflm(tflite, digits_data["x_test"]).outputs.reshape(len(digits_data["y_test"]), -1)
    return float(np.mean(out.argmax(1) == digits_data["y_test"]))


def _float_accuracy(path, digits_data) -> float:
    import keras

    m = keras.models.load_model(path)
    return float(np.mean(m.predict(digits_data["x_test"], verbose=0).argmax(1) == digits_data["y_test"]))


def test_keep_recovers_the_fragile_layer_and_is_deterministic(tmp_path, fragile, digits_data):
    from edgeq.graph import load_graph

    f_acc = _float_accuracy(fragile, digits_data)
    int8 = convert_model(fragile, CALIB, None, ConvertOptions())
    assert _accuracy(int8.tflite, digits_data) < f_acc - 0.05  # the hostile layer really costs

    opts = ConvertOptions(keep=("fragile",))
    a = convert_model(fragile, CALIB, tmp_path / "a.tflite", opts)
    convert_model(fragile, CALIB, tmp_path / "b.tflite", opts)
    assert (tmp_path / "a.tflite").read_bytes() == (tmp_path / "b.tflite").read_bytes()
    assert _accuracy(a.tflite, digits_data) >= f_acc - 0.01

    mix = json.loads((tmp_path / "a.manifest.json").read_text())["mixed_precision"]
    assert mix["int16_layers"] == ["fragile"] and mix["requantize_ops"] == 2
    assert a.manifest["options"]["keep"] == ["fragile"]

    # structure: fragile and head (which reads fragile's output) run 16x8; int8 at both ends
    g = load_graph(a.tflite)
    ops = [(op.opcode, g.tensors[op.inputs[0]].dtype, g.tensors[op.outputs[0]].dtype) for op in g.operators]
    assert ops == [("RESHAPE", "int8", "int8"), ("FULLY_CONNECTED", "int8", "int8"),
                   ("QUANTIZE", "int8", "int16"), ("FULLY_CONNECTED", "int16", "int16"),
                   ("FULLY_CONNECTED", "int16", "int16"), ("QUANTIZE", "int16", "int8"),
                   ("SOFTMAX", "int8", "int8")]
    for op in g.operators:
        if op.opcode == "FULLY_CONNECTED" and g.tensors[op.inputs[0]].dtype == "int16":
            assert g.tensors[op.inputs[1]].dtype == "int8" and g.tensors[op.inputs[2]].dtype == "int64"
            assert g.tensors[op.outputs[0]].quant.zero_point == 0
    assert [g.tensors[i].dtype for i in g.inputs + g.outputs] == ["int8", "int8"]


def test_auto_names_the_fragile_layer_and_meets_the_target(tmp_path, fragile, digits_data):
    out = tmp_path / "auto.tflite"
    res = convert_model(fragile, CALIB, out, ConvertOptions(auto=True, max_drop=1.0, eval_data=TEST,
                                                            board="qemu-mps2-an386"))
    auto = res.manifest["mixed_precision"]["auto"]
    assert auto["met"] and auto["drop_pp"] <= 1.0
    assert res.manifest["mixed_precision"]["int16_layers"] == ["fragile"]  # the fewest: one layer
    assert auto["all_int8_accuracy"] < auto["float_accuracy"] - 0.05
    assert abs(_accuracy(out.read_bytes(), digits_data) - auto["accuracy"]) < 1e-9  # what it wrote is what it measured


def test_auto_respects_the_memory_budget(monkeypatch):
    """The search layer above splice, with a fake splice/reference and a budget nothing fits."""
    import edgeq.reference
    from edgeq.quantize import keep

    class Plan:
        int8 = b""
        layer_tensor = {"a": "ta", "b": "tb"}

        def splice(self, layers):
            return type("R", (), {"tflite": b"x" * len(layers), "layers": layers})()

    rejected = []

    def fits(tflite):
        rejected.append(tflite)
        return False

    # all-int8 gets every sample wrong, so the search has a drop to fix
    monkeypatch.setattr(edgeq.reference, "run_tflm",
                        lambda tflite, x, progress=None: type("O", (), {"outputs": np.eye(2)[::-1]})())
    res = keep.auto_select(Plan(), np.eye(2), np.zeros((2, 1)), np.array([0, 1]), 1.0, fits)
    assert not res.met and res.layers == [] and res.splice is None
    assert len(rejected) == 2  # every candidate was checked against the budget and refused


@pytest.fixture(scope="module")
def sigmoid_head(tmp_path_factory):
    """An (untrained) digits-shaped MLP whose head is a sigmoid (LOGISTIC)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8, 8, 1)), layers.Flatten(), layers.Dense(16, activation="relu", name="hidden"),
                          layers.Dense(10, activation="sigmoid", name="head")])
    path = tmp_path_factory.mktemp("sigmoid") / "sigmoid.keras"
    m.save(path)
    return path


@pytest.fixture
def no_int16_logistic(monkeypatch):
    """To test the refusals on a model the converter makes, pretend LOGISTIC had no int16 kernel."""
    import dataclasses

    from edgeq import ops

    registry = ops.registry()
    monkeypatch.setitem(registry, "LOGISTIC", dataclasses.replace(registry["LOGISTIC"], int16=False))


def test_keep_refuses_a_layer_read_by_an_op_without_int16_kernel(sigmoid_head, tmp_path, no_int16_logistic):
    with pytest.raises(InputError, match=r"keeping 'head' at int16: operator #\d+ \(LOGISTIC"):
        convert_model(sigmoid_head, CALIB, tmp_path / "s.tflite", ConvertOptions(keep=("head",)))
    assert not (tmp_path / "s.tflite").exists()


def test_whole_model_int16_without_device_kernel_is_refused_at_convert_time(sigmoid_head, tmp_path,
                                                                           no_int16_logistic):
    out = tmp_path / "s16.tflite"
    with pytest.raises(InputError, match="LOGISTIC") as e:
        convert_model(sigmoid_head, CALIB, out, ConvertOptions(samples=50, precision="int16x8"))
    assert "--keep" in e.value.hint and not out.exists()
    r = convert_model(sigmoid_head, CALIB, out, ConvertOptions(samples=50, precision="int16x8", allow_host_only=True))
    assert out.exists() and r.manifest["io"]["inputs"][0]["dtype"] == "int16"


@pytest.mark.toolchain
def test_keep_sigmoid_head_generates_bit_exact(sigmoid_head, digits_data, tmp_path):
    """A sigmoid head kept at int16: int16 FC + LOGISTIC (the sigmoid table), byte for byte with TFLM."""
    from _codegen_harness import HostBuilder, assert_bit_exact
    from conftest import require_tool
    from edgeq.graph import load_graph
    from edgeq.reference import run_tflm

    require_tool("gcc")
    tfl = convert_model(sigmoid_head, CALIB, None, ConvertOptions(keep=("head",))).tflite
    g = load_graph(tfl)
    assert [g.tensors[op.inputs[0]].dtype for op in g.operators if op.opcode == "LOGISTIC"] == ["int16"]
    ref = run_tflm(tfl, digits_data["x_test"][:200])
    host = HostBuilder(tmp_path / "host").build(tfl, name="sig")
    assert_bit_exact("kept sigmoid head", host.run([ref.inputs_q]), [ref.outputs_q])


def test_keep_classifier_head_through_int16_softmax(fragile, digits_data):
    """The head (FULLY_CONNECTED + SOFTMAX) kept at int16: both run the int16 kernels and the
    model's int8 output is requantized from the int16 softmax."""
    from edgeq.graph import load_graph

    r = convert_model(fragile, CALIB, None, ConvertOptions(keep=("head",)))
    g = load_graph(r.tflite)
    softmax = [op for op in g.operators if op.opcode == "SOFTMAX"]
    assert len(softmax) == 1 and g.tensors[softmax[0].inputs[0]].dtype == "int16"
    assert g.tensors[g.outputs[0]].dtype == "int8"
    assert _accuracy(r.tflite, digits_data) > 0.5
    from edgeq.evaluate import activation_precision
    assert activation_precision(g) == "int8+int16"


@pytest.mark.toolchain
def test_kept_head_generates_bit_exact(fragile, digits_data, tmp_path):
    """generate on the spliced model: int8 -> int16 requantize, int16 FC + SOFTMAX, int16 -> int8,
    byte for byte with TFLM on the digits test set; the softmax tables are counted in flash."""
    from _codegen_harness import HostBuilder, assert_bit_exact
    from conftest import require_tool
    from edgeq.codegen import generate
    from edgeq.memory import S16_TABLE_BYTES, flash_usage
    from edgeq.reference import run_tflm

    require_tool("gcc")
    tfl = convert_model(fragile, CALIB, None, ConvertOptions(keep=("head",))).tflite
    ref = run_tflm(tfl, digits_data["x_test"])
    host = HostBuilder(tmp_path / "host").build(tfl, name="kept")
    assert_bit_exact("kept head", host.run([ref.inputs_q]), [ref.outputs_q])
    generate(tfl, tmp_path / "gen", name="kept")
    data_c = (tmp_path / "gen" / "kept_data.c").read_text()
    assert "kept_softmax_exp_lut" in data_c and "kept_softmax_recip_lut" in data_c
    fu = flash_usage(host.graph)
    assert fu.constants >= S16_TABLE_BYTES["SOFTMAX"]
    # both FC kernel families are linked, and the int16 ones' sizes are measured, not guessed
    assert {"FULLY_CONNECTED", "FULLY_CONNECTED/int16", "SOFTMAX/int16"} <= set(fu.kernel_code)
    from edgeq.memory import measured_code_sizes
    measured = measured_code_sizes("cortex-m4")["kernel_bytes"]
    assert fu.kernel_code["SOFTMAX/int16"] == measured["SOFTMAX/int16"] > 0


def test_keep_unknown_layer_suggests_close_names(fragile):
    with pytest.raises(InputError, match="fragil") as e:
        convert_model(fragile, CALIB, None, ConvertOptions(keep=("fragil",)))
    assert "fragile" in (e.value.hint or "")


def test_whole_model_int16_classifier_converts(digits16_tflite, digits_data):
    """The digits CNN in 16x8 mode (softmax included) converts for the device and keeps its accuracy."""
    from edgeq.evaluate import activation_precision
    from edgeq.graph import load_graph
    from edgeq.quantize.convert import manifest_path_for

    manifest = json.loads(manifest_path_for(digits16_tflite).read_text())
    assert manifest["io"]["inputs"][0]["dtype"] == "int16"
    tflite = digits16_tflite.read_bytes()
    assert _accuracy(tflite, digits_data) >= _float_accuracy(DIGITS / "digits.keras", digits_data) - 0.01
    assert activation_precision(load_graph(tflite)) == "int16x8"  # evaluate's column heading


def test_cli_keep_auto_exit_codes(tmp_path, fragile):
    def edgeq(*args):
        return subprocess.run([sys.executable, "-m", "edgeq", *args], capture_output=True, text=True)

    r = edgeq("convert", str(fragile), "--calib", CALIB, "-o", str(tmp_path / "k.tflite"), "--keep", "nosuch")
    assert r.returncode == 2 and "nosuch" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "k.tflite").exists()
    r = edgeq("convert", str(fragile), "--calib", CALIB, "--auto", "--max-drop", "1")
    assert r.returncode == 2 and "--data" in r.stderr
    r = edgeq("convert", str(fragile), "--calib", CALIB, "-o", str(tmp_path / "a.tflite"), "--auto",
              "--max-drop", "1", "--data", TEST, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["mixed_precision"]["int16_layers"] == ["fragile"]


def _flash_and_test_bit_exact(tfl, board: str, limit: int, tmp_path) -> dict:
    """flash-and-test on a virtual board (the real CLI, the real firmware under QEMU): exit 0,
    every sample answered and bit-exact with TFLM. Returns the JSON report."""
    from conftest import require_tool

    for t in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake"):
        require_tool(t)
    r = subprocess.run([sys.executable, "-m", "edgeq", "flash-and-test", str(tfl), "--board", board, "--data", TEST,
                        "--limit", str(limit), "--workdir", str(tmp_path / "fat"), "--json"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["samples"] == limit and rep["bit_exact_rate"] == 1.0 and rep["mismatch_count"] == 0
    return rep


@pytest.mark.emulator
def test_mixed_model_runs_bit_exact_on_a_virtual_board(tmp_path, fragile, digits_data):
    """The spliced model through generate → firmware → QEMU (Cortex-M4): int16 FC kernels and the
    int8↔int16 requantizations give TFLM's bytes, and the recovered accuracy is on the device."""
    tfl = tmp_path / "keep.tflite"
    convert_model(fragile, CALIB, tfl, ConvertOptions(keep=("fragile",)))
    rep = _flash_and_test_bit_exact(tfl, "qemu-mps2-an386", 150, tmp_path)
    assert rep["device_accuracy"] >= _float_accuracy(fragile, digits_data) - 0.03


@pytest.mark.emulator
def test_whole_model_16x8_runs_bit_exact_on_a_virtual_board(tmp_path, digits16_tflite):
    """The digits CNN in 16x8 mode on QEMU (Cortex-M55): int16 inputs and outputs over the UART,
    int16 conv / pool / FC / SOFTMAX kernels, every output byte equal to TFLM's."""
    rep = _flash_and_test_bit_exact(digits16_tflite, "qemu-mps3-an547", 80, tmp_path)
    assert rep["device_accuracy"] >= 0.9
