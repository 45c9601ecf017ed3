"""The benchmark script runs and reports bit-exact, ratio-shaped results (a small slice of it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, require_tool

pytestmark = pytest.mark.emulator


def test_bench_digits_on_m4(tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--models", "digits", "--boards",
                        "qemu-mps2-an386", "--runs", "2", "--json", str(out)], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    (row,) = [r for r in json.loads(out.read_text()) if r["kernels"] == "edgeq"]  # (+ CMSIS-NN's with the env)
    assert row["bit_exact"] and 0 < row["arena_vs_bound"] <= 1.0  # below the bound where ops run in place
    assert 0 < row["macs_per_instruction"] < 2  # a Cortex-M4 does at most 2 MACs per instruction
    assert row["macs"] == 8 * 8 * 8 * 9 + 8 * 8 * 16 * 72 + 256 * 32 + 32 * 10  # digits CNN by hand


def test_bench_side_by_side_with_cmsis_nn(tmp_path):
    """--cmsis-nn PATH: each model × board also against upstream CMSIS-NN, printed side by side."""
    import os

    checkout = os.environ.get("EDGEQ_CMSIS_NN_DIR")
    if not checkout:
        pytest.skip("EDGEQ_CMSIS_NN_DIR not set (an upstream CMSIS-NN checkout)")
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--models", "digits", "--boards",
                        "qemu-mps3-an547", "--runs", "2", "--json", str(out), "--cmsis-nn", checkout],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    ours, up = sorted(json.loads(out.read_text()), key=lambda r: r["kernels"] != "edgeq")
    assert (ours["kernels"], up["kernels"], up["scratch"]) == ("edgeq", "cmsis-nn", "mve")
    assert ours["bit_exact"] and up["bit_exact"]
    assert ours["vs_cmsis_nn"] == ours["instructions"] / up["instructions"]
    assert "edgeq/CMSIS-NN" in r.stdout


def test_bench_refuses_a_bad_checkout(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--models", "digits", "--cmsis-nn",
                        str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "is not a CMSIS-NN checkout" in r.stderr, r.stderr
