"""edgeq convert / evaluate on real models: accuracy, formats, determinism, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import DIGITS
from edgeq.errors import InputError
from edgeq.evaluate import apply_gate, evaluate
from edgeq.quantize.convert import ConvertOptions, convert_model

pytestmark = pytest.mark.slow
CALIB = str(DIGITS / "train.npz")
TEST = str(DIGITS / "test.npz")


def test_digits_int8_within_one_point(digits_tflite):
    ev = evaluate(DIGITS / "digits.keras", digits_tflite, TEST)
    m = ev.metrics
    assert ev.task == "classification" and ev.samples == 450
    assert m["float_accuracy"] > 0.95
    assert ev.drop_pp <= 1.0, m
    assert m["agreement"] > 0.97
    assert apply_gate(ev, 1.0) is True
    # per-class counts add up and agree with the overall accuracy
    assert sum(c["count"] for c in ev.per_class) == 450
    overall = sum(c["int8_accuracy"] * c["count"] for c in ev.per_class) / 450
    assert overall == pytest.approx(m["int8_accuracy"])


def test_manifest_records_provenance(digits_tflite):
    from edgeq.artifacts import sha256_path

    man = json.loads(digits_tflite.with_suffix(".manifest.json").read_text())
    assert man["model"]["sha256"] == sha256_path(DIGITS / "digits.keras")
    assert man["calibration"]["sha256"] == sha256_path(DIGITS / "train.npz")
    assert man["calibration"]["samples_used"] == 300
    assert man["tflite"]["sha256"] == sha256_path(digits_tflite)
    assert man["options"]["granularity"] == "per-channel"
    assert man["io"]["inputs"][0]["dtype"] == "int8" and man["io"]["inputs"][0]["shape"] == [1, 8, 8, 1]
    assert {"tensorflow", "tflite-micro", "edgeq"} <= set(man["tools"])
    assert man["tensors"]["per_channel"] >= 4  # 2 conv + 2 dense weight tensors


def test_conversion_is_deterministic(tmp_path):
    a, b = tmp_path / "a" / "m.tflite", tmp_path / "b" / "m.tflite"
    opts = ConvertOptions(samples=100, seed=7)
    convert_model(DIGITS / "digits.keras", CALIB, a, opts)
    convert_model(DIGITS / "digits.keras", CALIB, b, opts)
    assert a.read_bytes() == b.read_bytes()
    assert a.with_suffix(".manifest.json").read_bytes() == b.with_suffix(".manifest.json").read_bytes()


def test_io_types_precision_and_granularity():
    pc = convert_model(DIGITS / "digits.keras", CALIB, None, ConvertOptions(samples=50))
    pt = convert_model(DIGITS / "digits.keras", CALIB, None, ConvertOptions(samples=50, granularity="per-tensor"))
    assert pc.manifest["tensors"]["per_channel"] > 0 and pt.manifest["tensors"]["per_channel"] == 0
    for io, dtype in (("uint8", "uint8"), ("float32", "float32")):
        r = convert_model(DIGITS / "digits.keras", CALIB, None, ConvertOptions(samples=50, io=io))
        assert r.manifest["io"]["inputs"][0]["dtype"] == dtype
        assert r.manifest["io"]["outputs"][0]["dtype"] == dtype
    r16 = convert_model(DIGITS / "digits.keras", CALIB, None, ConvertOptions(samples=50, precision="int16x8",
                                                                                    allow_host_only=True))
    assert r16.manifest["io"]["inputs"][0]["dtype"] == "int16"
    assert any(t["dtype"] == "int16" for t in r16.tensors)


def test_h5_and_saved_model_formats(tmp_path, digits_data):
    import keras

    from edgeq.reference import run_tflm

    model = keras.models.load_model(DIGITS / "digits.keras")
    model.save(tmp_path / "digits.h5")
    model.export(tmp_path / "digits_savedmodel", verbose=False)
    x = digits_data["x_test"][:100]
    ref = model.predict(x, verbose=0).argmax(1)
    for path in (tmp_path / "digits.h5", tmp_path / "digits_savedmodel"):
        r = convert_model(path, CALIB, None, ConvertOptions(samples=100))
        pred = run_tflm(r.tflite, x).outputs.argmax(1)
        assert np.mean(pred == ref) > 0.95, path


def _residual_model():
    """A functional model edgeq was not designed around: residual Add, BN, ReLU6, avg-pooling."""
    import keras
    from keras import layers

    inp = keras.Input((8, 8, 1))
    x = layers.Conv2D(12, 3, padding="same")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    y = layers.Conv2D(12, 3, padding="same")(x)
    y = layers.BatchNormalization()(y)
    x = layers.ReLU(6.0)(layers.Add()([x, y]))
    x = layers.AveragePooling2D(2)(x)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(10, activation="softmax")(x))


def test_residual_model_converts_and_keeps_accuracy(tmp_path, digits_data):
    import keras

    keras.utils.set_random_seed(1)
    model = _residual_model()
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(digits_data["x_train"], digits_data["y_train"], epochs=20, batch_size=32, verbose=0)
    model.save(tmp_path / "res.keras")
    convert_model(tmp_path / "res.keras", CALIB, tmp_path / "res.tflite", ConvertOptions(samples=200))
    ev = evaluate(tmp_path / "res.keras", tmp_path / "res.tflite", TEST)
    assert ev.metrics["float_accuracy"] > 0.75  # it learned something real
    assert ev.drop_pp <= 2.0, ev.metrics


def test_unsupported_layer_is_named(tmp_path):
    import keras
    from keras import layers

    @keras.saving.register_keras_serializable(package="edgeq_tests")
    class Sine(layers.Layer):
        def call(self, t):
            return keras.ops.sin(t)

    inp = keras.Input((8, 8, 1))
    x = layers.Flatten()(inp)
    x = layers.Dense(16, name="fc")(x)
    x = Sine(name="sine")(x)
    keras.Model(inp, layers.Dense(10, name="head")(x)).save(tmp_path / "sin.keras", )
    out = tmp_path / "sin.tflite"
    with pytest.raises(InputError, match=r"layer 'sine'.*SIN"):
        convert_model(tmp_path / "sin.keras", CALIB, out, ConvertOptions(samples=20))
    assert not out.exists() and not out.with_suffix(".manifest.json").exists()


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="model not found"):
        convert_model(tmp_path / "nope.keras", CALIB, None)
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported model format"):
        convert_model(tmp_path / "m.onnx", CALIB, None)
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a Keras 3 .keras file"):
        convert_model(tmp_path / "broken.keras", CALIB, None)
    import zipfile

    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as z:  # a zip, but not a Keras model
        z.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match="cannot load Keras model"):
        convert_model(tmp_path / "empty.keras", CALIB, None)
    np.savez(tmp_path / "wrong.npz", x=np.zeros((10, 28, 28, 1), np.float32))
    with pytest.raises(InputError, match=r"\(28, 28, 1\).*expects \(8, 8, 1\)"):
        convert_model(DIGITS / "digits.keras", str(tmp_path / "wrong.npz"), None)
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 8, 8, 1), np.float32))
    with pytest.raises(InputError, match="no samples"):
        convert_model(DIGITS / "digits.keras", str(tmp_path / "empty.npz"), None)
    with pytest.raises(InputError, match="--granularity"):
        convert_model(DIGITS / "digits.keras", CALIB, None, ConvertOptions(granularity="per-layer"))
