"""Signals and processes: a terminated edgeq stops its emulator and keeps what it measured; a
killed edgeq (SIGKILL: no cleanup of ours runs) still leaves no QEMU behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DIGITS, require_tool
from test_flash_and_test import _children

pytestmark = pytest.mark.emulator


def _start_run(digits_tflite, work: Path) -> tuple[subprocess.Popen, int]:
    """flash-and-test in a child; returns it and its QEMU's pid once results are coming in."""
    for t in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake"):
        require_tool(t)
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the QEMU child")
    args = [sys.executable, "-m", "edgeq", "flash-and-test", str(digits_tflite), "--board", "qemu-mps2-an386",
            "--data", str(DIGITS / "test.npz"), "--limit", "400", "--workdir", str(work)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = work / "results.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and results.read_text().count("\n") > 0:
            qemu = [p for p, cmd in _children(proc.pid) if "qemu-system-arm" in cmd]
            if qemu:
                return proc, qemu[0]
        time.sleep(0.01)
    proc.kill()
    out, err = proc.communicate()
    pytest.fail(f"no QEMU seen while results came in: {err[-2000:]}")


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie still answers kill(0): it is gone for our purpose once it is reaped or a zombie
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_terminate_stops_the_emulator_and_keeps_results(sig, code, digits_tflite, tmp_path):
    proc, qemu = _start_run(digits_tflite, tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and f"terminated by {signal.Signals(sig).name}" in err
    assert _gone(qemu, 10), "QEMU still running after edgeq was terminated"
    kept = (tmp_path / "results.jsonl").read_text().splitlines()
    assert 0 < len(kept) < 400


def test_killed_edgeq_leaves_no_emulator(digits_tflite, tmp_path):
    proc, qemu = _start_run(digits_tflite, tmp_path)
    proc.kill()  # SIGKILL: no handler, no atexit
    proc.communicate(timeout=60)
    assert _gone(qemu, 10), "QEMU orphaned by a SIGKILLed edgeq"
