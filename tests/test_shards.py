"""`flash-and-test --jobs N`: the test set split over N QEMU instances of one build gives the same
results as one job, and a shard whose emulator dies keeps what it measured for --resume."""

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

# what depends on when the UART's bytes arrive relative to the emulated SysTick (±1 tick), on how
# many sessions there were (link counters) or on the workdir: everything else must be identical
TIMING = ("ticks", "instructions", "cycles")
REPORT_VARIES = ("latency", "link", "html", "results_file")


def edgeq(*args):
    return subprocess.run([sys.executable, "-m", "edgeq", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


def _content(results: Path) -> list[str]:
    """results.jsonl without the timing fields, line by line (order included)."""
    return [json.dumps({k: v for k, v in json.loads(line).items() if k not in TIMING}, sort_keys=True)
            for line in results.read_text().splitlines()]


# ------------------------------------------------------------------- without an emulator

def test_blocks_cover_every_index_once():
    from edgeq.shards import shard_blocks

    for n in (1, 2, 7, 450):
        for jobs in range(1, min(n, 5) + 1):
            blocks = shard_blocks(n, jobs)
            assert [i for b in blocks for i in b] == list(range(n))
            assert max(map(len, blocks)) - min(map(len, blocks)) <= 1 and all(len(b) for b in blocks)


def test_leftover_shard_files_count_as_recorded(tmp_path):
    """A run killed outright leaves its shard files: they are read back (a torn last line
    dropped), folded into results.jsonl, and removed."""
    from edgeq.device.runner import InferRecord
    from edgeq.shards import merge, recorded, shard_path

    results = tmp_path / "results.jsonl"
    recs = [InferRecord(i, (bytes([i, 255 - i]),), 100 + i, "systick", 0, 4000 + i) for i in range(6)]
    line = lambda r: json.dumps(r.to_json(), sort_keys=True) + "\n"  # noqa: E731
    results.write_text(line(recs[0]))
    shard_path(results, 0).write_text(line(recs[2]) + line(recs[1]))
    shard_path(results, 1).write_text(line(recs[4]) + line(recs[3]) + line(recs[5])[:20])  # torn by a kill
    assert sorted(recorded(results)) == [0, 1, 2, 3, 4]
    merged = merge(results)
    assert merged == {r.index: r for r in recs[:5]}
    assert results.read_text() == "".join(line(r) for r in recs[:5])  # sorted by index
    assert not list(tmp_path.glob("results.shard-*"))


def test_bad_jobs_refused_before_building(digits_tflite, tmp_path):
    base = ("flash-and-test", digits_tflite, "--data", DIGITS / "test.npz", "--workdir", tmp_path / "w")
    r = edgeq(*base, "--board", "qemu-mps2-an386", "--jobs", 0)
    assert r.returncode == 2 and "--jobs must be at least 1" in r.stderr
    r = edgeq(*base, "--board", "nucleo-l4r5zi", "--port", "/dev/null", "--jobs", 2)
    assert r.returncode == 2 and "is one real board" in " ".join(r.stderr.split())
    r = edgeq(*base, "--board", "qemu-mps2-an386", "--jobs", 2, "--telemetry")
    assert r.returncode == 2 and "cannot be combined with --jobs" in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr and not (tmp_path / "w").exists()


# ------------------------------------------------------------------- on QEMU

@pytest.mark.emulator
def test_two_jobs_same_results_as_one(digits_tflite, tmp_path):
    """The whole digits test set, once on one QEMU and once split over two: the same outputs for
    every sample, in the same order, and the same report apart from timing and link counters."""
    for t in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake"):
        require_tool(t)
    reports = {}
    for jobs in (1, 2):
        r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
                  "--workdir", tmp_path / f"j{jobs}", "--jobs", jobs, "--json")
        assert r.returncode == 0, r.stderr
        reports[jobs] = json.loads(r.stdout)
        assert not list((tmp_path / f"j{jobs}").glob("results.shard-*"))
    one, two = (_content(tmp_path / f"j{j}" / "results.jsonl") for j in (1, 2))
    assert len(one) == reports[1]["samples"] == 450 and one == two
    assert {k: v for k, v in reports[1].items() if k not in REPORT_VARIES} == \
        {k: v for k, v in reports[2].items() if k not in REPORT_VARIES}
    assert reports[2]["bit_exact_rate"] == 1.0
    assert reports[2]["link"]["readys"] == 2  # two sessions really ran
    for jobs in (1, 2):  # the instruction counts agree to the SysTick's resolution
        lat = reports[jobs]["latency"]["instructions"]
        assert abs(lat["mean"] - reports[1]["latency"]["instructions"]["mean"]) < 0.001 * lat["mean"]


def _qemu_children(pid: int, tag: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
        if ppid == pid and "qemu-system-arm" in cmd and tag in cmd:
            out.append(int(d.name))
    return out


@pytest.mark.emulator
def test_killed_shard_keeps_its_results_and_resume_finishes(digits_tflite, tmp_path):
    """One of two QEMUs killed mid-run: exit 3 with a clear message, the other shard finishes its
    block, everything measured is in results.jsonl; --resume then runs only what is missing."""
    for t in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake"):
        require_tool(t)
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to find the QEMU children")
    args = [sys.executable, "-m", "edgeq", "flash-and-test", str(digits_tflite), "--board", "qemu-mps2-an386",
            "--data", str(DIGITS / "test.npz"), "--limit", "200", "--workdir", str(tmp_path), "--jobs", "2"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            shard = tmp_path / "results.shard-0.jsonl"
            if shard.exists() and shard.read_text().count("\n") > 0:
                qemus = _qemu_children(proc.pid, str(tmp_path))
                if len(qemus) == 2:
                    killed = qemus[0]
                    os.kill(killed, signal.SIGKILL)  # started by the edgeq this test started
                    break
            time.sleep(0.01)
        _out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed is not None, f"two QEMUs were never seen running while results came in: {err}"
    err1 = " ".join(err.split())
    assert proc.returncode == 3, err
    results = tmp_path / "results.jsonl"
    kept = {json.loads(x)["index"]: x for x in results.read_text().splitlines()}
    assert "Traceback" not in err and f"after {len(kept)} of 200 results" in err1 and "--resume" in err1
    assert "shard " in err1
    assert not list(tmp_path.glob("results.shard-*"))  # merged on the way out
    # the shard that lived ran its whole block; the killed one kept what it had measured
    blocks = [set(range(0, 100)), set(range(100, 200))]
    assert any(b <= kept.keys() for b in blocks) and 100 <= len(kept) < 200
    r = edgeq(*args[3:], "--resume", "--json")
    assert r.returncode == 0, r.stderr
    assert f"resuming: {len(kept)} of 200 results reused" in " ".join(r.stderr.split())
    rep = json.loads(r.stdout)
    assert rep["samples"] == 200 and rep["bit_exact_rate"] == 1.0
    lines = results.read_text().splitlines()
    assert [json.loads(x)["index"] for x in lines] == list(range(200))
    assert all(kept[json.loads(x)["index"]] == x for x in lines if json.loads(x)["index"] in kept)  # not re-run
