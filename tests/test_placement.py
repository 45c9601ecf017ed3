"""Memory banks (edgeq.placement, `--place arena=REGION,weights=REGION`).

Checked by building and running: the model generated with its arena in the virtual MPS3's DTCM
(its second SRAM region) and its weights in the code SRAM (its second code region), linked by
edgeq's linker script, the symbols' addresses read back from the ELF, and the model run on the
virtual Cortex-M55 bit-exact with TFLM (arena poisoned between layers).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from edgeq.boards import get_board, load_board_file
from edgeq.cli import app
from edgeq.codegen import generate
from edgeq.errors import InputError
from edgeq.graph import load_graph
from edgeq.placement import parse_place, resolve
from edgeq.sizecheck import size_check

AN547 = "qemu-mps3-an547"  # DTCM 0x20000000 (512 KiB) + SRAM 0x21000000 (default); ITCM + code SRAM 0x01000000


@pytest.mark.unit
def test_parse_and_resolve():
    assert parse_place("arena=dtcm, weights=sram_code") == {"arena": "dtcm", "weights": "sram_code"}
    p = resolve("arena=dtcm,scratch=dtcm,weights=sram_code", AN547)
    assert (p.arena, p.weights, p.arena_section, p.weights_section) == (
        "dtcm", "sram_code", ".edgeq.ram.dtcm", ".edgeq.rom.sram_code")
    assert not resolve(None, AN547) and not resolve("", None)
    for text, words in (("arena", "not CLASS=REGION"), ("stack=dtcm", "unknown buffer class"),
                        ("arena=itcm", "no SRAM region 'itcm' (a flash region)"),
                        ("weights=dtcm", "constants need a flash-kind region"),
                        ("arena=dtcm,scratch=sram", "kernel scratch is planned inside the arena"),
                        ("arena=dtcm,arena=sram", "placed twice")):
        with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
            resolve(text, AN547)
    with pytest.raises(InputError, match="needs the board"):
        resolve("arena=dtcm", None)


@pytest.mark.unit
def test_size_check_itemizes_regions_and_names_the_overflow(digits_tflite, tmp_path):
    g = load_graph(str(digits_tflite))
    plain = size_check(g, AN547)
    placed = size_check(g, AN547, place="arena=dtcm,weights=sram_code")
    regions = {b.region: b for b in placed.regions}
    assert set(regions) == {"dtcm", "sram_code"}
    assert regions["dtcm"].used == plain.plan.arena_bytes  # arena + scratch rows, as the code declares it
    assert regions["dtcm"].available == 512 * 1024
    assert regions["sram_code"].used == plain.flash_usage.data
    assert placed.sram.used == plain.sram.used - plain.plan.arena_bytes
    assert placed.flash.used == plain.flash.used - plain.flash_usage.data
    d = placed.to_dict()
    assert [r["region"] for r in d["regions"]] == ["dtcm", "sram_code"] and d["placement"]["arena"] == "dtcm"
    # a board whose second bank is too small for the arena: the failure names that bank
    toml = tmp_path / "tiny-banks.toml"
    toml.write_text("""
name = "tiny-banks"
vendor = "test"
description = "a board whose second SRAM bank is 1 KiB"
core = "cortex-m4"
fpu = "sp"
dsp = true
mve = false
clock_hz = 25_000_000
emulated = true
[[flash]]
name = "flash"
origin = 0x0
size = 0x400000
[[sram]]
name = "sram"
origin = 0x20000000
size = 0x400000
default = true
[[sram]]
name = "tcm"
origin = 0x10000000
size = 1024
[uart]
family = "cmsdk"
base = 0x40004000
baud = 115200
[flasher]
tool = "qemu"
[qemu]
machine = "mps2-an386"
""")
    board = load_board_file(toml)
    res = size_check(g, board, place="arena=tcm")
    assert not res.fits and plain.plan.arena_bytes > 1024
    msg = res.failure_message()
    assert msg.startswith("sram (tcm) over budget by") and f"{plain.plan.arena_bytes - 1024:,} B" in msg
    r = CliRunner().invoke(app, ["size-check", str(digits_tflite), "--board", AN547, "--place", "arena=itcm"])
    assert r.exit_code == 2 and "no SRAM region 'itcm'" in r.output


@pytest.mark.unit
def test_generated_sections(digits_tflite, tmp_path):
    res = generate(str(digits_tflite), tmp_path / "c", name="digits", place="arena=dtcm,weights=sram_code",
                   board=AN547)
    src = (res.out_dir / "digits.c").read_text()
    data = (res.out_dir / "digits_data.c").read_text()
    assert 'digits_arena[DIGITS_ARENA_SIZE > 0 ? DIGITS_ARENA_SIZE : 16] EDGEQ_ALIGNED(16) ' \
           'EDGEQ_SECTION(".edgeq.ram.dtcm");' in src
    arrays = [ln for ln in data.splitlines() if ln.startswith("const ")]
    assert arrays and all('EDGEQ_SECTION(".edgeq.rom.sram_code")' in ln for ln in arrays)
    assert "--place arena=dtcm,weights=sram_code" in src.splitlines()[3]
    plain = generate(str(digits_tflite), tmp_path / "p", name="digits")
    assert "EDGEQ_SECTION" not in (plain.out_dir / "digits.c").read_text()  # no --place: plain .bss / .rodata
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(tmp_path / "j"), "--board", AN547,
                                 "--place", "arena=dtcm", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["placement"]["arena_section"] == ".edgeq.ram.dtcm"


@pytest.mark.emulator
@pytest.mark.slow
def test_arena_in_second_ram_bank_on_virtual_m55(digits_tflite, digits_data, tmp_path):
    import numpy as np
    from conftest import require_tool

    from _codegen_harness import NP_TYPES, assert_bit_exact, random_inputs, tflm_run_many
    from edgeq.build import build_firmware
    from edgeq.device.client import DeviceClient
    from edgeq.device.flashers import start_qemu

    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-nm", "qemu-system-arm", "cmake"):
        require_tool(tool)
    board = get_board(AN547)
    buf = digits_tflite.read_bytes()
    g = load_graph(buf)
    res = generate(buf, tmp_path / "gen", name="digits", place="arena=dtcm,weights=sram_code", board=board)
    src = res.out_dir / "digits.c"
    src.write_text("#define EDGEQ_POISON_ARENA 1\n" + src.read_text())
    fw = build_firmware(board, tmp_path / "fw", model_dir=res.out_dir)
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(fw.elf)], capture_output=True, text=True, check=True).stdout
    syms = {p[3]: (int(p[0], 16), int(p[1], 16)) for p in (ln.split() for ln in nm.splitlines()) if len(p) == 4}
    regions = {r.name: r for r in (*board.sram, *board.flash)}
    addr, size = syms["digits_arena"]
    assert size == res.arena_bytes
    assert regions["dtcm"].origin <= addr and addr + size <= regions["dtcm"].end  # not the default SRAM
    weights = [s for s in syms if s.startswith("digits_t") or s.startswith("digits_op")]
    assert weights and all(regions["sram_code"].origin <= syms[s][0] < regions["sram_code"].end for s in weights)
    t = g.tensors[g.inputs[0]]
    x = digits_data["x_test"][:3].reshape((3,) + tuple(t.shape[1:]))
    real = np.clip(np.round(x / t.quant.scale + t.quant.zero_point), -128, 127).astype(np.int8)
    inputs = [np.concatenate([real, random_inputs(g, 3, seed=11)[0]])]
    out_t = g.tensors[g.outputs[0]]
    got = []
    with start_qemu(board.qemu_machine, fw.elf) as q:
        c = DeviceClient(q.port)
        c.wait_ready()
        assert c.info().arena_bytes == res.arena_bytes
        for s in range(len(inputs[0])):
            r = c.infer([inputs[0][s].tobytes()])
            got.append(np.frombuffer(r.outputs[0], NP_TYPES[out_t.dtype]).reshape(tuple(out_t.shape[1:])))
        c.bye()
    ref = tflm_run_many([(buf, inputs, 1)])[0]
    assert_bit_exact("digits, arena in DTCM, weights in code SRAM (virtual M55)", [np.stack(got)], ref)
