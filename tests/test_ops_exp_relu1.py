"""EXP (int8, int16) and RELU_N1_TO_1 (int8): ops TFLite Micro has no integer kernel for, so
their bytes are held to the TFLite interpreter's kernels (tests/_tflite_ref.py), byte for byte.

The tables edgeq computes are checked against the interpreter on every input code over random
quantizations (no C build); the generated C on hand-built single-op models fed every code, on
Keras models (``Activation("exponential")`` and ``keras.ops.exp`` give EXP,
``tf.clip_by_value(x, -1, 1)`` gives RELU_N1_TO_1), on the host and on the virtual Cortex-M4.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from _codegen_harness import HostBuilder, assert_bit_exact, convert_keras, random_inputs, uniform_data as _u
from _tflite_ref import tflite_run_many

#: the ops this module checks bit-exact (tests/test_ops_registry.py collects these)
EXPECTED_OPS = {"EXP", "RELU_N1_TO_1"}

CODES8 = np.arange(-128, 128)
CODES16 = np.arange(-32768, 32768)


def _single_op_model(op: str, n: int, dtype: str, s_in: float, zp_in: int, s_out: float, zp_out: int) -> bytes:
    from tflite_builder import act, build_tflite

    t = [act("input", [1, n], dtype, scale=s_in, zp=zp_in), act("output", [1, n], dtype, scale=s_out, zp=zp_out)]
    return build_tflite(t, [{"op": op, "inputs": [0], "outputs": [1]}], [0], [1])


def _random_quantizations(rng, k: int, lo: float, hi: float, zp: bool = True):
    for _ in range(k):
        s_in, s_out = (float(np.float32(10 ** rng.uniform(lo, hi))) for _ in range(2))
        zi, zo = (int(v) for v in rng.integers(-128, 128, 2)) if zp else (0, 0)
        yield s_in, zi, s_out, zo


def _lookup_all(lut: list[int]) -> np.ndarray:
    """lut_lookup_s16 over every int16 code, vectorised (same arithmetic)."""
    from edgeq.ops import activations_tflite as A

    t = np.asarray(lut, np.int64)
    i, off = 256 + (CODES16 >> 7), CODES16 & 0x7F
    slope = ((t[i + 1] - t[i] + 32768) & 0xFFFF) - 32768
    out = ((t[i] + ((slope * off + 64) >> 7) + 32768) & 0xFFFF) - 32768
    assert all(out[k] == A.lut_lookup_s16(int(CODES16[k]), lut) for k in range(0, 65536, 331))
    return out


def test_tables_against_tflite():
    """EXP and RELU_N1_TO_1 int8 tables (40 random quantizations, every code; a quarter with input
    scales where exp overflows float32) and the int16 EXP interpolation (8 quantizations, all
    65,536 codes) against the TFLite interpreter: one child process, no C build."""
    from edgeq.ops import activations_tflite as A

    rng = np.random.default_rng(2026)
    runs, checks = [], []
    for k, (s_in, zi, s_out, zo) in enumerate(_random_quantizations(rng, 40, -3, 0.6)):
        if k % 4 == 0:
            s_in = float(np.float32(rng.uniform(0.5, 2.0)))
        x = [CODES8.astype(np.int8).reshape(1, 256)]
        runs.append((_single_op_model("EXP", 256, "int8", s_in, zi, s_out, zo), x, 1))
        checks.append((("EXP", s_in, zi, s_out, zo), A.exp_table_s8(s_in, zi, s_out, zo)))
        runs.append((_single_op_model("RELU_N1_TO_1", 256, "int8", s_in, zi, s_out, zo), x, 1))
        checks.append((("RELU_N1_TO_1", s_in, zi, s_out, zo), A.relu_n1_to_1_table(s_in, zi, s_out, zo)))
    for s_in, _, s_out, _ in _random_quantizations(rng, 8, -5, -1, zp=False):
        lut = A.exp_lut_s16(s_in, s_out)
        runs.append((_single_op_model("EXP", 65536, "int16", s_in, 0, s_out, 0),
                     [CODES16.astype(np.int16).reshape(1, -1)], 1))
        checks.append((("EXP int16", s_in, s_out), _lookup_all(lut)))
    got = [np.asarray(o).reshape(-1) for outs in tflite_run_many(runs) for o in outs]
    assert len(got) == len(checks)
    bad = [name for g, (name, want) in zip(got, checks) if not np.array_equal(g, np.asarray(want))]
    assert not bad, f"tables differ from the TFLite interpreter: {bad[:6]}"


def test_math_helpers_against_float():
    """Independent of the interpreter: the int8 EXP table is exp rounded, RELU_N1_TO_1 clamps to
    [-1, 1], the int16 interpolation stays close to exp (linear interpolation error)."""
    import math

    from edgeq.ops import activations_tflite as A

    t = A.exp_table_s8(0.02, -10, 0.05, -128)
    for q in range(-128, 128):
        want = round(math.exp(0.02 * (q + 10)) / 0.05) - 128
        assert t[q + 128] == min(max(want, -128), 127)
    r = A.relu_n1_to_1_table(0.05, 3, 0.01, -20)
    assert min(r) == -120 and max(r) == 80  # zp -20 -/+ 1/0.01
    lut = A.exp_lut_s16(2 ** -12, 2 ** -10)
    for v in range(-32768, 32768, 97):
        want = math.exp(v * 2 ** -12) * 2 ** 10
        if want < 30000:  # (the anchors above are clamped at 32767)
            assert abs(A.lut_lookup_s16(v, lut) - want) <= 2 + 3e-4 * want  # interpolation over 1/32 steps


# ---------------------------------------------------------------- generated C, hand-built models

@pytest.fixture(scope="module")
def host_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("exp_relu1_host"))


def _all_codes_model(rng, dtype: str):
    """input [1, 4, 64] (int8) / [1, 256, 256] (int16) → EXP (and RELU_N1_TO_1 for int8)."""
    from tflite_builder import act, build_tflite

    if dtype == "int8":
        s_in, zi, s_out, zo = next(_random_quantizations(rng, 1, -2, 0.3))
        shape = [1, 4, 64]
        tensors = [act("input", shape, scale=s_in, zp=zi), act("exp", shape, scale=s_out, zp=zo),
                   act("relu1", shape, scale=float(np.float32(s_out / 50)), zp=zo // 2)]
        ops = [{"op": "EXP", "inputs": [0], "outputs": [1]}, {"op": "RELU_N1_TO_1", "inputs": [0], "outputs": [2]}]
        return build_tflite(tensors, ops, [0], [1, 2]), CODES8.astype(np.int8).reshape(1, 4, 64)
    s_in, _, s_out, _ = next(_random_quantizations(rng, 1, -4.5, -2.5, zp=False))
    shape = [1, 256, 256]
    tensors = [act("input", shape, "int16", scale=s_in, zp=0), act("exp", shape, "int16", scale=s_out, zp=0)]
    return (build_tflite(tensors, [{"op": "EXP", "inputs": [0], "outputs": [1]}], [0], [1]),
            CODES16.astype(np.int16).reshape(1, 256, 256))


@pytest.mark.toolchain
@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_every_code_generated_c(dtype, host_builder):
    """Every input code through the generated C (plus random odd-sized samples), three random
    quantizations each, against the TFLite interpreter."""
    rng = np.random.default_rng(31 if dtype == "int8" else 32)
    cases = []
    for k in range(3):
        buf, every = _all_codes_model(rng, dtype)
        host = host_builder.build(buf, name=f"codes_{dtype}_{k}")
        x = np.concatenate([every, random_inputs(host.graph, 3, seed=k)[0]])
        cases.append((buf, host, x))
    refs = tflite_run_many([(buf, [x], len(host.graph.outputs)) for buf, host, x in cases])
    for (buf, host, x), ref in zip(cases, refs):
        assert {op.opcode for op in host.graph.operators} <= {"EXP", "RELU_N1_TO_1"}
        assert assert_bit_exact(f"every {dtype} code", host.run([x]), ref) == x.nbytes * len(ref)


# ---------------------------------------------------------------- Keras models

def _keras_int8():
    """EXP and RELU_N1_TO_1 behind ADD and data movement only: the model is held to the TFLite
    interpreter, whose FULLY_CONNECTED differs from TFLM's (which edgeq's follows) by one code
    on a few values (a Dense clipped to [-1, 1] converts to FULLY_CONNECTED with the clip fused)."""
    import keras
    import tensorflow as tf
    from keras import layers as L
    x = keras.Input((3, 7), batch_size=1)
    y = L.Add()([x, x])
    outs = [L.Activation("exponential")(y), keras.ops.exp(L.Reshape((21,))(x)),
            L.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(y),
            L.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(L.Reshape((7, 3))(x))]
    return keras.Model(x, outs), _u(-2, 2, (3, 7)), "int8", "int8"


def _keras_int16():
    """EXP on data movement only: the model is held to the TFLite interpreter, whose int16 ADD and
    FULLY_CONNECTED differ from TFLM's (which edgeq's follow) on a few values in a hundred."""
    import keras
    from keras import layers as L
    x = keras.Input((5, 3), batch_size=1)
    outs = [L.Activation("exponential")(x), keras.ops.exp(L.Reshape((15,))(x))]
    return keras.Model(x, outs), _u(-3, 1, (5, 3)), "int16", "int16x8"


KERAS = {"int8": _keras_int8, "int16": _keras_int16}


@pytest.fixture(scope="module")
def keras_models(request) -> dict[str, bytes]:
    import hashlib
    import inspect

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cache = request.config.cache.mkdir("edgeq_exp_relu1_models")
    src = inspect.getsource(_keras_int8) + inspect.getsource(_keras_int16)
    out = {}
    for name, fn in KERAS.items():
        import tensorflow as tf
        key = hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]
        path = cache / f"{name}-{key}.tflite"
        if not path.exists():
            import keras
            keras.utils.set_random_seed(5)
            model, data_fn, io, prec = fn()
            path.write_bytes(convert_keras(model, data_fn, io, precision=prec))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def keras_results(keras_models, host_builder):
    built = {n: host_builder.build(b, name=f"k_{n}") for n, b in keras_models.items()}
    inputs = {n: random_inputs(built[n].graph, 32, seed=4) for n in built}
    refs = tflite_run_many([(keras_models[n], inputs[n], len(built[n].graph.outputs)) for n in sorted(built)])
    return {n: (built[n], inputs[n], r) for n, r in zip(sorted(built), refs)}


@pytest.mark.toolchain
@pytest.mark.parametrize("name", sorted(KERAS))
def test_keras_model_host_bit_exact(name, keras_results):
    host, inputs, ref = keras_results[name]
    ops = [(op.opcode, host.graph.tensors[op.outputs[0]].dtype) for op in host.graph.operators]
    want = {("EXP", name)} | ({("RELU_N1_TO_1", "int8")} if name == "int8" else set())
    assert want <= set(ops), f"converter produced {ops}"
    assert_bit_exact(f"keras {name}", host.run(inputs), ref)


@pytest.mark.emulator
@pytest.mark.parametrize("name", sorted(KERAS))
def test_keras_model_on_virtual_cortex_m4(name, keras_models, keras_results, tmp_path):
    from _codegen_harness import qemu_run

    _, inputs, ref = keras_results[name]
    few = [x[:4] for x in inputs]
    got = qemu_run(keras_models[name], few, tmp_path, name=f"k_{name}")
    assert_bit_exact(f"keras {name} on the M4", got, [r[:4] for r in ref])


@pytest.mark.emulator
def test_every_int16_code_on_virtual_cortex_m4(tmp_path):
    """The int16 interpolation kernel on the M4 over all 65,536 codes (one sample)."""
    from _codegen_harness import qemu_run

    buf, x = _all_codes_model(np.random.default_rng(77), "int16")
    ref = tflite_run_many([(buf, [x], 1)])[0]
    assert_bit_exact("int16 EXP on the M4", qemu_run(buf, [x], tmp_path, name="exp16"), ref)


def test_refusals():
    """int16 RELU_N1_TO_1 is refused by name (TFLite has no kernel for it)."""
    from edgeq.codegen import generate
    from edgeq.errors import EdgeqError

    buf = _single_op_model("RELU_N1_TO_1", 8, "int16", 0.001, 0, 0.001, 0)
    with pytest.raises(EdgeqError, match="RELU_N1_TO_1"):
        generate(buf, "/tmp/edgeq-never-written", name="r")
