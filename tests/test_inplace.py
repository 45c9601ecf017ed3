"""In-place execution (edgeq.inplace): outputs overlapping the inputs that die at their op.

The planner is checked three ways: MemoryPlan.check (no overlap an op's declaration does not
allow), edgeq.inplace.simulate (a byte-level replay: every byte a kernel call reads still holds
what its producer wrote), and the generated code itself, bit-exact with TFLM in a build that
poisons every arena byte no later op needs before each op (EDGEQ_POISON_ARENA), on the host
(portable and DSP paths) and on the virtual Cortex-M4.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgeq import inplace
from edgeq.graph import load_graph
from edgeq.memory import plan_memory
from tflite_builder import act, build_tflite

# issue 13: the arenas in-place execution must reach (bytes)
TARGET = {"kws": 9_216, "vww": 38_912, "resnet8": 36_864}


# ------------------------------------------------------------------------------ geometry by hand

@pytest.mark.unit
def test_band_lags_by_hand():
    # 3x3 stride-1 pad-1 rows of 320 B (KWS depthwise): a band of R rows reads R + 2 input rows
    geo = inplace.RowGeom(in_h=25, in_row=320, out_h=25, out_row=320, stride=1, pad=1, reach=3, pixels=False)
    assert inplace.band_lags(geo, 1) == (-640, 640)  # write pointer two rows behind / ahead
    assert inplace.band_lags(geo, 2) == (-960, 960)
    assert inplace.band_lags(geo, 25) == (-8000, 8000)  # one call: no overlap at all
    # 1x1, 8 → 16 channels, pixel bands of 16 (VWW): walking forward the output ends a band
    # past the input's end; backward it starts a band above the input's start
    px = inplace.RowGeom(in_h=2304, in_row=8, out_h=2304, out_row=16, stride=1, pad=0, reach=1, pixels=True)
    assert inplace.band_lags(px, 16) == (-2304 * 8 - 16 * 8, 16 * 8)
    # stride 2, no top padding, 768 B input rows → 384 B output rows (VWW depthwise 48 → 24)
    s2 = inplace.RowGeom(in_h=48, in_row=768, out_h=24, out_row=384, stride=2, pad=0, reach=3, pixels=False)
    assert inplace.band_lags(s2, 1)[0] == -384


@pytest.mark.unit
@pytest.mark.parametrize("in_c, out_c, pixels", [(8, 16, 2304), (16, 16, 37), (64, 24, 50), (3, 128, 21), (48, 7, 9)])
def test_forward_pixel_bands_allow_one_in_order_call(in_c, out_c, pixels):
    """The promise behind edgeq_convolve_1x1_s8_in_place (edgeq_in_place.h: a forward pixel-banded
    layer in one call on the routes that walk the pixels in order): for every band height and the largest offset its forward plan allows, a kernel
    that walks the pixels upward in groups (1, 2 or 4), reading a group before writing it, reads
    only bytes its producer wrote: a byte-level replay, independent of the lag formula."""
    geo = inplace.RowGeom(pixels, in_c, pixels, out_c, 1, 0, 1, True)
    for rows in sorted({min(r, pixels) for r in inplace._BAND_CHOICES}):
        delta = inplace.band_lags(geo, rows)[0]
        base = max(0, -delta)  # input at base, output at base + delta
        for group in (1, 2, 4):
            owner = np.full(base + max(pixels * in_c, delta + pixels * out_c) + 1, -1)
            owner[base:base + pixels * in_c] = np.repeat(np.arange(pixels), in_c)  # input pixel ids
            for p0 in range(0, pixels, group):
                p1 = min(p0 + group, pixels)
                for p in range(p0, p1):
                    assert (owner[base + p * in_c:base + (p + 1) * in_c] == p).all(), (rows, group, p)
                owner[base + delta + p0 * out_c:base + delta + p1 * out_c] = -2  # outputs written


def _chain_graph():
    """x → ADD(x, x) → a → MUL(a, a) → b → ADD(b, x2) → y with x2 = a copy of the input alive
    throughout: elementwise ops whose dying input the output may reuse."""
    tensors = [act("x", [1, 300]), act("a", [1, 300]), act("b", [1, 300]), act("c", [1, 300]),
               act("y", [1, 300])]
    ops = [{"op": "ADD", "inputs": [0, 0], "outputs": [1]}, {"op": "MUL", "inputs": [1, 1], "outputs": [2]},
           {"op": "ADD", "inputs": [2, 0], "outputs": [3]}, {"op": "SOFTMAX", "inputs": [3], "outputs": [4]}]
    return load_graph(build_tflite(tensors, ops, [0], [4]))


@pytest.mark.unit
def test_elementwise_chain_by_hand():
    g = _chain_graph()
    classic, plan = plan_memory(g, inplace=False), plan_memory(g)
    # 304 B each: {x,a}, {x,a,b}, {x,b,c}, {c,y} → in place: b over a, c over x or b
    assert classic.arena_bytes == classic.lower_bound == 3 * 304
    assert plan.arena_bytes == plan.inplace_bound == 2 * 304
    assert {d.op for d in plan.inplace.values()} >= {1}
    for d in plan.inplace.values():
        assert d.mode == "elementwise" and d.delta <= 0
    inplace.simulate(g, plan)
    assert plan.to_dict(g)["inplace_bound"] == 608


@pytest.mark.unit
def test_check_rejects_overlaps_not_declared():
    """MemoryPlan.check: an overlap no op declares, or a declared one past its limit, fails."""
    g = _chain_graph()
    plan = plan_memory(g)
    plan.check()
    d = next(iter(plan.inplace.values()))
    # an elementwise output above its input
    bad = dataclasses.replace(plan, inplace={d.op: dataclasses.replace(d, delta=16)})
    with pytest.raises(AssertionError):
        bad.check()
    # drop the decision: the overlap is no longer declared
    with pytest.raises(AssertionError):
        dataclasses.replace(plan, inplace={}).check()


@pytest.mark.unit
def test_no_overlap_with_graph_outputs_or_live_inputs():
    """An input that is a graph output, or read again later, is never overlapped."""
    tensors = [act("x", [1, 64]), act("a", [1, 64]), act("y", [1, 64])]
    ops = [{"op": "ADD", "inputs": [0, 0], "outputs": [1]}, {"op": "ADD", "inputs": [1, 0], "outputs": [2]}]
    g = load_graph(build_tflite(tensors, ops, [0], [1, 2]))  # a is a graph output too
    plan = plan_memory(g)
    assert all(d.input != 1 for d in plan.inplace.values())  # a: a graph output
    inplace.simulate(g, plan)


@pytest.mark.unit
def test_poison_ranges_keep_exactly_the_live_buffers():
    g = _chain_graph()
    plan = plan_memory(g)
    steps = inplace.poison_ranges(g, plan)
    assert len(steps) == len(g.operators)
    for s, free in enumerate(steps):
        for b in plan.buffers:
            needed = b.kind == "tensor" and b.last >= s and (b.first < s or 0 in b.tensors)
            hit = any(lo < b.offset + b.size and b.offset < hi for lo, hi in free)
            assert not (needed and hit), (s, b)
        assert all(0 <= lo < hi <= plan.arena_bytes for lo, hi in free)


# ------------------------------------------------------------------------------ MLPerf Tiny plans

@pytest.mark.parametrize("name", ["kws", "vww", "resnet8"])
def test_mlperf_tiny_arena_below_the_liveness_bound(mlperf_tflite, name):
    g = load_graph(mlperf_tflite(name))
    for variant in ("portable", "dsp"):
        plan = plan_memory(g, variant=variant)
        classic = plan_memory(g, variant=variant, inplace=False)
        assert plan.arena_bytes <= TARGET[name] < classic.arena_bytes == plan.lower_bound
        assert plan.arena_bytes == plan.inplace_bound  # optimal for the declared overlaps
        plan.check()
        inplace.simulate(g, plan)
        for d in plan.inplace.values():  # each decision is one the op row declares
            op = g.operators[d.op]
            assert d.input in op.inputs and d.output in op.outputs
            assert d.mode == ("elementwise" if op.opcode in ("ADD", "MUL") else "rows")


# ------------------------------------------------------------------------------ generated code

@pytest.fixture(scope="module")
def poison_builders(tmp_path_factory):
    from _codegen_harness import HostBuilder

    emulate = {"portable": (), "dsp": ("EDGEQ_EMULATE_DSP",), "mve": ("EDGEQ_EMULATE_DSP", "EDGEQ_EMULATE_MVE")}
    return {path: HostBuilder(tmp_path_factory.mktemp(f"inplace_{path}"), defines=("EDGEQ_POISON_ARENA",) + d)
            for path, d in emulate.items()}


@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("path", ["portable", "dsp", "mve"])  # mve: whole-layer calls of in-place 1x1s and 3x3s
@pytest.mark.parametrize("arch, precision", [  # make test: kws and 16x8 ResNet-8; the rest with -m long
    ("kws", "int8"), pytest.param("vww", "int8", marks=pytest.mark.long),
    pytest.param("resnet8", "int8", marks=pytest.mark.long), ("resnet8", "int16x8")])
def test_inplace_models_bit_exact_with_poisoned_arena(arch, precision, path, mlperf_tflite, poison_builders):
    from _codegen_harness import assert_bit_exact, random_inputs, tflm_run_many
    from conftest import require_tool

    require_tool("gcc")
    buf = mlperf_tflite(arch, precision).read_bytes()
    host = poison_builders[path].build(buf, name=f"{arch}_{precision.replace('x', '_')}")
    plan = plan_memory(host.graph)
    assert host.arena_bytes == plan.arena_bytes < plan.lower_bound and plan.inplace
    inputs = random_inputs(host.graph, 6, seed=11)
    ref = tflm_run_many([(buf, inputs, len(host.graph.outputs))])[0]
    assert_bit_exact(f"{arch} {precision} ({path}, poisoned arena)", host.run(inputs), ref)


@pytest.mark.toolchain
def test_poison_catches_a_wrong_overlap(mlperf_tflite, tmp_path, monkeypatch):
    """Negative control: bands walked the wrong way round read clobbered rows, and the poisoned
    build shows it."""
    from _codegen_harness import HostBuilder, random_inputs, tflm_run_many
    from conftest import require_tool

    require_tool("gcc")
    real = inplace.choose_bands

    def flipped(c, delta, xb, yb):
        d = real(c, delta, xb, yb)
        if d is None or d.mode != "rows":
            return d
        return dataclasses.replace(d, backward=not d.backward, limit=10**9 if d.backward else -10**9)

    monkeypatch.setattr(inplace, "choose_bands", flipped)
    buf = mlperf_tflite("kws").read_bytes()
    host = HostBuilder(tmp_path, defines=("EDGEQ_POISON_ARENA",)).build(buf, name="kws")
    inputs = random_inputs(host.graph, 4, seed=1)
    ref = tflm_run_many([(buf, inputs, len(host.graph.outputs))])[0]
    assert not np.array_equal(host.run(inputs)[0], np.asarray(ref[0]).reshape(len(inputs[0]), -1))


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("arch, board", [  # Cortex-M4 and M55; make test runs one model on each
    ("kws", "qemu-mps2-an386"), ("resnet8", "qemu-mps3-an547"),
    pytest.param("resnet8", "qemu-mps2-an386", marks=pytest.mark.long),
    pytest.param("kws", "qemu-mps3-an547", marks=pytest.mark.long)])
def test_inplace_bit_exact_on_virtual_m4_with_poisoned_arena(arch, board, mlperf_tflite, tmp_path):
    from _codegen_harness import assert_bit_exact, qemu_run, random_inputs, tflm_run_many

    buf = mlperf_tflite(arch).read_bytes()
    g = load_graph(buf)
    plan = plan_memory(g)
    assert plan.arena_bytes <= TARGET[arch]
    inputs = random_inputs(g, 3, seed=7)
    ref = tflm_run_many([(buf, inputs, len(g.outputs))])[0]
    got = qemu_run(buf, inputs, tmp_path, board=board, name=arch, defines=("EDGEQ_POISON_ARENA",))
    assert_bit_exact(f"{arch} on {board} (poisoned arena)", got, ref)


@pytest.mark.toolchain
@pytest.mark.parametrize("path", ["dsp", "dsp_routes_off", "mve"])
def test_1x1_in_place_call_matches_separate_buffers(path, tmp_path):
    """edgeq_convolve_1x1_s8_in_place (edgeq_in_place.h) on one buffer, its output at the largest
    offset a forward band plan allows, gives the bytes of the ordinary 1x1 on separate buffers, on
    every route it takes: Helium's in-order 1x1 in one call (and band by band past 128 channels),
    the DSP doubly-widened and table routes in one call, the DSP loop with the channels outermost
    band by band (depths not a multiple of 4, a positive shift, a bias past the bounded
    requantization, or those two routes compiled out)."""
    import subprocess
    from pathlib import Path

    from _codegen_harness import CFLAGS, NN, HostBuilder
    from conftest import require_tool

    require_tool("gcc")
    defines = {"dsp": ("EDGEQ_EMULATE_DSP",),
               "dsp_routes_off": ("EDGEQ_EMULATE_DSP", "EDGEQ_NEED_1X1D_DSP=0", "EDGEQ_NEED_1X1S_DSP=0"),
               "mve": ("EDGEQ_EMULATE_DSP", "EDGEQ_EMULATE_MVE")}[path]
    builder = HostBuilder(tmp_path, defines)
    exe = tmp_path / "probe"
    subprocess.run(["gcc", *CFLAGS, *builder.defines, f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}",
                    str(Path(__file__).parent / "c" / "in_place_1x1_probe.c"), str(builder.kernel_lib()), "-o",
                    str(exe)], check=True)
    lines = []
    seed = 0
    for pixels, in_c, out_c in [(37, 8, 16), (50, 16, 16), (21, 64, 24), (9, 7, 130), (33, 12, 5), (40, 32, 64),
                                (5, 3, 2), (64, 48, 8), (22, 64, 64), (31, 32, 28)]:
        geo = inplace.RowGeom(pixels, in_c, pixels, out_c, 1, 0, 1, True)
        for band in sorted({1, 4, 16, pixels}):
            for in_off in (0, 128, -3):
                seed += 1
                lines.append(f"{pixels} {in_c} {out_c} {band} {inplace.band_lags(geo, band)[0]} {seed} {in_off}")
    out = subprocess.run([str(exe)], input="\n".join(lines), capture_output=True, text=True, check=True).stdout
    bad = [(ln, r) for ln, r in zip(lines, out.split("\n")) if r != "ok"]
    assert len(out.split("\n")) - 1 == len(lines) and not bad, bad[:5]
