"""Models nobody tuned the kernels to: ordinary Keras layers mixed across op families (a 1-D conv
net, a decoder with UpSampling2D + Conv2DTranspose + LeakyReLU, a small audio net with
GlobalMaxPooling and Maximum), each converted by `edgeq convert`, generated and run on the host
against the reference and on a virtual board (Cortex-M4 and Cortex-M55), byte for byte."""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import numpy as np
import pytest

from _codegen_harness import HostBuilder, assert_bit_exact, random_inputs, tflm_run_many, uniform_data as _u

SAMPLES = 32
QUANTIZE_DIR = Path(__file__).resolve().parents[1] / "edgeq" / "quantize"


def zoo_conv1d():
    import keras
    from keras import layers as L
    x = keras.Input((50, 3), batch_size=1)
    y = L.Conv1D(8, 5, padding="same", activation="relu")(x)
    y = L.MaxPooling1D(2)(y)
    y = L.Conv1D(12, 3, strides=2, activation="relu")(y)
    y = L.SeparableConv1D(16, 3, padding="same")(y)
    y = L.GlobalAveragePooling1D()(y)
    y = L.Dense(4, activation="softmax")(y)
    return keras.Model(x, y), _u(-1, 1, (50, 3))


def zoo_decoder():
    import keras
    from keras import layers as L
    x = keras.Input((12, 12, 3), batch_size=1)
    e = L.Conv2D(8, 3, strides=2, padding="same")(x)
    e = L.LeakyReLU(negative_slope=0.1)(e)
    d = L.UpSampling2D(2)(e)
    t = L.Conv2DTranspose(6, 3, strides=2, padding="same")(e)
    y = L.Concatenate()([d, t, x])
    y = L.Conv2D(3, 1, activation="tanh")(y)
    return keras.Model(x, y), _u(0, 1, (12, 12, 3))


def zoo_audio():
    import keras
    from keras import layers as L
    x = keras.Input((20, 10, 1), batch_size=1)
    a = L.Conv2D(6, 3, padding="same")(x)
    b = L.DepthwiseConv2D(3, padding="same", depth_multiplier=6)(x)
    y = L.Maximum()([a, b])
    y = L.Activation("hard_swish")(L.Subtract()([y, L.AveragePooling2D(1)(a)]))
    y = L.GlobalMaxPooling2D()(y)
    y = L.Dense(5, activation="sigmoid")(y)
    return keras.Model(x, y), _u(-2, 2, (20, 10, 1))


ZOO = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("zoo_")}
EXPECTED_OPS = {"conv1d": {"CONV_2D", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"},
                "decoder": {"LEAKY_RELU", "TRANSPOSE_CONV", "CONCATENATION", "TANH", "RESIZE_NEAREST_NEIGHBOR"},
                "audio": {"MAXIMUM", "SUB", "HARD_SWISH", "REDUCE_MAX", "LOGISTIC"}}


@pytest.fixture(scope="module")
def zoo_models(request) -> dict[str, bytes]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    cache = request.config.cache.mkdir("edgeq_zoo_models")
    out = {}
    for name, fn in ZOO.items():
        # keyed on the model and on edgeq's conversion code (the models go through `edgeq convert`)
        convert_src = "".join(p.read_text() for p in sorted(QUANTIZE_DIR.glob("*.py")))
        key = hashlib.sha256(f"{tf.__version__}\n{name}\n{inspect.getsource(fn)}\n{convert_src}".encode()).hexdigest()[:16]
        path = cache / f"{name}-{key}.tflite"
        if not path.exists():  # through `edgeq convert`, as a user would
            from edgeq.quantize.convert import ConvertOptions, convert_model

            keras.utils.set_random_seed(3)
            model, data_fn = fn()
            work = cache / f"{name}-{key}"
            work.mkdir(exist_ok=True)
            model.save(work / "m.keras")
            rng = np.random.default_rng(1)
            np.savez(work / "calib.npz", x=np.concatenate([data_fn(rng)[0] for _ in range(32)]))
            convert_model(work / "m.keras", str(work / "calib.npz"), path, ConvertOptions(samples=32))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def zoo_reference(zoo_models):
    from edgeq.graph import load_graph

    from _tflite_ref import tflite_run_many

    from edgeq import ops

    out = {}
    for n in sorted(zoo_models):
        g = load_graph(zoo_models[n])
        inputs = random_inputs(g, SAMPLES, seed=5)
        # the reference each op is held to: TFLM, or TFLite's reference kernels for an op TFLM lacks
        tflite_only = any(ops.spec(op.opcode).reference == ops.TFLITE for op in g.operators)
        run = tflite_run_many if tflite_only else tflm_run_many
        out[n] = (inputs, run([(zoo_models[n], inputs, len(g.outputs))])[0])
    return out


@pytest.mark.toolchain
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_on_host(name, zoo_models, zoo_reference, tmp_path_factory):
    from edgeq.graph import load_graph

    ops = {op.opcode for op in load_graph(zoo_models[name]).operators}
    assert EXPECTED_OPS[name] <= ops, f"{name}: converter produced {sorted(ops)}"
    assert "TILE" not in ops  # edgeq convert turns UpSampling2D into a resize TFLM runs
    host = HostBuilder(tmp_path_factory.mktemp(f"zoo_{name}")).build(zoo_models[name], name=f"z_{name}")
    inputs, ref = zoo_reference[name]
    assert assert_bit_exact(name, host.run(inputs), ref) > 0


@pytest.mark.emulator
@pytest.mark.parametrize("name, board", [("conv1d", "qemu-mps2-an386"), ("decoder", "qemu-mps2-an386"),
                                         ("audio", "qemu-mps3-an547")])
def test_zoo_on_virtual_board(name, board, zoo_models, zoo_reference, tmp_path):
    from _codegen_harness import qemu_run

    inputs, ref = zoo_reference[name]
    few = [x[:6] for x in inputs]
    got = qemu_run(zoo_models[name], few, tmp_path, board=board, name=f"z_{name}")
    assert_bit_exact(f"{name}@{board}", got, [np.asarray(r)[:6] for r in ref])
