"""Memory banks: which board region holds the arena and which the constant data.

Boards list their memory regions (``edgeq/boards/*.toml``: ``[[flash]]`` and ``[[sram]]``, one of
each kind marked default). By default the arena (activations, graph I/O and kernel scratch) goes
in the default SRAM region and the weights (every constant array: filters, biases,
requantization parameters, tables) in the default flash region, as plain ``.bss`` / ``.rodata``.
``--place arena=REGION,weights=REGION`` moves a class into another region of the board: the
generated code then puts its arrays in a named section (``.edgeq.ram.REGION`` for the arena,
``.edgeq.rom.REGION`` for constants) and edgeq's linker script (``firmware/platform/linker.ld.in``)
places each such section in its region. A project with its own linker script places those
sections itself.

The granularity is the buffer class. ``scratch`` is accepted for the region the arena is in:
the planner puts kernel scratch inside the arena (its offsets are planned together with the
activations), so scratch cannot go elsewhere than the arena. Constants go only to flash-kind
regions (RAM has no initial contents without a copy loop at boot, which edgeq's startup does
only for ``.data``) and the arena only to SRAM-kind regions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError

CLASSES = ("arena", "scratch", "weights")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Placement:
    """Region names (None: the board's default region, no named section)."""

    arena: str | None = None
    weights: str | None = None

    @property
    def arena_section(self) -> str | None:
        return f".edgeq.ram.{self.arena}" if self.arena else None

    @property
    def weights_section(self) -> str | None:
        return f".edgeq.rom.{self.weights}" if self.weights else None

    def to_dict(self) -> dict:
        return {"arena": self.arena, "weights": self.weights,
                "arena_section": self.arena_section, "weights_section": self.weights_section}

    def __bool__(self) -> bool:
        return bool(self.arena or self.weights)


def parse_place(text: str) -> dict[str, str]:
    """'arena=dtcm,weights=flash' → {'arena': 'dtcm', 'weights': 'flash'}."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        key, eq, region = (s.strip() for s in part.partition("="))
        if not eq or not region:
            raise InputError(f"--place {text!r}: {part!r} is not CLASS=REGION",
                             hint=f"e.g. --place arena=dtcm,weights=flash (classes: {', '.join(CLASSES)})")
        if key not in CLASSES:
            raise InputError(f"--place: unknown buffer class {key!r}", hint=f"classes: {', '.join(CLASSES)}")
        if key in out and out[key] != region:
            raise InputError(f"--place: {key} is placed twice ({out[key]} and {region})")
        out[key] = region
    return out


def resolve(place: str | dict | None, board) -> Placement:
    """Check a ``--place`` value against the board's regions. ``board`` is an ``edgeq.boards``
    Board (or a name); needed whenever ``place`` names a region."""
    if isinstance(place, Placement):
        return place
    spec = parse_place(place) if isinstance(place, str) else dict(place or {})
    if not spec:
        return Placement()
    if board is None:
        raise InputError("--place needs the board whose regions it names (--board NAME)",
                         hint="`edgeq boards --json` lists each board's flash and sram regions")
    if isinstance(board, str):
        from .boards import get_board

        board = get_board(board)
    srams = {r.name: r for r in board.sram}
    flashes = {r.name: r for r in board.flash}
    arena = spec.get("arena") or spec.get("scratch")
    if "scratch" in spec and spec["scratch"] != arena:
        raise InputError(f"--place: scratch={spec['scratch']} differs from arena={arena}: kernel scratch is "
                         "planned inside the arena and goes where the arena goes")
    if arena is not None and arena not in srams:
        where = " (a flash region)" if arena in flashes else ""
        raise InputError(f"--place: board {board.name} has no SRAM region {arena!r}{where}",
                         hint=f"its SRAM regions: {', '.join(srams)}")
    weights = spec.get("weights")
    if weights is not None and weights not in flashes:
        where = " (an SRAM region: constants need a flash-kind region)" if weights in srams else ""
        raise InputError(f"--place: board {board.name} has no flash region {weights!r}{where}",
                         hint=f"its flash regions: {', '.join(flashes)}")
    for r in (arena, weights):
        if r is not None and not _NAME.match(r):
            raise InputError(f"--place: region name {r!r} cannot name a section (letters, digits, _)")
    return Placement(arena=arena, weights=weights)


def linker_regions(board) -> dict[str, str]:
    """CMake cache values for the linker script: the default regions' names (their sections join
    .bss / .text) and the other regions as NAME:ORIGIN:LENGTH lists (each gets its own section)."""
    extra_ram = [f"{r.name}:0x{r.origin:08x}:0x{r.size:x}" for r in board.sram
                 if r is not board.default_sram and _NAME.match(r.name)]
    extra_rom = [f"{r.name}:0x{r.origin:08x}:0x{r.size:x}" for r in board.flash
                 if r is not board.default_flash and _NAME.match(r.name)]
    return {"EDGEQ_RAM_NAME": board.default_sram.name, "EDGEQ_FLASH_NAME": board.default_flash.name,
            "EDGEQ_EXTRA_RAM": ";".join(extra_ram), "EDGEQ_EXTRA_ROM": ";".join(extra_rom)}
