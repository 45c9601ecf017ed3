"""Issue 16 end to end, as a user runs it: `edgeq convert --weights ...` writes a model whose
4-bit layers the generator stores as nibbles / indices + tables, and `edgeq flash-and-test`
runs it on a virtual board against TFLM on the host, every output byte compared.

The two halves are tested apart elsewhere (test_lowbit_weights.py: the rewrite and accuracy;
test_packed_weights.py: the kernels on patched models); this checks that what convert writes is
what generate detects and packs, on the M4's DSP path and the M55's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "models" / "digits"


def edgeq(*args):
    return subprocess.run([sys.executable, "-m", "edgeq", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("board, options", [
    ("qemu-mps2-an386", ["--weights", "int4"]),
    ("qemu-mps3-an547", ["--weights", "cluster16", "--cluster-granularity", "per-channel", "--int4", "conv2"]),
])
def test_converted_low_bit_model_runs_bit_exact_on_a_virtual_board(board, options, tmp_path):
    model = tmp_path / "d.tflite"
    r = edgeq("convert", DIGITS / "digits.keras", "--calib", DIGITS / "train.npz", "-o", model, *options)
    assert r.returncode == 0, r.stderr
    manifest = json.loads(model.with_suffix(".manifest.json").read_text())["weights"]
    # a layer is stored 4-bit only where that is smaller (per-channel tables of 16 values do not
    # pay on digits' first conv and its 10-unit head: those stay int8 and convert counts them so)
    expect: dict[str, int] = {}
    for layer in manifest["layers"]:
        kind = {"int4": "int4", "cluster16": "clustered"}[layer["format"]] if layer["bytes"] < layer["int8_bytes"] \
            else "int8"
        expect[kind] = expect.get(kind, 0) + 1
    assert expect.get("int4") and (options[1] != "cluster16" or expect.get("clustered")), manifest["layers"]

    r = edgeq("flash-and-test", model, "--board", board, "--data", DIGITS / "test.npz", "--limit", "120",
              "--workdir", tmp_path / "ft", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["reference"] == "TFLM" and res["samples"] == 120
    assert res["mismatch_count"] == 0 and res["bit_exact_rate"] == 1.0
    mem = res["memory"]
    # what the generator packed is what convert chose, layer count and bytes alike
    assert mem["weight_precisions"] == expect, mem["weight_precisions"]
    packed = sum(v["bytes"] for v in mem["weights_by_precision"].values())
    assert packed == manifest["bytes"] < manifest["int8_bytes"]
