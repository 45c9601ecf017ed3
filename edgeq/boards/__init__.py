"""Boards as data: ``edgeq/boards/*.toml``, validated on load.

A board file describes what code cannot guess: the core and its extensions, the clock, the
memory map, the UART the serial test protocol talks through, and how to flash it. Fields::

    name = "nucleo-l4r5zi"            # must equal the file name (without .toml)
    vendor, description, mcu = "..."
    core = "cortex-m4"                # one of CORES
    fpu = "sp"                        # none | sp | dp
    dsp = true                        # DSP (SIMD) extension
    mve = false                       # Helium (M-profile vector extension)
    clock_hz = 120_000_000
    emulated = false                  # true → flasher.tool == "qemu" and a [qemu] table

    [[flash]]                         # ≥ 1 region: {name, origin, size[, default]}
    [[sram]]                          # ≥ 1 region; several banks where the chip has them;
                                      # exactly one has `default = true` when there are several:
                                      # it holds the arena, the stack and .data/.bss
    [uart]    family (UART_FAMILIES), base, baud[, instance, pins, regs]
              stm32 needs regs = "sr" (F1/F2/F4: SR/DR) or "isr" (F0/F3/F7/L4/H7/G4, LPUART)
    [flasher] tool (FLASHERS) + tool settings (openocd: config; pyocd: target;
              nrfjprog: family; uf2: family_id; teensy: mcu; bossac: offset)
    [qemu]    machine (for emulated boards)

Region names are simple identifiers ("flash", "sram", "dtcm", "axi_sram", ...) usable as
linker-script MEMORY names. Sizes and addresses are integers (TOML allows 0x… and 1_000).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InputError

BOARDS_DIR = Path(__file__).resolve().parent

CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
FPUS = ("none", "sp", "dp")
UART_FAMILIES = ("cmsdk", "stm32", "nrf51", "nrf52", "rp2040", "samd", "imxrt", "apollo3")
STM32_REGS = ("sr", "isr")
_UART_DRIVERS = {"cmsdk": "cmsdk", "nrf51": "nrf", "nrf52": "nrf", "rp2040": "pl011", "apollo3": "pl011",
                 "samd": "sercom", "imxrt": "lpuart"}
FLASHERS = ("qemu", "openocd", "pyocd", "st-flash", "picotool", "nrfjprog", "uf2", "teensy", "bossac")
#: settings each flasher needs in [flasher]
FLASHER_REQUIRED = {"openocd": ("config",), "pyocd": ("target",), "nrfjprog": ("family",),
                    "uf2": ("family_id",), "teensy": ("mcu",)}
#: cores that can have each extension
_CORES_WITH_DSP = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
_CORES_WITH_FPU = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")

_TOP_KEYS = {"name", "vendor", "description", "mcu", "core", "fpu", "dsp", "mve", "clock_hz", "emulated",
             "flash", "sram", "uart", "flasher", "qemu", "url", "notes"}


@dataclass(frozen=True)
class Region:
    name: str
    origin: int
    size: int
    default: bool = False

    @property
    def end(self) -> int:
        return self.origin + self.size

    def to_dict(self) -> dict:
        return {"name": self.name, "origin": self.origin, "size": self.size, "default": self.default}


@dataclass(frozen=True)
class Uart:
    family: str
    base: int
    baud: int
    instance: str | None = None
    regs: str | None = None
    pins: str | None = None

    @property
    def driver(self) -> str:
        """The firmware UART driver (firmware/platform/uart_*.c) this UART needs: cmsdk, stm32
        (F1/F2/F4 SR/DR registers), stm32v2 (ISR/TDR registers, also LPUART), nrf, pl011,
        sercom or lpuart."""
        if self.family == "stm32":
            return "stm32v2" if self.regs == "isr" else "stm32"
        return _UART_DRIVERS[self.family]

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if v is not None}
        d["driver"] = self.driver
        return d


@dataclass(frozen=True)
class Board:
    name: str
    vendor: str
    description: str
    mcu: str
    core: str
    fpu: str
    dsp: bool
    mve: bool
    clock_hz: int
    flash: tuple[Region, ...]
    sram: tuple[Region, ...]
    uart: Uart
    flasher: dict[str, Any]
    emulated: bool
    qemu: dict[str, Any] | None = None
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def default_flash(self) -> Region:
        """The region the program (code + weights) is linked into."""
        return next((r for r in self.flash if r.default), self.flash[0])

    @property
    def default_sram(self) -> Region:
        """The region that holds the arena, the stack and .data/.bss."""
        return next((r for r in self.sram if r.default), self.sram[0])

    @property
    def flash_bytes(self) -> int:
        return self.default_flash.size

    @property
    def sram_bytes(self) -> int:
        return self.default_sram.size

    @property
    def total_sram_bytes(self) -> int:
        return sum(r.size for r in self.sram)

    @property
    def qemu_machine(self) -> str | None:
        return (self.qemu or {}).get("machine")

    def to_dict(self) -> dict:
        return {"name": self.name, "vendor": self.vendor, "description": self.description, "mcu": self.mcu,
                "core": self.core, "fpu": self.fpu, "dsp": self.dsp, "mve": self.mve, "clock_hz": self.clock_hz,
                "flash": [r.to_dict() for r in self.flash], "sram": [r.to_dict() for r in self.sram],
                "uart": self.uart.to_dict(), "flasher": dict(self.flasher), "emulated": self.emulated,
                "qemu": dict(self.qemu) if self.qemu else None,
                "path": str(self.path) if self.path else None}


# ----------------------------------------------------------------------------------- validation

class _V:
    """Collects the checks of one file; raises InputError naming file and field."""

    def __init__(self, path: Path, data: dict):
        self.path, self.data = path, data

    def fail(self, where: str, msg: str) -> None:
        raise InputError(f"board file {self.path.name}: field '{where}' {msg}",
                         hint=f"fix {self.path} (see edgeq/boards/__init__.py for the format)")

    def get(self, table: dict, key: str, where: str, types, required: bool = True, default=None):
        if key not in table:
            if required:
                self.fail(where, "is missing")
            return default
        v = table[key]
        if types is int and isinstance(v, bool) or not isinstance(v, types):
            tn = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
            self.fail(where, f"must be {tn}, got {type(v).__name__} {v!r}")
        return v

    def choice(self, table: dict, key: str, where: str, options) -> str:
        v = self.get(table, key, where, str)
        if v not in options:
            self.fail(where, f"must be one of {', '.join(options)}, got {v!r}")
        return v

    def regions(self, key: str) -> tuple[Region, ...]:
        items = self.data.get(key)
        if not isinstance(items, list) or not items:
            self.fail(key, f"must be a non-empty list of regions ([[{key}]] tables with name, origin, size)")
        out = []
        for k, r in enumerate(items):
            w = f"{key}[{k}]"
            if not isinstance(r, dict):
                self.fail(w, "must be a table {name, origin, size}")
            unknown = set(r) - {"name", "origin", "size", "default"}
            if unknown:
                self.fail(f"{w}.{sorted(unknown)[0]}", "is not a region field (name, origin, size, default)")
            name = self.get(r, "name", f"{w}.name", str)
            if not name.isidentifier():
                self.fail(f"{w}.name", f"must be a simple identifier, got {name!r}")
            origin = self.get(r, "origin", f"{w}.origin", int)
            size = self.get(r, "size", f"{w}.size", int)
            if origin < 0 or origin + size > 1 << 32:
                self.fail(f"{w}.origin", f"0x{origin:X} + size is outside the 32-bit address space")
            if size <= 0:
                self.fail(f"{w}.size", f"must be positive, got {size}")
            default = self.get(r, "default", f"{w}.default", bool, required=False, default=False)
            out.append(Region(name, origin, size, default))
        names = [r.name for r in out]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            self.fail(key, f"has two regions named {dup!r}")
        if sum(r.default for r in out) > 1:
            self.fail(key, "marks more than one region as default")
        if len(out) > 1 and not any(r.default for r in out):
            self.fail(key, "has several regions: mark one with default = true")
        srt = sorted(out, key=lambda r: r.origin)
        for a, b in zip(srt, srt[1:]):
            if a.end > b.origin:
                self.fail(key, f"regions {a.name!r} and {b.name!r} overlap")
        return tuple(out)


def _validate(path: Path, data: dict) -> Board:
    v = _V(path, data)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        v.fail(unknown[0], f"is not a board field (known: {', '.join(sorted(_TOP_KEYS))})")
    name = v.get(data, "name", "name", str)
    if name != path.stem:
        v.fail("name", f"must match the file name {path.stem!r}, got {name!r}")
    vendor = v.get(data, "vendor", "vendor", str)
    description = v.get(data, "description", "description", str)
    mcu = v.get(data, "mcu", "mcu", str, required=False, default="")
    core = v.choice(data, "core", "core", CORES)
    fpu = v.choice(data, "fpu", "fpu", FPUS)
    dsp = v.get(data, "dsp", "dsp", bool)
    mve = v.get(data, "mve", "mve", bool)
    if fpu != "none" and core not in _CORES_WITH_FPU:
        v.fail("fpu", f"{core} has no FPU option")
    if dsp and core not in _CORES_WITH_DSP:
        v.fail("dsp", f"{core} has no DSP extension")
    if mve and core != "cortex-m55":
        v.fail("mve", f"{core} has no MVE (Helium); only cortex-m55 here")
    clock = v.get(data, "clock_hz", "clock_hz", int)
    if not 1_000_000 <= clock <= 2_000_000_000:
        v.fail("clock_hz", f"{clock} is not a plausible microcontroller clock (1 MHz .. 2 GHz)")
    emulated = v.get(data, "emulated", "emulated", bool)
    flash = v.regions("flash")
    sram = v.regions("sram")

    u = v.get(data, "uart", "uart", dict)
    family = v.choice(u, "family", "uart.family", UART_FAMILIES)
    base = v.get(u, "base", "uart.base", int)
    if not 0 <= base < 1 << 32:
        v.fail("uart.base", f"0x{base:X} is outside the 32-bit address space")
    baud = v.get(u, "baud", "uart.baud", int)
    if not 300 <= baud <= 12_000_000:
        v.fail("uart.baud", f"{baud} is not a plausible baud rate")
    regs = v.get(u, "regs", "uart.regs", str, required=False)
    if family == "stm32":
        if regs is None:
            v.fail("uart.regs", "is missing: stm32 UARTs need regs = \"sr\" (F1/F2/F4) or \"isr\" (F0/F3/F7/L4/H7/G4)")
        if regs not in STM32_REGS:
            v.fail("uart.regs", f"must be one of {', '.join(STM32_REGS)}, got {regs!r}")
    unknown = sorted(set(u) - {"family", "base", "baud", "instance", "regs", "pins"})
    if unknown:
        v.fail(f"uart.{unknown[0]}", "is not a uart field (family, base, baud, instance, regs, pins)")
    uart = Uart(family=family, base=base, baud=baud, instance=v.get(u, "instance", "uart.instance", str, False),
                regs=regs, pins=v.get(u, "pins", "uart.pins", str, False))

    fl = v.get(data, "flasher", "flasher", dict)
    tool = v.choice(fl, "tool", "flasher.tool", FLASHERS)
    for req in FLASHER_REQUIRED.get(tool, ()):
        if req not in fl:
            v.fail(f"flasher.{req}", f"is missing (the {tool} flasher needs it)")
    if tool == "openocd":
        cfg = fl["config"]
        if not (isinstance(cfg, str) or isinstance(cfg, list) and cfg and all(isinstance(c, str) for c in cfg)):
            v.fail("flasher.config", "must be an OpenOCD config file name or a list of them")

    qemu = data.get("qemu")
    if emulated:
        if tool != "qemu":
            v.fail("flasher.tool", f"must be \"qemu\" for an emulated board, got {tool!r}")
        if not isinstance(qemu, dict):
            v.fail("qemu", "is missing: emulated boards need [qemu] machine = \"...\"")
        v.get(qemu, "machine", "qemu.machine", str)
    else:
        if tool == "qemu":
            v.fail("flasher.tool", "is \"qemu\" but emulated = false")
        if qemu is not None:
            v.fail("qemu", "is only for emulated boards (emulated = true)")
    extra = {k: data[k] for k in ("url", "notes") if k in data}
    return Board(name=name, vendor=vendor, description=description, mcu=mcu, core=core, fpu=fpu, dsp=dsp,
                 mve=mve, clock_hz=clock, flash=flash, sram=sram, uart=uart, flasher=dict(fl),
                 emulated=emulated, qemu=dict(qemu) if qemu else None, path=path, extra=extra)


def load_board_file(path: Path | str) -> Board:
    """Parse and validate one board file (any path)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise InputError(f"board file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"board file {path.name} is not valid TOML: {e}") from e
    return _validate(path, data)


def board_files(directory: Path = BOARDS_DIR) -> list[Path]:
    return sorted(Path(directory).glob("*.toml"))


@lru_cache(maxsize=None)
def _all(directory: str) -> dict[str, Board]:
    return {b.name: b for b in (load_board_file(p) for p in board_files(Path(directory)))}


def list_boards(directory: Path = BOARDS_DIR) -> list[Board]:
    """Every board, validated, sorted: virtual (QEMU) boards first, then by name."""
    return sorted(_all(str(directory)).values(), key=lambda b: (not b.emulated, b.name))


def board_names(directory: Path = BOARDS_DIR) -> list[str]:
    return [b.name for b in list_boards(directory)]


def get_board(name: str, directory: Path = BOARDS_DIR) -> Board:
    """The board called `name` (a path to a .toml file also works); InputError with close
    matches when there is none."""
    if name.endswith(".toml") and Path(name).is_file():
        return load_board_file(name)
    boards = _all(str(directory))
    key = name.strip().lower()
    if key in boards:
        return boards[key]
    aliases = {n.removeprefix("qemu-"): n for n in boards} | {n.replace("-", ""): n for n in boards}
    if key in aliases or key.replace("-", "").replace("_", "") in aliases:
        return boards[aliases.get(key) or aliases[key.replace("-", "").replace("_", "")]]
    close = difflib.get_close_matches(key, list(boards), n=4, cutoff=0.5)
    close += [n for n in boards if key and key in n and n not in close][:4 - len(close)]
    msg = f"unknown board {name!r}"
    if close:
        msg += f"; did you mean {', '.join(close)}?"
    raise InputError(msg, hint="`edgeq boards` lists them all")
