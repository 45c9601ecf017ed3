"""Activations, bit-exact with TFLM: TANH, LEAKY_RELU, RELU, RELU6, PRELU (int8 and 16x8),
HARD_SWISH, ELU, RSQRT, LOG_SOFTMAX, L2_NORMALIZATION (int8).

Same scheme as tests/test_codegen_ops.py: one Keras model per family, one branch per grid point,
several input ranges (so scales and zero points vary). ELU never comes out of the converter
quantized (it stays float between DEQUANTIZE/QUANTIZE), so ELU — with the other int8 ops — is
also checked on hand-built single-op models fed every int8 code, over a grid of quantization
parameters. Whole models (a tanh MLP, a LeakyReLU CNN, a MobileNetV3-small-style block with
hard-swish and squeeze-excite) run on the host and on the virtual Cortex-M4 / M55.
"""

from __future__ import annotations

import hashlib
import inspect
import os

import numpy as np
import pytest

from _codegen_harness import (HostBuilder, assert_bit_exact, convert_keras, random_inputs, tflm_run_many,
                              uniform_data as _u)

SAMPLES = 48


# ------------------------------------------------------------------------------------ families
# Each returns (keras.Model, representative data function, io type, precision).

def _pre(x):
    """A non-fusing op in front of an activation (the converter fuses RELU/RELU6/TANH into the
    op before it where it can)."""
    from keras import layers as L
    return L.Add()([x, x])


def fam_tanh():
    import keras
    from keras import layers as L
    x = keras.Input((3, 7), batch_size=1)
    outs = [L.Activation("tanh")(_pre(x)),
            L.Activation("tanh")(L.Dense(9)(x)),
            L.Dense(5, activation="tanh")(L.Flatten()(x))]
    return keras.Model(x, outs), _u(-2, 2, (3, 7)), "int8", "int8"


def fam_leaky():
    import keras
    from keras import layers as L
    x = keras.Input((5, 3, 3), batch_size=1)
    y = _pre(x)
    outs = [L.LeakyReLU(negative_slope=0.2)(y),
            L.LeakyReLU(negative_slope=0.01)(y),
            L.LeakyReLU(negative_slope=0.7)(L.Conv2D(5, 3, padding="same")(x)),
            L.LeakyReLU(negative_slope=1.9)(y)]
    return keras.Model(x, outs), _u(-2, 3, (5, 3, 3)), "int8", "int8"


def fam_leaky_direct():
    """LEAKY_RELU and RELU straight on the graph input: the random inputs reach every code."""
    import keras
    from keras import layers as L
    import tensorflow as tf
    x = keras.Input((256,), batch_size=1)
    outs = [L.LeakyReLU(negative_slope=a)(x) for a in (0.2, 0.01, 0.7, 1.9, 0.3)] + [L.ReLU()(x)]
    # a negative alpha (Keras refuses one; tf.nn.leaky_relu converts to LEAKY_RELU all the same)
    outs += [L.Lambda(lambda t, a=a: tf.nn.leaky_relu(t, alpha=a))(x) for a in (-0.5, -1.3)]
    return keras.Model(x, outs), _u(-2.3, 3.1, (256,)), "int8", "int8"


def fam_sigmoid_tanh_direct():
    import keras
    from keras import layers as L
    x = keras.Input((256,), batch_size=1)
    outs = [L.Activation("tanh")(x), L.Activation("sigmoid")(x)]
    return keras.Model(x, outs), _u(-6.0, 4.0, (256,)), "int8", "int8"


def fam_hswish():
    import keras
    from keras import layers as L
    x = keras.Input((4, 5, 3), batch_size=1)
    outs = [L.Activation("hard_swish")(_pre(x)),
            L.Activation("hard_swish")(L.Conv2D(7, 1)(x)),
            keras.ops.hard_swish(L.Dense(11)(L.Flatten()(x)))]
    return keras.Model(x, outs), _u(-4, 4, (4, 5, 3)), "int8", "int8"


def fam_relu():
    import keras
    from keras import layers as L
    x = keras.Input((3, 11), batch_size=1)
    y = _pre(x)
    outs = [L.ReLU()(y), L.ReLU(max_value=6)(y), L.ReLU(max_value=6)(L.Add()([y, L.Dense(11)(x)]))]
    return keras.Model(x, outs), _u(-3, 5, (3, 11)), "int8", "int8"


def fam_prelu():
    import keras
    from keras import layers as L
    x = keras.Input((5, 6, 3), batch_size=1)
    init = keras.initializers.RandomUniform(-0.4, 0.9, seed=3)
    # one producer per PReLU: two PReLUs on one tensor share their RELU after CSE and the
    # converter no longer fuses either into PRELU (it leaves a float NEG)
    outs = [L.PReLU(shared_axes=[1, 2], alpha_initializer=init)(L.Conv2D(5, 1)(x)),  # alpha [1, 1, C]
            L.PReLU(alpha_initializer=init)(L.Conv2D(4, 3, padding="same")(x)),  # full alpha [H, W, C]
            L.PReLU(shared_axes=[1], alpha_initializer=init)(_pre(x))]  # alpha [1, W, C]
    return keras.Model(x, outs), _u(-2, 2, (5, 6, 3)), "int8", "int8"


def fam_log_softmax():
    import keras
    from keras import layers as L
    x = keras.Input((3, 7), batch_size=1)
    outs = [keras.ops.log_softmax(_pre(x)), keras.ops.log_softmax(L.Dense(10)(L.Flatten()(x)))]
    return keras.Model(x, outs), _u(-4, 4, (3, 7)), "int8", "int8"


def fam_l2norm():
    import keras
    import tensorflow as tf
    from keras import layers as L
    x = keras.Input((3, 9), batch_size=1)
    l2 = L.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1))
    outs = [l2(_pre(x)), l2(L.Dense(13)(x))]
    return keras.Model(x, outs), _u(-1, 2, (3, 9)), "int8", "int8"


def fam_rsqrt():
    import keras
    from keras import layers as L
    x = keras.Input((2, 9), batch_size=1)
    pos = L.ReLU()(_pre(x)) + 0.25  # RSQRT is defined for positive inputs only
    outs = [keras.ops.rsqrt(pos), keras.ops.rsqrt(L.ReLU()(L.Dense(5)(x)) + 0.1)]
    return keras.Model(x, outs), _u(-1, 3, (2, 9)), "int8", "int8"


def fam_mix():
    """One branch per kernel family (for the runs on the virtual boards)."""
    import keras
    import tensorflow as tf
    from keras import layers as L
    x = keras.Input((4, 5, 3), batch_size=1)
    y = _pre(x)
    init = keras.initializers.RandomUniform(-0.4, 0.9, seed=5)
    outs = [L.Activation("tanh")(y), L.LeakyReLU(negative_slope=0.3)(y), L.ReLU()(y), L.ReLU(max_value=6)(y),
            L.PReLU(shared_axes=[1, 2], alpha_initializer=init)(L.Conv2D(4, 1)(x)),
            L.Activation("hard_swish")(y), keras.ops.log_softmax(y),
            L.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1))(y), keras.ops.rsqrt(L.ReLU()(y) + 0.25)]
    return keras.Model(x, outs), _u(-3, 4, (4, 5, 3)), "int8", "int8"


def fam_mix_16x8():
    import keras
    from keras import layers as L
    x = keras.Input((4, 5, 3), batch_size=1)
    y = _pre(x)
    outs = [L.Activation("tanh")(y), L.LeakyReLU(negative_slope=0.3)(y), L.ReLU()(y), L.ReLU(max_value=6)(y)]
    return keras.Model(x, outs), _u(-3, 4, (4, 5, 3)), "int16", "int16x8"


def _as16(fn, lo=None, hi=None):
    def variant():
        model, data, _, _ = fn()
        if lo is not None:
            data = _u(lo, hi, *[tuple(int(d) for d in t.shape[1:]) for t in model.inputs])
        return model, data, "int16", "int16x8"
    return variant


def _rerange(fn, lo, hi):
    """The family with representative data in [lo, hi]: other scales and zero points."""
    def variant():
        model, _, io, prec = fn()
        return model, _u(lo, hi, *[tuple(int(d) for d in t.shape[1:]) for t in model.inputs]), io, prec
    return variant


fam_tanh_pos = _rerange(fam_tanh, 0.0, 5.0)
fam_tanh_narrow = _rerange(fam_tanh, -0.2, 0.3)
fam_leaky_neg = _rerange(fam_leaky, -6.0, 0.5)
fam_hswish_wide = _rerange(fam_hswish, -20.0, 9.0)
fam_hswish_narrow = _rerange(fam_hswish, -0.5, 0.7)
fam_relu_neg = _rerange(fam_relu, -8.0, 1.0)
fam_prelu_pos = _rerange(fam_prelu, -0.3, 5.0)
fam_log_softmax_wide = _rerange(fam_log_softmax, -30.0, 12.0)
fam_log_softmax_narrow = _rerange(fam_log_softmax, -0.4, 0.4)
fam_l2norm_pos = _rerange(fam_l2norm, 0.0, 7.0)
fam_rsqrt_wide = _rerange(fam_rsqrt, -1.0, 40.0)
fam_tanh_16x8 = _as16(fam_tanh)
fam_tanh_16x8_wide = _as16(fam_tanh, -9.0, 7.0)
fam_leaky_16x8 = _as16(fam_leaky)
fam_leaky_direct_16x8 = _as16(fam_leaky_direct)
fam_sigmoid_tanh_direct_16x8 = _as16(fam_sigmoid_tanh_direct)
fam_relu_16x8 = _as16(fam_relu)
fam_relu_16x8_neg = _as16(fam_relu, -8.0, 1.0)

FAMILIES = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("fam_")}

EXPECTED_OPS = {
    "tanh": {"TANH"}, "leaky": {"LEAKY_RELU"}, "leaky_direct": {"LEAKY_RELU", "RELU"},
    "sigmoid_tanh_direct": {"TANH", "LOGISTIC"},
    "mix": {"TANH", "LEAKY_RELU", "RELU", "RELU6", "PRELU", "HARD_SWISH", "LOG_SOFTMAX", "L2_NORMALIZATION", "RSQRT"},
    "mix_16x8": {"TANH", "LEAKY_RELU", "RELU", "RELU6"}, "hswish": {"HARD_SWISH"}, "relu": {"RELU", "RELU6"},
    "prelu": {"PRELU"}, "log_softmax": {"LOG_SOFTMAX"}, "l2norm": {"L2_NORMALIZATION"}, "rsqrt": {"RSQRT"},
    "elu_grid": {"ELU", "TANH", "HARD_SWISH", "RELU", "RELU6", "LOG_SOFTMAX", "L2_NORMALIZATION", "RSQRT"},
}
for _v in list(FAMILIES):
    _base = _v.split("_16x8")[0]
    for _b in sorted(EXPECTED_OPS, key=len, reverse=True):
        if _base.startswith(_b):
            EXPECTED_OPS.setdefault(_v, EXPECTED_OPS[_b])
            break


# ------------------------------------------------------------------------------------ fixtures

def _key(name: str) -> str:
    import tensorflow as tf
    src = inspect.getsource(inspect.getmodule(_key))
    return hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def act_models(request) -> dict[str, bytes]:
    """name → .tflite bytes of every family (cached on disk across runs by source hash)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cache = request.config.cache.mkdir("edgeq_activation_models")
    out = {}
    for name, fn in FAMILIES.items():
        path = cache / f"{name}-{_key(name)}.tflite"
        if not path.exists():
            import keras
            keras.utils.set_random_seed(7)
            model, data_fn, io, prec = fn()
            path.write_bytes(convert_keras(model, data_fn, io, precision=prec))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def host_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("act_host"))


@pytest.fixture(scope="session")
def act_results(act_models, host_builder):
    from concurrent.futures import ThreadPoolExecutor

    from edgeq.ops import registry

    registry()  # load the op modules before the threads race to (edgeq.ops.registry is not thread-safe)
    names = sorted(act_models)
    with ThreadPoolExecutor(max_workers=2) as ex:
        built = dict(zip(names, ex.map(lambda n: host_builder.build(act_models[n], name=f"a_{n}"), names)))
    cases, inputs = [], {}
    for n in names:
        g = built[n].graph
        inputs[n] = random_inputs(g, SAMPLES, seed=len(n))
        cases.append((act_models[n], inputs[n], len(g.outputs)))
    ref = dict(zip(names, tflm_run_many(cases)))
    return {n: (built[n].graph, inputs[n], built[n], ref[n]) for n in names}


# ------------------------------------------------------------------------------------ tests

@pytest.mark.toolchain
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_bit_exact(family, act_results):
    graph, inputs, host, ref = act_results[family]
    ops = {op.opcode for op in graph.operators}
    assert EXPECTED_OPS[family] <= ops, f"{family}: converter produced {sorted(ops)}"
    if family.endswith(("16x8", "16x8_wide", "16x8_neg")):
        act = [graph.tensors[op.outputs[0]].dtype for op in graph.operators if op.opcode in EXPECTED_OPS[family]]
        assert act and set(act) == {"int16"}, f"{family}: not int16 activations ({act})"
    got = host.run(inputs)
    assert assert_bit_exact(family, got, ref) >= SAMPLES


# ---- hand-built single-op models over every int8 code

_GRID = [  # (input scale, input zp, output scale, output zp)
    (0.05, -3, 0.03, 10), (0.0071, 0, 0.011, -128), (0.26, 90, 0.09, -20), (0.013, -128, 0.5, 127),
    (1.7, 5, 0.021, -60), (0.0009, 33, 0.0004, 0),
]


def _grid_model(s_in: float, zp_in: int, s_out: float, zp_out: int) -> bytes:
    """input [1, 16, 16] → ELU, TANH, HARD_SWISH, RELU, RELU6, LOG_SOFTMAX, L2_NORMALIZATION, RSQRT
    (one output each), with the given quantization (fixed outputs where TFLM fixes them)."""
    from tflite_builder import act, build_tflite

    ops_out = [("ELU", s_out, zp_out), ("TANH", 1 / 128, 0), ("HARD_SWISH", s_out, zp_out), ("RELU", s_out, zp_out),
               ("RELU6", s_out, zp_out), ("LOG_SOFTMAX", 16 / 256, 127), ("L2_NORMALIZATION", 1 / 128, 0),
               ("RSQRT", s_out, zp_out)]
    tensors = [act("input", [1, 16, 16], scale=s_in, zp=zp_in)]
    ops = []
    for k, (name, s, zp) in enumerate(ops_out):
        tensors.append(act(f"out_{name.lower()}", [1, 16, 16], scale=s, zp=zp))
        ops.append({"op": name, "inputs": [0], "outputs": [k + 1]})
    return build_tflite(tensors, ops, [0], list(range(1, len(ops_out) + 1)))


@pytest.mark.toolchain
@pytest.mark.parametrize("q", _GRID, ids=[f"s{a:g}_z{b}_s{c:g}_z{d}" for a, b, c, d in _GRID])
def test_every_int8_code_bit_exact(q, host_builder):
    """Every input code through each int8 op (the lookup tables complete), against TFLM. RSQRT
    is defined for codes at or above the zero point only (TFLM fails the invoke below it), so
    the inputs are drawn from [zp, 127] and all codes of that range appear."""
    buf = _grid_model(*q)
    host = host_builder.build(buf, name="grid")
    zp = q[1]
    valid = np.arange(zp, 128)
    rng = np.random.default_rng(zp + 200)
    xs = [np.resize(np.concatenate([valid, rng.permutation(valid)]), 256)]
    xs += [rng.choice(valid, 256) for _ in range(5)]
    x = np.stack(xs).astype(np.int8).reshape(-1, 16, 16)
    ref = tflm_run_many([(buf, [x], 8)])[0]
    got = host.run([x])
    assert assert_bit_exact(f"grid {q}", got, ref) == 8 * x.size
    assert {op.opcode for op in host.graph.operators} == EXPECTED_OPS["elu_grid"]


@pytest.mark.toolchain
def test_sigmoid_table_every_int16_code(act_models, host_builder):
    """int16 TANH and LOGISTIC share the sigmoid table: both on all 65,536 input codes."""
    buf = act_models["sigmoid_tanh_direct_16x8"]
    host = host_builder.build(buf, name="sig16")
    assert {op.opcode for op in host.graph.operators} >= {"TANH", "LOGISTIC"}
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(256, 256)
    ref = tflm_run_many([(buf, [x], len(host.graph.outputs))])[0]
    assert_bit_exact("sigmoid table", host.run([x]), ref)


@pytest.mark.toolchain
@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_prelu_hand_built(dtype, host_builder):
    """PRELU with int16 activations (TFLM has the kernel; the converter refuses PRELU in 16x8
    mode, so the model is built by hand) and int8, alpha broadcast four ways."""
    from tflite_builder import act, build_tflite, const

    rng = np.random.default_rng(5)
    zp = 0 if dtype == "int16" else -7
    shape = [1, 4, 5, 3]
    tensors = [act("input", shape, dtype, scale=0.0007 if dtype == "int16" else 0.04, zp=zp)]
    ops, outs = [], []
    for k, ash in enumerate([[3], [1, 1, 3], [5, 3], [4, 5, 3], [1, 4, 1, 1]]):
        tensors.append(const(f"alpha{k}", rng.integers(-128, 128, ash), "int8", scale=0.01 * (k + 1), zp=k * 9 - 20))
        tensors.append(act(f"out{k}", shape, dtype, scale=(0.0005 if dtype == "int16" else 0.03) * (1 + k / 3),
                           zp=0 if dtype == "int16" else 5 * k - 10))
        ops.append({"op": "PRELU", "inputs": [0, len(tensors) - 2], "outputs": [len(tensors) - 1]})
        outs.append(len(tensors) - 1)
    buf = build_tflite(tensors, ops, [0], outs)
    host = host_builder.build(buf, name=f"prelu_{dtype}")
    x = random_inputs(host.graph, 16, seed=9)
    ref = tflm_run_many([(buf, x, len(outs))])[0]
    assert_bit_exact(f"PRELU {dtype}", host.run(x), ref)


@pytest.mark.toolchain
def test_every_int8_code_without_rsqrt(host_builder):
    """The full -128..127 range (below the zero point too) for the ops other than RSQRT."""
    from tflite_builder import act, build_tflite

    results = []
    for s_in, zp_in, s_out, zp_out in _GRID:
        tensors = [act("input", [1, 256], scale=s_in, zp=zp_in)]
        ops = []
        for k, (name, s, zp) in enumerate([("ELU", s_out, zp_out), ("TANH", 1 / 128, 0),
                                           ("HARD_SWISH", s_out, zp_out), ("RELU", s_out, zp_out),
                                           ("RELU6", s_out, zp_out)]):
            tensors.append(act(f"o{k}", [1, 256], scale=s, zp=zp))
            ops.append({"op": name, "inputs": [0], "outputs": [k + 1]})
        buf = build_tflite(tensors, ops, [0], [1, 2, 3, 4, 5])
        x = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
        results.append((buf, x))
    refs = tflm_run_many([(b, [x], 5) for b, x in results])
    for (buf, x), ref in zip(results, refs):
        host = host_builder.build(buf, name="codes")
        assert_bit_exact("all codes", host.run([x]), ref)


@pytest.mark.toolchain
def test_tables_on_random_quantization():
    """The int8 tables (what edgeq_lut_s8 reads) for ELU, TANH, HARD_SWISH, RELU, RELU6 and RSQRT
    against TFLM on every input code, over 40 random quantizations (scales 1e-3..4, any zero
    point): hand-built single-op models, one TFLM run, no C build needed. RSQRT gets its own
    model fed the codes at or above the zero point (TFLM fails the invoke below it)."""
    from tflite_builder import act, build_tflite

    from edgeq.ops import activations as A

    rng = np.random.default_rng(2024)
    codes = np.arange(-128, 128)
    runs, checks = [], []
    for _ in range(40):
        s_in, s_out = (float(np.float32(10 ** rng.uniform(-3, 0.6))) for _ in range(2))
        zp_in, zp_out = (int(v) for v in rng.integers(-128, 128, 2))
        lo, hi = A.relu6_bounds(s_in, zp_in)
        specs = [("ELU", s_out, zp_out, A.elu_table(s_in, zp_in, s_out, zp_out)),
                 ("TANH", 1 / 128, 0, A.tanh_table(s_in, zp_in)),
                 ("RELU", s_out, zp_out, A.relu_table(s_in, zp_in, s_out, zp_out)),
                 ("RELU6", s_out, zp_out, [min(max(q, lo), hi) for q in codes])]
        if s_in / 128 / s_out <= 1:  # TFLM rejects HARD_SWISH with an output multiplier above one
            specs.append(("HARD_SWISH", s_out, zp_out, A.hard_swish_table(s_in, zp_in, s_out, zp_out)))
        tensors = [act("input", [1, 256], scale=s_in, zp=zp_in)] + \
            [act(f"o{k}", [1, 256], scale=s, zp=zp) for k, (_, s, zp, _) in enumerate(specs)]
        ops = [{"op": name, "inputs": [0], "outputs": [k + 1]} for k, (name, *_) in enumerate(specs)]
        runs.append((build_tflite(tensors, ops, [0], list(range(1, len(specs) + 1))),
                     [codes.astype(np.int8).reshape(1, 256)], len(specs)))
        checks += [(name, (s_in, zp_in, s_out, zp_out), np.asarray(t)) for name, _, _, t in specs]
        x = np.maximum(codes, zp_in)
        t2 = [act("input", [1, 256], scale=s_in, zp=zp_in), act("o", [1, 256], scale=s_out, zp=zp_out)]
        runs.append((build_tflite(t2, [{"op": "RSQRT", "inputs": [0], "outputs": [1]}], [0], [1]),
                     [x.astype(np.int8).reshape(1, 256)], 1))
        checks.append(("RSQRT", (s_in, zp_in, s_out, zp_out), np.asarray(A.rsqrt_table(s_in, zp_in, s_out, zp_out))[x + 128]))
    got = [np.asarray(o).reshape(-1) for outs in tflm_run_many(runs) for o in outs]
    assert len(got) == len(checks)
    bad = [(name, q) for g, (name, q, want) in zip(got, checks) if not np.array_equal(g, want)]
    assert not bad, f"tables differ from TFLM: {bad[:6]}"


def test_activation_math_helpers():
    """The Python fixed-point pieces against float math (an independent check of the tables'
    building blocks; TFLM is the bit-exact reference above)."""
    import math

    from edgeq.ops import activations as A

    for v in (0.0, 0.3, 1.0, 2.5, 7.9):
        q = int(round(v * (1 << 27)))
        assert abs(A.tanh_q(q) / 2 ** 31 - math.tanh(v)) < 2e-6
        assert abs(A.tanh_q(-q) / 2 ** 31 + math.tanh(v)) < 2e-6
    for x in (2, 3, 17, 1000, 65025, 1 << 20, 123456789):
        m, s = A.inv_sqrt_multiplier(x)
        assert abs(m * 2.0 ** (s - 31) * math.sqrt(x) - 1) < 5e-6
    m, s = A.tanh_s16_params(2 ** -12)
    assert (m, s) == (3, 0)
    m, s = A.tanh_s16_params(2 ** -11)
    assert (m, s) == (6, 0)
    lo, hi = A.relu6_bounds(0.05, -3)
    assert (lo, hi) == (-3, 117)


# ------------------------------------------------------------------------------------ zoo

def _zoo_tanh_mlp():
    import keras
    from keras import layers as L
    x = keras.Input((12,), batch_size=1)
    y = L.Dense(16, activation="tanh")(x)
    y = L.Dense(9, activation="tanh")(y)
    return keras.Model(x, L.Dense(4, activation="softmax")(y)), _u(-2, 2, (12,))


def _zoo_leaky_cnn():
    import keras
    from keras import layers as L
    x = keras.Input((12, 10, 2), batch_size=1)
    y = L.LeakyReLU(negative_slope=0.1)(L.Conv2D(6, 3, padding="same")(x))
    y = L.MaxPooling2D(2)(y)
    y = L.LeakyReLU(negative_slope=0.2)(L.Conv2D(10, 3, strides=2, padding="same")(y))
    y = L.GlobalAveragePooling2D()(y)
    return keras.Model(x, L.Dense(5, activation="softmax")(y)), _u(0, 1, (12, 10, 2))


def _zoo_mnv3_block():
    """MobileNetV3-small style: stem conv + hard-swish, depthwise + hard-swish, squeeze-excite
    (GlobalAveragePooling → Dense relu → Dense hard_sigmoid → Multiply), 1x1 projection with a
    residual, classifier."""
    import keras
    from keras import layers as L
    x = keras.Input((16, 16, 3), batch_size=1)
    y = L.Activation("hard_swish")(L.Conv2D(16, 3, strides=2, padding="same")(x))
    d = L.Activation("hard_swish")(L.DepthwiseConv2D(3, padding="same")(y))
    s = L.GlobalAveragePooling2D(keepdims=True)(d)
    s = L.Dense(8, activation="relu")(s)
    s = L.Dense(16, activation="hard_sigmoid")(s)
    d = L.Multiply()([d, s])
    p = L.Conv2D(16, 1)(d)
    y = L.Add()([y, p])
    y = L.Activation("hard_swish")(L.Conv2D(24, 1)(y))
    y = L.GlobalAveragePooling2D()(y)
    return keras.Model(x, L.Dense(6, activation="softmax")(y)), _u(0, 1, (16, 16, 3))


ZOO = {"tanh_mlp": _zoo_tanh_mlp, "leaky_cnn": _zoo_leaky_cnn, "mnv3_block": _zoo_mnv3_block}
ZOO_OPS = {"tanh_mlp": {"TANH"}, "leaky_cnn": {"LEAKY_RELU"}, "mnv3_block": {"HARD_SWISH", "MUL", "MEAN"}}


def _data_init(model, data_fn):
    """A short fit so that activations are not degenerate (untrained nets collapse ranges)."""
    import keras
    rng = np.random.default_rng(0)
    xs = np.concatenate([data_fn(rng)[0] for _ in range(64)])
    ys = rng.integers(0, model.output_shape[-1], len(xs))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(xs, ys, epochs=3, batch_size=1, verbose=0)


@pytest.fixture(scope="session")
def zoo_models(request) -> dict[str, bytes]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cache = request.config.cache.mkdir("edgeq_activation_zoo")
    out = {}
    for name, fn in ZOO.items():
        path = cache / f"{name}-{_key('zoo_' + name)}.tflite"
        if not path.exists():
            import keras
            keras.utils.set_random_seed(11)
            model, data_fn = fn()
            _data_init(model, data_fn)
            path.write_bytes(convert_keras(model, data_fn, "int8"))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def zoo_results(zoo_models, host_builder):
    names = sorted(zoo_models)
    built = {n: host_builder.build(zoo_models[n], name=f"z_{n}") for n in names}
    inputs = {n: random_inputs(built[n].graph, 16, seed=3) for n in names}
    ref = tflm_run_many([(zoo_models[n], inputs[n], 1) for n in names])
    return {n: (built[n], inputs[n], r) for n, r in zip(names, ref)}


@pytest.mark.toolchain
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_host_bit_exact(name, zoo_results):
    host, inputs, ref = zoo_results[name]
    ops = {op.opcode for op in host.graph.operators}
    assert ZOO_OPS[name] <= ops, f"{name}: {sorted(ops)}"
    assert_bit_exact(name, host.run(inputs), ref)


@pytest.mark.emulator
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_on_virtual_cortex_m4(name, zoo_models, zoo_results, tmp_path):
    from _codegen_harness import qemu_run

    _, inputs, ref = zoo_results[name]
    few = [x[:3] for x in inputs]
    got = qemu_run(zoo_models[name], few, tmp_path, name=f"z_{name}")
    assert_bit_exact(f"{name} on the M4", got, [r[:3] for r in ref])


@pytest.mark.emulator
@pytest.mark.parametrize("family", ["mix", "mix_16x8"])
def test_every_kernel_on_virtual_cortex_m4(family, act_models, act_results, tmp_path):
    """Every activation kernel (the int8 table, PRELU, LOG_SOFTMAX, L2_NORMALIZATION; int16 TANH,
    two-slope, clamp) compiled for and run on the Cortex-M4: TFLM's bytes."""
    from _codegen_harness import qemu_run

    _, inputs, _, ref = act_results[family]
    few = [x[:3] for x in inputs]
    got = qemu_run(act_models[family], few, tmp_path, name=f"a_{family}")
    assert_bit_exact(f"{family} on the M4", got, [r[:3] for r in ref])


@pytest.mark.emulator
def test_mnv3_block_on_virtual_cortex_m55(zoo_models, zoo_results, tmp_path):
    from _codegen_harness import qemu_run

    _, inputs, ref = zoo_results["mnv3_block"]
    few = [x[:2] for x in inputs]
    got = qemu_run(zoo_models["mnv3_block"], few, tmp_path, board="qemu-mps3-an547", name="z_mnv3")
    assert_bit_exact("mnv3_block on the M55", got, [r[:2] for r in ref])


@pytest.mark.toolchain
def test_generated_c_compiles_for_cortex_m4(act_models, tmp_path):
    """The activation kernels and one generated model per call kind compile warning-free for
    Cortex-M4F (-Wall -Wextra -Werror)."""
    import subprocess

    from _codegen_harness import M4_FLAGS, NN, cross_compile
    from conftest import require_tool

    from edgeq.codegen import generate

    cc = require_tool("arm-none-eabi-gcc")
    src = NN / "edgeq" / "edgeq_activations.c"
    p = subprocess.run([cc, *M4_FLAGS, f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}", "-c", str(src), "-o",
                        str(tmp_path / "act.o")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    pick = ["tanh", "tanh_16x8", "leaky_16x8", "relu_16x8", "prelu", "log_softmax", "l2norm"]
    dirs = [generate(act_models[n], tmp_path / f"m_{n}", name=f"m_{n}").out_dir for n in pick]
    cross_compile(cc, dirs, tmp_path / "obj", kernels=False)
