"""The edgeq serial test protocol, host side: framing, CRCs, payload encode/decode.

Pure Python (no I/O), so every rule is unit-testable with in-memory bytes. The wire format is
specified in firmware/runtime/PROTOCOL.md; the device side is firmware/runtime/harness.c.

Frame: ``A5 5A | cmd u8 | seq u8 | len u32 | hcrc u16 | payload | crc u32`` (little-endian),
hcrc = CRC-16/CCITT-FALSE of cmd..len, crc = CRC-32 (zlib) of cmd..payload.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

PROTOCOL_VERSION = 2  # 2: INFO ends with a features byte; LAYER_TICKS / INFER_LAYER

SYNC = b"\xa5\x5a"
HEADER_BYTES = 8  # after the sync: cmd, seq, len[4], hcrc[2]
FRAME_OVERHEAD = 2 + HEADER_BYTES + 4

# commands (host -> device); a reply is cmd | REPLY_BIT
PING = 0x01
INFO = 0x02
INFER = 0x03
BYE = 0x04
INFER_FILE = 0x05  # emulated boards only: inputs read from a host file via semihosting
LAYER_TICKS = 0x06  # observe builds: per-layer timer ticks of the last inference
INFER_LAYER = 0x07  # observe builds: run up to one layer, reply with its output tensor
STATS = 0x08  # telemetry builds: per-layer counts of outputs at the type's min / max
REPLY_BIT = 0x80
# device -> host
READY = 0xA0
NAK = 0xF0
ERROR = 0xF1

NAK_CRC = 1
NAK_TOO_LARGE = 2
NAK_REASONS = {NAK_CRC: "CRC error", NAK_TOO_LARGE: "frame too large"}

ERR_UNKNOWN_CMD = -1
ERR_BAD_LENGTH = -2
ERR_TOO_MANY_IO = -3
ERR_FILE = -4
ERR_NO_OBSERVE = -5
ERR_NO_LAYER = -6

FEATURE_OBSERVE = 0x01  # INFO features: LAYER_TICKS and INFER_LAYER are answered
FEATURE_STATS = 0x02  # INFO features: STATS is answered (the model's NAME_stats)

TIMER_NONE = 0
TIMER_SYSTICK = 1
TIMER_DWT = 2
TIMER_NAMES = {TIMER_NONE: "none", TIMER_SYSTICK: "systick", TIMER_DWT: "dwt"}

DTYPE_INT8 = 0
DTYPE_UINT8 = 1
DTYPE_INT16 = 2
DTYPE_FLOAT32 = 3
DTYPE_INT32 = 4
DTYPE_NAMES = {DTYPE_INT8: "int8", DTYPE_UINT8: "uint8", DTYPE_INT16: "int16", DTYPE_FLOAT32: "float32",
               DTYPE_INT32: "int32"}
DTYPE_SIZES = {DTYPE_INT8: 1, DTYPE_UINT8: 1, DTYPE_INT16: 2, DTYPE_FLOAT32: 4, DTYPE_INT32: 4}

TENSOR_DESC = struct.Struct("<BB4iIfi")  # 30 bytes


class ProtocolError(Exception):
    """A payload that does not parse as the protocol says."""


# ---------------------------------------------------------------- CRCs


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xorout)."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def crc32(data: bytes, crc: int = 0) -> int:
    """CRC-32/IEEE, identical to zlib.crc32 (and to edgeq_crc32 in the firmware)."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF


# ---------------------------------------------------------------- framing


@dataclass(frozen=True)
class Frame:
    cmd: int
    seq: int
    payload: bytes = b""


@dataclass(frozen=True)
class BadFrame:
    """A frame whose header was valid but whose payload CRC was not (the receiver NAKs it)."""

    cmd: int
    seq: int
    reason: int = NAK_CRC


def encode_frame(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    """One complete frame, ready to write to the port."""
    head = struct.pack("<BBI", cmd & 0xFF, seq & 0xFF, len(payload))
    head += struct.pack("<H", crc16_ccitt(head))
    body = head + bytes(payload)
    return SYNC + body + struct.pack("<I", crc32(body))


class FrameDecoder:
    """Incremental receiver: feed() any chunk of bytes, get completed frames back.

    Mirrors the firmware's state machine: hunt for the sync bytes, check the header CRC
    (on failure rescan from the byte after the accepted 0xA5), read the payload, check the
    CRC-32 (on failure emit a BadFrame). Garbage between frames is counted in ``dropped``.
    """

    def __init__(self, max_payload: int = 1 << 24):
        self.max_payload = max_payload
        self._buf = bytearray()
        self.dropped = 0  # bytes discarded while hunting for sync
        self.bad_headers = 0

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        self._buf += data
        out: list[Frame | BadFrame] = []
        buf = self._buf
        while True:
            i = buf.find(SYNC)
            if i < 0:
                keep = 1 if buf.endswith(SYNC[:1]) else 0
                self.dropped += len(buf) - keep
                del buf[: len(buf) - keep]
                break
            if i:
                self.dropped += i
                del buf[:i]
            if len(buf) < 2 + HEADER_BYTES:
                break
            head = bytes(buf[2 : 2 + HEADER_BYTES])
            cmd, seq, length, hcrc = struct.unpack("<BBIH", head)
            if crc16_ccitt(head[:6]) != hcrc or length > self.max_payload:
                # not a real frame start: drop the 0xA5 and rescan from the next byte
                self.bad_headers += 1
                self.dropped += 1
                del buf[:1]
                continue
            total = 2 + HEADER_BYTES + length + 4
            if len(buf) < total:
                break
            body = bytes(buf[2 : 2 + HEADER_BYTES + length])
            (got,) = struct.unpack("<I", buf[total - 4 : total])
            del buf[:total]
            if crc32(body) != got:
                out.append(BadFrame(cmd, seq, NAK_CRC))
            else:
                out.append(Frame(cmd, seq, body[HEADER_BYTES:]))
        return out

    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()


# ---------------------------------------------------------------- payloads


@dataclass(frozen=True)
class TensorInfo:
    dtype: int
    shape: tuple[int, ...]
    bytes: int
    scale: float
    zero_point: int

    @property
    def dtype_name(self) -> str:
        return DTYPE_NAMES.get(self.dtype, f"dtype{self.dtype}")

    @property
    def numpy_dtype(self) -> str:
        return {DTYPE_INT8: "<i1", DTYPE_UINT8: "<u1", DTYPE_INT16: "<i2", DTYPE_FLOAT32: "<f4",
                DTYPE_INT32: "<i4"}[self.dtype]

    def to_dict(self) -> dict:
        return {"dtype": self.dtype_name, "shape": list(self.shape), "bytes": self.bytes,
                "scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    timer_kind: int
    cpu_hz: int
    timer_hz: int
    arena_bytes: int
    max_payload: int
    model_sha256: str
    model_name: str
    board: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    features: int = 0  # FEATURE_* bits (version 2)

    @property
    def observe(self) -> bool:
        """Built with the per-layer hooks (LAYER_TICKS, INFER_LAYER)."""
        return bool(self.features & FEATURE_OBSERVE)

    @property
    def telemetry(self) -> bool:
        """Built with the saturation telemetry (STATS)."""
        return bool(self.features & FEATURE_STATS)

    @property
    def timer_name(self) -> str:
        return TIMER_NAMES.get(self.timer_kind, f"timer{self.timer_kind}")

    @property
    def input_bytes(self) -> int:
        return sum(t.bytes for t in self.inputs)

    @property
    def output_bytes(self) -> int:
        return sum(t.bytes for t in self.outputs)

    def to_dict(self) -> dict:
        return {"protocol_version": self.protocol_version, "timer": self.timer_name,
                "cpu_hz": self.cpu_hz, "timer_hz": self.timer_hz, "arena_bytes": self.arena_bytes,
                "max_payload": self.max_payload, "model_sha256": self.model_sha256,
                "model_name": self.model_name, "board": self.board,
                "inputs": [t.to_dict() for t in self.inputs],
                "outputs": [t.to_dict() for t in self.outputs], "features": self.features}


@dataclass(frozen=True)
class ReadyInfo:
    protocol_version: int
    max_payload: int
    board: str


@dataclass(frozen=True)
class InferResult:
    status: int
    timer_kind: int
    ticks: int
    outputs: tuple[bytes, ...] = field(default=())


class _Reader:
    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError(f"{self.what} payload too short ({len(self.data)} bytes)")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt: str):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size))

    def str8(self) -> str:
        (n,) = self.unpack("B")
        return self.take(n).decode("utf-8", "replace")


def _tensor_from(r: _Reader) -> TensorInfo:
    dtype, rank, s0, s1, s2, s3, nbytes, scale, zp = TENSOR_DESC.unpack(r.take(TENSOR_DESC.size))
    shape = (s0, s1, s2, s3)[: min(rank, 4)]
    return TensorInfo(dtype, tuple(shape), nbytes, scale, zp)


def _tensor_to(t: TensorInfo) -> bytes:
    shape = list(t.shape) + [0] * (4 - len(t.shape))
    return TENSOR_DESC.pack(t.dtype, len(t.shape), *shape, t.bytes, t.scale, t.zero_point)


def _str8(s: str) -> bytes:
    b = s.encode("utf-8")[:255]
    return bytes([len(b)]) + b


def decode_info(payload: bytes) -> DeviceInfo:
    r = _Reader(payload, "INFO")
    version, timer, cpu_hz, timer_hz, arena, max_payload = r.unpack("BBIIII")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"device speaks protocol version {version}, host knows {PROTOCOL_VERSION}")
    sha = r.take(32).hex()
    name = r.str8()
    board = r.str8()
    n_in, n_out = r.unpack("BB")
    inputs = tuple(_tensor_from(r) for _ in range(n_in))
    outputs = tuple(_tensor_from(r) for _ in range(n_out))
    (features,) = r.unpack("B")
    return DeviceInfo(version, timer, cpu_hz, timer_hz, arena, max_payload, sha, name, board,
                      inputs, outputs, features)


def encode_info(info: DeviceInfo) -> bytes:
    """The INFO payload as the firmware sends it (for fake devices in tests)."""
    out = struct.pack("<BBIIII", info.protocol_version, info.timer_kind, info.cpu_hz, info.timer_hz,
                      info.arena_bytes, info.max_payload)
    out += bytes.fromhex(info.model_sha256) + _str8(info.model_name) + _str8(info.board)
    out += struct.pack("<BB", len(info.inputs), len(info.outputs))
    out += b"".join(_tensor_to(t) for t in info.inputs + info.outputs)
    return out + struct.pack("<B", info.features)


def decode_ready(payload: bytes) -> ReadyInfo:
    r = _Reader(payload, "READY")
    version, max_payload = r.unpack("BI")
    board = r.str8()
    return ReadyInfo(version, max_payload, board)


def encode_ready(ready: ReadyInfo) -> bytes:
    return struct.pack("<BI", ready.protocol_version, ready.max_payload) + _str8(ready.board)


def decode_infer_reply(payload: bytes, output_sizes: list[int] | tuple[int, ...]) -> InferResult:
    r = _Reader(payload, "INFER reply")
    status, timer, ticks = r.unpack("iBQ")
    outs = tuple(r.take(n) for n in output_sizes) if status == 0 else ()
    if status == 0 and r.pos != len(payload):
        raise ProtocolError(f"INFER reply has {len(payload) - r.pos} unexpected trailing bytes")
    return InferResult(status, timer, ticks, outs)


def encode_infer_reply(result: InferResult) -> bytes:
    return struct.pack("<iBQ", result.status, result.timer_kind, result.ticks) + b"".join(result.outputs)


def decode_layer_ticks(payload: bytes) -> list[int]:
    """LAYER_TICKS reply: u16 count, then one u32 of timer ticks per layer of the last inference."""
    r = _Reader(payload, "LAYER_TICKS reply")
    (n,) = r.unpack("H")
    ticks = list(r.unpack(f"{n}I")) if n else []
    if r.pos != len(payload):
        raise ProtocolError(f"LAYER_TICKS reply has {len(payload) - r.pos} unexpected trailing bytes")
    return ticks


def encode_layer_ticks(ticks: list[int]) -> bytes:
    return struct.pack(f"<H{len(ticks)}I", len(ticks), *ticks)


@dataclass(frozen=True)
class LayerResult:
    status: int  # the model's status (0: the layer ran; negative: a kernel failed before it)
    layer: int
    data: bytes  # the layer's output tensor bytes


def decode_infer_layer_reply(payload: bytes) -> LayerResult:
    """INFER_LAYER reply: i32 status, u16 layer, u32 bytes, the layer's output tensor."""
    r = _Reader(payload, "INFER_LAYER reply")
    status, layer, n = r.unpack("iHI")
    data = r.take(n)
    if r.pos != len(payload):
        raise ProtocolError(f"INFER_LAYER reply has {len(payload) - r.pos} unexpected trailing bytes")
    return LayerResult(status, layer, data)


def encode_infer_layer_reply(res: LayerResult) -> bytes:
    return struct.pack("<iHI", res.status, res.layer, len(res.data)) + res.data


@dataclass(frozen=True)
class StatsResult:
    inferences: int  # invoke() calls counted since the last reset
    at_limits: tuple[tuple[int, int], ...]  # per layer: (values at the type's min, at its max)


def decode_stats(payload: bytes) -> StatsResult:
    """STATS reply: u32 inferences, u16 layers, then per layer u32 at-min, u32 at-max."""
    r = _Reader(payload, "STATS reply")
    inferences, n = r.unpack("IH")
    flat = r.unpack(f"{2 * n}I") if n else ()
    if r.pos != len(payload):
        raise ProtocolError(f"STATS reply has {len(payload) - r.pos} unexpected trailing bytes")
    return StatsResult(inferences, tuple((flat[2 * k], flat[2 * k + 1]) for k in range(n)))


def encode_stats(res: StatsResult) -> bytes:
    flat = [v for pair in res.at_limits for v in pair]
    return struct.pack(f"<IH{len(flat)}I", res.inferences, len(res.at_limits), *flat)


def encode_infer_file(path: str, offset: int) -> bytes:
    """INFER_FILE payload: u32 offset + the host path (the device reads its inputs there)."""
    return struct.pack("<I", offset) + path.encode("utf-8")


def decode_nak(payload: bytes) -> int:
    return payload[0] if payload else 0


def decode_error(payload: bytes) -> tuple[int, str]:
    r = _Reader(payload, "ERROR")
    (code,) = r.unpack("i")
    return code, payload[4:].decode("utf-8", "replace")


def encode_error(code: int, message: str) -> bytes:
    return struct.pack("<i", code) + message.encode("utf-8")


def ticks_to_instructions(ticks: int, timer_hz: int, icount_shift: int = 0) -> int:
    """Instructions executed under QEMU ``-icount shift=N`` (one instruction = 2^N ns)."""
    return round(ticks * 1e9 / timer_hz / (1 << icount_shift))


def ticks_to_cycles(ticks: int, timer_hz: int, cpu_hz: int) -> int:
    """Core cycles on a real board (DWT: timer_hz == cpu_hz, so cycles == ticks)."""
    return round(ticks * cpu_hz / timer_hz)
