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
    assert "edgeq_observe" not in syms and "layer_ticks" not in syms
