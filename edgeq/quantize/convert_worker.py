"""The TFLite converter in a child process (``edgeq.quantize.convert.quantize_keras``).

Run as ``python -m edgeq.quantize.convert_worker REQUEST.json``. TensorFlow's converter and
calibrator can crash the whole process (a segmentation fault in the calibrator for Keras 3
recurrent layers, aborts on parameters it rejects): here that ends this process only, and the
parent turns it into a clear error. The request names the model, in one of two forms:

* ``saved_model``: a SavedModel the parent exported from its batch-1 Keras 3 model exactly as
  ``TFLiteConverter.from_keras_model`` exports it internally (so the bytes are the same as an
  in-process conversion); converted with ``from_saved_model``;
* ``tf_keras``: the bridge description + weights of a Keras 3 model (``qat_bridge``), rebuilt in
  Keras 2 (``TF_USE_LEGACY_KERAS=1``) with a batch of 1 and converted with ``from_keras_model``:
  the path that turns a Keras LSTM into one fused UNIDIRECTIONAL_SEQUENCE_LSTM op.

Calibration samples come in an npz (``x0``, ``x1``, ... one array per input; ``names`` gives the
signature input names of a model with several inputs). Progress goes to the file descriptor in
``EDGEQ_PROGRESS_FD`` as ``progress I N`` lines. ``variants`` lists the conversions wanted (method,
granularity, percentile): they share one calibration. Results: variant k's .tflite at ``out.k``,
and JSON at ``result`` (``variants``: per variant the ``ranges`` a range method chose; or
``error``: a message for the user).
"""

from __future__ import annotations

import json
import os
import sys


def _progress_writer():
    fd = os.environ.get("EDGEQ_PROGRESS_FD")
    if not fd:
        return None
    stream = os.fdopen(int(fd), "w", buffering=1)

    def report(i: int, n: int) -> None:
        stream.write(f"progress {i} {n}\n")

    return report


def _samples(req):
    import numpy as np

    with np.load(req["data"]) as z:
        xs = [z[f"x{i}"] for i in range(req["inputs"])]
    names = req.get("names")
    if len(xs) == 1:
        return xs, (lambda i: [xs[0][i:i + 1]])
    return xs, (lambda i: {n: a[i:i + 1] for n, a in zip(names, xs)})


def _tf_keras_model(req):
    import numpy as np
    import tf_keras

    from .qat_worker import rebuild

    with np.load(req["weights"]) as z:
        weights = {k: z[k] for k in z.files}
    model = rebuild(tf_keras, json.loads(open(req["description"]).read()), weights)
    inp = tf_keras.Input(shape=tuple(model.inputs[0].shape[1:]), batch_size=1, name="input")
    return tf_keras.Model(inp, model(inp), name=model.name)


def _converter(tf, req):
    if req["mode"] == "tf_keras":
        return tf.lite.TFLiteConverter.from_keras_model(_tf_keras_model(req))
    conv = tf.lite.TFLiteConverter.from_saved_model(req["saved_model"])
    if req.get("keras_metadata", True):
        # from_keras_model records its source as a Keras model in the conversion metadata; the
        # same export converted from disk would say "saved model": one byte apart
        from tensorflow.lite.python import conversion_metadata_schema_py_generated as metadata_fb

        conv._metadata.environment.modelType = metadata_fb.ModelType.KERAS_MODEL
    return conv


def run(req) -> dict:
    """Convert every variant of the request (``variants``: method, granularity, percentile), all
    from one calibration: minmax variants through the converter's own quantizer, the others from
    one calibrate-only pass whose recorded values every range method shares."""
    from .tfenv import captured_output, import_tf

    tf, _ = import_tf() if req["mode"] != "tf_keras" else (_import_tf_legacy(), None)
    xs, sample = _samples(req)
    n = len(xs[0])
    progress = _progress_writer()

    def representative():
        for i in range(n):
            yield sample(i)
            if progress:
                progress(i + 1, n)

    from ..errors import InputError
    from .calibrate import recorded_values, requantize_with_method
    from .convert import _converter_message

    io_types = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}
    calibrated = values = None
    results = []
    for k, v in enumerate(req["variants"]):
        with captured_output() as log:
            try:
                conv = _converter(tf, req)
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
                conv.representative_dataset = representative
                if v["method"] != "minmax":
                    if calibrated is None:
                        conv._experimental_calibrate_only = True
                        calibrated = conv.convert()
                else:
                    if req["precision"] == "int16x8":
                        conv.target_spec.supported_ops = [
                            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
                        io_type = {"int8": tf.int16, "float32": tf.float32}[req["io"]]
                    else:
                        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                        io_type = io_types[req["io"]]
                    conv.inference_input_type = io_type
                    conv.inference_output_type = io_type
                    conv._experimental_disable_per_channel = v["granularity"] == "per-tensor"
                    tflite = conv.convert()
            except Exception as e:  # a converter error: the parent shows the message
                return {"error": _converter_message(e, log())}
        chosen = {}
        if v["method"] != "minmax":
            if values is None:
                values = recorded_values(calibrated, xs[0])
            try:
                tflite, chosen = requantize_with_method(calibrated, xs[0], v["method"], v["percentile"],
                                                        v["granularity"] == "per-tensor", io_types[req["io"]],
                                                        values)
            except InputError as e:
                return {"error": e.message}
        with open(f"{req['out']}.{k}", "wb") as f:
            f.write(tflite)
        results.append({"ranges": chosen})
    return {"variants": results}


def _import_tf_legacy():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    from .tfenv import captured_output

    with captured_output():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return tf


def main(request_path: str) -> None:
    req = json.loads(open(request_path).read())
    if req["mode"] == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    result = run(req)
    with open(req["result"], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    import faulthandler

    faulthandler.enable()  # a crash prints the Python frames it happened in (the parent shows them)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main(sys.argv[1])
