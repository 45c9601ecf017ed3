"""In-place execution: which op outputs may overlap which inputs, and how the op then runs.

An op row of the registry (``edgeq.ops``) declares ``inplace``, the access pattern that lets its
output share memory with an input that dies at that op (its last reader; never a graph output or
a variable). The planner (``edgeq.memory.plan_memory``) places buffers allowing exactly these
overlaps; the code generator runs the op as the plan says (``Bands``). Two patterns:

``"elementwise"`` (ADD, MUL with same-shape operands; the kernel is checked, see the op row)
    The kernel walks forward and reads element i of every input before it writes output element
    i (in groups: a group of inputs is read before the group of outputs is written). So the
    output may start at the input's offset or below it (``offset(out) - offset(in) <= 0``) when
    both have the same element size and count. One call, no band.

``"rows"`` (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D; batch 1, NHWC)
    The generated code calls the kernel once per *band* of output rows, each call with the
    tight input view that band needs (rows ``r0*stride - pad ...`` of the input, padding at the
    top only for bands that reach above the input) and the output rows of the band. A call
    reads only its input view and writes only its output view: that is the contract of every
    kernel of the API (edgeq's portable, DSP and MVE paths and CMSIS-NN alike), so no kernel's
    inner loop order matters. Walking the bands forward (top band first), output band b may
    not touch input rows that band b or a later one still reads; walking backward (bottom band
    first), not the rows that band b or an earlier one reads. That gives, for a band height R,
    ``offset(out) - offset(in) <= fwd(R)`` or ``>= bwd(R)`` (``band_lags``): the write pointer
    stays behind (or ahead of) the read pointer by about one band plus the filter's reach. An
    unpadded 1x1 convolution with stride 1 is banded by pixels instead of rows; walked forward,
    it is one call of edgeq_convolve_1x1_s8_in_place (edgeq_in_place.h), which runs the whole
    layer on the kernel routes that walk the pixels in order (a forward band plan is safe for
    them, ``tests/test_inplace.py`` replays it) and these bands on the others.

Everything here is pure Python, deterministic, and checked independently of the lag formulas by
``simulate`` (a byte-level replay of the plan: every byte a call reads must still hold the
value the producer wrote).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ops as op_registry
from .graph import Graph, Operator
from .scratch import align_up, conv_geometry

ALIGN = 16
#: band heights the planner tries (rows, or pixels for a pixel-banded 1x1)
_BAND_CHOICES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024, 2048, 4096)


@dataclass(frozen=True)
class RowGeom:
    """An op seen as rows: output row r reads input rows r*stride - pad ... + reach - 1."""

    in_h: int
    in_row: int  # bytes of one input row (or pixel)
    out_h: int
    out_row: int  # bytes of one output row (or pixel)
    stride: int
    pad: int
    reach: int  # (k_h - 1) * dilation + 1
    pixels: bool  # an unpadded stride-1 1x1 conv, banded by pixels

    def reads(self, r0: int, r1: int) -> tuple[int, int]:
        """Input rows [row0, row_end) that output rows [r0, r1) read."""
        top = r0 * self.stride - self.pad
        need = (r1 - 1) * self.stride - self.pad + self.reach
        return max(top, 0), min(need, self.in_h)

    def bands(self, rows: int) -> list[tuple[int, int]]:
        return [(r0, min(r0 + rows, self.out_h)) for r0 in range(0, self.out_h, rows)]


def row_geometry(graph: Graph, op: Operator) -> RowGeom | None:
    """The row view of a "rows" op, or None when it cannot be banded (batch > 1, odd shapes)."""
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4 or x.size == 0 or y.size == 0:
        return None
    g = conv_geometry(graph, op)
    es_in, es_out = x.nbytes // x.size, y.nbytes // y.size
    n = int(x.shape[0])
    if (op.opcode == "CONV_2D" and g["k_h"] == 1 and g["k_w"] == 1 and g["pad_h"] == 0 and g["pad_w"] == 0
            and g["stride_h"] == 1 and g["stride_w"] == 1 and g["dil_h"] == 1 and g["dil_w"] == 1
            and g["in_h"] == g["out_h"] and g["in_w"] == g["out_w"]):
        px = n * g["in_h"] * g["in_w"]
        return RowGeom(px, g["in_c"] * es_in, px, g["out_c"] * es_out, 1, 0, 1, True)
    if n != 1:
        return None
    geo = RowGeom(g["in_h"], g["in_w"] * g["in_c"] * es_in, g["out_h"], g["out_w"] * g["out_c"] * es_out,
                  g["stride_h"], g["pad_h"], (g["k_h"] - 1) * g["dil_h"] + 1, False)
    if any(e <= s for s, e in (geo.reads(r, r + 1) for r in range(geo.out_h))):
        return None  # an output row with no real input row: leave such ops whole
    return geo


def band_lags(geo: RowGeom, rows: int) -> tuple[int, int]:
    """(fwd, bwd) for bands of `rows`: offset(out) - offset(in) <= fwd is safe walking forward,
    >= bwd walking backward (bytes, unaligned)."""
    fwd, bwd = None, None
    for r0, r1 in geo.bands(rows):
        row0, row_end = geo.reads(r0, r1)
        f = row0 * geo.in_row - r1 * geo.out_row
        b = row_end * geo.in_row - r0 * geo.out_row
        fwd = f if fwd is None else min(fwd, f)
        bwd = b if bwd is None else max(bwd, b)
    return fwd, bwd


@dataclass(frozen=True)
class Candidate:
    """Output `output` of op `op` may overlap input `input` (both activation tensors)."""

    op: int
    input: int
    output: int
    mode: str  # "elementwise" | "rows"
    geo: RowGeom | None = None

    def lags(self, band_bytes: int = 0) -> tuple[int, int, int]:
        """(fwd, bwd, rows) for the smallest band of at least `band_bytes` output bytes."""
        if self.mode == "elementwise":
            return 0, None, 0
        rows = min(self.geo.out_h, max(1, -(-band_bytes // max(self.geo.out_row, 1))))
        f, b = band_lags(self.geo, rows)
        return f, b, rows


def candidates(graph: Graph, lifetimes: dict[int, tuple[int, int]]) -> list[Candidate]:
    """Every (op, dying input, output) pair whose op row declares an in-place pattern."""
    outs = set(graph.outputs)
    out: list[Candidate] = []
    for op in graph.operators:
        sp = op_registry.spec(op.opcode)
        mode = sp.inplace if sp is not None else None
        if mode is None or len(op.outputs) != 1 or op.outputs[0] not in lifetimes:
            continue
        y = graph.tensors[op.outputs[0]]
        if y.is_variable:
            continue
        positions = [0] if mode == "rows" else range(len(op.inputs))
        for pos in positions:
            i = op.inputs[pos] if pos < len(op.inputs) else -1
            if i < 0 or i not in lifetimes or i in outs or graph.tensors[i].is_variable:
                continue
            if lifetimes[i][1] != op.index or i == op.outputs[0]:
                continue
            x = graph.tensors[i]
            if mode == "elementwise":
                if x.nbytes != y.nbytes or x.size != y.size or x.dtype != y.dtype:
                    continue
                if any(j >= 0 and graph.tensors[j].size != y.size for j in op.inputs):
                    continue  # broadcasting: the broadcast kernels re-read inputs
                out.append(Candidate(op.index, i, op.outputs[0], mode))
            elif mode == "rows":
                geo = row_geometry(graph, op)
                if geo is not None:
                    out.append(Candidate(op.index, i, op.outputs[0], mode, geo))
    return out


def pair_limits(c: Candidate, x_size: int, y_size: int, band_bytes: int) -> tuple[int, int]:
    """The forbidden open interval (lo, hi) of offset(out) - offset(in) (aligned sizes)."""
    f, b, _ = c.lags(band_bytes)
    lo = -y_size if f is None else max(-y_size, (f // ALIGN) * ALIGN)
    hi = x_size if b is None else min(x_size, align_up(b, ALIGN))
    return lo, max(lo, hi)


@dataclass(frozen=True)
class Bands:
    """How the generated code runs an op whose output overlaps its input."""

    op: int
    input: int
    output: int
    mode: str
    delta: int  # offset(out) - offset(in)
    limit: int = 0  # the lag bound the delta meets: delta <= limit forward, >= limit backward
    rows: int = 0  # band height (rows or pixels); 0 = one call
    count: int = 1
    backward: bool = False
    pixels: bool = False

    def to_dict(self) -> dict:
        return {"op": self.op, "input": self.input, "output": self.output, "mode": self.mode, "delta": self.delta, "rows": self.rows,
                "bands": self.count, "backward": self.backward, "pixels": self.pixels}


def choose_bands(c: Candidate, delta: int, x_bytes: int, y_bytes: int) -> Bands | None:
    """The fewest bands that make `delta` safe; None when the buffers do not overlap at all;
    raises ValueError when no band height makes it safe (a planner bug)."""
    if delta >= x_bytes or delta <= -y_bytes:
        return None
    if c.mode == "elementwise":
        if delta > 0:
            raise ValueError(f"op {c.op}: elementwise output {delta} B above its input")
        return Bands(c.op, c.input, c.output, c.mode, delta, 0)
    geo = c.geo
    for rows in sorted({min(r, geo.out_h) for r in _BAND_CHOICES} | {geo.out_h}, reverse=True):
        f, b = band_lags(geo, rows)
        n = len(geo.bands(rows))
        if delta <= f:
            return Bands(c.op, c.input, c.output, c.mode, delta, f, rows, n, False, geo.pixels)
        if delta >= b:
            return Bands(c.op, c.input, c.output, c.mode, delta, b, rows, n, True, geo.pixels)
    raise ValueError(f"op {c.op}: no band height makes offset difference {delta} safe")


# ------------------------------------------------------------------------------------ planning
# (used by edgeq.memory.plan_memory; buffers are its Buffer objects)

#: band sizes (output bytes per kernel call) the in-place planner tries; 0 = the smallest band
BAND_BYTES = (0, 256, 512, 1024, 2048, 4096, 8192)


def widen(buffers: list, cands: dict, band: int, arena: int, offsets: dict, search) -> dict:
    """Per in-place op, double its band size (output bytes per call) as long as a placement of
    the same arena exists (``search(pairs)`` → (arena, strategy, offsets, attempts): the
    planner's orderings, no random search); returns the offsets found."""
    sizes = {k: band for k in cands}

    def limits() -> dict:
        return {k: pair_limits(c, buffers[k[0]].aligned_size, buffers[k[1]].aligned_size, sizes[k])
                for k, c in cands.items()}

    for k in sorted(cands, key=lambda k: -buffers[k[1]].aligned_size):
        size = max(sizes[k], 256)
        while size < 2 * buffers[k[1]].aligned_size:
            size *= 2
            old, sizes[k] = sizes[k], size
            res = search(limits())
            if res[0] > arena:
                sizes[k] = old
                break
            offsets = res[2]
    return offsets


def plan_candidates(graph: Graph, buffers: list, tensor_buffer: dict[int, int], lifetimes: dict) -> dict:
    """(input buffer, output buffer) → Candidate, where the input's buffer dies at the op."""
    out = {}
    outs = set(graph.outputs)
    for c in candidates(graph, lifetimes):
        bx, by = tensor_buffer.get(c.input), tensor_buffer.get(c.output)
        if bx is None or by is None or bx == by or (bx, by) in out:
            continue
        if buffers[bx].last != c.op or buffers[by].first != c.op or outs & set(buffers[bx].tensors):
            continue
        out[bx, by] = c
    return out


def bound(buffers: list, live: list[int], pairs: dict) -> int:
    """max over steps of the live bytes, less the most one in-place pair of that step saves."""
    save = [0] * len(live)
    for (bx, by), (lo, hi) in pairs.items():
        ax, ay = buffers[bx].aligned_size, buffers[by].aligned_size
        foot = min(max(ax, lo + ay) - min(lo, 0), max(ax, hi + ay) - min(hi, 0))
        s = buffers[by].first
        save[s] = max(save[s], ax + ay - foot)
    return max((v - d for v, d in zip(live, save)), default=0)



# ------------------------------------------------------------------------------------ checking

def simulate(graph: Graph, plan) -> None:
    """Replay the plan byte by byte: each call (each band of a banded op) must read input bytes
    that still hold what their producer wrote. Raises AssertionError at the first clobbered
    read. Ops without an in-place decision are modelled as: read all inputs, then write all
    outputs (their buffers never overlap live ones, MemoryPlan.check proves that part)."""
    import numpy as np

    owner = np.full(max(plan.arena_bytes, 1), -1, np.int64)  # tensor index written last at each byte

    def write(t: int, lo: int, hi: int) -> None:
        off = plan.offset(t)
        owner[off + lo:off + hi] = plan.tensor_buffer[t]

    def check(t: int, lo: int, hi: int, what: str) -> None:
        off = plan.offset(t)
        bad = np.nonzero(owner[off + lo:off + hi] != plan.tensor_buffer[t])[0]
        assert bad.size == 0, f"{what}: byte {off + lo + int(bad[0])} of tensor {t} was overwritten"

    for i in graph.inputs:
        if i in plan.tensor_buffer:
            write(i, 0, graph.tensors[i].nbytes)
    for t in graph.tensors:
        if t.is_variable and t.index in plan.tensor_buffer:
            write(t.index, 0, t.nbytes)
    for op in graph.operators:
        ins = [i for i in op.inputs if i >= 0 and i in plan.tensor_buffer]
        outs = [o for o in op.outputs if o in plan.tensor_buffer]
        bd = plan.inplace.get(op.index)
        if op.opcode in op_registry.alias_ops() and ins and outs and plan.offset(ins[0]) == plan.offset(outs[0]):
            continue  # same buffer: nothing moves
        if bd is None or bd.mode == "elementwise":
            for i in ins:
                check(i, 0, graph.tensors[i].nbytes, f"op {op.index} {op.opcode}")
            if bd is not None:  # elementwise: element k read before written; model per element group
                y = outs[0]
                es = graph.tensors[y].nbytes // max(graph.tensors[y].size, 1)
                assert bd.delta <= 0 and bd.delta % es == 0, bd
            for o in outs:
                write(o, 0, graph.tensors[o].nbytes)
            continue
        c = Candidate(op.index, bd.input, outs[0], "rows", row_geometry(graph, op))
        order = c.geo.bands(bd.rows)
        for r0, r1 in (reversed(order) if bd.backward else order):
            row0, row_end = c.geo.reads(r0, r1)
            check(bd.input, row0 * c.geo.in_row, row_end * c.geo.in_row, f"op {op.index} band {r0}-{r1}")
            for i in ins:
                if i != bd.input:
                    check(i, 0, graph.tensors[i].nbytes, f"op {op.index}")
            write(outs[0], r0 * c.geo.out_row, r1 * c.geo.out_row)
    for o in graph.outputs:
        if o in plan.tensor_buffer:
            check(o, 0, graph.tensors[o].nbytes, "graph output")


def poison_ranges(graph: Graph, plan) -> list[list[tuple[int, int]]]:
    """For each boundary before op s (s = 0 .. n-1), the arena byte ranges [lo, hi) that no op
    from s on needs: every byte but those of the buffers alive across the boundary (written
    before op s — graph inputs and variables count as written before op 0 — and read at or after
    op s). The generated code's EDGEQ_POISON_ARENA build overwrites them with a pattern."""
    keep_always = set(graph.inputs) | {t.index for t in graph.tensors if t.is_variable}
    out = []
    for s in range(len(graph.operators)):
        keep = sorted((b.offset, b.offset + b.size) for b in plan.buffers if b.kind == "tensor" and b.last >= s
                      and (b.first < s or any(t in keep_always for t in b.tensors)))
        free, pos = [], 0
        for lo, hi in keep:
            if lo > pos:
                free.append((pos, lo))
            pos = max(pos, hi)
        if pos < plan.arena_bytes:
            free.append((pos, plan.arena_bytes))
        out.append(free)
    return out
