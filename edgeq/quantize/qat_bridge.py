"""Keras 3 → tf_keras bridge for quantization-aware training.

tensorflow-model-optimization only works with Keras 2 (tf_keras), and a Keras 3 `.keras` file
does not load there. The bridge describes the Keras 3 model as a plain layer graph (class,
cleaned config, inbound layers) plus its weights; the QAT worker rebuilds it in tf_keras.
"""

from __future__ import annotations

from ..errors import InputError

_DROP = {"module", "registered_name"}
# Keras 3 layer arguments that tf_keras has no notion of (their defaults mean "off")
_KERAS3_ONLY = {"quantization_config", "lora_rank", "lora_alpha", "optional", "gradient_checkpointing"}


def _clean(obj):
    """Keras 3 serialisation → what tf_keras' deserialisers read."""
    if isinstance(obj, dict):
        if obj.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and "config" in obj:
            return obj["config"].get("name", "float32")
        if obj.get("class_name") == "__keras_tensor__":
            return obj
        return {k: _clean(v) for k, v in obj.items() if k not in _DROP}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _layer_config(config: dict) -> dict:
    out = {k: v for k, v in _clean(config).items() if k not in _KERAS3_ONLY}
    for k, v in out.items():
        if k.endswith("_initializer") and v is not None:
            out[k] = "zeros"  # the trained weights are copied in afterwards; Keras 3 initializer
            # configs carry arguments tf_keras rejects
        elif isinstance(v, dict) and isinstance(v.get("config"), dict) and "class_name" in v:
            v["config"] = _layer_config(v["config"])  # a wrapped layer (Bidirectional, TimeDistributed)
    return out


def _histories(obj, out):
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            name, node, index = obj["config"]["keras_history"]
            out.append([name, int(index)])
        else:
            for v in obj.values():
                _histories(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _histories(v, out)
    return out


def describe(model) -> dict:
    """{"layers": [{name, class_name, config, inputs: [[layer, tensor_index], ...]}], "outputs": [...]}"""
    nested = [layer.name for layer in model.layers if hasattr(layer, "layers")]
    if nested:
        raise InputError(f"layer {nested[0]!r} is a nested model; QAT needs a flat model (one Keras "
                         "model whose layers are all plain layers)",
                         hint="rebuild the model without the inner model (call its layers directly), "
                              "or use `edgeq convert` (post-training quantization handles nested models)")
    cfg = model.get_config()
    layers = []
    if "input_layers" in cfg:  # functional
        for layer in cfg["layers"]:
            nodes = layer.get("inbound_nodes", [])
            if len(nodes) > 1:
                raise InputError(f"layer {layer['name']!r} is called {len(nodes)} times; QAT needs each "
                                 "layer used once")
            config = _layer_config(layer["config"])
            if layer["class_name"] == "InputLayer":
                config["batch_input_shape"] = config.pop("batch_shape", config.get("batch_input_shape"))
                config.pop("optional", None)
            inputs = _histories(nodes[0], []) if nodes else []
            layers.append({"name": layer["name"], "class_name": layer["class_name"], "config": config,
                           "inputs": inputs})
        outs = cfg["output_layers"]
        if outs and isinstance(outs[0], str):  # one output: Keras 3 writes ["name", 0, 0], not a list of them
            outs = [outs]
        outputs = [[o[0], int(o[2])] for o in outs]
    else:  # Sequential: a chain from its input
        shape = [None] + [int(d) for d in model.inputs[0].shape[1:]]
        prev = "input"
        layers.append({"name": prev, "class_name": "InputLayer", "inputs": [],
                       "config": {"batch_input_shape": shape, "dtype": "float32", "name": prev}})
        for layer in cfg["layers"]:
            if layer["class_name"] == "InputLayer":
                continue
            name = layer["config"]["name"]
            layers.append({"name": name, "class_name": layer["class_name"], "config": _layer_config(layer["config"]),
                           "inputs": [[prev, 0]]})
            prev = name
        outputs = [[prev, 0]]
    return {"layers": layers, "outputs": outputs}


def weights(model) -> dict:
    """Flat name → array map: "<layer>::<i>" for every layer with weights."""
    out = {}
    stack = list(model.layers)
    for layer in stack:
        for i, w in enumerate(layer.get_weights()):
            out[f"{layer.name}::{i}"] = w
    return out
