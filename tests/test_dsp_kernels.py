"""The Cortex-M DSP kernel variants' edge cases, through the emulated DSP path on the host
(`-DEDGEQ_EMULATE_DSP`) against TFLM: 3x3 depthwise with channel counts not a multiple of 4,
padding at every border, stride 2, rows too narrow for an interior run, ReLU6 (an activation
range narrower than int8), 8-channel layers on the blocks prepared at generation time (shifts of
both signs, a block past the bounded requantization's bound, depth multiplier 2 left to the
ordinary call); 1x1 convolutions with odd pixel / channel counts and channel tails
(both 1x1 routes, and a bias failing the widened route's bound); im2col convolutions with odd output channels, partial last groups (byte-field and generic
im2col) and one whose bias is too large for the bounded requantization; 3-channel first layers
(the byte-field layer loop: unrolled 3x3x3 gather, border, dilated and 5x5 fields) and shallow
1x1 layers (in_c 4-16: the widened-filter table); max pooling with
channel tails, padded windows and a clamped activation range; average pooling (sums in 16-bit
lanes) likewise and over a whole input; fully connected with depth and
unit tails; ADD, short and long enough for the tabulated input terms.
Plus the fast int8 requantization against the reference one on edge operands.

On the device the same kernels run as hand-allocated assembly; the depthwise family also runs on
the emulated Cortex-M4 here, and `tests/test_ops_spatial.py -k m4` and `bench/run.py` (its
bit-exact column) check the rest.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from _codegen_harness import HostBuilder, assert_bit_exact, convert_keras, random_inputs, tflm_run_many
from _codegen_harness import uniform_data as _u

pytestmark = pytest.mark.toolchain

SAMPLES = 48


def fam_depthwise():
    import keras
    from keras import layers as L
    x = keras.Input((7, 9, 7), batch_size=1)  # 7 channels: one block of four + a tail of three
    c12 = L.Conv2D(12, 1)(x)
    c5 = L.Conv2D(5, 1)(x)
    narrow = L.Cropping2D(((0, 0), (0, 7)))(x)  # width 2: no whole 3x3 window in any row
    column = L.Cropping2D(((0, 0), (0, 8)))(x)  # width 1: one tap column per window
    single = L.Cropping2D(((0, 6), (0, 8)))(x)  # 1x1: one tap per window
    outs = [
        L.DepthwiseConv2D(3, padding="same")(x),
        L.DepthwiseConv2D(3, padding="valid", activation="relu6")(x),
        L.DepthwiseConv2D(3, strides=2, padding="same")(x),
        L.DepthwiseConv2D(3, strides=2, padding="valid", activation="relu")(c12),
        L.DepthwiseConv2D(3, padding="same", activation="relu")(c12),
        L.DepthwiseConv2D(3, padding="same", use_bias=False)(c5),
        L.DepthwiseConv2D(5, padding="same")(c5),
        L.DepthwiseConv2D(3, dilation_rate=2, padding="same")(c12),
        L.DepthwiseConv2D(3, padding="same")(narrow),
        L.DepthwiseConv2D(3, padding="same")(column),
        L.DepthwiseConv2D(3, padding="same", activation="relu6")(single),
        L.DepthwiseConv2D((3, 1), strides=(2, 1), padding="same")(c12),
    ]
    # 8 channels at the input's scale (x and a copy of its first channel): the 3x3 blocks prepared
    # at generation time (edgeq/codegen/dw_packed.py) with per-block requantization choices
    c8 = L.Conv2D(8, 1, kernel_initializer=_Fixed(np.eye(7, 8, dtype=np.float32) + _first_copy()),
                  bias_initializer="zeros")(x)
    mag = np.array([1000.0] * 4 + [1.0] * 4, np.float32)  # weight ranges per channel
    outs += [
        # ReLU6 (output scale 6/255): channels 0-3 get positive shifts (a block on the general
        # requantization), channels 4-7 negative ones (bounded)
        L.DepthwiseConv2D(3, padding="same", activation="relu6",
                          depthwise_initializer=_Fixed(_dw_weights(mag, seed=1)))(c8),
        # channels 4-7 with a bias of ~1e9 quantized (> 2^29): that block fails the bound, stride 2
        L.DepthwiseConv2D(3, strides=2, padding="same", depthwise_initializer=_Fixed(_dw_weights(np.ones(8), seed=2)),
                          bias_initializer=_Fixed(np.array([0.1] * 4 + [6e4] * 4, np.float32)))(c8),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(c8),  # depth multiplier 2: not prepared
    ]
    return keras.Model(x, outs), _u(-1, 1, (7, 9, 7)), "int8"


class _Fixed:
    """A Keras initializer returning fixed values."""

    def __init__(self, values):
        self.values = np.asarray(values, np.float32)

    def __call__(self, shape, dtype=None):
        return self.values.reshape(shape)


def _first_copy():
    k = np.zeros((7, 8), np.float32)
    k[0, 7] = 1.0  # output channel 7 = input channel 0
    return k


def _dw_weights(mag, seed):
    """3x3 depthwise kernel (3, 3, C, 1), channel c uniform in [-mag[c], mag[c]]."""
    rng = np.random.default_rng(seed)
    mag = np.asarray(mag, np.float32)
    return (rng.uniform(-1, 1, (3, 3, mag.size, 1)) * mag[None, None, :, None]).astype(np.float32)


def fam_pointwise():
    import keras
    from keras import layers as L
    x = keras.Input((5, 5, 5), batch_size=1)  # 25 pixels (odd), 5 channels (a tail of one)
    c16 = L.Conv2D(16, 1, activation="relu")(x)
    c32 = L.Conv2D(32, 1, activation="relu")(x)
    outs = [
        L.Conv2D(7, 1)(x),  # odd output channels
        L.Conv2D(9, 1, activation="relu6")(c16),
        L.Conv2D(8, 1)(c16),
        L.Conv2D(5, 1, strides=2)(c16),  # strided 1x1
        # in_c 32: the widened-input 1x1 route (odd output channels, clamp, stride 2), and one
        # whose bias fails the bounded requantization's bound: the route must step aside
        L.Conv2D(9, 1, activation="relu6")(c32),
        L.Conv2D(6, 1)(c32),
        L.Conv2D(5, 1, strides=2)(c32),
        L.Conv2D(6, 1, bias_initializer=keras.initializers.Constant(4e4))(c32),
        L.Conv2D(6, 1)(L.Conv2D(64, 1)(x)),  # in_c 64: 13 pixel pairs, two chunks of the buffer
        L.Conv2D(7, 3, padding="same")(x),  # im2col: k = 45 (a partial group), odd channels
        L.Conv2D(6, 3, strides=2, padding="same", activation="relu")(c16),
        L.Conv2D(3, (2, 4), padding="valid")(L.Conv2D(1, 1)(x)),  # in_c 1: every tap a partial group
        # im2col with a bias of ~1.5e9 quantized (> 2^30): fails edgeq_requant_bounded_ok, so the
        # fast requantization must run (the bounded one would overflow doubling the accumulator)
        L.Conv2D(3, 3, padding="same", bias_initializer=keras.initializers.Constant(2e4))(x),
        # k = 3 * 3 * 58 = 522: past the byte-field route, a partial last group (2 elements)
        L.Conv2D(3, 3, padding="same")(L.Conv2D(58, 1)(x)),
    ]
    return keras.Model(x, outs), _u(-1, 1, (5, 5, 5)), "int8"


def fam_first_shallow():
    import keras
    from keras import layers as L
    x = keras.Input((9, 11, 3), batch_size=1)  # 3 channels: an RGB first layer
    outs = [
        # 3 x 3 x 3, stride 2 "same": the byte-field layer loop's unrolled gather (interior) and
        # border fields (the last row and column), 30 pixels; clamped, odd output channels (and
        # an odd pixel count: 99); dilated (interior rows at a dilated reach); a 5 x 5 field with
        # 21 filters: the filter table in two chunks (18 + 3 channels)
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x),
        L.Conv2D(5, 3, padding="same", activation="relu6")(x),
        L.Conv2D(4, 3, dilation_rate=2, padding="same")(x),
        L.Conv2D(21, 5, strides=2, padding="valid")(x),
        # shallow 1x1 (in_c 4, 8, 12, 16): the widened-filter-table route, odd output channels,
        # clamped
        L.Conv2D(7, 1)(L.Conv2D(8, 1)(x)),
        L.Conv2D(6, 1, activation="relu6")(L.Conv2D(4, 1)(x)),
        L.Conv2D(5, 1)(L.Conv2D(12, 1)(x)),
        L.Conv2D(9, 1, activation="relu")(L.Conv2D(16, 1)(x)),
    ]
    return keras.Model(x, outs), _u(-1, 1, (9, 11, 3)), "int8"


def fam_dense_add():
    import keras
    from keras import layers as L
    x = keras.Input((13,), batch_size=1)  # depth 13: three groups of four + a tail of one
    d12 = L.Dense(12, activation="relu")(x)
    a = L.Dense(8)(x)
    b = L.Dense(8, activation="relu")(x)
    big_a, big_b = L.Dense(600)(x), L.Dense(600, activation="relu")(x)
    outs = [
        L.Dense(7)(x),  # one block of four units + three
        L.Dense(9, activation="relu6")(d12),  # depth 12: the single-group entry
        L.Dense(16)(L.Dense(24)(d12)),  # depth 24: the two-group loop
        # a bias of ~1.5e9 quantized (> 2^29): fails the bounded requantization's bound
        L.Dense(6, bias_initializer=keras.initializers.Constant(6e4))(x),
        L.Add()([a, b]),
        L.Add()([L.Reshape((2, 2, 2))(a), L.Reshape((2, 2, 2))(L.Dense(8)(d12))]),
        # 600 elements (>= EDGEQ_EW_LUT_MIN): the tabulated ADD, full range and a fused ReLU
        L.Add()([big_a, big_b]),
        L.ReLU()(L.Add()([big_a, L.Dense(600)(d12)])),
    ]
    return keras.Model(x, outs), _u(-2, 2, (13,)), "int8"


def fam_pool():
    import keras
    from keras import layers as L
    x = keras.Input((9, 7, 7), batch_size=1)  # 7 channels: one word of four + a tail of three
    c12 = L.Conv2D(12, 1)(x)
    outs = [
        L.MaxPooling2D(2)(x),
        L.MaxPooling2D(3, strides=2, padding="same")(c12),  # windows cut by the padding
        L.MaxPooling2D((2, 3), strides=1, padding="same")(L.Conv2D(8, 1, activation="relu6")(x)),
        L.ReLU(6.0)(L.MaxPooling2D(2, padding="same")(c12)),  # an activation range narrower than int8
        # average pooling, sums in 16-bit lanes: a channel tail, windows cut by the padding
        # (4, 6 and 9 taps), a clamped range, and one window over the whole input (63 taps)
        L.AveragePooling2D(2)(x),
        L.AveragePooling2D(3, strides=2, padding="same")(c12),
        L.ReLU(6.0)(L.AveragePooling2D((2, 3), strides=1, padding="same")(c12)),
        L.AveragePooling2D((9, 7))(c12),
    ]
    return keras.Model(x, outs), _u(-1, 1, (9, 7, 7)), "int8"


def fam_pointwise_deep():
    """The doubly-widened 1x1 route: group counts that run four per iteration (12), two (10, 2)
    and odd ones padded with a zero group (9), odd pixel (35) and output-channel counts, the
    widest depth (256: one or two pixel pairs per chunk, many chunks), a clamped range (the C
    loop), strides, and the layers that must step aside: depth not a multiple of 4 (30), past
    256 (260), and per-channel shifts of both signs (channels that cancel on identical inputs
    get multipliers >= 0.5)."""
    import keras
    import numpy as np
    from keras import layers as L
    x = keras.Input((7, 5, 6), batch_size=1)  # 35 pixels
    c48 = L.Conv2D(48, 1, activation="relu")(x)
    same = L.Conv2D(16, 1, kernel_initializer="ones", use_bias=False)(x)  # 16 identical channels
    alt = np.tile([1.0, -1.0], 8)
    # channels 0 and 2 (large weights) nearly cancel, 1 and 3 are small: the output scale is
    # small, so channel 0's multiplier is >= 0.5 (shift >= 0) and channel 1's far below
    k = np.stack([alt, 0.002 * np.linspace(-1, 1, 16), 0.5 * alt + 0.004 * (np.arange(16) == 3),
                  0.002 * np.cos(np.arange(16))], axis=1).reshape(1, 1, 16, 4)
    outs = [
        L.Conv2D(11, 1)(c48),  # in_c 48: 12 groups, 11 channels, 35 pixels
        L.Conv2D(7, 1, activation="relu")(L.Conv2D(40, 1)(x)),  # 10 groups: two per iteration
        L.Conv2D(5, 1)(L.Conv2D(36, 1)(x)),  # 9 groups: padded to 10
        L.Conv2D(9, 1)(L.Conv2D(8, 1)(x)),  # in_c 8: 2 groups
        L.Conv2D(6, 1, activation="relu6")(c48),  # relu6: clamped unless its range is all of int8
        L.Conv2D(6, 1)(L.Conv2D(30, 1)(x)),  # depth 30: the int8 block
        L.Conv2D(3, 1, strides=2)(c48),  # strided: the widening gathers the pixels
        L.Conv2D(13, 1)(L.Conv2D(256, 1)(x)),  # 64 groups: 1 KB pixel pairs
        L.Conv2D(4, 1)(L.Conv2D(260, 1)(x)),  # past the route
        L.Conv2D(4, 1, kernel_initializer=keras.initializers.Constant(k))(same),  # shifts of both signs
    ]
    return keras.Model(x, outs), _u(-1, 1, (7, 5, 6)), "int8"


FAMILIES = {"depthwise": fam_depthwise, "pointwise": fam_pointwise, "first_shallow": fam_first_shallow,
            "dense_add": fam_dense_add, "pool": fam_pool, "pointwise_deep": fam_pointwise_deep}


def _key(name: str) -> str:
    import tensorflow as tf
    src = inspect.getsource(inspect.getmodule(_key))
    return hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def dsp_models(request) -> dict[str, bytes]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    cache = request.config.cache.mkdir("edgeq_dsp_kernel_models")
    out = {}
    for name, fn in FAMILIES.items():
        path = cache / f"{name}-{_key(name)}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(11)
            model, data_fn, io = fn()
            path.write_bytes(convert_keras(model, data_fn, io))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def dsp_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("dsp_kernels"), defines=("EDGEQ_EMULATE_DSP",))


def test_dsp_variants_bit_exact_on_host(dsp_models, dsp_builder):
    """Every family, emulated DSP path, byte for byte equal to TFLM."""
    names = sorted(dsp_models)
    built = {n: dsp_builder.build(dsp_models[n], name=f"dsp_{n}") for n in names}
    cases, inputs = [], {}
    for n in names:
        g = built[n].graph
        inputs[n] = random_inputs(g, SAMPLES, seed=len(n) + 3)
        cases.append((dsp_models[n], inputs[n], len(g.outputs)))
    ops = {n: {op.opcode for op in built[n].graph.operators} for n in names}
    assert {"DEPTHWISE_CONV_2D"} <= ops["depthwise"]
    assert {"CONV_2D"} <= ops["pointwise"]
    assert {"FULLY_CONNECTED", "ADD"} <= ops["dense_add"]
    assert {"MAX_POOL_2D", "AVERAGE_POOL_2D"} <= ops["pool"]
    for n, ref in zip(names, tflm_run_many(cases)):
        assert assert_bit_exact(f"{n} (DSP path)", built[n].run(inputs[n]), ref) >= SAMPLES


@pytest.mark.emulator
@pytest.mark.parametrize("family", ["depthwise", "pool", "pointwise", "pointwise_deep"])
def test_dsp_family_on_virtual_m4_bit_exact(dsp_models, tmp_path, family):
    """The depthwise family (the hand-allocated assembly: pre-extended filter taps, the unrolled
    border windows, the per-block requantization choice), the pool family (SSUB8 + SEL,
    SXTAB16 with its built-in rotation) and the two 1x1 families (the doubly-widened route's
    assembly: TST-terminated loop, SMMLAR requantization, repeated last pixel / channel, LDRD
    filter widening) on the emulated Cortex-M4 rather than the host's C emulation, byte for
    byte equal to TFLM."""
    from _codegen_harness import qemu_run
    from edgeq.graph import load_graph

    buf = dsp_models[family]
    inputs = random_inputs(load_graph(buf), 6, seed=21)
    ref = tflm_run_many([(buf, inputs, len(load_graph(buf).outputs))])[0]
    assert assert_bit_exact(f"{family} (Cortex-M4 assembly)", qemu_run(buf, inputs, tmp_path), ref) >= 6


@pytest.mark.emulator
def test_first_shallow_on_virtual_cortex_m4(dsp_models, tmp_path):
    """The first-layer and shallow-1x1 family on QEMU mps2-an386, where their inner loops run
    as the hand-allocated assembly (the host runs the same algorithm in C): bytes equal to TFLM."""
    from _codegen_harness import qemu_run

    from edgeq.graph import load_graph

    buf = dsp_models["first_shallow"]
    g = load_graph(buf)
    inputs = random_inputs(g, 4, seed=9)
    ref = tflm_run_many([(buf, inputs, len(g.outputs))])[0]
    assert_bit_exact("first_shallow on Cortex-M4", qemu_run(buf, inputs, tmp_path), ref)


def test_fast_requantization_matches_reference(tmp_path):
    """edgeq_requant_fast(_pre) + output offset + SSAT == edgeq_requantize + offset + clamp on
    random and edge accumulators, for multipliers and shifts the converter produces; likewise
    edgeq_requant_bounded (offset folded into its rounding constant) for |acc| < 2^29."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    repo = Path(__file__).resolve().parents[1]
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-DEDGEQ_EMULATE_DSP",
                    f"-I{repo / 'firmware' / 'cmsis_nn' / 'edgeq'}",
                    str(Path(__file__).parent / "c" / "requant_fast_probe.c"), "-o", str(exe)], check=True)
    rng = np.random.default_rng(12)
    edge_acc = [-(1 << 31), (1 << 31) - 1, 0, 1, -1, (1 << 30), -(1 << 30), (1 << 30) - 1, -(1 << 30) + 1,
                (1 << 29) - 1, -(1 << 29) + 1]
    lines = []
    for _ in range(3000):
        acc = int(rng.choice(edge_acc)) if rng.random() < 0.2 else int(rng.integers(-(1 << 31), 1 << 31))
        if rng.random() < 0.5:
            acc >>= int(rng.integers(0, 31))  # small accumulators too
        m = int(rng.integers(1 << 30, 1 << 31)) if rng.random() < 0.9 else int(rng.choice([0, 1 << 30, (1 << 31) - 1]))
        s = int(rng.integers(-31, 0))  # -31 .. -1
        lines.append(f"{acc} {m} {s}")
    out = subprocess.run([str(exe)], input="\n".join(lines), capture_output=True, text=True, check=True).stdout.split()
    assert len(out) == len(lines)
    # eligible: shift in [-23, -1]; beyond -23 the kernels keep the general requantization
    want = ["1" if int(ln.split()[2]) >= -23 else "skip" for ln in lines]
    bad = [ln for ln, r, w in zip(lines, out, want) if r != w]
    assert not bad, bad[:5]
    assert want.count("1") > 2000


def test_bounded_requantization_eligibility(tmp_path):
    """edgeq_requant_bounded_ok: refuses a layer whose bias (plus taps * 255 * 128) could reach
    2^29, a shift outside [-23, -1], and INT32_MIN multipliers; accepts ordinary layers."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    repo = Path(__file__).resolve().parents[1]
    src = tmp_path / "ok.c"
    src.write_text('#include <stdio.h>\n#include "edgeq_fixedpoint.h"\n'
                   "int main(void){\n"
                   "  const int32_t m[2] = {1518500250, 1073741824}, s[2] = {-7, -23}, bad_s[2] = {-7, 0};\n"
                   "  const int32_t small[2] = {-100000, 250000}, big[2] = {0, (1 << 29) - 9 * 255 * 128};\n"
                   "  const int32_t edge[2] = {0, (1 << 29) - 9 * 255 * 128 - 1}, mmin[2] = {INT32_MIN, 1 << 30};\n"
                   '  printf("%d %d %d %d %d %d\\n", (int)edgeq_requant_bounded_ok(m, s, small, 2, 9),\n'
                   "    (int)edgeq_requant_bounded_ok(m, s, 0, 2, 9), (int)edgeq_requant_bounded_ok(m, s, big, 2, 9),\n"
                   "    (int)edgeq_requant_bounded_ok(m, s, edge, 2, 9), (int)edgeq_requant_bounded_ok(m, bad_s, small, 2, 9),\n"
                   "    (int)edgeq_requant_bounded_ok(mmin, s, small, 2, 9));\n"
                   "  return 0;\n}\n")
    exe = tmp_path / "ok"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-DEDGEQ_EMULATE_DSP",
                    f"-I{repo / 'firmware' / 'cmsis_nn' / 'edgeq'}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "1", "0", "1", "0", "0"]


def test_depthwise_prepared_blocks_cover_the_routes(dsp_models):
    """The depthwise family exercises the generation-time 3x3 blocks (edgeq/codegen/dw_packed.py)
    where they apply (3x3, dilation 1, depth multiplier 1, channels a multiple of 4: stride 1 and
    2, both paddings) and not elsewhere (channel tails, 5x5, dilation, depth multiplier 2), with
    blocks on both requantizations (a positive shift, a bias past the bound) and shifts of both
    signs; and the words of each block are its filter, bias and constants as the kernel reads them."""
    from edgeq.codegen.dw_packed import WORDS_PER_BLOCK
    from edgeq.codegen.lower import lower
    from edgeq.graph import load_graph

    g = load_graph(dsp_models["depthwise"], check_supported=True)
    low = lower(g, "m", variant="dsp")
    data = {d.symbol: d.values for d in low.data}
    packed, plain, general, bounded, shifts = 0, 0, 0, 0, []
    for c in low.calls:
        if c.kind != "dwconv":
            continue
        a = c.args
        if not a["dw3x3"]:
            plain += 1
            assert (a["k_h"], a["k_w"], a["dil_h"], a["ch_mult"], a["out_c"] % 4) != (3, 3, 1, 1, 0) or a["pad_w"] > 2
            continue
        packed += 1
        words = np.array(data[a["dw3x3"]], np.int64)
        assert words.size == a["out_c"] // 4 * WORDS_PER_BLOCK
        w = np.asarray(g.tensors[g.operators[c.index].inputs[1]].data, np.int64).reshape(9, -1)
        mult, shift = data[a["mult"]], data[a["shift"]]
        shifts += list(shift)
        bias = np.zeros(a["out_c"], np.int64) if a["bias"] is None else np.array(data[a["bias"]], np.int64)
        for b, blk in enumerate(words.reshape(-1, WORDS_PER_BLOCK)):
            f = 1 if blk[24] == 0 else 2  # bounded blocks hold doubled taps and biases
            lo = (((blk[:18] & 0xFFFF) ^ 0x8000) - 0x8000) // f
            hi = (blk[:18] >> 16) // f
            assert (blk[18:22] == f * bias[4 * b:4 * b + 4]).all()
            assert (lo[0::2] == w[:, 4 * b]).all() and (hi[0::2] == w[:, 4 * b + 2]).all()
            assert (lo[1::2] == w[:, 4 * b + 1]).all() and (hi[1::2] == w[:, 4 * b + 3]).all()
            rq = blk[22:].reshape(4, 3)
            assert list(rq[:, 0]) == list(mult[4 * b:4 * b + 4])
            if rq[0, 2] == 0:
                general += 1
                assert list(rq[:, 1]) == list(shift[4 * b:4 * b + 4])
            else:
                bounded += 1
                assert list(rq[:, 2]) == [-s for s in shift[4 * b:4 * b + 4]]
    assert packed >= 4 and plain >= 6
    assert general >= 2 and bounded >= 4
    assert min(shifts) < 0 < max(shifts)
