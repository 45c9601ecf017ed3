"""`edgeq generate`, op by op: small int8 Keras models over a grid of shapes, strides, paddings,
dilations, activations, depth multipliers and zero points, compiled for the host and compared
byte for byte with the TFLM interpreter (the golden reference) on random inputs.

Each "family" is one Keras model with one input and many outputs (one branch per grid point),
so the suite converts only a dozen models.
"""

from __future__ import annotations

import hashlib
import inspect
import os

import numpy as np
import pytest

from _codegen_harness import (HostBuilder, assert_bit_exact, convert_keras, random_inputs, tflm_run_many,
                              uniform_data as _u)

pytestmark = pytest.mark.toolchain

SAMPLES = 64


# ------------------------------------------------------------------------------------ families
# Each returns (keras.Model, representative data function, io type).

def fam_conv_a():
    import keras
    from keras import layers as L
    x = keras.Input((9, 9, 4), batch_size=1)
    outs = [
        L.Conv2D(5, 1)(x),  # 1x1 fast path
        L.Conv2D(6, 3, padding="same", activation="relu")(x),
        L.Conv2D(4, 3, strides=2, padding="same")(x),
        L.Conv2D(3, 3, strides=2, padding="valid", activation="relu6")(x),
        L.Conv2D(4, 5, padding="valid")(x),
        L.Conv2D(4, 3, dilation_rate=2, padding="same")(x),
        L.Conv2D(3, 3, dilation_rate=(2, 3), padding="valid")(x),
        L.Conv2D(4, 2, padding="same")(x),  # even kernel: asymmetric SAME padding
        L.Conv2D(5, (3, 1), strides=(2, 1), padding="same", use_bias=False)(x),
        L.Conv2D(4, 1, strides=2)(x),  # strided 1x1
    ]
    return keras.Model(x, outs), _u(-1, 1, (9, 9, 4)), "int8"


def fam_conv_b():
    import keras
    from keras import layers as L
    x = keras.Input((10, 7, 3), batch_size=1)
    outs = [
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x),
        L.Conv2D(4, 4, strides=3, padding="same")(x),
        L.Conv2D(2, 1, activation="relu6")(x),
        L.Conv2D(3, (2, 5), padding="same")(x),
        L.Conv2D(16, 3, padding="valid", activation="relu")(L.Conv2D(8, 1)(x)),
    ]
    return keras.Model(x, outs), _u(0, 2, (10, 7, 3)), "int8"


def fam_dw_a():
    import keras
    from keras import layers as L
    x = keras.Input((9, 9, 4), batch_size=1)
    outs = [
        L.DepthwiseConv2D(3, padding="same")(x),
        L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, activation="relu")(x),
        L.DepthwiseConv2D(3, padding="valid", depth_multiplier=3, activation="relu6")(x),
        L.DepthwiseConv2D(5, padding="same", dilation_rate=2)(x),
        L.DepthwiseConv2D(2, strides=2, padding="same")(x),
        L.DepthwiseConv2D((1, 3), padding="valid", use_bias=False)(x),
    ]
    return keras.Model(x, outs), _u(-1, 1, (9, 9, 4)), "int8"


def fam_dw_b():
    import keras
    from keras import layers as L
    x = keras.Input((8, 6, 3), batch_size=1)
    outs = [
        L.DepthwiseConv2D(3, strides=(2, 1), padding="same", depth_multiplier=2)(x),
        L.DepthwiseConv2D(3, dilation_rate=(1, 2), padding="same", activation="relu")(x),
        L.DepthwiseConv2D(4, strides=3, padding="same", depth_multiplier=4)(x),
    ]
    return keras.Model(x, outs), _u(-0.5, 3, (8, 6, 3)), "int8"


def fam_dsp_blocks():
    """Shapes that exercise the DSP kernels' blocking edges: 6 channels (one 4-channel depthwise
    group + a 2-channel tail; a receptive field not a multiple of 4), 5 output channels (odd),
    odd pixel counts, and an FC depth and unit count not multiples of 4."""
    import keras
    from keras import layers as L
    x = keras.Input((7, 5, 6), batch_size=1)
    outs = [
        L.DepthwiseConv2D(3, padding="same", activation="relu")(x),
        L.DepthwiseConv2D(3, strides=2, padding="valid")(x),
        L.DepthwiseConv2D(3, dilation_rate=2, padding="same")(x),
        L.Conv2D(5, 3, padding="same", activation="relu")(x),
        L.Conv2D(7, 1, strides=2)(x),
        L.Conv2D(5, 1)(x),
        L.Dense(9)(L.Flatten()(L.Conv2D(3, 2, strides=2)(x))),
    ]
    return keras.Model(x, outs), _u(-1, 2, (7, 5, 6)), "int8"


def fam_pool():
    import keras
    from keras import layers as L
    x = keras.Input((9, 9, 4), batch_size=1)
    outs = [
        L.AveragePooling2D(2)(x),
        L.AveragePooling2D(3, strides=2, padding="same")(x),
        L.AveragePooling2D(3, strides=1, padding="same")(x),
        L.AveragePooling2D((2, 3), strides=(1, 2), padding="same")(x),
        L.MaxPooling2D(2)(x),
        L.MaxPooling2D(3, strides=2, padding="same")(x),
        L.MaxPooling2D(3, strides=1, padding="same")(x),
        L.MaxPooling2D((3, 2), strides=(2, 3), padding="valid")(x),
    ]
    return keras.Model(x, outs), _u(-1, 1.5, (9, 9, 4)), "int8"


def fam_fc():
    import keras
    from keras import layers as L
    x = keras.Input((20,), batch_size=1)
    outs = [
        L.Dense(7)(x),
        L.Dense(5, activation="relu")(x),
        L.Dense(3, activation="relu6")(x),
        L.Dense(4, use_bias=False)(x),
        L.Dense(33, activation="relu")(L.Dense(40)(x)),
    ]
    return keras.Model(x, outs), _u(-2, 1, (20,)), "int8"


def fam_fc_nd():
    import keras
    from keras import layers as L
    x = keras.Input((3, 4, 2), batch_size=1)
    outs = [
        L.Dense(6)(L.Flatten()(x)),
        L.Dense(5)(x),  # applied to the last axis: 12 rows
        L.Softmax()(L.Reshape((3, 8))(x)),  # RESHAPE + row-wise softmax
    ]
    return keras.Model(x, outs), _u(-1, 1, (3, 4, 2)), "int8"


def fam_softmax():
    import keras
    from keras import layers as L
    x = keras.Input((3, 10), batch_size=1)
    outs = [
        L.Softmax()(x),
        L.Softmax()(L.Dense(6)(x)),
        L.Softmax()(L.Dense(12)(L.Flatten()(x))),
    ]
    return keras.Model(x, outs), _u(-6, 6, (3, 10)), "int8"


def fam_softmax_wide():
    import keras
    from keras import layers as L
    x = keras.Input((16,), batch_size=1)
    return keras.Model(x, [L.Softmax()(x)]), _u(-40, 25, (16,)), "int8"


def fam_add_mul():
    import keras
    from keras import layers as L
    x = keras.Input((6, 6, 4), batch_size=1)
    c1 = L.Conv2D(4, 3, padding="same")(x)
    c2 = L.Conv2D(4, 1)(x)
    g = L.GlobalAveragePooling2D(keepdims=True)(x)
    outs = [
        L.Add()([x, c1]),  # residual
        L.ReLU()(L.Add()([c1, c2])),  # ADD with fused RELU
        L.Multiply()([x, c1]),
        L.Add()([x, g]),  # broadcast (1,6,6,4) + (1,1,1,4)
        L.Multiply()([x, g]),
        x * np.array([0.5, -1.0, 2.0, 0.25], np.float32),  # MUL by a constant vector
    ]
    return keras.Model(x, outs), _u(-1, 1, (6, 6, 4)), "int8"


def fam_pad_mean():
    import keras
    from keras import layers as L
    x = keras.Input((5, 7, 6), batch_size=1)
    outs = [
        L.ZeroPadding2D(((1, 2), (0, 3)))(x),
        L.Conv2D(3, 3)(L.ZeroPadding2D(1)(x)),
        L.GlobalAveragePooling2D()(x),  # MEAN, keep_dims false
        L.GlobalAveragePooling2D(keepdims=True)(x),  # MEAN, keep_dims true over H, W
        keras.ops.mean(x, axis=-1),
        keras.ops.mean(x, axis=1, keepdims=True),
    ]
    return keras.Model(x, outs), _u(-1, 2, (5, 7, 6)), "int8"


def fam_concat():
    import keras
    from keras import layers as L
    x = keras.Input((6, 6, 3), batch_size=1)
    a = L.Conv2D(4, 1)(x)
    b = L.Conv2D(2, 3, padding="same")(x)
    outs = [
        L.Concatenate()([a, b]),
        L.Concatenate(axis=1)([a, L.Conv2D(4, 3, padding="same")(x)]),
        L.Concatenate()([x, L.Conv2D(5, 1, activation="relu")(x)]),  # may need a requantize
    ]
    return keras.Model(x, outs), _u(-1, 1, (6, 6, 3)), "int8"


def fam_logistic():
    import keras
    from keras import layers as L
    x = keras.Input((24,), batch_size=1)
    outs = [
        L.Activation("sigmoid")(x),
        L.Dense(5, activation="sigmoid")(x),
        L.Activation("sigmoid")(L.Dense(16)(x)),
    ]
    return keras.Model(x, outs), _u(-7, 7, (24,)), "int8"


def _small_cnn(shape):
    import keras
    from keras import layers as L
    x = keras.Input(shape, batch_size=1)
    y = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = L.MaxPooling2D(2)(y)
    y = L.Flatten()(y)
    y = L.Dense(5, activation="softmax")(y)
    return keras.Model(x, y)


def fam_float_io():
    return _small_cnn((6, 6, 2)), _u(-1, 1, (6, 6, 2)), "float32"


def fam_uint8_io():
    return _small_cnn((6, 6, 2)), _u(0, 1, (6, 6, 2)), "uint8"


def fam_misc():
    import keras
    from keras import layers as L
    x = keras.Input((6, 6, 4), batch_size=1)
    g = L.GlobalAveragePooling2D(keepdims=True)(x)
    c = L.Conv2D(4, 1)(x)
    outs = [
        L.Add()([x, x]),  # both operands the same tensor
        L.ReLU()(L.Multiply()([x, c])),  # MUL (+ RELU)
        L.Add()([g, x]),  # broadcast on the first operand
        L.Concatenate(axis=2)([x, c, L.Conv2D(4, 3, padding="same")(x)]),  # three inputs, axis 2
        keras.ops.pad(x, [[0, 0], [0, 0], [1, 0], [2, 3]]),  # PAD incl. channels
        keras.ops.mean(x, axis=(1, 2, 3)),  # MEAN over three axes
        keras.ops.mean(x, axis=2),
    ]
    return keras.Model(x, outs), _u(-1, 1, (6, 6, 4)), "int8"


def fam_single_channel():
    import keras
    from keras import layers as L
    x = keras.Input((7, 7, 1), batch_size=1)
    outs = [
        L.Conv2D(6, 3, padding="same", activation="relu")(x),  # in_c = 1
        L.DepthwiseConv2D(3, depth_multiplier=8, padding="same")(x),  # may become CONV_2D
        L.DepthwiseConv2D(2, strides=2, depth_multiplier=3, padding="valid", activation="relu6")(x),
        L.AveragePooling2D(7)(x),  # window = whole input
        L.MaxPooling2D(4, strides=3, padding="same")(x),
    ]
    return keras.Model(x, outs), _u(0, 1, (7, 7, 1)), "int8"


def fam_two_inputs():
    import keras
    from keras import layers as L
    a = keras.Input((4, 4, 3), batch_size=1)
    b = keras.Input((4, 4, 3), batch_size=1)
    outs = [L.Add()([a, b]), L.Concatenate()([L.Conv2D(2, 1)(a), L.Conv2D(3, 1)(b)]), L.Multiply()([a, b])]
    return keras.Model([a, b], outs), _u(-1, 1, (4, 4, 3), (4, 4, 3)), "int8"


def _rerange(fn, lo, hi):
    """The family with representative data in [lo, hi]: other scales and zero points."""
    def variant():
        model, _, io = fn()
        shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
        return model, _u(lo, hi, *shapes), io
    return variant


fam_conv_a_pos = _rerange(fam_conv_a, 0.0, 6.0)
fam_dw_a_neg = _rerange(fam_dw_a, -3.0, 0.5)
fam_pool_neg = _rerange(fam_pool, -2.0, -0.5)
fam_fc_pos = _rerange(fam_fc, 0.0, 1.0)
fam_add_mul_wide = _rerange(fam_add_mul, -0.5, 8.0)
fam_logistic_narrow = _rerange(fam_logistic, -0.3, 0.2)
fam_softmax_narrow = _rerange(fam_softmax, -0.5, 0.5)


FAMILIES = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("fam_")}

# ops each family is expected to contain (guards against the converter folding a case away)
EXPECTED_OPS = {
    "conv_a": {"CONV_2D"}, "conv_b": {"CONV_2D"}, "dw_a": {"DEPTHWISE_CONV_2D"}, "dw_b": {"DEPTHWISE_CONV_2D"},
    "dsp_blocks": {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"},
    "pool": {"AVERAGE_POOL_2D", "MAX_POOL_2D"}, "fc": {"FULLY_CONNECTED"},
    "fc_nd": {"FULLY_CONNECTED", "RESHAPE", "SOFTMAX"}, "softmax": {"SOFTMAX", "FULLY_CONNECTED"},
    "softmax_wide": {"SOFTMAX"}, "add_mul": {"ADD", "MUL"}, "pad_mean": {"PAD", "MEAN"},
    "concat": {"CONCATENATION"}, "logistic": {"LOGISTIC"}, "float_io": {"QUANTIZE", "DEQUANTIZE"},
    "uint8_io": {"QUANTIZE"}, "misc": {"ADD", "MUL", "CONCATENATION", "PAD", "MEAN"},
    "single_channel": {"CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"},
    "two_inputs": {"ADD", "CONCATENATION", "MUL"},
}
for _variant, _base in (("conv_a_pos", "conv_a"), ("dw_a_neg", "dw_a"), ("pool_neg", "pool"), ("fc_pos", "fc"),
                        ("add_mul_wide", "add_mul"), ("logistic_narrow", "logistic"),
                        ("softmax_narrow", "softmax")):
    EXPECTED_OPS[_variant] = EXPECTED_OPS[_base]


# ------------------------------------------------------------------------------------ fixtures

def _family_key(name: str) -> str:
    """Changes when this module (the family definitions) or TensorFlow changes."""
    import tensorflow as tf
    src = inspect.getsource(inspect.getmodule(_family_key))
    return hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def family_models(request) -> dict[str, bytes]:
    """name → int8 .tflite bytes of every family (cached on disk across runs by source hash)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    cache = request.config.cache.mkdir("edgeq_codegen_models")
    out = {}
    for name, fn in FAMILIES.items():
        path = cache / f"{name}-{_family_key(name)}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(7)
            model, data_fn, io = fn()
            path.write_bytes(convert_keras(model, data_fn, io))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def host_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("codegen_host"))


@pytest.fixture(scope="session")
def family_results(family_models, host_builder):
    """name → (graph, inputs, host outputs, TFLM outputs); TFLM runs all families in one child."""
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(family_models)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        built = dict(zip(names, ex.map(lambda n: host_builder.build(family_models[n], name=f"m_{n}"), names)))
    cases, inputs = [], {}
    for n in names:
        g = built[n].graph
        inputs[n] = random_inputs(g, SAMPLES, seed=len(n))
        cases.append((family_models[n], inputs[n], len(g.outputs)))
    try:
        ref = dict(zip(names, tflm_run_many(cases)))
    except AssertionError:
        ref = {}
        for n, case in zip(names, cases):  # isolate a crashing model
            try:
                ref[n] = tflm_run_many([case])[0]
            except AssertionError as e:
                ref[n] = e
    return {n: (built[n].graph, inputs[n], built[n], ref[n]) for n in names}


# ------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_bit_exact(family, family_results):
    graph, inputs, host, ref = family_results[family]
    ops = {op.opcode for op in graph.operators}
    assert EXPECTED_OPS[family] <= ops, f"{family}: converter produced {sorted(ops)}"
    if isinstance(ref, Exception):
        pytest.fail(f"TFLM could not run {family}: {ref}")
    got = host.run(inputs)
    n = assert_bit_exact(family, got, ref)
    assert n >= SAMPLES


def test_grid_covers_the_core_ops(family_models):
    """The families together exercise every op of the core set (edgeq/ops/core.py); the ops
    added since have test modules of their own (tests/test_ops_*.py)."""
    from edgeq.graph import load_graph
    from edgeq.ops import core

    seen = set()
    for buf in family_models.values():
        seen |= {op.opcode for op in load_graph(buf).operators}
    missing = {row[0] for row in core._ROWS} - seen - {"SQUEEZE"}  # the converter emits RESHAPE for squeezes
    assert not missing, f"ops without a bit-exactness test: {sorted(missing)}"


def test_cortex_m4_compile_every_family(family_models, tmp_path):
    """Every op-grid model's generated C compiles warning-free for Cortex-M4F."""
    from _codegen_harness import cross_compile
    from conftest import require_tool
    from edgeq.codegen import generate

    cc = require_tool("arm-none-eabi-gcc")
    dirs = [generate(buf, tmp_path / f"m_{n}", name=f"m_{n}").out_dir for n, buf in sorted(family_models.items())]
    cross_compile(cc, dirs, tmp_path / "obj", kernels=False)


def test_mean_with_identical_in_out_quantization(family_models, host_builder):
    """MEAN whose output quantization equals its input's (patched into the converted model):
    TFLM still requantizes; the generated code must agree."""
    from edgeq.graph import load_graph

    buf = bytearray(family_models["pad_mean"])
    g = load_graph(bytes(buf))
    mean = next(op for op in g.operators if op.opcode == "MEAN" and not op.options.get("keep_dims"))
    x, y = g.tensors[mean.inputs[0]], g.tensors[mean.outputs[0]]
    pairs = [(np.float32(y.quant.scale).tobytes(), np.float32(x.quant.scale).tobytes()),
             (np.int64(y.quant.zero_point).tobytes(), np.int64(x.quant.zero_point).tobytes())]
    if any(buf.count(old) != 1 for old, _ in pairs):
        pytest.skip("cannot patch the quantization unambiguously")
    patched = bytes(buf)
    for old, new in pairs:
        patched = patched.replace(old, new)
    g2 = load_graph(patched)
    assert g2.tensors[y.index].quant.zero_point == x.quant.zero_point
    host = host_builder.build(patched, name="mean_same")
    inputs = random_inputs(host.graph, SAMPLES, seed=11)
    ref = tflm_run_many([(patched, inputs, len(g2.outputs))])[0]
    assert_bit_exact("mean_same", host.run(inputs), ref)


def test_dsp_scratch_plan_still_bit_exact(family_models, host_builder, tmp_path):
    """Planning DSP-sized scratch (upstream CMSIS-NN on a DSP core) only grows the arena."""
    from edgeq.codegen import generate
    from edgeq.graph import load_graph
    from edgeq.memory import plan_memory

    buf = family_models["dw_a"]
    g = load_graph(buf)
    res = generate(buf, tmp_path / "dsp", name="dsp", scratch_variant="dsp")
    assert res.arena_bytes == plan_memory(g, variant="dsp").arena_bytes >= plan_memory(g).arena_bytes


@pytest.mark.parametrize("beta", [0.37, 2.5])
def test_softmax_beta(beta, family_models, host_builder):
    """SOFTMAX with beta != 1 (patched into the converted model's options)."""
    from edgeq.graph import load_graph

    buf = family_models["softmax_wide"]
    one = np.float32(1.0).tobytes()
    if buf.count(one) != 1:
        pytest.skip("cannot patch beta unambiguously")
    patched = buf.replace(one, np.float32(beta).tobytes())
    g = load_graph(patched)
    (sm,) = [op for op in g.operators if op.opcode == "SOFTMAX"]
    assert sm.options["beta"] == pytest.approx(beta)
    host = host_builder.build(patched, name="softmax_beta")
    inputs = random_inputs(g, SAMPLES, seed=5)
    ref = tflm_run_many([(patched, inputs, len(g.outputs))])[0]
    assert_bit_exact(f"softmax beta={beta}", host.run(inputs), ref)


@pytest.fixture(scope="session")
def host_builder_dsp(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("codegen_host_dsp"), defines=("EDGEQ_EMULATE_DSP",))


def test_dsp_code_path_bit_exact_on_host(family_results, family_models, host_builder_dsp):
    """The kernels' Cortex-M DSP code path (SMLAD/SXTB16 dot products), emulated in C on the
    host, gives the same bytes as TFLM on every family."""
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(family_models)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        built = dict(zip(names, ex.map(lambda n: host_builder_dsp.build(family_models[n], name=f"d_{n}"), names)))
    for n in names:
        _, inputs, _, ref = family_results[n]
        if isinstance(ref, Exception):
            continue
        assert_bit_exact(f"{n} (DSP path)", built[n].run(inputs), ref)


def test_squeeze_alias_bit_exact(host_builder):
    """SQUEEZE (hand-made: the converter never emits it) is an alias in the generated C — no
    copy — and the model's bytes equal TFLM's."""
    import subprocess

    from test_memory import squeeze_graph

    from edgeq.codegen import generate

    buf = squeeze_graph()
    host = host_builder.build(buf, name="sq")
    assert generate(buf, host.gen_dir.parent / "check", name="sq").kernels.get("alias") == 2
    c = (host.gen_dir / "sq.c").read_text()
    assert "same arena buffer: nothing to do" in c and "edgeq_copy(" not in c
    x = np.random.default_rng(4).integers(-128, 128, (16, 4, 1, 6)).astype(np.int8)
    ref = tflm_run_many([(buf, [x], 1)])[0][0]
    out = subprocess.run([str(host.exe)], input=x.tobytes(), capture_output=True, check=True).stdout
    assert np.asarray(ref).shape == (16, 4, 6)
    got = np.frombuffer(out, np.int8).reshape(16, 4, 6)
    assert_bit_exact("squeeze", [got], [ref])
