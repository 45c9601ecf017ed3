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

#: a route -> a function only that route links (firmware/cmsis_nn/src)
ROUTE_SYMBOL = {"CONV_FIELD_DSP": "edgeq_conv_field_dsp", "CONV_GENERIC_DSP": "edgeq_conv_channels_mode",
                "1X1S_DSP": "edgeq_1x1s_run", "1X1W_DSP": "edgeq_1x1w_run",
                "1X1_PAIRS_DSP": "edgeq_1x1_pairs_dispatch", "DW_3X3_DSP": "edgeq_dw_3x3_row_blocks",
                "DW_GENERIC_DSP": "edgeq_dw_row"}


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
    """Each int8 conv / depthwise call takes exactly one DSP route; under MVE only grouped convs
    reach the DSP code; the header written by generate says the same as routes.py."""
    from edgeq.codegen import generate
    from edgeq.codegen.lower import lower
    from edgeq.graph import load_graph

    for name, path in (("digits", digits_tflite), ("kws", mlperf_tflite("kws"))):
        gen = generate(path, tmp_path / name, name=name)
        lowered = lower(load_graph(path, check_supported=True))
        r = kernel_routes(lowered)
        convs = [c.index for c in lowered.calls if c.kind in ("conv", "dwconv")]
        assert sorted(i for calls in r.dsp.values() for i in calls) == convs
        assert not any(r.mve.values())  # these models have no grouped conv
        text = (gen.out_dir / "edgeq_kernel_routes.h").read_text()
        assert _header_routes(text, "dsp") == {k: int(bool(r.dsp[k])) for k in ROUTES}
        assert _header_routes(text, "mve") == {k: 0 for k in ROUTES}


@pytest.mark.emulator
@pytest.mark.slow
def test_routes_link_only_what_runs_and_stay_bit_exact(digits_tflite, digits_data, tmp_path):
    """digits on the virtual M4, three builds of the same generated code: the routes as generated,
    every route on (a library for any model) and every route off (a prediction wrong everywhere).
    All three match TFLM byte for byte; the generated routes take the instructions of the full
    library (the prediction is what the kernels choose at run time) and link none of the unneeded
    routes' functions; all off links no route and runs the slower general loops."""
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from edgeq.boards import get_board
    from edgeq.build import build_firmware
    from edgeq.codegen import generate
    from edgeq.device.runner import run_dataset
    from edgeq.device.session import device_session
    from edgeq.reference import run_tflm

    board = get_board("qemu-mps2-an386")
    x = digits_data["x_test"][:4]
    results = {}
    for variant in ("generated", "all", "none"):
        gen = generate(digits_tflite, tmp_path / f"gen_{variant}", name="digits")
        needed = _header_routes((gen.out_dir / "edgeq_kernel_routes.h").read_text(), "dsp")
        if variant != "generated":
            _set_routes(gen.out_dir, 1 if variant == "all" else 0)
        fw = build_firmware(board, tmp_path / f"fw_{variant}", model_dir=gen.out_dir)
        symbols = subprocess.run(["arm-none-eabi-nm", str(fw.elf)], capture_output=True, text=True,
                                 check=True).stdout.split()
        with device_session(board, fw.elf) as dev:
            info = dev.client.info()
            inp = info.inputs[0]
            q = np.clip(np.round(x / inp.scale + inp.zero_point), -128, 127).astype(np.int8).reshape((-1,) + inp.shape)
            recs = run_dataset(dev.client, q, tmp_path / f"{variant}.jsonl", icount_shift=0)
        ref = run_tflm(Path(digits_tflite).read_bytes(), q, quantized=True)
        out = np.stack([r.output_arrays(info)[0] for r in recs]).reshape(ref.outputs_q.shape)
        np.testing.assert_array_equal(out, ref.outputs_q)
        results[variant] = (fw.flash_bytes, sum(r.instructions for r in recs), set(symbols))
    assert needed["CONV_FIELD_DSP"] == 1  # digits' first conv has one input channel
    flash, instr, syms = results["generated"]
    for route, sym in ROUTE_SYMBOL.items():
        assert (sym in syms) == bool(needed[route]), route
        assert sym not in results["none"][2]
    assert flash < results["all"][0]
    assert abs(instr - results["all"][1]) <= 0.005 * results["all"][1]
    assert results["none"][1] > instr
