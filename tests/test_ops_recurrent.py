"""Recurrent layers end to end: Keras 3 LSTM / GRU → `edgeq convert` (the converter in a child
process; LSTM rebuilt in tf_keras → one fused UNIDIRECTIONAL_SEQUENCE_LSTM, GRU unrolled) →
generated C, compared byte for byte with TFLM.

State: TFLM's reference LSTM keeps its variable state tensors across invokes of one interpreter;
a stateless Keras LSTM (and edgeq's generated code) starts every inference from zero state, which
is TFLM with a fresh interpreter per sample. The reference here is therefore one TFLM interpreter
per sample (``_tflm_fresh``), and one test pins the TFLM behaviour down.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections import Counter

import numpy as np
import pytest

from _codegen_harness import HostBuilder, assert_bit_exact, random_inputs, tflm_run_many

pytestmark = pytest.mark.toolchain

EXPECTED_OPS = {"lstm_stack": {"UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE"},
                "kws_lstm": {"UNIDIRECTIONAL_SEQUENCE_LSTM", "FULLY_CONNECTED", "SOFTMAX"}}
SAMPLES = 12


# ------------------------------------------------------------------------------------ models

def model_lstm_stack():
    """Two stacked LSTMs: 13 units returning sequences (odd, not a multiple of 4) → 6 units
    returning the last step (a STRIDED_SLICE after the fused op), then a dense head."""
    import keras
    from keras import layers as L
    inp = keras.Input((11, 5))
    y = L.LSTM(13, return_sequences=True, name="lstm_a")(inp)
    y = L.LSTM(6, name="lstm_b")(y)
    return keras.Model(inp, L.Dense(3, name="head")(y)), (-1.5, 2.0, (11, 5))


def model_kws_lstm():
    """Keyword-spotting shape: 49 frames x 10 MFCC → LSTM(32) → Dense(12) softmax."""
    import keras
    from keras import layers as L
    inp = keras.Input((49, 10))
    y = L.LSTM(32, name="lstm")(inp)
    return keras.Model(inp, L.Dense(12, activation="softmax", name="head")(y)), (-3.0, 3.0, (49, 10))


def model_gru():
    import keras
    from keras import layers as L
    inp = keras.Input((6, 4))
    y = L.GRU(5, name="gru")(inp)
    return keras.Model(inp, L.Dense(3, name="head")(y)), (-1.0, 1.0, (6, 4))


def model_bidi_lstm():
    """Bidirectional LSTM (tf_keras path): a forward and a backward fused op, REVERSE_V2, CONCATENATION."""
    import keras
    from keras import layers as L
    inp = keras.Input((7, 3))
    y = L.Bidirectional(L.LSTM(5), name="bidi")(inp)
    return keras.Model(inp, L.Dense(4, name="head")(y)), (-1.0, 1.0, (7, 3))


MODELS = {"lstm_stack": model_lstm_stack, "kws_lstm": model_kws_lstm, "gru": model_gru, "bidi_lstm": model_bidi_lstm}


def _key(name: str) -> str:
    from edgeq.quantize import convert_worker, recurrent

    src = inspect.getsource(MODELS[name]) + inspect.getsource(_build) + inspect.getsource(recurrent) \
        + inspect.getsource(convert_worker)
    return hashlib.sha256(src.encode()).hexdigest()[:12]


def _build(name: str):
    import keras

    keras.utils.set_random_seed(3)
    model, (lo, hi, shape) = MODELS[name]()
    # biases as a trained model has them (Keras initializes them to zero, and a zero recurrent
    # bias lets the converter drop part of the first GRU step)
    rng = np.random.default_rng(9)
    model.set_weights([w if w.any() else rng.uniform(-0.4, 0.4, w.shape).astype(w.dtype)
                       for w in model.get_weights()])
    x = np.random.default_rng(5).uniform(lo, hi, (48,) + shape).astype(np.float32)
    return model, x


@pytest.fixture(scope="session")
def recurrent_models(request) -> dict[str, bytes]:
    """name → int8 .tflite converted by edgeq's own convert path (cached by source hash)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from edgeq.quantize.convert import ConvertOptions, quantize_keras

    cache = request.config.cache.mkdir("edgeq_recurrent_models")
    out = {}
    for name in MODELS:
        path = cache / f"{name}-{_key(name)}.tflite"
        if not path.exists():
            model, x = _build(name)
            path.write_bytes(quantize_keras(model, x, ConvertOptions(samples=None))[0])
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def host_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("recurrent_host"))


def _ops(buf: bytes) -> Counter:
    from edgeq.graph import load_graph

    return Counter(op.opcode for op in load_graph(buf, check_supported=False).operators)


def _tflm_fresh(buf: bytes, inputs: list[np.ndarray], nout: int) -> list[np.ndarray]:
    """TFLM with a fresh interpreter per sample (zero LSTM state for each): one case per sample."""
    n = len(inputs[0])
    res = tflm_run_many([(buf, [x[s:s + 1] for x in inputs], nout) for s in range(n)])
    return [np.concatenate([r[o] for r in res]) for o in range(nout)]


# ------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("name", sorted(EXPECTED_OPS))
def test_lstm_converts_to_the_fused_op(recurrent_models, name):
    ops = _ops(recurrent_models[name])
    assert EXPECTED_OPS[name] <= set(ops), ops
    assert ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == (2 if name == "lstm_stack" else 1)
    from edgeq.graph import load_graph

    load_graph(recurrent_models[name], check_supported=True)  # every op supported, integer only


@pytest.mark.parametrize("name", sorted(EXPECTED_OPS))
def test_lstm_bit_exact_host(recurrent_models, host_builder, name):
    buf = recurrent_models[name]
    m = host_builder.build(buf, name=f"r_{name}")
    ins = random_inputs(m.graph, SAMPLES, seed=11)
    got = m.run(ins)  # all samples in one process: each invoke starts from zero state
    assert assert_bit_exact(name, got, _tflm_fresh(buf, ins, len(m.graph.outputs))) > 0


def test_lstm_state_is_zero_per_invoke_tflm_keeps_it(recurrent_models):
    """TFLM's interpreter carries the LSTM state into the next invoke (the same input twice gives
    two outputs) until reset(); edgeq's reference (evaluate, flash-and-test) and the test harness
    reset before every sample, as the device starts every inference from zero state."""
    from tflite_micro.python.tflite_micro import runtime

    from edgeq.graph import load_graph
    from edgeq.reference import run_tflm

    buf = recurrent_models["lstm_stack"]
    g = load_graph(buf)
    x = random_inputs(g, 1, seed=2)[0]
    it = runtime.Interpreter.from_bytes(buf, arena_size=1 << 20)
    carried = []
    for _ in range(2):
        it.set_input(x, 0)
        it.invoke()
        carried.append(np.array(it.get_output(0)).copy())
    assert not np.array_equal(carried[0], carried[1])  # TFLM keeps the state across invokes
    fresh = _tflm_fresh(buf, [np.concatenate([x, x])], 1)[0]
    assert np.array_equal(fresh[0], fresh[1]) and np.array_equal(carried[0][0], fresh[0])
    harness = tflm_run_many([(buf, [np.concatenate([x, x])], 1)])[0][0]
    assert np.array_equal(harness, fresh)
    ref = run_tflm(buf, np.concatenate([x, x]), quantized=True)  # what evaluate / flash-and-test use
    assert np.array_equal(np.asarray(ref.outputs_q).reshape(fresh.shape), fresh)


def test_lstm_int8_tracks_keras_float(recurrent_models):
    """The tf_keras rebuild computes the Keras 3 layer: TFLM's int8 output (dequantized) stays close
    to the float model's."""
    from edgeq.graph import load_graph

    model, x = _build("kws_lstm")
    buf = recurrent_models["kws_lstm"]
    g = load_graph(buf)
    qi, qo = g.tensors[g.inputs[0]].quant, g.tensors[g.outputs[0]].quant
    xq = np.clip(np.round(x[:8] / qi.scale + qi.zero_point), -128, 127).astype(np.int8)
    y = (_tflm_fresh(buf, [xq], 1)[0].astype(np.float32) - qo.zero_point) * qo.scale
    want = model.predict(x[:8], verbose=0)
    assert np.abs(y.reshape(want.shape) - want).max() < 0.05


@pytest.mark.emulator
def test_kws_lstm_on_cortex_m4(recurrent_models, tmp_path):
    from _codegen_harness import qemu_run

    buf = recurrent_models["kws_lstm"]
    from edgeq.graph import load_graph

    ins = random_inputs(load_graph(buf), 3, seed=4)
    got = qemu_run(buf, ins, tmp_path, name="kws_lstm")
    assert_bit_exact("kws_lstm@m4", got, _tflm_fresh(buf, ins, 1))


@pytest.mark.parametrize("name", ["gru", "bidi_lstm"])
def test_unrolled_gru_and_bidirectional_lstm_bit_exact(recurrent_models, host_builder, name):
    """GRU (unrolled: no SHAPE/FILL, the zero initial state folds with batch 1) and a
    Bidirectional LSTM (two fused ops, the backward one between REVERSE_V2s) end to end. Their
    small ops come from other op families: a missing one is reported as an expected failure."""
    from edgeq.ops import registry

    buf = recurrent_models[name]
    ops = _ops(buf)
    assert not {"SHAPE", "FILL", "WHILE"} & set(ops), ops
    if name == "gru":
        assert {"FULLY_CONNECTED", "LOGISTIC", "TANH", "SUB", "SPLIT"} <= set(ops), ops
    else:
        assert ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2 and "REVERSE_V2" in ops, ops
    missing = sorted(set(ops) - set(registry()))
    if missing:
        pytest.xfail(f"{name}: ops not in the op registry yet: {', '.join(missing)}")
    m = host_builder.build(buf, name=f"r_{name}")
    ins = random_inputs(m.graph, SAMPLES, seed=12)
    assert assert_bit_exact(name, m.run(ins), _tflm_fresh(buf, ins, len(m.graph.outputs))) > 0


# ------------------------------------------------------------------------------------ CLI

@pytest.mark.parametrize("name", ["lstm_stack", "gru"])
def test_cli_convert_recurrent_never_crashes(tmp_path, name):
    """`edgeq convert` of a Keras LSTM / GRU: exit 0 (or 2 naming the layer), never a signal."""
    import subprocess
    import sys

    model, x = _build(name)
    model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "calib.npz", x=x[:16])
    out = tmp_path / "m.tflite"
    p = subprocess.run([sys.executable, "-m", "edgeq", "convert", str(tmp_path / "m.keras"), "--calib",
                        str(tmp_path / "calib.npz"), "-o", str(out)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)))
    assert p.returncode in (0, 2), (p.returncode, p.stderr[-2000:])
    if p.returncode == 2:
        assert ("'gru'" in p.stderr or "lstm" in p.stderr), p.stderr[-2000:]
    else:
        assert out.exists()
        kinds = _ops(out.read_bytes())
        assert ("UNIDIRECTIONAL_SEQUENCE_LSTM" in kinds) == (name != "gru"), kinds


# ------------------------------------------------------------------------------------ converter child

def test_converter_crash_is_an_input_error(monkeypatch):
    """A Keras 3 LSTM given to the converter as it is segfaults TensorFlow's calibrator: in the
    child process that is an InputError naming the recurrent layer (exit 2), not a dead process."""
    import keras

    from edgeq.errors import InputError
    from edgeq.quantize import recurrent
    from edgeq.quantize.convert import ConvertOptions, quantize_keras

    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.LSTM(4, name="raw_lstm")(inp))
    monkeypatch.setattr(recurrent, "route", lambda m: (None, [("raw_lstm", "LSTM")]))  # skip the tf_keras path
    x = np.random.default_rng(0).uniform(-1, 1, (6, 5, 3)).astype(np.float32)
    with pytest.raises(InputError, match=r"crashed \(signal SIGSEGV\).*'raw_lstm' \(LSTM\)"):
        quantize_keras(model, x, ConvertOptions())


def test_lstm_conversion_is_deterministic_and_reports_progress(recurrent_models):
    """Converting again (another child process, another pytest run for a cached model) gives the
    same bytes; calibration progress reaches the caller."""
    from edgeq.quantize.convert import ConvertOptions, quantize_keras

    model, x = _build("lstm_stack")
    seen = []
    again = quantize_keras(model, x, ConvertOptions(samples=None), lambda i, n: seen.append((i, n)))[0]
    assert again == recurrent_models["lstm_stack"]
    assert seen and seen[-1] == (len(x), len(x)) and [i for i, _ in seen] == sorted(i for i, _ in seen)


def test_lstm_macs_counted(recurrent_models):
    """size-check and the benchmark count the LSTM's multiply-accumulates: four gates, each an
    input (units × features) and a recurrent (units × units) product, every time step."""
    from edgeq.graph import load_graph
    from edgeq.memory import op_macs

    g = load_graph(recurrent_models["kws_lstm"])
    (lstm,) = [op for op in g.operators if op.opcode == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    steps, features, units = 49, 10, 32  # model_kws_lstm above
    assert op_macs(g, lstm) == 4 * steps * (units * features + units * units)
