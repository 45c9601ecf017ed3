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
    (row,) = json.loads(out.read_text())
    assert row["bit_exact"] and row["arena_vs_bound"] == 1.0
    assert 0 < row["macs_per_instruction"] < 2  # a Cortex-M4 does at most 2 MACs per instruction
    assert row["macs"] == 8 * 8 * 8 * 9 + 8 * 8 * 16 * 72 + 256 * 32 + 32 * 10  # digits CNN by hand
