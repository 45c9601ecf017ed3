"""The graph of whatever model the user gives size-check: a ``.tflite`` as it is (no TensorFlow),
a Keras model converted first with convert's defaults. Kept apart from ``edgeq.sizecheck`` so
that size-check (which convert uses for --board) never imports the converter."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..graph import Graph


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_model_graph(path: Path | str, calib: str | None = None, progress=None) -> tuple[Graph, str | None]:
    """A ``.tflite`` → its graph (no TensorFlow). A Keras model (.keras/.h5/SavedModel dir) is
    converted first with convert's default options; without calibration data it is calibrated
    on seeded uniform random inputs — sizes do not depend on the calibration. Returns
    (graph, note or None)."""
    from ..graph import load_graph

    path = Path(path)
    if not path.exists():
        raise InputError(f"model not found: {path}")
    if path.is_file() and path.suffix.lower() not in KERAS_SUFFIXES:
        return load_graph(path), None
    from .convert import ConvertOptions, convert_model, quantize_keras

    if calib is not None:
        res = convert_model(path, calib, None, ConvertOptions(), progress)
        return load_graph(res.tflite, name=path.name), f"converted {path.name} with convert's defaults"
    import numpy as np

    from . import keras_io

    model = keras_io.load_float_model(path)
    specs = keras_io.input_specs(model)
    if len(specs) == 1 and len(model.outputs) == 1:
        keras_io.input_shape(model)  # its message for an unfixed shape
    rng = np.random.default_rng(0)
    xs = [rng.random((32,) + shape, dtype=np.float32) for _, shape in specs]
    tfl = quantize_keras(model, xs[0] if len(xs) == 1 else xs, ConvertOptions(), progress)
    if isinstance(tfl, tuple):  # (bytes, chosen ranges) in newer versions of convert
        tfl = tfl[0]
    if len(specs) > 1 or len(model.outputs) > 1:
        from .convert import _keras_io_order

        tfl = _keras_io_order(tfl, model)  # as convert writes it: the Keras input/output order
    return load_graph(tfl, name=path.name), (f"converted {path.name} with convert's defaults, calibrated on random "
                                             "data (sizes do not depend on calibration; pass --calib for real ranges)")
