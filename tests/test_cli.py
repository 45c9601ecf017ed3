"""The CLI as a user meets it: exit codes, messages without tracebacks, JSON, fast help, packaging."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import DIGITS, REPO

MODEL = str(DIGITS / "digits.keras")
CALIB = str(DIGITS / "train.npz")
TEST = str(DIGITS / "test.npz")


def edgeq(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "edgeq", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


@pytest.mark.unit
@pytest.mark.parametrize("argv", [["--help"], ["convert", "--help"], ["evaluate", "--help"]])
def test_help_is_fast_and_has_examples(argv):
    code = ("import sys; sys.argv = ['edgeq'] + %r\n"
            "from edgeq.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'tflite_micro') if m in sys.modules]\n"
            "assert not heavy, heavy\n") % argv
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    if argv != ["--help"]:
        assert "Example" in r.stdout and "edgeq " + argv[0] in r.stdout


@pytest.mark.unit
def test_missing_model_exit_2_without_traceback(tmp_path):
    r = edgeq("convert", tmp_path / "nope.keras", "--calib", CALIB)
    assert r.returncode == 2
    assert "model not found" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.unit
def test_usage_error_exit_2():
    r = edgeq("convert", MODEL)  # --calib missing
    assert r.returncode == 2 and "--calib" in r.stderr


@pytest.mark.slow
def test_bad_calibration_data_exit_2(tmp_path):
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 8, 8, 1), np.float32))
    np.save(tmp_path / "wrong.npy", np.zeros((4, 10), np.float32))
    for data, msg in (("bad.csv", "non-numeric value 'x'"), ("empty.npz", "no samples"),
                      ("wrong.npy", "expects (8, 8, 1)")):
        out = tmp_path / "m.tflite"
        r = edgeq("convert", MODEL, "--calib", tmp_path / data, "-o", out)
        assert r.returncode == 2, (data, r.stderr)
        assert msg in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not out.exists()


@pytest.mark.slow
def test_convert_json_then_gate(tmp_path):
    out = tmp_path / "d.tflite"
    r = edgeq("convert", MODEL, "--calib", CALIB, "-o", out, "--samples", "100", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["output"] == str(out) and out.is_file() and res["tflite"]["bytes"] == out.stat().st_size

    r = edgeq("evaluate", MODEL, out, "--data", TEST, "--json")
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    drop = ev["drop_pp"]
    assert ev["task"] == "classification" and ev["samples"] == 450
    # the gate: passes at the measured drop, fails (exit 1) just below it
    r = edgeq("evaluate", MODEL, out, "--data", TEST, "--max-drop", drop)
    assert r.returncode == 0, r.stderr
    r = edgeq("evaluate", MODEL, out, "--data", TEST, "--max-drop", drop - 0.5)
    assert r.returncode == 1 and "exceeds --max-drop" in r.stderr


@pytest.mark.slow
def test_wheel_carries_templates_and_firmware(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                        str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:  # no hatchling in this environment: let pip fetch the build backend
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = tmp_path.glob("edgeq-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "edgeq/_tree/firmware/runtime/edgeq_model.h" in names
    assert "edgeq/_tree/CMakeLists.txt" in names  # firmware builds work from an installed wheel
    assert any(n.startswith("edgeq/_templates/") for n in names)
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    code = ("import edgeq.resources as r; t, f = r.templates_dir(), r.firmware_dir(); "
            "assert '_templates' in str(t) and '_tree' in str(f), (t, f); "
            "assert (f / 'runtime' / 'edgeq_model.h').is_file(); print(t)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert str(target) in r.stdout
