"""Keras definitions of the four MLPerf Tiny reference architectures (untrained, data-initialised).

    KWS  DS-CNN             49×10×1  → 12 classes
    VWW  MobileNetV1-0.25   96×96×3  → 2 classes
    IC   ResNet-8           32×32×3  → 10 classes (16/32/64 filters)
    AD   FC autoencoder     640      → 640 (128×4 → 8 → 128×4)

Untrained models with default initialisation make poor test subjects (activation ranges shrink
layer after layer), so `build(name)` gives every BatchNormalization the mean and variance of its
own input on seeded random data ("data-dependent init"); ranges then stay realistic.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NAMES = ("kws", "vww", "resnet8", "autoencoder")
INPUT_SHAPES = {"kws": (49, 10, 1), "vww": (96, 96, 3), "resnet8": (32, 32, 3), "autoencoder": (640,)}


def _bn_relu(x, name, relu=True):
    from keras import layers

    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def kws_dscnn():
    import keras
    from keras import layers

    inp = keras.Input(INPUT_SHAPES["kws"], name="mfcc")
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same", name="conv0")(inp)
    x = _bn_relu(x, "conv0")
    for i in range(1, 5):
        x = layers.DepthwiseConv2D(3, padding="same", name=f"dw{i}")(x)
        x = _bn_relu(x, f"dw{i}")
        x = layers.Conv2D(64, 1, name=f"pw{i}")(x)
        x = _bn_relu(x, f"pw{i}")
    x = layers.AveragePooling2D(pool_size=(25, 5), name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(12, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="kws_dscnn")


def vww_mobilenet_v1_025():
    import keras
    from keras import layers

    inp = keras.Input(INPUT_SHAPES["vww"], name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", name="conv0")(inp)
    x = _bn_relu(x, "conv0")
    plan = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]
    for i, (filters, stride) in enumerate(plan, start=1):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", name=f"dw{i}")(x)
        x = _bn_relu(x, f"dw{i}")
        x = layers.Conv2D(filters, 1, name=f"pw{i}")(x)
        x = _bn_relu(x, f"pw{i}")
    x = layers.AveragePooling2D(pool_size=3, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(2, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="vww_mobilenet_v1_025")


def resnet8():
    import keras
    from keras import layers

    inp = keras.Input(INPUT_SHAPES["resnet8"], name="image")
    x = layers.Conv2D(16, 3, padding="same", name="conv0")(inp)
    x = _bn_relu(x, "conv0")
    for stage, (filters, stride) in enumerate([(16, 1), (32, 2), (64, 2)], start=1):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"s{stage}_conv1")(x)
        y = _bn_relu(y, f"s{stage}_conv1")
        y = layers.Conv2D(filters, 3, padding="same", name=f"s{stage}_conv2")(y)
        y = _bn_relu(y, f"s{stage}_conv2", relu=False)
        if stride != 1:
            x = layers.Conv2D(filters, 1, strides=stride, name=f"s{stage}_shortcut")(x)
        x = layers.Add(name=f"s{stage}_add")([x, y])
        x = layers.ReLU(name=f"s{stage}_relu")(x)
    x = layers.AveragePooling2D(pool_size=8, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(10, activation="softmax", name="fc")(x)
    return keras.Model(inp, out, name="resnet8")


def fc_autoencoder():
    import keras
    from keras import layers

    inp = keras.Input(INPUT_SHAPES["autoencoder"], name="features")
    x = inp
    for i, units in enumerate([128, 128, 128, 128, 8, 128, 128, 128, 128]):
        x = layers.Dense(units, name=f"fc{i}")(x)
        x = _bn_relu(x, f"fc{i}")
    out = layers.Dense(640, name="out")(x)
    return keras.Model(inp, out, name="fc_autoencoder")


BUILDERS = {"kws": kws_dscnn, "vww": vww_mobilenet_v1_025, "resnet8": resnet8, "autoencoder": fc_autoencoder}


def sample_data(name: str, n: int = 64, seed: int = 0):
    """Seeded stand-in inputs with realistic ranges (images in [0, 1], features ~ N(0, 1))."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (n,) + INPUT_SHAPES[name]
    if name in ("vww", "resnet8"):
        return rng.random(shape, dtype=np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def data_dependent_init(model, x) -> None:
    """Set each BatchNormalization's moving mean/variance to the statistics of its input on x."""
    import keras
    import numpy as np

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            probe = keras.Model(model.inputs[0], layer.input)
            a = np.asarray(probe(x, training=False))
            axes = tuple(range(a.ndim - 1))
            mean, var = a.mean(axis=axes), a.var(axis=axes) + 1e-3
            gamma, beta, _, _ = layer.get_weights()
            layer.set_weights([gamma, beta, mean, var])


def build(name: str, seed: int = 0):
    """An untrained, data-initialised instance of one architecture (deterministic for a seed)."""
    import keras

    if name not in BUILDERS:
        raise ValueError(f"unknown MLPerf Tiny model {name!r}; choose from {', '.join(NAMES)}")
    keras.utils.set_random_seed(seed)
    model = BUILDERS[name]()
    data_dependent_init(model, sample_data(name, 64, seed))
    return model


def build_kws(seed: int = 0):
    return build("kws", seed)


def build_vww(seed: int = 0):
    return build("vww", seed)


def build_resnet8(seed: int = 0):
    return build("resnet8", seed)


def build_autoencoder(seed: int = 0):
    return build("autoencoder", seed)


if __name__ == "__main__":  # python models/mlperf_tiny.py OUT_DIR: saves the four .keras files + data
    import sys
    from pathlib import Path

    import numpy as np

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "out/mlperf_tiny")
    out.mkdir(parents=True, exist_ok=True)
    for n in NAMES:
        m = build(n)
        m.save(out / f"{n}.keras")
        np.savez(out / f"{n}_calib.npz", x=sample_data(n, 128, seed=1))
        print(f"{n}: {m.count_params():,} parameters -> {out / (n + '.keras')}")
