"""Sensitivity analysis names the layer that was made sensitive on purpose."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import DIGITS
from edgeq.quantize.sensitivity import sensitivity

pytestmark = pytest.mark.slow


def test_sensitivity_names_the_fragile_layer(tmp_path, digits_data):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((8, 8, 1)), layers.Flatten(name="flatten"),
                          layers.Dense(32, activation="relu", name="hidden"),
                          layers.Dense(32, activation="relu", name="fragile"),
                          layers.Dense(10, activation="softmax", name="head")])
    m.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    m.fit(digits_data["x_train"], digits_data["y_train"], epochs=30, verbose=0)
    # One unit of `fragile` ×300 (and ÷300 where `head` reads it): the float function is the same,
    # but that unit now sets the int8 range of the whole activation and the others lose resolution.
    w, b = m.get_layer("fragile").get_weights()
    w[:, 0] *= 300.0
    b[0] *= 300.0
    m.get_layer("fragile").set_weights([w, b])
    hw, hb = m.get_layer("head").get_weights()
    hw[0, :] /= 300.0
    m.get_layer("head").set_weights([hw, hb])
    m.save(tmp_path / "fragile.keras")
    res = sensitivity(tmp_path / "fragile.keras", str(DIGITS / "train.npz"), str(DIGITS / "test.npz"), samples=200)
    assert res["most_sensitive"] == "fragile", [(r["layer"], r["cost"]) for r in res["layers"]]
    top = res["layers"][0]
    assert top["cost"] > 0.02
    assert res["int8_metric"] < res["float_metric"] - 0.02  # the whole int8 model pays for it
