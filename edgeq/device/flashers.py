"""Getting firmware onto a board.

* ``qemu``: "flashing" a virtual board = starting ``qemu-system-arm`` with the ELF. The guest
  UART is exposed as a TCP server on 127.0.0.1 that QEMU waits on before it starts the CPU
  (``server=on,wait=on``), so no byte the firmware sends at boot (READY) is ever lost, which a
  pty cannot guarantee (QEMU drops pty output while nobody has the slave open). The client
  opens it with pyserial's ``socket://`` URL, exactly like a real port. ``QemuSession`` is a
  context manager that always stops QEMU; an ``atexit`` hook stops any session left running.
* real boards: command-line builders for openocd, pyocd, st-flash, picotool, nrfjprog,
  teensy_loader_cli, plus UF2 drag-and-drop copy. A missing tool → ``InputError`` with the
  install hint.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from edgeq.device.fields import field_of as _get
from edgeq.errors import EXIT_DEVICE, EdgeqError, InputError

QEMU = "qemu-system-arm"

INSTALL_HINTS = {
    QEMU: "install QEMU: `apt-get install qemu-system-arm` (Debian/Ubuntu) or `brew install qemu`",
    "openocd": "install OpenOCD: `apt-get install openocd` or https://openocd.org",
    "pyocd": "install pyOCD: `pip install pyocd`",
    "st-flash": "install stlink tools: `apt-get install stlink-tools` or `brew install stlink`",
    "picotool": "install picotool: `apt-get install picotool` or build it from raspberrypi/picotool",
    "nrfjprog": "install nRF Command Line Tools from Nordic Semiconductor (nrfjprog)",
    "teensy_loader_cli": "install teensy_loader_cli: `apt-get install teensy-loader-cli`",
    "bossac": "install BOSSA: `apt-get install bossa-cli` (or the Arduino core's bossac)",
    "arm-none-eabi-objcopy": "install the Arm GNU toolchain: `apt-get install gcc-arm-none-eabi`",
}

FLASHER_TOOLS = ("qemu", "openocd", "pyocd", "st-flash", "picotool", "nrfjprog", "uf2", "teensy", "bossac")


class FlashError(EdgeqError):
    """The flashing tool (or the emulator) ran and failed (exit 3, like a lost device)."""

    exit_code = EXIT_DEVICE


def require_tool(name: str) -> str:
    """Absolute path of a command-line tool, or InputError with its install hint."""
    path = shutil.which(name)
    if path is None:
        raise InputError(f"`{name}` is not installed (needed to flash this board)",
                         INSTALL_HINTS.get(name, f"install {name} and put it on PATH"))
    return path


# ===================================================================== QEMU

def qemu_command(machine: str, elf: str | Path, *, tcp_port: int, icount_shift: int | None = 0,
                 semihosting: bool = True, extra: Sequence[str] = (), listen_fd: int | None = None) -> list[str]:
    """The qemu-system-arm command line for a virtual board.

    The UART (serial0) becomes a TCP server on 127.0.0.1:tcp_port that QEMU waits on before
    running the guest; ``-icount shift=N`` makes timing deterministic (shift=0: 1 instruction =
    1 ns); ``-semihosting`` lets the firmware end QEMU with an exit code. ``listen_fd``: a
    socket already listening on that port, inherited by QEMU (start_qemu: no other process can
    take the port between choosing it and QEMU's bind).
    """
    cmd = [QEMU, "-M", machine, "-nographic", "-monitor", "none"]
    if semihosting:
        cmd += ["-semihosting"]
    if icount_shift is not None:
        cmd += ["-icount", f"shift={icount_shift}"]
    if listen_fd is None:
        cmd += ["-serial", f"tcp:127.0.0.1:{tcp_port},server=on,wait=on,nodelay=on"]
    else:
        cmd += ["-chardev", f"socket,id=edgeq_uart,fd={listen_fd},server=on,wait=on,nodelay=on",
                "-serial", "chardev:edgeq_uart"]
    cmd += ["-kernel", str(elf)]
    return cmd + list(extra)


def _listening_socket() -> socket.socket:
    """A TCP socket listening on a free port of 127.0.0.1, for QEMU to inherit. Binding it here
    and handing QEMU the descriptor closes the race a free-port probe has: two edgeq processes
    (parallel test workers, `make -j`) could pick the same port, and one's client then talked to
    the other's QEMU while its own waited for a READY that never came."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
    except BaseException:
        s.close()
        raise
    return s


def _die_with_parent() -> list[str]:
    """A launcher prefix that makes the child get SIGKILL when edgeq dies, however it dies
    (SIGKILL included, where no cleanup of ours runs): util-linux's ``setpriv --pdeathsig KILL``
    sets Linux's PR_SET_PDEATHSIG and execs the command, and the setting survives the exec.
    (It follows the thread that started the child: edgeq starts emulators from its main thread.)
    Not a ``preexec_fn``: Python code run between fork and exec in a process with threads
    (TensorFlow's) can deadlock on a lock another thread held at the fork, and the child then
    never becomes QEMU while holding the inherited listening socket. Elsewhere, or without
    setpriv: no prefix (signals and atexit still stop QEMU; only a SIGKILLed edgeq orphans it)."""
    if not sys.platform.startswith("linux"):
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


_LIVE: "set[QemuSession]" = set()  # strong refs: a session dropped without stop() is still killed at exit


@atexit.register
def _stop_all() -> None:  # never leave a QEMU behind, even on an unhandled exception
    for s in list(_LIVE):
        s.stop()


@dataclass(eq=False)
class QemuSession:
    """A running QEMU with its UART connected (``port``: an open pyserial port).

    Use as a context manager (``with start_qemu(...) as q:``); ``stop()`` is idempotent.
    """

    proc: subprocess.Popen
    port: Any
    url: str
    machine: str
    elf: Path
    command: list[str]
    log_path: Path
    icount_shift: int | None = 0
    _stopped: bool = field(default=False, repr=False)

    def __enter__(self) -> "QemuSession":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        """What QEMU printed (stdout + stderr) so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait(self, timeout: float | None = None) -> int:
        """Wait for QEMU to exit by itself (e.g. after BYE); returns its exit code."""
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """Kill QEMU abruptly (the port then fails like an unplugged board)."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> int | None:
        """Close the port and make sure QEMU is gone (terminate, then kill). Returns its exit code."""
        if self._stopped:
            return self.proc.returncode
        self._stopped = True
        try:
            self.port.close()
        except Exception:  # noqa: BLE001
            pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        _LIVE.discard(self)
        try:
            self.log_path.unlink()
        except OSError:
            pass
        return self.proc.returncode


def start_qemu(machine: str, elf: str | Path, *, timeout: float = 20.0, icount_shift: int | None = 0,
               extra: Sequence[str] = ()) -> QemuSession:
    """Start QEMU for ``machine`` with ``elf`` and connect to its UART.

    Returns a QemuSession (use it as a context manager). Raises InputError if QEMU is missing
    or the ELF does not exist, FlashError if QEMU fails to start.
    """
    import serial

    require_tool(QEMU)
    elf = Path(elf)
    if not elf.is_file():
        raise InputError(f"firmware image not found: {elf}", "build it first (`edgeq build`)")
    listener = _listening_socket()
    port_no = listener.getsockname()[1]
    cmd = qemu_command(machine, elf, tcp_port=port_no, icount_shift=icount_shift, extra=extra,
                       listen_fd=listener.fileno())
    fd, log_name = tempfile.mkstemp(prefix="edgeq-qemu-", suffix=".log")
    log_path = Path(log_name)
    try:
        with os.fdopen(fd, "wb") as log_file:
            proc = subprocess.Popen(_die_with_parent() + cmd, stdin=subprocess.DEVNULL, stdout=log_file,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    pass_fds=(listener.fileno(),))
    finally:
        listener.close()  # QEMU holds its own copy: the port stays its until it exits
    url = f"socket://127.0.0.1:{port_no}"
    try:
        # the port accepts connections from now on (the kernel queues them for whoever holds the
        # socket), so connect only once QEMU says it listens: a child that died, or never became
        # QEMU, is reported, not left holding a connection that never sends READY
        deadline = time.monotonic() + timeout
        listening = False
        while time.monotonic() < deadline and proc.poll() is None:
            if "waiting for connection" in _read(log_path):
                listening = True
                break
            time.sleep(0.02)
        port = None
        if listening and proc.poll() is None:
            try:
                port = _open_uart(url)
            except (serial.SerialException, OSError):
                port = None
        if port is not None:
            session = QemuSession(proc, port, url, machine, elf, cmd, log_path, icount_shift)
            _LIVE.add(session)
            return session
    except BaseException:
        proc.kill()
        proc.wait(5)
        raise
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)
    last_log = _read(log_path)
    log_path.unlink(missing_ok=True)
    raise FlashError(f"QEMU ({machine}) did not start: {last_log.strip() or 'no output'}",
                     f"command: {' '.join(cmd)}")


def _open_uart(url: str):
    """pyserial's ``socket://`` port on QEMU's UART, without the input flush its ``open()`` ends
    with: QEMU starts the guest the moment the connection is accepted, and the firmware sends its
    READY once, at boot. On a loaded machine that frame could arrive before the flush ran and be
    thrown away (the client then waited for a READY that never came: "no READY within 30 s")."""
    from serial.urlhandler.protocol_socket import Serial as SocketSerial

    class _KeepBootBytes(SocketSerial):
        _opening = False

        def open(self) -> None:
            self._opening = True
            try:
                super().open()
            finally:
                self._opening = False

        def reset_input_buffer(self) -> None:
            if not self._opening:  # an explicit flush later still flushes
                super().reset_input_buffer()

    return _KeepBootBytes(url, timeout=0.02)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


# ===================================================================== real boards

def openocd_command(image: str | Path, configs: Sequence[str], *, commands: Sequence[str] = (),
                    adapter_speed_khz: int | None = None) -> list[str]:
    """``openocd -f <cfg>... -c "program <elf> verify reset exit"``."""
    cmd = ["openocd"]
    for cfg in configs:
        cmd += ["-f", cfg]
    if adapter_speed_khz:
        cmd += ["-c", f"adapter speed {adapter_speed_khz}"]
    for c in commands:
        cmd += ["-c", c]
    return cmd + ["-c", f"program {Path(image)} verify reset exit"]


def pyocd_command(image: str | Path, target: str, *, probe_uid: str | None = None,
                  frequency_hz: int | None = None) -> list[str]:
    """``pyocd flash --target <target> [--uid <probe>] <elf>``."""
    cmd = ["pyocd", "flash", "--target", target]
    if probe_uid:
        cmd += ["--uid", probe_uid]
    if frequency_hz:
        cmd += ["--frequency", str(frequency_hz)]
    return cmd + [str(Path(image))]


def st_flash_command(image_bin: str | Path, address: int = 0x08000000) -> list[str]:
    """``st-flash --reset write <bin> <address>`` (st-flash takes a raw binary)."""
    return ["st-flash", "--reset", "write", str(Path(image_bin)), f"0x{address:08x}"]


def picotool_command(image: str | Path, *, force: bool = False) -> list[str]:
    """``picotool load [-f] -v -x <image>``: load, verify, then run."""
    cmd = ["picotool", "load"]
    if force:
        cmd += ["-f"]
    return cmd + ["-v", "-x", str(Path(image))]


def nrfjprog_commands(image_hex: str | Path, family: str) -> list[list[str]]:
    """Program with sector erase + verify, then reset: two nrfjprog invocations."""
    fam = family.upper()
    return [["nrfjprog", "-f", fam, "--program", str(Path(image_hex)), "--sectorerase", "--verify"],
            ["nrfjprog", "-f", fam, "--reset"]]


def teensy_command(image_hex: str | Path, mcu: str) -> list[str]:
    """``teensy_loader_cli --mcu=<mcu> -w -v <hex>`` (waits for the board's bootloader)."""
    return ["teensy_loader_cli", f"--mcu={mcu}", "-w", "-v", str(Path(image_hex))]


def bossac_command(image_bin: str | Path, *, offset: int, port: str | None = None) -> list[str]:
    """``bossac [--port=<p>] --offset=<o> -e -w -v -R <bin>``: erase, write, verify, reset."""
    cmd = ["bossac"]
    if port:
        cmd.append(f"--port={port}")
    return cmd + [f"--offset=0x{offset:x}", "-e", "-w", "-v", "-R", str(Path(image_bin))]


# ---- UF2 (USB drag-and-drop bootloaders: RP2040, SAMD51, nRF52840 Adafruit, ...)
UF2_MAGIC_START0 = 0x0A324655
UF2_MAGIC_START1 = 0x9E5D5157
UF2_MAGIC_END = 0x0AB16F30
UF2_FLAG_FAMILY = 0x00002000
UF2_FAMILIES = {"rp2040": 0xE48BFF56, "samd51": 0x55114460, "samd21": 0x68ED2B88,
                "nrf52840": 0xADA52840, "stm32f4": 0x57755A57, "imxrt10xx": 0x4FB2D5BD}


def bin_to_uf2(data: bytes, base_address: int, family_id: int | None = None,
               payload_size: int = 256) -> bytes:
    """Wrap a raw flash image in UF2 blocks (512 bytes each, ``payload_size`` data bytes)."""
    blocks = [data[i:i + payload_size] for i in range(0, len(data), payload_size)] or [b""]
    out = bytearray()
    for n, chunk in enumerate(blocks):
        flags = UF2_FLAG_FAMILY if family_id is not None else 0
        head = struct.pack("<IIIIIIII", UF2_MAGIC_START0, UF2_MAGIC_START1, flags,
                           base_address + n * payload_size, len(chunk), n, len(blocks),
                           family_id or 0)
        out += head + chunk.ljust(476, b"\0") + struct.pack("<I", UF2_MAGIC_END)
    return bytes(out)


def uf2_copy(image_uf2: str | Path, mount_point: str | Path) -> Path:
    """Copy a .uf2 onto a bootloader's USB drive; returns the destination path."""
    mount = Path(mount_point)
    if not mount.is_dir():
        raise InputError(f"UF2 drive not found at {mount}",
                         "put the board in bootloader mode (double-tap reset / hold BOOTSEL) "
                         "and pass its mount point")
    dest = mount / Path(image_uf2).name
    shutil.copyfile(image_uf2, dest)
    try:
        os.sync()
    except AttributeError:  # pragma: no cover - not on Windows
        pass
    return dest


def objcopy(elf: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Convert an ELF to ``binary`` or ``ihex`` with arm-none-eabi-objcopy."""
    tool = require_tool("arm-none-eabi-objcopy")
    suffix = {"binary": ".bin", "ihex": ".hex"}[fmt]
    out = Path(out) if out else Path(elf).with_suffix(suffix)
    subprocess.run([tool, "-O", fmt, str(elf), str(out)], check=True)
    return out


def _flash_origin(board: Any) -> int:
    region = _get(board, "default_flash", default=None)
    if region is None:
        fl = _get(board, "flash", default=None)
        region = fl[0] if isinstance(fl, (list, tuple)) and fl else fl
    return int(_get(region, "origin", default=0) or 0) if region is not None else 0


@dataclass(frozen=True)
class FlashPlan:
    """What `flash()` will do for a board: the tool, the image it needs, the commands."""

    tool: str
    image: Path
    commands: list[list[str]]
    uf2_mount: Path | None = None


def plan_flash(board: Any, elf: str | Path, *, tool: str | None = None) -> FlashPlan:
    """The exact command lines for flashing ``elf`` onto ``board`` (no side effects except
    naming the converted image next to the ELF).

    The board's ``flasher`` table gives the tool and its settings, e.g.
    ``{tool="openocd", configs=["interface/stlink.cfg", "target/stm32f4x.cfg"]}``,
    ``{tool="pyocd", target="nrf52840"}``, ``{tool="st-flash"}``, ``{tool="picotool"}``,
    ``{tool="nrfjprog", family="NRF52"}``, ``{tool="uf2", family_id=0x55114460, mount="/media/..."}``,
    ``{tool="teensy", mcu="TEENSY41"}``, ``{tool="bossac", offset=0x10000}`` (see edgeq/boards/).
    """
    elf = Path(elf)
    settings = _get(board, "flasher", default={}) or {}
    if isinstance(settings, str):
        settings = {"tool": settings}
    tool = tool or _get(settings, "tool", "name", default=None)
    if tool is None:
        raise InputError("the board definition names no flasher tool")
    flash_origin = _flash_origin(board)
    if tool == "qemu":
        machine = _get(board, "qemu_machine", "qemu.machine", "machine", default=None)
        return FlashPlan(tool, elf, [qemu_command(str(machine), elf, tcp_port=0)])
    if tool == "openocd":
        configs = _get(settings, "config", "configs", default=[]) or []
        if isinstance(configs, str):
            configs = [configs]
        cmd = openocd_command(elf, configs, commands=_get(settings, "commands", default=()) or (),
                              adapter_speed_khz=_get(settings, "adapter_speed_khz", default=None))
        return FlashPlan(tool, elf, [cmd])
    if tool == "pyocd":
        target = _get(settings, "target", default=None)
        if not target:
            raise InputError("pyocd flasher needs `target` in the board's flasher settings")
        return FlashPlan(tool, elf, [pyocd_command(elf, target, probe_uid=_get(settings, "uid"),
                                                   frequency_hz=_get(settings, "frequency_hz"))])
    if tool == "st-flash":
        image = elf.with_suffix(".bin")
        address = int(_get(settings, "address", default=flash_origin or 0x08000000))
        return FlashPlan(tool, image, [st_flash_command(image, address)])
    if tool == "picotool":
        return FlashPlan(tool, elf, [picotool_command(elf, force=bool(_get(settings, "force", default=False)))])
    if tool == "nrfjprog":
        image = elf.with_suffix(".hex")
        return FlashPlan(tool, image, nrfjprog_commands(image, str(_get(settings, "family", default="NRF52"))))
    if tool in ("teensy", "teensy_loader_cli"):
        image = elf.with_suffix(".hex")
        return FlashPlan("teensy", image, [teensy_command(image, str(_get(settings, "mcu", default="TEENSY40")))])
    if tool == "bossac":
        image = elf.with_suffix(".bin")
        offset = int(_get(settings, "offset", default=0) or 0)
        return FlashPlan(tool, image, [bossac_command(image, offset=offset, port=_get(settings, "port"))])
    if tool == "uf2":
        mount = _get(settings, "mount", "mount_point", default=None)
        return FlashPlan(tool, elf.with_suffix(".uf2"), [], Path(mount) if mount else None)
    raise InputError(f"unknown flasher tool {tool!r}", f"known: {', '.join(FLASHER_TOOLS)}")


def flash(board: Any, elf: str | Path, *, tool: str | None = None, uf2_mount: str | Path | None = None,
          timeout: float = 300.0) -> FlashPlan:
    """Flash a real board: convert the image if the tool needs bin/hex/uf2, check the tool is
    installed (InputError + install hint if not), run it (FlashError with its output if it
    fails). Virtual boards are not flashed: use ``start_qemu``."""
    plan = plan_flash(board, elf, tool=tool)
    if plan.tool == "qemu":
        raise InputError("virtual boards are started with start_qemu(), not flashed")
    for cmd in plan.commands:
        require_tool(cmd[0] if cmd[0] != "teensy" else "teensy_loader_cli")
    if plan.image.suffix == ".bin":
        objcopy(elf, "binary", plan.image)
    elif plan.image.suffix == ".hex":
        objcopy(elf, "ihex", plan.image)
    elif plan.tool == "uf2":
        binary = objcopy(elf, "binary", Path(elf).with_suffix(".bin"))
        settings = _get(board, "flasher", default={}) or {}
        fam = _get(settings, "family_id", "family", default=None)
        fam_id = UF2_FAMILIES.get(str(fam).lower()) if fam is not None else None
        if fam is not None and fam_id is None:
            fam_id = fam if isinstance(fam, int) else int(str(fam), 0)
        origin = _flash_origin(board)
        plan.image.write_bytes(bin_to_uf2(binary.read_bytes(), origin, fam_id))
        mount = uf2_mount or plan.uf2_mount
        if mount is None:
            raise InputError("UF2 flashing needs the bootloader drive's mount point",
                             "pass it (e.g. /media/$USER/RPI-RP2) or set flasher.mount in the board file")
        uf2_copy(plan.image, mount)
        return plan
    for cmd in plan.commands:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise FlashError(f"{cmd[0]} failed (exit {proc.returncode}): "
                             f"{(proc.stderr or proc.stdout).strip()[-2000:]}",
                             f"command: {' '.join(cmd)}")
    return plan


def start_board(board: Any, elf: str | Path, **kwargs) -> QemuSession:
    """``start_qemu`` for an emulated board definition (uses its ``[qemu] machine``)."""
    machine = _get(board, "qemu_machine", "qemu.machine", default=None)
    if not machine or not _get(board, "emulated", default=True):
        raise InputError(f"board {_get(board, 'name', default='?')} is not emulated by QEMU",
                         "flash it with flash() and open its serial port")
    return start_qemu(str(machine), elf, **kwargs)
