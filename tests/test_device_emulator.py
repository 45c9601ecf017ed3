"""Emulator tier: the real test firmware (with the fake model, firmware/test_model/) built
for QEMU boards, flashed = started in QEMU, and driven over its UART by the host client.

Covers: INFO round trip, INFER results, corruption in transit → NAK → retry, a dropped byte →
recovery, garbage on the line, QEMU killed mid-run → DeviceLost with the results so far kept
in the JSONL → resume completes, clean exit. Plus compile-and-link of every real board."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import require_tool
from edgeq.boards import get_board, list_boards
from edgeq.build import build_firmware, target_from_board
from edgeq.device import protocol as P
from edgeq.device.client import DeviceClient, DeviceLost, DeviceProtocolError
from edgeq.device.flashers import start_board
from edgeq.device.runner import load_results, run_dataset
from fake_device import fake_model

pytestmark = pytest.mark.emulator

CORE_BOARDS = ["qemu-mps2-an386", "qemu-mps3-an547", "qemu-netduinoplus2"]
OTHER_QEMU = ["qemu-mps2-an385", "qemu-mps2-an500", "qemu-mps2-an505", "qemu-microbit"]
REAL_BOARDS = [b.name for b in list_boards() if not b.emulated]

_BUILT: dict = {}


@pytest.fixture(scope="session")
def firmware(tmp_path_factory):
    """board name → BuildResult of the test firmware (built once per session)."""
    require_tool("arm-none-eabi-gcc")
    require_tool("cmake")
    root = tmp_path_factory.mktemp("fw")

    def get(name: str):
        if name not in _BUILT:
            _BUILT[name] = build_firmware(get_board(name), root / name)
        return _BUILT[name]

    return get


@pytest.fixture
def device(firmware):
    """Start a board in QEMU; yields (session, client); QEMU is always stopped afterwards."""
    require_tool("qemu-system-arm")
    sessions = []

    def start(name: str, **client_kw):
        fw = firmware(name)
        q = start_board(get_board(name), fw.elf)
        sessions.append(q)
        c = DeviceClient(q.port, timeout=client_kw.pop("timeout", 0.5), retries=client_kw.pop("retries", 3),
                         **client_kw)
        c.wait_ready(30)  # 10 s was missed once on a loaded 2-core machine (two QEMUs + compiles)
        return q, c

    yield start
    for q in sessions:
        q.stop()
        assert not q.alive()


class FaultyPort:
    """Wraps a real port and damages chosen host writes: flip a bit / drop a byte."""

    def __init__(self, port, *, flip=None, drop=None, garbage_before=None):
        self.port, self.flip, self.drop, self.garbage = port, dict(flip or {}), dict(drop or {}), dict(garbage_before or {})
        self.n = 0

    def write(self, data):
        k, self.n = self.n, self.n + 1
        data = bytearray(data)
        if k in self.flip:
            data[self.flip[k]] ^= 0x04
        if k in self.drop:
            del data[self.drop[k]]
        if k in self.garbage:
            data[:0] = self.garbage[k]
        return self.port.write(bytes(data))

    def __getattr__(self, name):
        return getattr(self.port, name)

    def __setattr__(self, name, value):
        if name == "timeout":
            self.port.timeout = value
        else:
            super().__setattr__(name, value)


def _samples(n, seed):
    x = np.random.default_rng(seed).integers(-128, 128, (n, 1, 16)).astype(np.int8)
    x[0] = 127  # saturation of "reversed + 1"
    if n > 1:
        x[1] = -128
    return x


@pytest.mark.parametrize("name", CORE_BOARDS + OTHER_QEMU)
def test_info_and_infer(device, name):
    q, c = device(name)
    board = get_board(name)
    assert c.ready.board == name and c.ready.protocol_version == P.PROTOCOL_VERSION
    info = c.info()
    assert (info.model_name, info.board, info.arena_bytes) == ("fake", name, 64)
    assert info.model_sha256 == bytes(range(32)).hex()
    assert info.cpu_hz == board.clock_hz and info.timer_name == "systick"  # no CYCCNT under QEMU
    assert info.inputs == (P.TensorInfo(P.DTYPE_INT8, (1, 16), 16, 0.5, -3),)
    assert info.outputs == (P.TensorInfo(P.DTYPE_INT8, (1, 16), 16, 0.25, 5),
                            P.TensorInfo(P.DTYPE_INT16, (1, 1), 2, 1.0, 0))
    target = target_from_board(board)
    assert 0 < info.max_payload < target.ram.length
    x = _samples(8, seed=3)
    ticks = set()
    for s in x:
        r = c.infer(s.tobytes())
        assert r.status == 0 and r.outputs == fake_model(s.tobytes())
        ticks.add(r.ticks)
    # -icount shift=0: deterministic up to the timer's resolution (where a timer tick falls
    # relative to the start differs per sample: a reading may move by one tick either way; the
    # microbit's timer ticks every 62.5 instructions, so compare ticks, never rounded
    # instruction counts); the fake model's 1000-iteration loop dominates
    instr = {P.ticks_to_instructions(t, info.timer_hz) for t in ticks}
    assert max(ticks) - min(ticks) <= 2 and all(3000 < i < 20000 for i in instr), (ticks, instr)
    assert c.ping(b"\xa5\x5a\x00" * 50) == b"\xa5\x5a\x00" * 50
    c.bye()
    assert q.wait(5) == 0  # semihosting exit


@pytest.mark.parametrize("name", CORE_BOARDS)
def test_corrupted_bytes_are_naked_and_retried(device, name):
    q, c = device(name)
    c.info()
    c.port = FaultyPort(q.port, flip={0: 14, 2: 20})  # payload bytes of INFER #1 and #2's CRC
    x = _samples(3, seed=5)
    for s in x:
        assert c.infer(s.tobytes()).outputs == fake_model(s.tobytes())
    assert c.stats.naks == 2 and c.stats.retransmits == 2 and c.stats.timeouts == 0


@pytest.mark.parametrize("name", CORE_BOARDS)
def test_corrupted_header_and_garbage_recover(device, name):
    q, c = device(name)
    c.info()
    # write 0: length byte hit → the device rejects the header and resyncs (no NAK possible);
    # write 2: line noise with a false sync in front of a good frame
    c.port = FaultyPort(q.port, flip={0: 5}, garbage_before={2: b"\x00\xa5\x5a\xff\xa5noise"})
    x = _samples(2, seed=6)
    for s in x:
        assert c.infer(s.tobytes()).outputs == fake_model(s.tobytes())
    assert c.stats.timeouts == 1 and c.stats.retransmits == 1


@pytest.mark.parametrize("name", CORE_BOARDS)
def test_dropped_byte_recovers(device, name):
    q, c = device(name)
    c.info()
    c.port = FaultyPort(q.port, drop={0: 17})
    s = _samples(1, seed=7)[0]
    assert c.infer(s.tobytes()).outputs == fake_model(s.tobytes())
    # the device waited for the missing byte until the host's zero padding completed the frame;
    # its NAK (for the old seq) then arrives while the retransmission is outstanding: stale
    assert c.stats.timeouts == 1 and c.stats.retransmits == 1 and c.stats.stale_replies == 1


@pytest.mark.parametrize("name", CORE_BOARDS)
def test_qemu_killed_mid_run_then_resume(device, tmp_path, name):
    x = _samples(16, seed=8)
    path = tmp_path / "results.jsonl"
    q, c = device(name)

    def kill_after_five(done, total, rec):
        if done == 5:
            q.kill()

    with pytest.raises(DeviceLost) as ei:
        run_dataset(c, x, path, icount_shift=0, progress=kill_after_five)
    assert [r.index for r in ei.value.records] == list(range(5))
    assert "5 of 16" in str(ei.value) and ei.value.results_path == path
    assert sorted(load_results(path)) == list(range(5))
    assert not q.alive()

    q2, c2 = device(name)
    recs = run_dataset(c2, x, path, icount_shift=0, resume=True)
    assert [r.index for r in recs] == list(range(16))
    for r in recs:
        assert r.outputs == fake_model(x[r.index].tobytes()) and r.instructions > 0
    assert len(path.read_text().splitlines()) == 16


def test_session_leaves_no_process(firmware):
    require_tool("qemu-system-arm")
    fw = firmware("qemu-mps2-an386")
    with start_board(get_board("qemu-mps2-an386"), fw.elf) as q:
        pid = q.pid
        assert q.alive()
    assert not q.alive()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_real_board_firmware_links(firmware, name):
    """Each real board's firmware compiles and links into its own flash/SRAM regions, with the
    vector table (initial SP = top of the default SRAM, reset vector in flash) at the flash origin."""
    fw = firmware(name)
    t = target_from_board(get_board(name))
    assert fw.flash_bytes <= fw.flash_capacity and fw.free_ram_bytes > 0
    out = subprocess.run(["arm-none-eabi-objdump", "-h", str(fw.elf)], capture_output=True, text=True, check=True).stdout
    text = next(line.split() for line in out.splitlines() if " .text " in line)
    assert int(text[3], 16) == t.flash.origin  # VMA of .text (the vector table comes first)
    binary = fw.build_dir / "fw.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(fw.elf), str(binary)], check=True)
    sp, reset = (int(v) for v in np.frombuffer(binary.read_bytes()[:8], "<u4"))
    assert sp == t.ram.origin + t.ram.length
    assert t.flash.origin <= (reset & ~1) < t.flash.origin + t.flash.length and reset & 1  # Thumb


def test_device_session_runs_dataset(firmware, tmp_path):
    """The flash-and-test path: device_session + run_dataset on a virtual board."""
    require_tool("qemu-system-arm")
    from edgeq.device.session import device_session

    board = get_board("qemu-mps2-an386")
    x = _samples(6, seed=9)
    with device_session(board, firmware("qemu-mps2-an386").elf) as dev:
        assert dev.emulated and dev.icount_shift == 0 and dev.client.info().board == board.name
        recs = run_dataset(dev.client, x, tmp_path / "r.jsonl", icount_shift=dev.icount_shift)
        q = dev.qemu
    assert not q.alive() and q.proc.returncode == 0  # BYE → semihosting exit 0
    assert [r.outputs for r in recs] == [fake_model(s.tobytes()) for s in x]
    instr = [r.instructions for r in recs]  # deterministic up to one SysTick tick (40 instructions)
    assert max(instr) - min(instr) <= 40


def test_generated_model_on_virtual_board_is_bit_exact(firmware, digits_tflite, digits_data, tmp_path):
    """End to end: `edgeq generate` output linked into the firmware, run on the virtual M4,
    outputs identical to the TFLM reference interpreter on the same int8 inputs."""
    require_tool("qemu-system-arm")
    from edgeq.codegen import generate
    from edgeq.device.session import device_session
    from tflite_micro.python.tflite_micro import runtime

    gen = generate(digits_tflite, tmp_path / "digits_c", name="digits")
    board = get_board("qemu-mps2-an386")
    fw = build_firmware(board, tmp_path / "build", model_dir=gen.out_dir)
    assert fw.flash_bytes > gen.data_bytes  # the weights are in flash
    x = digits_data["x_test"][:40]
    with device_session(board, fw.elf) as dev:
        info = dev.client.info()
        assert info.model_name == "digits" and info.model_sha256 == gen.sha256
        assert info.arena_bytes == gen.arena_bytes
        inp = info.inputs[0]
        q = np.clip(np.round(x / inp.scale + inp.zero_point), -128, 127).astype(np.int8).reshape((-1,) + inp.shape)
        recs = run_dataset(dev.client, q, tmp_path / "r.jsonl", icount_shift=0)
    device_out = np.stack([r.output_arrays(info)[0] for r in recs])
    interp = runtime.Interpreter.from_bytes(Path(digits_tflite).read_bytes())
    ref = []
    for s in q:
        interp.set_input(s, 0)
        interp.invoke()
        ref.append(interp.get_output(0))
    np.testing.assert_array_equal(device_out, np.stack(ref))
    instr = [r.instructions for r in recs]  # data-dependent branches move it a little
    assert 0 < min(instr) and max(instr) < 1.01 * min(instr)


def test_forgotten_session_is_stopped_at_exit(firmware, tmp_path):
    """A program that starts QEMU and exits (or crashes) without stop() leaves no QEMU behind."""
    import os
    import sys
    import time

    require_tool("qemu-system-arm")
    elf = firmware("qemu-mps2-an386").elf
    code = ("import sys; from edgeq.device.flashers import start_qemu\n"
            f"q = start_qemu('mps2-an386', {str(elf)!r}); print(q.pid, flush=True)\n"
            "raise RuntimeError('crash without cleanup')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 1 and "crash without cleanup" in proc.stderr
    pid = int(proc.stdout.split()[0])
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        pytest.fail("QEMU outlived the program that started it")


def test_long_inference_timing_survives_systick_wraps(tmp_path):
    """An inference longer than SysTick's 24-bit range (2^24 ticks = 0.1 s at 168 MHz) is still
    timed right: the wrap interrupt extends the count to 64 bits."""
    import dataclasses

    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    board = get_board("qemu-netduinoplus2")
    work = 20_000_000
    target = dataclasses.replace(target_from_board(board), extra_defines={"EDGEQ_FAKE_WORK": work})
    fw = build_firmware(target, tmp_path / "build")
    with start_board(board, fw.elf) as q:
        c = DeviceClient(q.port, timeout=30)
        c.wait_ready(10)
        info = c.info()
        r = c.infer(bytes(16))
    assert r.ticks > (1 << 24)  # 120 M instructions = 20 M ticks: at least one wrap
    per_iteration = P.ticks_to_instructions(r.ticks, info.timer_hz) / work
    assert 5.0 < per_iteration < 7.0, per_iteration  # the same loop costs 6.16 per iteration at 1000


@pytest.mark.parametrize("name", ["qemu-mps2-an386", "qemu-netduinoplus2"])
def test_file_upload_matches_serial_upload(device, tmp_path, name):
    """INFER_FILE (inputs read by the emulated board through semihosting) gives the same
    results and timing as streaming the inputs over the UART."""
    q, c = device(name)
    x = _samples(10, seed=11)
    serial_recs = run_dataset(c, x, tmp_path / "serial.jsonl", icount_shift=0, upload="serial")
    sent = c.stats.sent
    file_recs = run_dataset(c, x, tmp_path / "file.jsonl", icount_shift=0, upload="file")
    assert c.stats.sent == sent + 10 and c.stats.retransmits == 0
    assert [r.outputs for r in file_recs] == [r.outputs for r in serial_recs] == [fake_model(s.tobytes()) for s in x]
    assert all(abs(a.ticks - b.ticks) <= 1 for a, b in zip(file_recs, serial_recs))
    assert not list(tmp_path.glob(".*.inputs"))  # the temporary inputs file is gone
    with pytest.raises(DeviceProtocolError, match="host file"):
        c.infer_file(str(tmp_path / "missing.bin"))
