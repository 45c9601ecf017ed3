"""Several models, one arena (`edgeq generate A.tflite B.tflite ...`, `edgeq size-check A B ...`).

The generated set is checked by running it: both models linked into one program over the one
shared arena, A then B on every sample, the whole arena poisoned before each model (so a model
reading bytes the other left behind cannot pass), every output byte compared with TFLM — on the
host, and as firmware on the virtual Cortex-M4 through the serial test harness.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeq.cli import app
from edgeq.codegen import generate
from edgeq.codegen.model_set import SHARED_SYMBOL, generate_set
from edgeq.graph import load_graph
from tflite_builder import fc_model

# A wrapper model for the test harness: inputs = A's then B's, outputs likewise. Its invoke poisons
# the whole shared arena, runs A, poisons it again, runs B. Written from the generated headers'
# defines (the same I/O description the models' own edgeq_model_t carries).
_PAIR_C = """\
#include <string.h>
#include "edgeq_model.h"
#include "{shared}.h"
{includes}

static const edgeq_tensor_info_t pair_inputs[] = {{ {inputs} }};
static const edgeq_tensor_info_t pair_outputs[] = {{ {outputs} }};

static int pair_invoke(const void *const *inputs, void *const *outputs)
{{
    int status;
    memset({shared}, 0x5A, {guard}_SIZE); /* whatever a previous model left: gone */
    status = {a}_invoke(inputs, outputs);
    if (status != 0) {{ return status; }}
    memset({shared}, 0xC3, {guard}_SIZE);
    status = {b}_invoke(inputs + {a_in}, outputs + {a_out});
    memset({shared}, 0x96, {guard}_SIZE);
    return status;
}}

const edgeq_model_t pair_model = {{
    "pair", {{0}}, {guard}_SIZE, {n_in}, {n_out}, pair_inputs, pair_outputs, pair_invoke,
}};
"""

_PAIR_CMAKE = """\
cmake_minimum_required(VERSION 3.16)
add_library(edgeq_model_pair STATIC ${{CMAKE_CURRENT_LIST_DIR}}/pair.c)
add_library(edgeq_model ALIAS edgeq_model_pair)
add_subdirectory({gen} set)
target_link_libraries(edgeq_model_pair PUBLIC edgeq_models)
set(EDGEQ_GENERATED_MODEL_SYMBOL pair_model PARENT_SCOPE)
"""


def _io_info(guard: str, kind: str, k: int, rank: int) -> str:
    p = f"{guard}_{kind}{k}"
    dims = ", ".join(f"{p}_DIM{d}" for d in range(rank)) + ", 0" * (4 - rank)
    return f"{{{p}_DTYPE, {p}_RANK, {{{dims}}}, {p}_BYTES, {p}_SCALE, {p}_ZERO_POINT}}"


def write_pair(directory: Path, gen_dir: Path, names: list[str], graphs: list) -> Path:
    """pair.c (and a CMakeLists.txt that builds it over the generated set) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    a, b = names
    ins = [_io_info(n.upper(), "INPUT", k, len(g.tensors[t].shape)) for n, g in zip(names, graphs)
           for k, t in enumerate(g.inputs)]
    outs = [_io_info(n.upper(), "OUTPUT", k, len(g.tensors[t].shape)) for n, g in zip(names, graphs)
            for k, t in enumerate(g.outputs)]
    (directory / "pair.c").write_text(_PAIR_C.format(
        shared=SHARED_SYMBOL, guard=SHARED_SYMBOL.upper(), includes="\n".join(f'#include "{n}.h"' for n in names),
        inputs=", ".join(ins), outputs=", ".join(outs), a=a, b=b, a_in=len(graphs[0].inputs),
        a_out=len(graphs[0].outputs), n_in=len(ins), n_out=len(outs)))
    (directory / "CMakeLists.txt").write_text(_PAIR_CMAKE.format(gen=Path(gen_dir).resolve().as_posix()))
    return directory


def _arena_define(header: Path, guard: str) -> int:
    return int(re.search(rf"^#define {guard}_(?:ARENA_)?SIZE (\d+)$", header.read_text(), re.M).group(1))


def _two_models(digits_tflite) -> tuple[list[bytes], list[str]]:
    return [Path(digits_tflite).read_bytes(), fc_model(n_in=48, n_out=12, op2="RELU", seed=3)], ["digits", "dense"]


# ------------------------------------------------------------------------------------ generate

@pytest.mark.unit
def test_set_files_and_arena_is_the_max(digits_tflite, tmp_path):
    bufs, names = _two_models(digits_tflite)
    res = generate_set(bufs, tmp_path / "set", names=names)
    out = res.out_dir
    alone = [generate(b, tmp_path / f"alone_{n}", name=n).arena_bytes for b, n in zip(bufs, names)]
    # each model declares the arena it would have alone; the shared one is the largest of them
    assert [m.arena_bytes for m in res.models] == alone
    assert [_arena_define(out / f"{n}.h", n.upper()) for n in names] == alone
    assert res.arena_bytes == _arena_define(out / f"{SHARED_SYMBOL}.h", SHARED_SYMBOL.upper()) == max(alone)
    assert res.arena_sum == sum(alone)
    for n in names:
        src = (out / f"{n}.c").read_text()
        assert f"{n}_arena" not in src and f"{SHARED_SYMBOL} +" in src  # every offset is into the shared array
        assert "--name digits,dense" in src.splitlines()[3]
    cm = (out / "CMakeLists.txt").read_text()
    assert cm.count("add_library(edgeq_nn STATIC") == 1  # kernels once
    assert all(f"add_library(edgeq_model_{n} STATIC" in cm for n in names)
    # the same inputs give the same bytes
    again = generate_set(bufs, tmp_path / "set2", names=names)
    for f in sorted(p.name for p in out.iterdir() if p.is_file()):
        assert (again.out_dir / f).read_bytes() == (out / f).read_bytes(), f


@pytest.mark.unit
def test_set_cli_and_refusals(digits_tflite, tmp_path):
    dense = tmp_path / "dense.tflite"
    dense.write_bytes(fc_model(n_in=48, n_out=12, op2="RELU", seed=3))
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), str(dense), "-o", str(tmp_path / "c"), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert [m["name"] for m in d["models"]] == ["digits", "dense"]  # names from the file names
    assert d["arena_bytes"] == max(m["arena_bytes"] for m in d["models"])
    for args, words in (([str(digits_tflite), str(digits_tflite)], "used twice"),
                        ([str(digits_tflite), str(dense), "--name", "a"], "1 names for 2 models"),
                        ([str(digits_tflite), str(dense), "--name", "a,2b"], "not a usable C identifier")):
        r = CliRunner().invoke(app, ["generate", *args, "-o", str(tmp_path / "bad")])
        assert r.exit_code == 2 and words in r.output, r.output
        assert not (tmp_path / "bad").exists()


@pytest.mark.unit
def test_size_check_set(digits_tflite, tmp_path):
    from edgeq.sizecheck import size_check

    dense = tmp_path / "dense.tflite"
    dense.write_bytes(fc_model(n_in=48, n_out=12, op2="RELU", seed=3))
    r = CliRunner().invoke(app, ["size-check", str(digits_tflite), str(dense), "--board", "qemu-mps2-an386",
                                 "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    alone = [size_check(load_graph(str(p)), "qemu-mps2-an386") for p in (digits_tflite, dense)]
    arenas = [a.plan.arena_bytes for a in alone]
    assert d["arena"]["bytes"] == max(arenas) and d["arena"]["sum_of_separate_bytes"] == sum(arenas)
    assert [m["arena_bytes"] for m in d["models"]] == arenas
    sram = {i["name"]: i["bytes"] for i in d["sram"]["items"]}
    assert sram["shared arena"] == max(arenas)
    flash = {i["name"]: i["bytes"] for i in d["flash"]["items"]}
    items = [{i.name: i.bytes for i in a.flash.items} for a in alone]
    assert flash["weights"] == sum(x["weights"] for x in items)
    # kernel code: both models call FULLY_CONNECTED, whose code is counted once (compared without
    # the kernel routes: the set's library links every route of its op types, a model built alone
    # only the routes its layers take)
    from edgeq.codegen.routes import route_op
    from edgeq.memory import measured_code_sizes

    ops = {k for a in alone for k, v in a.flash_usage.kernel_code.items() if v}
    route_bytes = (measured_code_sizes(alone[0].board["core"]) or {}).get("route_bytes", {})
    set_routes = sum(n for r, n in route_bytes.items() if route_op(r) in ops)
    alone_routes = sum(v for a in alone for k, v in a.flash_usage.kernel_code.items() if k.startswith("route "))
    assert flash["kernel code (est.)"] - set_routes < sum(x["kernel code (est.)"] for x in items) - alone_routes
    assert flash["runtime reserve"] == items[0]["runtime reserve"]  # once, not per model
    # over budget: exit 1, naming the set's memory
    r = CliRunner().invoke(app, ["size-check", str(digits_tflite), str(dense), "--flash", "16K", "--sram", "64K"])
    assert r.exit_code == 1 and "flash over budget" in r.output and "2 models" in r.output


# ------------------------------------------------------------------------------- running the set

def _reference(bufs, inputs):
    from _codegen_harness import tflm_run_many

    graphs = [load_graph(b) for b in bufs]
    return tflm_run_many([(b, x, len(g.outputs)) for b, x, g in zip(bufs, inputs, graphs)])


def _inputs(digits_tflite, bufs, digits_data, n):
    """Digits: n real test images (quantized as the model's input) then n random; dense: random."""
    from _codegen_harness import random_inputs

    g = load_graph(bufs[0])
    t = g.tensors[g.inputs[0]]
    x = digits_data["x_test"][:n].reshape((n,) + tuple(t.shape[1:]))
    real = np.clip(np.round(x / t.quant.scale + t.quant.zero_point), -128, 127).astype(np.int8)
    digits = [np.concatenate([real, random_inputs(g, n, seed=5)[0]])]
    return [digits, random_inputs(load_graph(bufs[1]), 2 * n, seed=6)]


@pytest.mark.unit
def test_set_bit_exact_on_host(digits_tflite, digits_data, tmp_path):
    from _codegen_harness import CFLAGS, NN, NP_TYPES, RUNNER_C, RUNTIME, HostBuilder, assert_bit_exact

    bufs, names = _two_models(digits_tflite)
    graphs = [load_graph(b) for b in bufs]
    res = generate_set(bufs, tmp_path / "set", names=names)
    pair = write_pair(tmp_path / "pair", res.out_dir, names, graphs)
    gen = res.out_dir
    exe = tmp_path / "runner"
    srcs = [gen / f"{n}{s}.c" for n in names for s in ("", "_data")] + [gen / f"{SHARED_SYMBOL}.c", pair / "pair.c"]
    p = subprocess.run(["gcc", *CFLAGS, f"-I{NN / 'include'}", f"-I{NN / 'edgeq'}", f"-I{RUNTIME}", f"-I{gen}",
                        "-DEDGEQ_MODEL_SYMBOL=pair_model", *map(str, srcs), str(RUNNER_C),
                        str(HostBuilder(tmp_path / "k").kernel_lib()), "-lm", "-o", str(exe)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    inputs = _inputs(digits_tflite, bufs, digits_data, 8)
    n = len(inputs[0][0])
    stream = b"".join(inputs[0][0][s].tobytes() + inputs[1][0][s].tobytes() for s in range(n))
    run = subprocess.run([str(exe)], input=stream, capture_output=True)
    assert run.returncode == 0, run.stderr
    outs = [g.tensors[g.outputs[0]] for g in graphs]
    raw = np.frombuffer(run.stdout, np.uint8).reshape(n, sum(t.nbytes for t in outs))
    got = [raw[:, :outs[0].nbytes].copy().view(NP_TYPES[outs[0].dtype]),
           raw[:, outs[0].nbytes:].copy().view(NP_TYPES[outs[1].dtype])]
    ref = _reference(bufs, inputs)
    for k, name in enumerate(names):
        assert_bit_exact(f"{name} (shared arena, host)", [got[k]], ref[k])


@pytest.mark.emulator
@pytest.mark.slow
def test_set_bit_exact_on_virtual_m4(digits_tflite, digits_data, tmp_path):
    """One firmware, two models over one arena on the virtual Cortex-M4: each model also poisons
    every arena byte no later op of its own needs before each op (EDGEQ_POISON_ARENA), and the
    whole arena is poisoned between the models."""
    from conftest import require_tool

    from _codegen_harness import NP_TYPES, assert_bit_exact
    from edgeq.build import build_firmware, load_board
    from edgeq.device.client import DeviceClient
    from edgeq.device.flashers import start_qemu

    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-nm", "qemu-system-arm", "cmake"):
        require_tool(tool)
    bufs, names = _two_models(digits_tflite)
    graphs = [load_graph(b) for b in bufs]
    res = generate_set(bufs, tmp_path / "set", names=names)
    for n in names:
        src = res.out_dir / f"{n}.c"
        src.write_text("#define EDGEQ_POISON_ARENA 1\n" + src.read_text())
    pair = write_pair(tmp_path / "pair", res.out_dir, names, graphs)
    board = load_board("qemu-mps2-an386")
    fw = build_firmware(board, tmp_path / "fw", model_dir=pair)
    # one arena in the image, the size of the largest model's, no per-model arena
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(fw.elf)], capture_output=True, text=True, check=True).stdout
    syms = {ln.split()[-1]: int(ln.split()[1], 16) for ln in nm.splitlines() if len(ln.split()) == 4}
    assert syms[SHARED_SYMBOL] == res.arena_bytes == max(m.arena_bytes for m in res.models)
    assert not any(s.endswith("_arena") and s != SHARED_SYMBOL for s in syms)
    inputs = _inputs(digits_tflite, bufs, digits_data, 3)
    n = len(inputs[0][0])
    outs = [g.tensors[g.outputs[0]] for g in graphs]
    got = [[], []]
    with start_qemu(board.qemu_machine, fw.elf) as q:
        c = DeviceClient(q.port)
        c.wait_ready()
        assert c.info().arena_bytes == res.arena_bytes
        for s in range(n):
            r = c.infer([inputs[0][0][s].tobytes(), inputs[1][0][s].tobytes()])
            for k, (t, raw) in enumerate(zip(outs, r.outputs)):
                got[k].append(np.frombuffer(raw, NP_TYPES[t.dtype]).reshape(tuple(t.shape[1:])))
        c.bye()
    ref = _reference(bufs, inputs)
    for k, name in enumerate(names):
        assert_bit_exact(f"{name} (shared arena, virtual M4)", [np.stack(got[k])], ref[k])
