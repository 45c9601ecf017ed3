"""QAT in a child process with Keras 2 (tf_keras), where tensorflow-model-optimization works.

Run as `TF_USE_LEGACY_KERAS=1 python -m edgeq.quantize.qat_worker REQUEST.json`. Reads the model
(a Keras 2 .h5 file, or the bridge description + weights of a Keras 3 model), trains it with
fake quantization, converts it to full-integer TFLite and writes RESULT.tflite + RESULT.json.
"""

from __future__ import annotations

import json
import os
import re
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _layer(tf_keras, spec):
    cfg = dict(spec["config"])
    for _ in range(20):  # drop Keras-3-only arguments tf_keras does not know, one error at a time
        try:
            return tf_keras.layers.deserialize({"class_name": spec["class_name"], "config": cfg})
        except (TypeError, ValueError) as e:
            m = re.search(r"Unrecognized keyword arguments: \[([^\]]*)\]", str(e))
            bad = [b for b in re.findall(r"'(\w+)'", m.group(1)) if b in cfg] if m else []
            if not bad:
                raise
            for b in bad:
                cfg.pop(b)
    raise RuntimeError(f"cannot rebuild layer {spec['name']}")


def rebuild(tf_keras, desc, weights):
    tensors = {}
    for spec in desc["layers"]:
        if spec["class_name"] == "InputLayer":
            shape = spec["config"]["batch_input_shape"]
            tensors[spec["name"]] = [tf_keras.Input(shape=tuple(shape[1:]), name=spec["name"])]
            continue
        layer = _layer(tf_keras, spec)
        ins = [tensors[n][i] for n, i in spec["inputs"]]
        out = layer(ins if len(ins) > 1 else ins[0])
        tensors[spec["name"]] = out if isinstance(out, list) else [out]
        ws = [weights[f"{spec['name']}::{i}"] for i in range(len(layer.get_weights()))
              if f"{spec['name']}::{i}" in weights]
        if ws:
            layer.set_weights(ws)
    inputs = [tensors[s["name"]][0] for s in desc["layers"] if s["class_name"] == "InputLayer"]
    outputs = [tensors[n][i] for n, i in desc["outputs"]]
    return tf_keras.Model(inputs[0], outputs[0])


def main(request_path: str) -> None:
    import numpy as np
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    req = json.loads(open(request_path).read())
    tf_keras.utils.set_random_seed(req["seed"])
    tf.config.experimental.enable_op_determinism()
    if req.get("h5"):
        model = tf_keras.models.load_model(req["h5"], compile=False)
    else:
        with np.load(req["weights"]) as z:
            weights = {k: z[k] for k in z.files}
        model = rebuild(tf_keras, json.loads(open(req["description"]).read()), weights)
    with np.load(req["data"]) as z:
        x_train, y_train, x_calib = z["x_train"], z["y_train"], z["x_calib"]

    qat = tfmot.quantization.keras.quantize_model(model)
    probe = np.asarray(model.predict(x_train[:64], verbose=0))
    width = probe.reshape(len(probe), -1).shape[1]
    if req["task"] == "regression":
        loss = "mse"
    else:
        probs = np.all(probe >= 0) and np.allclose(probe.reshape(len(probe), -1).sum(1), 1.0, atol=1e-3)
        loss = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=not probs) if width > 1 \
            else tf_keras.losses.BinaryCrossentropy(from_logits=not (probe.min() >= 0 and probe.max() <= 1))
    qat.compile(optimizer=tf_keras.optimizers.Adam(req["learning_rate"]), loss=loss)
    steps = req["epochs"]
    for epoch in range(steps):
        qat.fit(x_train, y_train, epochs=1, batch_size=req["batch_size"], verbose=0, shuffle=True)
        print(f"progress {epoch + 1} {steps}", flush=True)

    inp = tf_keras.Input(shape=x_calib.shape[1:], batch_size=1)
    fixed = tf_keras.Model(inp, qat(inp))

    def representative():
        for i in range(len(x_calib)):
            yield [x_calib[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(fixed)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}[req["io"]]
    conv.inference_input_type = io
    conv.inference_output_type = io
    open(req["out"], "wb").write(conv.convert())


if __name__ == "__main__":
    main(sys.argv[1])
