"""An in-memory device that speaks the serial test protocol like firmware/runtime/harness.c
running the fake model (firmware/test_model/fake_model.c), with fault injection on the wire.
Used by the unit tests of the client and the runner (no QEMU needed)."""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeq.device import protocol as P

FAKE_INFO = P.DeviceInfo(
    protocol_version=P.PROTOCOL_VERSION, timer_kind=P.TIMER_SYSTICK, cpu_hz=25_000_000,
    timer_hz=25_000_000, arena_bytes=64, max_payload=4096, model_sha256=bytes(range(32)).hex(),
    model_name="fake", board="fake-board",
    inputs=(P.TensorInfo(P.DTYPE_INT8, (1, 16), 16, 0.5, -3),),
    outputs=(P.TensorInfo(P.DTYPE_INT8, (1, 16), 16, 0.25, 5), P.TensorInfo(P.DTYPE_INT16, (1, 1), 2, 1.0, 0)),
)


def fake_model(x: bytes) -> tuple[bytes, bytes]:
    """The fake model's outputs: reversed input + 1 (saturating), and the int16 sum."""
    a = np.frombuffer(x, dtype=np.int8).astype(np.int32)
    out0 = np.minimum(a[::-1] + 1, 127).astype(np.int8).tobytes()
    out1 = np.array([a.sum()], dtype="<i2").tobytes()
    return out0, out1


class PortGone(OSError):
    pass


class FakeDevicePort:
    """A pyserial-like port wired to a simulated device.

    Fault injection (counted over host writes / device replies, 0-based):
      corrupt_writes: {k: byte_offset} flip a bit of host write k at that offset
      drop_writes:    {k: byte_offset} drop that byte of host write k
      corrupt_replies: {k: byte_offset} flip a bit of device reply k
      drop_replies:   {k: byte_offset} drop that byte of device reply k
      silent_after:   the device stops answering after this many replies
      vanish_after:   reads/writes raise OSError once this many replies were read (unplugged)
      reset_after:    the device reboots when INFER requests arrive after this many answered
                      INFERs: the request is dropped unanswered and a fresh READY is sent (as
                      firmware does at boot), ``resets`` times in a row (one per INFER
                      received), then it answers again
    """

    def __init__(self, *, corrupt_writes=None, drop_writes=None, corrupt_replies=None,
                 silent_after=None, vanish_after=None, send_ready=True, garbage_first=b"", drop_replies=None,
                 reset_after=None, resets=1, telemetry=False):
        self.timeout = 0.02
        self._rx = P.FrameDecoder(max_payload=FAKE_INFO.max_payload)
        self._out = bytearray(garbage_first)
        self.corrupt_writes = dict(corrupt_writes or {})
        self.drop_writes = dict(drop_writes or {})
        self.corrupt_replies = dict(corrupt_replies or {})
        self.drop_replies = dict(drop_replies or {})
        self.silent_after = silent_after
        self.vanish_after = vanish_after
        self.writes = 0
        self.replies = 0
        self.naks_sent = 0
        self.infers = 0
        self.reset_after = reset_after
        self.resets_left = resets
        self.reboots = 0
        self.closed = False
        # telemetry build: STATS answers the inference counter and, for its one "layer" (output 0),
        # the values at int8's limits, summed over every invoke() (retransmitted ones too)
        self.info = FAKE_INFO if not telemetry else dataclasses.replace(FAKE_INFO, features=P.FEATURE_STATS)
        self.at_limits = [0, 0]
        if send_ready:
            self._send_ready()

    def _send_ready(self) -> None:
        self._out += P.encode_frame(P.READY, 0, P.encode_ready(P.ReadyInfo(P.PROTOCOL_VERSION, FAKE_INFO.max_payload, "fake-board")))

    # ---- pyserial surface
    @property
    def in_waiting(self) -> int:
        self._check()
        return len(self._out)

    def read(self, n: int = 1) -> bytes:
        self._check()
        b = bytes(self._out[:n])
        del self._out[:n]
        return b

    def write(self, data: bytes) -> int:
        self._check()
        k = self.writes
        self.writes += 1
        data = bytearray(data)
        if k in self.corrupt_writes:
            data[self.corrupt_writes[k]] ^= 0x10
        if k in self.drop_writes:
            del data[self.drop_writes[k]]
        for fr in self._rx.feed(bytes(data)):
            self._handle(fr)
        return len(data)

    def close(self) -> None:
        self.closed = True

    # ---- device
    def _check(self) -> None:
        # gone once the device produced `vanish_after` replies and the host read them all
        if self.vanish_after is not None and self.replies >= self.vanish_after and not self._out:
            raise PortGone(5, "Input/output error")

    def _reply(self, cmd: int, seq: int, payload: bytes) -> None:
        if self.silent_after is not None and self.replies >= self.silent_after:
            return
        frame = bytearray(P.encode_frame(cmd, seq, payload))
        k = self.replies
        self.replies += 1
        if k in self.corrupt_replies:
            frame[self.corrupt_replies[k]] ^= 0x01
        if k in self.drop_replies:
            del frame[self.drop_replies[k]]
        self._out += frame

    def _handle(self, fr) -> None:
        if isinstance(fr, P.BadFrame):
            self.naks_sent += 1
            self._reply(P.NAK, fr.seq, bytes([P.NAK_CRC]))
        elif fr.cmd == P.PING:
            self._reply(P.PING | P.REPLY_BIT, fr.seq, fr.payload)
        elif fr.cmd == P.INFO:
            self._reply(P.INFO | P.REPLY_BIT, fr.seq, P.encode_info(self.info))
        elif fr.cmd == P.INFER:
            if len(fr.payload) != FAKE_INFO.input_bytes:
                self._reply(P.ERROR, fr.seq, P.encode_error(P.ERR_BAD_LENGTH, "bad length"))
                return
            if self.reset_after is not None and self.infers >= self.reset_after and self.resets_left > 0:
                self.resets_left -= 1
                self.reboots += 1
                self._rx = P.FrameDecoder(max_payload=FAKE_INFO.max_payload)  # RAM state is gone
                self._send_ready()
                return
            self.infers += 1
            res = P.InferResult(0, P.TIMER_SYSTICK, 154, fake_model(fr.payload))
            out0 = np.frombuffer(res.outputs[0], np.int8)
            self.at_limits[0] += int(np.count_nonzero(out0 == -128))
            self.at_limits[1] += int(np.count_nonzero(out0 == 127))
            self._reply(P.INFER | P.REPLY_BIT, fr.seq, P.encode_infer_reply(res))
        elif fr.cmd == P.STATS and self.info.telemetry:
            stats = P.StatsResult(self.infers, (tuple(self.at_limits),))
            if fr.payload[:1] == b"\x01":
                self.infers, self.at_limits = 0, [0, 0]
            self._reply(P.STATS | P.REPLY_BIT, fr.seq, P.encode_stats(stats))
        else:
            self._reply(P.ERROR, fr.seq, P.encode_error(P.ERR_UNKNOWN_CMD, "unknown command"))
