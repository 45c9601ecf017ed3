"""Per-model kernel routes (edgeq/codegen/routes.py -> edgeq_kernel_routes.h -> edgeq_route_guards.h):
the generated header names the variants the model's calls take, a build for that model links
only those, and whatever the header says the results stay bit-exact (a route set to 0 is a fast
path with a general one behind it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import require_tool
from edgeq.codegen.routes import ROUTES, kernel_routes

#: a route -> a function only that route links (firmware/cmsis_nn/src, firmware/cmsis_nn/edgeq);
#: checked where the full library's build has it as a function of its own (not inlined)
ROUTE_SYMBOL = {"CONV_FIELD_DSP": "edgeq_conv_field_dsp", "CONV_GENERIC_DSP": "edgeq_conv_channels_mode",
                "1X1D_DSP": "edgeq_1x1d_run", "1X1S_DSP": "edgeq_1x1s_run",
                "1X1_PAIRS_DSP": "edgeq_1x1_pairs_dispatch", "DW_3X3_DSP": "edgeq_dw_block_prepare_3x3",
                "DW_GENERIC_DSP": "edgeq_dw_row", "CONV_PAIRS_MVE": "edgeq_mve_conv_small",
                "1X1_PAIRS_MVE": "edgeq_mve_1x1_small", "DW_ROWS_MVE": "edgeq_mve_depthwise3_rows_s8"}


def _header_routes(text: str, family: str) -> dict[str, int]:
    """The EDGEQ_NEED_* values of one branch of a generated edgeq_kernel_routes.h."""
    mve, dsp = text.split("#else", 1)
    part = mve if family == "mve" else dsp
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"#define EDGEQ_NEED_(\w+) ([01])", part)}


def _set_routes(gen_dir: Path, value: int) -> None:
    """Every route of the generated header forced to ``value`` (as a wrong prediction would)."""
    h = gen_dir / "edgeq_kernel_routes.h"
    h.write_text(re.sub(r"(#define EDGEQ_NEED_\w+) [01]", rf"\1 {value}", h.read_text()))


@pytest.mark.slow
def test_header_lists_every_call_once_per_family(digits_tflite, mlperf_tflite, tmp_path):
    """Each int8 conv / depthwise call takes exactly one DSP route (a prepared 3x3 depthwise the
    unguarded DW_3X3_PACKED_DSP); under MVE the Helium routes by their own conditions; the header
    written by generate says the same as routes.py, both branches."""
    from edgeq.codegen import generate
    from edgeq.codegen.lower import lower
    from edgeq.graph import load_graph

    for name, path in (("digits", digits_tflite), ("kws", mlperf_tflite("kws")), ("vww", mlperf_tflite("vww"))):
        gen = generate(path, tmp_path / name, name=name)
        lowered = lower(load_graph(path, check_supported=True))
        r = kernel_routes(lowered)
        convs = [c.index for c in lowered.calls if c.kind in ("conv", "dwconv")]
        assert sorted(i for calls in r.dsp.values() for i in calls) == convs
        text = (gen.out_dir / "edgeq_kernel_routes.h").read_text()
        assert _header_routes(text, "dsp") == {k: int(bool(r.dsp[k])) for k in ROUTES}
        assert _header_routes(text, "mve") == {k: int(bool(r.mve[k])) for k in ROUTES}
        assert not any(r.dsp[k] for k in ROUTES if k.endswith("_MVE"))
        if name == "kws":  # the doubly-widened 1x1s and the prepared depthwise blocks, no other 1x1 / 3x3
            assert r.dsp["1X1D_DSP"] and r.dsp["DW_3X3_PACKED_DSP"]
            assert not (r.dsp["1X1_PAIRS_DSP"] or r.dsp["1X1S_DSP"] or r.dsp["DW_3X3_DSP"])
        if name == "kws":  # Helium: the first conv's 40-tap pixel-pair loop
            assert r.mve["CONV_PAIRS_MVE"]
        if name == "vww":  # Helium: the shallow 1x1s' pixel-pair loop; the first conv (three rows of
            # 9 bytes) takes the row-vector route, the 3x3 depthwise the blocks prepared for Helium
            assert r.mve["1X1_PAIRS_MVE"] and not r.mve["CONV_PAIRS_MVE"] and not r.mve["DW_ROWS_MVE"]


def _symbols(elf: Path) -> set[str]:
    """The ELF's function names, clone suffixes dropped (foo.isra.0 -> foo)."""
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split(".")[0] for line in out.splitlines() if line.strip()}


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("board_name,model,family", [
    ("qemu-mps2-an386", "digits", "dsp"),  # the first-layer field table, the generic conv
    ("qemu-mps2-an386", "kws", "dsp"),  # the doubly-widened 1x1, the prepared 3x3 depthwise blocks
    ("qemu-mps3-an547", "vww", "mve"),  # Helium: the shallow 1x1s' pixel-pair loop
])
def test_routes_link_only_what_runs_and_stay_bit_exact(board_name, model, family, digits_tflite, digits_data,
                                                        mlperf_tflite, tmp_path):
    """The model on the virtual core, three builds of the same generated code: the routes as
    generated, every route on (a library for any model) and every route off (a prediction wrong
    everywhere). All three match TFLM byte for byte; the generated routes take the instructions of
    the full library (within 0.5 %: the prediction is what the kernels choose at run time; the
    doubly-widened 1x1's count moves a little with where its stack buffer lands) and link none of
    the unneeded routes' functions; all off links no route and runs the slower general loops."""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from edgeq.boards import get_board
    from edgeq.build import build_firmware
    from edgeq.codegen import generate
    from edgeq.device.runner import run_dataset
    from edgeq.device.session import device_session
    from edgeq.reference import run_tflm

    board = get_board(board_name)
    tflite = digits_tflite if model == "digits" else mlperf_tflite(model)
    results = {}
    for variant in ("generated", "all", "none"):
        gen = generate(tflite, tmp_path / f"gen_{variant}", name=model)
        needed = _header_routes((gen.out_dir / "edgeq_kernel_routes.h").read_text(), family)
        if variant != "generated":
            _set_routes(gen.out_dir, 1 if variant == "all" else 0)
        fw = build_firmware(board, tmp_path / f"fw_{variant}", model_dir=gen.out_dir)
        with device_session(board, fw.elf) as dev:
            info = dev.client.info()
            inp = info.inputs[0]
            if model == "digits":
                x = digits_data["x_test"][:4]
                q = np.clip(np.round(x / inp.scale + inp.zero_point), -128, 127).astype(np.int8)
            else:  # random int8 inputs: every byte of the output compared all the same
                q = np.random.default_rng(7).integers(-128, 128, (2, *inp.shape)).astype(np.int8)
            q = q.reshape((-1,) + tuple(inp.shape))
            recs = run_dataset(dev.client, q, tmp_path / f"{variant}.jsonl", icount_shift=0)
        ref = run_tflm(Path(tflite).read_bytes(), q, quantized=True)
        out = np.stack([r.output_arrays(info)[0] for r in recs]).reshape(ref.outputs_q.shape)
        np.testing.assert_array_equal(out, ref.outputs_q)
        results[variant] = (fw.flash_bytes, sum(r.instructions for r in recs), _symbols(fw.elf))
    expect = {"digits": ["CONV_FIELD_DSP"], "kws": ["CONV_FIELD_DSP", "1X1D_DSP"],
              "vww": ["1X1_PAIRS_MVE"]}[model]
    assert all(needed[r] == 1 for r in expect), needed
    flash, instr, syms = results["generated"]
    checked = [r for r, sym in ROUTE_SYMBOL.items() if sym in results["all"][2]]
    assert set(expect) <= set(checked)  # each route the model shows is checked by its function
    for route in checked:
        sym = ROUTE_SYMBOL[route]
        assert (sym in syms) == bool(needed[route]), route
        assert sym not in results["none"][2], route
    assert flash < results["all"][0]
    assert abs(instr - results["all"][1]) <= 0.005 * results["all"][1]
    assert results["none"][1] > instr
