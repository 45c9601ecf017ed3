"""`edgeq size-check A.tflite B.tflite ...`: will a set of models fit one board together?

The set is what `edgeq generate A.tflite B.tflite ...` emits (``edgeq.codegen.model_set``): the
models never run at the same time and share one arena, so SRAM holds the *largest* model's arena
(max, not sum); flash holds every model's constant data and its per-call glue, but each kernel
type, the shared helpers and the runtime only once. Each model is planned exactly as
``edgeq.sizecheck.size_check`` plans it alone (the arena each generated model declares).
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import Graph
from .sizecheck import (DEFAULT_RESERVE_SRAM, DEFAULT_STACK_RESERVE, Budget, Item, SizeCheckResult, _bar,
                        fmt_bytes, size_check)


@dataclass
class SetSizeCheckResult:
    names: list[str]
    models: list[SizeCheckResult]  # each model checked alone (its plan is the one generated)
    board: dict | None
    flash: Budget
    sram: Budget
    arena_bytes: int  # the shared arena: max of the models' arenas
    inplace: bool = True

    @property
    def arena_sum(self) -> int:
        return sum(m.plan.arena_bytes for m in self.models)

    @property
    def fits(self) -> bool:
        return self.flash.fits and self.sram.fits

    def failure_message(self) -> str | None:
        parts = []
        for b in (self.flash, self.sram):
            if not b.fits:
                dom = ", ".join(f"{i.name} {fmt_bytes(i.bytes)}" for i in b.dominant())
                where = f" ({b.region})" if b.region else ""
                parts.append(f"{b.kind}{where} over budget by {b.overflow:,} B for the {len(self.models)} models "
                             f"({fmt_bytes(b.used)} needed, {fmt_bytes(b.available)} available; largest: {dom})")
        return "; ".join(parts) if parts else None

    def to_dict(self) -> dict:
        return {"kind": "edgeq.size-check.set", "board": self.board, "fits": self.fits,
                "flash": self.flash.to_dict(), "sram": self.sram.to_dict(),
                "arena": {"bytes": self.arena_bytes, "sum_of_separate_bytes": self.arena_sum,
                          "inplace_planning": self.inplace},
                "models": [{"name": n, "model": m.model["name"], "sha256": m.model["sha256"],
                            "arena_bytes": m.plan.arena_bytes, "lower_bound": m.plan.lower_bound,
                            "data_bytes": m.flash_usage.data, "glue_bytes": m.flash_usage.glue,
                            "kernel_types": sorted(k for k, v in m.flash_usage.kernel_code.items() if v),
                            "ops": m.model["ops"], "fits_alone": m.fits}
                           for n, m in zip(self.names, self.models)],
                "failure": self.failure_message()}


def size_check_set(graphs: list[Graph], names: list[str], board=None, *, flash_budget=None, sram_budget=None,
                   reserve_sram=DEFAULT_RESERVE_SRAM, stack_reserve=DEFAULT_STACK_RESERVE, reserve_flash=None,
                   io_buffers: bool = True, scratch_variant: str = "portable",
                   inplace: bool = True) -> SetSizeCheckResult:
    """Check the set against a board or explicit budgets (as ``size_check`` does for one model)."""
    each = [size_check(g, board, flash_budget=flash_budget, sram_budget=sram_budget, reserve_sram=reserve_sram,
                       stack_reserve=stack_reserve, reserve_flash=reserve_flash, io_buffers=io_buffers,
                       scratch_variant=scratch_variant, inplace=inplace) for g in graphs]
    first = each[0]
    item = {b.kind: {i.name: i for i in b.items} for b in (first.flash, first.sram)}
    fus = [m.flash_usage for m in each]
    kernel_code: dict[str, int] = {}
    for fu in fus:  # one copy of each kernel type, whichever models call it
        for k, v in fu.kernel_code.items():
            kernel_code[k] = max(v, kernel_code.get(k, 0))
    # the set's one kernel library is built without a model's route list (edgeq_kernel_routes.h):
    # every measured route of the op types it links is in it
    from .codegen.routes import route_op
    from .memory import measured_code_sizes

    route_bytes = (measured_code_sizes((first.board or {}).get("core")) or {}).get("route_bytes", {})
    if any(k.startswith("route ") for k in kernel_code):
        kernel_code.update({f"route {r}": n for r, n in route_bytes.items() if kernel_code.get(route_op(r))})
    code = sum(kernel_code.values()) + sum(fu.glue for fu in fus) + max(fu.shared_code for fu in fus)
    measured = all(fu.measured for fu in fus)
    flash_items = [
        Item("weights", sum(fu.weights for fu in fus), "int8 filters, every model's"),
        Item("biases", sum(fu.biases for fu in fus), "int32 biases"),
        Item("requant params", sum(fu.quant_params for fu in fus), "int32 multiplier + shift per output channel"),
        Item("other constants", sum(fu.constants for fu in fus), "constant operands emitted as arrays"),
        Item("kernel code (est.)", code, f"{len([v for v in kernel_code.values() if v])} kernel types once + glue "
             f"for {sum(len(g.operators) for g in graphs)} ops" + (f", sizes measured on {fus[0].family}"
                                                                  if measured else ", hand estimates")),
        item["flash"]["runtime reserve"],
    ]
    arena = max(m.plan.arena_bytes for m in each)
    largest = names[max(range(len(each)), key=lambda k: each[k].plan.arena_bytes)]
    io = max(next(i.bytes for i in m.sram.items if i.name == "harness I/O buffers") for m in each)
    stacks = [next(i for i in m.sram.items if i.name == "kernel stack") for m in each]
    deepest = max(stacks, key=lambda i: i.bytes)
    stack_total = item["sram"]["kernel stack"].bytes + item["sram"]["stack reserve"].bytes  # = --stack
    sram_items = [
        Item("shared arena", arena, f"largest model's ({largest}); separate arenas would take "
                                    f"{sum(m.plan.arena_bytes for m in each):,} B"),
        Item("harness I/O buffers", io, "serial test harness: one model's input + output at a time (the largest)"),
        deepest,  # the deepest kernel stack of any model (one runs at a time)
        Item("stack reserve", stack_total - deepest.bytes, item["sram"]["stack reserve"].detail),
        item["sram"]["application reserve"],
    ]
    flash = Budget("flash", flash_items, first.flash.available, first.flash.region)
    sram = Budget("sram", sram_items, first.sram.available, first.sram.region)
    return SetSizeCheckResult(names=list(names), models=each, board=first.board, flash=flash, sram=sram,
                              arena_bytes=arena, inplace=inplace)


def render_set(result: SetSizeCheckResult, console) -> None:
    from rich.table import Table

    title = f"edgeq size-check — {len(result.models)} models sharing one arena"
    if result.board:
        title += f" on {result.board['name']} ({result.board['core']})"
    wide = (console.width or 80) >= 130
    t = Table(title=title, title_justify="left")
    for c, j in (("memory", "left"), ("item", "left"), ("bytes", "right"), ("", "left")):
        t.add_column(c, justify=j, no_wrap=c != "")
    for b in (result.flash, result.sram):
        label = b.kind + (f" ({b.region})" if b.region else "")
        for k, it in enumerate(b.items):
            t.add_row(label if k == 0 else "", it.name, f"{it.bytes:,}", f"[dim]{it.detail}[/]" if wide else "")
        status = "[green]fits[/]" if b.fits else f"[bold red]OVER by {b.overflow:,} B[/]"
        t.add_row("", "[bold]used / available[/]", f"[bold]{b.used:,} / {b.available:,}[/]",
                  f"{_bar(b.percent, 20 if wide else 10)} {b.percent:5.1f}%  {status}")
        t.add_section()
    console.print(t)
    mt = Table(title="per model", title_justify="left")
    for c in ("model", "arena", "liveness bound", "constant data", "glue (est.)", "ops"):
        mt.add_column(c, justify="left" if c == "model" else "right")
    for n, m in zip(result.names, result.models):
        mt.add_row(n, f"{m.plan.arena_bytes:,}", f"{m.plan.lower_bound:,}", f"{m.flash_usage.data:,}",
                   f"{m.flash_usage.glue:,}", str(m.model["ops"]))
    console.print(mt)
    planning = "in-place plans" if result.inplace else "in-place planning off (--no-inplace)"
    console.print(f"shared arena {result.arena_bytes:,} B ({planning}) = max of the models' arenas; "
                  f"separate arenas would take {result.arena_sum:,} B")
