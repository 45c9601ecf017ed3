"""One labgrid place as an edgeq device session: acquire it through the coordinator, flash the
firmware through the place's resources, stream over its NetworkSerialPort, release it.

labgrid (>= 24) has a gRPC coordinator (``labgrid-coordinator``), exporters that publish the
resources of the boards attached to their host (``labgrid-exporter``), and places: named sets of
resources that a client acquires for exclusive use. This module uses labgrid's client session
(``labgrid.remote.client.start_session``) — the same calls ``labgrid-client acquire/release``
make — so a place acquired here shows as acquired by ``HOST/USER`` to everyone else.

Flashing goes through the place's ``EdgeqFlasher`` resource (host, port): an
``edgeq.farm.board_server`` on the exporter host that takes the ELF over TCP and flashes it with
the board's own tool (openocd, pyocd, st-flash, ... from the board definition), or restarts QEMU
with it for a virtual board. labgrid's own OpenOCDDriver/FlashScriptDriver would copy the image
to the exporter over SSH; the upload needs no SSH account on the exporter host.
The serial port is the place's ``NetworkSerialPort`` (ser2net behind a USBSerialPort /
RawSerialPort export, or a raw TCP port), opened with pyserial's ``rfc2217://`` / ``socket://``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

from edgeq.device.client import DeviceClient, DeviceLost
from edgeq.device.flashers import FlashError
from edgeq.device.session import DeviceSession
from edgeq.errors import InputError

DEFAULT_PORT = 20408  # labgrid's coordinator port


def coordinator_address(option: str | None) -> str:
    address = option or os.environ.get("LG_COORDINATOR")
    if not address:
        raise InputError("--labgrid needs the coordinator: give --coordinator HOST:PORT or set LG_COORDINATOR")
    return address


def _labgrid():
    try:
        from labgrid.remote import client as lg_client
    except ImportError as e:
        raise InputError(f"--labgrid needs labgrid (not importable: {e})",
                         "pip install 'edgeq[farm]' (labgrid >= 24)") from None
    return lg_client


@contextlib.contextmanager
def coordinator_session(address: str) -> Iterator[Any]:
    """A labgrid ClientSession on its own event loop; closed on every exit path."""
    import asyncio

    lg = _labgrid()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # labgrid's gRPC channel binds to the current loop when created
    args = argparse.Namespace(place=None, allow_unmatched=False, kick=False, debug=False)
    try:
        try:
            session = lg.start_session(address, extra={"args": args}, loop=loop)
        except Exception as e:  # noqa: BLE001 - labgrid raises its own error types, or gRPC's
            raise DeviceLost(f"cannot reach the labgrid coordinator at {address}: {e}",
                             "is labgrid-coordinator running there? (check --coordinator / LG_COORDINATOR)") from None
        try:
            yield session
        finally:
            with contextlib.suppress(Exception):
                _run(session, session.stop())
            with contextlib.suppress(Exception):
                _run(session, session.close())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _run(session, coro):
    """Run a labgrid coroutine on its session's loop (made current: each place has its own)."""
    import asyncio

    import sys

    asyncio.set_event_loop(session.loop)
    with contextlib.redirect_stdout(sys.stderr):  # labgrid prints "acquired place ..." (stdout is --json's)
        return session.loop.run_until_complete(coro)


def _me(session) -> str:
    return f"{session.gethostname()}/{session.getuser()}"


def acquire(session, place_name: str) -> Any:
    """Acquire the place or refuse (InputError, exit 2) naming who holds it."""
    if place_name not in session.places:
        known = ", ".join(sorted(session.places)) or "none"
        raise InputError(f"labgrid place {place_name!r} does not exist on the coordinator (places: {known})")
    place = session.places[place_name]
    if place.acquired:
        mine = place.acquired == _me(session)
        raise InputError(f"labgrid place {place_name} is already acquired by {place.acquired}"
                         + (" (you: release it first)" if mine else ""),
                         f"labgrid-client -p {place_name} release" if mine else
                         "wait for it to be released, or use another place")
    session.args.place = place_name
    try:
        _run(session, session.acquire())
    except Exception as e:  # noqa: BLE001 - a race with another client, unmatched resources, ...
        holder = session.places.get(place_name)
        who = f" (held by {holder.acquired})" if holder is not None and holder.acquired else ""
        raise InputError(f"could not acquire labgrid place {place_name}{who}: {e}") from None
    return session.places[place_name]


def check_places(address: str, place_names) -> None:
    """Refuse (exit 2) a place that does not exist or is held by someone: before minutes of
    building. (Acquiring comes later, and refuses again if someone was quicker.)"""
    with coordinator_session(address) as session:
        for name in place_names:
            if name not in session.places:
                known = ", ".join(sorted(session.places)) or "none"
                raise InputError(f"labgrid place {name!r} does not exist on the coordinator (places: {known})")
            holder = session.places[name].acquired
            if holder:
                raise InputError(f"labgrid place {name} is already acquired by {holder}",
                                 f"labgrid-client -p {name} release" if holder == _me(session) else
                                 "wait for it to be released, or use another place")


def release(session, place_name: str) -> None:
    session.args.place = place_name
    _run(session, session.release())


def place_resources(session, place) -> dict[str, Any]:
    """The place's acquired resources by class name (the first of each class)."""
    out: dict[str, Any] = {}
    for path in place.acquired_resources:
        exporter, group, cls, name = path
        entry = session.resources.get(exporter, {}).get(group, {}).get(name)
        if entry is not None and entry.cls == cls:
            out.setdefault(cls, entry)
    return out


def serial_url(res: dict[str, Any], place_name: str) -> str:
    port = res.get("NetworkSerialPort")
    if port is None:
        raise InputError(f"labgrid place {place_name} has no NetworkSerialPort",
                         "export the board's UART (USBSerialPort / RawSerialPort, served by ser2net)")
    if not port.avail:
        raise DeviceLost(f"the serial port of labgrid place {place_name} is not available (exporter gone?)")
    p = port.params
    scheme = "socket" if p.get("protocol", "rfc2217") == "raw" else "rfc2217"
    return f"{scheme}://{p['host']}:{int(p['port'])}"


def upload(host: str, port: int, elf: Path, timeout: float = 300.0) -> None:
    """Flash through an ``edgeq.farm.board_server``: send the ELF, wait for its ``ok`` (a real
    board's tool may take a minute)."""
    from edgeq.farm.board_server import MAGIC

    image = Path(elf).read_bytes()
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(MAGIC + struct.pack("<Q", len(image)) + image)
            reply = s.makefile("rb").readline().decode(errors="replace").strip()
    except OSError as e:
        raise DeviceLost(f"cannot flash through the board server at {host}:{port}: {e}") from None
    if reply != "ok":
        raise FlashError(f"the board server at {host}:{port} could not flash the image: {reply or 'no answer'}")


def _flash(res: dict[str, Any], place_name: str, board, elf: Path, log) -> bool:
    """Flash through the place's EdgeqFlasher; True when the board is an emulator (-icount)."""
    if "EdgeqFlasher" not in res:
        kinds = ", ".join(sorted(res)) or "none"
        raise InputError(f"labgrid place {place_name} has no EdgeqFlasher resource to flash with (it has: {kinds})",
                         "run `python -m edgeq.farm.board_server` next to the board and export its port as "
                         "EdgeqFlasher (README: Team setup)")
    p = res["EdgeqFlasher"].params
    if not res["EdgeqFlasher"].avail:
        raise DeviceLost(f"the flasher of labgrid place {place_name} is not available (exporter gone?)")
    log(f"flash {place_name} through its board server at {p['host']}:{p['port']}")
    upload(p["host"], int(p["port"]), elf)
    return bool(getattr(board, "emulated", False))


@contextlib.contextmanager
def place_session(session, place_name: str, board, elf: str | Path, *, timeout: float = 2.0,
                  retries: int = 5, log: Callable[[str], None] = lambda s: None) -> Iterator[DeviceSession]:
    """Acquire ``place_name`` through ``session`` (one coordinator_session serves every place of a
    run: labgrid's gRPC client wants one event loop), flash ``elf``, yield a connected
    DeviceSession; the place is released on every exit path (an error, Ctrl-C, SIGTERM unwinding)."""
    place = acquire(session, place_name)
    try:
        res = place_resources(session, place)
        url = serial_url(res, place_name)
        emulated = _flash(res, place_name, board, Path(elf), log)
        client = DeviceClient.open(url, timeout=timeout, retries=retries)
        try:
            try:
                client.wait_ready(10.0)
            except DeviceLost:
                client.ping(b"edgeq")  # READY went out before we listened: any answer will do
            yield DeviceSession(client, str(getattr(board, "name", place_name)), emulated,
                                0 if emulated else None, None, url)
            with contextlib.suppress(Exception):
                client.bye()
        finally:
            client.close()
    finally:
        try:
            release(session, place_name)
        except Exception as e:  # noqa: BLE001 - said, not hidden: the place stays blocked otherwise
            log(f"warning: could not release labgrid place {place_name}: {e} "
                f"(labgrid-client -p {place_name} release)")
