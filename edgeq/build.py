"""Build the on-device test firmware for a board: drive CMake + the Arm GNU toolchain and read
flash/RAM use back from the ELF.

The top-level CMakeLists.txt builds the kernels and (optionally) one generated model; with
``EDGEQ_BOARD`` set it includes ``firmware/edgeq_firmware.cmake``, which instantiates the
linker script and ``edgeq_board.h`` from the values passed here (all taken from the board's
definition: core, clock, flash/RAM regions, UART). Without a model directory the firmware
links the hand-written fake model in ``firmware/test_model/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from edgeq.device.fields import field_of as _get
from edgeq.errors import EdgeqError, InputError
from edgeq.resources import firmware_dir

TOOLCHAIN_HINT = "install the Arm GNU toolchain and CMake: `apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi cmake`"

# core → (-mcpu, -mfpu for the board's FPU kind, has DWT CYCCNT, has VTOR)
# FPU kinds: "none", "sp" (single precision), "dp" (double precision); M55 implies its own.
_CORES: dict[str, dict[str, Any]] = {
    "cortex-m0": {"dwt": False, "vtor": False, "fpu": {}},
    "cortex-m0plus": {"dwt": False, "vtor": True, "fpu": {}},
    "cortex-m3": {"dwt": True, "vtor": True, "fpu": {}},
    "cortex-m4": {"dwt": True, "vtor": True, "fpu": {"sp": "fpv4-sp-d16"}},
    "cortex-m7": {"dwt": True, "vtor": True, "fpu": {"sp": "fpv5-sp-d16", "dp": "fpv5-d16"}},
    "cortex-m23": {"dwt": False, "vtor": True, "fpu": {}},
    "cortex-m33": {"dwt": True, "vtor": True, "fpu": {"sp": "fpv5-sp-d16"}},
    "cortex-m55": {"dwt": True, "vtor": True, "fpu": {"sp": "auto", "dp": "auto", "mve": "auto"}},
    "cortex-m85": {"dwt": True, "vtor": True, "fpu": {"sp": "auto", "dp": "auto", "mve": "auto"}},
}

UART_FAMILIES = ("cmsdk", "stm32", "stm32v2", "nrf", "pl011", "sercom", "lpuart")
# board-file UART family → firmware driver (firmware/platform/uart_<driver>.c)
_UART_ALIASES = {"nrf51": "nrf", "nrf52": "nrf", "rp2040": "pl011", "apollo3": "pl011",
                 "samd": "sercom", "samd51": "sercom", "imxrt": "lpuart"}
# extra bring-up code some families need before their UART works (edgeq_board_init)
_BOARD_SOURCES = {"rp2040": ["board_rp2040.c"], "apollo3": [], "samd": ["board_samd51.c"],
                  "imxrt": ["board_imxrt.c"]}


# STM32 families: RCC base, GPIO-clock enable register offset, GPIO port A base (ports 0x400
# apart), the clock the core and UART run at out of reset (the firmware does not touch the
# clock tree), and per UART instance: (enable register offset, bit, alternate function).
_STM32 = {
    "F4": {"rcc": 0x40023800, "gpioen": 0x30, "gpio": 0x40020000, "reset_hz": 16_000_000,
           "uarts": {"USART1": (0x44, 4, 7), "USART2": (0x40, 17, 7), "USART3": (0x40, 18, 7),
                     "UART4": (0x40, 19, 8), "UART5": (0x40, 20, 8), "USART6": (0x44, 5, 8)}},
    "L4": {"rcc": 0x40021000, "gpioen": 0x4C, "gpio": 0x48000000, "reset_hz": 4_000_000,
           "uarts": {"USART1": (0x60, 14, 7), "USART2": (0x58, 17, 7), "USART3": (0x58, 18, 7),
                     "UART4": (0x58, 19, 8), "UART5": (0x58, 20, 8), "LPUART1": (0x5C, 0, 8)}},
    "H7": {"rcc": 0x58024400, "gpioen": 0xE0, "gpio": 0x58020000, "reset_hz": 64_000_000,
           "uarts": {"USART1": (0xF0, 4, 7), "USART2": (0xE8, 17, 7), "USART3": (0xE8, 18, 7),
                     "UART4": (0xE8, 19, 8), "UART5": (0xE8, 20, 8), "USART6": (0xF0, 5, 7)}},
}
_STM32["F2"] = _STM32["F7"] = _STM32["F4"]


def _stm32_bringup(mcu: str, instance: str, pins: str) -> tuple[dict[str, Any], int | None]:
    """edgeq_board.h defines that clock and pin-mux a real STM32's UART (see
    firmware/platform/stm32_bringup.h), and the clock it runs at out of reset.
    Unknown family/instance/pins → no defines (the firmware then assumes a configured UART)."""
    m = re.match(r"STM32([A-Z]\d)", mcu.upper())
    fam = _STM32.get(m.group(1)) if m else None
    if fam is None:
        return {}, None
    out: dict[str, Any] = {}
    inst = instance.upper()
    if inst in fam["uarts"]:
        off, bit, af = fam["uarts"][inst]
        out.update({"EDGEQ_UART_CLKEN_REG": f"0x{fam['rcc'] + off:08X}u", "EDGEQ_UART_CLKEN_BIT": bit,
                    "EDGEQ_UART_AF": af})
    found = {role: (ord(port) - ord("A"), int(pin)) for port, pin, role in re.findall(r"P([A-K])(\d+)\s+(TX|RX)", pins.upper())}
    if inst in fam["uarts"] and set(found) == {"TX", "RX"}:
        mask = 0
        for role, (port, pin) in found.items():
            out[f"EDGEQ_{role}_GPIO_BASE"] = f"0x{fam['gpio'] + 0x400 * port:08X}u"
            out[f"EDGEQ_{role}_GPIO_PIN"] = pin
            mask |= 1 << port
        out["EDGEQ_GPIO_CLKEN_REG"] = f"0x{fam['rcc'] + fam['gpioen']:08X}u"
        out["EDGEQ_GPIO_CLKEN_MASK"] = f"0x{mask:X}u"
        if fam is _STM32["L4"] and any(port == 6 for port, _ in found.values()):
            # port G on the STM32L4+ is powered by VDDIO2: PWREN (APB1ENR1 bit 28), PWR_CR2.IOSV
            out.update({"EDGEQ_STM32_PWR_CLKEN_REG": f"0x{fam['rcc'] + 0x58:08X}u", "EDGEQ_STM32_PWR_CLKEN_BIT": 28,
                        "EDGEQ_STM32_VDDIO2_REG": "0x40007004u", "EDGEQ_STM32_VDDIO2_BIT": 9})
    return out, fam["reset_hz"]


def _nrf_pins(pins: str) -> dict[str, int]:
    """"P0.06 TX, P0.08 RX" → {"EDGEQ_UART_TX_PIN": 6, "EDGEQ_UART_RX_PIN": 8} (port 1 adds 32)."""
    out = {}
    for port, pin, role in re.findall(r"P(\d)\.(\d+)\)?\s*(?:[^,]*?)?\b(TX|RX)\b", pins):
        out[f"EDGEQ_UART_{role}_PIN"] = int(port) * 32 + int(pin)
    if len(out) < 2:  # "D1 TX (P1.03), D0 RX (P1.10)": the port pin comes after the role
        for role, port, pin in re.findall(r"\b(TX|RX)\b[^,]*?P(\d)\.(\d+)", pins):
            out[f"EDGEQ_UART_{role}_PIN"] = int(port) * 32 + int(pin)
    return out


class BuildError(EdgeqError):
    """CMake or the compiler failed; the message carries the tail of their output."""


@dataclass(frozen=True)
class Region:
    origin: int
    length: int


@dataclass(frozen=True)
class FirmwareTarget:
    """Everything the firmware build needs to know about a board (see ``target_from_board``)."""

    name: str
    core: str
    fpu: str                      # "none" | "sp" | "dp" | "mve"
    cpu_hz: int
    flash: Region
    ram: Region
    uart_family: str
    uart_base: int
    uart_baud: int = 115200
    uart_clock_hz: int | None = None
    emulated: bool = False
    qemu_machine: str | None = None
    extra_defines: Mapping[str, Any] = field(default_factory=dict)
    board_sources: tuple[str, ...] = ()   # files in firmware/platform/ with edgeq_board_init()
    run_hz: int | None = None  # the clock the firmware actually runs at (None: cpu_hz); STM32
                               # boards run on their reset clock since the clock tree is untouched

    @property
    def firmware_hz(self) -> int:
        return self.run_hz or self.cpu_hz

    @property
    def mcpu(self) -> str:
        return self.core

    @property
    def mfpu(self) -> str:
        if self.fpu in ("none", "", None):
            return ""
        kinds = _CORES.get(self.core, {}).get("fpu", {})
        return kinds.get(self.fpu) or kinds.get("sp") or ""

    @property
    def float_abi(self) -> str:
        return "hard" if self.mfpu else "soft"

    @property
    def cpu_flags(self) -> list[str]:
        flags = [f"-mcpu={self.mcpu}", "-mthumb"]
        if self.mfpu and self.mfpu != "auto":
            flags.append(f"-mfpu={self.mfpu}")
        flags.append(f"-mfloat-abi={self.float_abi}")
        return flags

    @property
    def has_dwt(self) -> bool:
        return bool(_CORES.get(self.core, {}).get("dwt", False))

    @property
    def has_vtor(self) -> bool:
        return bool(_CORES.get(self.core, {}).get("vtor", True))


def _int(v: Any) -> int:
    if isinstance(v, str):
        v = v.strip().replace("_", "")
        m = re.fullmatch(r"(\d+)\s*([KkMm])(i?B)?", v)
        if m:
            return int(m.group(1)) * (1024 if m.group(2) in "Kk" else 1024 * 1024)
        return int(v, 0)
    return int(v)


def _region(obj: Any) -> Region:
    origin = _get(obj, "origin", "start", "base", "address")
    length = _get(obj, "length", "size", "bytes")
    if origin is None or length is None:
        raise InputError(f"board memory region without origin/length: {obj!r}")
    return Region(_int(origin), _int(length))


def _pick_region(board: Any, kind: str) -> Region:
    """The board's flash (kind="flash") or RAM (kind="ram") region for the linker script.
    Accepts ``flash = {origin, length}``, a list of regions, or a ``memory``/``regions`` list with
    ``kind``/``type``/``name`` fields; a region marked ``default``/``main`` wins, else the first."""
    direct = _get(board, kind, "sram" if kind == "ram" else "code")
    candidates: list[Any] = []
    if direct is not None:
        candidates = list(direct) if isinstance(direct, (list, tuple)) else [direct]
    else:
        regions = _get(board, "memory", "regions", "memory_regions", default=[]) or []
        if isinstance(regions, Mapping):
            regions = [dict(v, name=k) if isinstance(v, Mapping) else v for k, v in regions.items()]
        want = ("flash", "code", "rom", "itcm") if kind == "flash" else ("ram", "sram", "data", "dtcm")
        for r in regions:
            label = str(_get(r, "kind", "type", "name", default="")).lower()
            if any(w in label for w in want):
                candidates.append(r)
    if not candidates:
        raise InputError(f"board {(_get(board, 'name', default='?'))} has no {kind} region")
    for r in candidates:
        if _get(r, "default", "main", "primary", default=False):
            return _region(r)
    return _region(candidates[0])


def target_from_board(board: Any) -> FirmwareTarget:
    """Adapt a board definition (the boards/ loader's object or a plain dict) to a FirmwareTarget."""
    if isinstance(board, FirmwareTarget):
        return board
    if isinstance(board, str):
        board = load_board(board)
    name = str(_get(board, "name", "id"))
    core = str(_get(board, "core", "cpu", "mcpu", "cpu.core")).lower().replace("cortex-m0+", "cortex-m0plus")
    if not core.startswith("cortex-"):
        core = "cortex-" + core
    fpu = _get(board, "fpu", "cpu.fpu", default="none")
    if fpu is True:
        fpu = "sp"
    fpu = str(fpu or "none").lower()
    fpu = {"false": "none", "fpv4-sp-d16": "sp", "fpv5-sp-d16": "sp", "fpv5-d16": "dp", "single": "sp",
           "double": "dp", "sp-dp": "dp"}.get(fpu, fpu)
    cpu_hz = _int(_get(board, "clock_hz", "cpu_hz", "clock", "core_clock_hz", "cpu.clock_hz"))
    machine = _get(board, "qemu_machine", "qemu.machine", "machine")
    emulated = bool(_get(board, "emulated", default=machine is not None))
    run_hz = _get(board, "run_hz", default=None)
    run_hz = _int(run_hz) if run_hz is not None else None
    board_family = str(_get(board, "uart.family", "uart.driver", "uart_family")).lower()
    family = _UART_ALIASES.get(board_family, board_family)
    extra: dict[str, Any] = {}
    if family == "stm32":
        if str(_get(board, "uart.regs", default="sr")).lower() == "isr":
            family = "stm32v2"
        if str(_get(board, "uart.instance", default="")).upper().startswith("LPUART"):
            extra["EDGEQ_STM32_LPUART"] = 1  # BRR = 256 * f / baud
        if not emulated:
            defs, reset_hz = _stm32_bringup(str(_get(board, "mcu", default="")),
                                            str(_get(board, "uart.instance", default="")),
                                            str(_get(board, "uart.pins", default="") or ""))
            extra.update(defs)
            run_hz = reset_hz or run_hz
    if board_family in ("nrf51", "nrf52"):
        extra.update(_nrf_pins(str(_get(board, "uart.pins", default="") or "")))
        if board_family == "nrf51" and "EDGEQ_UART_TX_PIN" not in extra:
            extra.update({"EDGEQ_UART_TX_PIN": 24, "EDGEQ_UART_RX_PIN": 25})  # micro:bit edge connector
    if family not in UART_FAMILIES:
        raise InputError(f"board {name}: unknown UART family {family!r}", f"known: {', '.join(UART_FAMILIES)}")
    uart_clock = _get(board, "uart.clock_hz", "uart_clock_hz")
    extra.update(_get(board, "uart.defines", "defines", default={}) or {})
    for key, macro in (("uart.tx_pin", "EDGEQ_UART_TX_PIN"), ("uart.rx_pin", "EDGEQ_UART_RX_PIN")):
        v = _get(board, key)
        if v is not None:
            extra.setdefault(macro, v)
    return FirmwareTarget(
        name=name, core=core, fpu=fpu, cpu_hz=cpu_hz,
        flash=_pick_region(board, "flash"), ram=_pick_region(board, "ram"),
        uart_family=family, uart_base=_int(_get(board, "uart.base", "uart_base")),
        uart_baud=_int(_get(board, "uart.baud", "uart_baud", default=115200)),
        uart_clock_hz=_int(uart_clock) if uart_clock is not None else None,
        emulated=emulated, qemu_machine=str(machine) if machine else None, extra_defines=extra,
        board_sources=tuple(_BOARD_SOURCES.get(board_family, ())), run_hz=run_hz)


def load_board(name: str) -> Any:
    """A board by name through edgeq.boards (the board database)."""
    try:
        from edgeq import boards as boards_mod
    except ImportError as e:  # pragma: no cover - boards/ is part of edgeq
        raise InputError(f"board database unavailable: {e}") from e
    for fn in ("load_board", "get_board", "load"):
        loader = getattr(boards_mod, fn, None)
        if callable(loader):
            return loader(name)
    raise InputError(f"edgeq.boards has no loader for board {name!r}")


# ===================================================================== build

def repo_root() -> Path:
    """The directory holding the top-level CMakeLists.txt (next to firmware/)."""
    root = firmware_dir().parent
    if not (root / "CMakeLists.txt").is_file():
        raise InputError(f"no CMakeLists.txt next to {firmware_dir()}",
                         "build from a source checkout of edgeq")
    return root


def cmake_args(target: FirmwareTarget, *, model_dir: str | Path | None = None, model_symbol: str | None = None,
               build_type: str = "Release", stack_size: int = 8192, extra: Mapping[str, Any] | None = None) -> list[str]:
    """The ``-D`` arguments that configure the firmware build for ``target`` (no side effects)."""
    root = repo_root()
    defines = ";".join(f"{k}={v}" for k, v in sorted(target.extra_defines.items()))
    d: dict[str, Any] = {
        "CMAKE_TOOLCHAIN_FILE": root / "firmware" / "toolchain" / "arm-none-eabi.cmake",
        "CMAKE_BUILD_TYPE": build_type,
        "EDGEQ_MCPU": target.mcpu,
        "EDGEQ_MFPU": target.mfpu if target.mfpu else "",
        "EDGEQ_MFLOAT_ABI": target.float_abi,
        "EDGEQ_BOARD": target.name,
        "EDGEQ_CPU_HZ": target.firmware_hz,
        "EDGEQ_FLASH_ORIGIN": f"0x{target.flash.origin:08x}",
        "EDGEQ_FLASH_LENGTH": f"0x{target.flash.length:x}",
        "EDGEQ_RAM_ORIGIN": f"0x{target.ram.origin:08x}",
        "EDGEQ_RAM_LENGTH": f"0x{target.ram.length:x}",
        "EDGEQ_STACK_SIZE": stack_size,
        "EDGEQ_UART_FAMILY": target.uart_family,
        "EDGEQ_UART_BASE": f"0x{target.uart_base:08x}",
        "EDGEQ_UART_BAUD": target.uart_baud,
        "EDGEQ_UART_CLOCK_HZ": target.uart_clock_hz or target.firmware_hz,
        "EDGEQ_HAS_DWT": int(target.has_dwt),
        "EDGEQ_HAS_VTOR": int(target.has_vtor),
        "EDGEQ_EMULATED": int(target.emulated),
        "EDGEQ_BOARD_DEFINES": defines,
        "EDGEQ_BOARD_SOURCES": ";".join(str(root / "firmware" / "platform" / f) for f in target.board_sources),
        "EDGEQ_HOST_RUNNER": "OFF",
        "EDGEQ_MODEL_DIR": Path(model_dir).resolve() if model_dir else "",
    }
    if model_symbol:
        d["EDGEQ_MODEL_SYMBOL"] = model_symbol
    d.update(extra or {})
    return [f"-D{k}={v}" for k, v in d.items()]


@dataclass(frozen=True)
class BuildResult:
    """A built firmware image and what it occupies."""

    board: str
    elf: Path
    build_dir: Path
    flash_bytes: int      # text + rodata + init data (what is programmed)
    ram_bytes: int        # data + bss (static RAM, without the stack)
    stack_bytes: int
    flash_capacity: int
    ram_capacity: int
    sections: dict[str, int]

    @property
    def free_ram_bytes(self) -> int:
        """RAM left for the received inputs and the outputs (the harness's I/O buffers)."""
        return self.ram_capacity - self.ram_bytes - self.stack_bytes

    def to_dict(self) -> dict:
        return {"board": self.board, "elf": str(self.elf), "flash_bytes": self.flash_bytes,
                "ram_bytes": self.ram_bytes, "stack_bytes": self.stack_bytes,
                "flash_capacity": self.flash_capacity, "ram_capacity": self.ram_capacity,
                "free_ram_bytes": self.free_ram_bytes, "sections": dict(self.sections)}


def _run(cmd: list[str], cwd: Path | None, log: Callable[[str], None] | None, what: str) -> None:
    if log:
        log(" ".join(str(c) for c in cmd))
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        # the interesting part of a failed build is the first error, not the make noise after it
        lines = out.splitlines()
        errs = [i for i, l in enumerate(lines) if "error" in l.lower()]
        start = max(0, (errs[0] - 5) if errs else len(lines) - 40)
        raise BuildError(f"{what} failed:\n" + "\n".join(lines[start:start + 60]),
                         "see the full log with `cmake --build <dir> -v`")


def build_firmware(board: Any, build_dir: str | Path, *, model_dir: str | Path | None = None,
                   model_symbol: str | None = None, build_type: str = "Release", stack_size: int = 8192,
                   jobs: int | None = None, clean: bool = False,
                   log: Callable[[str], None] | None = None,
                   extra_cmake: Mapping[str, Any] | None = None,
                   cmsis_nn_dir: str | Path | None = None) -> BuildResult:
    """Configure and build ``firmware.elf`` for ``board`` in ``build_dir``.

    board:      a board name (looked up in edgeq.boards), a board object/dict, or a FirmwareTarget
    model_dir:  a directory written by ``edgeq generate`` (None: the fake test model)
    extra_cmake: more ``-D`` cache values, e.g. {"EDGEQ_OBSERVE": "ON"} (the per-layer hooks)
    cmsis_nn_dir: link the kernels of this upstream CMSIS-NN checkout instead of edgeq's
                (``-DEDGEQ_CMSIS_NN_DIR``; the model must be generated with scratch for the core)
    Returns a BuildResult with the ELF path and its flash/RAM use. Raises InputError when the
    toolchain is missing, BuildError when CMake or the compiler fails (with their output).
    """
    if isinstance(board, str):
        board = load_board(board)
    target = target_from_board(board)
    regions = {}
    if hasattr(board, "default_sram") and hasattr(board, "default_flash"):  # an edgeq.boards Board
        from .placement import linker_regions

        regions = linker_regions(board)  # the other memory banks: sections for --place
    for tool in ("cmake", "arm-none-eabi-gcc"):
        if shutil.which(tool) is None:
            raise InputError(f"`{tool}` is not installed", TOOLCHAIN_HINT)
    build_dir = Path(build_dir).resolve()
    if clean and build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    args = cmake_args(target, model_dir=model_dir, model_symbol=model_symbol, build_type=build_type,
                      stack_size=stack_size,
                      extra={**regions, **(extra_cmake or {}),
                             "EDGEQ_CMSIS_NN_DIR": Path(cmsis_nn_dir).resolve() if cmsis_nn_dir else ""})
    stamp = build_dir / "edgeq-configure.txt"
    if stamp.exists() and stamp.read_text() != "\n".join(args):
        # another board / model: cached toolchain flags are sticky, so start from a clean tree
        shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
    _run(["cmake", "-S", repo_root(), "-B", build_dir, *args], None, log, "CMake configure")
    stamp.write_text("\n".join(args))
    _run(["cmake", "--build", build_dir, "--target", "edgeq_firmware", "--parallel", str(jobs or os.cpu_count() or 2)],
         None, log, "firmware build")
    elf = build_dir / "firmware.elf"
    if not elf.is_file():
        raise BuildError(f"the build finished but {elf} is missing")
    sections = elf_sections(elf)
    flash = sum(v for k, v in sections.items()
                if k in (".text", ".ARM.exidx", ".ARM.extab", ".data") or k.startswith(".edgeq.rom."))
    ram = sections.get(".data", 0) + sections.get(".bss", 0)  # the default RAM region (not other banks)
    return BuildResult(target.name, elf, build_dir, flash, ram, stack_size, target.flash.length,
                       target.ram.length, sections)


def elf_sections(elf: str | Path) -> dict[str, int]:
    """Allocated section sizes of an ELF (``arm-none-eabi-size -A``), e.g. {'.text': 6152, ...}."""
    tool = shutil.which("arm-none-eabi-size")
    if tool is None:
        raise InputError("`arm-none-eabi-size` is not installed", TOOLCHAIN_HINT)
    out = subprocess.run([tool, "-A", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    sections: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            name, size, addr = parts[0], int(parts[1]), int(parts[2])
            if name in (".text", ".data", ".bss", ".ARM.exidx", ".ARM.extab") or (addr and size and not name.startswith((".debug", ".comment", ".ARM.attributes"))):
                sections[name] = size
    return sections
