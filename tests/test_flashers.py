"""Unit tests: the exact command lines each flasher runs, UF2 encoding, missing-tool errors."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from edgeq.device import flashers as F
from edgeq.errors import InputError

pytestmark = pytest.mark.unit

ELF = Path("/tmp/build/firmware.elf")


def test_qemu_command():
    assert F.qemu_command("mps2-an386", ELF, tcp_port=4321) == [
        "qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-semihosting",
        "-icount", "shift=0", "-serial", "tcp:127.0.0.1:4321,server=on,wait=on,nodelay=on",
        "-kernel", "/tmp/build/firmware.elf"]
    cmd = F.qemu_command("mps3-an547", ELF, tcp_port=1, icount_shift=None, semihosting=False)
    assert "-icount" not in cmd and "-semihosting" not in cmd


def test_real_board_commands():
    assert F.openocd_command(ELF, ["interface/stlink.cfg", "target/stm32f4x.cfg"]) == [
        "openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f4x.cfg",
        "-c", "program /tmp/build/firmware.elf verify reset exit"]
    assert F.openocd_command(ELF, ["board/x.cfg"], adapter_speed_khz=4000)[3:5] == ["-c", "adapter speed 4000"]
    assert F.pyocd_command(ELF, "mimxrt1060") == ["pyocd", "flash", "--target", "mimxrt1060",
                                                  "/tmp/build/firmware.elf"]
    assert F.pyocd_command(ELF, "nrf52840", probe_uid="0240")[4:6] == ["--uid", "0240"]
    assert F.st_flash_command("/tmp/fw.bin", 0x08000000) == ["st-flash", "--reset", "write", "/tmp/fw.bin",
                                                            "0x08000000"]
    assert F.picotool_command(ELF) == ["picotool", "load", "-v", "-x", "/tmp/build/firmware.elf"]
    assert F.nrfjprog_commands("/tmp/fw.hex", "nrf52") == [
        ["nrfjprog", "-f", "NRF52", "--program", "/tmp/fw.hex", "--sectorerase", "--verify"],
        ["nrfjprog", "-f", "NRF52", "--reset"]]
    assert F.teensy_command("/tmp/fw.hex", "TEENSY41") == ["teensy_loader_cli", "--mcu=TEENSY41", "-w", "-v",
                                                          "/tmp/fw.hex"]
    assert F.bossac_command("/tmp/fw.bin", offset=0x10000, port="ttyACM0") == [
        "bossac", "--port=ttyACM0", "--offset=0x10000", "-e", "-w", "-v", "-R", "/tmp/fw.bin"]


def test_plan_flash_from_board_database():
    from edgeq.boards import get_board

    p = F.plan_flash(get_board("nucleo-f446re"), ELF)
    assert p.tool == "openocd" and p.commands == [F.openocd_command(ELF, ["interface/stlink.cfg",
                                                                         "target/stm32f4x.cfg"])]
    p = F.plan_flash(get_board("nrf52840-dk"), ELF)
    assert p.image == ELF.with_suffix(".hex") and p.commands[0][:3] == ["nrfjprog", "-f", "NRF52"]
    p = F.plan_flash(get_board("mimxrt1060-evk"), ELF)
    assert p.commands == [["pyocd", "flash", "--target", "mimxrt1060", str(ELF)]]
    p = F.plan_flash(get_board("teensy41"), ELF)
    assert p.commands[0][0] == "teensy_loader_cli" and p.image.suffix == ".hex"
    p = F.plan_flash(get_board("arduino-nano-33-ble-sense"), ELF)
    assert p.commands == [["bossac", "--offset=0x10000", "-e", "-w", "-v", "-R", str(ELF.with_suffix(".bin"))]]
    p = F.plan_flash(get_board("rpi-pico"), ELF)
    assert p.commands == [["picotool", "load", "-v", "-x", str(ELF)]]
    p = F.plan_flash(get_board("adafruit-feather-m4"), ELF)
    assert p.tool == "uf2" and p.image.suffix == ".uf2"
    p = F.plan_flash(get_board("nucleo-f446re"), ELF, tool="st-flash")
    assert p.commands == [["st-flash", "--reset", "write", str(ELF.with_suffix(".bin")), "0x08000000"]]
    p = F.plan_flash(get_board("qemu-mps2-an386"), ELF)
    assert p.tool == "qemu" and p.commands[0][:3] == ["qemu-system-arm", "-M", "mps2-an386"]


def test_missing_tool_gives_install_hint(monkeypatch, tmp_path):
    from edgeq.boards import get_board

    monkeypatch.setattr(F.shutil, "which", lambda name: None)
    with pytest.raises(InputError) as ei:
        F.flash(get_board("nucleo-f446re"), tmp_path / "fw.elf")
    assert "openocd" in ei.value.message and "apt-get install openocd" in ei.value.hint
    with pytest.raises(InputError, match="qemu-system-arm"):
        F.start_qemu("mps2-an386", tmp_path / "fw.elf")
    with pytest.raises(InputError, match="not installed"):
        F.require_tool("picotool")


def test_unknown_tool_and_virtual_board_flash():
    with pytest.raises(InputError, match="unknown flasher"):
        F.plan_flash({"flasher": {"tool": "jtagwhisperer"}}, ELF)
    with pytest.raises(InputError, match="start_qemu"):
        F.flash({"flasher": {"tool": "qemu"}, "qemu": {"machine": "mps2-an386"}}, ELF)


def test_uf2_blocks():
    data = bytes(range(256)) * 3 + b"tail"
    uf2 = F.bin_to_uf2(data, 0x4000, 0x55114460)
    assert len(uf2) == 4 * 512
    for n in range(4):
        blk = uf2[n * 512:(n + 1) * 512]
        m0, m1, flags, addr, size, no, total, fam = struct.unpack("<8I", blk[:32])
        assert (m0, m1, flags, fam) == (0x0A324655, 0x9E5D5157, 0x2000, 0x55114460)
        assert (addr, no, total) == (0x4000 + 256 * n, n, 4)
        assert size == (256 if n < 3 else 4)
        assert struct.unpack("<I", blk[508:])[0] == 0x0AB16F30
        assert blk[32:32 + size] == data[256 * n:256 * n + size]


def test_uf2_copy_needs_mount(tmp_path):
    img = tmp_path / "fw.uf2"
    img.write_bytes(b"x" * 512)
    with pytest.raises(InputError, match="UF2 drive"):
        F.uf2_copy(img, tmp_path / "nope")
    mount = tmp_path / "RPI-RP2"
    mount.mkdir()
    assert F.uf2_copy(img, mount).read_bytes() == b"x" * 512


def _fake_tool(bindir: Path, name: str, rc: int = 0) -> Path:
    log = bindir / f"{name}.args"
    tool = bindir / name
    tool.write_text(f"#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > {log}\necho flashing >&2\nexit {rc}\n")
    tool.chmod(0o755)
    return log


def test_flash_runs_the_tool(monkeypatch, tmp_path):
    """flash() runs exactly the planned command (a stand-in openocd records its argv)."""
    from edgeq.boards import get_board

    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = _fake_tool(bindir, "openocd")
    monkeypatch.setenv("PATH", f"{bindir}:{F.os.environ['PATH']}")
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    plan = F.flash(get_board("nucleo-f446re"), elf)
    assert log.read_text().splitlines() == plan.commands[0][1:]
    _fake_tool(bindir, "openocd", rc=1)
    with pytest.raises(F.FlashError, match="openocd failed"):
        F.flash(get_board("nucleo-f446re"), elf)


def test_flash_converts_the_image(monkeypatch, tmp_path):
    """Tools that want a binary/hex get one made from the ELF (objcopy) before they run."""
    import subprocess

    from edgeq.boards import get_board

    from conftest import require_tool

    require_tool("arm-none-eabi-gcc")  # a skip on a laptop without it, a failure in CI
    src = tmp_path / "a.c"
    src.write_text("const unsigned char blob[64] = {1, 2, 3};\nvoid _start(void) { for (;;) { } }\n")
    elf = tmp_path / "fw.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-Wl,-Ttext=0x08000000",
                    "-o", str(elf), str(src)], check=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = _fake_tool(bindir, "st-flash")
    nlog = _fake_tool(bindir, "nrfjprog")
    monkeypatch.setenv("PATH", f"{bindir}:{F.os.environ['PATH']}")
    plan = F.flash(get_board("nucleo-f446re"), elf, tool="st-flash")
    assert plan.image.suffix == ".bin" and plan.image.stat().st_size >= 64
    assert log.read_text().splitlines() == ["--reset", "write", str(plan.image), "0x08000000"]
    plan = F.flash(get_board("nrf52840-dk"), elf)
    assert plan.image.read_text().startswith(":")  # Intel hex
    assert nlog.read_text().splitlines() == ["-f", "NRF52", "--reset"]  # the last of the two calls


def test_qemu_inherits_a_port_already_taken(monkeypatch, tmp_path):
    """start_qemu hands QEMU a socket it has bound and listens on: when QEMU is launched its port
    is already taken, so a second edgeq process (a parallel test worker, `make -j`) cannot pick
    the same port and talk to this QEMU while its own waits for a READY that never comes. A QEMU
    that exits at once is reported with what it printed."""
    import errno
    import socket
    import subprocess
    import sys

    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    monkeypatch.setattr(F, "require_tool", lambda name: name)
    seen = {}
    real_popen = subprocess.Popen

    def fake_popen(cmd, **kw):
        port = int(next(a for a in cmd if a.startswith("socket,")).split("fd=")[1].split(",")[0])
        assert port in kw["pass_fds"]
        bound = F.socket.socket(fileno=F.os.dup(port))
        seen["port"] = bound.getsockname()[1]
        bound.close()
        probe = socket.socket()
        with pytest.raises(OSError) as ei:
            probe.bind(("127.0.0.1", seen["port"]))
        probe.close()
        seen["errno"] = ei.value.errno
        # stands in for a QEMU that refuses the machine: prints its reason and exits
        return real_popen([sys.executable, "-c", "print('qemu-system-arm: unsupported machine'); raise SystemExit(1)"],
                          stdout=kw["stdout"], stderr=kw["stderr"])

    monkeypatch.setattr(F.subprocess, "Popen", fake_popen)
    with pytest.raises(F.FlashError, match="unsupported machine"):
        F.start_qemu("mps2-an386", elf)
    assert seen["errno"] == errno.EADDRINUSE


def test_qemu_that_never_listens_is_reported_not_connected(monkeypatch, tmp_path):
    """A child that holds the inherited listening socket but never says QEMU waits for a connection
    (it hung before becoming QEMU, or QEMU stalled) is stopped and reported: the kernel would accept
    a connection on that socket all the same, and the client would then wait for a READY that never
    comes. QEMU is started through a launcher, not a preexec_fn (Python code between fork and exec in
    a threaded process can deadlock)."""
    import subprocess
    import sys
    import time as _time

    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    monkeypatch.setattr(F, "require_tool", lambda name: name)
    real_popen = subprocess.Popen
    started = {}

    def fake_popen(cmd, **kw):
        assert "preexec_fn" not in kw
        started["proc"] = real_popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                     stdout=kw["stdout"], stderr=kw["stderr"], pass_fds=kw["pass_fds"])
        return started["proc"]

    monkeypatch.setattr(F.subprocess, "Popen", fake_popen)
    t0 = _time.monotonic()
    with pytest.raises(F.FlashError, match="did not start"):
        F.start_qemu("mps2-an386", elf, timeout=1.0)
    assert _time.monotonic() - t0 < 20
    assert started["proc"].poll() is not None  # stopped, not left behind


@pytest.mark.unit
def test_uart_keeps_what_the_guest_sent_while_the_port_opened(monkeypatch):
    """QEMU starts the guest as soon as it accepts the connection, and the firmware sends READY
    once, at boot. pyserial's socket:// open() ends with an input flush; on a loaded machine the
    READY could arrive before it and be thrown away (the client then waited 30 s for nothing).
    The boot bytes are made to arrive inside open() here (a slow step after the connect): the
    port start_qemu opens keeps them; plain serial_for_url, the negative control, loses them."""
    import socket
    import threading
    import time

    import serial
    from serial.urlhandler import protocol_socket

    real = protocol_socket.Serial._reconfigure_port

    def slow(self, *a, **k):
        time.sleep(0.3)  # connected: the server's bytes arrive meanwhile
        return real(self, *a, **k)

    monkeypatch.setattr(protocol_socket.Serial, "_reconfigure_port", slow)

    def got_after_open(opener) -> bytes:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        url = f"socket://127.0.0.1:{srv.getsockname()[1]}"

        done = threading.Event()

        def serve():
            conn, _ = srv.accept()
            conn.sendall(b"READY")
            done.wait(10)  # the connection stays up until the client has read
            conn.close()

        t = threading.Thread(target=serve)
        t.start()
        port = opener(url)
        data, deadline = b"", time.monotonic() + 0.8
        while time.monotonic() < deadline and len(data) < 5:
            data += port.read(5 - len(data))
        port.close()
        done.set()
        t.join()
        srv.close()
        return data

    assert got_after_open(F._open_uart) == b"READY"
    assert got_after_open(lambda url: serial.serial_for_url(url, timeout=0.02)) == b""
