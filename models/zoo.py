"""Keras models beyond MLPerf Tiny for the benchmark: the layer families users bring that the
reference architectures do not have. Untrained, deterministic for a seed, BatchNorm statistics
set from the sample data (as models/mlperf_tiny.py does, so activation ranges stay realistic).

* ``mnv3``: a MobileNetV3-small-style network (96×96×3): hard-swish stem, inverted residual
  blocks with depthwise convs and squeeze-excite (global pool → relu → hard-sigmoid → MUL).
* ``lstm_kws``: a keyword-spotting LSTM (49 frames × 10 MFCC → LSTM(64) → Dense(12) softmax).
"""

from __future__ import annotations

INPUT_SHAPES = {"mnv3": (96, 96, 3), "lstm_kws": (49, 10)}
NAMES = tuple(INPUT_SHAPES)


def _se(x, ch, L):
    s = L.GlobalAveragePooling2D(keepdims=True)(x)
    s = L.Conv2D(max(8, ch // 4), 1, activation="relu")(s)
    s = L.Conv2D(ch, 1, activation="hard_sigmoid")(s)
    return L.Multiply()([x, s])


def _bneck(x, expand, out, k, stride, se, act, L):
    in_ch = x.shape[-1]
    y = L.Conv2D(expand, 1, use_bias=False)(x)
    y = L.Activation(act)(L.BatchNormalization()(y))
    y = L.DepthwiseConv2D(k, strides=stride, padding="same", use_bias=False)(y)
    y = L.Activation(act)(L.BatchNormalization()(y))
    if se:
        y = _se(y, expand, L)
    y = L.BatchNormalization()(L.Conv2D(out, 1, use_bias=False)(y))
    return L.Add()([x, y]) if stride == 1 and in_ch == out else y


def mnv3():
    import keras
    from keras import layers as L

    x = keras.Input(INPUT_SHAPES["mnv3"], batch_size=1)
    y = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    y = L.Activation("hard_swish")(L.BatchNormalization()(y))
    y = _bneck(y, 16, 16, 3, 2, True, "relu", L)
    y = _bneck(y, 72, 24, 3, 2, False, "relu", L)
    y = _bneck(y, 88, 24, 3, 1, False, "relu", L)
    y = _bneck(y, 96, 40, 5, 2, True, "hard_swish", L)
    y = _bneck(y, 120, 40, 5, 1, True, "hard_swish", L)
    y = L.Activation("hard_swish")(L.BatchNormalization()(L.Conv2D(96, 1, use_bias=False)(y)))
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(2, activation="softmax")(y)
    return keras.Model(x, y, name="mnv3")


def lstm_kws():
    import keras
    from keras import layers as L

    x = keras.Input(INPUT_SHAPES["lstm_kws"], batch_size=1)
    y = L.LSTM(64)(x)
    y = L.Dense(12, activation="softmax")(y)
    return keras.Model(x, y, name="lstm_kws")


BUILDERS = {"mnv3": mnv3, "lstm_kws": lstm_kws}


def sample_data(name: str, n: int = 64, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (n,) + INPUT_SHAPES[name]
    if name == "mnv3":
        return rng.random(shape, dtype=np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def build(name: str, seed: int = 0):
    import keras

    from models.mlperf_tiny import data_dependent_init

    if name not in BUILDERS:
        raise ValueError(f"unknown zoo model {name!r}; choose from {', '.join(NAMES)}")
    keras.utils.set_random_seed(seed)
    model = BUILDERS[name]()
    data_dependent_init(model, sample_data(name, 64, seed))
    return model
