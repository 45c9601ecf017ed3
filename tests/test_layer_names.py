"""Tensors mapped back to Keras layers by the model's structure (issue 11 item 9).

Keras 3 traces auto-named layers under suffixed scopes ('re_lu' → 're_lu_1', 're_lu_1' →
're_lu_1_2'), so matching names reported the first ReLU as the second one: sensitivity listed
one layer twice and `--keep` could not name the first. The expected layers here come from the
model itself: the k-th ReLU op of the converted model is the k-th ReLU layer of the model.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _auto_named(path):
    import keras

    keras.backend.clear_session()  # Keras' auto-naming counters start again (other tests built models)
    keras.utils.set_random_seed(0)
    L = keras.layers
    inp = keras.Input((8, 8, 1))
    x = L.ReLU()(L.Conv2D(4, 3, padding="same")(inp))
    x = L.ReLU()(L.Conv2DTranspose(4, 3, strides=2, padding="same")(x))
    x = L.ReLU()(L.Conv2D(4, 3, padding="same")(x))
    out = L.Dense(3)(L.Flatten()(x))
    m = keras.Model(inp, out)
    m.save(path)
    return m


@pytest.fixture(scope="module")
def auto_named(tmp_path_factory):
    path = tmp_path_factory.mktemp("names") / "auto.keras"
    model = _auto_named(path)
    calib = path.with_name("calib.npz")
    rng = np.random.default_rng(0)
    np.savez(calib, x=rng.random((16, 8, 8, 1), dtype=np.float32), y=rng.integers(0, 3, 16))
    return path, model, calib


def test_auto_named_relus_map_to_their_own_layers(auto_named):
    from edgeq.graph import load_graph
    from edgeq.quantize import keras_io
    from edgeq.quantize.convert import ConvertOptions, convert_model

    path, model, calib = auto_named
    relus = [layer.name for layer in model.layers if type(layer).__name__ == "ReLU"]
    assert relus == ["re_lu", "re_lu_1", "re_lu_2"]  # Keras' auto-naming, the premise of the test
    graph = load_graph(convert_model(path, str(calib), None, ConvertOptions()).tflite, check_supported=False)
    layer_of = keras_io.LayerMap(model, [t.name for t in graph.tensors])
    assert layer_of.by_structure
    # every ReLU ends up as the output of one op (fused into a conv, or a RELU op): in order
    relu_outputs = [graph.tensors[op.outputs[0]].name for op in graph.operators
                    if "Relu" in graph.tensors[op.outputs[0]].name.split(";")[0]]
    assert [layer_of(n) for n in relu_outputs] == relus
    names = keras_io.layer_names(model)
    assert [keras_io.layer_of_tensor(n, names) for n in relu_outputs] != relus  # what name matching gave
    convs = [graph.tensors[op.outputs[0]].name for op in graph.operators if op.opcode == "TRANSPOSE_CONV"]
    assert [layer_of(n) for n in convs] == ["conv2d_transpose"]


def test_keep_can_name_the_first_auto_named_layer(auto_named):
    from edgeq.quantize.convert import ConvertOptions, convert_model

    path, _, calib = auto_named
    r = convert_model(path, str(calib), None, ConvertOptions(keep=("re_lu",)))
    assert r.manifest["mixed_precision"]["int16_layers"] == ["re_lu"]


def test_a_model_traced_with_other_scopes_falls_back_to_name_matching(auto_named):
    from edgeq.quantize import keras_io

    _, model, _ = auto_named
    plain = ["model/conv2d/Conv2D", "model/re_lu/Relu", "model/re_lu_1/Relu"]  # Keras 2 style scopes
    layer_of = keras_io.LayerMap(model, plain)
    assert not layer_of.by_structure
    assert [layer_of(n) for n in plain] == ["conv2d", "re_lu", "re_lu_1"]
