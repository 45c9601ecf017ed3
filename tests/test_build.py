"""Unit tests: board definitions → firmware build configuration (no compiler needed)."""

from __future__ import annotations

import pytest

from edgeq.boards import get_board, list_boards
from edgeq.build import cmake_args, elf_sections, target_from_board
from edgeq.errors import InputError

pytestmark = pytest.mark.unit


def _args(target) -> dict[str, str]:
    return dict(a[2:].split("=", 1) for a in cmake_args(target))


def test_every_board_maps_to_a_firmware_target():
    for b in list_boards():
        t = target_from_board(b)
        assert t.flash.origin == b.default_flash.origin and t.flash.length == b.default_flash.size
        assert t.ram.origin == b.default_sram.origin and t.ram.length == b.default_sram.size
        assert t.uart_base == b.uart.base and t.uart_baud == b.uart.baud
        assert t.emulated == b.emulated


def test_cpu_flags_follow_core_and_fpu():
    assert target_from_board(get_board("qemu-mps2-an386")).cpu_flags == [
        "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
    assert target_from_board(get_board("qemu-mps2-an500")).cpu_flags[2] == "-mfpu=fpv5-d16"
    assert target_from_board(get_board("qemu-mps2-an385")).cpu_flags == [
        "-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"]
    m55 = target_from_board(get_board("qemu-mps3-an547"))
    assert m55.cpu_flags == ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"]  # FPU + MVE implied
    assert not target_from_board(get_board("qemu-microbit")).has_dwt
    assert target_from_board(get_board("nucleo-h743zi2")).has_dwt


def test_cmake_args_carry_the_board_data():
    a = _args(target_from_board(get_board("qemu-mps3-an547")))
    assert a["EDGEQ_BOARD"] == "qemu-mps3-an547"
    assert (a["EDGEQ_FLASH_ORIGIN"], a["EDGEQ_FLASH_LENGTH"]) == ("0x00000000", "0x80000")
    assert (a["EDGEQ_RAM_ORIGIN"], a["EDGEQ_RAM_LENGTH"]) == ("0x21000000", "0x400000")
    assert (a["EDGEQ_UART_FAMILY"], a["EDGEQ_UART_BASE"]) == ("cmsdk", "0x59303000")
    assert a["EDGEQ_EMULATED"] == "1" and a["EDGEQ_CPU_HZ"] == "32000000"
    assert a["EDGEQ_MCPU"] == "cortex-m55" and a["EDGEQ_MFLOAT_ABI"] == "hard"
    assert a["CMAKE_TOOLCHAIN_FILE"].endswith("firmware/toolchain/arm-none-eabi.cmake")


def test_uart_driver_selection_and_pins():
    fams = {b.name: target_from_board(b).uart_family for b in list_boards()}
    assert fams["qemu-netduinoplus2"] == "stm32" and fams["nucleo-l476rg"] == "stm32v2"
    assert fams["rpi-pico"] == "pl011" and fams["sparkfun-edge"] == "pl011"
    assert fams["adafruit-feather-m4"] == "sercom" and fams["teensy41"] == "lpuart"
    assert fams["qemu-microbit"] == "nrf"
    dk = target_from_board(get_board("nrf52840-dk")).extra_defines
    assert (dk["EDGEQ_UART_TX_PIN"], dk["EDGEQ_UART_RX_PIN"]) == (6, 8)
    nano = target_from_board(get_board("arduino-nano-33-ble-sense")).extra_defines
    assert (nano["EDGEQ_UART_TX_PIN"], nano["EDGEQ_UART_RX_PIN"]) == (35, 42)  # P1.03, P1.10


def test_stm32_real_boards_get_clock_and_pin_setup():
    f446 = target_from_board(get_board("nucleo-f446re"))
    d = f446.extra_defines
    assert d["EDGEQ_UART_CLKEN_REG"] == "0x40023840u" and d["EDGEQ_UART_CLKEN_BIT"] == 17  # APB1ENR.USART2EN
    assert (d["EDGEQ_TX_GPIO_BASE"], d["EDGEQ_TX_GPIO_PIN"], d["EDGEQ_RX_GPIO_PIN"]) == ("0x40020000u", 2, 3)
    assert d["EDGEQ_UART_AF"] == 7 and f446.firmware_hz == 16_000_000  # HSI after reset
    disco = target_from_board(get_board("stm32f746g-disco")).extra_defines
    assert disco["EDGEQ_RX_GPIO_BASE"] == "0x40020400u" and disco["EDGEQ_GPIO_CLKEN_MASK"] == "0x3u"  # PA9 + PB7
    l4r5 = target_from_board(get_board("nucleo-l4r5zi"))
    assert l4r5.extra_defines["EDGEQ_STM32_LPUART"] == 1 and "EDGEQ_STM32_VDDIO2_REG" in l4r5.extra_defines
    qemu = target_from_board(get_board("qemu-netduinoplus2"))
    assert not qemu.extra_defines and qemu.firmware_hz == 168_000_000


def test_dict_boards_and_errors():
    t = target_from_board({"name": "mine", "core": "cortex-m4", "fpu": "sp", "clock_hz": 25_000_000,
                           "flash": {"origin": 0, "size": 1 << 20}, "ram": {"origin": 0x20000000, "size": 65536},
                           "uart": {"family": "cmsdk", "base": 0x40004000}, "emulated": True,
                           "qemu_machine": "mps2-an386"})
    assert t.ram.length == 65536 and t.uart_baud == 115200 and t.qemu_machine == "mps2-an386"
    with pytest.raises(InputError, match="UART family"):
        target_from_board({"name": "x", "core": "cortex-m4", "clock_hz": 1, "flash": {"origin": 0, "size": 1},
                           "ram": {"origin": 0, "size": 1}, "uart": {"family": "weird", "base": 0}})


def test_elf_sections_reads_sizes(tmp_path):
    import subprocess

    from conftest import require_tool

    require_tool("arm-none-eabi-gcc")  # a skip on a laptop without it, a failure in CI
    src = tmp_path / "a.c"
    src.write_text("const char table[1000] = {1};\nchar buf[300];\nint v = 3;\n"
                   "void _start(void) { for (;;) buf[0] = table[v]; }\n")
    elf = tmp_path / "a.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-o", str(elf), str(src)], check=True)
    s = elf_sections(elf)
    assert s[".bss"] >= 300 and s[".data"] >= 4
    assert s.get(".rodata", 0) + s[".text"] >= 1000
