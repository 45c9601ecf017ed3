"""Tensor lifetimes and the static arena planner (scratch sizes: ``edgeq.scratch``; flash
accounting: ``edgeq.flash_usage``).

Everything here is pure Python over the ``edgeq.graph`` IR (no TensorFlow) and deterministic:
the same model gives the same plan, byte for byte. The arena that ``edgeq size-check`` reports is
the arena the generated code declares: the code generator takes its offsets from ``plan_memory``.

Model of execution (one step per operator, in graph order):

* an activation tensor is live from the step of the op that writes it (graph inputs: step 0)
  through the last step that reads it (graph outputs: the last step);
* RESHAPE / SQUEEZE (alias ops of the registry, ``edgeq.ops``) whose data input is not a constant only reinterpret
  memory: input and output share one buffer, whose lifetime is the union of theirs (no copy);
* an op's scratch buffer (``scratch_bytes``) is live during that op only;
* constants live in flash and are not in the arena.

Buffers are placed in one arena at ``ALIGN``-byte aligned offsets with sizes rounded up to
``ALIGN``. The liveness lower bound is the maximum, over steps, of the aligned bytes of the
buffers live at that step: no placement without overlapping live buffers can do better.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from . import inplace as inplace_mod
from . import ops as op_registry
from .graph import Graph, Tensor
from .scratch import SCRATCH_VARIANTS, align_up, conv_geometry, scratch_bytes  # noqa: F401 (re-exported)

ALIGN = 16


# --------------------------------------------------------------------------------------- buffers

@dataclass
class Buffer:
    """One arena allocation: an activation tensor (with its aliases) or an op's scratch."""

    id: int
    kind: str  # "tensor" | "scratch"
    name: str
    tensors: tuple[int, ...]  # tensor indices stored here (aliases share); () for scratch
    size: int  # bytes needed
    first: int  # first live step (op index), inclusive
    last: int  # last live step, inclusive
    op: int | None = None  # the op that owns a scratch buffer
    offset: int = -1

    @property
    def aligned_size(self) -> int:
        return align_up(self.size)

    @property
    def end(self) -> int:
        return self.offset + self.aligned_size

    def live_at(self, step: int) -> bool:
        return self.first <= step <= self.last

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "name": self.name, "tensors": list(self.tensors),
                "size": self.size, "aligned_size": self.aligned_size, "offset": self.offset,
                "first": self.first, "last": self.last, "op": self.op}


def tensor_lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """(first, last) step of every activation tensor, before aliasing."""
    n = len(graph.operators)
    last_step = max(n - 1, 0)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    acts = {t.index for t in graph.activation_tensors()}
    for i in graph.inputs:
        if i in acts:
            first[i] = 0
            last[i] = 0
    for op in graph.operators:
        for i in op.outputs:
            if i in acts:
                first.setdefault(i, op.index)
                last[i] = max(last.get(i, op.index), op.index)
        for i in op.inputs:
            if i in acts:
                first.setdefault(i, op.index)
                last[i] = max(last.get(i, op.index), op.index)
    for i in graph.outputs:
        if i in acts:
            first.setdefault(i, last_step)
            last[i] = last_step
    for i in acts:  # a tensor nobody touches (never happens in converter output)
        first.setdefault(i, 0)
        last.setdefault(i, first[i])
        if graph.tensors[i].is_variable:  # state kept across invocations: live throughout
            first[i], last[i] = 0, last_step
    return {i: (first[i], last[i]) for i in sorted(first)}


def alias_groups(graph: Graph) -> dict[int, int]:
    """Map each activation tensor to the root tensor whose buffer it uses (itself if none)."""
    parent = {t.index: t.index for t in graph.activation_tensors()}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    aliases = op_registry.alias_ops()
    for op in graph.operators:
        if op.opcode in aliases and op.inputs and op.outputs:
            src, dst = op.inputs[0], op.outputs[0]
            if src in parent and dst in parent:
                a, b = find(src), find(dst)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return {i: find(i) for i in parent}


def build_buffers(graph: Graph, scratch: bool = True, variant: str = "portable") -> list[Buffer]:
    """The buffers to place: one per alias group of activation tensors, plus scratch buffers."""
    lifetimes = tensor_lifetimes(graph)
    roots = alias_groups(graph)
    groups: dict[int, list[int]] = {}
    for i in sorted(roots):
        groups.setdefault(roots[i], []).append(i)
    buffers: list[Buffer] = []
    for root in sorted(groups):
        members = groups[root]
        size = max(graph.tensors[i].nbytes for i in members)
        first = min(lifetimes[i][0] for i in members)
        last = max(lifetimes[i][1] for i in members)
        buffers.append(Buffer(id=len(buffers), kind="tensor", name=graph.tensors[root].name,
                              tensors=tuple(members), size=size, first=first, last=last))
    if scratch:
        for op in graph.operators:
            s = scratch_bytes(graph, op, variant)
            if s > 0:
                buffers.append(Buffer(id=len(buffers), kind="scratch", name=f"scratch:op{op.index}:{op.opcode}",
                                      tensors=(), size=s, first=op.index, last=op.index, op=op.index))
    return buffers


def live_bytes_per_step(buffers: list[Buffer], n_steps: int) -> list[int]:
    """Aligned bytes of the buffers live at each step."""
    out = [0] * max(n_steps, 1)
    for b in buffers:
        for s in range(b.first, b.last + 1):
            out[s] += b.aligned_size
    return out


# --------------------------------------------------------------------------------------- placing

def _place(buffers: list[Buffer], order: list[int], pairs: dict | None = None) -> tuple[dict[int, int], int]:
    """Greedy: each buffer in `order` at the lowest aligned offset free of every already-placed
    buffer whose lifetime overlaps its own. ``pairs`` ((input buffer, output buffer) → (lo, hi)):
    in-place pairs, whose offset difference out - in may be anything outside the open interval
    (lo, hi) instead of outside (-size(out), size(in)). Returns (offsets by id, arena bytes)."""
    pairs = pairs or {}
    placed: list[Buffer] = []
    offsets: dict[int, int] = {}
    arena = 0
    for bid in order:
        b = buffers[bid]
        size = b.aligned_size
        busy = []  # open intervals of forbidden offsets for b
        for p in placed:
            if not (p.overlaps_in_time(b) and p.aligned_size > 0 and size > 0):
                continue
            op_ = offsets[p.id]
            if (p.id, bid) in pairs:
                lo, hi = pairs[p.id, bid]
                busy.append((op_ + lo, op_ + hi))
            elif (bid, p.id) in pairs:
                lo, hi = pairs[bid, p.id]
                busy.append((op_ - hi, op_ - lo))
            else:
                busy.append((op_ - size, op_ + p.aligned_size))
        busy.sort()
        off = 0
        for start, end in busy:
            if off <= start:
                break
            off = max(off, end)
        offsets[bid] = off
        arena = max(arena, off + size)
        placed.append(b)
    return offsets, arena


def _orders(buffers: list[Buffer], peak: int) -> dict[str, list[int]]:
    ids = [b.id for b in buffers]
    span = {b.id: b.last - b.first + 1 for b in buffers}
    sz = {b.id: b.aligned_size for b in buffers}
    first = {b.id: b.first for b in buffers}
    at_peak = {b.id: buffers[b.id].live_at(peak) for b in buffers}
    return {
        "greedy-by-size": sorted(ids, key=lambda i: (-sz[i], first[i], i)),
        "size-longest-first": sorted(ids, key=lambda i: (-sz[i], -span[i], first[i], i)),
        "peak-first": sorted(ids, key=lambda i: (not at_peak[i], -sz[i], first[i], i)),
        "longest-lifetime": sorted(ids, key=lambda i: (-span[i], -sz[i], first[i], i)),
        "size-x-lifetime": sorted(ids, key=lambda i: (-sz[i] * span[i], -sz[i], first[i], i)),
        "first-use": sorted(ids, key=lambda i: (first[i], -sz[i], i)),
    }


@dataclass
class MemoryPlan:
    """A placed arena. Offsets are relative to the (16-byte aligned) arena start."""

    buffers: list[Buffer]
    arena_bytes: int
    lower_bound: int  # max over steps of live aligned bytes (incl. scratch if planned)
    peak_step: int  # first step where the live bytes reach lower_bound
    live_bytes: list[int]  # live aligned bytes per step
    strategy: str  # the ordering that gave the arena
    attempts: dict[str, int]  # ordering → arena bytes it reached
    tensor_buffer: dict[int, int] = field(default_factory=dict)  # tensor index → buffer id
    n_steps: int = 0
    alignment: int = ALIGN
    scratch_variant: str | None = "portable"
    inplace: dict = field(default_factory=dict)  # op index → edgeq.inplace.Bands (output overlaps input)
    inplace_bound: int = 0  # the liveness bound less what the declared overlaps save (<= lower_bound)

    @property
    def greedy_bytes(self) -> int:
        """The arena of the baseline (TFLM-style greedy, largest first)."""
        return self.attempts["greedy-by-size"]

    @property
    def optimal(self) -> bool:
        return self.arena_bytes <= min(self.lower_bound, self.inplace_bound or self.lower_bound)

    @property
    def scratch_bytes(self) -> int:
        """The largest scratch buffer (they never live at the same time)."""
        return max((b.aligned_size for b in self.buffers if b.kind == "scratch"), default=0)

    def offset(self, tensor_index: int) -> int:
        """Arena offset of an activation tensor (aliases share their root's offset)."""
        return self.buffers[self.tensor_buffer[tensor_index]].offset

    def buffer_of(self, tensor_index: int) -> Buffer:
        return self.buffers[self.tensor_buffer[tensor_index]]

    def scratch_for(self, op_index: int) -> Buffer | None:
        return next((b for b in self.buffers if b.kind == "scratch" and b.op == op_index), None)

    def live_at(self, step: int) -> list[Buffer]:
        return [b for b in self.buffers if b.live_at(step)]

    def check(self) -> None:
        """Assert the invariants: alignment, bounds, no overlap between live buffers except an
        op's output over its dying input where the op's in-place decision allows it."""
        for b in self.buffers:
            assert b.offset >= 0 and b.offset % self.alignment == 0, b
            assert b.end <= self.arena_bytes, b
        allowed = {}
        for d in self.inplace.values():
            bx, by = self.tensor_buffer[d.input], self.tensor_buffer[d.output]
            x, y = self.buffers[bx], self.buffers[by]
            assert x.last == d.op == y.first and d.delta == y.offset - x.offset, d
            assert (d.delta <= 0 if d.mode == "elementwise" else
                    (d.delta >= d.limit if d.backward else d.delta <= d.limit)), d
            allowed[bx, by] = allowed[by, bx] = d
        for i, a in enumerate(self.buffers):
            for b in self.buffers[i + 1:]:
                if a.overlaps_in_time(b) and a.aligned_size and b.aligned_size and (a.id, b.id) not in allowed:
                    assert a.end <= b.offset or b.end <= a.offset, (a, b)

    def to_dict(self, graph: Graph | None = None) -> dict:
        d = {"arena_bytes": self.arena_bytes, "lower_bound": self.lower_bound, "optimal": self.optimal,
             "greedy_bytes": self.greedy_bytes, "strategy": self.strategy, "attempts": dict(self.attempts),
             "alignment": self.alignment, "peak_step": self.peak_step, "live_bytes": list(self.live_bytes),
             "scratch_variant": self.scratch_variant, "inplace_bound": self.inplace_bound,
             "inplace": [d.to_dict() for _, d in sorted(self.inplace.items())], "buffers": [b.to_dict() for b in self.buffers],
             "peak_buffers": [b.id for b in self.live_at(self.peak_step)]}
        if graph is not None and graph.operators:
            op = graph.operators[self.peak_step]
            d["peak_op"] = {"index": op.index, "opcode": op.opcode,
                            "output": graph.tensors[op.outputs[0]].name if op.outputs else None}
        return d


def _search(buffers: list[Buffer], peak: int, target: int, search_iterations: int,
            pairs: dict | None = None) -> tuple[int, str, dict[int, int], dict[str, int]]:
    """The orderings of ``_orders``, then (if none reaches ``target``) a seeded random search over
    orderings. Returns (arena, strategy, offsets, attempts); ties go to the earlier strategy."""
    attempts: dict[str, int] = {}
    best: tuple[int, str, dict[int, int]] | None = None
    for name, order in _orders(buffers, peak).items():
        offsets, arena = _place(buffers, order, pairs)
        attempts[name] = arena
        if best is None or arena < best[0]:
            best = (arena, name, offsets)
    if best is not None and best[0] > target and search_iterations > 0 and len(buffers) > 1:
        # Seeded random search: alternately a fresh shuffle and a perturbation of the best order
        # so far. Work is capped by a count (not by time) so that the plan stays deterministic.
        rng = random.Random(0)
        iterations = max(1, min(search_iterations, 4_000_000 // (len(buffers) ** 2)))
        best_order = _orders(buffers, peak)["greedy-by-size"]
        found = (best[0], best[2])
        for it in range(iterations):
            order = best_order[:]
            if it % 2 == 0:
                rng.shuffle(order)
            else:
                for _ in range(max(1, len(order) // 8)):
                    j, k = rng.randrange(len(order)), rng.randrange(len(order))
                    order[j], order[k] = order[k], order[j]
            offsets, arena = _place(buffers, order, pairs)
            if arena < found[0]:
                found, best_order = (arena, offsets), order
                if arena <= target:
                    break
        attempts["random-search"] = found[0]
        if found[0] < best[0]:
            best = (found[0], "random-search", found[1])
    if best is None:
        return 0, "empty", {}, attempts
    return best[0], best[1], best[2], attempts


def plan_memory(graph: Graph, scratch: bool = True, variant: str = "portable",
                search_iterations: int = 2000, inplace: bool = True) -> MemoryPlan:
    """Place every activation buffer (and, with ``scratch``, each op's scratch) in one arena.

    Tries the TFLM-style greedy (largest first, lowest fitting offset) and a few other orderings;
    if none reaches the lower bound, a seeded random search over orderings runs (at most
    ``search_iterations``, fewer for large graphs). The smallest arena wins; ties go to the
    earlier strategy, so the result is deterministic.

    With ``inplace`` (the default) an op's output may overlap an input that dies at that op where
    the op row declares it safe (``edgeq.inplace``): the planner then tries a few band sizes
    (bytes of output per kernel call) and keeps the largest that reaches the smallest arena, and
    records in ``MemoryPlan.inplace`` how each overlapping op runs. ``lower_bound`` stays the
    classic liveness bound (no overlap); ``inplace_bound`` is the bound with the overlaps.
    """
    buffers = build_buffers(graph, scratch=scratch, variant=variant)
    n_steps = max(len(graph.operators), 1)
    live = live_bytes_per_step(buffers, n_steps)
    bound = max(live) if live else 0
    peak = live.index(bound) if live else 0
    tensor_buffer = {i: b.id for b in buffers for i in b.tensors}
    arena, strategy, offsets, attempts = _search(buffers, peak, bound, search_iterations)
    cands = inplace_mod.plan_candidates(graph, buffers, tensor_buffer, tensor_lifetimes(graph)) if inplace else {}
    ip_bound, decisions = bound, {}
    if cands:
        best = None
        for band in inplace_mod.BAND_BYTES:
            pairs = {k: inplace_mod.pair_limits(c, buffers[k[0]].aligned_size, buffers[k[1]].aligned_size, band)
                     for k, c in cands.items()}
            target = inplace_mod.bound(buffers, live, pairs)
            res = _search(buffers, peak, target, search_iterations if band == 0 else 0, pairs)
            if best is None or res[0] <= best[0][0]:
                best = (res, target, band)
        (ip_arena, ip_strategy, ip_offsets, ip_attempts), ip_bound, band = best
        if ip_arena < arena:  # fewer kernel calls: widen each op's bands while the arena holds
            ip_offsets = inplace_mod.widen(buffers, cands, band, ip_arena, ip_offsets,
                                               lambda pairs: _search(buffers, peak, ip_arena, 0, pairs))
        if ip_arena < arena:
            arena, offsets = ip_arena, ip_offsets
            strategy = f"{ip_strategy}, in place (bands >= {band} B)"
            attempts.update({f"inplace:{k}": v for k, v in ip_attempts.items()})
            for (bx, by), c in cands.items():
                d = inplace_mod.choose_bands(c, offsets[by] - offsets[bx], graph.tensors[c.input].nbytes,
                                             graph.tensors[c.output].nbytes)
                if d is not None:
                    decisions[c.op] = d
    for b in buffers:
        b.offset = offsets.get(b.id, 0)
    plan = MemoryPlan(buffers=buffers, arena_bytes=arena, lower_bound=bound, peak_step=peak, live_bytes=live,
                      strategy=strategy, attempts=attempts, tensor_buffer=tensor_buffer, n_steps=n_steps,
                      scratch_variant=variant if scratch else None, inplace=decisions,
                      inplace_bound=min(ip_bound, bound))
    plan.check()
    return plan


def io_tensors(graph: Graph) -> list[Tensor]:
    return graph.input_tensors() + graph.output_tensors()


# Scratch sizing and flash accounting live in their own modules; the names stay importable here.
from .flash_usage import (CODE_BYTES_PER_CALL, CODE_BYTES_SHARED, CODE_BYTES_UNKNOWN_OP,  # noqa: E402,F401
                          S16_TABLE_BYTES, FlashUsage, OpFlash, flash_usage, kernel_key,
                          measured_code_sizes, op_macs)
