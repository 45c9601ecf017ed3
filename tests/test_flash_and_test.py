"""`edgeq flash-and-test` end to end on virtual boards: real firmware under QEMU, real serial I/O,
every output byte compared with the host TFLM reference."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import DIGITS, require_tool

pytestmark = pytest.mark.emulator


def edgeq(*args):
    return subprocess.run([sys.executable, "-m", "edgeq", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(autouse=True)
def _tools():
    for t in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake"):
        require_tool(t)


@pytest.mark.parametrize("board", ["qemu-mps2-an386", "qemu-mps3-an547", "qemu-netduinoplus2"])
def test_bit_exact_on_virtual_boards(board, digits_tflite, tmp_path):
    r = edgeq("flash-and-test", digits_tflite, "--board", board, "--data", DIGITS / "test.npz",
              "--limit", 40, "--workdir", tmp_path, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["samples"] == 40 and rep["bit_exact_rate"] == 1.0 and rep["mismatch_count"] == 0
    assert rep["device_accuracy"] == rep["host_accuracy"] > 0.9
    lat = rep["latency"]["instructions"]
    assert lat["min"] > 10_000 and lat["max"] < 1.02 * lat["min"]  # deterministic under -icount
    assert rep["memory"]["flash_bytes"] < rep["memory"]["flash_capacity"]
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 40 and json.loads((tmp_path / "report.json").read_text())["samples"] == 40


def test_keras_model_gate_and_resume(tmp_path):
    """From the Keras model: the float-vs-device drop is measured; rerunning with --resume reuses
    every recorded result, and a --max-drop below the measured drop exits 1."""
    args = ["flash-and-test", DIGITS / "digits.keras", "--board", "qemu-mps2-an386", "--data",
            DIGITS / "test.npz", "--calib", DIGITS / "train.npz", "--limit", 100, "--workdir", tmp_path, "--json"]
    r = edgeq(*args)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["bit_exact_rate"] == 1.0 and "float_accuracy" in rep
    drop = rep["float_vs_device_drop_pp"]
    before = (tmp_path / "results.jsonl").read_text()
    r = edgeq(*args, "--resume", "--max-drop", drop - 0.5)
    assert r.returncode == 1, r.stderr
    assert "exceeds --max-drop" in r.stderr
    assert (tmp_path / "results.jsonl").read_text() == before  # nothing re-run, nothing lost


def test_unknown_board_exit_2(digits_tflite, tmp_path):
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an368", "--data", DIGITS / "test.npz",
              "--workdir", tmp_path)
    assert r.returncode == 2 and "did you mean" in r.stderr and "Traceback" not in r.stderr


def test_model_too_big_for_board_exit_1(mlperf_tflite, tmp_path):
    r = edgeq("flash-and-test", mlperf_tflite("vww"), "--board", "qemu-microbit", "--data", DIGITS / "test.npz",
              "--workdir", tmp_path)
    assert r.returncode == 1, r.stderr
    assert "does not fit" in r.stderr
