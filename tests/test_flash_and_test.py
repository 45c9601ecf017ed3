"""`edgeq flash-and-test` end to end on virtual boards: real firmware under QEMU, real serial I/O,
every output byte compared with the host TFLM reference."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    """The default path, as on a real board: every input goes to the device in INFER frames
    over its (emulated) UART."""
    r = edgeq("flash-and-test", digits_tflite, "--board", board, "--data", DIGITS / "test.npz",
              "--limit", 40, "--workdir", tmp_path, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["upload"] == "serial"
    assert rep["link"]["sent"] >= 41 and rep["link"]["retransmits"] == 0  # INFO + one INFER per sample
    assert rep["samples"] == 40 and rep["bit_exact_rate"] == 1.0 and rep["mismatch_count"] == 0
    assert rep["device_accuracy"] == rep["host_accuracy"] > 0.9
    lat = rep["latency"]["instructions"]
    # counted instructions, not time: the spread is the data-dependent work only (softmax's
    # exponentials and sums, clamped outputs), a few percent of digits' 0.1-0.2 M per inference
    assert lat["min"] > 10_000 and lat["max"] < 1.05 * lat["min"]
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


def test_file_upload_on_emulated_board(digits_tflite, tmp_path):
    """--upload file: the emulated board reads its inputs from a host file (semihosting); the
    results are the same bytes as over serial."""
    common = [digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz", "--limit", 30, "--json"]
    r = edgeq("flash-and-test", *common, "--upload", "file", "--workdir", tmp_path / "file")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["upload"] == "file" and rep["samples"] == 30 and rep["bit_exact_rate"] == 1.0
    r = edgeq("flash-and-test", *common, "--workdir", tmp_path / "serial")
    assert r.returncode == 0, r.stderr

    def outputs(d):
        return [(x["index"], x["outputs"]) for x in map(json.loads, (d / "results.jsonl").read_text().splitlines())]

    assert outputs(tmp_path / "file") == outputs(tmp_path / "serial")


def test_file_upload_refused_on_real_board(digits_tflite, tmp_path):
    r = edgeq("flash-and-test", digits_tflite, "--board", "nucleo-l4r5zi", "--port", "/dev/null",
              "--data", DIGITS / "test.npz", "--upload", "file", "--workdir", tmp_path)
    assert r.returncode == 2 and "only on emulated boards" in r.stderr and "Traceback" not in r.stderr
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--upload", "uart", "--workdir", tmp_path)
    assert r.returncode == 2 and "--upload must be serial or file" in r.stderr


# ------------------------------------------------------------------- resume identity, mismatches

@pytest.fixture(scope="module")
def first_run(digits_tflite, tmp_path_factory):
    """One real 20-sample run on the virtual M4; tests copy its results into their own workdir."""
    work = tmp_path_factory.mktemp("first-run")
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 20, "--workdir", work, "--json")
    assert r.returncode == 0, r.stderr
    return work


def _copy_results(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("results.jsonl", "results.meta.json"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def test_resume_refuses_another_limit(first_run, digits_tflite, tmp_path):
    work = _copy_results(first_run, tmp_path)
    meta = json.loads((work / "results.meta.json").read_text())
    assert meta["limit"] == 20 and meta["samples"] == 20 and meta["board"] == "qemu-mps2-an386"
    before = (work / "results.jsonl").read_text()
    for limit in (5, 30):
        r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
                  "--limit", limit, "--workdir", work, "--resume")
        assert r.returncode == 2, r.stderr
        assert "belongs to a different run" in r.stderr and "--limit: recorded 20" in r.stderr
        assert "fresh --workdir" in r.stderr and "Traceback" not in r.stderr
    assert not (work / "build").exists()  # refused before generating and building
    assert (work / "results.jsonl").read_text() == before  # and nothing was touched


def test_resume_refuses_another_model(first_run, tmp_path):
    from edgeq.quantize.convert import ConvertOptions, convert_model

    other = tmp_path / "digits_per_tensor.tflite"
    convert_model(DIGITS / "digits.keras", str(DIGITS / "train.npz"), other, ConvertOptions(granularity="per-tensor"))
    work = _copy_results(first_run, tmp_path / "work")
    r = edgeq("flash-and-test", other, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 20, "--workdir", work, "--resume")
    assert r.returncode == 2, r.stderr
    assert "belongs to a different run" in r.stderr and "model: recorded" in r.stderr
    assert "Traceback" not in r.stderr


def test_resume_refuses_results_without_identity(first_run, digits_tflite, tmp_path):
    work = _copy_results(first_run, tmp_path)
    (work / "results.meta.json").unlink()
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 20, "--workdir", work, "--resume")
    assert r.returncode == 2 and "no run identity" in r.stderr and "Traceback" not in r.stderr


def test_any_differing_byte_fails_the_gate(first_run, digits_tflite, tmp_path):
    """A device output that differs from the host reference in one byte (here: recorded results
    edited, then the run resumed so that nothing is re-measured) fails with exit 1 and lists the
    samples by index; a long list says how many it left out."""
    work = _copy_results(first_run, tmp_path)
    lines = [json.loads(x) for x in (work / "results.jsonl").read_text().splitlines()]
    changed = [1, 2, 3, 5, 7, 8, 9, 11, 12, 13, 17, 19]
    for rec in lines:
        if rec["index"] in changed:
            out = bytearray.fromhex(rec["outputs"][0])
            out[rec["index"] % len(out)] ^= 0x01  # one LSB of one output value
            rec["outputs"][0] = out.hex()
    (work / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    args = ["flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
            "--limit", 20, "--workdir", work, "--resume"]
    r = edgeq(*args)
    assert r.returncode == 1, r.stderr
    err = " ".join(r.stderr.split())
    assert "12 of 20 outputs differ from the host reference" in err
    assert "and 2 more" in err and "Traceback" not in err
    rep = json.loads((work / "report.json").read_text())
    assert [m["index"] for m in rep["mismatches"]] == changed  # all of them, not a cut list
    assert all(m["max_abs_diff"] == 1 and m["values_differing"] == 1 for m in rep["mismatches"])
    # the listed numbers are the samples' indices in the test data file (--limit draws a subset)
    data_idx = [m["data_index"] for m in rep["mismatches"]]
    assert "samples " + ", ".join(map(str, data_idx[:10])) in err
    # a single byte is enough
    lines = [json.loads(x) for x in (first_run / "results.jsonl").read_text().splitlines()]
    lines[4]["outputs"][0] = lines[4]["outputs"][0][:-2] + format(int(lines[4]["outputs"][0][-2:], 16) ^ 0x80, "02x")
    (work / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = edgeq(*args, "--json")
    assert r.returncode == 1
    rep = json.loads(r.stdout)
    assert rep["mismatch_count"] == 1 and rep["mismatches"][0]["index"] == 4
    assert edgeq(*args, "--allow-mismatch").returncode == 0


# ------------------------------------------------------------------- input checks before building

def test_bad_inputs_refused_before_building(digits_tflite, tmp_path):
    import numpy as np

    from tflite_builder import act, build_tflite, const

    base = ["--board", "qemu-mps2-an386", "--workdir", tmp_path]
    unlabelled = tmp_path / "x.npy"
    np.save(unlabelled, np.load(DIGITS / "test.npz")["x"][:10])
    r = edgeq("flash-and-test", digits_tflite, *base, "--data", unlabelled, "--max-drop", 1)
    assert r.returncode == 2 and "--max-drop needs labelled test data" in r.stderr
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((10, 5, 5), np.float32), y=np.zeros(10, np.int64))
    r = edgeq("flash-and-test", digits_tflite, *base, "--data", wrong)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.strip()
    r = edgeq("flash-and-test", digits_tflite, *base, "--data", DIGITS / "test.npz", "--limit", 0)
    assert r.returncode == 2 and "--limit must be positive" in r.stderr
    # two outputs: FULLY_CONNECTED's result and the SOFTMAX of it
    two_out = tmp_path / "two_out.tflite"
    w = np.ones((4, 64), np.int8)
    two_out.write_bytes(build_tflite(
        [act("input", [1, 8, 8, 1]), const("w", w, "int8", scale=np.full(4, 0.01), zp=0),
         const("b", np.zeros(4), "int32", scale=np.full(4, 0.0005), zp=0), act("fc", [1, 4]), act("sm", [1, 4])],
        [{"op": "FULLY_CONNECTED", "inputs": [0, 1, 2], "outputs": [3]}, {"op": "SOFTMAX", "inputs": [3], "outputs": [4]}],
        [0], [3, 4]))
    # (several outputs are supported: tests/test_multi_io.py); its data is checked before building too
    r = edgeq("flash-and-test", two_out, *base, "--data", wrong)
    assert r.returncode == 2 and "(5, 5)" in r.stderr and "(8, 8, 1)" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "build").exists() and not (tmp_path / "gen").exists()


# ------------------------------------------------------------------- emulator killed under the CLI

def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid`` (from /proc: no psutil needed)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                out.append((int(d.name), (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
    return out


def test_cli_emulator_killed_mid_run_then_resume(digits_tflite, tmp_path):
    """`edgeq flash-and-test` whose QEMU dies mid-run: a clear error (no traceback), exit 3, the
    results so far kept; --resume then completes the set, re-running only what was missing."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the QEMU child")
    args = [sys.executable, "-m", "edgeq", "flash-and-test", str(digits_tflite), "--board", "qemu-mps2-an386",
            "--data", str(DIGITS / "test.npz"), "--limit", "200", "--workdir", str(tmp_path)]
    results = tmp_path / "results.jsonl"
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.read_text().count("\n") > 0:
                qemu = [p for p, cmd in _children(proc.pid) if "qemu-system-arm" in cmd and str(tmp_path) in cmd]
                if qemu:
                    killed = qemu[0]
                    os.kill(killed, signal.SIGKILL)  # our own child's child: started by this test
                    break
            time.sleep(0.01)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed is not None, f"QEMU was never seen running while results came in: {err}"
    kept = results.read_text().splitlines()
    err1 = " ".join(err.split())
    assert proc.returncode == 3, err  # a lost device, not bad input
    assert "Traceback" not in err and f"after {len(kept)} of 200 results" in err1 and "--resume" in err1
    assert 0 < len(kept) < 200
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)
    r = edgeq(*args[3:], "--resume", "--json")
    assert r.returncode == 0, r.stderr
    assert f"resuming: {len(kept)} of 200 results reused" in " ".join(r.stderr.split())
    rep = json.loads(r.stdout)
    assert rep["samples"] == 200 and rep["bit_exact_rate"] == 1.0
    lines = results.read_text().splitlines()
    assert lines[:len(kept)] == kept and len(lines) == 200  # the kept ones were not re-run
    assert sorted(json.loads(x)["index"] for x in lines) == list(range(200))


def test_real_board_without_port_refused_before_anything(digits_tflite, tmp_path):
    r = edgeq("flash-and-test", digits_tflite, "--board", "nucleo-l4r5zi", "--data", DIGITS / "test.npz",
              "--workdir", tmp_path / "w")
    assert r.returncode == 2 and "is a real board: give its serial port with --port" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "w").exists()


def test_workdir_in_use_is_refused(digits_tflite, tmp_path):
    from edgeq.errors import InputError
    from edgeq.run_identity import workdir_lock

    with workdir_lock(tmp_path):
        r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
                  "--workdir", tmp_path)
        assert r.returncode == 2 and "is in use by another run" in r.stderr and "Traceback" not in r.stderr
        with pytest.raises(InputError, match="in use"):
            with workdir_lock(tmp_path):
                pass
    with workdir_lock(tmp_path):  # released: usable again
        pass
    assert not (tmp_path / "build").exists()


def test_tflite_with_float_model_reports_the_float_drop(digits_tflite, tmp_path):
    """What `make demo` runs: the converted .tflite (no second conversion) plus --float-model."""
    r = edgeq("flash-and-test", digits_tflite, "--float-model", DIGITS / "digits.keras", "--board", "qemu-mps2-an386",
              "--data", DIGITS / "test.npz", "--limit", 20, "--workdir", tmp_path, "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["bit_exact_rate"] == 1.0 and "float_vs_device_drop_pp" in rep
    assert not (tmp_path / "digits.tflite").exists()  # not converted again


@pytest.mark.unit
def test_the_board_is_looked_up_once_per_run(tmp_path, monkeypatch):
    """Every stage (checks, size-check, generate, build, flashing) takes the one Board object."""
    import edgeq.boards
    from edgeq.errors import InputError
    from edgeq.flash_and_test import FlashTestOptions, flash_and_test

    calls = []
    real = edgeq.boards.get_board
    monkeypatch.setattr(edgeq.boards, "get_board", lambda name, *a, **k: calls.append(name) or real(name, *a, **k))
    opts = FlashTestOptions(board="qemu-mps2-an386", data=str(tmp_path / "d.npz"), workdir=tmp_path / "w")
    with pytest.raises(InputError, match="TFLite model not found"):
        flash_and_test(tmp_path / "missing.tflite", opts)
    assert calls == ["qemu-mps2-an386"]
