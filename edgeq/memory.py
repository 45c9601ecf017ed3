"""Tensor lifetimes, the static arena planner, scratch buffers, and flash accounting.

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

from . import ops as op_registry
from .graph import Graph, Operator, Tensor, int16_activation

ALIGN = 16

SCRATCH_VARIANTS = ("portable", "dsp")


def align_up(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


# ---------------------------------------------------------------------------------------- scratch

def _same_pad(in_size: int, out_size: int, k: int, stride: int, dilation: int) -> int:
    """Top/left padding of SAME convolution (total // 2)."""
    total = max(0, (out_size - 1) * stride + (k - 1) * dilation + 1 - in_size)
    return total // 2


def conv_geometry(graph: Graph, op: Operator) -> dict:
    """Shapes and padding of a CONV_2D / DEPTHWISE_CONV_2D / pooling op (NHWC, batch 1).

    Returns dict(in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w,
    dil_h, dil_w, pad_h, pad_w) — pad_* are the top/left paddings as CMSIS-NN takes them.
    """
    x = graph.tensors[op.inputs[0]]
    y = graph.tensors[op.outputs[0]]
    o = op.options
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = graph.tensors[op.inputs[1]]
        k_h, k_w = w.shape[1], w.shape[2]
    else:
        k_h, k_w = o.get("filter_height", 1), o.get("filter_width", 1)
    in_h, in_w, in_c = x.shape[1], x.shape[2], x.shape[3]
    out_h, out_w, out_c = y.shape[1], y.shape[2], y.shape[3]
    s_h, s_w = o.get("stride_h", 1) or 1, o.get("stride_w", 1) or 1
    d_h, d_w = o.get("dilation_h_factor", 1) or 1, o.get("dilation_w_factor", 1) or 1
    if o.get("padding") == "SAME":
        pad_h, pad_w = _same_pad(in_h, out_h, k_h, s_h, d_h), _same_pad(in_w, out_w, k_w, s_w, d_w)
    else:
        pad_h = pad_w = 0
    return dict(in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c, k_h=k_h, k_w=k_w,
                stride_h=s_h, stride_w=s_w, dil_h=d_h, dil_w=d_w, pad_h=pad_h, pad_w=pad_w)


def scratch_bytes(graph: Graph, op: Operator, variant: str = "portable") -> int:
    """Bytes of the ``cmsis_nn_context`` scratch buffer the op's kernel needs (0 = none).

    THE single place for these formulas: the planner reserves exactly this much in the arena
    for the op's step, and the code generator passes a buffer of this size to the kernel.
    They follow the CMSIS-NN ``*_get_buffer_size`` functions, as the wrappers pick a kernel:

    * CONV_2D (``arm_convolve_wrapper_s8``): 1×1 filter, no padding, dilation 1 → the 1×1
      kernel, no buffer. Otherwise the im2col kernel: two columns of int16,
      ``2 * align4(k_h * k_w * in_c) * sizeof(int16)``.
    * DEPTHWISE_CONV_2D (``arm_depthwise_conv_wrapper_s8``): portable C needs none. With
      ``variant="dsp"``: 3×3 filter, ch_mult 1, dilation 1 and padding ≤ 1 → the 3×3 kernel
      (none); other ch_mult-1 cases → ``in_c * k_h * k_w * sizeof(int16)``.
    * AVERAGE_POOL_2D: portable none; ``dsp``: ``in_c * sizeof(int32)``.
    * FULLY_CONNECTED, MAX_POOL_2D, SOFTMAX, ADD, MUL, PAD, MEAN, CONCATENATION, LOGISTIC,
      QUANTIZE, DEQUANTIZE, RESHAPE, SQUEEZE: none.
    * int16 activations (16x8: CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D with an int16 input):
      none in every variant — edgeq's ``*_s16`` kernels read their input in place. (An upstream
      CMSIS-NN linked instead may want scratch there; the generated code checks its
      ``*_get_buffer_size`` and returns ``ARM_CMSIS_NN_ARG_ERROR`` rather than overrun.)

    The kernel owner (firmware/cmsis_nn) may change these to match edgeq's kernels; keep
    the planner and the generated code in agreement by editing only this function.
    """
    if variant not in SCRATCH_VARIANTS:
        raise ValueError(f"scratch variant must be one of {SCRATCH_VARIANTS}, not {variant!r}")
    code = op.opcode
    sp = op_registry.spec(code)
    if sp is not None and sp.scratch is not None:  # ops added through the registry say it themselves
        return int(sp.scratch(graph, op, variant))  # (for int16 activations too)
    if op.inputs and op.inputs[0] >= 0 and graph.tensors[op.inputs[0]].dtype == "int16":
        return 0
    if code == "CONV_2D":
        g = conv_geometry(graph, op)
        if g["k_h"] == 1 and g["k_w"] == 1 and g["pad_h"] == 0 and g["pad_w"] == 0 \
                and g["dil_h"] == 1 and g["dil_w"] == 1:
            return 0
        cols = g["k_h"] * g["k_w"] * g["in_c"]
        return 2 * align_up(cols, 4) * 2
    if code == "DEPTHWISE_CONV_2D":
        if variant == "portable":
            return 0
        g = conv_geometry(graph, op)
        ch_mult = g["out_c"] // max(g["in_c"], 1)
        if ch_mult != 1 or g["dil_h"] != 1 or g["dil_w"] != 1:
            return 0
        if g["k_h"] == 3 and g["k_w"] == 3 and g["pad_h"] <= 1 and g["pad_w"] <= 1:
            return 0
        return g["in_c"] * g["k_h"] * g["k_w"] * 2
    if code == "AVERAGE_POOL_2D":
        return 0 if variant == "portable" else graph.tensors[op.inputs[0]].shape[-1] * 4
    return 0


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

def _place(buffers: list[Buffer], order: list[int]) -> tuple[dict[int, int], int]:
    """Greedy: each buffer in `order` at the lowest aligned offset free of every already-placed
    buffer whose lifetime overlaps its own. Returns (offsets by buffer id, arena bytes)."""
    placed: list[Buffer] = []
    offsets: dict[int, int] = {}
    arena = 0
    for bid in order:
        b = buffers[bid]
        size = b.aligned_size
        busy = sorted((offsets[p.id], offsets[p.id] + p.aligned_size) for p in placed
                      if p.overlaps_in_time(b) and p.aligned_size > 0)
        off = 0
        for start, end in busy:
            if off + size <= start:
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

    @property
    def greedy_bytes(self) -> int:
        """The arena of the baseline (TFLM-style greedy, largest first)."""
        return self.attempts["greedy-by-size"]

    @property
    def optimal(self) -> bool:
        return self.arena_bytes == self.lower_bound

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
        """Assert the invariants: alignment, bounds, no overlap between live buffers."""
        for b in self.buffers:
            assert b.offset >= 0 and b.offset % self.alignment == 0, b
            assert b.end <= self.arena_bytes, b
        for i, a in enumerate(self.buffers):
            for b in self.buffers[i + 1:]:
                if a.overlaps_in_time(b) and a.aligned_size and b.aligned_size:
                    assert a.end <= b.offset or b.end <= a.offset, (a, b)

    def to_dict(self, graph: Graph | None = None) -> dict:
        d = {"arena_bytes": self.arena_bytes, "lower_bound": self.lower_bound, "optimal": self.optimal,
             "greedy_bytes": self.greedy_bytes, "strategy": self.strategy, "attempts": dict(self.attempts),
             "alignment": self.alignment, "peak_step": self.peak_step, "live_bytes": list(self.live_bytes),
             "scratch_variant": self.scratch_variant, "buffers": [b.to_dict() for b in self.buffers],
             "peak_buffers": [b.id for b in self.live_at(self.peak_step)]}
        if graph is not None and graph.operators:
            op = graph.operators[self.peak_step]
            d["peak_op"] = {"index": op.index, "opcode": op.opcode,
                            "output": graph.tensors[op.outputs[0]].name if op.outputs else None}
        return d


def plan_memory(graph: Graph, scratch: bool = True, variant: str = "portable",
                search_iterations: int = 2000) -> MemoryPlan:
    """Place every activation buffer (and, with ``scratch``, each op's scratch) in one arena.

    Tries the TFLM-style greedy (largest first, lowest fitting offset) and a few other orderings;
    if none reaches the liveness lower bound, a seeded random search over orderings runs (at
    most ``search_iterations``, fewer for large graphs). The smallest arena wins; ties go to the
    earlier strategy, so the result is deterministic.
    """
    buffers = build_buffers(graph, scratch=scratch, variant=variant)
    n_steps = max(len(graph.operators), 1)
    live = live_bytes_per_step(buffers, n_steps)
    bound = max(live) if live else 0
    peak = live.index(bound) if live else 0
    attempts: dict[str, int] = {}
    best: tuple[int, str, dict[int, int]] | None = None
    for name, order in _orders(buffers, peak).items():
        offsets, arena = _place(buffers, order)
        attempts[name] = arena
        if best is None or arena < best[0]:
            best = (arena, name, offsets)
    if best is not None and best[0] > bound and search_iterations > 0 and len(buffers) > 1:
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
            offsets, arena = _place(buffers, order)
            if arena < found[0]:
                found, best_order = (arena, offsets), order
                if arena <= bound:
                    break
        attempts["random-search"] = found[0]
        if found[0] < best[0]:
            best = (found[0], "random-search", found[1])
    arena, strategy, offsets = best if best is not None else (0, "empty", {})
    for b in buffers:
        b.offset = offsets.get(b.id, 0)
    tensor_buffer = {i: b.id for b in buffers for i in b.tensors}
    plan = MemoryPlan(buffers=buffers, arena_bytes=arena, lower_bound=bound, peak_step=peak, live_bytes=live,
                      strategy=strategy, attempts=attempts, tensor_buffer=tensor_buffer, n_steps=n_steps,
                      scratch_variant=variant if scratch else None)
    plan.check()
    return plan


# ------------------------------------------------------------------------------ flash accounting

#: The interpolation tables generate emits once per model for int16 ops: SOFTMAX's exp and
#: 1/(1+x) (2 x 513 int16), LOGISTIC's sigmoid (256 uint16).
S16_TABLE_BYTES = {"SOFTMAX": 2 * 513 * 2, "LOGISTIC": 256 * 2}
#: Kernel bytes assumed for an op type missing from the table.
CODE_BYTES_UNKNOWN_OP = 1000
#: Fallback glue per op instance (setting up the argument structs and the call) and shared helpers.
CODE_BYTES_PER_CALL = 80
CODE_BYTES_SHARED = 600

#: Which measured core family stands for a core (``code_sizes.json`` has M3, M4 and M55 builds):
#: no-DSP cores build the portable kernels like the M3; DSP cores the SMLAD paths like the M4.
_CODE_FAMILY = {"cortex-m0": "cortex-m3", "cortex-m0plus": "cortex-m3", "cortex-m0+": "cortex-m3",
                "cortex-m1": "cortex-m3", "cortex-m3": "cortex-m3", "cortex-m23": "cortex-m3",
                "cortex-m4": "cortex-m4", "cortex-m7": "cortex-m4", "cortex-m33": "cortex-m4",
                "cortex-m35p": "cortex-m4", "cortex-m55": "cortex-m55", "cortex-m85": "cortex-m55"}
DEFAULT_CODE_FAMILY = "cortex-m4"
_MEASURED: dict | None = None


def measured_code_sizes(core: str | None = None) -> dict | None:
    """The measured code sizes for a core's family (``edgeq/code_sizes.json``, written by
    ``scripts/measure_code_sizes.py`` from the linker maps of real firmware builds), or None."""
    global _MEASURED
    if _MEASURED is None:
        import json
        from pathlib import Path

        f = Path(__file__).with_name("code_sizes.json")
        _MEASURED = json.loads(f.read_text()) if f.is_file() else {"families": {}}
    fam = _CODE_FAMILY.get((core or DEFAULT_CODE_FAMILY).lower(), DEFAULT_CODE_FAMILY)
    return _MEASURED["families"].get(fam)




@dataclass
class OpFlash:
    """Flash bytes an op brings: weight/bias arrays, per-channel requant arrays, other constants."""

    index: int
    opcode: str
    output: str
    weights: int = 0
    biases: int = 0
    quant_params: int = 0  # int32 multiplier + int32 shift per output channel
    constants: int = 0  # other constant operands emitted as arrays (e.g. a constant ADD operand)
    glue: int = CODE_BYTES_PER_CALL
    macs: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.biases + self.quant_params + self.constants + self.glue

    def to_dict(self) -> dict:
        return {"index": self.index, "opcode": self.opcode, "output": self.output, "weights": self.weights,
                "biases": self.biases, "quant_params": self.quant_params, "constants": self.constants,
                "glue": self.glue, "macs": self.macs, "total": self.total}


@dataclass
class FlashUsage:
    ops: list[OpFlash]
    kernel_code: dict[str, int]  # op type → kernel bytes (counted once per type)
    shared_code: int = CODE_BYTES_SHARED  # kernel helpers every model links + the glue's fixed part
    measured: bool = False  # code figures from measured firmware builds (else hand estimates)
    family: str | None = None  # the measured core family used

    @property
    def weights(self) -> int:
        return sum(o.weights for o in self.ops)

    @property
    def biases(self) -> int:
        return sum(o.biases for o in self.ops)

    @property
    def quant_params(self) -> int:
        return sum(o.quant_params for o in self.ops)

    @property
    def constants(self) -> int:
        return sum(o.constants for o in self.ops)

    @property
    def glue(self) -> int:
        return sum(o.glue for o in self.ops)

    @property
    def code(self) -> int:
        """Estimated model code: kernels (once per type) + per-call glue + shared helpers."""
        return sum(self.kernel_code.values()) + self.glue + self.shared_code

    @property
    def data(self) -> int:
        return self.weights + self.biases + self.quant_params + self.constants

    @property
    def total(self) -> int:
        return self.data + self.code

    @property
    def macs(self) -> int:
        return sum(o.macs for o in self.ops)

    def to_dict(self) -> dict:
        return {"weights": self.weights, "biases": self.biases, "quant_params": self.quant_params,
                "constants": self.constants, "code_estimate": self.code, "kernel_code": dict(self.kernel_code),
                "glue": self.glue, "shared_code": self.shared_code, "total": self.total, "macs": self.macs,
                "code_measured": self.measured, "code_family": self.family,
                "ops": [o.to_dict() for o in self.ops]}


def _out_channels(graph: Graph, op: Operator) -> int:
    w = graph.tensors[op.inputs[1]]
    return w.shape[3] if op.opcode == "DEPTHWISE_CONV_2D" else w.shape[0]


def op_macs(graph: Graph, op: Operator) -> int:
    """Multiply-accumulates of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, and of the ops whose
    registry row counts them (TRANSPOSE_CONV, BATCH_MATMUL, UNIDIRECTIONAL_SEQUENCE_LSTM); 0 else."""
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        y = graph.tensors[op.outputs[0]]
        w = graph.tensors[op.inputs[1]]
        per_out = w.shape[1] * w.shape[2] * (w.shape[3] if op.opcode == "CONV_2D" else 1)
        return y.size * per_out
    if op.opcode == "FULLY_CONNECTED":
        w = graph.tensors[op.inputs[1]]
        y = graph.tensors[op.outputs[0]]
        return y.size * w.shape[-1]
    sp = op_registry.spec(op.opcode)
    if sp is None or sp.macs is None:
        return 0
    try:  # a count, not a check: an op with operands the formula cannot read counts 0 here and
        return int(sp.macs(graph, op))  # is refused, naming it, when it is lowered
    except (IndexError, ValueError, ArithmeticError, TypeError):
        return 0


def kernel_key(graph: Graph, op) -> str:
    """The kernel family an op pulls in: its type, with "/int16" for the int16-activation kernels
    (a mixed-precision model links both). QUANTIZE's requantizers are one family whatever the types."""
    if op.opcode not in ("QUANTIZE", "DEQUANTIZE", "RESHAPE", "SQUEEZE") and int16_activation(graph, op) is not None:
        return f"{op.label}/int16"
    return op.label


def flash_usage(graph: Graph, core: str | None = None) -> FlashUsage:
    """Itemized flash of the model: weights, biases, requant arrays, constants, code estimate.

    The code estimate uses the kernel, glue and shared-helper sizes measured from firmware
    builds for ``core``'s family (``measured_code_sizes``); op types never measured fall back
    to the op registry's ``code_bytes``.

    Each constant tensor is counted once (at the first op that uses it). CONV_2D and
    DEPTHWISE_CONV_2D always get per-channel multiplier + shift arrays (int32 each per output
    channel, as the CMSIS-NN API takes them); FULLY_CONNECTED only when its weights are
    per-channel quantized (per-tensor FC takes two scalars in the code).
    """
    seen: set[int] = set()
    tables: set[str] = set()
    rows: list[OpFlash] = []
    kernel_code: dict[str, int] = {}
    m = measured_code_sizes(core)
    per_call = m["glue_per_call_bytes"] if m else CODE_BYTES_PER_CALL
    measured_kernels = m["kernel_bytes"] if m else {}
    for op in graph.operators:
        out_name = graph.tensors[op.outputs[0]].name if op.outputs else ""
        row = OpFlash(index=op.index, opcode=op.label, output=out_name,
                      glue=0 if op.opcode in ("RESHAPE", "SQUEEZE") else per_call)
        sp = op_registry.spec(op.opcode)
        # operands the code generator folds into the C code as literals are never emitted as arrays
        folded = sp.folded_inputs if sp else frozenset()
        for pos, ti in enumerate(op.inputs):
            if ti < 0:
                continue
            t = graph.tensors[ti]
            if not t.is_constant or ti in seen or pos in folded:
                continue
            seen.add(ti)
            if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and pos == 1:
                row.weights += t.nbytes
            elif op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and pos == 2:
                row.biases += t.nbytes
            else:
                row.constants += t.nbytes
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D") or (
                op.opcode == "FULLY_CONNECTED" and graph.tensors[op.inputs[1]].per_channel):
            row.quant_params = _out_channels(graph, op) * 8
        if (op.opcode in S16_TABLE_BYTES and graph.tensors[op.inputs[0]].dtype == "int16"
                and op.opcode not in tables):
            tables.add(op.opcode)  # emitted once per model, however many ops use it
            row.constants += S16_TABLE_BYTES[op.opcode]
        row.macs = op_macs(graph, op)
        key = kernel_key(graph, op)
        if key in measured_kernels:
            kernel_code.setdefault(key, measured_kernels[key])
        else:
            # op types code_sizes.json has not measured: the registry's hand estimate (± 50%)
            kernel_code.setdefault(key, sp.code_bytes if sp else CODE_BYTES_UNKNOWN_OP)
        rows.append(row)
    if not m:
        return FlashUsage(ops=rows, kernel_code=kernel_code)
    return FlashUsage(ops=rows, kernel_code=kernel_code, shared_code=m["shared_bytes"] + m["glue_base_bytes"],
                      measured=True, family=_CODE_FAMILY.get((core or DEFAULT_CODE_FAMILY).lower(),
                                                             DEFAULT_CODE_FAMILY))


def io_tensors(graph: Graph) -> list[Tensor]:
    return graph.input_tensors() + graph.output_tensors()
