"""`flash-and-test --labgrid PLACE` against a real labgrid farm on 127.0.0.1: a labgrid-coordinator,
a labgrid-exporter exporting two virtual boards (edgeq.farm.board_server: QEMU with its UART on
a TCP port as a NetworkSerialPort, flashed by upload), places made with labgrid-client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DIGITS, REPO, require_tool

pytest.importorskip("labgrid", reason="labgrid is not installed (pip install 'edgeq[farm]')")
pytestmark = pytest.mark.emulator

BOARDS = ("vb0", "vb1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(what: str, ok, timeout: float, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():
            return
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{what}: {p.args[0]} exited with {p.returncode}")
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")


class Farm:
    def __init__(self, root: Path):
        self.root = root
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.env.pop("LG_COORDINATOR", None)
        self.address = ""

    def spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("wb")
        p = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def client(self, *args, user: str | None = None) -> subprocess.CompletedProcess:
        env = dict(self.env, **({"LG_USERNAME": user} if user else {}))
        return subprocess.run(["labgrid-client", "-x", self.address, *args], env=env, capture_output=True,
                              text=True, timeout=60)

    def start(self) -> None:
        for _attempt in range(3):  # a free port taken by someone else in between: another one
            port = _free_port()
            coord = self.spawn("coordinator", ["labgrid-coordinator", "--listen", f"127.0.0.1:{port}"])
            try:
                _wait("labgrid-coordinator", lambda: _listening(port), 60, [coord])
                break
            except RuntimeError:
                continue
        else:
            raise RuntimeError("labgrid-coordinator did not start: " + (self.root / "coordinator.log").read_text())
        self.address = f"127.0.0.1:{port}"
        config = []
        for name in BOARDS:
            serial, flash = _free_port(), _free_port()
            ready = self.root / f"{name}.ready"
            vb = self.spawn(name, [sys.executable, "-m", "edgeq.farm.board_server", "--machine", "mps2-an386",
                                   "--serial-port", str(serial), "--flash-port", str(flash), "--ready-file", str(ready)])
            _wait(f"virtual board {name}", ready.exists, 60, [vb])
            config += [f"{name}:",
                       f"  NetworkSerialPort: {{host: 127.0.0.1, port: {serial}, protocol: raw, speed: 115200}}",
                       f"  EdgeqFlasher: {{host: 127.0.0.1, port: {flash}}}"]
        (self.root / "exporter.yaml").write_text("\n".join(config) + "\n")
        exp = self.spawn("exporter", ["labgrid-exporter", "-c", self.address, "--name", "testexp",
                                      "--hostname", "127.0.0.1", "exporter.yaml"])
        want = {f"testexp/{b}/{cls}" for b in BOARDS for cls in ("NetworkSerialPort", "EdgeqFlasher")}
        _wait("labgrid-exporter resources", lambda: want <= set(self.client("resources").stdout.split()), 120, [exp])
        for name in BOARDS:
            for cmd in (["-p", name, "create"], ["-p", name, "add-match", f"testexp/{name}/*"]):
                r = self.client(*cmd)
                assert r.returncode == 0, r.stderr

    def stop(self) -> None:
        for p in reversed(self.procs):  # exporter, boards (they stop their QEMU), coordinator
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def acquired_by(self, place: str) -> str | None:
        r = self.client("-p", place, "show")
        for line in r.stdout.splitlines():
            if line.strip().startswith("acquired:"):
                v = line.split(":", 1)[1].strip()
                return None if v in ("", "None") else v
        raise AssertionError(f"no 'acquired:' in labgrid-client show: {r.stdout} {r.stderr}")


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    for t in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake", "labgrid-coordinator", "labgrid-exporter",
              "labgrid-client"):
        require_tool(t)
    f = Farm(tmp_path_factory.mktemp("farm"))
    try:
        f.start()
        yield f
    finally:
        f.stop()


def edgeq(*args, env=None):
    return subprocess.run([sys.executable, "-m", "edgeq", *map(str, args)], capture_output=True, text=True,
                          timeout=900, env=env)


def test_flash_and_test_through_a_place(farm, digits_tflite, tmp_path):
    """The coordinator from LG_COORDINATOR; bit-exact on the exported virtual board; released after."""
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 30, "--workdir", tmp_path, "--labgrid", "vb0", "--json",
              env=dict(farm.env, LG_COORDINATOR=farm.address))
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["samples"] == 30 and rep["bit_exact_rate"] == 1.0 and rep["mismatch_count"] == 0
    assert rep["latency"]["instructions"]["min"] > 10_000  # QEMU -icount on the exporter's side
    assert farm.acquired_by("vb0") is None


def test_jobs_across_two_places(farm, digits_tflite, tmp_path):
    """Two places, one shard each: the same outputs as a local run on one emulator."""
    common = ("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--limit", 40, "--json")
    r = edgeq(*common, "--workdir", tmp_path / "farm", "--labgrid", "vb0", "--labgrid", "vb1",
              "--coordinator", farm.address, env=farm.env)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["bit_exact_rate"] == 1.0 and rep["link"]["readys"] + rep["link"]["sent"] > 40
    local = edgeq(*common, "--workdir", tmp_path / "local", env=farm.env)
    assert local.returncode == 0, local.stderr

    def outputs(work):
        return [(d["index"], d["outputs"], d["status"])
                for d in map(json.loads, (work / "results.jsonl").read_text().splitlines())]

    assert outputs(tmp_path / "farm") == outputs(tmp_path / "local") and len(outputs(tmp_path / "local")) == 40
    assert farm.acquired_by("vb0") is None and farm.acquired_by("vb1") is None


def test_place_held_by_someone_else_is_refused(farm, digits_tflite, tmp_path):
    r = farm.client("-p", "vb1", "acquire", user="alice")
    assert r.returncode == 0, r.stderr
    try:
        r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
                  "--limit", 5, "--workdir", tmp_path, "--labgrid", "vb1", "--coordinator", farm.address,
                  env=farm.env)
        err = " ".join(r.stderr.split())
        assert r.returncode == 2, r.stderr
        assert "labgrid place vb1 is already acquired by" in err and "/alice" in err and "Traceback" not in err
        assert farm.acquired_by("vb1").endswith("/alice")  # not released by the refused run
    finally:
        farm.client("-p", "vb1", "release", user="alice")


def _qemu_of(pid: int) -> list[int]:
    """QEMUs started by process ``pid`` (a board server of this test's farm)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
        if ppid == pid and b"qemu-system-arm" in cmd:
            out.append(int(d.name))
    return out


def test_board_lost_mid_run_keeps_results_releases_the_place_and_resume_finishes(farm, digits_tflite, tmp_path):
    """The farm board's emulator dies mid-run: exit 3, what was measured kept, the place released;
    --resume through the place (flashed again) runs only the rest."""
    import signal

    server = farm.procs[1 + BOARDS.index("vb0")]  # the coordinator is procs[0], then the boards
    args = ["flash-and-test", str(digits_tflite), "--board", "qemu-mps2-an386", "--data", str(DIGITS / "test.npz"),
            "--limit", "150", "--workdir", str(tmp_path), "--labgrid", "vb0", "--coordinator", farm.address]
    results = tmp_path / "results.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "edgeq", *args], env=farm.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    killed = None
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.read_text().count("\n") > 0:
                qemus = _qemu_of(server.pid)
                if qemus:
                    killed = qemus[0]
                    os.kill(killed, signal.SIGKILL)  # started by the board server this test started
                    break
            time.sleep(0.01)
        _out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed is not None, f"the board's QEMU was never seen while results came in: {err}"
    kept = results.read_text().splitlines()
    assert proc.returncode == 3, err
    assert "Traceback" not in err and f"after {len(kept)} of 150 results" in " ".join(err.split())
    assert 0 < len(kept) < 150
    assert farm.acquired_by("vb0") is None  # released on the error path too
    r = edgeq(*args, "--resume", "--json", env=farm.env)
    assert r.returncode == 0, r.stderr
    assert f"resuming: {len(kept)} of 150 results reused" in " ".join(r.stderr.split())
    rep = json.loads(r.stdout)
    assert rep["samples"] == 150 and rep["bit_exact_rate"] == 1.0
    lines = results.read_text().splitlines()
    assert lines[:len(kept)] == kept and sorted(json.loads(x)["index"] for x in lines) == list(range(150))
    assert farm.acquired_by("vb0") is None


def test_labgrid_without_coordinator_refused_before_building(digits_tflite, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LG_COORDINATOR"}
    r = edgeq("flash-and-test", digits_tflite, "--board", "qemu-mps2-an386", "--data", DIGITS / "test.npz",
              "--workdir", tmp_path / "w", "--labgrid", "vb0", env=env)
    assert r.returncode == 2 and "--coordinator" in r.stderr and "LG_COORDINATOR" in r.stderr
    assert not (tmp_path / "w").exists()
