"""`edgeq size-check`: will the model fit the board? Itemized flash and SRAM against budgets.

Pure Python over the IR (``edgeq.graph``), the planner (``edgeq.memory``) and the board
database (``edgeq.boards``): checking a ``.tflite`` never imports TensorFlow.

SRAM = the planned arena (activations, graph I/O and kernel scratch, as the generated code
declares it) + the serial test harness' I/O buffers (it receives the input and stages the output
outside the arena) + the stack reserve + an application reserve (the runtime's .data/.bss).
Flash = weights + biases + per-channel requantization arrays + other constants + the kernel/glue
code (sizes measured from firmware builds per core family, ``edgeq/code_sizes.json``; hand
estimates for op types never measured) + a runtime reserve (startup, UART, protocol: by default
the measured runtime of edgeq's test firmware). The budget is the board's default flash / SRAM
region, or explicit sizes. The SRAM table shows the arena as tensors + the scratch it adds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import InputError
from .graph import Graph, tensor_label
from .memory import FlashUsage, MemoryPlan, flash_usage, plan_memory

DEFAULT_STACK_RESERVE = 8192  # the firmware build's default stack (edgeq.build stack_size)
DEFAULT_RESERVE_SRAM = 1024  # runtime .data/.bss (protocol state, UART driver, timer)
_FALLBACK_RESERVE_FLASH = 8192  # startup + vector table + UART driver + serial protocol + libc bits


def default_reserve_flash(core: str | None = None) -> int:
    """The runtime's flash (vector table, startup, UART, harness, libc/libgcc pieces) as measured
    in edgeq's test firmware for the core's family, rounded up to 256 B; 8 KiB if unmeasured."""
    from .memory import measured_code_sizes

    m = measured_code_sizes(core)
    return -(-m["runtime_bytes"] // 256) * 256 if m else _FALLBACK_RESERVE_FLASH


DEFAULT_RESERVE_FLASH = default_reserve_flash()  # without a board: the default family (Cortex-M4)

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)(i?[bB])?\s*$")


def parse_size(text: str | int, what: str = "size") -> int:
    """'512K' / '512KiB' / '1M' / '1.5M' / '0x20000' / '65536' → bytes (K = 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise InputError(f"{what} must not be negative, got {text}")
        return text
    s = str(text).strip().replace("_", "")
    try:
        if s.lower().startswith("0x"):
            return int(s, 16)
    except ValueError:
        raise InputError(f"{what}: cannot read {text!r} as a size",
                         hint="use bytes (65536), hex (0x10000) or K/M suffixes (64K, 1M)") from None
    m = _SIZE_RE.match(s)
    if not m:
        raise InputError(f"{what}: cannot read {text!r} as a size",
                         hint="use bytes (65536), hex (0x10000) or K/M suffixes (64K, 1M)")
    value = float(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]
    if value != int(value):
        raise InputError(f"{what}: {text!r} is not a whole number of bytes")
    return int(value)


def fmt_bytes(n: int) -> str:
    for unit, div in (("MiB", 1048576), ("KiB", 1024)):
        if abs(n) >= div:
            v = n / div
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.{2 if unit == 'MiB' else 1}f} {unit}"
    return f"{n} B"


# -------------------------------------------------------------------------------------- results

@dataclass
class Item:
    name: str
    bytes: int
    detail: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "bytes": self.bytes, "detail": self.detail}


@dataclass
class Budget:
    kind: str  # "flash" | "sram"
    items: list[Item]
    available: int
    region: str | None = None  # the board region the budget is

    @property
    def used(self) -> int:
        return sum(i.bytes for i in self.items)

    @property
    def free(self) -> int:
        return self.available - self.used

    @property
    def fits(self) -> bool:
        return self.used <= self.available

    @property
    def overflow(self) -> int:
        return max(0, self.used - self.available)

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.available if self.available else float("inf")

    def dominant(self, n: int = 2) -> list[Item]:
        return sorted((i for i in self.items if i.bytes > 0), key=lambda i: -i.bytes)[:n]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "region": self.region, "available": self.available, "used": self.used,
                "free": self.free, "percent": round(self.percent, 2) if self.available else None,
                "fits": self.fits, "overflow": self.overflow, "items": [i.to_dict() for i in self.items],
                "dominant": [i.name for i in self.dominant()]}


@dataclass
class SizeCheckResult:
    model: dict
    board: dict | None
    flash: Budget
    sram: Budget
    stack: Budget  # the kernels' deepest stack use + the frames above it, against the stack size
    plan: MemoryPlan
    flash_usage: FlashUsage
    layers: list[dict]
    peak: dict
    notes: list[str] = field(default_factory=list)
    inplace: bool = True  # in-place planning was on (generate's default; off: --no-inplace)
    pack_weights: str = "auto"  # 4-bit weight storage as generate's --pack-weights
    # memory banks (--place): budgets of the other board regions the placement uses
    regions: list[Budget] = field(default_factory=list)
    placement: dict | None = None

    @property
    def budgets(self) -> list[Budget]:
        return [self.flash, self.sram, *self.regions, self.stack]

    @property
    def fits(self) -> bool:
        return all(b.fits for b in self.budgets)

    def failure_message(self) -> str | None:
        """One sentence per overflowing budget, naming the bytes over and the biggest items."""
        parts = []
        for b in self.budgets:
            if not b.fits:
                dom = ", ".join(f"{i.name} {fmt_bytes(i.bytes)}" for i in b.dominant())
                where = f" ({b.region})" if b.region else ""
                parts.append(f"{b.kind}{where} over budget by {b.overflow:,} B ({fmt_bytes(b.used)} needed, "
                             f"{fmt_bytes(b.available)} available; largest: {dom})")
        return "; ".join(parts) if parts else None

    def to_dict(self) -> dict:
        return {"kind": "edgeq.size-check", "model": self.model, "board": self.board, "fits": self.fits,
                "flash": self.flash.to_dict(), "sram": self.sram.to_dict(), "stack": self.stack.to_dict(),
                "regions": [b.to_dict() for b in self.regions], "placement": self.placement,
                "arena": {"bytes": self.plan.arena_bytes, "lower_bound": self.plan.lower_bound,
                          "greedy_bytes": self.plan.greedy_bytes, "strategy": self.plan.strategy,
                          "attempts": dict(self.plan.attempts), "scratch_bytes": self.plan.scratch_bytes,
                          "alignment": self.plan.alignment, "optimal": self.plan.optimal,
                          "inplace_bound": self.plan.inplace_bound, "inplace_planning": self.inplace,
                          "vs_liveness_bound": round(self.plan.arena_bytes / max(self.plan.lower_bound, 1), 4),
                          "inplace": [d.to_dict() for _, d in sorted(self.plan.inplace.items())]},
                "peak": self.peak, "layers": self.layers, "macs": self.flash_usage.macs,
                "pack_weights": self.pack_weights, "weights_by_precision": self.flash_usage.weights_by_precision,
                "buffers": [b.to_dict() for b in self.plan.buffers], "notes": list(self.notes),
                "failure": self.failure_message()}


# -------------------------------------------------------------------------------------- checking

def size_check(graph: Graph, board=None, *, flash_budget: int | str | None = None,
               sram_budget: int | str | None = None, reserve_sram: int | str = DEFAULT_RESERVE_SRAM,
               stack_reserve: int | str = DEFAULT_STACK_RESERVE,
               reserve_flash: int | str | None = None, io_buffers: bool = True,
               scratch_variant: str = "portable", inplace: bool = True, place=None,
               pack_weights: str = "auto") -> SizeCheckResult:
    """Check `graph` against a board (a ``Board`` or a board name) or explicit budgets.

    Explicit ``flash_budget`` / ``sram_budget`` override the board's default regions. Returns
    the result whether it fits or not (``result.fits``); raises InputError for bad arguments.
    ``reserve_flash`` None: the measured runtime for the board's core (``default_reserve_flash``).
    ``inplace`` False: plan without in-place overlaps (what ``generate --no-inplace`` declares).
    ``place`` (``generate --place``'s value, ``edgeq.placement``): the arena and/or the constants in
    other regions of the board; each such region becomes its own budget.
    ``pack_weights`` (generate's --pack-weights): "auto" counts weights that fit 4 bits packed.
    """
    from .codegen.packed_weights import check_mode

    check_mode(pack_weights)
    from .placement import resolve as resolve_place

    from . import boards as boards_mod

    if isinstance(board, str):
        board = boards_mod.get_board(board)
    if board is None and (flash_budget is None or sram_budget is None):
        raise InputError("size-check needs a board (--board NAME) or both budgets (--flash SIZE --sram SIZE)",
                         hint="`edgeq boards` lists the known boards")
    flash_avail = parse_size(flash_budget, "--flash") if flash_budget is not None else board.flash_bytes
    sram_avail = parse_size(sram_budget, "--sram") if sram_budget is not None else board.sram_bytes
    reserve_sram = parse_size(reserve_sram, "--reserve-sram")
    stack_reserve = parse_size(stack_reserve, "--stack")
    core = board.core if board is not None else None
    reserve_measured = reserve_flash is None
    reserve_flash = default_reserve_flash(core) if reserve_measured else parse_size(reserve_flash, "--reserve-flash")

    lowered = _lowered(graph, core, scratch_variant, inplace, pack_weights)
    # the lowering's plan is the one generate uses; plan here only where nothing was lowered
    plan = lowered.plan if lowered is not None else plan_memory(graph, scratch=True, variant=scratch_variant,
                                                                 inplace=inplace)
    routes = _routes_by_op(lowered, core)
    fu = flash_usage(graph, core, pack_weights, routes)
    kstack = kernel_stack(graph, core, routes)
    io_bytes = sum(t.nbytes for t in graph.input_tensors()) + sum(t.nbytes for t in graph.output_tensors())
    io = _io_tensors(graph)

    n_kernels = len([k for k, v in fu.kernel_code.items() if v and not k.startswith("route ")])
    n_routes = len([k for k, v in fu.kernel_code.items() if v and k.startswith("route ")])
    flash_items = [
        Item("weights", fu.weights, "filters of conv / depthwise / fully connected: "
             + ", ".join(f"{p} {d['bytes']:,} B ({d['layers']} layers)"
                         for p, d in sorted(fu.weights_by_precision.items())) if fu.weights_by_precision
             else "filters of conv / depthwise / fully connected"),
        Item("biases", fu.biases, "int32 biases"),
        Item("requant params", fu.quant_params, "int32 multiplier + shift per output channel"),
        Item("other constants", fu.constants, "constant operands emitted as arrays"),
        Item("kernel code (est.)", fu.code, f"{n_kernels} kernel types"
             + (f" ({n_routes} variant routes)" if n_routes else "") + f" + glue for {len(graph.operators)} ops"
             + (f", sizes measured on {fu.family}" if fu.measured else ", hand estimates")),
        Item("runtime reserve", reserve_flash, "startup, UART driver, serial protocol"
             + (" (measured)" if reserve_measured and fu.measured else "")),
    ]
    # The arena as the code declares it, shown as tensors + what kernel scratch adds on top
    # (the arena without scratch buffers vs with them): the two rows sum to the arena exactly.
    has_scratch = any(b.kind == "scratch" for b in plan.buffers)
    tensor_arena = plan_memory(graph, scratch=False, inplace=inplace).arena_bytes if has_scratch else plan.arena_bytes
    tensor_arena = min(tensor_arena, plan.arena_bytes)
    n_scratch = len([b for b in plan.buffers if b.kind == "scratch"])
    sram_items = [
        Item("arena", tensor_arena, f"activations + I/O, {len(plan.buffers) - n_scratch} buffers "
                                    f"(arena with scratch {plan.arena_bytes:,} B, lower bound {plan.lower_bound:,} B)"),
        Item("scratch", plan.arena_bytes - tensor_arena, f"kernel scratch in the arena: {n_scratch} buffers, "
                                                         f"largest {plan.scratch_bytes:,} B"),
        Item("harness I/O buffers", io_bytes if io_buffers else 0, "serial test harness: input + output staging"
             + ("" if len(io) == 2 else ": " + ", ".join(f"{t['kind']} {t['index']} {t['bytes']:,} B" for t in io))),
        # the stack as the firmware reserves it, the deepest kernel's part shown on its own line
        Item("kernel stack", min(kstack.bytes, stack_reserve), kstack.detail),
        Item("stack reserve", stack_reserve - min(kstack.bytes, stack_reserve),
             f"rest of the {stack_reserve:,} B stack (harness, glue, interrupts)"),
        Item("application reserve", reserve_sram, "runtime .data/.bss"),
    ]
    flash_region = None if flash_budget is not None or board is None else board.default_flash.name
    sram_region = None if sram_budget is not None or board is None else board.default_sram.name
    placement = resolve_place(place, board)
    regions = []
    moves = (("sram", placement.arena, board.sram if board else (), ("arena", "scratch")),
             ("flash", placement.weights, board.flash if board else (),
              ("weights", "biases", "requant params", "other constants")))
    for kind, where, board_regions, names in moves:
        r = next((x for x in board_regions if x.name == where), None)
        if r is None or r.default:
            continue
        items = flash_items if kind == "flash" else sram_items
        moved = [i for i in items if i.name in names]
        items[:] = [i for i in items if i.name not in names]
        regions.append(Budget(kind, moved, r.size, r.name))
    flash = Budget("flash", flash_items, flash_avail, flash_region)
    sram = Budget("sram", sram_items, sram_avail, sram_region)
    # the stack is a fixed region: the kernels' deepest call plus the frames above it must fit
    stack = Budget("stack", [Item("kernel stack", kstack.bytes, kstack.detail),
                             Item("harness + glue frames", kstack.caller_bytes,
                                  "main loop, serial protocol, NAME_invoke" + (" (measured)" if kstack.measured else ""))],
                   stack_reserve)

    layers = []
    fu_by_op = {o.index: o for o in fu.ops}
    for op in graph.operators:
        out = graph.tensors[op.outputs[0]] if op.outputs else None
        sc = plan.scratch_for(op.index)
        f = fu_by_op[op.index]
        layers.append({"index": op.index, "opcode": op.label, "output": out.name if out else None,
                       "shape": list(out.shape) if out else None, "weights": f.weights, "biases": f.biases,
                       "weight_precision": f.weight_precision, "weights_int8": f.weights_int8,
                       "quant_params": f.quant_params, "constants": f.constants,
                       "flash": f.weights + f.biases + f.quant_params + f.constants,
                       "scratch": sc.size if sc else 0, "live_bytes": plan.live_bytes[op.index], "macs": f.macs})
    peak_op = graph.operators[plan.peak_step] if graph.operators else None
    peak = {"step": plan.peak_step, "bytes": plan.lower_bound,
            "opcode": peak_op.label if peak_op else None,
            "output": graph.tensors[peak_op.outputs[0]].name if peak_op and peak_op.outputs else None,
            "live": [{"name": b.name, "kind": b.kind, "bytes": b.aligned_size, "offset": b.offset}
                     for b in plan.live_at(plan.peak_step)]}
    notes = []
    if board is not None:
        others = [r for r in board.sram if not r.default and r.name not in {b.region for b in regions}]
        if others:
            notes.append("other SRAM banks not used by this plan: "
                         + ", ".join(f"{r.name} {fmt_bytes(r.size)}" for r in others))
    if plan.arena_bytes > plan.lower_bound:
        notes.append(f"arena {plan.arena_bytes:,} B is above the liveness lower bound {plan.lower_bound:,} B")
    model = {"name": graph.name, "sha256": graph.sha256, "bytes": graph.nbytes, "ops": len(graph.operators),
             "tensors": len(graph.tensors), "opcodes": graph.opcodes(),
             "io": io}  # every input and output tensor: what the harness stages for it
    return SizeCheckResult(model=model, board=_board_summary(board), flash=flash, sram=sram, stack=stack, plan=plan,
                           flash_usage=fu, layers=layers, peak=peak, notes=notes, inplace=inplace,
                           regions=regions, placement=placement.to_dict() if placement else None,
                           pack_weights=pack_weights)


@dataclass
class KernelStack:
    bytes: int  # the deepest kernel call: its op type's entry frame + the largest route frame it takes
    detail: str
    caller_bytes: int  # the frames above the kernels (harness, NAME_invoke)
    measured: bool


#: Frames above the kernels when nothing was measured (main loop + protocol + NAME_invoke).
_FALLBACK_CALLER_STACK = 1024


def _lowered(graph: Graph, core, scratch_variant: str, inplace: bool, pack_weights: str):
    """The graph lowered as generate lowers it, when ``core``'s family has kernel routes to tell
    apart (``edgeq.codegen.routes``); None for the M3 family or when an op cannot be lowered
    (generate would refuse it: size-check still reports the rest, with every route counted; a
    lowering bug, any other exception, is not hidden behind a slightly high estimate)."""
    from .codegen.routes import FAMILY_ROUTES

    from .flash_usage import code_family

    if code_family(core) not in FAMILY_ROUTES:
        return None
    try:
        from .codegen.lower import lower

        return lower(graph, variant=scratch_variant, inplace=inplace, pack_weights=pack_weights)
    except InputError:
        return None


def _routes_by_op(lowered, core):
    """Op index → the kernel routes its generated call takes on ``core``'s family (what a build
    for this model links); None when nothing was lowered (every route is counted then)."""
    from .codegen.routes import routes_by_op
    from .flash_usage import code_family

    return routes_by_op(lowered, code_family(core)) if lowered is not None else None


def kernel_stack(graph: Graph, core, routes: dict[int, list[str]] | None) -> KernelStack:
    """The deepest stack the model's kernels use: per op, its op type's largest measured frame
    plus the largest frame of the routes its call takes (``route_stack_bytes``: the first-layer
    field table, the 1x1 buffers, the 3x3 depthwise rows are locals of the route functions);
    the maximum over the ops. From ``edgeq/code_sizes.json`` (gcc -fstack-usage of the builds)."""
    from .flash_usage import kernel_key
    from .memory import measured_code_sizes

    m = measured_code_sizes(core) or {}
    op_stack, route_stack = m.get("kernel_stack_bytes", {}), m.get("route_stack_bytes", {})
    if not op_stack:
        return KernelStack(0, "not measured for this core", _FALLBACK_CALLER_STACK, False)
    best, where = 0, ""
    for op in graph.operators:
        key = kernel_key(graph, op)
        taken = routes.get(op.index, []) if routes is not None else (
            list(route_stack) if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D") else [])
        r = max(taken, key=lambda x: route_stack.get(x, 0), default=None)
        n = op_stack.get(key, 0) + (route_stack.get(r, 0) if r else 0)
        if n > best:
            best, where = n, f"op #{op.index} {op.label}" + (f", route {r}" if r else "")
    return KernelStack(best, f"deepest kernel call: {where} (measured frames)" if where else "",
                       m.get("caller_stack_bytes", _FALLBACK_CALLER_STACK), True)


def _io_tensors(graph: Graph) -> list[dict]:
    """One row per graph input and output (the serial harness stages each: inputs as received,
    outputs before they are sent)."""
    rows = []
    for kind, idx in (("input", graph.inputs), ("output", graph.outputs)):
        for k, i in enumerate(idx):
            t = graph.tensors[i]
            rows.append({"kind": kind, "index": k, "name": t.name.split(";")[0], "dtype": t.dtype,
                         "shape": list(t.shape), "bytes": t.nbytes})
    return rows


def _io_label(name: str) -> str:
    """A converted model's I/O tensor name as a person reads it: 'serving_default_image:0' → 'image';
    the converter's output names (StatefulPartitionedCall...) say nothing: ''."""
    first = name.split(";")[0]
    if first.startswith("StatefulPartitionedCall"):
        return ""
    return tensor_label(first, 20)


def _board_summary(board) -> dict | None:
    if board is None:
        return None
    return {"name": board.name, "core": board.core, "clock_hz": board.clock_hz, "emulated": board.emulated,
            "flash_region": board.default_flash.to_dict(), "sram_region": board.default_sram.to_dict()}


# -------------------------------------------------------------------------------- model loading

# ------------------------------------------------------------------------------------ rendering

def _bar(pct: float, width: int = 20) -> str:
    filled = min(width, int(round(width * min(pct, 100.0) / 100.0)))
    color = "green" if pct <= 80 else "yellow" if pct <= 100 else "red"
    return f"[{color}]{'█' * filled}{'░' * (width - filled)}[/]"



def render(result: SizeCheckResult, console, layers: bool = False) -> None:
    """Print the result as rich tables (budgets with percent bars, items, optional layers)."""
    from rich.table import Table

    title = f"edgeq size-check — {result.model['name']}"
    if result.board:
        title += f" on {result.board['name']} ({result.board['core']})"
    wide = (console.width or 80) >= 130
    t = Table(title=title, title_justify="left")
    for c, j in (("memory", "left"), ("item", "left"), ("bytes", "right"), ("", "left")):
        t.add_column(c, justify=j, no_wrap=c != "")
    for b in result.budgets:
        label = b.kind + (f" ({b.region})" if b.region else "")
        io = result.model.get("io") or []
        for k, it in enumerate(b.items):
            t.add_row(label if k == 0 else "", it.name, f"{it.bytes:,}", f"[dim]{it.detail}[/]" if wide else "")
            if it.name == "harness I/O buffers" and it.bytes and len(io) > 2:
                for r in io:  # several inputs/outputs: the buffer of each (part of the row above)
                    t.add_row("", f"[dim]  {r['kind']} {r['index']} {_io_label(r['name'])}[/]",
                              f"[dim]{r['bytes']:,}[/]", "")
        status = "[green]fits[/]" if b.fits else f"[bold red]OVER by {b.overflow:,} B[/]"
        t.add_row("", "[bold]used / available[/]", f"[bold]{b.used:,} / {b.available:,}[/]",
                  f"{_bar(b.percent, 20 if wide else 10)} {b.percent:5.1f}%  {status}")
        t.add_section()
    console.print(t)
    p = result.plan
    planning = "in-place plan" if result.inplace else "in-place planning off (--no-inplace)"
    console.print(f"arena {p.arena_bytes:,} B ({planning}) = {p.arena_bytes / max(p.lower_bound, 1):.3f} × liveness lower bound "
                  f"{p.lower_bound:,} B{', optimal' if p.optimal else ''}; TFLM-style greedy {p.greedy_bytes:,} B; "
                  f"strategy {p.strategy}. Liveness peak at op #{result.peak['step']} {result.peak['opcode']}: "
                  + ", ".join(f"{tensor_label(x['name'])} {x['bytes']:,} B" for x in result.peak["live"]))
    if p.inplace:
        banded = [d for d in p.inplace.values() if d.rows]
        console.print(f"in place: {len(p.inplace)} ops write over an input that dies there "
                      f"(bound with these overlaps {p.inplace_bound:,} B); {len(banded)} run as bands, "
                      f"{sum(d.count for d in banded)} kernel calls")
    byp = result.flash_usage.weights_by_precision
    if set(byp) - {"int8"}:
        stored, as_int8 = sum(d["bytes"] for d in byp.values()), sum(d["int8_bytes"] for d in byp.values())
        console.print("weights by precision: " + ", ".join(
            f"{p} {d['bytes']:,} B in {d['layers']} layers" for p, d in sorted(byp.items()))
            + f"; {stored:,} B = {stored / max(as_int8, 1):.3f} × the int8 {as_int8:,} B"
            + ("" if result.pack_weights == "auto" else f" (--pack-weights {result.pack_weights})"))
    for n in result.notes:
        console.print(f"[dim]note: {n}[/]")
    if layers:
        lt = Table(title="per layer", title_justify="left")
        for c in ("#", "op", "output shape", "weights", "flash", "scratch", "live SRAM", "MACs"):
            lt.add_column(c, justify="left" if c in ("op", "output shape", "weights") else "right")
        for r in result.layers:
            wp = f"{r['weight_precision']} {r['weights']:,}" if r.get("weight_precision") else ""
            lt.add_row(str(r["index"]), r["opcode"], "×".join(map(str, r["shape"] or [])), wp, f"{r['flash']:,}",
                       f"{r['scratch']:,}", f"{r['live_bytes']:,}", f"{r['macs']:,}")
        console.print(lt)
