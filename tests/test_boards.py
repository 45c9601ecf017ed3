"""edgeq.boards: every board file validates; QEMU memory maps as checked in FACTS.md; errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeq.boards import BOARDS_DIR, board_files, get_board, list_boards, load_board_file
from edgeq.errors import InputError

KiB, MiB = 1024, 1024 * 1024

REAL_BOARDS = ["nucleo-l4r5zi", "nucleo-f446re", "nucleo-h743zi2", "stm32f746g-disco", "nrf52840-dk",
               "arduino-nano-33-ble-sense", "rpi-pico", "rpi-pico2", "sparkfun-edge", "adafruit-feather-m4",
               "teensy41", "mimxrt1060-evk"]

# machine → (core, default code region (origin, size), default data region, UART family, UART base)
QEMU = {
    "qemu-mps2-an385": ("cortex-m3", (0x0, 4 * MiB), (0x20000000, 4 * MiB), "cmsdk", 0x40004000),
    "qemu-mps2-an386": ("cortex-m4", (0x0, 4 * MiB), (0x20000000, 4 * MiB), "cmsdk", 0x40004000),
    "qemu-mps2-an500": ("cortex-m7", (0x0, 4 * MiB), (0x20000000, 4 * MiB), "cmsdk", 0x40004000),
    "qemu-mps2-an505": ("cortex-m33", (0x10000000, 4 * MiB), (0x38000000, 4 * MiB), "cmsdk", 0x50200000),
    "qemu-mps3-an547": ("cortex-m55", (0x0, 512 * KiB), (0x21000000, 4 * MiB), "cmsdk", 0x59303000),
    "qemu-netduinoplus2": ("cortex-m4", (0x08000000, 1 * MiB), (0x20000000, 128 * KiB), "stm32", 0x40011000),
    "qemu-microbit": ("cortex-m0", (0x0, 256 * KiB), (0x20000000, 16 * KiB), "nrf51", 0x40002000),
}


@pytest.mark.unit
def test_every_board_file_validates():
    files = board_files()
    assert len(files) >= 19
    boards = list_boards()
    assert len(boards) == len(files)
    for b in boards:
        assert b.path.stem == b.name
        assert b.flash_bytes > 0 and b.sram_bytes > 0
        assert sum(r.default for r in b.sram) == 1 or len(b.sram) == 1


@pytest.mark.unit
def test_required_boards_exist():
    names = {b.name for b in list_boards()}
    assert set(REAL_BOARDS) <= names
    assert set(QEMU) <= names
    for n in REAL_BOARDS:
        assert not get_board(n).emulated
    assert all(not b.emulated for b in list_boards()[len(QEMU):])  # virtual boards listed first


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(QEMU))
def test_qemu_memory_maps_and_uarts(name):
    core, code, data, family, uart = QEMU[name]
    b = get_board(name)
    assert b.emulated and b.flasher["tool"] == "qemu"
    assert b.qemu_machine == name.removeprefix("qemu-")
    assert b.core == core
    assert (b.default_flash.origin, b.default_flash.size) == code
    assert (b.default_sram.origin, b.default_sram.size) == data
    assert (b.uart.family, b.uart.base) == (family, uart)


@pytest.mark.unit
def test_extra_banks():
    an547 = {r.name: (r.origin, r.size) for r in get_board("qemu-mps3-an547").sram}
    assert an547["dtcm"] == (0x20000000, 512 * KiB)
    assert {r.name: (r.origin, r.size) for r in get_board("qemu-netduinoplus2").sram}["ccm"] == (0x10000000, 64 * KiB)
    h7 = get_board("nucleo-h743zi2")
    assert len(h7.sram) >= 4 and h7.default_sram.origin == 0x24000000 and h7.default_sram.size == 512 * KiB


@pytest.mark.unit
@pytest.mark.parametrize("name, flash, sram, core", [
    ("nucleo-l4r5zi", 2 * MiB, 640 * KiB, "cortex-m4"),
    ("nucleo-f446re", 512 * KiB, 128 * KiB, "cortex-m4"),
    ("stm32f746g-disco", 1 * MiB, 320 * KiB, "cortex-m7"),
    ("nrf52840-dk", 1 * MiB, 256 * KiB, "cortex-m4"),
    ("rpi-pico", 2 * MiB, 264 * KiB, "cortex-m0plus"),
    ("rpi-pico2", 4 * MiB, 520 * KiB, "cortex-m33"),
    ("adafruit-feather-m4", 512 * KiB - 16 * KiB, 192 * KiB, "cortex-m4"),
])
def test_datasheet_figures(name, flash, sram, core):
    b = get_board(name)
    assert (b.flash_bytes, b.sram_bytes, b.core) == (flash, sram, core)


@pytest.mark.unit
def test_stm32_uarts_say_their_register_layout():
    for b in list_boards():
        if b.uart.family == "stm32":
            assert b.uart.regs in ("sr", "isr")
    assert get_board("qemu-netduinoplus2").uart.regs == "sr"
    assert get_board("nucleo-h743zi2").uart.regs == "isr"
    drivers = {b.name: b.uart.driver for b in list_boards()}
    assert drivers["qemu-netduinoplus2"] == "stm32" and drivers["nucleo-l4r5zi"] == "stm32v2"
    assert drivers["qemu-microbit"] == drivers["nrf52840-dk"] == "nrf"
    assert drivers["rpi-pico"] == "pl011" and drivers["teensy41"] == "lpuart" and drivers["qemu-mps2-an386"] == "cmsdk"


@pytest.mark.unit
def test_unknown_board_lists_close_matches():
    with pytest.raises(InputError) as e:
        get_board("qemu-mps2-an368")
    assert "unknown board 'qemu-mps2-an368'" in e.value.message and "qemu-mps2-an386" in e.value.message
    with pytest.raises(InputError, match="nucleo-l4r5zi"):
        get_board("nucleo-l4r5")
    assert get_board("mps2-an386").name == "qemu-mps2-an386"  # the QEMU machine name works too


def _write(tmp_path: Path, text: str, name: str = "myboard") -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


_BASE = (BOARDS_DIR / "qemu-mps2-an386.toml").read_text().replace("qemu-mps2-an386", "myboard")


@pytest.mark.unit
@pytest.mark.parametrize("edit, field", [
    (lambda s: s.replace('core = "cortex-m4"', 'core = "cortex-m99"'), "core"),
    (lambda s: s.replace('core = "cortex-m4"\n', ""), "core"),
    (lambda s: s.replace("clock_hz = 25_000_000", 'clock_hz = "fast"'), "clock_hz"),
    (lambda s: s.replace('family = "cmsdk"', 'family = "uart9000"'), "uart.family"),
    (lambda s: s.replace('family = "cmsdk"', 'family = "stm32"'), "uart.regs"),
    (lambda s: s.replace("[qemu]\nmachine", "[qemux]\nmachine"), "qemux"),
    (lambda s: s.replace('tool = "qemu"', 'tool = "openocd"\nconfig = "x.cfg"'), "flasher.tool"),
    (lambda s: s.replace("size = 0x00400000\ndefault = true",
                         "size = 0x00400000\ndefault = true\n\n[[sram]]\nname = \"b\"\norigin = 0x20001000\n"
                         "size = 0x1000"), "sram"),
    (lambda s: s.replace('name = "myboard"', 'name = "other"'), "name"),
    (lambda s: s.replace("dsp = true", "dsp = 1"), "dsp"),
])
def test_broken_board_files_name_file_and_field(tmp_path, edit, field):
    load_board_file(_write(tmp_path, _BASE))  # the unedited copy is valid
    with pytest.raises(InputError) as e:
        load_board_file(_write(tmp_path, edit(_BASE)))
    assert "myboard.toml" in e.value.message and f"'{field}'" in e.value.message


@pytest.mark.unit
def test_invalid_toml(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        load_board_file(_write(tmp_path, "name = \n"))


@pytest.mark.unit
@pytest.mark.parametrize("columns", [60, 80])
def test_boards_table_never_cuts_a_board_name(columns):
    import os
    import subprocess
    import sys

    from edgeq.boards import list_boards

    r = subprocess.run([sys.executable, "-m", "edgeq", "boards"], capture_output=True, text=True,
                       env=dict(os.environ, COLUMNS=str(columns)), timeout=60)
    assert r.returncode == 0, r.stderr
    for b in list_boards():
        assert f"│ {b.name} " in r.stdout, f"{b.name} cut at {columns} columns"
