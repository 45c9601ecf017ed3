"""edgeq.sizecheck and the `edgeq boards` / `edgeq size-check` commands."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeq.cli import app
from edgeq.errors import InputError
from edgeq.graph import load_graph
from edgeq.sizecheck import DEFAULT_RESERVE_FLASH, DEFAULT_RESERVE_SRAM, DEFAULT_STACK_RESERVE, parse_size, size_check
from tflite_builder import act, build_tflite, fc_model

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.mark.unit
@pytest.mark.parametrize("text, value", [("512K", 524288), ("1M", 1048576), ("0x20000", 131072), ("65536", 65536),
                                         ("64KiB", 65536), ("1.5M", 1572864), (" 2k ", 2048), (4096, 4096)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.unit
@pytest.mark.parametrize("text", ["", "big", "12Q", "-5", "0xZZ", "1.3K"])
def test_parse_size_rejects(text):
    with pytest.raises(InputError):
        parse_size(text, "--flash")


def _big_activation_model(tmp_path) -> Path:
    """[1,64,64,8] int8 (32 KiB) → softmax → softmax: 64 KiB of live activations at each step."""
    tensors = [act("x", [1, 64, 64, 8]), act("a", [1, 64, 64, 8]), act("y", [1, 64, 64, 8])]
    ops = [{"op": "SOFTMAX", "inputs": [0], "outputs": [1]}, {"op": "SOFTMAX", "inputs": [1], "outputs": [2]}]
    p = tmp_path / "big_act.tflite"
    p.write_bytes(build_tflite(tensors, ops, [0], [2]))
    return p


@pytest.mark.unit
def test_size_check_items_add_up(tmp_path):
    g = load_graph(fc_model(n_in=100, n_out=30))
    r = size_check(g, flash_budget="64K", sram_budget="32K", reserve_sram=512, stack_reserve="2K")
    flash = {i.name: i.bytes for i in r.flash.items}
    assert flash["weights"] == 100 * 30
    assert flash["biases"] == 30 * 4
    assert flash["requant params"] == 30 * 8  # per-channel FC: multiplier + shift per channel
    assert flash["runtime reserve"] == DEFAULT_RESERVE_FLASH
    assert r.flash.used == sum(flash.values()) and r.flash.available == 65536
    sram = {i.name: i.bytes for i in r.sram.items}
    # in 100 B → 112 aligned, live with its 30 B output (32): 144; then 32 + 32 = 64
    assert sram["arena"] == 144
    assert sram["harness I/O buffers"] == 100 + 30
    # the stack (--stack 2K) as two rows: the deepest kernel call's measured frames and the rest
    assert (sram["kernel stack"] + sram["stack reserve"], sram["application reserve"]) == (2048, 512)
    assert r.sram.used == 144 + 130 + 2048 + 512
    assert r.fits and r.failure_message() is None
    assert r.sram.percent == pytest.approx(100 * r.sram.used / 32768)


@pytest.mark.unit
def test_size_check_overflow_names_bytes_and_dominant_item(tmp_path):
    g = load_graph(_big_activation_model(tmp_path))
    r = size_check(g, "qemu-microbit")
    assert not r.fits and r.flash.fits and not r.sram.fits
    expected = 2 * 32768 + 2 * 32768 + DEFAULT_STACK_RESERVE + DEFAULT_RESERVE_SRAM  # arena + harness I/O + reserves
    assert r.sram.used == expected
    assert r.sram.overflow == expected - 16 * 1024
    msg = r.failure_message()
    assert f"over budget by {expected - 16384:,} B" in msg and "arena" in msg
    assert r.peak["bytes"] == 65536 and len(r.peak["live"]) == 2


@pytest.mark.unit
def test_size_check_needs_board_or_budgets():
    g = load_graph(fc_model())
    with pytest.raises(InputError, match="needs a board"):
        size_check(g, flash_budget="1M")


@pytest.mark.unit
def test_cli_exit_codes_and_json(tmp_path):
    model = str(_big_activation_model(tmp_path))
    r = runner.invoke(app, ["size-check", model, "--board", "qemu-microbit"])
    assert r.exit_code == 1
    assert "over budget by" in r.output
    r = runner.invoke(app, ["size-check", model, "--board", "qemu-mps2-an386"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["size-check", model, "--flash", "1M", "--sram", "0x10000", "--json"])
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert d["fits"] is False and d["sram"]["available"] == 65536 and d["arena"]["bytes"] == 65536
    assert d["arena"]["lower_bound"] == 65536 and len(d["layers"]) == 2
    r = runner.invoke(app, ["size-check", model, "--board", "qemu-mps2-an386", "--json", "--layers",
                            "--report", str(tmp_path / "r" / "size.json")])
    assert r.exit_code == 0 and json.loads(r.stdout)["board"]["name"] == "qemu-mps2-an386"
    assert json.loads((tmp_path / "r" / "size.json").read_text()) == json.loads(r.stdout)


@pytest.mark.unit
def test_cli_usage_errors(tmp_path):
    model = str(_big_activation_model(tmp_path))
    r = runner.invoke(app, ["size-check", model, "--board", "qemu-microbt"])
    assert r.exit_code == 2 and "qemu-microbit" in r.output
    assert runner.invoke(app, ["size-check", model, "--flash", "1M"]).exit_code == 2
    assert runner.invoke(app, ["size-check", model, "--flash", "lots", "--sram", "1M"]).exit_code == 2
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\0" * 100)
    r = runner.invoke(app, ["size-check", str(bad), "--board", "qemu-mps2-an386"])
    assert r.exit_code == 2 and "not a TFLite model" in r.output
    unsupported = tmp_path / "cumsum.tflite"
    unsupported.write_bytes(fc_model(op2="CUMSUM"))
    r = runner.invoke(app, ["size-check", str(unsupported), "--board", "qemu-mps2-an386"])
    assert r.exit_code == 2 and "CUMSUM" in r.output


@pytest.mark.unit
def test_boards_command():
    r = runner.invoke(app, ["boards", "--json"])
    assert r.exit_code == 0
    boards = json.loads(r.stdout)["boards"]
    assert len(boards) >= 19 and boards[0]["emulated"]
    an386 = next(b for b in boards if b["name"] == "qemu-mps2-an386")
    assert an386["uart"]["base"] == 0x40004000 and an386["sram"][0]["origin"] == 0x20000000
    r = runner.invoke(app, ["boards"])
    assert r.exit_code == 0 and "nucleo-l4r5zi" in r.output


@pytest.mark.unit
def test_size_check_on_tflite_does_not_import_tensorflow(tmp_path):
    model = _big_activation_model(tmp_path)
    code = textwrap.dedent(f"""
        import sys
        from typer.testing import CliRunner
        from edgeq.cli import app
        r = CliRunner().invoke(app, ["size-check", {str(model)!r}, "--board", "qemu-mps2-an386", "--layers"])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(app, ["boards"])
        assert r.exit_code == 0, r.output
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tflite_micro')))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_size_check_real_models(digits_tflite, mlperf_tflite):
    r = runner.invoke(app, ["size-check", str(digits_tflite), "--board", "qemu-microbit", "--json"])
    assert r.exit_code == 0, r.output  # ~2 KiB arena: fits the micro:bit's 16 KiB
    assert json.loads(r.stdout)["fits"] is True
    kws = str(mlperf_tflite("kws"))
    r = runner.invoke(app, ["size-check", kws, "--board", "qemu-microbit", "--json"])
    assert r.exit_code == 1  # 8,640 B arena (in place; 16,000 B liveness bound) + 8 KiB stack > 16 KiB
    d = json.loads(r.stdout)
    assert d["arena"]["bytes"] == 8640 and d["arena"]["lower_bound"] == 16000 and not d["sram"]["fits"]
    assert d["arena"]["vs_liveness_bound"] == 0.54 and d["arena"]["inplace_bound"] == 8640
    assert runner.invoke(app, ["size-check", kws, "--board", "nucleo-l4r5zi"]).exit_code == 0


def test_size_check_converts_a_keras_model():
    # a real process: TensorFlow's converter writes to the process' stdout, which must stay clean
    keras_model = str(REPO / "models" / "digits" / "digits.keras")
    r = subprocess.run([sys.executable, "-m", "edgeq.cli", "size-check", keras_model, "--board", "qemu-mps2-an386",
                        "--json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(r.stdout)
    assert d["fits"] and d["model"]["ops"] == 7 and any("converted" in n for n in d["notes"])


@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("model", ["digits", "kws", "resnet8"])
def test_flash_total_within_15_percent_under_20_over_the_elf(model, digits_tflite, mlperf_tflite, tmp_path):
    """size-check's flash total (constants counted exactly + measured per-op-type code + the
    measured runtime) against the flash of the real firmware ELF for qemu-mps2-an386.

    The code sizes came from builds of these architectures (scripts/measure_code_sizes.py), so
    this mainly checks that the table, the accounting and the build still agree — a kernel that
    grows, or a model whose data is miscounted, moves the total out of the band."""
    from conftest import require_tool
    from edgeq.build import build_firmware, load_board
    from edgeq.codegen import generate

    require_tool("arm-none-eabi-gcc")
    require_tool("cmake")
    path = digits_tflite if model == "digits" else mlperf_tflite(model)
    gen = generate(path, tmp_path / "gen", name=model)
    fw = build_firmware(load_board("qemu-mps2-an386"), tmp_path / "fw", model_dir=gen.out_dir)
    r = size_check(load_graph(path), "qemu-mps2-an386")
    assert r.flash_usage.measured and r.flash_usage.family == "cortex-m4"
    est = r.flash.used
    # Never more than 15 % under the ELF; up to 20 % over it: the DSP kernels now have a loop copy
    # per requantization mode and the table charges an op type the largest measured build of it,
    # while --gc-sections keeps only the modes a model's layers use (digits: +2.5 %). Erring high
    # is the safe side for a budget check.
    assert -0.15 * fw.flash_bytes <= est - fw.flash_bytes <= 0.20 * fw.flash_bytes, (est, fw.flash_bytes)


@pytest.mark.unit
def test_scratch_row_keeps_the_sram_total(digits_tflite):
    from edgeq.memory import plan_memory

    g = load_graph(digits_tflite)
    r = size_check(g, "qemu-mps2-an386")
    sram = {i.name: i.bytes for i in r.sram.items}
    full, tensors = plan_memory(g), plan_memory(g, scratch=False)
    assert sram["arena"] == tensors.arena_bytes and sram["scratch"] == full.arena_bytes - tensors.arena_bytes > 0
    assert sram["arena"] + sram["scratch"] == r.to_dict()["arena"]["bytes"] == full.arena_bytes
    assert r.sram.used == full.arena_bytes + sram["harness I/O buffers"] + sram["kernel stack"] \
        + sram["stack reserve"] + sram["application reserve"]
    out = runner.invoke(app, ["size-check", str(digits_tflite), "--board", "qemu-mps2-an386"]).output
    assert "scratch" in out


#: the first-layer field table of arm_convolve_s8's DSP route: EDGEQ_FIELD_TABLE_WORDS int32 words
#: on the stack (firmware/cmsis_nn/src/arm_convolve_s8.c)
FIELD_TABLE_BYTES = 768 * 4
#: the doubly-widened 1x1 route's buffer of widened filters and pixels (EDGEQ_1X1D_BYTES,
#: firmware/cmsis_nn/src/arm_convolve_1x1_s8_fast.c)
X1D_BYTES = 4096


def test_kernel_stack_row_and_stack_budget(mlperf_tflite):
    """kws's first conv (one input channel) takes the field-table route (a 3 KB table on the
    stack), its 1x1s the doubly-widened route (a 4 KB buffer): the SRAM table's `kernel stack` row
    names the deeper one and is at least its buffer; the autoencoder (fully connected layers only)
    needs less than either; a --stack below kws's kernel stack plus the frames above it fails the
    `stack` budget (exit 1, JSON and message naming it)."""
    from edgeq.memory import measured_code_sizes

    if not (measured_code_sizes("cortex-m4") or {}).get("route_stack_bytes"):
        pytest.skip("edgeq/code_sizes.json has no stack figures for the M4 family")
    kws = mlperf_tflite("kws")
    r = size_check(load_graph(kws), "qemu-mps2-an386")
    ks = next(i for i in r.sram.items if i.name == "kernel stack")
    rest = next(i for i in r.sram.items if i.name == "stack reserve")
    assert "1X1D_DSP" in ks.detail and ks.bytes >= X1D_BYTES
    assert ks.bytes + rest.bytes == DEFAULT_STACK_RESERVE  # the SRAM total is unchanged
    assert r.stack.items[0].bytes == ks.bytes and r.stack.fits and r.fits
    ae = size_check(load_graph(mlperf_tflite("autoencoder")), "qemu-mps2-an386")
    assert next(i for i in ae.sram.items if i.name == "kernel stack").bytes < FIELD_TABLE_BYTES

    small = r.stack.used - 1
    tight = size_check(load_graph(kws), "qemu-mps2-an386", stack_reserve=small)
    assert not tight.fits and not tight.stack.fits and tight.stack.overflow == 1
    assert "stack over budget by 1 B" in tight.failure_message()
    out = runner.invoke(app, ["size-check", str(kws), "--board", "qemu-mps2-an386", "--stack", str(small), "--json"])
    assert out.exit_code == 1
    d = json.loads(out.stdout)
    assert d["stack"]["fits"] is False and d["stack"]["items"][0]["name"] == "kernel stack"
    assert any(i["name"] == "kernel stack" for i in d["sram"]["items"])
