"""SVDF (int8 activations, int16 state and time weights) bit-exact with TFLM, state included.

No Keras layer converts to SVDF, so the models are built by hand (tests/tflite_builder.py): odd
input sizes, ranks 1-3, memories 1-5, SVDF stacked on SVDF and next to
other ops. The state is a variable tensor TFLM keeps from one invoke to the next; the generated
code keeps it too. Every comparison runs a sequence of samples through one host process / one
booted virtual M4 and TFLM without a reset between invokes (EDGEQ_TFLM_SEQUENCE=1), so every
output after the first depends on the state the earlier invokes left.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _codegen_harness import WORKER, HostBuilder, assert_bit_exact, random_inputs, run_cases_in_child

#: the ops this module checks bit-exact (tests/test_ops_registry.py collects these)
EXPECTED_OPS = {"SVDF"}

SAMPLES = 12


def tflm_sequence(cases):
    """(model, inputs, n_outputs) cases through TFLM, each model's samples one sequence."""
    return run_cases_in_child(WORKER, cases, "TFLM", {"EDGEQ_TFLM_SEQUENCE": "1"})


def _svdf_tensors(rng, pre: str, in_size: int, features: int, memory: int, rank: int, bias: bool,
                  s_in: float, s_out: float, zp_out: int):
    """The constant and state tensors of one SVDF (TFLM's scale rule: bias = state x time weights)."""
    from tflite_builder import act, const

    s_wf, s_wt, s_state = 0.01 + rng.uniform(0, 0.02), 0.0002 + rng.uniform(0, 0.0005), 0.002 + rng.uniform(0, 0.01)
    s_wf, s_wt, s_state = (float(np.float32(v)) for v in (s_wf, s_wt, s_state))
    units = features // rank
    t = [const(f"{pre}/wf", rng.integers(-127, 128, (features, in_size)), "int8", scale=s_wf, zp=0),
         const(f"{pre}/wt", rng.integers(-32767, 32768, (features, memory)), "int16", scale=s_wt, zp=0)]
    if bias:
        t.append(const(f"{pre}/bias", rng.integers(-40000, 40000, (units,)), "int32",
                       scale=float(np.float32(s_state * s_wt)), zp=0))
    state = act(f"{pre}/state", [1, features * memory], "int16", scale=s_state, zp=0)
    state["variable"] = True
    t.append(state)
    return t, units


def svdf_model(seed: int, in_size: int, features: int, memory: int, rank: int, bias: bool = True,
               stacked: bool = False) -> bytes:
    """input [1, in_size] → SVDF (→ SVDF when stacked; plus a TANH of the input as a neighbour)."""
    from tflite_builder import act, build_tflite

    rng = np.random.default_rng(seed)
    zp_in = int(rng.integers(-20, 20))
    tensors = [act("input", [1, in_size], scale=0.03, zp=zp_in)]
    ops, outs = [], []

    def add_svdf(x: int, pre: str, n_in: int, s_in: float):
        ts, units = _svdf_tensors(rng, pre, n_in, features, memory, rank, bias, s_in, 0.05, 3)
        base = len(tensors)
        tensors.extend(ts)
        s_out = float(np.float32(0.02 + rng.uniform(0, 0.1)))
        tensors.append(act(f"{pre}/out", [1, units], scale=s_out, zp=int(rng.integers(-30, 30))))
        idx = list(range(base, len(tensors) - 1))
        inputs = [x, idx[0], idx[1], idx[2] if bias else -1, idx[-1]]
        ops.append({"op": "SVDF", "inputs": inputs, "outputs": [len(tensors) - 1],
                    "options": ("SVDFOptions", {"rank": rank})})
        return len(tensors) - 1, units, s_out

    y, units, s_y = add_svdf(0, "svdf1", in_size, 0.03)
    outs.append(y)
    if stacked:
        y2, _, _ = add_svdf(y, "svdf2", units, s_y)
        outs.append(y2)
        tensors.append(act("tanh", [1, in_size], scale=1 / 128, zp=0))
        ops.append({"op": "TANH", "inputs": [0], "outputs": [len(tensors) - 1]})
        outs.append(len(tensors) - 1)
    return build_tflite(tensors, ops, [0], outs)


# (seed, input size, features, memory, rank, bias, stacked)
CASES = [(1, 13, 12, 3, 2, True, False), (2, 7, 9, 5, 3, True, False), (3, 21, 5, 1, 1, True, False),
         (4, 10, 8, 4, 1, True, True), (5, 33, 6, 2, 2, True, False)]
IDS = [f"in{c[1]}_f{c[2]}_m{c[3]}_r{c[4]}{'' if c[5] else '_nobias'}{'_stacked' if c[6] else ''}" for c in CASES]


@pytest.fixture(scope="module")
def host_builder(tmp_path_factory) -> HostBuilder:
    return HostBuilder(tmp_path_factory.mktemp("svdf_host"))


@pytest.fixture(scope="module")
def svdf_results(host_builder):
    models = [svdf_model(*c) for c in CASES]
    hosts = [host_builder.build(m, name=f"svdf{k}") for k, m in enumerate(models)]
    inputs = [random_inputs(h.graph, SAMPLES, seed=k) for k, h in enumerate(hosts)]
    refs = tflm_sequence([(m, x, len(h.graph.outputs)) for m, x, h in zip(models, inputs, hosts)])
    return {i: (m, h, x, r) for i, m, h, x, r in zip(IDS, models, hosts, inputs, refs)}


@pytest.mark.toolchain
@pytest.mark.parametrize("case", IDS)
def test_svdf_sequence_host_bit_exact(case, svdf_results):
    """SAMPLES consecutive invokes of one process against TFLM invoked as many times."""
    _, host, x, ref = svdf_results[case]
    assert "SVDF" in {op.opcode for op in host.graph.operators}
    assert assert_bit_exact(f"SVDF {case}", host.run(x), ref) >= SAMPLES


@pytest.mark.toolchain
def test_state_is_exercised(svdf_results):
    """The reference itself depends on the state: the same input invoked twice in a row gives
    different outputs (so a generated model that dropped the state could not pass the tests above),
    and a run from a reset state reproduces the sequence's first output."""
    m, host, x, _ = svdf_results[IDS[0]]
    same = [np.repeat(x[0][:1], 3, axis=0)]
    seq = tflm_sequence([(m, same, 1)])[0][0]
    assert not np.array_equal(seq[0], seq[1]), "the SVDF state has no effect on this model"
    assert_bit_exact("same input three times", host.run(same), [seq])


@pytest.mark.toolchain
def test_state_has_its_own_arena_slot(svdf_results):
    """The planner keeps the state live over the whole invoke: no other buffer shares its bytes,
    and the generated NAME_reset() clears exactly its slot."""
    from edgeq.memory import plan_memory

    _, host, _, _ = svdf_results[IDS[3]]  # stacked: two states, other tensors and scratch around them
    g = host.graph
    plan = plan_memory(g, scratch=True)
    states = [t.index for t in g.tensors if t.is_variable]
    assert len(states) == 2
    for s in states:
        lo, hi = plan.offset(s), plan.offset(s) + g.tensors[s].nbytes
        for b in plan.buffers:
            if s in getattr(b, "tensors", ()):
                continue
            assert b.offset + b.size <= lo or b.offset >= hi, f"buffer {b} overlaps state {s}"
    src = (Path(host.gen_dir) / "svdf3.c").read_text()
    reset = src[src.index("_reset(void)"):src.index("_invoke(")]
    for s in states:
        assert f"svdf3_arena + {plan.offset(s)}, 0, {g.tensors[s].nbytes}u" in reset


@pytest.mark.emulator
def test_svdf_sequence_on_virtual_cortex_m4(svdf_results, tmp_path):
    """The stacked model's sequence on one booted Cortex-M4: the state survives between the
    protocol's inference requests."""
    from _codegen_harness import qemu_run

    m, _, x, ref = svdf_results[IDS[3]]
    few = [a[:5] for a in x]
    got = qemu_run(m, few, tmp_path, name="svdf_m4")
    assert_bit_exact("SVDF on the M4", got, [r[:5] for r in ref])


@pytest.mark.emulator
def test_svdf_sequence_on_virtual_cortex_m55(svdf_results, tmp_path):
    from _codegen_harness import qemu_run

    m, _, x, ref = svdf_results[IDS[0]]
    few = [a[:4] for a in x]
    got = qemu_run(m, few, tmp_path, board="qemu-mps3-an547", name="svdf_m55")
    assert_bit_exact("SVDF on the M55", got, [r[:4] for r in ref])


def test_refusals():
    """A fused activation, a rank that does not divide the features and a missing bias are refused by name."""
    from tflite_builder import build_tflite

    from edgeq.codegen import generate
    from edgeq.errors import EdgeqError

    import tflite_builder as B

    base = svdf_model(9, 6, 4, 2, 2)
    from edgeq.graph import load_graph
    assert load_graph(base).operators[0].opcode == "SVDF"
    rng = np.random.default_rng(0)
    ts, units = _svdf_tensors(rng, "s", 6, 4, 2, 2, True, 0.03, 0.05, 0)
    tensors = [B.act("input", [1, 6], scale=0.03, zp=0)] + ts + [B.act("out", [1, units], scale=0.05, zp=0)]
    op = {"op": "SVDF", "inputs": [0, 1, 2, 3, 4], "outputs": [5],
          "options": ("SVDFOptions", {"rank": 2, "fused_activation_function": 1})}
    with pytest.raises(EdgeqError, match="fused activation"):
        generate(build_tflite(tensors, [op], [0], [5]), "/tmp/edgeq-never-written", name="r")
    op["options"] = ("SVDFOptions", {"rank": 3})
    with pytest.raises(EdgeqError, match="rank 3"):
        generate(build_tflite(tensors, [op], [0], [5]), "/tmp/edgeq-never-written", name="r")
    op["options"] = ("SVDFOptions", {"rank": 2})
    op["inputs"] = [0, 1, 2, -1, 4]  # no bias: TFLM's Prepare crashes on it
    with pytest.raises(EdgeqError, match="without a bias"):
        generate(build_tflite(tensors, [op], [0], [5]), "/tmp/edgeq-never-written", name="r")


def test_edgeq_reference_runs_svdf_samples_as_a_sequence():
    """edgeq's own reference (what evaluate / flash-and-test compare the device with) runs an SVDF
    model's samples as one sequence, like the device; a model without SVDF stays per-sample."""
    from edgeq.reference import keeps_state, run_tflm
    from edgeq.graph import load_graph

    m = svdf_model(*CASES[0])
    g = load_graph(m)
    x = random_inputs(g, 6, seed=3)
    want = tflm_sequence([(m, x, 1)])[0][0]
    got = run_tflm(m, x[0], quantized=True).outputs_q
    assert keeps_state(m) and np.array_equal(np.asarray(got).reshape(want.shape), want)
    from tflite_builder import fc_model
    assert not keeps_state(fc_model())


def test_diff_device_refuses_a_stateful_model(tmp_path):
    """diff-device runs the model once per layer: on an SVDF every run would advance the state."""
    import subprocess
    import sys

    (tmp_path / "svdf.tflite").write_bytes(svdf_model(3, 6, 4, 3, 1))
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 6), np.float32))
    r = subprocess.run([sys.executable, "-m", "edgeq", "diff-device", str(tmp_path / "svdf.tflite"), "--board",
                        "qemu-mps2-an386", "--data", str(tmp_path / "d.npz"), "--workdir", str(tmp_path / "w")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "keeps state" in " ".join(r.stderr.split()) and "Traceback" not in r.stderr
