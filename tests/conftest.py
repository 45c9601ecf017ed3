"""Shared fixtures: repository paths, converted example models (cached per session), tool checks."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "models" / "digits"
sys.path.insert(0, str(REPO))  # so tests can `import models.mlperf_tiny`

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> str:
    """The tool's path; a skip on a developer machine without it, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (run `make setup`)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def digits_data():
    with np.load(DIGITS / "train.npz") as tr, np.load(DIGITS / "test.npz") as te:
        return {"x_train": tr["x"], "y_train": tr["y"], "x_test": te["x"], "y_test": te["y"]}


@pytest.fixture(scope="session")
def digits_tflite(tmp_path_factory) -> Path:
    """The example model converted with convert's defaults (shared by many tests)."""
    from edgeq.quantize.convert import ConvertOptions, convert_model

    out = tmp_path_factory.mktemp("digits") / "digits.tflite"
    convert_model(DIGITS / "digits.keras", str(DIGITS / "train.npz"), out, ConvertOptions())
    return out


@pytest.fixture(scope="session")
def digits16_tflite(tmp_path_factory) -> Path:
    """The example model converted in 16x8 mode (int16 activations), convert's other defaults."""
    from edgeq.quantize.convert import ConvertOptions, convert_model

    out = tmp_path_factory.mktemp("digits16") / "digits16.tflite"
    convert_model(DIGITS / "digits.keras", str(DIGITS / "train.npz"), out, ConvertOptions(precision="int16x8"))
    return out


_MLPERF_CACHE: dict = {}


@pytest.fixture(scope="session")
def mlperf_tflite(tmp_path_factory):
    """A function (name, precision="int8") → path of the .tflite of that MLPerf Tiny architecture
    converted with convert's defaults at that precision (int8 or int16x8), cached."""
    from edgeq.quantize.convert import ConvertOptions, convert_model
    from models import mlperf_tiny

    root = tmp_path_factory.mktemp("mlperf")

    def get(name: str, precision: str = "int8") -> Path:
        if (name, precision) not in _MLPERF_CACHE:
            keras_path = root / f"{name}.keras"
            calib = root / f"{name}_calib.npz"
            if not keras_path.exists():
                mlperf_tiny.build(name).save(keras_path)
                np.savez(calib, x=mlperf_tiny.sample_data(name, 64, seed=1))
            out = root / f"{name}-{precision}.tflite"
            convert_model(keras_path, str(calib), out, ConvertOptions(samples=64, precision=precision))
            _MLPERF_CACHE[name, precision] = out
        return _MLPERF_CACHE[name, precision]

    return get


def build_fragile_mlp(path: Path, digits_data) -> Path:
    """A digits MLP made quantization-hostile on purpose: one unit of layer `fragile` is scaled
    ×300 (and `head` reads it ÷300), so the float function is unchanged but that unit sets the
    int8 range of the whole activation and the other units lose their resolution."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8, 8, 1)), layers.Flatten(name="flatten"),
                          layers.Dense(32, activation="relu", name="hidden"),
                          layers.Dense(32, activation="relu", name="fragile"),
                          layers.Dense(10, activation="softmax", name="head")])
    m.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    m.fit(digits_data["x_train"], digits_data["y_train"], epochs=30, verbose=0)
    w, b = m.get_layer("fragile").get_weights()
    w[:, 0] *= 300.0
    b[0] *= 300.0
    m.get_layer("fragile").set_weights([w, b])
    hw, hb = m.get_layer("head").get_weights()
    hw[0, :] /= 300.0
    m.get_layer("head").set_weights([hw, hb])
    m.save(path)
    return path
