"""Calibration with a chosen range method: record min/max with the converter's calibrate-only
mode, re-estimate each activation's range from its observed values, then quantize with those."""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import InputError
from . import ranges
from .tfenv import captured_output, import_tf


def calibrated_float_model(wrapped, x: np.ndarray, progress=None) -> bytes:
    """A float .tflite whose activation tensors carry the recorded min/max (the converter's
    calibrate-only output)."""
    tf, _ = import_tf()

    def representative():
        for i in range(len(x)):
            yield [x[i:i + 1]]
            if progress:
                progress(i + 1, len(x))

    conv = tf.lite.TFLiteConverter.from_keras_model(wrapped)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv._experimental_calibrate_only = True
    return conv.convert()


def activation_values(calibrated: bytes, x: np.ndarray, indices: list[int], limit: int = 128) -> dict:
    """Values every listed tensor takes on (up to `limit`) calibration samples, float model."""
    tf, _ = import_tf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    inp = it.get_input_details()[0]["index"]
    seen: dict[int, list] = {i: [] for i in indices}
    for k in range(min(limit, len(x))):
        it.set_tensor(inp, x[k:k + 1].astype(np.float32))
        it.invoke()
        for i in indices:
            seen[i].append(np.array(it.get_tensor(i)).ravel())
    return {i: np.concatenate(v) for i, v in seen.items()}


def recorded_values(calibrated: bytes, x: np.ndarray) -> dict:
    """The values of every tensor the calibration recorded a range for (what a method chooses
    from): computed once and shared by every method tried on the same calibration."""
    import_tf()
    from tensorflow.lite.tools import flatbuffer_utils as fbu

    sg = fbu.read_model_from_bytearray(bytearray(calibrated)).subgraphs[0]
    targets = [i for i, t in enumerate(sg.tensors)
               if t.quantization is not None and t.quantization.min is not None]
    with captured_output():  # the desktop interpreter announces its XNNPACK delegate
        return activation_values(calibrated, x, targets)


def requantize_with_method(calibrated: bytes, x: np.ndarray, method: str, percentile: float,
                           per_tensor: bool, io_type, values: dict | None = None) -> tuple[bytes, dict]:
    """Replace recorded ranges by the method's choice; returns the int8 model and the ranges used.
    ``values``: ``recorded_values(calibrated, x)`` when already computed."""
    tf, _ = import_tf()
    from tensorflow.lite.python import convert as tfconvert
    from tensorflow.lite.tools import flatbuffer_utils as fbu

    model = fbu.read_model_from_bytearray(bytearray(calibrated))
    sg = model.subgraphs[0]
    if values is None:
        values = recorded_values(calibrated, x)
    targets = sorted(values)
    chosen = {}
    for i in targets:
        q = sg.tensors[i].quantization
        lo, hi = ranges.choose_range(values[i], method, percentile)
        if hi - lo <= 0:
            continue
        q.min, q.max = np.array([lo], np.float32), np.array([hi], np.float32)
        name = sg.tensors[i].name.decode() if isinstance(sg.tensors[i].name, bytes) else sg.tensors[i].name
        chosen[name] = {"observed": [float(values[i].min()), float(values[i].max())], "range": [lo, hi],
                        "clipped_fraction": ranges.clipped_fraction(values[i], lo, hi)}
    edited = bytes(fbu.convert_object_to_bytearray(model))
    try:
        with captured_output():
            out = tfconvert.mlir_quantize(edited, disable_per_channel=per_tensor, fully_quantize=True,
                                          input_data_type=io_type, output_data_type=io_type)
    except Exception as e:
        raise InputError(f"quantization with --method {method} failed: {str(e).splitlines()[0]}") from e
    return out, chosen
