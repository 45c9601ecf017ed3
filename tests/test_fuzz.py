"""Hostile models: every corrupted or invalid .tflite ends in edgeq's own error (exit 2 on the
command line, one message naming the tensor) or a valid result — never a traceback.

The seeded mutation fuzzer (tests/fuzz_tflite.py) runs EDGEQ_FUZZ_CASES cases (default 2,000)
here; `python tests/fuzz_tflite.py --cases 100000` is the long run."""

from __future__ import annotations

import os

import numpy as np
import pytest
from typer.testing import CliRunner

import fuzz_tflite
from tflite_builder import act, build_tflite, const, fc_model

from edgeq.cli import app
from edgeq.errors import InputError

pytestmark = pytest.mark.unit
runner = CliRunner()


def test_seeded_mutations_never_crash():
    cases = int(os.environ.get("EDGEQ_FUZZ_CASES", "2000"))
    r = fuzz_tflite.fuzz(cases, seed=int(os.environ.get("EDGEQ_FUZZ_SEED", "0")))
    assert r.cases == cases and r.ok > 0 and r.refused > 0  # the mutations reach both outcomes
    assert not r.crashes, "\n".join(f"{n} case {k}: {what}" for n, k, what, _ in r.crashes[:10])


@pytest.mark.parametrize("path", sorted(fuzz_tflite.CORPUS.glob("*.tflite")), ids=lambda p: p.stem)
def test_crash_corpus_is_refused_cleanly(path):
    """Files that crashed generate before (one per crash class), kept as regressions."""
    assert fuzz_tflite.run_case(path.read_bytes()) == "refused"


def _fc(over: dict | None = None) -> bytes:
    """input[1,4] → FULLY_CONNECTED → output[1,3], with one tensor field overridden."""
    tensors = [act("input", [1, 4]), const("w", np.ones((3, 4)), "int8", scale=[0.01, 0.02, 0.03], zp=0),
               const("b", np.zeros(3), "int32", scale=[1e-4, 2e-4, 3e-4], zp=0), act("output", [1, 3])]
    for (i, key), v in (over or {}).items():
        tensors[i][key] = v
    return build_tflite(tensors, [{"op": "FULLY_CONNECTED", "inputs": [0, 1, 2], "outputs": [3]}], [0], [3])


HOSTILE = {
    "huge dimension": (_fc({(3, "shape"): [1, 0x7FFFFFFF]}), r"tensor 3 \('output'\) has shape"),
    "negative dimension": (_fc({(0, "shape"): [1, -1]}), r"tensor 0 \('input'\) has shape"),
    "zero dimension": (_fc({(3, "shape"): [1, 0]}), r"every dimension must be positive"),
    "NaN scale": (_fc({(3, "scale"): float("nan")}), r"tensor 3 \('output'\) has scale nan"),
    "inf scale": (_fc({(0, "scale"): float("inf")}), r"has scale inf"),
    "zero scale": (_fc({(3, "scale"): 0.0}), r"has scale 0.0"),
    "negative scale": (_fc({(0, "scale"): -0.5}), r"has scale -0.5"),
    "zero point out of range": (_fc({(3, "zp"): 300}), r"zero point 300, outside the int8 range"),
    "empty graph": (build_tflite([act("x", [1, 4])], [], [], []), r"empty graph"),
    "constant output": (build_tflite([act("input", [1, 4]), const("c", np.ones((1, 4)), "int8", scale=0.1, zp=0)],
                                     [{"op": "RESHAPE", "inputs": [0], "outputs": [1]}], [0], [1]),
                        r"output tensor 'c' is a constant"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_model_is_refused_naming_the_tensor(case, tmp_path):
    buf, pattern = HOSTILE[case]
    from edgeq.codegen import generate

    with pytest.raises(InputError, match=pattern):
        generate(buf, tmp_path / "gen")
    assert not (tmp_path / "gen").exists()
    model = tmp_path / "m.tflite"
    model.write_bytes(buf)
    for cmd in (["generate", str(model), "-o", str(tmp_path / "g2")], ["size-check", str(model), "--flash", "1M",
                                                                       "--sram", "1M"]):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 2, (cmd, r.output)
        assert "Traceback" not in r.output and "error" in r.output.lower()


def test_valid_model_still_generates(tmp_path):
    from edgeq.codegen import generate

    assert generate(fc_model(), tmp_path / "gen").arena_bytes > 0
    assert generate(_fc(), tmp_path / "gen2").arena_bytes > 0
