"""`edgeq evaluate`: every metric against numpy on the same arrays, a regression model end to end,
and the bad inputs that must give exit 2 with a clear message."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import DIGITS
from edgeq.errors import InputError
from edgeq.evaluate import apply_gate, compare

MODEL = DIGITS / "digits.keras"
CALIB = DIGITS / "train.npz"
TEST = DIGITS / "test.npz"


def edgeq(*args):
    return subprocess.run([sys.executable, "-m", "edgeq", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.unit
def test_classification_metrics_match_numpy():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 200)
    f = rng.normal(size=(200, 5))
    i = f + rng.normal(scale=0.3, size=f.shape)  # int8 outputs: float plus quantization-like noise
    ev = compare(f, i, y, "classification")
    m = ev.metrics
    assert m["float_accuracy"] == np.mean(f.argmax(1) == y)
    assert m["int8_accuracy"] == np.mean(i.argmax(1) == y)
    assert m["agreement"] == np.mean(f.argmax(1) == i.argmax(1))
    assert m["output_rmse"] == pytest.approx(np.sqrt(np.mean((i - f) ** 2)))
    assert m["output_max_abs_error"] == pytest.approx(np.abs(i - f).max())
    assert m["output_sqnr_db"] == pytest.approx(10 * np.log10(np.mean(f ** 2) / np.mean((i - f) ** 2)))
    assert ev.drop_pp == pytest.approx(100 * (m["float_accuracy"] - m["int8_accuracy"]), abs=1e-4)
    for row in ev.per_class:
        sel = y == row["class"]
        assert row["count"] == sel.sum()
        assert row["int8_accuracy"] == np.mean(i.argmax(1)[sel] == row["class"])
    assert apply_gate(ev, ev.drop_pp + 0.01) and not apply_gate(ev, ev.drop_pp - 0.01)


@pytest.mark.unit
def test_regression_metrics_match_numpy_and_refuse_an_accuracy_gate():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(100, 1))
    f = t + rng.normal(scale=0.1, size=t.shape)
    i = f + rng.normal(scale=0.05, size=t.shape)
    ev = compare(f, i, t, "regression")
    m = ev.metrics
    assert m["float_mse"] == pytest.approx(np.mean((f - t) ** 2))
    assert m["int8_mse"] == pytest.approx(np.mean((i - t) ** 2))
    assert m["float_mae"] == pytest.approx(np.mean(np.abs(f - t)))
    assert m["int8_mae"] == pytest.approx(np.mean(np.abs(i - t)))
    assert ev.drop_pp is None
    with pytest.raises(InputError, match="classifiers"):
        apply_gate(ev, 1.0)


@pytest.mark.slow
def test_regression_model_end_to_end(tmp_path):
    """A regression MLP on scikit-learn's diabetes data: convert, then evaluate reports MSE/MAE
    equal to numpy's on the float model's and the TFLM interpreter's own outputs."""
    import json

    import keras
    from sklearn.datasets import load_diabetes

    from edgeq.reference import run_tflm

    x, y = load_diabetes(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    y = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    m.compile(keras.optimizers.Adam(1e-2), "mse")
    m.fit(x[:300], y[:300], epochs=40, verbose=0)
    m.save(tmp_path / "reg.keras")
    np.savez(tmp_path / "train.npz", x=x[:300], y=y[:300])
    np.savez(tmp_path / "test.npz", x=x[300:], y=y[300:])
    out = tmp_path / "reg.tflite"
    assert edgeq("convert", tmp_path / "reg.keras", "--calib", tmp_path / "train.npz", "-o", out).returncode == 0
    r = edgeq("evaluate", tmp_path / "reg.keras", out, "--data", tmp_path / "test.npz", "--json")
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["task"] == "regression"
    f = m.predict(x[300:], verbose=0)
    q = run_tflm(out.read_bytes(), x[300:]).outputs.reshape(f.shape)
    assert ev["metrics"]["float_mse"] == pytest.approx(np.mean((f - y[300:]) ** 2), rel=1e-5)
    assert ev["metrics"]["int8_mse"] == pytest.approx(np.mean((q - y[300:]) ** 2), rel=1e-5)
    assert ev["precision"] == "int8"
    assert ev["metrics"]["int8_mse"] < 1.0  # it is a model, not noise: normalised targets have variance 1
    r = edgeq("evaluate", tmp_path / "reg.keras", out, "--data", tmp_path / "test.npz", "--max-drop", "1")
    assert r.returncode == 2 and "classifiers" in r.stderr and "Traceback" not in r.stderr


def test_bad_model_files_exit_2_with_a_clear_message(tmp_path):
    (tmp_path / "junk.tflite").write_bytes(b"hello")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    cases = [(("evaluate", MODEL, tmp_path / "junk.tflite", "--data", TEST), "is not a TFLite model"),
             (("convert", tmp_path / "junk.keras", "--calib", CALIB), "is not a Keras 3 .keras file"),
             (("convert", tmp_path / "junk.h5", "--calib", CALIB), "is not an HDF5"),
             (("evaluate", MODEL, tmp_path / "missing.tflite", "--data", TEST), "not found")]
    for args, msg in cases:
        r = edgeq(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert msg in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.slow
def test_unsupported_layer_exit_2_from_the_cli(tmp_path):
    """A layer edgeq generate has no kernel for (TFLite lowers softsign to ABS/DIV): convert names
    the layer and the op, exits 2 and writes nothing; --allow-host-only writes it for TFLM."""
    import keras
    from keras import layers

    inp = keras.Input((8, 8, 1))
    x = layers.Dense(16, name="fc")(layers.Flatten()(inp))
    x = layers.Activation("softsign", name="squash")(x)
    keras.Model(inp, layers.Dense(10, name="head")(x)).save(tmp_path / "soft.keras")
    out = tmp_path / "soft.tflite"
    r = edgeq("convert", tmp_path / "soft.keras", "--calib", CALIB, "-o", out, "--samples", "20")
    assert r.returncode == 2, r.stderr
    assert "layer 'squash'" in r.stderr and "ABS" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not out.with_suffix(".manifest.json").exists()
    r = edgeq("convert", tmp_path / "soft.keras", "--calib", CALIB, "-o", out, "--samples", "20", "--allow-host-only")
    assert r.returncode == 0 and out.exists(), r.stderr
    # report takes it too (it runs in TFLM): no memory map, a note naming the file and the op
    r = edgeq("report", tmp_path / "soft.keras", out, "--data", TEST, "--limit", "8", "-o", tmp_path / "r.html")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "r.html").read_text()
    assert "No memory map" in html and "soft.tflite" in html and "ABS" in html
