"""Unit tests of the serial test protocol (framing, CRCs, resync), the client's recovery rules
and the dataset runner, against an in-memory fake device (tests/fake_device.py)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from edgeq.device import protocol as P
from edgeq.device.client import DeviceClient, DeviceLost, DeviceProtocolError
from edgeq.device.runner import dequantize_output, load_results, quantize_input, run_dataset
from fake_device import FAKE_INFO, FakeDevicePort, fake_model

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------- CRCs and framing

def test_crc_check_values():
    # the standard check values of both CRC catalogue entries
    assert P.crc16_ccitt(b"123456789") == 0x29B1
    assert P.crc32(b"123456789") == 0xCBF43926


def test_frame_layout():
    f = P.encode_frame(P.INFER, 7, b"\x01\x02\x03")
    assert f[:2] == b"\xa5\x5a"
    assert f[2] == P.INFER and f[3] == 7
    assert struct.unpack("<I", f[4:8])[0] == 3
    assert struct.unpack("<H", f[8:10])[0] == P.crc16_ccitt(f[2:8])
    assert f[10:13] == b"\x01\x02\x03"
    assert struct.unpack("<I", f[13:17])[0] == P.crc32(f[2:13])
    assert len(f) == P.FRAME_OVERHEAD + 3


def test_decoder_round_trip_byte_by_byte():
    frames = [P.encode_frame(P.PING, i, bytes([i]) * i) for i in range(1, 6)]
    d = P.FrameDecoder()
    got = []
    for b in b"".join(frames):
        got += d.feed(bytes([b]))
    assert got == [P.Frame(P.PING, i, bytes([i]) * i) for i in range(1, 6)]
    assert d.pending() == 0 and d.dropped == 0


def test_decoder_skips_garbage_and_false_syncs():
    garbage = b"\x00\xff\xa5\x00\xa5\x5a\x01\x02\x03\x04\x05\x06\x07\x08 QEMU banner\r\n\xa5"
    d = P.FrameDecoder()
    got = d.feed(garbage + P.encode_frame(P.INFO, 3) + b"\xa5\xa5" + P.encode_frame(P.PING, 4, b"x"))
    assert got == [P.Frame(P.INFO, 3, b""), P.Frame(P.PING, 4, b"x")]
    assert d.bad_headers >= 1  # the false "A5 5A" header was rejected by its CRC


def test_decoder_finds_frame_inside_rejected_header():
    # a broken frame start whose "header" bytes contain the real frame's sync
    real = P.encode_frame(P.PING, 9, b"hello")
    d = P.FrameDecoder()
    assert d.feed(b"\xa5\x5a\x01" + real) == [P.Frame(P.PING, 9, b"hello")]


def test_decoder_reports_payload_crc_error_with_seq():
    f = bytearray(P.encode_frame(P.INFER, 42, bytes(16)))
    f[12] ^= 0x40
    d = P.FrameDecoder()
    assert d.feed(bytes(f) + P.encode_frame(P.PING, 43)) == [P.BadFrame(P.INFER, 42, P.NAK_CRC),
                                                             P.Frame(P.PING, 43, b"")]


def test_decoder_corrupted_length_does_not_stall():
    # a flipped length bit fails the header CRC: the decoder does not wait for a huge payload
    f = bytearray(P.encode_frame(P.PING, 1, b"abc"))
    f[6] ^= 0x01
    d = P.FrameDecoder()
    assert d.feed(bytes(f) + P.encode_frame(P.PING, 2, b"ok")) == [P.Frame(P.PING, 2, b"ok")]


def test_info_and_infer_payload_round_trip():
    assert P.decode_info(P.encode_info(FAKE_INFO)) == FAKE_INFO
    payload = P.encode_info(FAKE_INFO)
    assert len(payload) == 1 + 1 + 16 + 32 + 1 + 4 + 1 + 10 + 2 + 30 * 3 + 1  # v2: + features byte
    res = P.InferResult(0, P.TIMER_DWT, 123456789012, (b"a" * 16, b"bb"))
    assert P.decode_infer_reply(P.encode_infer_reply(res), [16, 2]) == res
    with pytest.raises(P.ProtocolError):
        P.decode_infer_reply(P.encode_infer_reply(res) + b"x", [16, 2])


def test_version_mismatch_is_refused():
    bad = bytes([P.PROTOCOL_VERSION + 1]) + P.encode_info(FAKE_INFO)[1:]
    with pytest.raises(P.ProtocolError, match="version"):
        P.decode_info(bad)


def test_tick_conversions():
    assert P.ticks_to_instructions(154, 25_000_000) == 6160  # mps2: ×40
    assert P.ticks_to_instructions(154, 25_000_000, icount_shift=1) == 3080
    assert P.ticks_to_cycles(1000, 1_000_000, 64_000_000) == 64000
    assert P.ticks_to_cycles(1000, 64_000_000, 64_000_000) == 1000


# ---------------------------------------------------------------- client recovery

def _client(port, **kw):
    c = DeviceClient(port, timeout=kw.pop("timeout", 0.1), retries=kw.pop("retries", 3), **kw)
    c.wait_ready(1.0)
    return c


def test_client_info_and_infer():
    port = FakeDevicePort(garbage_first=b"boot noise\xa5")
    c = _client(port)
    assert c.ready.board == "fake-board"
    assert c.info() == FAKE_INFO
    x = bytes((i * 37) & 0xFF for i in range(16))
    r = c.infer(x)
    assert r.outputs == fake_model(x) and r.ticks == 154 and r.status == 0
    assert c.ping(b"\xa5\x5a" * 10) == b"\xa5\x5a" * 10
    assert c.stats.retransmits == 0


def test_client_retries_after_nak():
    port = FakeDevicePort(corrupt_writes={1: 12})  # write 0 = INFO, write 1 = first INFER
    c = _client(port)
    c.info()
    x = bytes(16)
    assert c.infer(x).outputs == fake_model(x)
    assert port.naks_sent == 1 and c.stats.naks == 1 and c.stats.retransmits == 1


def test_client_retries_after_corrupted_reply():
    port = FakeDevicePort(corrupt_replies={1: 20})  # reply 0 = INFO, reply 1 = first INFER
    c = _client(port)
    c.info()
    assert c.infer(bytes(16)).outputs == fake_model(bytes(16))
    assert c.stats.bad_replies == 1 and port.infers == 2  # INFER is idempotent: run again


def test_client_recovers_from_dropped_byte():
    port = FakeDevicePort(drop_writes={1: 15})
    c = _client(port)
    c.info()
    x = bytes(range(16))
    assert c.infer(x).outputs == fake_model(x)
    assert c.stats.timeouts == 1  # the device waited for the missing byte; padding completed it
    assert port.naks_sent == 1    # ... and the padded frame failed its CRC


def test_client_recovers_from_byte_lost_in_reply():
    port = FakeDevicePort(drop_replies={1: 30})  # reply 1 = the first INFER's, one byte short
    c = _client(port)
    c.info()
    x = bytes(range(16))
    assert c.infer(x).outputs == fake_model(x)
    assert c.stats.timeouts == 1 and c.stats.retransmits == 1 and port.infers == 2


def test_client_ignores_stale_replies():
    port = FakeDevicePort()
    c = _client(port)
    port._out += P.encode_frame(P.INFO | P.REPLY_BIT, 200, b"stale")  # an old reply still in flight
    assert c.info() == FAKE_INFO
    assert c.stats.stale_replies == 1


def test_client_device_error_is_not_retried():
    port = FakeDevicePort()
    c = _client(port)
    with pytest.raises(DeviceProtocolError, match="unknown command"):
        c.request(0x33)
    assert c.stats.retransmits == 0


def test_client_silent_device_raises_device_lost():
    port = FakeDevicePort(silent_after=2)
    c = _client(port, retries=2, timeout=0.05)
    c.info()
    c.infer(bytes(16))
    with pytest.raises(DeviceLost, match="stopped answering"):
        c.infer(bytes(16))
    assert c.stats.sent == 2 + 3


def test_client_vanished_port_raises_device_lost():
    port = FakeDevicePort(vanish_after=1)
    c = _client(port)
    with pytest.raises(DeviceLost, match="serial port lost"):
        c.info()
        c.info(refresh=True)


def test_wait_ready_timeout():
    with pytest.raises(DeviceLost, match="READY"):
        DeviceClient(FakeDevicePort(send_ready=False)).wait_ready(0.1)


# ---------------------------------------------------------------- runner

def _samples(n, seed=0):
    return np.random.default_rng(seed).integers(-128, 128, (n, 1, 16)).astype(np.int8)


def test_runner_writes_one_line_per_result(tmp_path):
    x = _samples(12)
    seen = []
    c = _client(FakeDevicePort())
    recs = run_dataset(c, x, tmp_path / "r.jsonl", icount_shift=0,
                       progress=lambda done, total, rec: seen.append((done, total, rec.index)))
    assert [r.index for r in recs] == list(range(12))
    assert seen[-1] == (12, 12, 11)
    for r in recs:
        assert r.outputs == fake_model(x[r.index].tobytes())
        assert r.instructions == 6160 and r.timer == "systick"
        assert r.output_arrays(FAKE_INFO)[0].shape == (1, 16)
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[3])["index"] == 3


def test_runner_device_lost_keeps_results_and_resume_completes(tmp_path):
    x = _samples(10, seed=1)
    path = tmp_path / "r.jsonl"
    port = FakeDevicePort(vanish_after=1 + 6)  # INFO + 6 inferences, then the port is gone
    with pytest.raises(DeviceLost) as ei:
        run_dataset(_client(port), x, path)
    assert [r.index for r in ei.value.records] == list(range(6))
    assert ei.value.results_path == path and "6 of 10" in ei.value.message
    assert sorted(load_results(path)) == list(range(6))
    with path.open("a") as f:
        f.write('{"index": 6, "outp')  # a torn line from a crash mid-write is tolerated
    port2 = FakeDevicePort()
    recs = run_dataset(_client(port2), x, path, resume=True)
    assert [r.index for r in recs] == list(range(10))
    assert port2.infers == 4  # only the missing ones ran
    assert all(r.outputs == fake_model(x[r.index].tobytes()) for r in recs)
    assert len(path.read_text().splitlines()) == 10


def test_runner_rejects_wrong_input_size(tmp_path):
    c = _client(FakeDevicePort())
    with pytest.raises(DeviceProtocolError):
        run_dataset(c, np.zeros((2, 15), np.int8), tmp_path / "r.jsonl")


def test_quantize_and_dequantize():
    t = P.TensorInfo(P.DTYPE_INT8, (1, 4), 4, 0.5, -3)
    q = quantize_input(np.array([0.0, 1.0, 100.0, -100.0]), t)
    assert q.dtype == np.int8 and q.tolist() == [-3, -1, 127, -128]
    np.testing.assert_allclose(dequantize_output(q, t), [0.0, 1.0, 65.0, -62.5])
    t16 = P.TensorInfo(P.DTYPE_INT16, (1,), 2, 0.001, 0)
    assert quantize_input(np.array([40.0]), t16).tolist() == [32767]


def test_device_reset_mid_run_is_retried_and_counted(tmp_path):
    """A device that reboots during an INFER (READY arrives instead of the reply): the request
    is resent at once (no timeout wait), the run completes, and the reset is counted."""
    x = _samples(8, seed=2)
    port = FakeDevicePort(reset_after=3)
    c = _client(port, timeout=5.0)  # a long timeout: the retry must not wait for it
    recs = run_dataset(c, x, tmp_path / "r.jsonl")
    assert port.reboots == 1
    assert [r.index for r in recs] == list(range(8))
    assert all(r.outputs == fake_model(x[r.index].tobytes()) for r in recs)
    assert c.stats.resets == 1 and c.stats.retransmits == 1 and c.stats.timeouts == 0


def test_device_resetting_on_every_attempt_is_a_clear_error(tmp_path):
    """A device that reboots on the same input on every attempt: DeviceLost says so, and the
    results before it are kept in the file for --resume."""
    x = _samples(8, seed=2)
    path = tmp_path / "r.jsonl"
    port = FakeDevicePort(reset_after=5, resets=100)
    with pytest.raises(DeviceLost, match=r"rebooted 4 times during one request") as ei:
        run_dataset(_client(port, retries=3, timeout=5.0), x, path)
    assert "5 of 8" in ei.value.message
    assert [r.index for r in ei.value.records] == list(range(5))
    assert sorted(load_results(path)) == list(range(5))


def test_runner_resume_uses_only_the_requested_indices(tmp_path):
    """Resuming with fewer samples than the file holds returns only the current indices."""
    x = _samples(10, seed=4)
    path = tmp_path / "r.jsonl"
    run_dataset(_client(FakeDevicePort()), x, path)
    port = FakeDevicePort()
    recs = run_dataset(_client(port), x[:4], path, resume=True)
    assert [r.index for r in recs] == list(range(4)) and port.infers == 0
    assert sorted(load_results(path)) == list(range(10))  # nothing recorded is thrown away


def test_runner_knows_which_retransmitted_inferences_ran_twice(tmp_path):
    """Telemetry: a lost INFER reply makes the host resend an input the device already ran, so the
    device's saturation counters hold it twice; the record says so (runs = 2) and the host counts
    with those weights equal the device's. A corrupted *request* (NAKed, never run) stays 1."""
    from edgeq.telemetry import host_counts

    x = np.clip(_samples(6, seed=3).astype(np.int16) * 2, -128, 127).astype(np.int8)  # many at +127
    # replies: 0 INFO, 1 STATS (counter baseline), 2.. INFERs; writes: 0 INFO, 1 STATS, 2.. INFERs
    port = FakeDevicePort(telemetry=True, corrupt_replies={3: 12}, corrupt_writes={6: 12})
    c = _client(port)
    recs = run_dataset(c, x, tmp_path / "r.jsonl", telemetry=True)
    assert c.stats.retransmits == 2
    runs = [r.runs for r in recs]
    assert runs == [1, 2, 1, 1, 1, 1] and sum(runs) == port.infers == 7
    assert json.loads((tmp_path / "r.jsonl").read_text().splitlines()[1])["runs"] == 2
    assert load_results(tmp_path / "r.jsonl")[1].runs == 2
    out0 = np.stack([np.frombuffer(fake_model(s.tobytes())[0], np.int8) for s in x])
    layer = [{"dtype": "int8", "output_tensor": 0, "shape": [1, 16]}]
    assert host_counts(layer, {0: out0}, runs=runs)[0] == tuple(port.at_limits)
    assert host_counts(layer, {0: out0})[0] != tuple(port.at_limits)  # counting each once would differ
