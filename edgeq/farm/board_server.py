"""Flashing a farm board from a labgrid client: the exporter host runs this server next to the
board; the client uploads the ELF to it over TCP and the server flashes it with the board's own
tool (edgeq.device.flashers: openocd, pyocd, st-flash, ...), or — for a virtual board — restarts
QEMU with it, its UART on a fixed TCP port.

    python -m edgeq.farm.board_server --board nucleo-l476rg --flash-port 5002
    python -m edgeq.farm.board_server --machine mps2-an386 --serial-port 5001 --flash-port 5002

The exporter exports the flash port as an ``EdgeqFlasher`` resource next to the board's serial
port (exporter YAML, see README "Team setup"):

    vboard0:
      NetworkSerialPort: {host: 127.0.0.1, port: 5001, protocol: raw, speed: 115200}
      EdgeqFlasher: {host: 127.0.0.1, port: 5002}

Flash protocol (one upload per connection): the client sends ``EDGEQFLASH`` + the image size as 8
bytes little-endian + the ELF; the server answers one line: ``ok`` once the board runs the image
(a virtual board: once the new QEMU listens on the serial port — QEMU then waits for the serial
client before it runs the guest, so READY is never lost), or ``error: ...``. Virtual boards run
with ``-icount shift=0`` like local ones.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MAGIC = b"EDGEQFLASH"
MAX_IMAGE = 64 << 20


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(min(1 << 16, n - len(buf)))
        if not chunk:
            raise ConnectionError(f"upload ended after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    """True once something listens on 127.0.0.1:port — checked without connecting (QEMU's UART
    takes one client: a probe connection would be that client), by reading /proc/net/tcp."""
    want = f":{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
                cols = line.split()
                if cols[1].endswith(want) and cols[3] == "0A":  # 0A: LISTEN
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


class VirtualBoard:
    def __init__(self, machine: str, serial_port: int, workdir: Path):
        self.machine, self.serial_port, self.workdir = machine, serial_port, workdir
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def stop_qemu(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def flash(self, image: bytes) -> None:
        from edgeq.device.flashers import qemu_command

        with self.lock:
            self.stop_qemu()
            elf = self.workdir / "image.elf"
            elf.write_bytes(image)
            cmd = qemu_command(self.machine, elf, tcp_port=self.serial_port, icount_shift=0)
            log = (self.workdir / "qemu.log").open("wb")
            for _attempt in range(50):  # the old QEMU's port may linger for a moment
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
                if _wait_listening(self.serial_port, self.proc, 10.0):
                    return
                self.stop_qemu()
                time.sleep(0.1)
            raise RuntimeError(f"QEMU did not listen on port {self.serial_port}: "
                               f"{(self.workdir / 'qemu.log').read_text(errors='replace')[-500:]}")

    def serve(self, flash_port: int, ready_file: Path | None) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", flash_port))
        srv.listen(4)
        if ready_file is not None:
            ready_file.write_text("ready\n")
        while True:
            conn, _ = srv.accept()
            with conn:
                try:
                    head = _recv_exact(conn, len(MAGIC) + 8)
                    if head[:len(MAGIC)] != MAGIC:
                        raise ValueError("not an edgeq flash upload")
                    (size,) = struct.unpack("<Q", head[len(MAGIC):])
                    if size > MAX_IMAGE:
                        raise ValueError(f"image of {size} bytes is too big")
                    self.flash(_recv_exact(conn, size))
                    conn.sendall(b"ok\n")
                except Exception as e:  # noqa: BLE001 - the uploader gets the reason
                    try:
                        conn.sendall(f"error: {e}\n".encode())
                    except OSError:
                        pass


class ProbeBoard:
    """A real board on this host: an upload is flashed with the board's tool."""

    def __init__(self, board, workdir: Path):
        self.board, self.workdir = board, workdir
        self.lock = threading.Lock()

    def flash(self, image: bytes) -> None:
        from edgeq.device.flashers import flash

        with self.lock:
            elf = self.workdir / "image.elf"
            elf.write_bytes(image)
            flash(self.board, elf)

    def stop_qemu(self) -> None:  # nothing runs here between uploads
        pass

    serve = VirtualBoard.serve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgeq.farm.board_server", description=__doc__.split("\n\n")[0])
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--machine", help="a virtual board: the QEMU machine, e.g. mps2-an386")
    what.add_argument("--board", help="a board of `edgeq boards` attached to this host (flashed with its tool)")
    ap.add_argument("--serial-port", type=int, help="a virtual board: TCP port of its UART (127.0.0.1)")
    ap.add_argument("--flash-port", type=int, required=True, help="TCP port that takes firmware uploads")
    ap.add_argument("--ready-file", type=Path, help="written once the flash port listens")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edgeq-vboard-") as tmp:
        if args.machine:
            if args.serial_port is None:
                ap.error("--machine needs --serial-port")
            board = VirtualBoard(args.machine, args.serial_port, Path(tmp))
        else:
            from edgeq.boards import get_board

            board = ProbeBoard(get_board(args.board), Path(tmp))

        def bye(signum, _frame):
            board.stop_qemu()
            sys.exit(128 + signum)

        signal.signal(signal.SIGTERM, bye)
        signal.signal(signal.SIGINT, bye)
        try:
            board.serve(args.flash_port, args.ready_file)
        finally:
            board.stop_qemu()
    return 0


if __name__ == "__main__":
    sys.exit(main())
