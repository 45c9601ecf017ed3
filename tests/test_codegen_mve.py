"""The Helium (MVE) kernels of the Cortex-M55 (firmware/cmsis_nn/edgeq/edgeq_mve_*.c) against
TFLM, byte for byte: on the host with the MVE intrinsics emulated in C (-DEDGEQ_EMULATE_MVE,
edgeq_mve.h) for the op families, shapes chosen for the MVE blocking edges and the MLPerf Tiny
models; and on the virtual Cortex-M55 (qemu-mps3-an547, where QEMU executes the real MVE
instructions) for a model that reaches every MVE kernel.
"""

from __future__ import annotations

import hashlib
import inspect
import os

import numpy as np
import pytest

from _codegen_harness import HostBuilder, assert_bit_exact, convert_keras, qemu_run, random_inputs, tflm_run_many
from conftest import require_tool
from test_codegen_ops import family_models, family_results, host_builder  # noqa: F401  (shared fixtures)

MVE_DEFINES = ("EDGEQ_EMULATE_DSP", "EDGEQ_EMULATE_MVE")  # the M55 has the DSP extension too


def _u(lo, hi, shape):
    return lambda rng: [rng.uniform(lo, hi, shape).astype(np.float32)]


def _model_tflite(request, build, seed: int) -> bytes:
    """The int8 .tflite of `build` (a model function above: keras model, data, io), converted with
    Keras seeded by `seed` and cached in pytest's cache under the function's name and a hash of its
    source and the TensorFlow version (a conversion takes seconds; the source changes the model)."""
    import tensorflow as tf

    src = inspect.getsource(build)
    key = hashlib.sha256(f"{tf.__version__}\n{src}".encode()).hexdigest()[:16]
    path = request.config.cache.mkdir("edgeq_codegen_mve") / f"{build.__name__}-{key}.tflite"
    if not path.exists():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        keras.utils.set_random_seed(seed)
        model, data_fn, io = build()
        path.write_bytes(convert_keras(model, data_fn, io))
    return path.read_bytes()


def mve_edges():
    """Shapes at the MVE kernels' edges: depthwise channel counts that leave a predicated tail of
    the 8-lane blocks (19 = 8 + 8 + 3; 5 < 8), padding / stride / dilation; im2col columns that
    are not multiples of 16 (3x3x19 = 171) with padded taps; 1x1 depths with a 16-byte tail
    (19), output channel counts that leave 1 or 2 of a 3-channel group (19, 7, 131 > the
    128-channel correction chunk), odd pixel counts (7x5), strided 1x1; fully connected with
    one and with several batches (a 3-D input keeps its rows), units not a multiple of 3;
    elementwise ADD of 7x5x19 = 665 elements (a predicated 4-lane tail), plain and with a fused
    RELU; average pooling with padded windows and a whole-input window (19 channels: a 3-channel
    tail of the 4-lane blocks)."""
    import keras
    from keras import layers as L
    x = keras.Input((7, 5, 19), batch_size=1)
    small = L.Conv2D(5, 1)(x)
    outs = [
        L.DepthwiseConv2D(3, padding="same", activation="relu")(x),
        L.DepthwiseConv2D(3, strides=2, padding="valid")(x),
        L.DepthwiseConv2D((3, 2), dilation_rate=2, padding="same")(x),
        L.DepthwiseConv2D(5, strides=(1, 2), padding="same", use_bias=False)(small),
        L.Conv2D(7, 3, padding="same", activation="relu")(x),
        L.Conv2D(8, 3, strides=2, padding="same")(x),
        L.Conv2D(4, (2, 3), dilation_rate=2, padding="same", use_bias=False)(x),
        L.Conv2D(131, 1)(x),
        L.Conv2D(19, 1, strides=2, activation="relu6")(x),
        L.Dense(10)(L.Flatten()(x)),
        L.Dense(6)(L.Reshape((35, 19))(x)),
        L.Add()([x, L.Conv2D(19, 1)(x)]),
        L.ReLU()(L.Add()([L.Conv2D(19, 1, use_bias=False)(x), x])),
        L.AveragePooling2D(3, strides=2, padding="same")(x),
        L.AveragePooling2D((7, 5))(x),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 7, 5, 19)), "int8"


def mve_small_depth():
    """Shapes of the small-depth matrix path (receptive fields or 1x1 depths of at most 48 bytes
    held in registers: 1, 2 or 3 vectors): first-layer convolutions on 3- and 1-channel input
    (3x3x3 = 27 taps, stride 2, padded borders; 10x4x1 = 40 like KWS; 3x3x5 = 45 with 15-byte
    kernel rows; a dilated one on the generic gather), 1x1 depths 3, 8, 16, 33 and 48 (predicated
    row loads, the last channels' weight loads stopping at the filter's end: out channels 1, 7,
    16, 131 > the 128-channel chunk), 1x1 depths 50 and 64 (one row in four vectors), shifts of either sign (a 1x1 after a tiny-range input),
    odd pixel counts."""
    import keras
    from keras import layers as L
    x = keras.Input((9, 7, 3), batch_size=1)
    one = L.Conv2D(1, 1)(x)
    five = L.Conv2D(5, 1)(x)
    eight = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    c33 = L.Conv2D(33, 1)(x)
    c48 = L.Conv2D(48, 1)(x)
    outs = [
        eight,
        L.Conv2D(7, 3, padding="same")(x),
        L.Conv2D(5, (10, 4), strides=(2, 2), padding="same")(one),
        L.Conv2D(131, 3, padding="valid")(five),
        L.Conv2D(4, 3, dilation_rate=2, padding="same")(x),
        L.Conv2D(1, 1)(x),
        L.Conv2D(16, 1, activation="relu")(eight),
        L.Conv2D(7, 1)(L.Conv2D(16, 1)(x)),
        L.Conv2D(131, 1)(c33),
        L.Conv2D(9, 1, strides=2)(c48),
        L.Conv2D(6, 1)(L.Multiply()([x, x])),
        L.Conv2D(131, 1)(L.Conv2D(64, 1)(x)),
        L.Conv2D(5, 1, activation="relu")(L.Conv2D(50, 1)(x)),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 9, 7, 3)), "int8"


def mve_quad():
    """Shapes of the four-pixel 1x1 route (edgeq_mve_1x1_quad: depth k <= 16, a multiple of four
    output channels, every shift negative): every depth 1..16 (the filter rows whose 16-byte
    weight loads would pass the filter's end, from the last row for k = 8 to the last 15 for
    k = 1, run on the padded stack copy; k = 16 needs none), 4 to 32 output channels and 132
    (a 4-channel second correction chunk, with a ReLU6 clamp), 35 pixels (8 steps and 3 left to
    the pixel-pair route), and for k = 11 a 2-pixel input (no step). 16 outputs: the host
    runner's limit."""
    import keras
    from keras import layers as L
    x = keras.Input((5, 7, 16), batch_size=1)
    outs = []
    for k in range(1, 17):
        src = L.AveragePooling2D(3)(x) if k == 11 else x
        feat = L.Conv2D(k, 1)(src)
        if k == 3:
            outs.append(L.Conv2D(132, 1, activation="relu6")(feat))
        else:
            outs.append(L.Conv2D(4 * (1 + k % 8), 1)(feat))
    return keras.Model(x, outs), _u(-1, 2, (1, 5, 7, 16)), "int8"


def mve_triple():
    """Shapes of the three-pixel 1x1 route (edgeq_mve_1x1_triple: depth 32, 64 or 128, a multiple
    of four output channels, every shift negative), for each depth: 35 pixels (11 steps and a pair
    left to the pixel-pair routes), 10 (3 steps, one pixel left to the single-row loop), 6 (steps
    only), 2 (no step); 4 to 128 output channels and 132 (a 4-channel second correction chunk,
    with a ReLU6 / ReLU clamp); 6, 10 and 14 channels (not a multiple of four: the other routes).
    15 outputs."""
    import keras
    from keras import layers as L
    x = keras.Input((5, 7, 16), batch_size=1)
    outs = []
    for k, (wide, few, odd) in ((32, (32, 4, 6)), (64, (64, 8, 10)), (128, (128, 12, 14))):
        feat = L.Conv2D(k, 1)(x)
        outs.append(L.Conv2D(wide, 1)(feat))
        act = {32: "relu6", 64: "relu", 128: None}[k]
        outs.append(L.Conv2D(132, 1, activation=act)(L.AveragePooling2D((1, 3))(feat)))
        outs.append(L.Conv2D(few, 1)(L.AveragePooling2D(2)(feat)))
        outs.append(L.Conv2D(odd, 1)(feat))
        outs.append(L.Conv2D(k // 4, 1)(L.AveragePooling2D(3)(feat)))
    return keras.Model(x, outs), _u(-1, 2, (1, 5, 7, 16)), "int8"


def mve_dw_rows():
    """Depthwise 3x3 layers on the row-buffer route (edgeq_mve_depthwise_rows.c: at least 16 output
    pixels a call): channel counts 21 (a 5-channel tail block), 8 (one block) and 3 (one partial
    block), stride 1 and 2, same and valid padding (odd and even input sizes: the last input
    column unread by a strided valid window), no bias, ReLU6 (a clamp narrower than int8) and none
    (the int8 range). The in-place planner runs the (2, 1)-strided and the tiny-range layers in
    one-row bands of 9 pixels: those take the per-pixel route (fewer than 16 pixels a call), next
    to the row route in the same model. (The quantizer gives every layer here right shifts; shifts
    of either sign go through the same edgeq_mve_requantize as the 1x1 and per-pixel routes, whose
    shapes have them.)"""
    import keras
    from keras import layers as L
    x = keras.Input((12, 9, 21), batch_size=1)
    eight = L.Conv2D(8, 1)(x)
    three = L.Conv2D(3, 1)(x)
    tiny = L.Rescaling(0.02)(x)
    outs = [
        L.DepthwiseConv2D(3, padding="same", activation="relu6")(x),
        L.DepthwiseConv2D(3, strides=2, padding="same")(x),
        L.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False)(x),
        L.DepthwiseConv2D(3, strides=(2, 1), padding="same", activation="relu")(eight),
        L.DepthwiseConv2D(3, padding="valid")(three),
        L.DepthwiseConv2D(3, padding="same")(tiny),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 12, 9, 21)), "int8"


def mve_dw_packed():
    """Depthwise 3x3 layers on the blocks prepared at generation time (edgeq/codegen/dw_mve.py,
    edgeq_mve_depthwise3_packed_s8): padded rows too wide for two blocks in the ring (70 columns:
    chunks of one block), chunks of six blocks of 64 channels (the second chunk starts at block 6:
    the 16-channel row copies past the first chunk), 40 channels (two 16-channel pairs and a last
    whole block copied alone), 19 (a 3-channel tail block), stride 1 and 2, same and valid padding,
    no bias, ReLU, and ReLU6 on weights of magnitude 1000 in half the channels (multipliers above 1:
    left shifts, the general requantization) next to ordinary ones."""
    import keras
    from keras import layers as L
    x = keras.Input((6, 70, 5), batch_size=1)
    c40 = L.Conv2D(40, 1)(x)
    narrow = L.AveragePooling2D((1, 4))(c40)  # 17 columns
    c64 = L.Conv2D(64, 1)(narrow)
    c19 = L.Conv2D(19, 1)(narrow)
    rng = np.random.default_rng(3)
    mag = np.array([1000.0] * 20 + [1.0] * 20, np.float32)
    big = (rng.uniform(-1, 1, (3, 3, 40, 1)) * mag[None, None, :, None]).astype(np.float32)
    outs = [
        L.DepthwiseConv2D(3, padding="same", activation="relu")(c40),
        L.DepthwiseConv2D(3, strides=2, padding="valid")(c40),
        L.DepthwiseConv2D(3, padding="same", activation="relu6",
                          depthwise_initializer=lambda shape, dtype=None: big.reshape(shape))(narrow),
        L.DepthwiseConv2D(3, padding="same")(c64),
        L.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False)(c64),
        L.DepthwiseConv2D(3, padding="same")(c19),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 6, 70, 5)), "int8"


def mve_dw_in_place():
    """Depthwise 3x3 layers run in place (each input dies at its layer) that edgeq_mve_depthwise3_packed_s8
    takes whole, in one call, where the in-place planner bands them (bottom band first): stride 2
    with ReLU on 2-row bands, and stride 1 on one-row bands over 24 channels (three blocks) followed
    by an unbanded valid stride-2 one; 40 channels after the first (five blocks, one of them a
    16-channel pair's half). Its 1x1 layers run in place too, banded by pixels both ways: those
    banded top first are one call of edgeq_convolve_1x1_s8_in_place (edgeq_in_place.h)."""
    import keras
    from keras import layers as L
    x = keras.Input((13, 6, 3), batch_size=1)
    a = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(L.Conv2D(24, 1)(x))
    a = L.DepthwiseConv2D(3, padding="same")(L.Conv2D(40, 1)(a))
    b = L.Conv2D(24, 1)(L.Conv2D(24, 1)(x))
    b = L.DepthwiseConv2D(3, strides=2, padding="valid")(L.DepthwiseConv2D(3, padding="same")(b))
    return keras.Model(x, [L.Conv2D(8, 1)(a), L.Conv2D(5, 1)(b)]), _u(-1, 2, (1, 13, 6, 3)), "int8"


@pytest.fixture(scope="module")
def mve_dw_in_place_tflite(request) -> bytes:
    return _model_tflite(request, mve_dw_in_place, 21)


def mve_dw_dot():
    """Depthwise 3x3 layers of the dot-product route (edgeq_mve_depthwise3_packed_s8 with 16+
    output columns, stride 1 or 2, every shift negative, the ring within 3 KB): 33 columns (eight
    groups of four and a one-pixel tail) with ReLU, stride 2 (17 columns), valid padding on 19
    channels (31 columns: a three-pixel tail; a 3-channel tail in the row copy and the last block),
    stride (2, 1) with ReLU6, and a chain run in place."""
    import keras
    from keras import layers as L
    x = keras.Input((9, 33, 4), batch_size=1)
    c12 = L.Conv2D(12, 1)(x)
    c19 = L.Conv2D(19, 1)(x)
    chain = L.DepthwiseConv2D(3, padding="same")(L.Conv2D(16, 1)(L.Conv2D(8, 1)(x)))
    outs = [
        L.DepthwiseConv2D(3, padding="same", activation="relu")(c12),
        L.DepthwiseConv2D(3, strides=2, padding="same")(c12),
        L.DepthwiseConv2D(3, padding="valid")(c19),
        L.DepthwiseConv2D(3, strides=(2, 1), padding="same", activation="relu6")(c19),
        L.Conv2D(5, 1)(chain),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 9, 33, 4)), "int8"


@pytest.fixture(scope="module")
def mve_dw_dot_tflite(request) -> bytes:
    return _model_tflite(request, mve_dw_dot, 24)


def mve_dw_pairs():
    """Depthwise 3x3 layers of the stride-1 pixel pairs (edgeq_mve_dw3_window2) and the requantization
    without the fix-up of negative halves (edgeq_mve_dw3_floored: an activation floor at or above the
    output offset): 13 channels (a 5-channel tail block), rows of 5 (two pairs and a single), 3 (a pair
    and a single) and 1 pixel (the single alone) with ReLU (floored) and none (the int8 range above
    the offset: the fix-up), and dot-route rows of 18 (a two-pixel tail: both windows of one load)
    with ReLU6, stride 2 without activation and valid padding with ReLU (16 columns)."""
    import keras
    from keras import layers as L
    x = keras.Input((5, 36, 6), batch_size=1)
    c13 = L.Conv2D(13, 1)(x)
    w5 = L.AveragePooling2D((1, 7))(c13)
    w3 = L.AveragePooling2D((1, 12))(c13)
    w18 = L.AveragePooling2D((1, 2))(c13)
    outs = [
        L.DepthwiseConv2D(3, padding="same", activation="relu")(w5),
        L.DepthwiseConv2D(3, padding="same")(w5),
        L.DepthwiseConv2D(3, padding="same", activation="relu")(w3),
        L.DepthwiseConv2D(3, padding="valid")(w3),
        L.DepthwiseConv2D(3, padding="same", activation="relu6")(w18),
        L.DepthwiseConv2D(3, strides=2, padding="same")(c13),
        L.DepthwiseConv2D(3, padding="valid", activation="relu")(w18),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 5, 36, 6)), "int8"


@pytest.fixture(scope="module")
def mve_dw_pairs_tflite(request) -> bytes:
    return _model_tflite(request, mve_dw_pairs, 27)


def mve_matrix_blocks():
    """Shapes of the asm 2-row x 4-channel group loop (depths 32, 64 and 128: fully connected of
    depth 32 with 7 units (a 3-unit tail), 1x1 of depth 128 with 9 channels (a 1-channel tail);
    the 1x1 pixel-pair loop over it: depth 128 with 12 channels (ReLU), depth 64 with 128 (the
    first chunk of 131) and 8 on an odd pixel count (9x7); the one-row loop: depth 80 with 6
    channels on 9x7, its last pixel alone) and the 2-row x 3-channel one (other
    depths that are multiples of 16, at least 32: 1x1 of depth 64, 80 and 128 with 131 channels (past the 128-channel chunk, whose last 3 are one
    group), 2 (no whole group), 4, 5 and 7 (a 1- or 2-channel tail), a strided 1x1, a 3x3 im2col
    convolution of depth 144, fully connected layers of 36 batches of depth 32 and 24 of depth
    48) and of the row-vector first-layer route (kernel rows of at most 16 bytes, 1-3 of them: 3x3 on 3 channels with stride 2 and same padding, 2x3 valid, 1x5 with
    stride (1, 2), 3x4 on 4 channels = 16-byte rows, 5 and 6 output channels (a requantization
    tail), a padding wider on one side). Clamped activations (ReLU, ReLU6). (The quantizer gives
    every layer here right shifts; left shifts reach the same requantization code through
    mve_small_depth's 1x1 after a product.)"""
    import keras
    from keras import layers as L
    x = keras.Input((9, 8, 3), batch_size=1)
    d16 = L.Conv2D(16, 1)(x)
    d64 = L.Conv2D(64, 1, activation="relu")(x)
    d80 = L.Conv2D(80, 1)(x)
    d128 = L.Conv2D(128, 1)(d16)
    wide = L.Rescaling(40.0)(L.Conv2D(64, 1)(x))
    tiny = L.Rescaling(0.01)(d64)
    four = L.Conv2D(4, 1)(x)
    d32 = L.Conv2D(32, 1)(x)
    outs = [
        L.Conv2D(131, 1)(d64),
        L.Conv2D(2, 1)(d64),
        L.Conv2D(4, 1, activation="relu6")(d80),
        L.Conv2D(5, 1)(d128),
        L.Conv2D(7, 1, strides=2)(d64),
        L.Conv2D(9, 1)(wide),
        L.Conv2D(6, 1)(tiny),
        L.Conv2D(10, 3, padding="same", activation="relu")(d16),
        L.Dense(7)(L.Reshape((36, 32))(d16)),
        L.Dense(5, use_bias=False)(L.Reshape((24, 48))(d16)),
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x),
        L.Conv2D(5, (2, 3), padding="valid")(x),
        L.Conv2D(6, (1, 5), strides=(1, 2), padding="same")(x),
        L.Conv2D(4, (3, 4), padding="same")(four),
        L.Conv2D(12, 3, strides=(2, 1), padding="valid")(x),
        # one output for the last six (the host runner takes at most 16); the last two on 63
        # pixels (the pixel-pair loops' odd last pixel)
        L.Concatenate()([L.Flatten()(L.Concatenate()([
            L.Conv2D(11, 1, activation="relu6")(d32), L.Conv2D(9, 1)(d128), L.Conv2D(4, 1)(d32),
            L.Conv2D(12, 1, activation="relu")(d128)])),
            L.Flatten()(L.Conv2D(8, 1)(L.Cropping2D(((0, 0), (0, 1)))(d64))),
            L.Flatten()(L.Conv2D(6, 1)(L.Cropping2D(((0, 0), (0, 1)))(d80)))]),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 9, 8, 3)), "int8"


def mve_fields():
    """First-layer convolutions of the row-vector route's field triples (kernel rows of 8-10 bytes,
    whole groups of four channels, at most 16: edgeq_mve_convolve_fields): 3x3 on 3 channels with
    padding on every side (a left border pixel flushed alone before the direct triples, 11
    interior columns of 13: two leftovers), VWW's stride 2 with the padding right and bottom only,
    valid stride 2 (no border), stride (1, 2) on 16 channels with ReLU6, kernel rows of 8 bytes
    ((3, 4) on 2 channels, padding 1 left and 2 right) and 10 bytes ((3, 5), strided and valid);
    20 and 6 channels keep the row-vector loop next to them."""
    import keras
    from keras import layers as L
    x = keras.Input((11, 13, 3), batch_size=1)
    two = L.Conv2D(2, 1)(x)
    outs = [
        L.Conv2D(12, 3, padding="same", activation="relu")(x),
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x),
        L.Conv2D(4, 3, strides=2, padding="valid")(x),
        L.Conv2D(16, 3, strides=(1, 2), padding="same", activation="relu6")(x),
        L.Conv2D(20, 3, padding="same")(x),
        L.Conv2D(6, 3, padding="valid")(x),
        L.Conv2D(8, (3, 4), padding="same")(two),
        L.Conv2D(4, (3, 5), strides=2, padding="same")(two),
        L.Conv2D(8, (3, 5), padding="valid")(two),
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 11, 13, 3)), "int8"


@pytest.fixture(scope="module")
def mve_fields_tflite(request) -> bytes:
    return _model_tflite(request, mve_fields, 26)


@pytest.fixture(scope="module")
def mve_matrix_blocks_tflite(request) -> bytes:
    return _model_tflite(request, mve_matrix_blocks, 18)


@pytest.fixture(scope="module")
def mve_dw_rows_tflite(request) -> bytes:
    return _model_tflite(request, mve_dw_rows, 15)


@pytest.fixture(scope="module")
def mve_dw_packed_tflite(request) -> bytes:
    return _model_tflite(request, mve_dw_packed, 18)


@pytest.fixture(scope="module")
def mve_quad_tflite(request) -> bytes:
    return _model_tflite(request, mve_quad, 21)


@pytest.fixture(scope="module")
def mve_triple_tflite(request) -> bytes:
    return _model_tflite(request, mve_triple, 23)


@pytest.fixture(scope="module")
def mve_small_depth_tflite(request) -> bytes:
    return _model_tflite(request, mve_small_depth, 12)


@pytest.fixture(scope="module")
def mve_edges_tflite(request) -> bytes:
    return _model_tflite(request, mve_edges, 11)


@pytest.fixture(scope="module")
def builder_mve(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("codegen_mve"), defines=MVE_DEFINES)


def _bit_exact_on_host(tflite: bytes, builder: HostBuilder, name: str, label: str, n: int, seed: int) -> None:
    """`n` random inputs through the MVE-emulated host build of `tflite`, byte for byte against TFLM."""
    from edgeq.graph import load_graph

    require_tool("gcc")
    g = load_graph(tflite)
    inputs = random_inputs(g, n, seed=seed)
    ref = tflm_run_many([(tflite, inputs, len(g.outputs))])[0]
    assert_bit_exact(label, builder.build(tflite, name=name).run(inputs), ref)


def _bit_exact_on_cortex_m55(tflite: bytes, tmp_path, name: str, label: str, n: int, seed: int) -> None:
    """`n` random inputs through `tflite`'s firmware on the virtual Cortex-M55 (QEMU executes the real
    MVE instructions), byte for byte against TFLM."""
    from edgeq.graph import load_graph

    g = load_graph(tflite)
    inputs = random_inputs(g, n, seed=seed)
    ref = tflm_run_many([(tflite, inputs, len(g.outputs))])[0]
    assert_bit_exact(label, qemu_run(tflite, inputs, tmp_path, board="qemu-mps3-an547", name=name), ref)


def test_mve_emulation_selects_the_mve_path(builder_mve):
    """The emulated build really compiles the MVE kernels (not an empty translation unit)."""
    import subprocess

    lib = builder_mve.kernel_lib()
    syms = subprocess.run(["nm", str(lib)], capture_output=True, text=True, check=True).stdout
    for fn in ("edgeq_mve_fully_connected_s8", "edgeq_mve_convolve_1x1_s8", "edgeq_mve_convolve_s8",
               "edgeq_mve_depthwise_conv_s8", "edgeq_mve_depthwise3_rows_s8", "edgeq_mve_depthwise3_packed_s8",
               "edgeq_mve_add_s8",
               "edgeq_mve_avgpool_s8"):
        assert f" T {fn}" in syms, fn


@pytest.mark.toolchain
def test_mve_edges_bit_exact_on_host(mve_edges_tflite, builder_mve):
    from edgeq.graph import load_graph

    require_tool("gcc")
    g = load_graph(mve_edges_tflite)
    ops = {op.opcode for op in g.operators}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D"} <= ops
    inputs = random_inputs(g, 16, seed=9)
    ref = tflm_run_many([(mve_edges_tflite, inputs, len(g.outputs))])[0]
    assert_bit_exact("mve edges (MVE path)", builder_mve.build(mve_edges_tflite, name="mve_edges").run(inputs), ref)


@pytest.mark.toolchain
def test_mve_triple_bit_exact_on_host(mve_triple_tflite, builder_mve):
    _bit_exact_on_host(mve_triple_tflite, builder_mve, "mve_triple", "mve triple (MVE path)", 16, 23)


@pytest.mark.toolchain
def test_mve_quad_bit_exact_on_host(mve_quad_tflite, builder_mve):
    _bit_exact_on_host(mve_quad_tflite, builder_mve, "mve_quad", "mve quad (MVE path)", 16, 21)


@pytest.mark.toolchain
def test_mve_small_depth_bit_exact_on_host(mve_small_depth_tflite, builder_mve):
    _bit_exact_on_host(mve_small_depth_tflite, builder_mve, "mve_small_depth", "mve small depth (MVE path)", 16, 13)


@pytest.mark.toolchain
def test_mve_dw_rows_bit_exact_on_host(mve_dw_rows_tflite, builder_mve):
    _bit_exact_on_host(mve_dw_rows_tflite, builder_mve, "mve_dw_rows", "mve depthwise rows (MVE path)", 16, 16)


def test_mve_dw_packed_blocks_layout(mve_dw_packed_tflite):
    """Every 3x3 depthwise layer of the model takes the Helium blocks, shifts of both signs occur,
    and the words of each block are its taps ([tap][8] bytes), the correction bias + input offset x
    the taps' sum (modulo 2^32) and the requantization vectors, even channels before odd ones."""
    from edgeq.codegen.dw_mve import WORDS_PER_BLOCK
    from edgeq.codegen.lower import lower
    from edgeq.graph import load_graph

    g = load_graph(mve_dw_packed_tflite, check_supported=True)
    low = lower(g, "m")
    data = {d.symbol: d.values for d in low.data}
    shifts, n = [], 0
    for c in low.calls:
        if c.kind != "dwconv":
            continue
        a = c.args
        assert a["dw3mve"], c.index
        n += 1
        words = np.array(data[a["dw3mve"]["blocks"]], np.int64).reshape(-1, WORDS_PER_BLOCK)
        ch = a["out_c"]
        assert len(words) == -(-ch // 8)
        w = np.asarray(g.tensors[g.operators[c.index].inputs[1]].data, np.int64).reshape(9, -1)
        bias = np.zeros(ch, np.int64) if a["bias"] is None else np.array(data[a["bias"]], np.int64)
        mult, shift = np.array(data[a["mult"]], np.int64), np.array(data[a["shift"]], np.int64)
        shifts += list(shift)
        assert a["dw3mve"]["simple"] == int((shift < 0).all())
        for b, blk in enumerate(words):
            chans = np.arange(b * 8, b * 8 + 8)
            real = chans < ch
            taps = np.frombuffer(blk[:18].astype("<u4").tobytes(), np.int8).reshape(9, 8).astype(np.int64)
            assert (taps[:, real] == w[:, chans[real]]).all() and (taps[:, ~real] == 0).all()
            order = np.concatenate([chans[0::2], chans[1::2]])
            ok = order < ch
            corr = (bias[order[ok]] + a["input_offset"] * w[:, order[ok]].sum(axis=0) + 2**31) % 2**32 - 2**31
            prm = blk[18:].reshape(4, 8)
            assert (prm[0][ok] == corr).all() and (prm[1][ok] == mult[order[ok]]).all()
            assert (prm[2][ok] == np.maximum(shift[order[ok]], 0)).all()
            assert (prm[3][ok] == np.minimum(shift[order[ok]], 0)).all()
            assert (prm[:, ~ok] == 0).all()
    assert n == 6 and min(shifts) < 0 < max(shifts)


def test_data_bytes_counts_the_largest_alternative():
    """The original arrays of a layer and their replacements for the DSP and the Helium cores are
    alternatives: the model's data size counts the largest of them once."""
    from edgeq.codegen.lower import DataArray, Lowered

    data = [DataArray("w", "int8_t", [0] * 100), DataArray("dsp", "int32_t", [0] * 40, replaces=("w",)),
            DataArray("mve", "int32_t", [0] * 30, replaces=("w",)), DataArray("other", "int8_t", [0] * 7)]
    low = Lowered.__new__(Lowered)
    low.data = data
    assert low.data_bytes == 160 + 7


@pytest.mark.toolchain
def test_mve_dw_packed_bit_exact_on_host(mve_dw_packed_tflite, builder_mve):
    _bit_exact_on_host(mve_dw_packed_tflite, builder_mve, "mve_dw_packed", "mve depthwise packed (MVE path)", 12, 19)


def test_mve_dw_in_place_whole_layer_calls(mve_dw_in_place_tflite, tmp_path):
    """The banded depthwise layers of mve_dw_in_place get one whole-layer Helium call each (in_place
    1: top row first, 2: bottom row first, as their bands; the planner picks both here), the
    per-band loop staying for the other cores."""
    from edgeq.codegen import generate

    src = tmp_path / "m.tflite"
    src.write_bytes(mve_dw_in_place_tflite)
    gen = generate(src, tmp_path / "gen", name="m", kernels="edgeq")
    code = (gen.out_dir / "m.c").read_text()
    calls = [ln.rstrip() for ln in code.splitlines() if "edgeq_mve_depthwise3_packed_s8(" in ln]
    top, bottom = (sum(ln.endswith(f", {k});") for ln in calls) for k in (1, 2))
    assert len(calls) == 4 and top >= 1 and bottom >= 1 and top + bottom == 4, calls


def test_1x1_in_place_one_call(mve_dw_in_place_tflite, tmp_path):
    """mve_dw_in_place's pixel-banded 1x1 layers: those banded top first become one call of
    edgeq_convolve_1x1_s8_in_place (whole on the routes that walk the pixels in order, Helium's
    among them), the band loop kept for upstream CMSIS-NN; those banded bottom first keep their
    bands everywhere. The bit-exact tests of this model (host emulation, Cortex-M55) run both."""
    import re

    from edgeq.codegen import generate

    src = tmp_path / "m.tflite"
    src.write_bytes(mve_dw_in_place_tflite)
    code = (generate(src, tmp_path / "gen", name="m", kernels="edgeq").out_dir / "m.c").read_text()
    layers = [blk for blk in code.split("EDGEQ_POISON_STEP(")[1:] if "output pixels" in blk]
    one_call = ["edgeq_convolve_1x1_s8_in_place(" in blk for blk in layers]
    top_first = [bool(re.search(r"output pixels, top band first", blk)) for blk in layers]
    assert one_call == top_first and any(top_first) and not all(top_first), (one_call, top_first)


@pytest.mark.toolchain
def test_mve_dw_in_place_bit_exact_on_host(mve_dw_in_place_tflite, builder_mve):
    _bit_exact_on_host(mve_dw_in_place_tflite, builder_mve, "mve_dw_in_place", "mve depthwise in place (MVE path)", 12, 22)


def test_mve_dw_dot_layers_take_the_dot_route(mve_dw_dot_tflite):
    """Every depthwise layer of mve_dw_dot meets edgeq_mve_dw3d_ok (mirrored here): Helium blocks,
    every shift negative, stride 1 or 2, 16+ output columns, channels x ((3 wp + 16) rounded up
    to 4) within the 3072-byte ring; both strides occur."""
    from edgeq.codegen.lower import lower
    from edgeq.graph import load_graph

    low = lower(load_graph(mve_dw_dot_tflite, check_supported=True), "m")
    strides = set()
    for c in low.calls:
        if c.kind != "dwconv":
            continue
        a = c.args
        wp = (a["out_w"] - 1) * a["stride_w"] + 3
        assert a["dw3mve"] and a["dw3mve"]["simple"], c.index
        assert a["stride_w"] in (1, 2) and a["out_w"] >= 16 and a["out_c"] * ((3 * wp + 19) & ~3) <= 3072, c.index
        strides.add(a["stride_w"])
    assert strides == {1, 2}


@pytest.mark.toolchain
def test_mve_dw_dot_bit_exact_on_host(mve_dw_dot_tflite, builder_mve):
    from edgeq.graph import load_graph

    require_tool("gcc")
    g = load_graph(mve_dw_dot_tflite)
    inputs = random_inputs(g, 12, seed=25)
    ref = tflm_run_many([(mve_dw_dot_tflite, inputs, len(g.outputs))])[0]
    assert_bit_exact("mve depthwise dot (MVE path)", builder_mve.build(mve_dw_dot_tflite, name="mve_dw_dot").run(inputs),
                     ref)


@pytest.mark.toolchain
def test_mve_dw_pairs_bit_exact_on_host(mve_dw_pairs_tflite, builder_mve):
    _bit_exact_on_host(mve_dw_pairs_tflite, builder_mve, "mve_dw_pairs", "mve depthwise pairs (MVE path)", 12, 28)


@pytest.mark.toolchain
def test_mve_matrix_blocks_bit_exact_on_host(mve_matrix_blocks_tflite, builder_mve):
    _bit_exact_on_host(mve_matrix_blocks_tflite, builder_mve, "mve_matrix_blocks", "mve matrix blocks (MVE path)", 16, 19)


@pytest.mark.toolchain
def test_mve_fields_bit_exact_on_host(mve_fields_tflite, builder_mve):
    _bit_exact_on_host(mve_fields_tflite, builder_mve, "mve_fields", "mve fields (MVE path)", 16, 27)


@pytest.mark.toolchain
def test_mve_code_path_families_bit_exact_on_host(family_results, family_models, builder_mve):  # noqa: F811
    """Every op family of tests/test_codegen_ops.py through the emulated MVE path."""
    from concurrent.futures import ThreadPoolExecutor

    names = sorted(family_models)
    with ThreadPoolExecutor(max_workers=2) as ex:
        built = dict(zip(names, ex.map(lambda n: builder_mve.build(family_models[n], name=f"m_{n}"), names)))
    for n in names:
        _, inputs, _, ref = family_results[n]
        if isinstance(ref, Exception):
            continue
        assert_bit_exact(f"{n} (MVE path)", built[n].run(inputs), ref)


@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("arch", ["kws", pytest.param("vww", marks=pytest.mark.long), "resnet8", "autoencoder"])
def test_mlperf_tiny_mve_path_bit_exact(arch, mlperf_tflite, builder_mve):
    require_tool("gcc")
    buf = mlperf_tflite(arch).read_bytes()
    host = builder_mve.build(buf, name=arch)
    inputs = random_inputs(host.graph, 12, seed=6)
    ref = tflm_run_many([(buf, inputs, len(host.graph.outputs))])[0]
    assert_bit_exact(f"{arch} (MVE path)", host.run(inputs), ref)


@pytest.mark.emulator
def test_mve_edges_bit_exact_on_cortex_m55(mve_edges_tflite, tmp_path):
    """The real MVE instructions (QEMU 7.2 implements MVE) on the virtual Cortex-M55."""
    _bit_exact_on_cortex_m55(mve_edges_tflite, tmp_path, "mve_edges", "mve edges (Cortex-M55)", 3, 10)


@pytest.mark.emulator
def test_mve_triple_bit_exact_on_cortex_m55(mve_triple_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_triple_tflite, tmp_path, "mve_triple", "mve triple (Cortex-M55)", 3, 24)


@pytest.mark.emulator
def test_mve_quad_bit_exact_on_cortex_m55(mve_quad_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_quad_tflite, tmp_path, "mve_quad", "mve quad (Cortex-M55)", 3, 22)


@pytest.mark.emulator
def test_mve_small_depth_bit_exact_on_cortex_m55(mve_small_depth_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_small_depth_tflite, tmp_path, "mve_small_depth", "mve small depth (Cortex-M55)", 3, 14)


@pytest.mark.emulator
def test_mve_dw_rows_bit_exact_on_cortex_m55(mve_dw_rows_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_dw_rows_tflite, tmp_path, "mve_dw_rows", "mve depthwise rows (Cortex-M55)", 3, 17)


@pytest.mark.emulator
def test_mve_dw_packed_bit_exact_on_cortex_m55(mve_dw_packed_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_dw_packed_tflite, tmp_path, "mve_dw_packed", "mve depthwise packed (Cortex-M55)", 3, 20)


@pytest.mark.emulator
def test_mve_dw_in_place_bit_exact_on_cortex_m55(mve_dw_in_place_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_dw_in_place_tflite, tmp_path, "mve_dw_in_place", "mve depthwise in place (Cortex-M55)", 3, 23)


@pytest.mark.emulator
def test_mve_dw_dot_bit_exact_on_cortex_m55(mve_dw_dot_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_dw_dot_tflite, tmp_path, "mve_dw_dot", "mve depthwise dot (Cortex-M55)", 3, 26)


@pytest.mark.emulator
def test_mve_dw_pairs_bit_exact_on_cortex_m55(mve_dw_pairs_tflite, tmp_path):
    _bit_exact_on_cortex_m55(mve_dw_pairs_tflite, tmp_path, "mve_dw_pairs", "mve depthwise pairs (Cortex-M55)", 3, 29)


@pytest.mark.emulator
def test_mve_matrix_blocks_bit_exact_on_cortex_m55(mve_matrix_blocks_tflite, tmp_path):
    """The asm group loop and the row-vector route run only on the device (the host runs their C twins)."""
    _bit_exact_on_cortex_m55(mve_matrix_blocks_tflite, tmp_path, "mve_matrix_blocks", "mve matrix blocks (Cortex-M55)", 3, 20)


@pytest.mark.emulator
def test_mve_fields_bit_exact_on_cortex_m55(mve_fields_tflite, tmp_path):
    """The field triples' asm (VPSTE loads, the 2-channel dot loop) runs only on the device."""
    _bit_exact_on_cortex_m55(mve_fields_tflite, tmp_path, "mve_fields", "mve fields (Cortex-M55)", 3, 28)
