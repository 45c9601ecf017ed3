"""Loading the user's float model (.keras, .h5, SavedModel) as a batch-1 Keras model."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import InputError
from .tfenv import captured_output, import_tf

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_model_path(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"model not found: {path}")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise InputError(f"{path} is a directory but not a SavedModel (no saved_model.pb)")
    elif path.suffix.lower() not in MODEL_SUFFIXES:
        raise InputError(f"unsupported model format: {path.name}",
                         hint="give a Keras 3 .keras file, a Keras 2 .h5 file or a SavedModel directory")
    elif path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        # Keras' own message for this case is "File not found", which sends the user the wrong way
        raise InputError(f"{path} is not a Keras 3 .keras file (a .keras file is a zip archive)")
    elif path.suffix.lower() in (".h5", ".hdf5") and not _is_hdf5(path):
        raise InputError(f"{path} is not an HDF5 (Keras 2 .h5) file")
    return path


def _is_hdf5(path: Path) -> bool:
    """HDF5's signature sits at offset 0, or after a user block of 512·2^k bytes."""
    size = path.stat().st_size
    with path.open("rb") as f:
        offset = 0
        while offset + 8 <= size:
            f.seek(offset)
            if f.read(8) == HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2
    return False


def load_float_model(path: Path):
    """The user's model as a Keras 3 model (a SavedModel is wrapped in a TFSMLayer)."""
    path = check_model_path(path)
    _, keras = import_tf()
    try:
        with captured_output():
            if path.is_dir():
                layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
                return _wrap_saved_model(layer, path, keras)
            return keras.models.load_model(str(path), compile=False)
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"cannot load Keras model {path}: {type(e).__name__}: {_first_line(e)}") from e


def _wrap_saved_model(layer, path: Path, keras):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures.get("serving_default")
    if fn is None:
        raise InputError(f"SavedModel {path} has no 'serving_default' signature")
    (spec,) = fn.structured_input_signature[1].values() if len(fn.structured_input_signature[1]) == 1 \
        else _multi_input(path)
    shape = tuple(spec.shape[1:])
    if any(d is None for d in shape):
        raise InputError(f"SavedModel {path} has an input of unknown shape {tuple(spec.shape)}; "
                         "edgeq needs a fixed sample shape")
    inp = keras.Input(shape=shape, name=spec.name or "input")
    out = layer(inp)
    if isinstance(out, dict):
        if len(out) != 1:
            raise InputError(f"SavedModel {path} has {len(out)} outputs; edgeq supports one")
        out = next(iter(out.values()))
    return keras.Model(inp, out, name=path.name)


def _multi_input(path: Path):
    raise InputError(f"SavedModel {path} has several inputs; edgeq supports models with one input")


def input_shape(model) -> tuple[int, ...]:
    """The sample shape (no batch axis) of a model with one input and one output (commands that
    take several call ``input_specs``)."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise InputError(f"model {model.name!r} has {len(model.inputs)} input(s) and {len(model.outputs)} "
                         "output(s); this command takes models with one input and one output",
                         hint="convert, evaluate, size-check, generate, flash-and-test, layer-error and report "
                              "take models with several")
    shape = tuple(model.inputs[0].shape[1:])
    if any(d is None for d in shape):
        raise InputError(f"model input shape {tuple(model.inputs[0].shape)} is not fixed; "
                         "edgeq needs a fixed sample shape")
    return tuple(int(d) for d in shape)


def input_specs(model) -> list[tuple[str, tuple[int, ...]]]:
    """(name, sample shape without the batch axis) of every model input, in the model's order."""
    specs = []
    for k, t in enumerate(model.inputs):
        shape = tuple(t.shape[1:])
        name = _input_name(t, k)
        if any(d is None for d in shape):
            raise InputError(f"model input {k} {name!r} has shape {tuple(t.shape)}, which is not fixed; "
                             "edgeq needs a fixed sample shape")
        specs.append((name, tuple(int(d) for d in shape)))
    return specs


def output_names(model) -> list[str]:
    """The model's output names (its output layers' names), in the model's order."""
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != len(model.outputs):
        names = [f"output_{k}" for k in range(len(model.outputs))]
    return [str(n) for n in names]


def _input_name(t, k: int) -> str:
    name = str(getattr(t, "name", "") or "").split(":")[0]
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) else f"input_{k}"


def batch_one(model):
    """Re-wrap with a fixed batch of 1: with a dynamic batch, Flatten lowers to SHAPE/STRIDED_SLICE
    /PACK ops that microcontroller runtimes don't run.

    A model with several inputs keeps its input names (the converted model's signature names them:
    ``signature_inputs`` below); several outputs stay a list (signature names output_0, output_1, ...)."""
    _, keras = import_tf()
    model = _without_tile_upsampling(model, keras)
    if len(model.inputs) == 1 and len(model.outputs) == 1:
        inp = keras.Input(shape=input_shape(model), batch_size=1, name="input")
        return keras.Model(inp, model(inp), name=model.name)
    ins = [keras.Input(shape=shape, batch_size=1, name=name) for name, shape in input_specs(model)]
    outs = model(ins if len(ins) > 1 else ins[0])
    if isinstance(outs, dict):
        outs = [outs[n] for n in output_names(model)]
    return keras.Model(ins if len(ins) > 1 else ins[0], list(outs) if len(model.outputs) > 1 else outs,
                       name=model.name)


def _without_tile_upsampling(model, keras):
    """Keras 3 lowers ``UpSampling2D(interpolation="nearest")`` to RESHAPE/TILE ops with rank-5
    tensors, and TFLM has no TILE kernel: such a model would run nowhere but in edgeq's code and
    the desktop interpreter. A ``Resizing`` to the integer multiple with nearest interpolation is
    the same function (output pixel i reads input pixel floor(i / s), with or without half-pixel
    centres, for an integer factor s) and converts to RESIZE_NEAREST_NEIGHBOR, which TFLM runs.
    Returns the model itself when it has no such layer (or is not a functional/sequential model)."""
    def plain(layer) -> bool:
        return (isinstance(layer, keras.layers.UpSampling2D) and layer.interpolation == "nearest"
                and getattr(layer, "data_format", "channels_last") == "channels_last")

    def walk(m):
        for layer in getattr(m, "layers", []):
            yield layer
            yield from walk(layer)

    if not any(plain(layer) for layer in walk(model)):
        return model

    def swap(layer):
        if plain(layer):
            _, h, w, _ = layer.input.shape
            sh, sw = layer.size
            return keras.layers.Resizing(int(h) * sh, int(w) * sw, interpolation="nearest", name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    try:
        clone = keras.models.clone_model(model, clone_function=swap, recursive=True)
    except (ValueError, TypeError, AttributeError, NotImplementedError):
        return model  # a subclassed model: keep the TILE form (edgeq still runs it)
    for old, new in zip(walk(model), walk(clone)):
        if old.weights:
            new.set_weights(old.get_weights())
    return clone


def signature_inputs(model) -> list[str]:
    """The converted model's signature input names of ``batch_one(model)``, in the model's order."""
    if len(model.inputs) == 1 and len(model.outputs) == 1:
        return ["input"]
    return [name for name, _ in input_specs(model)]


def layer_names(model) -> list[str]:
    """All layer names, nested models included (to map TFLite tensor names back to layers)."""
    names = []
    for layer in model.layers:
        names.append(layer.name)
        if hasattr(layer, "layers"):
            names.extend(layer_names(layer))
    return names


def layer_of_tensor(tensor_name: str, names: list[str]) -> str | None:
    """Name matching only ('model/sine_1/Sin' → 'sine'): the fallback of ``LayerMap``. Wrong for
    auto-named layers under Keras 3 (layer 're_lu' is traced as scope 're_lu_1')."""
    known = set(names)
    for part in reversed(tensor_name.split(";")[0].split("/")):
        if part in known:
            return part
        base = re.sub(r"_\d+$", "", part)
        if base in known:
            return base
    return None


def traced_scopes(model) -> dict[tuple[str, ...], str]:
    """The name scope each layer's ops get when Keras 3 traces the model for the converter, as a
    path (nested models add a level) → layer name.

    Keras 3 suffixes every layer's scope with a per-name counter that starts at 1 and counts the
    scopes it has handed out, in call order: layers 'conv2d', 're_lu', 're_lu_1' become scopes
    'conv2d_1', 're_lu_1', 're_lu_1_2' (the last one because 're_lu_1' was already handed out).
    Predicting them from the model's own layer order maps tensors to layers by structure, where
    matching names cannot tell 're_lu' from 're_lu_1'."""
    from collections import Counter

    out: dict[tuple[str, ...], str] = {}

    def walk(m, prefix: tuple[str, ...]) -> None:
        used: Counter = Counter()
        for layer in m.layers:
            if type(layer).__name__ == "InputLayer":
                continue
            scope = f"{layer.name}_{used[layer.name] + 1}"
            used[layer.name] += 1
            used[scope] += 1
            out[prefix + (scope,)] = layer.name
            if hasattr(layer, "layers"):
                walk(layer, prefix + (scope,))

    walk(model, ())
    return out


class LayerMap:
    """TFLite tensor name → the Keras layer that produced it, by the model's structure.

    ``tensor_names`` are the converted model's tensor names: they confirm that this converter
    traced with the scopes ``traced_scopes`` predicts (every scope part that looks like a layer's
    is one of them). If it did not (another Keras/TensorFlow release), names are matched instead."""

    def __init__(self, model, tensor_names):
        self.names = layer_names(model)
        scopes = traced_scopes(model)
        self._by_last: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for path, layer in sorted(scopes.items(), key=lambda kv: -len(kv[0])):
            self._by_last.setdefault(path[-1], []).append((path, layer))
        known = set(self.names)
        seen = {part for t in tensor_names for part in t.split(";")[0].split("/")}
        looks_like_layer = {p for p in seen if p in known or re.sub(r"(_\d+)+$", "", p) in known}
        predicted = {path[-1] for path in scopes}
        self.by_structure = bool(looks_like_layer) and looks_like_layer <= predicted

    def __call__(self, tensor_name: str) -> str | None:
        if not self.by_structure:
            return layer_of_tensor(tensor_name, self.names)
        parts = [p for p in tensor_name.split(";")[0].split("/") if p]
        for j in range(len(parts) - 1, -1, -1):
            for path, layer in self._by_last.get(parts[j], ()):  # deepest (nested) paths first
                if tuple(parts[max(0, j - len(path) + 1):j + 1]) == path:
                    return layer
        return None


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
