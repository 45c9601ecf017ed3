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

from _codegen_harness import (HostBuilder, assert_bit_exact, convert_keras, random_inputs, tflm_run_many,
                              uniform_data as _u)
from tflite_builder import act, build_tflite

SAMPLES = 64


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


def fam_ew():
    """ADD (residual, fused ReLU, channel broadcast), MUL, CONCATENATION, MEAN and PAD on int16."""
    import keras
    from keras import layers as L
    x = keras.Input((6, 6, 4), batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(x)
    c = L.Conv2D(1, 1)(x)
    outs = [
        L.Add()([x, a]),
        L.Activation("relu")(L.Add()([a, L.Conv2D(4, 1)(x)])),
        L.Add()([x, c]),
        L.Multiply()([x, a]),
        L.Multiply()([a, c]),
        L.Concatenate()([x, a]),
        L.Concatenate(axis=1)([a, L.Conv2D(4, 1)(a)]),
        L.GlobalAveragePooling2D()(a),
        L.ZeroPadding2D(((1, 2), (0, 1)))(a),
    ]
    return keras.Model(x, outs), _u(-1, 1, (6, 6, 4))


def fam_cnn():
    """A small whole 16x8 classifier: conv, depthwise, pools, dense, softmax."""
    import keras
    from keras import layers as L
    x = keras.Input((8, 8, 1), batch_size=1)
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = L.MaxPooling2D(2)(y)
    y = L.Conv2D(12, 3, strides=2, padding="same", activation="relu")(y)
    y = L.AveragePooling2D(2)(y)
    y = L.Flatten()(y)
    y = L.Dense(10, activation="softmax")(y)
    return keras.Model(x, y), _u(0, 1, (8, 8, 1))


def fam_softmax():
    """SOFTMAX rows of several lengths, on the input itself and after dense layers (other scales)."""
    import keras
    from keras import layers as L
    x = keras.Input((4, 10), batch_size=1)
    outs = [
        L.Softmax()(x),
        L.Softmax()(L.Dense(7)(x)),
        L.Softmax()(L.Dense(33)(L.Flatten()(x))),
        L.Softmax()(L.Dense(2)(L.Flatten()(x))),
    ]
    return keras.Model(x, outs), _u(-3, 3, (4, 10))


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
fam_softmax_wide = _rerange(fam_softmax, -60.0, 40.0)  # differences beyond the exp table's -10


def fam_logistic():
    """LOGISTIC on the input and after dense / conv layers (several input scales)."""
    import keras
    from keras import layers as L
    x = keras.Input((6, 6, 3), batch_size=1)
    outs = [
        L.Activation("sigmoid")(x),
        L.Dense(5, activation="sigmoid")(L.Flatten()(x)),
        L.Conv2D(4, 3, padding="same", activation="sigmoid")(x),
    ]
    return keras.Model(x, outs), _u(-2, 2, (6, 6, 3))


fam_logistic_wide = _rerange(fam_logistic, -30.0, 30.0)  # beyond the table's ±10.7: saturation

FAMILIES = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("fam_")}

EXPECTED_OPS = {
    "conv": {"CONV_2D"}, "conv_pos": {"CONV_2D"}, "conv_deep": {"CONV_2D", "FULLY_CONNECTED"},
    "dw": {"DEPTHWISE_CONV_2D"}, "dw_neg": {"DEPTHWISE_CONV_2D"}, "fc": {"FULLY_CONNECTED"},
    "fc_wide": {"FULLY_CONNECTED"}, "fc_nd": {"FULLY_CONNECTED", "RESHAPE"},
    "pool": {"AVERAGE_POOL_2D", "MAX_POOL_2D"}, "pool_neg": {"AVERAGE_POOL_2D", "MAX_POOL_2D"},
    "cnn": {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"},
    "softmax": {"SOFTMAX", "FULLY_CONNECTED"}, "softmax_wide": {"SOFTMAX", "FULLY_CONNECTED"},
    "ew": {"ADD", "MUL", "CONCATENATION", "MEAN", "PAD"},
    "logistic": {"LOGISTIC"}, "logistic_wide": {"LOGISTIC"},
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
def test_int16_families_dsp_path_bit_exact(models16, results16, tmp_path_factory):
    """The Cortex-M DSP code path of the int16 kernels (SMLAD on int16 input pairs against
    sign-extended weight pairs), emulated on the host: the same bytes as TFLM for every family."""
    from concurrent.futures import ThreadPoolExecutor

    dsp = HostBuilder(tmp_path_factory.mktemp("codegen_int16_dsp"), defines=("EDGEQ_EMULATE_DSP",))
    names = sorted(results16)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        hosts = dict(zip(names, ex.map(lambda n: dsp.build(models16[n], name=f"d_{n}"), names)))
    for n in names:
        _, inputs, _, ref = results16[n]
        assert not isinstance(ref, Exception), ref
        assert_bit_exact(f"{n} (dsp)", hosts[n].run(inputs), ref)


@pytest.mark.toolchain
def test_int16_arena_is_what_size_check_plans(models16, tmp_path):
    """The generated arena is the planner's (size-check's) arena: edgeq's s16 kernels need no scratch."""
    from edgeq.codegen import generate
    from edgeq.graph import load_graph
    from edgeq.memory import plan_memory, scratch_bytes

    for name in ("conv", "dw", "pool", "cnn"):
        g = load_graph(models16[name])
        assert all(scratch_bytes(g, op, v) == 0 for op in g.operators for v in ("portable",))  # upstream (dsp, mve) wants some
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


# ------------------------------------------------------------------------------------ QUANTIZE

# (input dtype, scale, zp) -> (output dtype, scale, zp): both directions, scale ratios above and
# below one, several zero points; int16 -> int16 rescaling too
QUANTIZE_CASES = [
    (("int8", 0.05, -3), ("int16", 0.05 / 256, 0)),
    (("int8", 0.0123, 17), ("int16", 0.0004, 0)),
    (("int8", 0.2, -128), ("int16", 3.1e-5, 0)),
    (("int8", 0.01, 5), ("int16", 0.02, 0)),  # coarser int16: multiplier < 1
    (("int16", 0.05 / 256, 0), ("int8", 0.05, -3)),
    (("int16", 0.0004, 0), ("int8", 0.0123, 17)),
    (("int16", 3.1e-5, 0), ("int8", 0.0031, 100)),
    (("int16", 0.001, 0), ("int8", 0.0007, -90)),  # multiplier > 1: saturates
    (("int16", 0.001, 0), ("int16", 0.0003, 0)),
    (("int16", 0.0003, 0), ("int16", 0.001, 0)),
]


def _quantize_model(src, dst) -> bytes:
    (dt_in, s_in, z_in), (dt_out, s_out, z_out) = src, dst
    tensors = [act("in", [1, 6, 7], dt_in, s_in, z_in), act("out", [1, 6, 7], dt_out, s_out, z_out)]
    return build_tflite(tensors, [{"op": "QUANTIZE", "inputs": [0], "outputs": [1]}], [0], [1])


@pytest.mark.toolchain
def test_quantize_int8_int16_bit_exact(host16):
    """QUANTIZE requantizing int8 <-> int16 (and int16 -> int16): every value of the input range."""
    from edgeq.graph import load_graph

    bufs = [_quantize_model(a, b) for a, b in QUANTIZE_CASES]
    cases, hosts = [], []
    for k, buf in enumerate(bufs):
        g = load_graph(buf)
        hosts.append(host16.build(buf, name=f"q{k}"))
        x = random_inputs(g, SAMPLES, seed=k)
        if g.tensors[g.inputs[0]].dtype == "int8":  # every int8 value at least once
            x[0].reshape(-1)[:256] = np.arange(-128, 128)
        cases.append((buf, x, 1))
    refs = tflm_run_many(cases)
    for k, ((buf, x, _), host, ref) in enumerate(zip(cases, hosts, refs)):
        assert_bit_exact(f"QUANTIZE {QUANTIZE_CASES[k]}", host.run(x), ref)


def _splice_int8_boundaries(buf16: bytes, in_q: tuple[float, int], out_q: tuple[float, int]) -> bytes:
    """A 16x8 model made mixed precision: int8 graph input -> QUANTIZE -> (the int16 ops) ->
    QUANTIZE -> int8 graph output, with TF's flatbuffer object API."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as S

    m = S.ModelT.InitFromObj(S.Model.GetRootAsModel(buf16, 0))
    sg = m.subgraphs[0]
    code = len(m.operatorCodes)
    oc = S.OperatorCodeT()
    oc.builtinCode = oc.deprecatedBuiltinCode = S.BuiltinOperator.QUANTIZE
    oc.version = 1
    m.operatorCodes.append(oc)

    def tensor(name, like, scale, zp):
        t = S.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), list(like.shape), S.TensorType.INT8, 0
        t.quantization = S.QuantizationParametersT()
        t.quantization.scale, t.quantization.zeroPoint = [scale], [zp]
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    def quantize(i, o):
        op = S.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = code, [i], [o]
        return op

    (gin,), (gout,) = sg.inputs, sg.outputs
    new_in = tensor("input_int8", sg.tensors[gin], *in_q)
    new_out = tensor("output_int8", sg.tensors[gout], *out_q)
    sg.operators = [quantize(new_in, gin)] + list(sg.operators) + [quantize(gout, new_out)]
    sg.inputs, sg.outputs = [new_in], [new_out]
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.toolchain
def test_float_io_16x8_cnn_bit_exact(host16, request):
    """A 16x8 CNN with float graph I/O: QUANTIZE float -> int16 and DEQUANTIZE int16 -> float."""
    import keras

    keras.utils.set_random_seed(7)
    model, data_fn = fam_cnn()
    _random_biases(model)
    buf = convert_keras(model, data_fn, "float32", precision="int16x8")
    host = host16.build(buf, name="float_io16")
    g = host.graph
    assert {op.opcode for op in g.operators} >= {"QUANTIZE", "DEQUANTIZE", "CONV_2D"}
    x = random_inputs(g, SAMPLES, seed=4)
    ref = tflm_run_many([(buf, x, 1)])[0]
    assert_bit_exact("float io 16x8", host.run(x), ref)


@pytest.mark.toolchain
def test_mixed_precision_cnn_bit_exact(models16, host16):
    """int8 in -> QUANTIZE -> the 16x8 CNN -> QUANTIZE -> int8 out: the boundaries of a mixed model."""
    from edgeq.graph import load_graph

    g16 = load_graph(models16["cnn"])
    s_in = float(g16.tensors[g16.inputs[0]].quant.scale)
    s_out = float(g16.tensors[g16.outputs[0]].quant.scale)
    buf = _splice_int8_boundaries(models16["cnn"], (s_in * 300.0, -20), (s_out * 250.0, 7))
    g = load_graph(buf)
    assert [op.opcode for op in g.operators][::len(g.operators) - 1] == ["QUANTIZE", "QUANTIZE"]
    assert g.tensors[g.inputs[0]].dtype == g.tensors[g.outputs[0]].dtype == "int8"
    host = host16.build(buf, name="mixed_cnn")
    x = random_inputs(g, SAMPLES, seed=9)
    ref = tflm_run_many([(buf, x, 1)])[0]
    assert_bit_exact("mixed cnn", host.run(x), ref)


# ------------------------------------------------------------------------------------ refusals

@pytest.mark.unit
def test_int16_ops_cover_the_original_op_set():
    """The ops of the original set all have an int16 kernel, so any layer of a CNN, MLP or
    residual net can be kept at int16."""
    from edgeq.graph import INT16_OPS

    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "SOFTMAX",
            "ADD", "MUL", "RESHAPE", "PAD", "MEAN", "CONCATENATION", "LOGISTIC", "QUANTIZE"} <= INT16_OPS


@pytest.mark.unit
@pytest.mark.parametrize("opcode", ["SOFTMAX", "LOGISTIC"])
def test_generate_cli_int16_q15_output_scale_exit_2(opcode, tmp_path):
    """int16 SOFTMAX / LOGISTIC write Q0.15: any other output scale is refused (TFLM refuses it
    too), exit 2, naming the op and its position, nothing written."""
    from typer.testing import CliRunner

    from edgeq.cli import app

    model = tmp_path / f"{opcode.lower()}16.tflite"
    # the op second, after an int16 max pool: the position must be #1
    buf = build_tflite(
        [act("x", [1, 4, 4, 2], "int16", 0.001, 0), act("p", [1, 4, 4, 2], "int16", 0.001, 0),
         act("out", [1, 4, 4, 2], "int16", 1 / 1000, 0)],
        [{"op": "MAX_POOL_2D", "inputs": [0], "outputs": [1]}, {"op": opcode, "inputs": [1], "outputs": [2]}],
        [0], [2])
    model.write_bytes(buf)
    r = CliRunner().invoke(app, ["generate", str(model), "-o", str(tmp_path / "c")])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert f"operator #1 ({opcode}" in text and "1/32768" in text
    assert not (tmp_path / "c").exists()


@pytest.mark.toolchain
def test_int16_depthwise_with_int32_bias_is_refused(models16, tmp_path):
    """TFLM's int16 depthwise reads its bias as int64: with an int32 bias there is no reference to
    match (its outputs saturate), so generate refuses such a model instead of guessing."""
    import keras

    from edgeq.codegen import generate
    from edgeq.errors import InputError

    keras.utils.set_random_seed(7)
    x = keras.Input((5, 5, 3), batch_size=1)
    model = keras.Model(x, keras.layers.DepthwiseConv2D(3)(x))
    _random_biases(model)
    buf = convert_keras(model, _u(-1, 1, (5, 5, 3)), "int16", precision="int16x8", bias_type="int32")
    with pytest.raises(InputError) as e:
        generate(buf, tmp_path / "dw32", name="dw32")
    assert "operator #0 (DEPTHWISE_CONV_2D" in e.value.message and "int32 bias" in e.value.message
