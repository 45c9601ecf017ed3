"""Per-layer error: int8 activations through TFLM vs float activations, tensor by tensor."""

from __future__ import annotations

import pytest

from conftest import DIGITS
from edgeq.quantize.layer_error import layer_errors

pytestmark = pytest.mark.slow


def test_digits_layer_errors(digits_tflite):
    rows = layer_errors(DIGITS / "digits.keras", digits_tflite, str(DIGITS / "test.npz"), limit=32)
    ops = [r["op"].split()[1] for r in rows]
    assert ops == ["CONV_2D", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]
    by_op = dict(zip(ops, rows))
    # a reshape moves values: its error is exactly the error of the tensor it reshapes
    assert by_op["RESHAPE"]["rmse"] == by_op["MAX_POOL_2D"]["rmse"]
    for r in rows:
        assert r["rounding_bound"] == pytest.approx(r["scale"] / 2)
        assert 0 <= r["clipped_fraction"] <= 1
        assert r["sqnr_db"] is not None and r["sqnr_db"] > 20, r
    # the first layer sees only input rounding + its own: its RMSE is within a step of its output
    assert rows[0]["rmse"] < rows[0]["scale"]
