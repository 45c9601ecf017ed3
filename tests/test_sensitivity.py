"""Sensitivity analysis names the layer that was made sensitive on purpose."""

from __future__ import annotations

import pytest

from conftest import DIGITS, build_fragile_mlp
from edgeq.quantize.sensitivity import sensitivity

pytestmark = pytest.mark.slow


def test_sensitivity_names_the_fragile_layer(tmp_path, digits_data):
    build_fragile_mlp(tmp_path / "fragile.keras", digits_data)
    res = sensitivity(tmp_path / "fragile.keras", str(DIGITS / "train.npz"), str(DIGITS / "test.npz"), samples=200)
    assert res["most_sensitive"] == "fragile", [(r["layer"], r["cost"]) for r in res["layers"]]
    top = res["layers"][0]
    assert top["cost"] > 0.02
    assert res["int8_metric"] < res["float_metric"] - 0.02  # the whole int8 model pays for it
    keep = {r["layer"]: r["int16_keep"] for r in res["layers"]}
    assert keep["fragile"]["possible"] and keep["fragile"]["recovery"] > 0.05  # --keep fragile wins it back
    # the classifier head (FC + SOFTMAX) can be kept too, but it is not where the int8 loss is
    assert keep["head"]["possible"] and keep["head"]["recovery"] < keep["fragile"]["recovery"]
    # the int4 column: only that layer's weights at int4, the accuracy convert --int4 LAYER gives
    import numpy as np

    from edgeq.quantize.convert import ConvertOptions, convert_model
    from edgeq.reference import run_tflm

    int4 = {r["layer"]: r["int4_weights"] for r in res["layers"]}
    assert all(v is None for k, v in int4.items() if k not in ("hidden", "fragile", "head"))
    sizes = {"hidden": 64 * 32, "fragile": 32 * 32, "head": 32 * 10}
    for layer, n in sizes.items():
        assert int4[layer]["saves_bytes"] == n - (n + 1) // 2
    tfl = convert_model(tmp_path / "fragile.keras", str(DIGITS / "train.npz"), None,
                        ConvertOptions(samples=200, int4=("hidden",))).tflite
    with np.load(DIGITS / "test.npz") as te:
        acc = float(np.mean(run_tflm(tfl, te["x"]).outputs.reshape(len(te["y"]), -1).argmax(1) == te["y"]))
    assert abs(int4["hidden"]["metric"] - acc) < 1e-9
