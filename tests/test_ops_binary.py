"""Binary elementwise ops, reductions and batch matmul (edgeq/ops/binary.py), bit-exact with TFLM:
SUB, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE (with broadcasting), SUM, REDUCE_MAX, REDUCE_MIN,
ARG_MAX, ARG_MIN and BATCH_MATMUL (adj_x / adj_y, batch broadcasting), int8 and, where TFLM has
the kernel, int16x8. Small Keras models (one branch per grid point) converted once and cached,
built for the host, compared byte for byte with the TFLM interpreter; an attention block runs on
the virtual Cortex-M4 too.
"""

from __future__ import annotations

import hashlib
import inspect
import os

import numpy as np
import pytest

from _codegen_harness import (HostBuilder, assert_bit_exact, convert_keras, qemu_run, random_inputs, tflm_run_many,
                              uniform_data as _u)

SAMPLES = 48


# ------------------------------------------------------------------------------------ families
# Each returns (keras.Model, representative data function, precision).

def _argmax(axis, which="max", out="int32"):
    import keras
    import tensorflow as tf

    fn = tf.math.argmax if which == "max" else tf.math.argmin
    dt = tf.int32 if out == "int32" else tf.int64
    # keras.ops.argmax does not convert (its -0.0 handling leaves a tf.BitwiseAnd op)
    return keras.layers.Lambda(lambda t: fn(t, axis=axis, output_type=dt))


def fam_elementwise():
    """Same-shape and (1,1,1,C)-broadcast operands, fused RELU, both operand orders."""
    import keras
    from keras import layers as L
    x = keras.Input((5, 7, 3), batch_size=1)
    c = L.Conv2D(3, 1)(x)
    g = keras.ops.mean(x, axis=(1, 2), keepdims=True)  # (1, 1, 1, 3)
    outs = [
        L.Subtract()([x, c]),
        L.ReLU()(L.Subtract()([c, x])),  # SUB with a fused RELU
        x - g,  # (1,5,7,3) - (1,1,1,3)
        g - x,
        L.Maximum()([x, c]),
        L.Minimum()([c, x]),
        keras.ops.maximum(x, g),
        keras.ops.minimum(g, x),
        keras.ops.square(x - c),  # SQUARED_DIFFERENCE
        keras.ops.square(g - x),
        x - np.array([0.5, -1.0, 0.25], np.float32),  # a constant operand
        keras.ops.maximum(x, 0.3),  # a constant scalar
        keras.ops.minimum(c, -0.1),
    ]
    return keras.Model(x, outs), _u(-1, 1, (5, 7, 3)), "int8"


def fam_broadcast():
    """Two inputs broadcasting against each other: (1,4,1,5) with (1,1,3,5) and a rank-3 pair."""
    import keras
    from keras import layers as L
    a = keras.Input((4, 1, 5), batch_size=1)
    b = keras.Input((1, 3, 5), batch_size=1)
    outs = [
        a - b,
        L.ReLU()(b - a),
        keras.ops.maximum(a, b),
        keras.ops.minimum(a, b),
        keras.ops.square(a - b),
        keras.ops.sum(a, axis=1, keepdims=True) - b,  # SUM (1,1,1,5), then (1,1,1,5) - (1,1,3,5)
    ]
    return keras.Model([a, b], outs), _u(-2, 1, (4, 1, 5), (1, 3, 5)), "int8"


def fam_reduce():
    import keras
    from keras import layers as L
    x = keras.Input((5, 7, 3), batch_size=1)
    c = L.Conv2D(5, 1)(x)
    outs = [
        keras.ops.sum(x, axis=1),
        keras.ops.sum(x, axis=(1, 2), keepdims=True),
        keras.ops.sum(c, axis=-1),
        keras.ops.sum(x, axis=(1, 3)),
        keras.ops.max(x, axis=(1, 2), keepdims=True),
        keras.ops.max(c, axis=2),
        keras.ops.max(x, axis=-1, keepdims=True),
        keras.ops.min(x, axis=-1),
        keras.ops.min(c, axis=(1, 3)),
        keras.ops.min(x, axis=(1, 2, 3)),
        _argmax(-1)(c),
        _argmax(1, "min")(c),
        _argmax(2)(x),
    ]
    return keras.Model(x, outs), _u(-1, 2, (5, 7, 3)), "int8"


def _attention(t=5, d=8, dk=6):
    """Dense Q/K/V projections, Q·Kᵀ (BATCH_MATMUL adj_y), SOFTMAX, ·V (BATCH_MATMUL)."""
    import keras
    from keras import layers as L
    x = keras.Input((t, d), batch_size=1)
    q, k, v = L.Dense(dk)(x), L.Dense(dk)(x), L.Dense(dk)(x)
    s = keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1)))
    a = L.Softmax()(s)
    return x, q, k, v, a, keras.ops.matmul(a, v)


def fam_attention():
    """The attention block, plus the key each query attends to most (ARG_MAX of the attention
    weights: an int32 graph output, which the Cortex-M4 run sends over the serial protocol too;
    an ARG_MAX of a graph output would read a DEQUANTIZEd float copy)."""
    import keras
    x, _, _, _, a, y = _attention()
    return keras.Model(x, [y, _argmax(-1)(a)]), _u(-1, 1, (5, 8)), "int8"


def fam_matmul():
    """adj_x, adj_y, neither; 4-D multi-head shapes; a batch dimension broadcast."""
    import keras
    from keras import layers as L
    x = keras.Input((5, 8), batch_size=1)
    q, k, v = L.Dense(6)(x), L.Dense(6)(x), L.Dense(7)(x)
    heads_q = keras.ops.transpose(keras.ops.reshape(q, (1, 5, 2, 3)), (0, 2, 1, 3))  # (1, 2, 5, 3)
    heads_k = keras.ops.transpose(keras.ops.reshape(k, (1, 5, 2, 3)), (0, 2, 3, 1))  # (1, 2, 3, 5)
    shared = keras.ops.reshape(L.Dense(3)(keras.ops.mean(x, axis=1)), (1, 1, 3, 1))
    qt = keras.ops.transpose(q, (0, 2, 1))  # (1, 6, 5)
    outs = [
        keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1))),  # adj_y: (1,5,6) x (1,6,5)
        keras.ops.matmul(qt, v),  # adj_x: (1,6,5) x (1,5,7)
        keras.ops.matmul(qt, k),  # adj_x, rhs transposed too: (1,6,5) x (1,5,6)
        keras.ops.matmul(heads_q, heads_k),  # 4-D: (1,2,5,3) x (1,2,3,5)
        keras.ops.matmul(heads_q, shared),  # batch broadcast: (1,2,5,3) x (1,1,3,1)
    ]
    return keras.Model(x, outs), _u(-1, 1.5, (5, 8)), "int8"


def fam_div():
    """DIV by a divisor kept in [1, 2] (TFLM's int8 DIV: edgeq refuses scale ratios that take its
    shifts out of their defined range, which a wide divisor range does)."""
    import keras
    from keras import layers as L
    x = keras.Input((5, 7, 3), batch_size=1)
    d = L.Conv2D(3, 1, activation="sigmoid")(x) + 1.0
    dm = keras.ops.mean(d, axis=(1, 2), keepdims=True)
    outs = [x / d, x / dm, L.ReLU()(x / d)]  # same shape, (1,1,1,3) divisor, RELU (fused if it can be)
    return keras.Model(x, outs), _u(-1, 1, (5, 7, 3)), "int8"


def fam_elementwise_16():
    import keras
    from keras import layers as L
    x = keras.Input((5, 7, 3), batch_size=1)
    c = L.Conv2D(3, 1)(x)
    g = keras.ops.mean(x, axis=(1, 2), keepdims=True)
    outs = [
        L.Subtract()([x, c]),
        x - g,
        L.Maximum()([x, c]),
        keras.ops.minimum(g, x),
        keras.ops.square(x - c),
        keras.ops.square(g - x),
        keras.ops.sum(x, axis=(1, 2), keepdims=True),
        keras.ops.sum(c, axis=-1),
    ]
    return keras.Model(x, outs), _u(-1, 1, (5, 7, 3)), "int16x8"


def fam_attention_16():
    import keras
    x, *_, y = _attention(t=6, d=8, dk=5)
    return keras.Model(x, [y]), _u(-1, 1, (6, 8)), "int16x8"


def _rerange(fn, lo, hi):
    def variant():
        model, _, prec = fn()
        shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
        return model, _u(lo, hi, *shapes), prec
    return variant


fam_elementwise_pos = _rerange(fam_elementwise, 0.0, 5.0)
fam_elementwise_neg = _rerange(fam_elementwise, -3.0, -0.2)
fam_broadcast_wide = _rerange(fam_broadcast, -8.0, 8.0)
fam_reduce_pos = _rerange(fam_reduce, 0.0, 0.5)
fam_matmul_pos = _rerange(fam_matmul, 0.0, 3.0)
fam_elementwise_16_wide = _rerange(fam_elementwise_16, -6.0, 2.0)

FAMILIES = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("fam_")}

EXPECTED_OPS = {
    "elementwise": {"SUB", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"},
    "broadcast": {"SUB", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "SUM"},
    "reduce": {"SUM", "REDUCE_MAX", "REDUCE_MIN", "ARG_MAX", "ARG_MIN"},
    "attention": {"FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX", "ARG_MAX"},
    "matmul": {"BATCH_MATMUL"},
    "div": {"DIV"},
    "elementwise_16": {"SUB", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "SUM"},
    "attention_16": {"FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX"},
}
for _variant, _base in (("elementwise_pos", "elementwise"), ("elementwise_neg", "elementwise"),
                        ("broadcast_wide", "broadcast"), ("reduce_pos", "reduce"), ("matmul_pos", "matmul"),
                        ("elementwise_16_wide", "elementwise_16")):
    EXPECTED_OPS[_variant] = EXPECTED_OPS[_base]


# ------------------------------------------------------------------------------------ fixtures

def _family_key(name: str) -> str:
    """Changes when the family definitions (this module up to the fixtures) or TensorFlow change;
    edits to the tests below do not force new conversions."""
    import tensorflow as tf
    src = inspect.getsource(inspect.getmodule(_family_key))
    src = src[:src.index("# " + "-" * 84 + " fixtures")]
    return hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]


def _convert(model, data_fn, precision):
    if precision == "int16x8":
        return convert_keras(model, data_fn, io="int16", precision="int16x8")
    return convert_keras(model, data_fn, io="int8")


@pytest.fixture(scope="session")
def binary_models(request) -> dict[str, bytes]:
    """name → .tflite bytes of every family (cached on disk by source hash)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    cache = request.config.cache.mkdir("edgeq_ops_binary_models")
    out = {}
    for name, fn in FAMILIES.items():
        path = cache / f"{name}-{_family_key(name)}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(11)
            model, data_fn, prec = fn()
            path.write_bytes(_convert(model, data_fn, prec))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def binary_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("ops_binary_host"))


@pytest.fixture(scope="session")
def binary_results(binary_models, binary_builder):
    names = sorted(binary_models)
    built = {n: binary_builder.build(binary_models[n], name=f"b_{n}") for n in names}
    cases, inputs = [], {}
    for n in names:
        g = built[n].graph
        inputs[n] = random_inputs(g, SAMPLES, seed=len(n) + 3)
        cases.append((binary_models[n], inputs[n], len(g.outputs)))
    ref = dict(zip(names, tflm_run_many(cases)))
    return {n: (built[n], inputs[n], ref[n]) for n in names}


# ------------------------------------------------------------------------------------ tests

@pytest.mark.toolchain
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_bit_exact(family, binary_results):
    host, inputs, ref = binary_results[family]
    ops = {op.opcode for op in host.graph.operators}
    assert EXPECTED_OPS[family] <= ops, f"{family}: converter produced {sorted(ops)}"
    n = assert_bit_exact(family, host.run(inputs), ref)
    assert n >= SAMPLES


@pytest.mark.toolchain
def test_dsp_code_path_bit_exact_on_host(binary_models, binary_results, tmp_path_factory):
    """The Cortex-M DSP code path (SMLAD offset dot products in arm_batch_matmul_s8), emulated
    in C on the host, gives the same bytes."""
    builder = HostBuilder(tmp_path_factory.mktemp("ops_binary_dsp"), defines=("EDGEQ_EMULATE_DSP",))
    for n in sorted(binary_models):
        if "matmul" not in n and "attention" not in n:
            continue
        _, inputs, ref = binary_results[n]
        assert_bit_exact(f"{n} (DSP path)", builder.build(binary_models[n], name=f"d_{n}").run(inputs), ref)


@pytest.mark.toolchain
def test_grid_covers_shapes_and_flags(binary_models):
    """The grid really holds what it claims: broadcast operands, adj_x / adj_y, 4-D batch matmul
    with a broadcast batch dimension, reductions with and without keep_dims, int32 ARG outputs."""
    from edgeq.graph import load_graph

    seen = set()
    for buf in binary_models.values():
        g = load_graph(buf)
        for op in g.operators:
            ins = [g.tensors[i] for i in op.inputs if i >= 0]
            out = g.tensors[op.outputs[0]]
            if op.opcode in ("SUB", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE") and \
                    tuple(ins[0].shape) != tuple(ins[1].shape):
                seen.add(f"{op.opcode}:broadcast")
            if op.opcode == "BATCH_MATMUL":
                seen.add(f"adj_x={op.options['adj_x']}")
                seen.add(f"adj_y={op.options['adj_y']}")
                if len(out.shape) == 4 and ins[0].shape[:2] != ins[1].shape[:2]:
                    seen.add("bmm:batch-broadcast")
            if op.opcode in ("SUM", "REDUCE_MAX", "REDUCE_MIN"):
                seen.add(f"{op.opcode}:keep={op.options.get('keep_dims')}")
            if op.opcode in ("ARG_MAX", "ARG_MIN"):
                seen.add(f"{op.opcode}:{out.dtype}")
    want = {"SUB:broadcast", "MAXIMUM:broadcast", "MINIMUM:broadcast", "SQUARED_DIFFERENCE:broadcast",
            "adj_x=True", "adj_x=False", "adj_y=True", "adj_y=False", "bmm:batch-broadcast",
            "SUM:keep=True", "SUM:keep=False", "REDUCE_MAX:keep=True", "REDUCE_MAX:keep=False",
            "REDUCE_MIN:keep=False", "ARG_MAX:int32", "ARG_MIN:int32"}
    assert want <= seen, f"missing from the grid: {sorted(want - seen)}"


@pytest.mark.toolchain
def test_cortex_m4_compile(binary_models, tmp_path):
    """The generated C and this family's kernels compile warning-free for Cortex-M4F."""
    import shutil

    from _codegen_harness import NN, cross_compile
    from conftest import require_tool

    from edgeq.codegen import generate

    cc = require_tool("arm-none-eabi-gcc")
    dirs = [generate(buf, tmp_path / f"g_{n}", name=f"b_{n}").out_dir for n, buf in sorted(binary_models.items())]
    kernels = tmp_path / "kernels"  # only the kernels of this family (the others have their own tests)
    kernels.mkdir()
    for src in ("edgeq/edgeq_binary.c", "src/arm_maximum_minimum_s8.c", "src/arm_batch_matmul_s8.c",
                "src/arm_batch_matmul_s16.c"):
        shutil.copy(NN / src, kernels)
    cross_compile(cc, dirs + [kernels], tmp_path / "obj", kernels=False)


@pytest.mark.toolchain
def test_batch_matmul_multiplier_rounding(binary_builder):
    """BATCH_MATMUL's multiplier comes from the double product of the input scales, not the
    float32 one the tflite-micro sources show (GetQuantizedConvolutionMultipler without bias): a
    hand-made model whose scales make the two differ in the output, l·r for every int8 l and
    r = 127, -128, tells them apart against the TFLM interpreter."""
    from tflite_builder import build_tflite

    from edgeq.ops.binary import batch_matmul_multiplier
    from edgeq.quantmath import multiply_by_quantized_multiplier, quantize_multiplier

    sl, sr, so = 0.03102416917681694, 0.026267318055033684, 0.06683557480573654
    buf = build_tflite([{"name": "lhs", "shape": [1, 1, 1], "dtype": "int8", "scale": sl, "zp": 0},
                        {"name": "rhs", "shape": [1, 1, 2], "dtype": "int8", "scale": sr, "zp": 0},
                        {"name": "out", "shape": [1, 1, 2], "dtype": "int8", "scale": so, "zp": 0}],
                       [{"op": "BATCH_MATMUL", "inputs": [0, 1], "outputs": [2]}], [0, 1], [2])
    lhs = np.arange(-128, 128, dtype=np.int8).reshape(256, 1, 1)
    rhs = np.tile(np.array([127, -128], np.int8).reshape(1, 1, 2), (256, 1, 1))
    acc = lhs.astype(np.int64).reshape(-1, 1) * rhs.reshape(256, 2)
    m_double = batch_matmul_multiplier(sl, sr, so)
    m_float = quantize_multiplier(float(np.float32(sl) * np.float32(sr)) / float(np.float32(so)))

    def out(m):
        return np.array([[multiply_by_quantized_multiplier(int(a), *m) for a in row] for row in acc])
    assert (out(m_float) != out(m_double)).any()  # the model tells the two apart
    host = binary_builder.build(buf, name="bmm_round")
    ref = tflm_run_many([(buf, [lhs, rhs], 1)])[0]
    assert_bit_exact("bmm multiplier rounding", host.run([lhs, rhs]), ref)


@pytest.mark.toolchain
def test_squared_difference_multiplier_rounding(binary_builder):
    """SQUARED_DIFFERENCE's ratios are taken in double (twice the larger scale widened first), not
    in float32: a hand-made model whose scales make the two differ in one output, every int8 x
    against four y values."""
    from tflite_builder import build_tflite

    from edgeq.ops.binary import squared_difference_params
    from edgeq.quantmath import multiply_by_quantized_multiplier as mbqm
    from edgeq.quantmath import quantize_multiplier

    f = np.float32
    s1, s2, so = 0.029773984104394913, 0.037686288356781006, 0.886724054813385
    n = 1024
    buf = build_tflite([{"name": "x", "shape": [1, n], "dtype": "int8", "scale": s1, "zp": 3},
                        {"name": "y", "shape": [1, n], "dtype": "int8", "scale": s2, "zp": -7},
                        {"name": "out", "shape": [1, n], "dtype": "int8", "scale": so, "zp": -128}],
                       [{"op": "SQUARED_DIFFERENCE", "inputs": [0, 1], "outputs": [2]}], [0, 1], [2])
    x = np.repeat(np.arange(-128, 128), 4).astype(np.int8).reshape(1, n)
    y = np.tile(np.array([-128, -50, 13, 127], np.int8), 256).reshape(1, n)
    p = squared_difference_params(s1, 3, s2, -7, so, -128)
    tm = f(2) * max(f(s1), f(s2))
    as_float = (quantize_multiplier(float(f(s1) / tm)), quantize_multiplier(float(f(s2) / tm)),
                quantize_multiplier(float(tm * tm / (f(1 << 14) * f(so)))))
    as_double = ((p.input1_multiplier, p.input1_shift), (p.input2_multiplier, p.input2_shift),
                 (p.output_multiplier, p.output_shift))

    def out(ms):
        (m1, m2, mo), r = ms, []
        for a, b in zip(x.reshape(-1).tolist(), y.reshape(-1).tolist()):
            d = mbqm((a - 3) << 7, *m1) - mbqm((b + 7) << 7, *m2)
            r.append(min(127, max(-128, mbqm(d * d, *mo) - 128)))
        return np.array(r)
    assert (out(as_float) != out(as_double)).any()  # the model tells the two apart
    host = binary_builder.build(buf, name="sqd_round")
    ref = tflm_run_many([(buf, [x, y], 1)])[0]
    assert_bit_exact("squared difference multiplier rounding", host.run([x, y]), ref)


# ------------------------------------------------------------------------------------ refusals

@pytest.fixture(scope="session")
def refused_models(request) -> dict[str, bytes]:
    """Models TFLM has no kernel for: int16 REDUCE_MAX, ARG_MAX with an int64 output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    def reduce_max_16():
        x = keras.Input((4, 3), batch_size=1)
        return keras.Model(x, [keras.ops.max(x, axis=1)]), _u(-1, 1, (4, 3)), "int16x8"

    def argmax_64():
        x = keras.Input((4, 3), batch_size=1)
        return keras.Model(x, [_argmax(-1, out="int64")(keras.layers.Dense(3)(x))]), _u(-1, 1, (4, 3)), "int8"

    cache = request.config.cache.mkdir("edgeq_ops_binary_refused")
    out = {}
    for name, fn in (("reduce_max_16", reduce_max_16), ("argmax_64", argmax_64)):
        key = hashlib.sha256((_family_key(name) + inspect.getsource(fn)).encode()).hexdigest()[:16]
        path = cache / f"{name}-{key}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(3)
            model, data_fn, prec = fn()
            path.write_bytes(_convert(model, data_fn, prec))
        out[name] = path.read_bytes()
    return out


@pytest.mark.toolchain
@pytest.mark.parametrize("name,op,words", [("reduce_max_16", "REDUCE_MAX", "no int16 kernel"),
                                           ("argmax_64", "ARG_MAX", "int32 only")])
def test_refused_with_a_clear_message(name, op, words, refused_models, tmp_path):
    from edgeq.codegen import generate
    from edgeq.errors import InputError
    from edgeq.graph import load_graph

    buf = refused_models[name]
    assert op in {o.opcode for o in load_graph(buf, check_supported=False).operators}
    with pytest.raises(InputError) as e:
        generate(buf, tmp_path / "gen", name="r")
    assert op in str(e.value) and words in str(e.value)


@pytest.mark.unit
def test_div_refused_where_tflm_shifts_are_undefined(tmp_path):
    """A DIV whose scales would make TFLM shift right by more than 31 bits for some inputs (a
    divisor range up to 12.75 against a quotient scale as fine as the dividend's) is refused,
    with the op named; the same op with a narrow divisor range generates."""
    from tflite_builder import build_tflite

    from edgeq.codegen import generate
    from edgeq.errors import InputError

    def model(s2):
        return build_tflite([{"name": "x", "shape": [1, 8], "dtype": "int8", "scale": 0.01, "zp": 0},
                             {"name": "y", "shape": [1, 8], "dtype": "int8", "scale": s2, "zp": -128},
                             {"name": "out", "shape": [1, 8], "dtype": "int8", "scale": 0.01, "zp": 0}],
                            [{"op": "DIV", "inputs": [0, 1], "outputs": [2]}], [0, 1], [2])
    with pytest.raises(InputError) as e:
        generate(model(0.05), tmp_path / "wide", name="w")
    assert "DIV" in str(e.value) and "undefined" in str(e.value)
    assert generate(model(0.004), tmp_path / "narrow", name="n").kernels.get("div") == 1


# ------------------------------------------------------------------------------------ Cortex-M4

@pytest.mark.emulator
def test_attention_block_on_cortex_m4(binary_models, binary_results, tmp_path):
    """The attention block (Dense Q/K/V, BATCH_MATMUL, SOFTMAX, BATCH_MATMUL; + ARG_MAX, an int32
    output) generated, built for the virtual Cortex-M4 (mps2-an386) and run over the serial
    protocol: bit-exact with TFLM."""
    host, inputs, ref = binary_results["attention"]
    n = 12
    got = qemu_run(binary_models["attention"], [x[:n] for x in inputs], tmp_path)
    assert_bit_exact("attention (Cortex-M4)", got, [r[:n] for r in ref])
