"""Recurrent layers (LSTM, GRU, SimpleRNN) on their way to TFLite.

TensorFlow 2.21 cannot convert a Keras 3 recurrent layer as it is: the calibrator segfaults on
the while loop of ``LSTM``/``GRU``. Two paths work (checked; see the README section
"Recurrent layers"):

* **LSTM → tf_keras**: the model is described with the QAT bridge (``qat_bridge``), rebuilt in
  Keras 2 (``tf_keras``, in the converter's child process) with its weights, and converted
  there: each LSTM becomes one fused UNIDIRECTIONAL_SEQUENCE_LSTM op (int8, int16 cell state).
* **GRU / SimpleRNN → unrolled Keras 3**: the model is rebuilt from its config with
  ``unroll=True`` on every recurrent layer (weights copied), so the time loop becomes plain ops
  (FULLY_CONNECTED, ADD, MUL, LOGISTIC, TANH, SUB, SPLIT, UNPACK, STRIDED_SLICE, ...); with the
  batch fixed at 1 the zero initial state is a constant. (tf_keras GRU segfaults like Keras 3's.)

Stateful layers are refused: the generated code starts every inference from a zero state.
"""

from __future__ import annotations

from ..errors import InputError

LSTM_CLASSES = {"LSTM"}
UNROLL_CLASSES = {"GRU", "SimpleRNN"}
RECURRENT_CLASSES = LSTM_CLASSES | UNROLL_CLASSES | {"RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D",
                                                     "ConvLSTM3D", "TimeDistributed"}
_RNN_FAMILY = LSTM_CLASSES | UNROLL_CLASSES | {"RNN"}


def _walk(config, path=()):
    """(layer name, class name, layer config) of every layer config in a (nested) model config."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            cfg = config["config"]
            yield cfg.get("name", ""), config["class_name"], cfg
        for v in config.values():
            yield from _walk(v, path)
    elif isinstance(config, list):
        for v in config:
            yield from _walk(v, path)


def recurrent_layers(model) -> list[tuple[str, str]]:
    """(name, class) of every recurrent layer, nested models and wrappers included."""
    try:
        config = model.get_config()
    except Exception:  # a model that cannot describe itself (e.g. a SavedModel wrapper)
        return []
    out = []
    for name, cls, cfg in _walk(config):
        if cls in RECURRENT_CLASSES:
            out.append((name, cls))
    return out


def describe(layers: list[tuple[str, str]]) -> str:
    return ", ".join(f"{n!r} ({c})" for n, c in layers)


def route(model) -> tuple[str | None, list[tuple[str, str]]]:
    """How the model reaches the converter: None (as it is), "tf_keras" (LSTM: the fused op) or
    "unroll" (GRU / SimpleRNN: unrolled Keras 3); and its recurrent layers."""
    layers = recurrent_layers(model)
    if not layers:
        return None, layers
    for name, cls, cfg in _walk(model.get_config()):
        if cls in _RNN_FAMILY and cfg.get("stateful"):
            raise InputError(f"layer {name!r} ({cls}) is stateful: edgeq runs every inference from a zero "
                             "state", hint="convert the model with stateful=False")
    classes = {c for _, c in layers}
    unsupported = classes - LSTM_CLASSES - UNROLL_CLASSES - {"Bidirectional"}
    if unsupported:
        bad = [(n, c) for n, c in layers if c in unsupported]
        raise InputError(f"recurrent layer {describe(bad)} is not supported by edgeq convert",
                         hint="LSTM, GRU and SimpleRNN layers convert (stateless, fixed number of time steps)")
    inner = {c for n, c, cfg in _walk(model.get_config()) if c in _RNN_FAMILY}
    if inner <= LSTM_CLASSES:
        return "tf_keras", layers
    return "unroll", layers


def unrolled(model):
    """The Keras 3 model rebuilt from its config with unroll=True on every recurrent layer and the
    same weights (unrolling changes how the loop is traced, not what it computes)."""
    import keras

    config = model.get_config()
    for _, cls, cfg in _walk(config):
        if cls in _RNN_FAMILY:
            cfg["unroll"] = True
    try:
        clone = model.__class__.from_config(config)
    except Exception:
        clone = keras.Model.from_config(config)
    clone.set_weights(model.get_weights())
    return clone


def check_unrolled(tflite: bytes, layers: list[tuple[str, str]]) -> None:
    """An unrolled GRU whose first step the converter could not quantize: with a zero initial state
    the reset gate of step 0 is unused when the recurrent bias of the candidate is zero (an
    untrained model, use_bias=False) or reset_after=False, and the converter then leaves that
    step's SPLIT in float. Say so, naming the layers, instead of a generic float-op refusal."""
    from ..graph import load_graph

    g = load_graph(tflite, check_supported=False)
    for op in g.operators:
        if op.opcode in ("QUANTIZE", "DEQUANTIZE"):
            continue
        if any(i >= 0 and g.tensors[i].dtype == "float32" for i in (*op.inputs, *op.outputs)):
            grus = [(n, c) for n, c in layers if c == "GRU"] or layers
            raise InputError(
                f"recurrent layer(s) {describe(grus)}: the converter left operator #{op.index} ({op.opcode}) of "
                "the unrolled first time step in float32",
                hint="a GRU needs reset_after=True and a non-zero recurrent bias (as training gives it); "
                     "an untrained model or use_bias=False leaves part of step 0 unused")
