"""Data-movement ops (edgeq/ops/movement.py): slices, splits, packs, transposes, pads, gathers,
depth/space shuffles, tiles. Small Keras models (one input, one branch per case), converted to
int8 and 16x8, generated, built for the host, compared byte for byte with TFLM — or, for ops
(TILE) and types (int16 GATHER / MIRROR_PAD, int64 indices) TFLM lacks, with the TFLite
interpreter's reference kernels (tests/_tflite_ref.py). Odd sizes, channel counts that are not
multiples of 4, several input ranges (zero points).

Which Keras layers produce which op (TF 2.21, Keras 3, batch 1) is asserted by EXPECTED_OPS.
"""

from __future__ import annotations

import hashlib
import inspect
import os

import numpy as np
import pytest

from _codegen_harness import (HostBuilder, assert_bit_exact, convert_keras, random_inputs, tflm_run_many,
                              uniform_data as _u)
from _tflite_ref import tflite_run_many

pytestmark = pytest.mark.toolchain

SAMPLES = 24
S = (7, 9, 5)  # odd sizes, 5 channels


def _tf_layer(fn):
    """A TensorFlow function as a Keras layer (keras.ops has no space_to_depth & co.)."""
    import keras

    class TFOp(keras.layers.Layer):
        def call(self, x):
            return fn(x)

    return TFOp()


# ------------------------------------------------------------------------------------ families
# Each returns (keras.Model, representative data function, precision).

def fam_slices_a():
    import keras
    from keras import layers as L
    x = keras.Input(S, batch_size=1)
    outs = [
        L.Cropping2D(((1, 2), (2, 1)))(x),  # STRIDED_SLICE, begin/end masks
        x[:, 1:5],
        x[:, 1:6, ::2],  # strided
        x[:, ::-1],  # negative stride over rows
        x[:, -2:, 3:-1, ::-2],  # negative begin/end, negative stride over channels
    ]
    return keras.Model(x, outs), _u(-1, 1, S), "int8"


def fam_slices_b():
    import keras
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    outs = [
        x[:, 2],  # shrink_axis_mask
        x[:, 3, 1:8:3],  # shrink + stride
        x[..., 1:4],
        K.slice(x, [0, 1, 2, 1], [1, 3, 4, 3]),  # SLICE
    ]
    return keras.Model(x, outs), _u(-1, 1, S), "int8"


def fam_splits():
    import keras
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    outs = [*K.split(x, 3, axis=2), *K.split(x, [2, 3], axis=-1)]  # SPLIT (9 -> 3 x 3), SPLIT_V (2, 1, 2)
    return keras.Model(x, outs), _u(-1, 2, S), "int8"


def fam_unpack():
    import keras
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    return keras.Model(x, K.unstack(x[:, :3], axis=1)), _u(-1, 2, S), "int8"  # UNPACK


def fam_pack():
    import keras
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    outs = [
        K.reshape(K.stack([x, x[:, ::-1]], axis=1), (1, 14, 9, 5)),  # PACK, rank 5
        K.stack([x[..., 0], x[..., 2], x[..., 4]], axis=-1),  # PACK on the last axis
    ]
    return keras.Model(x, outs), _u(-1, 2, S), "int8"


def fam_permute():
    import keras
    from keras import layers as L, ops as K
    x = keras.Input(S, batch_size=1)
    outs = [
        L.Permute((3, 1, 2))(x),
        K.transpose(x, (0, 2, 1, 3)),
        L.Permute((2, 1))(L.Reshape((63, 5))(x)),  # rank 3
        K.moveaxis(x, 3, 2),
        K.reshape(K.transpose(K.reshape(x, (1, 7, 3, 3, 5)), (0, 3, 1, 4, 2)), (1, 3, 7, 15)),  # rank 5
        K.flip(x, axis=2),  # REVERSE_V2
        K.broadcast_to(x[:, 2:3], (1, 4, 9, 5)),  # BROADCAST_TO
    ]
    return keras.Model(x, outs), _u(-1, 1, S), "int8"


def fam_pads():
    import keras
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    outs = [
        K.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]], mode="reflect"),  # MIRROR_PAD
        K.pad(x, [[0, 0], [3, 0], [0, 4], [1, 1]], mode="symmetric"),
        K.pad(x, [[0, 0], [1, 2], [2, 1], [0, 3]], constant_values=0.5),  # PADV2
        K.take(x, np.array([4, 0, 2, 2, 8], np.int32), axis=2),  # GATHER, int32 indices
        K.reshape(K.take(x, np.array([[1, 0], [6, 2]], np.int32), axis=1), (1, 4, 9, 5)),  # 2-D indices
    ]
    return keras.Model(x, outs), _u(-1, 1, S), "int8"


def fam_shuffles():
    import keras
    import tensorflow as tf
    from keras import layers as L, ops as K
    x = keras.Input(S, batch_size=1)
    outs = [
        K.reshape(_tf_layer(lambda t: tf.gather_nd(t, [[0, 1], [0, 5], [0, 3]]))(x), (1, 3, 9, 5)),  # GATHER_ND
        _tf_layer(lambda t: tf.nn.space_to_depth(t, 2))(L.Cropping2D(((0, 1), (0, 1)))(x)),
        _tf_layer(lambda t: tf.nn.depth_to_space(t, 2))(L.Conv2D(12, 1)(x)),
    ]
    return keras.Model(x, outs), _u(-1, 1, S), "int8"


def fam_tiles():
    """TILE: what Keras 3 UpSampling (nearest), RepeatVector and keras.ops.repeat/tile become."""
    import keras
    from keras import layers as L, ops as K
    x = keras.Input(S, batch_size=1)
    outs = [
        L.UpSampling2D(2)(x),  # RESHAPE, TILE, RESHAPE, TILE, RESHAPE (rank 5)
        L.UpSampling2D((2, 3))(x),
        L.UpSampling1D(3)(L.Reshape((63, 5))(x)),
        K.tile(x, (1, 2, 1, 3)),
        K.repeat(x, 2, axis=3),
        L.RepeatVector(3)(L.Flatten()(x[:, :2, :2])),
        K.reshape(x[:, None], (1, 7, 45)),  # RESHAPE + an identity rank-5 STRIDED_SLICE (TFLM stops at 4)
    ]
    return keras.Model(x, outs), _u(-1, 1, S), "int8"


def fam_gather64():
    """keras.ops.take with default (int64) indices: TFLM takes int32 indices only."""
    import keras
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    outs = [K.take(x, np.array([3, 1, 1]), axis=1), K.take(x, np.array([4, 0]), axis=-1)]
    return keras.Model(x, outs), _u(-1, 1, S), "int8"


def _rerange(fn, lo, hi, precision=None):
    def variant():
        model, _, p = fn()
        shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
        return model, _u(lo, hi, *shapes), precision or p
    return variant


fam_slices_a_pos = _rerange(fam_slices_a, 0.0, 6.0)
fam_pads_neg = _rerange(fam_pads, -3.0, -0.2)
fam_shuffles_pos = _rerange(fam_shuffles, 0.5, 4.0)
fam_splits_16 = _rerange(fam_splits, -1.0, 2.0, "int16x8")
fam_unpack_16 = _rerange(fam_unpack, -1.0, 2.0, "int16x8")
fam_pack_16 = _rerange(fam_pack, -1.0, 2.0, "int16x8")
fam_slices_a_16 = _rerange(fam_slices_a, -1.0, 3.0, "int16x8")
fam_slices_b_16 = _rerange(fam_slices_b, -1.0, 3.0, "int16x8")
fam_permute_16 = _rerange(fam_permute, -2.0, 1.0, "int16x8")
fam_tiles_16 = _rerange(fam_tiles, -1.0, 1.0, "int16x8")
fam_gather64_16 = _rerange(fam_gather64, -1.0, 1.0, "int16x8")


def fam_gather_nd_16():
    import keras
    import tensorflow as tf
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    outs = [K.reshape(_tf_layer(lambda t: tf.gather_nd(t, [[0, 6, 1], [0, 0, 8]]))(x), (1, 2, 5))]
    return keras.Model(x, outs), _u(-1, 1, S), "int16x8"


def fam_pads_16():
    """16x8: the converter has no 16x8 form of SPACE_TO_DEPTH / DEPTH_TO_SPACE, and writes a PADV2
    whose pad value stays float32 (neither TFLM nor TFLite runs it; edgeq refuses it)."""
    import keras
    from keras import ops as K
    x = keras.Input(S, batch_size=1)
    outs = [
        K.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]], mode="reflect"),
        K.pad(x, [[0, 0], [3, 0], [0, 4], [1, 1]], mode="symmetric"),
        K.take(x, np.array([4, 0, 2, 2, 8], np.int32), axis=2),
        K.reshape(K.take(x, np.array([[1, 0], [6, 2]], np.int32), axis=1), (1, 4, 9, 5)),
    ]
    return keras.Model(x, outs), _u(-1, 1, S), "int16x8"


FAMILIES = {name[4:]: fn for name, fn in sorted(globals().items()) if name.startswith("fam_")}

EXPECTED_OPS = {
    "slices_a": {"STRIDED_SLICE"}, "slices_b": {"STRIDED_SLICE", "SLICE"},
    "splits": {"SPLIT", "SPLIT_V"}, "unpack": {"UNPACK"}, "pack": {"PACK"},
    "permute": {"TRANSPOSE", "REVERSE_V2", "BROADCAST_TO"},
    "pads": {"MIRROR_PAD", "PADV2", "GATHER"},
    "shuffles": {"GATHER_ND", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE"},
    "tiles": {"TILE", "RESHAPE", "STRIDED_SLICE"},
    "gather64": {"GATHER"},
    "pads_16": {"MIRROR_PAD", "GATHER"},
    "gather_nd_16": {"GATHER_ND"},
}
for _v, _b in (("slices_a_pos", "slices_a"), ("pads_neg", "pads"), ("shuffles_pos", "shuffles"),
               ("splits_16", "splits"), ("unpack_16", "unpack"), ("pack_16", "pack"), ("slices_a_16", "slices_a"),
               ("slices_b_16", "slices_b"), ("permute_16", "permute"), ("tiles_16", "tiles"),
               ("gather64_16", "gather64")):
    EXPECTED_OPS[_v] = EXPECTED_OPS[_b]

# ops only the hand-made graphs below contain (test_hand_made_graphs_bit_exact)
EXPECTED_OPS["hand_made"] = {"EXPAND_DIMS", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "PADV2", "TRANSPOSE"}

# families held to the TFLite interpreter: TILE, rank-5 STRIDED_SLICE, int64 GATHER indices, int16
# GATHER / MIRROR_PAD / GATHER_ND (TFLM has no kernel for them)
TFLITE_REF = {"tiles", "gather64", "gather64_16", "pads_16", "gather_nd_16"}
# int16 TILE: no interpreter has it (TFLite: "Type 'INT16' is not supported by tile"). The family
# only moves elements, so its reference is the int8 model of the same graph run by TFLite on the
# low and on the high bytes of the int16 inputs, the output bytes put back together.
BYTE_SPLIT_REF = {"tiles_16": "tiles"}


# ------------------------------------------------------------------------------------ fixtures

def _family_src(fn) -> str:
    """The source a family's model depends on (its function, the base family and range of a
    variant, the shared helpers): editing one family re-converts only that one."""
    parts = [inspect.getsource(fn), repr(S), inspect.getsource(_tf_layer)]
    for cell in fn.__closure__ or ():
        v = cell.cell_contents
        parts.append(_family_src(v) if callable(v) else repr(v))
    return "\n".join(parts)


def _family_key(name: str) -> str:
    import tensorflow as tf
    src = _family_src(FAMILIES[name])
    return hashlib.sha256(f"{tf.__version__}\n{name}\n{src}".encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def movement_models(request) -> dict[str, bytes]:
    """name → .tflite bytes (cached on disk by source hash)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    cache = request.config.cache.mkdir("edgeq_movement_models")
    out = {}
    for name, fn in FAMILIES.items():
        path = cache / f"{name}-{_family_key(name)}.tflite"
        if not path.exists():
            keras.utils.set_random_seed(7)
            model, data_fn, precision = fn()
            io = "int16" if precision == "int16x8" else "int8"
            path.write_bytes(convert_keras(model, data_fn, io, precision=precision))
        out[name] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def host_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("movement_host"))


@pytest.fixture(scope="session")
def movement_results(movement_models, host_builder):
    """name → (graph, inputs, host model, reference outputs or the exception)."""
    from concurrent.futures import ThreadPoolExecutor

    from edgeq import ops

    ops.registry()  # load the op registry once, before threads race to load it
    models = dict(movement_models)
    tflite_ref = set(TFLITE_REF)
    for n, (buf, kind) in _hand_graphs().items():  # one reference run each for families and hand-made graphs
        models[n] = buf
        if kind == "tflite":
            tflite_ref.add(n)
    names = sorted(models)
    with ThreadPoolExecutor(max_workers=2) as ex:
        built = dict(zip(names, ex.map(lambda n: _try(host_builder.build, models[n], name=f"mv_{n}"), names)))
    from edgeq.graph import load_graph

    inputs, ref = {}, {}
    for runner, group in ((tflm_run_many, [n for n in names if n not in tflite_ref | set(BYTE_SPLIT_REF)]),
                          (tflite_run_many, [n for n in names if n in tflite_ref])):
        cases = []
        for n in group:
            g = load_graph(models[n], check_supported=False)
            inputs[n] = random_inputs(g, SAMPLES, seed=len(n))
            cases.append((models[n], inputs[n], len(g.outputs)))
        if runner is tflite_run_many:
            for n, base in BYTE_SPLIT_REF.items():
                g = load_graph(movement_models[n], check_supported=False)
                inputs[n] = random_inputs(g, SAMPLES, seed=len(n))
                lo = [(x.astype(np.int16) & 0xFF).astype(np.uint8).view(np.int8) for x in inputs[n]]
                hi = [(x.astype(np.int16) >> 8).astype(np.int8) for x in inputs[n]]
                group = group + [f"{n}:lo", f"{n}:hi"]
                cases += [(movement_models[base], lo, len(g.outputs)), (movement_models[base], hi, len(g.outputs))]
        try:
            ref.update(zip(group, runner(cases)))
        except AssertionError:
            for n, case in zip(group, cases):
                ref[n] = _try(lambda c: runner([c])[0], case)
    for n in BYTE_SPLIT_REF:
        lo, hi = ref.pop(f"{n}:lo"), ref.pop(f"{n}:hi")
        if isinstance(lo, Exception) or isinstance(hi, Exception):
            ref[n] = lo if isinstance(lo, Exception) else hi
        else:
            ref[n] = [(h.astype(np.int16) << 8) | l.view(np.uint8).astype(np.int16) for l, h in zip(lo, hi)]
    return {n: (inputs[n], built[n], ref[n]) for n in names}


def _try(fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except Exception as e:  # reported by the test that needs it
        return e


# ------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_bit_exact(family, movement_models, movement_results):
    from edgeq.graph import load_graph

    graph = load_graph(movement_models[family], check_supported=False)
    ops = {op.opcode for op in graph.operators}
    assert EXPECTED_OPS[family] <= ops, f"{family}: converter produced {sorted(ops)}"
    if family in BYTE_SPLIT_REF:  # the int8 twin must be the same graph (ops may come in another order)
        twin = load_graph(movement_models[BYTE_SPLIT_REF[family]], check_supported=False)

        def sig(g):
            return (sorted((o.opcode, [tuple(g.tensors[i].shape) for i in o.outputs]) for o in g.operators),
                    [tuple(g.tensors[i].shape) for i in g.outputs])
        assert sig(graph) == sig(twin)
    inputs, host, ref = movement_results[family]
    if isinstance(host, Exception):
        raise host
    if isinstance(ref, Exception):
        pytest.fail(f"reference could not run {family}: {ref}")
    n = assert_bit_exact(family, host.run(inputs), ref)
    assert n >= SAMPLES


# ------------------------------------------------------------------------------------ hand-made graphs
# Ops no Keras layer converts to (EXPAND_DIMS: the converter writes RESHAPE; BATCH_TO_SPACE_ND needs
# a dynamic batch; an int16 PADV2 with an int16 pad value: the converter leaves it float32).

def _hand_graphs() -> dict[str, tuple[bytes, str]]:
    """name → (.tflite bytes, reference "tflm" | "tflite")."""
    from tflite_builder import act, build_tflite, const

    out = {}
    for dt, zp in (("int8", -3), ("int16", 0)):
        # x[1,4,6] → EXPAND_DIMS(axis 2) → e[1,4,1,6] → TRANSPOSE(0,3,1,2) → y[1,6,4,1]
        tensors = [act("x", [1, 4, 6], dt, 0.05, zp), const("axis", np.array([2]), "int32"),
                   act("e", [1, 4, 1, 6], dt, 0.05, zp), const("perm", np.array([0, 3, 1, 2]), "int32"),
                   act("y", [1, 6, 4, 1], dt, 0.05, zp)]
        ops = [{"op": "EXPAND_DIMS", "inputs": [0, 1], "outputs": [2]},
               {"op": "TRANSPOSE", "inputs": [2, 3], "outputs": [4]}]
        out[f"expand_dims_{dt}"] = (build_tflite(tensors, ops, [0], [4]), "tflm")
        # x[1,72] → RESHAPE → r[4,3,3,2] → BATCH_TO_SPACE_ND(block 2x2, crops [[0,1],[1,0]]) → y[1,5,5,2]
        tensors = [act("x", [1, 72], dt, 0.1, zp), const("shape", np.array([4, 3, 3, 2]), "int32"),
                   act("r", [4, 3, 3, 2], dt, 0.1, zp), const("block", np.array([2, 2]), "int32"),
                   const("crops", np.array([[0, 1], [1, 0]]), "int32"), act("y", [1, 5, 5, 2], dt, 0.1, zp)]
        ops = [{"op": "RESHAPE", "inputs": [0, 1], "outputs": [2]},
               {"op": "BATCH_TO_SPACE_ND", "inputs": [2, 3, 4], "outputs": [5]}]
        out[f"batch_to_space_{dt}"] = (build_tflite(tensors, ops, [0], [5]), "tflm" if dt == "int8" else "tflite")
        # x[1,5,3] → PADV2(paddings [[0,0],[1,2],[0,1]], pad value) → y[1,8,4]
        tensors = [act("x", [1, 5, 3], dt, 0.05, zp), const("pads", np.array([[0, 0], [1, 2], [0, 1]]), "int32"),
                   const("value", np.array(17 if dt == "int8" else -1234), dt, scale=0.05, zp=zp),
                   act("y", [1, 8, 4], dt, 0.05, zp)]
        ops = [{"op": "PADV2", "inputs": [0, 1, 2], "outputs": [3]}]
        out[f"padv2_{dt}"] = (build_tflite(tensors, ops, [0], [3]), "tflm")
        # x[1,5,5,2] → SPACE_TO_BATCH_ND(block 2x2, paddings [[1,0],[0,1]]) → r[4,3,3,2] → RESHAPE → y[1,72]
        # held to TFLite: TFLM pads with uninitialized memory (0 in a fresh arena, -96 after other models)
        out[f"space_to_batch_{dt}"] = (_space_to_batch(dt, zp), "tflite")
    return out


def _space_to_batch(dt: str, zp: int) -> bytes:
    from tflite_builder import act, build_tflite, const

    tensors = [act("x", [1, 5, 5, 2], dt, 0.1, zp), const("block", np.array([2, 2]), "int32"),
               const("pads", np.array([[1, 0], [0, 1]]), "int32"), act("r", [4, 3, 3, 2], dt, 0.1, zp),
               const("shape", np.array([1, 72]), "int32"), act("y", [1, 72], dt, 0.1, zp)]
    ops = [{"op": "SPACE_TO_BATCH_ND", "inputs": [0, 1, 2], "outputs": [3]},
           {"op": "RESHAPE", "inputs": [3, 4], "outputs": [5]}]
    return build_tflite(tensors, ops, [0], [5])


@pytest.mark.parametrize("name", sorted(_hand_graphs()))
def test_hand_made_graph_bit_exact(name, movement_results):
    inputs, host, ref = movement_results[name]
    for r in (host, ref):
        if isinstance(r, Exception):
            raise r
    assert_bit_exact(name, host.run(inputs), ref)


def test_hand_made_graphs_cover_their_ops_and_expand_dims_aliases(movement_results, tmp_path):
    from edgeq.codegen import generate
    from edgeq.graph import load_graph

    graphs = _hand_graphs()
    seen = {op.opcode for buf, _ in graphs.values() for op in load_graph(buf).operators}
    assert EXPECTED_OPS["hand_made"] <= seen
    # EXPAND_DIMS is an alias: x and e share one arena buffer, no copy
    g = load_graph(graphs["expand_dims_int8"][0])
    res = generate(graphs["expand_dims_int8"][0], tmp_path / "check", name="ed")
    assert res.kernels.get("alias") == 1
    from edgeq.memory import plan_memory
    plan = plan_memory(g)
    assert plan.offset(0) == plan.offset(2)


def _refusal(buf: bytes) -> str:
    from edgeq.codegen import generate
    from edgeq.errors import InputError

    import tempfile
    with tempfile.TemporaryDirectory() as d, pytest.raises(InputError) as e:
        generate(buf, d, name="r")
    return str(e.value)


def test_refuses_requantizing_copies():
    """A slice whose output quantization differs from its input's: TFLM copies the bytes (values
    that would mean something else); edgeq refuses, naming the op."""
    from tflite_builder import act, build_tflite, const

    tensors = [act("x", [1, 6, 4], scale=0.05, zp=-3), const("b", np.array([0, 1, 0]), "int32"),
               const("e", np.array([1, 4, 4]), "int32"), const("s", np.array([1, 1, 1]), "int32"),
               act("y", [1, 3, 4], scale=0.1, zp=-3)]
    buf = build_tflite(tensors, [{"op": "STRIDED_SLICE", "inputs": [0, 1, 2, 3], "outputs": [4]}], [0], [4])
    msg = _refusal(buf)
    assert "STRIDED_SLICE" in msg and "quantization differ" in msg


def test_refuses_float_pad_value_of_16x8_padv2(request):
    """keras.ops.pad(constant_values=...) in 16x8 mode: the converter leaves the pad value float32
    (TFLM and TFLite both refuse to prepare it); edgeq refuses it with a message."""
    import tensorflow as tf

    path = request.config.cache.mkdir("edgeq_movement_models") / f"padv2_float-{tf.__version__}.tflite"
    if not path.exists():
        import keras

        x = keras.Input(S, batch_size=1)
        model = keras.Model(x, keras.ops.pad(x, [[0, 0], [1, 0], [0, 1], [0, 0]], constant_values=0.5))
        path.write_bytes(convert_keras(model, _u(-1, 1, S), "int16", precision="int16x8"))
    msg = _refusal(path.read_bytes())
    assert "PADV2" in msg and "pad value" in msg


@pytest.mark.emulator
def test_permute_family_on_cortex_m4(movement_models, movement_results, tmp_path):
    """arm_transpose_s8 and edgeq_move on the virtual Cortex-M4, byte for byte with TFLM."""
    from _codegen_harness import qemu_run

    inputs, _, ref = movement_results["permute"]
    n = 4
    got = qemu_run(movement_models["permute"], [x[:n] for x in inputs], tmp_path)
    assert_bit_exact("permute on the M4", got, [r[:n] for r in ref])


def test_cortex_m4_compile_every_family(movement_models, tmp_path):
    """Every family's generated C compiles warning-free for Cortex-M4F (the kernels with it)."""
    from _codegen_harness import cross_compile
    from conftest import require_tool

    from edgeq.codegen import generate

    cc = require_tool("arm-none-eabi-gcc")
    dirs = [generate(buf, tmp_path / f"m_{n}", name=f"mv_{n}").out_dir for n, buf in sorted(movement_models.items())]
    cross_compile(cc, dirs, tmp_path / "obj", kernels=True)
