"""`edgeq generate` with int16 activations (TFLite's 16x8 mode) and int8 <-> int16 QUANTIZE:
small Keras models converted in 16x8 mode over a grid of shapes, strides, paddings, dilations,
activations and depth multipliers, plus hand-built QUANTIZE models, compiled for the host and
compared byte for byte with the TFLM interpreter (the only source of expected values).
"""

from __future__ import annotations

import hashlib
import inspect
import os

import numpy as np
import pytest

from _codegen_harness import HostBuilder, assert_bit_exact, convert_keras, random_inputs, tflm_run_many
from tflite_builder import act, build_tflite

SAMPLES = 64


def _u(lo, hi, *shapes):
    return lambda rng: [rng.uniform(lo, hi, (1,) + s).astype(np.float32) for s in shapes]


# ------------------------------------------------------------------------------------ families
# Each returns (keras.Model, representative data function). One input, many outputs.

def fam_conv():
    import keras
    from keras import layers as L
    x = keras.Input((9, 9, 4), batch_size=1)
    outs = [
        L.Conv2D(5, 1)(x),
        L.Conv2D(6, 3, padding="same", activation="relu")(x),
        L.Conv2D(4, 3, strides=2, padding="same")(x),
        L.Conv2D(3, 3, strides=2, padding="valid", activation="relu6")(x),
        L.Conv2D(4, 5, padding="valid")(x),
        L.Conv2D(4, 3, dilation_rate=2, padding="same")(x),
        L.Conv2D(3, 3, dilation_rate=(2, 3), padding="valid")(x),
        L.Conv2D(4, 2, padding="same")(x),  # even kernel: asymmetric SAME padding
        L.Conv2D(5, (3, 1), strides=(2, 1), padding="same", use_bias=False)(x),
        L.Conv2D(4, 1, strides=2)(x),
        L.Conv2D(16, 3, padding="same", activation="relu")(L.Conv2D(8, 1)(x)),  # int16 -> int16 chain
    ]
    return keras.Model(x, outs), _u(-1, 1, (9, 9, 4))


def fam_conv_deep():
    """Long accumulation (3x3x72 = 648 products): crosses the 256-product block of the dot."""
    import keras
    from keras import layers as L
    x = keras.Input((6, 6, 72), batch_size=1)
    outs = [L.Conv2D(6, 3, padding="same")(x), L.Dense(7, activation="relu")(L.Flatten()(x))]
    return keras.Model(x, outs), _u(0, 3, (6, 6, 72))


def fam_dw():
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
        L.DepthwiseConv2D(3, dilation_rate=(1, 2), padding="same", depth_multiplier=2)(x),
    ]
    return keras.Model(x, outs), _u(-1, 1, (9, 9, 4))


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
    return keras.Model(x, outs), _u(-2, 1, (20,))


def fam_fc_nd():
    import keras
    from keras import layers as L
    x = keras.Input((3, 4, 2), batch_size=1)
    outs = [
        L.Dense(6)(L.Flatten()(x)),  # RESHAPE int16
        L.Dense(5)(x),  # applied to the last axis: 12 rows
    ]
    return keras.Model(x, outs), _u(-1, 1, (3, 4, 2))


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
        L.AveragePooling2D(9)(x),  # window = whole input: 81 taps
    ]
    return keras.Model(x, outs), _u(-1, 1.5, (9, 9, 4))


def fam_cnn():
    """A small whole 16x8 CNN: conv, depthwise, pools, dense (no softmax)."""
    import keras
    from keras import layers as L
    x = keras.Input((8, 8, 1), batch_size=1)
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = L.MaxPooling2D(2)(y)
    y = L.Conv2D(12, 3, strides=2, padding="same", activation="relu")(y)
    y = L.AveragePooling2D(2)(y)
    y = L.Flatten()(y)
    y = L.Dense(10)(y)
    return keras.Model(x, y), _u(0, 1, (8, 8, 1))


def _rerange(fn, lo, hi):
    """The family with representative data in [lo, hi]: other scales."""
    def variant():
        model, _ = fn()
        shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
        return model, _u(lo, hi, *shapes)
    return variant


fam_conv_pos = _rerange(fam_conv, 0.0, 6.0)
fam_dw_neg = _rerange(fam_dw, -3.0, 0.5)
fam_pool_neg = _rerange(fam_pool, -2.0, -0.5)
fam_fc_wide = _rerange(fam_fc, -40.0, 25.0)

FAMILIES = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("fam_")}

EXPECTED_OPS = {
    "conv": {"CONV_2D"}, "conv_pos": {"CONV_2D"}, "conv_deep": {"CONV_2D", "FULLY_CONNECTED"},
    "dw": {"DEPTHWISE_CONV_2D"}, "dw_neg": {"DEPTHWISE_CONV_2D"}, "fc": {"FULLY_CONNECTED"},
    "fc_wide": {"FULLY_CONNECTED"}, "fc_nd": {"FULLY_CONNECTED", "RESHAPE"},
    "pool": {"AVERAGE_POOL_2D", "MAX_POOL_2D"}, "pool_neg": {"AVERAGE_POOL_2D", "MAX_POOL_2D"},
    "cnn": {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"},
}

# the same families with the converter's int32 bias option: TFLite then accumulates in 32 bits
# and requantizes with the 32-bit multiply (conv: cmsis_nn_bias_data int32; FC: edgeq's
# edgeq_fully_connected_s16_b32). Depthwise with int32 bias is refused (see below).
BIAS32 = ("conv", "conv_deep", "fc", "fc_nd")


# ------------------------------------------------------------------------------------ fixtures

def _random_biases(model, seed: int = 3) -> None:
    """Untrained layers have zero biases, which the converter drops: give every bias real values
    so that the bias path (int64 / int32) is exercised."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.assign(rng.normal(0.0, 0.3, tuple(bias.shape)).astype(np.float32))


def _key(name: str) -> str:
    import tensorflow as tf
    src = inspect.getsource(inspect.getmodule(_key))
    return hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def models16(request) -> dict[str, bytes]:
    """name → 16x8 .tflite bytes (int16 model I/O), cached on disk by source hash."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    cache = request.config.cache.mkdir("edgeq_codegen_int16")
    out = {}
    jobs = [(n, n, None) for n in FAMILIES] + [(f"{n}_b32", n, "int32") for n in BIAS32]
    for name, fam, bias in jobs:
        path = cache / f"{name}-{_key(name)}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(7)
            model, data_fn = FAMILIES[fam]()
            _random_biases(model)
            path.write_bytes(convert_keras(model, data_fn, "int16", precision="int16x8", bias_type=bias))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def host16(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("codegen_int16"))


def _digits_inputs(graph, n: int) -> list[np.ndarray] | None:
    """Real images (sklearn digits, 8x8) quantized with the model's input parameters."""
    from sklearn.datasets import load_digits

    t = graph.tensors[graph.inputs[0]]
    if tuple(t.shape[1:]) != (8, 8, 1):
        return None
    x = load_digits().images[:n].astype(np.float32) / 16.0
    q = np.round(x / t.quant.scale) + t.quant.zero_point
    return [np.clip(q, -32768, 32767).astype(np.int16).reshape((n, 8, 8, 1))]


@pytest.fixture(scope="session")
def results16(models16, host16):
    """name → (graph, inputs, host model, TFLM outputs or the exception)."""
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(models16)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        built = dict(zip(names, ex.map(lambda n: host16.build(models16[n], name=f"w_{n}"), names)))
    cases, inputs = [], {}
    for n in names:
        g = built[n].graph
        inputs[n] = random_inputs(g, SAMPLES, seed=len(n))
        real = _digits_inputs(g, SAMPLES)
        if real is not None:
            inputs[n] = [np.concatenate([a, b]) for a, b in zip(inputs[n], real)]
        cases.append((models16[n], inputs[n], len(g.outputs)))
    try:
        ref = dict(zip(names, tflm_run_many(cases)))
    except AssertionError:
        ref = {}
        for n, case in zip(names, cases):
            try:
                ref[n] = tflm_run_many([case])[0]
            except AssertionError as e:
                ref[n] = e
    return {n: (built[n].graph, inputs[n], built[n], ref[n]) for n in names}


# ------------------------------------------------------------------------------------ op grids

@pytest.mark.toolchain
@pytest.mark.parametrize("name", sorted(FAMILIES) + [f"{n}_b32" for n in BIAS32])
def test_int16_family_bit_exact(name, results16):
    graph, inputs, host, ref = results16[name]
    base = name[:-4] if name.endswith("_b32") else name
    ops = {op.opcode for op in graph.operators}
    assert EXPECTED_OPS[base] <= ops, f"{name}: converter produced {sorted(ops)}"
    acts = [t for t in graph.activation_tensors()]
    assert acts and all(t.dtype == "int16" for t in acts), f"{name}: not a 16x8 model"
    biases = {graph.tensors[op.inputs[2]].dtype for op in graph.operators
              if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op.inputs) > 2
              and op.inputs[2] >= 0}
    assert biases <= {"int32" if name.endswith("_b32") else "int64"}, f"{name}: bias types {biases}"
    assert biases or base.startswith("pool"), f"{name}: no biased op"
    if isinstance(ref, Exception):
        pytest.fail(f"TFLM could not run {name}: {ref}")
    n = assert_bit_exact(name, host.run(inputs), ref)
    assert n >= SAMPLES


@pytest.mark.toolchain
def test_int16_arena_is_what_size_check_plans(models16, tmp_path):
    """The generated arena is the planner's (size-check's) arena: s16 kernels need no scratch."""
    from edgeq.codegen import generate
    from edgeq.graph import load_graph
    from edgeq.memory import plan_memory, scratch_bytes

    for name in ("conv", "dw", "pool", "cnn"):
        g = load_graph(models16[name])
        assert all(scratch_bytes(g, op, v) == 0 for op in g.operators for v in ("portable", "dsp"))
        res = generate(models16[name], tmp_path / name, name=f"a_{name}")
        assert res.arena_bytes == plan_memory(g).arena_bytes


@pytest.mark.toolchain
def test_int16_cortex_m4_compile(models16, tmp_path):
    """Kernels and the generated C of the 16x8 models compile warning-free for Cortex-M4F."""
    from _codegen_harness import cross_compile
    from conftest import require_tool
    from edgeq.codegen import generate

    cc = require_tool("arm-none-eabi-gcc")
    dirs = [generate(buf, tmp_path / f"m_{n}", name=f"m_{n}").out_dir for n, buf in sorted(models16.items())]
    cross_compile(cc, dirs, tmp_path / "obj", kernels=True)
