"""QAT: a Keras 3 model bridged to tf_keras, fine-tuned with TF-MOT, converted to full int8."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import DIGITS
from edgeq.errors import InputError
from edgeq.graph import load_graph
from edgeq.quantize.qat import QatOptions, qat_model
from edgeq.reference import run_tflm

pytestmark = pytest.mark.slow


def test_qat_digits_keras3_bridge(tmp_path, digits_data):
    out = tmp_path / "qat.tflite"
    res = qat_model(DIGITS / "digits.keras", str(DIGITS / "train.npz"), str(DIGITS / "train.npz"), out,
                    QatOptions(epochs=2))
    graph = load_graph(out)  # parses as a full-integer model edgeq can generate code for
    assert {t.dtype for t in graph.activation_tensors()} <= {"int8", "int32"}
    acc = np.mean(run_tflm(out.read_bytes(), digits_data["x_test"]).outputs.argmax(1) == digits_data["y_test"])
    assert acc > 0.95, acc
    man = json.loads(out.with_suffix(".manifest.json").read_text())
    assert man["kind"] == "edgeq.qat" and man["qat"]["epochs"] == 2 and man["qat"]["train"]["samples"] == 1347
    assert res.manifest == man


def test_qat_needs_labels(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((10, 8, 8, 1), np.float32))
    with pytest.raises(InputError, match="no labels"):
        qat_model(DIGITS / "digits.keras", str(tmp_path / "x.npy"), str(DIGITS / "train.npz"))


def test_qat_recovers_what_ptq_loses_on_a_hostile_conv_model(tmp_path, digits_data):
    """One output channel of a conv ×300 (the dense head reads it ÷300): the float function is
    unchanged, but that channel sets the int8 range of the activation and PTQ loses the others.
    Fine-tuning with fake quantization lets the weights adapt to the grid they will run on."""
    import keras
    from keras import layers

    from edgeq.quantize.convert import ConvertOptions, convert_model

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(8, 3, activation="relu", name="c1"),
                          layers.Conv2D(16, 3, activation="relu", name="fragile"), layers.Flatten(),
                          layers.Dense(10, activation="softmax", name="head")])
    m.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    m.fit(digits_data["x_train"], digits_data["y_train"], epochs=20, verbose=0)
    w, b = m.get_layer("fragile").get_weights()
    w[..., 0] *= 300.0
    b[0] *= 300.0
    m.get_layer("fragile").set_weights([w, b])
    hw, hb = m.get_layer("head").get_weights()
    hw[0::16, :] /= 300.0  # Flatten is (h, w, c): every 16th row reads channel 0
    m.get_layer("head").set_weights([hw, hb])
    path = tmp_path / "hostile.keras"
    m.save(path)
    x, y = digits_data["x_test"], digits_data["y_test"]
    float_acc = float(np.mean(m.predict(x, verbose=0).argmax(1) == y))

    def acc(tflite: bytes) -> float:
        return float(np.mean(run_tflm(tflite, x).outputs.argmax(1) == y))

    ptq = acc(convert_model(path, str(DIGITS / "train.npz"), None, ConvertOptions()).tflite)
    assert ptq < float_acc - 0.10  # PTQ really loses (> 1 point, by far)
    out = tmp_path / "hostile_qat.tflite"
    qat_model(path, str(DIGITS / "train.npz"), str(DIGITS / "train.npz"), out,
              QatOptions(epochs=10, learning_rate=1e-3))
    qat = acc(out.read_bytes())
    assert qat > ptq + 0.15, (float_acc, ptq, qat)


def _functional(kind: str):
    """Functional Keras 3 models of the forms users bring (issue 11 item 10)."""
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(0)
    i = keras.Input((8, 8, 1))
    if kind == "residual":
        x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
        x = L.ReLU()(L.Add()([x, L.Conv2D(8, 3, padding="same")(x)]))
        return keras.Model(i, L.Dense(10, activation="softmax")(L.Flatten()(x)))
    x = L.Dense(32, activation="relu")(L.Flatten()(i))
    if kind == "mlp":
        return keras.Model(i, L.Dense(10, activation="softmax")(x))
    if kind == "two_outputs":
        return keras.Model(i, [L.Dense(10, activation="softmax", name="a")(x),
                               L.Dense(10, activation="softmax", name="b")(x)])
    if kind == "nested":
        inner = keras.Sequential([keras.Input((32,)), L.Dense(16, activation="relu")], name="inner")
        return keras.Model(i, L.Dense(10, activation="softmax")(inner(x)))
    if kind == "shared":
        d = L.Dense(32, activation="relu", name="twice")
        return keras.Model(i, L.Dense(10, activation="softmax")(d(d(x))))
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["residual", "mlp"])
def test_qat_functional_single_output_models(tmp_path, kind, digits_data):
    model = _functional(kind)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(digits_data["x_train"], digits_data["y_train"], epochs=5, verbose=0)
    f_acc = np.mean(model.predict(digits_data["x_test"], verbose=0).argmax(1) == digits_data["y_test"])
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    out = tmp_path / f"{kind}.tflite"
    qat_model(path, str(DIGITS / "train.npz"), str(DIGITS / "train.npz"), out, QatOptions(epochs=1))
    graph = load_graph(out)
    assert {t.dtype for t in graph.activation_tensors()} <= {"int8", "int32"}
    acc = np.mean(run_tflm(out.read_bytes(), digits_data["x_test"]).outputs.argmax(1) == digits_data["y_test"])
    # the round trip through tf_keras keeps what the model learnt (chance is 0.1)
    assert f_acc > 0.8 and acc > f_acc - 0.05, (f_acc, acc)


@pytest.mark.parametrize("kind, message", [
    ("two_outputs", r"1 input\(s\) and 2 output\(s\)"),
    ("nested", r"layer 'inner' is a nested model"),
    ("shared", r"layer 'twice' is called 2 times"),
])
def test_qat_refuses_what_it_cannot_bridge_clearly(tmp_path, kind, message):
    model = _functional(kind)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    with pytest.raises(InputError, match=message):
        qat_model(path, str(DIGITS / "train.npz"), str(DIGITS / "train.npz"), tmp_path / "x.tflite",
                  QatOptions(epochs=1))
    assert not (tmp_path / "x.tflite").exists()
