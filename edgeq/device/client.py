"""Host client for the serial test protocol (firmware/runtime/PROTOCOL.md).

``DeviceClient`` wraps any pyserial-like port (``read(n)``, ``write(b)``, ``in_waiting``,
``timeout``): a real board's port, QEMU's UART on a TCP socket, or an in-memory fake in tests.
It adds the recovery rules: a new sequence number per transmission, retransmit on NAK / bad
reply CRC, zero padding + retransmit on timeout, and ``DeviceLost`` when the port goes away or
the device stops answering.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from edgeq.device import protocol as P
from edgeq.errors import EXIT_DEVICE, EdgeqError


class DeviceError(EdgeqError):
    """The device did something the host cannot work with (exit 3)."""

    exit_code = EXIT_DEVICE


class DeviceProtocolError(DeviceError):
    """A well-formed ERROR reply, a version mismatch, or a payload that does not parse."""


class DeviceLost(DeviceError):
    """The port vanished or the device stopped answering.

    ``records`` holds whatever was measured before the loss (the runner fills it in), and
    ``results_path`` the JSONL file that already has them, so a caller can report partial
    results and resume.
    """

    def __init__(self, message: str, hint: str | None = None, *, records: list | None = None,
                 results_path: Any = None):
        super().__init__(message, hint or "re-run with --resume to continue where it stopped")
        self.records = list(records or [])
        self.results_path = results_path


@dataclass
class ClientStats:
    """Recovery counters (reported so a flaky link is visible, not hidden)."""

    sent: int = 0
    retransmits: int = 0
    naks: int = 0
    timeouts: int = 0
    bad_replies: int = 0
    stale_replies: int = 0
    readys: int = 0
    resets: int = 0   # READY frames received while a request was outstanding (device rebooted)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _port_errors() -> tuple[type[BaseException], ...]:
    try:
        import serial

        return (serial.SerialException, OSError)
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return (OSError,)


@dataclass
class DeviceClient:
    """One connection to a device running the edgeq test harness.

    port:      an open pyserial-like port (its own ``timeout`` is set to a short poll period)
    timeout:   seconds to wait for a reply before retransmitting (plus the wire time at
               ``baudrate`` for large frames, when baudrate is given)
    retries:   retransmissions per request before giving up with ``DeviceLost``
    baudrate:  the line rate, if a real UART (used only to stretch timeouts for big frames)
    byte_time: seconds per byte on the link for that stretch when there is no baud rate (QEMU's
               emulated UARTs take one byte per main-loop turn: ~4-10 kB/s; 5e-4 leaves margin)
    log:       optional callable receiving one-line diagnostic strings
    """

    port: Any
    timeout: float = 2.0
    retries: int = 5
    baudrate: int | None = None
    byte_time: float = 5e-4
    log: Callable[[str], None] | None = None
    stats: ClientStats = field(default_factory=ClientStats)
    ready: P.ReadyInfo | None = None
    _info: P.DeviceInfo | None = None

    def __post_init__(self) -> None:
        self._decoder = P.FrameDecoder()
        self._frames: list[P.Frame | P.BadFrame] = []
        self._seq = 0
        self._errors = _port_errors()
        try:
            self.port.timeout = 0.02
        except Exception:  # noqa: BLE001 - a fake port may not have it
            pass

    # ------------------------------------------------------------ construction
    @classmethod
    def open(cls, url: str, baudrate: int = 115200, **kwargs) -> "DeviceClient":
        """Open a serial port by name or pyserial URL (``/dev/ttyACM0``, ``socket://host:port``)."""
        import serial

        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02)
        except (serial.SerialException, OSError) as e:
            raise DeviceLost(f"cannot open serial port {url}: {e}",
                             "check the cable/port name, and that no other program has it open") from e
        real = not url.startswith(("socket://", "loop://", "rfc2217://"))
        return cls(port, baudrate=baudrate if real else None, **kwargs)

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self) -> "DeviceClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ low level I/O
    def _log(self, msg: str) -> None:
        if self.log is not None:
            self.log(msg)

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            flush = getattr(self.port, "flush", None)
            if flush is not None:
                flush()
        except self._errors as e:
            raise DeviceLost(f"serial port lost while writing: {e}") from e

    def _poll(self) -> None:
        """Read whatever has arrived (waits at most the port's short timeout)."""
        try:
            n = self.port.in_waiting
            data = self.port.read(max(1, n))
        except self._errors as e:
            raise DeviceLost(f"serial port lost: {e}") from e
        if data:
            self._frames.extend(self._decoder.feed(data))

    def _next_frame(self, deadline: float) -> P.Frame | P.BadFrame | None:
        while True:
            if self._frames:
                return self._frames.pop(0)
            if time.monotonic() >= deadline:
                return None
            self._poll()

    def _next_seq(self) -> int:
        self._seq = self._seq % 255 + 1  # 1..255 (0 is READY's)
        return self._seq

    def _wire_time(self, nbytes: int) -> float:
        return nbytes * (10.0 / self.baudrate if self.baudrate else self.byte_time)

    # ------------------------------------------------------------ requests
    def wait_ready(self, timeout: float = 10.0) -> P.ReadyInfo:
        """Wait for the device's READY frame (sent once at boot).

        Needed before the first request on UARTs that drop bytes received before the firmware
        enabled them (the STM32 USART under QEMU).
        """
        deadline = time.monotonic() + timeout
        while True:
            fr = self._next_frame(deadline)
            if fr is None:
                raise DeviceLost(f"no READY from the device within {timeout:.1f} s",
                                 "is the firmware flashed and the baud rate right?")
            if isinstance(fr, P.Frame) and fr.cmd == P.READY:
                self._on_ready(fr)
                return self.ready  # type: ignore[return-value]

    def _on_ready(self, fr: P.Frame) -> None:
        self.stats.readys += 1
        self.ready = P.decode_ready(fr.payload)
        if self.ready.protocol_version != P.PROTOCOL_VERSION:
            raise DeviceProtocolError(
                f"device speaks protocol version {self.ready.protocol_version}, "
                f"this host knows {P.PROTOCOL_VERSION}", "rebuild the firmware with this edgeq")
        self._log(f"READY from {self.ready.board}")

    def request(self, cmd: int, payload: bytes = b"", *, reply_bytes: int = 0) -> P.Frame:
        """Send one request and return its reply frame, recovering from NAKs, corrupted
        replies and timeouts; ``DeviceLost`` after ``retries`` retransmissions."""
        want = cmd | P.REPLY_BIT
        attempts = self.retries + 1
        last_problem = "no reply"
        resets_before = self.stats.resets
        for attempt in range(attempts):
            seq = self._next_seq()
            frame = P.encode_frame(cmd, seq, payload)
            if attempt:
                self.stats.retransmits += 1
            self.stats.sent += 1
            self._write(frame)
            wait = self.timeout + self._wire_time(len(frame) + reply_bytes + P.FRAME_OVERHEAD)
            deadline = time.monotonic() + wait
            while True:
                fr = self._next_frame(deadline)
                if fr is None:
                    self.stats.timeouts += 1
                    last_problem = f"no reply within {wait:.2f} s"
                    # a reply that lost bytes on the way leaves the decoder waiting mid-frame:
                    # drop it, or it would swallow the start of the next reply
                    self._decoder.reset()
                    self._log(f"seq {seq}: timeout, padding + retransmit")
                    # complete any frame the device is still assembling (a dropped byte) so
                    # that it fails its CRC; zeros never form a sync
                    self._write(bytes(len(frame)))
                    break
                if isinstance(fr, P.Frame) and fr.cmd == P.READY:
                    # the device rebooted (watchdog, brown-out, a fault on this input): the
                    # request died with it, so resend now instead of waiting out the timeout.
                    # Counted, so a board that resets during a run is visible in the report;
                    # one that resets on every attempt ends in DeviceLost naming the resets.
                    self._on_ready(fr)
                    self.stats.resets += 1
                    last_problem = "the device rebooted (sent READY)"
                    self._log(f"seq {seq}: device rebooted, retransmit")
                    break
                if fr.seq != seq:
                    self.stats.stale_replies += 1
                    continue
                if isinstance(fr, P.BadFrame):
                    self.stats.bad_replies += 1
                    last_problem = "reply failed its CRC"
                    self._log(f"seq {seq}: corrupted reply, retransmit")
                    break
                if fr.cmd == P.NAK:
                    self.stats.naks += 1
                    reason = P.decode_nak(fr.payload)
                    last_problem = f"NAK ({P.NAK_REASONS.get(reason, reason)})"
                    self._log(f"seq {seq}: {last_problem}, retransmit")
                    if reason == P.NAK_TOO_LARGE:
                        raise DeviceProtocolError(
                            f"request of {len(payload)} bytes exceeds the device's buffer",
                            "the model's inputs do not fit the free RAM of this board")
                    break
                if fr.cmd == P.ERROR:
                    code, msg = P.decode_error(fr.payload)
                    raise DeviceProtocolError(f"device error {code}: {msg}")
                if fr.cmd == want:
                    return fr
                self.stats.stale_replies += 1  # unexpected reply type: ignore
        if self.stats.resets > resets_before:
            raise DeviceLost(f"the device rebooted {self.stats.resets - resets_before} times during one "
                             f"request ({attempts} attempts; last: {last_problem})",
                             "a reset on the same input again and again points at a crash in the model "
                             "code or a watchdog (see the board's console); re-run with --resume to continue")
        raise DeviceLost(f"device stopped answering ({last_problem}; {attempts} attempts)",
                         "check the connection; re-run with --resume to continue")

    def ping(self, data: bytes = b"") -> bytes:
        """Echo test; returns the echoed bytes."""
        return self.request(P.PING, data, reply_bytes=len(data)).payload

    def info(self, refresh: bool = False) -> P.DeviceInfo:
        """The model and board description (cached after the first call)."""
        if self._info is None or refresh:
            fr = self.request(P.INFO, reply_bytes=512)
            try:
                self._info = P.decode_info(fr.payload)
            except P.ProtocolError as e:
                raise DeviceProtocolError(str(e), "rebuild the firmware with this edgeq") from e
        return self._info

    def infer(self, inputs: bytes | Sequence[bytes]) -> P.InferResult:
        """Run one inference. ``inputs``: all input tensors' bytes concatenated, or one bytes
        object per input. Raises DeviceProtocolError if the sizes do not match the model."""
        info = self.info()
        data = inputs if isinstance(inputs, (bytes, bytearray)) else b"".join(bytes(x) for x in inputs)
        if len(data) != info.input_bytes:
            raise DeviceProtocolError(
                f"input is {len(data)} bytes, the model on the device takes {info.input_bytes}")
        fr = self.request(P.INFER, bytes(data), reply_bytes=info.output_bytes + 13)
        try:
            return P.decode_infer_reply(fr.payload, [t.bytes for t in info.outputs])
        except P.ProtocolError as e:
            raise DeviceProtocolError(str(e)) from e

    def infer_file(self, path: str, offset: int = 0) -> P.InferResult:
        """Run one inference on inputs the device reads itself from ``path`` at ``offset`` (the
        model's total input bytes) through semihosting: emulated boards only, and much faster
        than the emulated UART for big inputs. ``path`` must be absolute (QEMU's cwd differs)."""
        info = self.info()
        fr = self.request(P.INFER_FILE, P.encode_infer_file(str(path), offset),
                          reply_bytes=info.output_bytes + 13)
        try:
            return P.decode_infer_reply(fr.payload, [t.bytes for t in info.outputs])
        except P.ProtocolError as e:
            raise DeviceProtocolError(str(e)) from e

    def _require_observe(self, what: str) -> P.DeviceInfo:
        info = self.info()
        if not info.observe:
            raise DeviceProtocolError(f"{what} needs firmware built with the per-layer hooks",
                                      "build with EDGEQ_OBSERVE=ON (flash-and-test --profile / edgeq diff-device do)")
        return info

    def layer_ticks(self) -> list[int]:
        """Timer ticks of every layer of the last inference (observe builds)."""
        self._require_observe("a per-layer profile")
        fr = self.request(P.LAYER_TICKS, reply_bytes=2 + 4 * 512)
        try:
            return P.decode_layer_ticks(fr.payload)
        except P.ProtocolError as e:
            raise DeviceProtocolError(str(e)) from e

    def infer_layer(self, layer: int, inputs: bytes | Sequence[bytes], reply_bytes: int = 0) -> P.LayerResult:
        """Run the model on ``inputs`` up to ``layer`` (a generated call's index) and return that
        layer's output tensor as the device computed it (observe builds)."""
        import struct

        info = self._require_observe("reading a layer's output")
        data = inputs if isinstance(inputs, (bytes, bytearray)) else b"".join(bytes(x) for x in inputs)
        if len(data) != info.input_bytes:
            raise DeviceProtocolError(
                f"input is {len(data)} bytes, the model on the device takes {info.input_bytes}")
        fr = self.request(P.INFER_LAYER, struct.pack("<H", layer) + bytes(data), reply_bytes=reply_bytes + 10)
        try:
            return P.decode_infer_layer_reply(fr.payload)
        except P.ProtocolError as e:
            raise DeviceProtocolError(str(e)) from e

    def saturation(self, reset: bool = False) -> P.StatsResult:
        """The saturation telemetry counters (telemetry builds); ``reset`` zeroes them after reading."""
        info = self.info()
        if not info.telemetry:
            raise DeviceProtocolError("the firmware has no saturation telemetry",
                                      "build with EDGEQ_STATS=ON (flash-and-test --telemetry does)")
        fr = self.request(P.STATS, b"\x01" if reset else b"\x00", reply_bytes=6 + 8 * 512)
        try:
            return P.decode_stats(fr.payload)
        except P.ProtocolError as e:
            raise DeviceProtocolError(str(e)) from e

    def bye(self) -> None:
        """Tell the device the session is over (an emulated board then exits QEMU)."""
        try:
            self.request(P.BYE)
        except DeviceLost:
            pass  # QEMU may exit before the reply is read
