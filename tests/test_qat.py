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
