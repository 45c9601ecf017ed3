"""Lowering: the IR (``edgeq.graph``) → a list of kernel calls with every parameter precomputed.

Each ``Call`` carries the kernel family (``kind``) and plain values only (ints, names, C float
literals); the templates turn them into C. Activation buffers live at the offsets of
``edgeq.memory.plan_memory`` (the same plan ``size-check`` reports), scratch buffers too.
Quantization parameters come from ``edgeq.quantmath`` (TFLM's Prepare arithmetic).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import ops
from .. import quantmath as qm
from ..errors import InputError, OpError
from ..graph import Graph, Operator, Tensor, short_name
from ..memory import MemoryPlan, plan_memory, scratch_bytes

# edgeq_model.h dtype codes
DTYPE_CODES = {"int8": 0, "uint8": 1, "int16": 2, "float32": 3, "int32": 4}  # int32: ARG_MAX/ARG_MIN outputs
CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float",
          "int64": "int64_t"}


def c_float(x: float) -> str:
    """An exact C99 literal of a float32 value."""
    v = float(np.float32(x))
    if v == 0.0:
        return "0.0f"
    return f"{v.hex()}f"


@dataclass
class DataArray:
    """A constant array in NAME_data.c."""

    symbol: str
    ctype: str
    values: list
    comment: str = ""
    align: int = 16
    #: arrays this one stands in for on the cores that use it (the others link those instead):
    #: data_bytes counts the larger of the two
    replaces: tuple = ()

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def nbytes(self) -> int:
        return len(self.values) * {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "float": 4,
                                   "int64_t": 8}[self.ctype]


@dataclass
class Call:
    kind: str  # template macro: conv, dwconv, fc, avgpool, maxpool, softmax, add, ...
    index: int  # operator index
    opcode: str
    comment: str
    args: dict = field(default_factory=dict)


@dataclass
class IOInfo:
    tensor: int
    name: str
    dtype: str
    dtype_code: int
    shape: list[int]
    bytes: int
    scale: str  # C float literal
    scale_value: float
    zero_point: int
    offset: int  # arena offset
    ctype: str


@dataclass
class Lowered:
    graph: Graph
    plan: MemoryPlan
    calls: list[Call]
    data: list[DataArray]
    inputs: list[IOInfo]
    outputs: list[IOInfo]

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes

    @property
    def data_bytes(self) -> int:
        """The constant arrays' bytes, the per-core replacements counted as alternatives."""
        originals = sum(d.nbytes for d in self.data if not d.replaces)
        return originals + self.replacement_surplus

    @property
    def replacement_surplus(self) -> int:
        """What the per-core replacements (the DSP / Helium 3x3 depthwise blocks) add to the arrays
        they replace: only one of the alternatives (the originals or one replacement per core) is
        linked, so each set counts its largest."""
        sizes = {d.symbol: d.nbytes for d in self.data}
        alternatives: dict[tuple, list[int]] = {}  # the arrays replaced -> their replacements' sizes
        for d in self.data:
            if d.replaces:
                alternatives.setdefault(d.replaces, []).append(d.nbytes)
        surplus = 0
        for replaced, sizes_alt in alternatives.items():
            orig = sum(sizes.get(r, 0) for r in replaced)
            surplus += max([orig] + sizes_alt) - orig
        return surplus


class _Lowerer:
    def __init__(self, graph: Graph, name: str, plan: MemoryPlan, variant: str, pack_weights: str = "auto"):
        self.g = graph
        self.name = name
        self.plan = plan
        self.variant = variant
        self.pack_weights = pack_weights  # "auto": 4-bit storage where the values allow (packed_weights)
        self.data: list[DataArray] = []
        self._const_syms: dict[int, str] = {}

    # -------------------------------------------------------------------- helpers
    def fail(self, op: Operator, why: str) -> OpError:
        out = short_name(self.g.tensors[op.outputs[0]].name) if op.outputs else ""
        return OpError(f"operator #{op.index} ({op.opcode}, output {out!r}): {why}", op.index,
                       hint="`edgeq ops` lists the supported ops and their limits")

    def t(self, i: int) -> Tensor:
        return self.g.tensors[i]

    def const_symbol(self, t: Tensor, ctype: str | None = None) -> str:
        if t.index not in self._const_syms:
            sym = f"{self.name}_t{t.index}"
            ct = ctype or CTYPES.get(t.dtype)
            if ct is None:
                raise InputError(f"constant tensor {t.name!r} has unsupported type {t.dtype}")
            vals = np.asarray(t.data).reshape(-1)
            if ct == "float":
                values = [c_float(v) for v in vals]
            else:
                values = [int(v) for v in vals]
            self.data.append(DataArray(sym, ct, values, f"{t.name} {t.dtype}{list(t.shape)}"))
            self._const_syms[t.index] = sym
        return self._const_syms[t.index]

    def packed(self, op: Operator, w: Tensor, channel_axis: int) -> dict | None:
        """The 4-bit storage of an int8-activation layer's weights (``packed_weights``), or None
        (int8). Returns {precision, codes, table, table_stride} (symbols; table None for int4)."""
        from .packed_weights import choose_packing

        if self.pack_weights == "off" or w.dtype != "int8" or not w.is_constant:
            return None
        if w.quant.is_quantized and (w.quant.zero_points != 0).any():
            return None
        p = choose_packing(np.asarray(w.data).reshape(w.shape), channel_axis)
        if p is None:
            return None
        sym = f"{self.name}_t{w.index}_{'s4' if p.precision == 'int4' else 'idx'}"
        if not any(d.symbol == sym for d in self.data):
            what = "int4 weights, 2 a byte (even element low nibble)" if p.precision == "int4" else \
                "clustered weights: 4-bit table indices, 2 a byte"
            codes = [int(v) - 256 if v > 127 else int(v) for v in p.codes] if p.precision == "int4" else \
                [int(v) for v in p.codes]
            self.data.append(DataArray(sym, "int8_t" if p.precision == "int4" else "uint8_t", codes,
                                       f"{w.name} {w.dtype}{list(w.shape)}: {what}"))
            if p.table is not None:
                self.data.append(DataArray(f"{sym}_table", "int8_t", [int(v) for v in p.table],
                                           f"{w.name}: cluster values, 16 per "
                                           f"{'output channel' if p.table_stride else 'tensor'}"))
        return {"precision": p.precision, "codes": sym, "table": f"{sym}_table" if p.table is not None else None,
                "table_stride": p.table_stride}

    def int_array(self, symbol: str, values, comment: str = "") -> str:
        self.data.append(DataArray(symbol, "int32_t", [int(v) for v in values], comment))
        return symbol

    def ref(self, i: int) -> dict:
        """How the C code reaches tensor i: an arena offset or a constant array."""
        t = self.t(i)
        ctype = CTYPES.get(t.dtype)
        if ctype is None:
            raise InputError(f"tensor {t.name!r} has unsupported type {t.dtype}")
        if t.is_constant:
            return {"const": True, "symbol": self.const_symbol(t), "ctype": ctype, "offset": 0}
        return {"const": False, "symbol": "", "ctype": ctype, "offset": self.plan.offset(i)}

    def scratch(self, op: Operator) -> dict:
        b = self.plan.scratch_for(op.index)
        size = scratch_bytes(self.g, op, self.variant)
        if b is None or size == 0:
            return {"offset": 0, "size": 0}
        return {"offset": b.offset, "size": size}

    def require(self, op: Operator, t: Tensor, *dtypes: str) -> None:
        if t.dtype not in dtypes:
            raise self.fail(op, f"tensor {t.name!r} is {t.dtype}; supported: {', '.join(dtypes)}")

    def act(self, op: Operator, out: Tensor) -> tuple[int, int]:
        a = op.options.get("fused_activation_function", "NONE")
        lo, hi = (qm.INT16_MIN, qm.INT16_MAX) if out.dtype == "int16" else (qm.INT8_MIN, qm.INT8_MAX)
        try:
            return qm.activation_range(a, out.quant.scale, out.quant.zero_point, lo, hi)
        except ValueError as e:
            raise self.fail(op, str(e)) from e

    def activations_16x8(self, op: Operator, *ts: Tensor) -> bool:
        """True if the op runs with int16 activations (16x8 mode); checks they are int16 throughout
        with zero point 0, which the s16 kernels assume (TFLite's 16x8 spec; upstream CMSIS-NN
        ignores the offsets)."""
        if ts[0].dtype != "int16":
            return False
        for t in ts:
            self.require(op, t, "int16")
            if t.quant.is_quantized and (t.quant.zero_points != 0).any():
                raise self.fail(op, f"int16 tensor {t.name!r} has zero point {t.quant.zero_point}; "
                                    "int16 activations need zero point 0")
        return True

    def bias_16x8(self, op: Operator, b: Tensor | None) -> tuple[str | None, bool]:
        """(symbol, is_int32) of a 16x8 bias. int32 means TFLite's 32-bit accumulation variant;
        checked against TFLM: without a bias the op's quantized_bias_type option still picks the
        accumulator (int32 → 32 bits); unset means int64."""
        if b is None:
            return None, op.options.get("quantized_bias_type", "int64") == "int32"
        self.require(op, b, "int64", "int32")
        return self.const_symbol(b), b.dtype == "int32"

    @staticmethod
    def shape4(shape) -> list[int]:
        s = [int(d) for d in shape]
        if len(s) > 4:
            raise ValueError("rank > 4")
        return [1] * (4 - len(s)) + s

    # -------------------------------------------------------------------- ops
    def lower(self) -> list[Call]:
        calls = []
        for op in self.g.operators:
            sp = ops.spec(op.opcode)
            if sp is None:
                raise self.fail(op, "operator not supported by edgeq generate")
            try:
                call = sp.lower(self, op)
            except InputError:
                raise
            except (ValueError, KeyError, IndexError, TypeError, ArithmeticError) as e:
                # parameters the kernels cannot take (a scale ratio beyond int32 fixed point, ...)
                raise self.fail(op, f"cannot lower ({type(e).__name__}: {e})") from e
            if call is not None:
                calls.append(call)
        return calls

    def _call(self, kind: str, op: Operator, **args) -> Call:
        out = self.t(op.outputs[0])
        return Call(kind, op.index, op.opcode, f"#{op.index} {op.opcode} -> {out.name} {list(out.shape)}", args)

    def require_q15_output(self, op, y: Tensor) -> None:
        """The int16 SOFTMAX and LOGISTIC kernels write Q0.15: output scale 1/32768 (as TFLM checks)."""
        if not np.isclose(np.float32(y.quant.scale), 1 / 32768, rtol=1e-3, atol=0):
            raise self.fail(op, f"int16 {op.opcode} needs output scale 1/32768, not {y.quant.scale:g}")

    def model_table(self, what: str, ctype: str, values, comment: str) -> str:
        """A constant table every op of a kind shares (the int16 SOFTMAX / LOGISTIC interpolation
        tables): emitted once per model, however many ops use it. Returns its symbol."""
        symbol = f"{self.name}_{what}"
        if not any(d.symbol == symbol for d in self.data):
            self.data.append(DataArray(symbol, ctype, list(values), comment))
        return symbol

    def softmax_luts(self) -> dict:
        """The int16 SOFTMAX tables."""
        exp_lut, recip_lut = qm.softmax_s16_luts()
        return {"exp": self.model_table("softmax_exp_lut", "int16_t", exp_lut,
                                        "int16 SOFTMAX: exp(x), x in [-10, 0], Q0.15"),
                "recip": self.model_table("softmax_recip_lut", "int16_t", recip_lut,
                                          "int16 SOFTMAX: 1/(1+x), x in [0, 1], Q0.15")}

    def kernel_type(self, op, *tensors) -> str:
        """"s8" or "s16": the element type of a kernel whose tensors all share it (int8 models, or
        int16 activations of a 16x8 model, zero point 0 as TFLite's 16x8 spec has them)."""
        if tensors[0].dtype == "int16":
            return "s16" if self.activations_16x8(op, *tensors) else "s8"
        for t in tensors:
            self.require(op, t, "int8")
        return "s8"

    def _alias(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        src, dst = self.ref(x.index), self.ref(y.index)
        if not src["const"] and src["offset"] == dst["offset"]:
            return self._call("alias", op, output=dst)
        return self._call("copy", op, input=src, output=dst, bytes=y.nbytes)

    # -------------------------------------------------------------------- I/O
    def io(self, i: int) -> IOInfo:
        t = self.t(i)
        if t.dtype not in DTYPE_CODES:
            raise InputError(f"graph I/O tensor {t.name!r} has unsupported type {t.dtype}")
        if len(t.shape) > 4:
            raise InputError(f"graph I/O tensor {t.name!r} has rank {len(t.shape)} > 4")
        q = t.quant
        scale = q.scale if q.is_quantized else 1.0
        return IOInfo(tensor=i, name=t.name, dtype=t.dtype, dtype_code=DTYPE_CODES[t.dtype],
                      shape=[int(d) for d in t.shape], bytes=t.nbytes, scale=c_float(scale),
                      scale_value=float(np.float32(scale)), zero_point=q.zero_point if q.is_quantized else 0,
                      offset=self.plan.offset(i), ctype=CTYPES[t.dtype])


def lower(graph: Graph, name: str = "model", variant: str = "portable", inplace: bool = True,
          pack_weights: str = "auto") -> Lowered:
    """Lower a checked graph (``load_graph(..., check_supported=True)``) to kernel calls.
    ``inplace`` False: no output overlaps an input (the classic liveness-bound arena).
    ``pack_weights`` "auto": weights whose values fit 4 bits are stored packed (``packed_weights``)."""
    plan = plan_memory(graph, scratch=True, variant=variant, inplace=inplace)
    lw = _Lowerer(graph, name, plan, variant, pack_weights)
    calls = lw.lower()
    inputs = [lw.io(i) for i in graph.inputs]
    outputs = [lw.io(i) for i in graph.outputs]
    return Lowered(graph=graph, plan=plan, calls=calls, data=lw.data, inputs=inputs, outputs=outputs)
