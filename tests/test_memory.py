"""edgeq.memory: lifetimes, the arena planner, scratch and flash accounting.

The liveness lower bound is recomputed here from the graph with separate, deliberately simple
code (not edgeq.memory's), and compared with the planner and the published MLPerf Tiny figures.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edgeq.graph import load_graph
from edgeq.memory import flash_usage, plan_memory, scratch_bytes
from tflite_builder import act, build_tflite, const

PUBLISHED_BOUND = {"kws": 16_000, "vww": 55_296, "resnet8": 49_152, "autoencoder": 768}


def independent_bound(g, scratch: bool = False, variant: str = "portable") -> int:
    """max over op steps of the 16-byte-rounded bytes of activation tensors alive at that step
    (plus, with ``scratch``, the 16-byte-rounded scratch of the op running at that step: a
    kernel's scratch lives during its own call only; sizes from ``scratch_bytes``, whose
    formulas test_scratch_formulas_by_hand checks by hand).

    A tensor is alive from the op that writes it (graph inputs: op 0) to the last op that reads
    it (graph outputs: the last op). RESHAPE/SQUEEZE outputs are the same memory as their input,
    so such a pair counts once for the union of both lifetimes.
    """
    n = len(g.operators)
    is_act = lambda i: i >= 0 and g.tensors[i].data is None  # noqa: E731
    owner = {}
    for op in g.operators:
        if op.opcode in ("RESHAPE", "SQUEEZE") and is_act(op.inputs[0]):
            src = op.inputs[0]
            owner[op.outputs[0]] = owner.get(src, src)
    span = {}

    def touch(i, s):
        i = owner.get(i, i)
        lo, hi = span.get(i, (s, s))
        span[i] = (min(lo, s), max(hi, s))

    for i in g.inputs:
        touch(i, 0)
    for i in g.outputs:
        touch(i, n - 1)
    for s, op in enumerate(g.operators):
        for i in list(op.inputs) + list(op.outputs):
            if is_act(i):
                touch(i, s)
    size = {i: -(-g.tensors[i].nbytes // 16) * 16 for i in span}
    extra = [-(-scratch_bytes(g, op, variant) // 16) * 16 if scratch else 0 for op in g.operators]
    return max(sum(size[i] for i, (lo, hi) in span.items() if lo <= s <= hi) + extra[s] for s in range(n))


def assert_valid_plan(g, plan):
    """No two buffers alive at the same step share a byte; all offsets 16-aligned; every
    activation tensor placed; aliases share the offset of their input."""
    for b in plan.buffers:
        assert b.offset % 16 == 0 and b.offset + b.aligned_size <= plan.arena_bytes
    for a, b in itertools.combinations(plan.buffers, 2):
        if a.first <= b.last and b.first <= a.last:
            assert a.offset + a.aligned_size <= b.offset or b.offset + b.aligned_size <= a.offset, (a, b)
    for t in g.activation_tensors():
        assert plan.offset(t.index) >= 0
    for op in g.operators:
        if op.opcode in ("RESHAPE", "SQUEEZE") and g.tensors[op.inputs[0]].data is None:
            assert plan.offset(op.outputs[0]) == plan.offset(op.inputs[0])


# ---------------------------------------------------------------------------- hand-made graphs

def _skip_graph(n=250):
    """x → softmax → a → softmax → b; add(x, b) → y   (x must survive until the add)."""
    tensors = [act("x", [1, n]), act("a", [1, n]), act("b", [1, n]), act("y", [1, n])]
    ops = [{"op": "SOFTMAX", "inputs": [0], "outputs": [1]}, {"op": "SOFTMAX", "inputs": [1], "outputs": [2]},
           {"op": "ADD", "inputs": [0, 2], "outputs": [3]}]
    return load_graph(build_tflite(tensors, ops, [0], [3]))


@pytest.mark.unit
def test_skip_connection_bound_by_hand():
    g = _skip_graph(250)  # 250 B → 256 B aligned; steps live: {x,a}, {x,a,b}, {x,b,y}
    plan = plan_memory(g, inplace=False)
    assert plan.lower_bound == 3 * 256 == independent_bound(g)
    assert plan.arena_bytes == 768 and plan.peak_step == 1
    assert_valid_plan(g, plan)
    lt = {g.tensors[b.tensors[0]].name: (b.first, b.last) for b in plan.buffers}
    assert lt == {"x": (0, 2), "a": (0, 1), "b": (1, 2), "y": (2, 2)}


@pytest.mark.unit
def test_reshape_aliases_its_input():
    tensors = [act("x", [1, 4, 4, 2]), act("p", [1, 4, 4, 2]), act("flat", [1, 32]), act("y", [1, 32]),
               const("shape", np.array([1, 32]), "int32")]
    ops = [{"op": "SOFTMAX", "inputs": [0], "outputs": [1]}, {"op": "RESHAPE", "inputs": [1, 4], "outputs": [2]},
           {"op": "SOFTMAX", "inputs": [2], "outputs": [3]}]
    g = load_graph(build_tflite(tensors, ops, [0], [3]))
    plan = plan_memory(g)
    assert plan.offset(1) == plan.offset(2)
    assert len([b for b in plan.buffers if b.kind == "tensor"]) == 3  # x, p(=flat), y
    assert plan.lower_bound == independent_bound(g) == 64
    assert_valid_plan(g, plan)


@pytest.mark.unit
def test_plan_is_deterministic():
    g = _skip_graph(100)
    assert plan_memory(g).to_dict(g) == plan_memory(g).to_dict(g)


@pytest.mark.unit
def test_random_graphs_reach_the_bound():
    """Random graphs with skip connections: plans are valid, never worse than the greedy
    baseline, and reach the liveness bound even where the greedy baseline does not."""
    rng = np.random.default_rng(0)
    greedy_missed = 0
    for trial in range(40):
        n_ops = int(rng.integers(3, 12))
        tensors = [act("t0", [1, int(rng.integers(1, 300))])]
        ops = []
        for k in range(n_ops):
            size = int(tensors[-1]["shape"][1])
            tensors.append(act(f"t{k + 1}", [1, size]))
            if k > 1 and rng.random() < 0.4:
                j = int(rng.integers(0, k))  # ADD a skip from an earlier tensor of the same size
                tensors[-1]["shape"] = [1, size]
                tensors[j]["shape"] = list(tensors[j]["shape"])
                ops.append({"op": "CONCATENATION", "inputs": [k, j], "outputs": [k + 1]})
                tensors[-1]["shape"] = [1, size + int(tensors[j]["shape"][1])]
            else:
                tensors[-1]["shape"] = [1, int(rng.integers(1, 400))]
                ops.append({"op": "SOFTMAX", "inputs": [k], "outputs": [k + 1]})
        g = load_graph(build_tflite(tensors, ops, [0], [n_ops]))
        plan = plan_memory(g)
        assert_valid_plan(g, plan)
        assert plan.lower_bound == independent_bound(g)
        assert plan.arena_bytes == plan.lower_bound <= plan.greedy_bytes
        greedy_missed += plan.greedy_bytes > plan.lower_bound
    assert greedy_missed > 0  # the cases where trying other orderings matters


@pytest.mark.unit
def test_scratch_formulas_by_hand():
    """CONV_2D im2col scratch: 2 columns × align4(kh·kw·cin) × int16; 1×1 unpadded: none."""
    def conv(cin, k):  # no options table → VALID padding, stride 1
        out = 8 - k + 1
        tensors = [act("x", [1, 8, 8, cin]), const("w", np.ones((4, k, k, cin)), "int8", scale=[0.1] * 4, zp=0),
                   const("b", np.zeros(4), "int32", scale=[0.01] * 4, zp=0), act("y", [1, out, out, 4])]
        g = load_graph(build_tflite(tensors, [{"op": "CONV_2D", "inputs": [0, 1, 2], "outputs": [3]}], [0], [3]))
        return scratch_bytes(g, g.operators[0])

    assert conv(1, 3) == 2 * 12 * 2  # 9 → 12
    assert conv(8, 3) == 2 * 72 * 2
    assert conv(3, 5) == 2 * 76 * 2  # 75 → 76
    assert conv(16, 1) == 0


# --------------------------------------------------------------------------- converted models

def test_digits_plan(digits_tflite):
    g = load_graph(digits_tflite)
    tensors_only = plan_memory(g, scratch=False, inplace=False)
    assert tensors_only.arena_bytes == tensors_only.lower_bound == independent_bound(g)
    full = plan_memory(g, inplace=False)
    assert_valid_plan(g, full)
    assert full.arena_bytes == full.lower_bound == independent_bound(g, scratch=True) >= independent_bound(g)
    # conv1: 3x3x1 → 2*12*2 = 48 B scratch, conv2: 3x3x8 → 2*72*2 = 288 B
    assert sorted(b.size for b in full.buffers if b.kind == "scratch") == [48, 288]


def test_digits_flash(digits_tflite):
    import warnings

    from edgeq.quantize.tfenv import import_tf

    tf, _ = import_tf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_path=str(digits_tflite))
    consts = []
    for d in it.get_tensor_details():
        try:
            consts.append((d, it.get_tensor(d["index"])))
        except ValueError:
            continue
    int8 = [(d, a) for d, a in consts if a.dtype == np.int8 and a.ndim >= 2]
    int32 = [(d, a) for d, a in consts if a.dtype == np.int32 and d["quantization_parameters"]["scales"].size]
    fu = flash_usage(load_graph(digits_tflite))
    assert fu.weights == sum(a.nbytes for _, a in int8)
    assert fu.biases == sum(a.nbytes for _, a in int32)
    # per output channel: int32 multiplier + int32 shift (all four layers are per-channel here)
    assert fu.quant_params == 8 * sum(len(d["quantization_parameters"]["scales"]) for d, _ in int8)
    assert fu.macs == 8 * 8 * 8 * 9 + 8 * 8 * 16 * 72 + 256 * 32 + 32 * 10


@pytest.mark.parametrize("name", ["kws", "vww", "resnet8", "autoencoder"])
def test_mlperf_tiny_arena_equals_bound(mlperf_tflite, name):
    g = load_graph(mlperf_tflite(name))
    bound = independent_bound(g)
    assert bound == PUBLISHED_BOUND[name]
    plan = plan_memory(g, scratch=False, inplace=False)
    assert plan.arena_bytes == plan.lower_bound == bound
    assert_valid_plan(g, plan)
    full = plan_memory(g, inplace=False)  # with kernel scratch: at the independent bound that includes scratch
    assert full.arena_bytes == full.lower_bound == independent_bound(g, scratch=True)
    assert_valid_plan(g, full)
    dsp = plan_memory(g, variant="dsp", inplace=False)  # the scratch sizes upstream CMSIS-NN wants on a DSP core
    assert dsp.arena_bytes == dsp.lower_bound == independent_bound(g, scratch=True, variant="dsp")


@pytest.fixture(scope="module")
def many_ops_tflite(tmp_path_factory):
    """A small Keras model that lowers to PAD, CONCATENATION, LOGISTIC, MUL and MEAN as well."""
    from edgeq.quantize.convert import ConvertOptions, convert_model
    from edgeq.quantize.tfenv import import_tf

    _, keras = import_tf()
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    x = keras.layers.ZeroPadding2D(((1, 2), (1, 2)))(inp)  # not foldable into SAME
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.Concatenate()([x, y])
    x = keras.layers.Multiply()([x, keras.layers.Activation("sigmoid")(x)])
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(3, activation="softmax")(x)
    root = tmp_path_factory.mktemp("many_ops")
    keras.Model(inp, out).save(root / "m.keras")
    np.savez(root / "calib.npz", x=np.random.default_rng(0).random((32, 8, 8, 3), dtype=np.float32))
    convert_model(root / "m.keras", str(root / "calib.npz"), root / "m.tflite", ConvertOptions(samples=32))
    return root / "m.tflite"


def test_more_ops_parse_plan_and_count(many_ops_tflite):
    g = load_graph(many_ops_tflite)
    codes = [op.opcode for op in g.operators]
    assert {"PAD", "CONCATENATION", "LOGISTIC", "MUL", "MEAN", "DEPTHWISE_CONV_2D"} <= set(codes), codes
    mean = next(op for op in g.operators if op.opcode == "MEAN")
    assert mean.options["keep_dims"] in (False, True)
    assert list(g.tensors[mean.inputs[1]].data.reshape(-1)) == [1, 2]  # averaged over H and W
    concat = next(op for op in g.operators if op.opcode == "CONCATENATION")
    assert concat.options["axis"] in (3, -1)
    pad = next(op for op in g.operators if op.opcode == "PAD")
    assert g.tensors[pad.inputs[1]].data.tolist() == [[0, 0], [1, 2], [1, 2], [0, 0]]
    plan = plan_memory(g, scratch=False, inplace=False)
    assert plan.arena_bytes == plan.lower_bound == independent_bound(g)
    assert_valid_plan(g, plan)
    fu = flash_usage(g)
    assert fu.constants == 0  # paddings / axis are folded into the code, not emitted as arrays
    ints8 = [t for t in g.tensors if t.is_constant and t.dtype == "int8"]
    assert fu.weights == sum(t.nbytes for t in ints8)


def squeeze_graph():
    """x[1,4,1,6] → ADD(x,x) → a → SQUEEZE (no options: every size-1 dim) → s[4,6] → RESHAPE →
    r[1,4,6]; ADD(r,r) → y. The RESHAPE gives the output its batch dimension back.

    Built by hand because the converter writes RESHAPE where Keras squeezes."""
    tensors = [act("x", [1, 4, 1, 6], scale=0.05, zp=-3), act("a", [1, 4, 1, 6], scale=0.1, zp=2),
               act("s", [4, 6], scale=0.1, zp=2), act("r", [1, 4, 6], scale=0.1, zp=2),
               act("y", [1, 4, 6], scale=0.2, zp=-1), const("shape", np.array([1, 4, 6]), "int32")]
    ops = [{"op": "ADD", "inputs": [0, 0], "outputs": [1]}, {"op": "SQUEEZE", "inputs": [1], "outputs": [2]},
           {"op": "RESHAPE", "inputs": [2, 5], "outputs": [3]}, {"op": "ADD", "inputs": [3, 3], "outputs": [4]}]
    return build_tflite(tensors, ops, [0], [4])


@pytest.mark.unit
def test_squeeze_aliases_its_input():
    g = load_graph(squeeze_graph())
    assert [op.opcode for op in g.operators] == ["ADD", "SQUEEZE", "RESHAPE", "ADD"]
    plan = plan_memory(g, inplace=False)
    assert plan.offset(1) == plan.offset(2) == plan.offset(3)  # no copy: a, s and r are one buffer
    assert plan.buffer_of(1) is plan.buffer_of(2) is plan.buffer_of(3)
    assert len([b for b in plan.buffers if b.kind == "tensor"]) == 3  # x, a(=s=r), y
    # 24 B → 32 each; live: {x,a}, {a}, {a}, {a,y}; x is not needed after step 0
    assert plan.lower_bound == independent_bound(g) == 64 == plan.arena_bytes
    assert_valid_plan(g, plan)
