"""One call from "an ELF and a board" to "a connected DeviceClient": starts QEMU for virtual
boards, flashes real ones and opens their serial port. This is what `edgeq flash-and-test`
builds on:

    with device_session(board, build.elf) as dev:
        info = dev.client.info()
        records = run_dataset(dev.client, samples, "results.jsonl", resume=True,
                              icount_shift=dev.icount_shift)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from edgeq.device import flashers
from edgeq.device.client import DeviceClient, DeviceLost
from edgeq.errors import InputError


@dataclass
class DeviceSession:
    client: DeviceClient
    board: str
    emulated: bool
    icount_shift: int | None       # not None → ticks convert to instructions (QEMU -icount)
    qemu: flashers.QemuSession | None = None
    port: str | None = None        # the serial port / URL in use


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


@contextlib.contextmanager
def device_session(board: Any, elf: str | Path, *, port: str | None = None, baudrate: int | None = None,
                   flash: bool = True, icount_shift: int = 0, timeout: float = 2.0, retries: int = 5,
                   ready_timeout: float = 30.0, log: Callable[[str], None] | None = None) -> Iterator[DeviceSession]:
    """Connect to ``board`` running ``elf``; always cleans up (QEMU stopped, port closed).

    Virtual board: QEMU is started with the ELF (``-icount shift=icount_shift``) and the client
    waits for the firmware's READY frame. Real board: the ELF is flashed with the board's tool
    (unless ``flash=False``), then ``port`` (required, e.g. /dev/ttyACM0) is opened at the
    board's baud rate; READY may have been sent before the port was opened, so a PING is used
    when READY does not come.
    """
    name = str(_get(board, "name", "?"))
    emulated = bool(_get(board, "emulated", False))
    if emulated:
        q = flashers.start_board(board, elf, icount_shift=icount_shift)
        try:
            client = DeviceClient(q.port, timeout=timeout, retries=retries, log=log)
            client.wait_ready(ready_timeout)
            yield DeviceSession(client, name, True, icount_shift, q, q.url)
            try:
                if q.alive():
                    client.bye()
            except Exception:  # noqa: BLE001 - best effort: QEMU is stopped below anyway
                pass
        finally:
            q.stop()
        return
    if port is None:
        raise InputError(f"board {name} needs a serial port", "pass --port /dev/ttyACM0 (or COM3, ...)")
    if flash:
        flashers.flash(board, elf)
        time.sleep(0.5)  # the board resets after programming; its USB-serial may re-enumerate
    uart = _get(board, "uart")
    baud = baudrate or int(_get(uart, "baud", 115200) if uart is not None else 115200)
    client = DeviceClient.open(port, baudrate=baud, timeout=timeout, retries=retries, log=log)
    try:
        try:
            client.wait_ready(min(ready_timeout, 2.0))
        except DeviceLost:
            client.ping(b"edgeq")  # READY went out before we listened: any answer will do
        yield DeviceSession(client, name, False, None, None, port)
    finally:
        client.close()
