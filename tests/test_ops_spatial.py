"""Spatial ops, bit-exact with TFLM: TRANSPOSE_CONV (int8 and 16x8), RESIZE_NEAREST_NEIGHBOR and
RESIZE_BILINEAR (int8; nearest also 16x8 — TFLM has no int16 bilinear kernel; align_corners /
half_pixel_centers), grouped CONV_2D (int8 on
the portable and the DSP code path, and 16x8), and a small U-Net on the virtual Cortex-M4.

Same scheme as tests/test_codegen_ops.py: one Keras model per family, one branch per grid point.
"""

from __future__ import annotations

import hashlib
import inspect
import os

import pytest

from _codegen_harness import (HostBuilder, assert_bit_exact, convert_keras, random_inputs, tflm_run_many,
                              uniform_data as _u)

SAMPLES = 24


# ------------------------------------------------------------------------------------ families
# Each returns (keras.Model, representative data function, io type, precision).

def _tconv_branches(x):
    from keras import layers as L
    rb = dict(bias_initializer="random_normal")  # a zero bias is dropped by the converter
    return [
        L.Conv2DTranspose(4, 3, strides=2, padding="same", **rb)(x),
        L.Conv2DTranspose(5, 3, strides=2, padding="valid", **rb)(x),
        L.Conv2DTranspose(3, 2, strides=2, padding="same", use_bias=False)(x),
        L.Conv2DTranspose(6, 4, strides=2, padding="same", **rb)(x),
        L.Conv2DTranspose(3, 4, strides=2, padding="valid", use_bias=False)(x),
        L.Conv2DTranspose(5, 3, strides=1, padding="same", **rb)(x),
        L.Conv2DTranspose(2, 2, strides=1, padding="valid", **rb)(x),
        L.Conv2DTranspose(3, 4, strides=1, padding="same", use_bias=False)(x),
        L.Conv2DTranspose(5, (3, 2), strides=(2, 1), padding="same", **rb)(x),
        L.Conv2DTranspose(3, 3, strides=3, padding="same", **rb)(x),  # stride = kernel
        L.Conv2DTranspose(4, 2, strides=3, padding="valid", **rb)(x),  # kernel < stride: gaps
        L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=0, **rb)(x),  # odd output
    ]


def fam_tconv():
    import keras
    x = keras.Input((5, 7, 3), batch_size=1)
    return keras.Model(x, _tconv_branches(x)), _u(-1, 1, (5, 7, 3)), "int8", "int8"


def fam_tconv_pos():
    import keras
    x = keras.Input((4, 3, 5), batch_size=1)
    return keras.Model(x, _tconv_branches(x)), _u(0, 6, (4, 3, 5)), "int8", "int8"


def fam_tconv_16x8():
    import keras
    x = keras.Input((5, 7, 3), batch_size=1)
    return keras.Model(x, _tconv_branches(x)), _u(-1, 2, (5, 7, 3)), "int16", "int16x8"


def _resize_branches(x, bilinear=True):
    import tensorflow as tf
    from keras import layers as L
    v1 = tf.compat.v1.image
    if not bilinear:
        return [
            L.Resizing(9, 11, interpolation="nearest")(x),
            L.Resizing(3, 4, interpolation="nearest")(x),
            L.Lambda(lambda t: v1.resize_nearest_neighbor(t, (9, 11), align_corners=True))(x),
            L.Lambda(lambda t: v1.resize_nearest_neighbor(t, (8, 13)))(x),
        ]
    return [
        L.Resizing(9, 11, interpolation="nearest")(x),
        L.Resizing(9, 11, interpolation="bilinear")(x),
        L.Resizing(3, 4, interpolation="nearest")(x),  # downsampling
        L.Resizing(3, 4, interpolation="bilinear")(x),
        L.Resizing(10, 7, interpolation="bilinear")(x),  # one axis unchanged
        L.UpSampling2D(2, interpolation="bilinear")(x),
        L.UpSampling2D((3, 2), interpolation="bilinear")(x),
        L.Lambda(lambda t: v1.resize_bilinear(t, (9, 11), align_corners=True))(x),
        L.Lambda(lambda t: v1.resize_nearest_neighbor(t, (9, 11), align_corners=True))(x),
        L.Lambda(lambda t: v1.resize_bilinear(t, (8, 13)))(x),  # legacy: neither option
        L.Lambda(lambda t: v1.resize_nearest_neighbor(t, (8, 13)))(x),
        L.Lambda(lambda t: v1.resize_nearest_neighbor(t, (4, 3), align_corners=True))(x),
        L.Resizing(17, 23, interpolation="nearest")(x),  # non-integer factors
        L.Lambda(lambda t: v1.resize_nearest_neighbor(t, (17, 23), align_corners=True))(x),
        L.Lambda(lambda t: v1.resize_bilinear(t, (17, 23), align_corners=True))(x),
    ]


def fam_resize():
    import keras
    x = keras.Input((5, 7, 3), batch_size=1)
    return keras.Model(x, _resize_branches(x)), _u(-1, 1, (5, 7, 3)), "int8", "int8"


def fam_resize_neg():
    import keras
    x = keras.Input((6, 3, 5), batch_size=1)
    return keras.Model(x, _resize_branches(x)), _u(-3, -0.5, (6, 3, 5)), "int8", "int8"


def fam_resize_16x8():
    import keras
    x = keras.Input((5, 7, 3), batch_size=1)
    return keras.Model(x, _resize_branches(x, bilinear=False)), _u(-1, 1, (5, 7, 3)), "int16", "int16x8"


def _group_branches(x6, x9):
    from keras import layers as L
    return [
        L.Conv2D(6, 3, groups=2, padding="same")(x6),
        L.Conv2D(10, 3, groups=2, strides=2, padding="valid", activation="relu")(x6),  # 5 per group (odd)
        L.Conv2D(4, 1, groups=2)(x6),  # grouped 1x1
        L.Conv2D(6, 3, groups=3, dilation_rate=2, padding="same")(x6),
        L.Conv2D(9, (3, 2), groups=3, padding="same", use_bias=False)(x9),  # 3 channels per group
        L.Conv2D(6, 3, groups=3, strides=2, padding="same", activation="relu6")(x9),
        L.Conv2D(3, 2, groups=3, padding="valid")(x9),  # one output channel per group
    ]


def _group_model(lo, hi, io, precision):
    import keras
    from keras import layers as L
    x = keras.Input((7, 5, 9), batch_size=1)
    x6 = L.Conv2D(6, 1)(x)  # a 6-channel branch for groups of 2 x 3
    return keras.Model(x, _group_branches(x6, x)), _u(lo, hi, (7, 5, 9)), io, precision


def fam_group():
    return _group_model(-1, 1, "int8", "int8")


def fam_group_pos():
    return _group_model(0, 4, "int8", "int8")


def fam_group_16x8():
    return _group_model(-1, 1, "int16", "int16x8")


def unet():
    """A small U-Net: stride-2 Conv2D down, Conv2DTranspose up, Concatenate skips, a grouped
    Conv2D in the decoder, and Resizing bilinear / nearest branches merged at the end."""
    import keras
    from keras import layers as L
    x = keras.Input((12, 12, 3), batch_size=1)
    e1 = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    e2 = L.Conv2D(12, 3, strides=2, padding="same", activation="relu")(e1)  # 6x6
    b = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(e2)  # 3x3
    d2 = L.Conv2DTranspose(12, 3, strides=2, padding="same", bias_initializer="random_normal")(b)  # 6x6
    d2 = L.Concatenate()([d2, e2])
    d2 = L.Conv2D(12, 3, padding="same", groups=2, activation="relu")(d2)  # grouped
    d1 = L.Conv2DTranspose(8, 2, strides=2, padding="same", bias_initializer="random_normal")(d2)  # 12x12
    d1 = L.Concatenate()([d1, e1])
    up = L.Resizing(12, 12, interpolation="bilinear")(b)  # bilinear from the bottleneck
    near = L.Resizing(12, 12, interpolation="nearest")(e2)
    y = L.Concatenate()([d1, L.Conv2D(4, 1)(up), near])
    y = L.Conv2D(3, 3, padding="same")(y)
    return keras.Model(x, y), _u(-1, 1, (12, 12, 3)), "int8", "int8"


FAMILIES = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("fam_")}
FAMILIES["unet"] = unet

EXPECTED_OPS = {
    "tconv": {"TRANSPOSE_CONV"}, "tconv_pos": {"TRANSPOSE_CONV"}, "tconv_16x8": {"TRANSPOSE_CONV"},
    "resize": {"RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"},
    "resize_neg": {"RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"},
    "resize_16x8": {"RESIZE_NEAREST_NEIGHBOR"},
    "group": {"CONV_2D"}, "group_pos": {"CONV_2D"}, "group_16x8": {"CONV_2D"},
    "unet": {"CONV_2D", "TRANSPOSE_CONV", "CONCATENATION", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"},
}


# ------------------------------------------------------------------------------------ fixtures

def _family_key(name: str) -> str:
    import tensorflow as tf
    src = inspect.getsource(inspect.getmodule(_family_key))
    return hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def spatial_models(request) -> dict[str, bytes]:
    """name → .tflite bytes of every family (cached on disk across runs by source hash)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    cache = request.config.cache.mkdir("edgeq_ops_spatial")
    out = {}
    for name, fn in FAMILIES.items():
        path = cache / f"{name}-{_family_key(name)}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(7)
            model, data_fn, io, precision = fn()
            path.write_bytes(convert_keras(model, data_fn, io, precision=precision))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def spatial_host(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("spatial_host"))


@pytest.fixture(scope="session")
def spatial_results(spatial_models, spatial_host):
    """name → (graph, inputs, host model, TFLM outputs); TFLM runs every family in one child."""
    from concurrent.futures import ThreadPoolExecutor

    from edgeq.ops import registry

    # load the registry before the threads: registry() is not thread-safe (a second thread
    # sees it marked loaded while the first is still importing the modules)
    registry()
    names = sorted(spatial_models)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        built = dict(zip(names, ex.map(lambda n: spatial_host.build(spatial_models[n], name=f"s_{n}"), names)))
    inputs = {n: random_inputs(built[n].graph, SAMPLES, seed=len(n)) for n in names}
    ref = tflm_run_many([(spatial_models[n], inputs[n], len(built[n].graph.outputs)) for n in names])
    return {n: (built[n].graph, inputs[n], built[n], r) for n, r in zip(names, ref)}


# ------------------------------------------------------------------------------------ tests

@pytest.mark.toolchain
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_bit_exact(family, spatial_results):
    graph, inputs, host, ref = spatial_results[family]
    ops = {op.opcode for op in graph.operators}
    assert EXPECTED_OPS[family] <= ops, f"{family}: converter produced {sorted(ops)}"
    n = assert_bit_exact(family, host.run(inputs), ref)
    assert n >= SAMPLES * len(graph.outputs)


@pytest.mark.toolchain
def test_grid_covers_the_options(spatial_models):
    """The grids really hold what they claim: transpose convs with and without a bias operand,
    strides 1 and 2, both paddings; resizes with each of align_corners / half_pixel_centers /
    neither; grouped convs with 2 and 3 groups, incl. a grouped 1x1."""
    from edgeq.graph import load_graph

    g = load_graph(spatial_models["tconv"])
    tc = [op for op in g.operators if op.opcode == "TRANSPOSE_CONV"]
    assert {len([i for i in op.inputs if i >= 0]) for op in tc} == {3, 4}
    assert {op.options["padding"] for op in tc} == {"SAME", "VALID"}
    assert {op.options["stride_h"] for op in tc} == {1, 2, 3} and any(op.options["stride_w"] == 1 for op in tc
                                                                    if op.options["stride_h"] == 2)
    g = load_graph(spatial_models["resize"])
    for code in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        modes = {(op.options["align_corners"], op.options["half_pixel_centers"]) for op in g.operators
                 if op.opcode == code}
        assert modes == {(True, False), (False, True), (False, False)}, (code, modes)
    g = load_graph(spatial_models["group"])
    groups = {(g.tensors[op.inputs[0]].shape[3] // g.tensors[op.inputs[1]].shape[3],
               g.tensors[op.inputs[1]].shape[1] * g.tensors[op.inputs[1]].shape[2])
              for op in g.operators if op.opcode == "CONV_2D"}
    assert {(2, 9), (3, 9), (2, 1)} <= groups, groups


@pytest.mark.toolchain
def test_grouped_conv_dsp_path_bit_exact(spatial_models, spatial_results, tmp_path_factory):
    """The grouped int8 conv on the kernels' DSP code path (im2col of each group's channel
    slice, SMLAD), emulated on the host: the same bytes as TFLM."""
    host = HostBuilder(tmp_path_factory.mktemp("spatial_dsp"), defines=("EDGEQ_EMULATE_DSP",))
    for n in ("group", "tconv"):
        _, inputs, _, ref = spatial_results[n]
        assert_bit_exact(f"{n} (DSP path)", host.build(spatial_models[n], name=f"d_{n}").run(inputs), ref)


@pytest.mark.toolchain
def test_spatial_reference_helpers():
    """edgeq's offline index math against the closed forms it must reduce to."""
    from edgeq.ops.spatial import nearest_map, transpose_conv_padding

    # integer upsampling by 2 without options: each input index twice
    assert nearest_map(5, 10, False, False) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert nearest_map(4, 4, False, True) == [0, 1, 2, 3]
    assert nearest_map(3, 5, True, False) == [0, 1, 1, 2, 2]  # 0, .5, 1, 1.5, 2 rounded half away
    # Keras' Conv2DTranspose SAME output = in * stride: padding (k - stride) // 2 when k >= stride
    for k in (2, 3, 4, 5):
        for s in (1, 2, 3):
            assert transpose_conv_padding("SAME", 7 * s, k, s) == max(k - s, 0) // 2
            assert transpose_conv_padding("VALID", (7 - 1) * s + max(k, s), k, s) == 0


@pytest.mark.toolchain
def test_generated_c_compiles_for_cortex_m4(spatial_models, tmp_path):
    """The generated C of every family and this family's kernels compile warning-free for
    Cortex-M4F (-Wall -Wextra -Werror)."""
    import subprocess

    from _codegen_harness import M4_FLAGS, NN, cross_compile
    from conftest import require_tool
    from edgeq.codegen import generate

    cc = require_tool("arm-none-eabi-gcc")
    dirs = [generate(buf, tmp_path / f"s_{n}", name=f"s_{n}").out_dir for n, buf in sorted(spatial_models.items())]
    cross_compile(cc, dirs, tmp_path / "obj", kernels=False)
    for src in (NN / "src" / "arm_transpose_conv_s8.c", NN / "edgeq" / "edgeq_spatial.c",
                NN / "src" / "arm_convolve_s8.c", NN / "src" / "arm_convolve_s16.c"):
        p = subprocess.run([cc, *M4_FLAGS, f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}", "-c", str(src),
                            "-o", str(tmp_path / (src.stem + ".o"))], capture_output=True, text=True)
        assert p.returncode == 0, f"{src.name}:\n{p.stderr}"


@pytest.mark.emulator
def test_unet_on_virtual_cortex_m4(spatial_models, spatial_results, tmp_path):
    """The U-Net (Conv2D stride 2 down, Conv2DTranspose up, skip concatenations, a grouped
    conv, bilinear and nearest resize branches) generated, cross-built and run on QEMU
    mps2-an386: bytes equal to TFLM."""
    from _codegen_harness import qemu_run

    graph, inputs, _, ref = spatial_results["unet"]
    assert any(graph.tensors[op.inputs[1]].shape[3] < graph.tensors[op.inputs[0]].shape[3]
               for op in graph.operators if op.opcode == "CONV_2D"), "no grouped conv in the U-Net"
    few = [x[:4] for x in inputs]
    got = qemu_run(spatial_models["unet"], few, tmp_path)
    assert_bit_exact("unet on Cortex-M4", got, [r[:4] for r in ref])


@pytest.mark.toolchain
def test_int16_bilinear_is_refused_clearly(tmp_path):
    """TFLM has no int16 RESIZE_BILINEAR kernel (it fails "Output type is 7, requires float or
    int8"): edgeq names the op and says it has no int16 kernel instead of generating code."""
    import keras
    from keras import layers as L

    from edgeq.errors import OpError
    from edgeq.graph import load_graph

    x = keras.Input((4, 3, 2), batch_size=1)
    buf = convert_keras(keras.Model(x, L.Resizing(6, 5)(x)), _u(-1, 1, (4, 3, 2)), "int16", precision="int16x8")
    with pytest.raises(OpError, match="RESIZE_BILINEAR.*no int16 kernel"):
        load_graph(buf)


@pytest.mark.toolchain
def test_int16_transpose_conv_with_int32_bias_is_refused(tmp_path):
    """16x8 TRANSPOSE_CONV with the converter's experimental int32 bias: TFLM runs it but its
    outputs saturate (it reads the bias as int64), so there is nothing to be exact with: refused."""
    import keras
    from keras import layers as L

    from edgeq.codegen import generate
    from edgeq.errors import OpError

    x = keras.Input((4, 3, 2), batch_size=1)
    m = keras.Model(x, L.Conv2DTranspose(3, 3, strides=2, padding="same", bias_initializer="ones")(x))
    buf = convert_keras(m, _u(-1, 1, (4, 3, 2)), "int16", precision="int16x8", bias_type="int32")
    with pytest.raises(OpError, match="TRANSPOSE_CONV.*int32 bias"):
        generate(buf, tmp_path / "g", name="m")
