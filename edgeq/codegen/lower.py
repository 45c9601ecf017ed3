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
from ..memory import MemoryPlan, conv_geometry, plan_memory, scratch_bytes

# edgeq_model.h dtype codes
DTYPE_CODES = {"int8": 0, "uint8": 1, "int16": 2, "float32": 3, "int32": 4}  # int32: ARG_MAX/ARG_MIN outputs
CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float",
          "int64": "int64_t"}


# QUANTIZE between integer types → its kernel. TFLM requantizes every pair with the same 32-bit
# arithmetic, the int8/int16 pairs included (the mixed-precision boundaries).
_REQUANTIZE_KERNELS = {
    ("int8", "int8"): "edgeq_requantize_s8_s8", ("uint8", "int8"): "edgeq_requantize_u8_s8",
    ("int8", "uint8"): "edgeq_requantize_s8_u8", ("int8", "int16"): "edgeq_requantize_s8_s16",
    ("int16", "int8"): "edgeq_requantize_s16_s8", ("int16", "int16"): "edgeq_requantize_s16_s16",
}


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
        return sum(d.nbytes for d in self.data)


class _Lowerer:
    def __init__(self, graph: Graph, name: str, plan: MemoryPlan, variant: str):
        self.g = graph
        self.name = name
        self.plan = plan
        self.variant = variant
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

    def _conv_common(self, op: Operator, depthwise: bool) -> dict:
        x, w, y = self.t(op.inputs[0]), self.t(op.inputs[1]), self.t(op.outputs[0])
        b = self.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        s16 = self.activations_16x8(op, x, y)
        if not s16:
            for t in (x, y):
                self.require(op, t, "int8")
        self.require(op, w, "int8")
        if s16:
            if depthwise and b is not None and b.dtype == "int32":
                # checked against TFLM: with an int32 bias its int16 depthwise outputs saturate,
                # as if it read the bias as int64 (past the buffer): there is no sane reference
                raise self.fail(op, f"int16 DEPTHWISE_CONV_2D with an int32 bias ({b.name!r}) is not "
                                    "supported (TFLM reads it as int64); convert with int64 biases, "
                                    "the 16x8 default")
            # conv's API takes int64 or int32 (cmsis_nn_bias_data); depthwise int64 only
            bias, bias_int32 = self.bias_16x8(op, b)
        elif b is not None:
            self.require(op, b, "int32")
        if len(x.shape) != 4 or len(y.shape) != 4:
            raise self.fail(op, "needs 4-D input and output")
        k_c = int(w.shape[3])
        if not depthwise and (k_c <= 0 or int(x.shape[3]) % k_c or int(y.shape[3]) % (int(x.shape[3]) // k_c)):
            raise self.fail(op, f"grouped convolution with {x.shape[3]} input channels, filter depth {k_c} and "
                                f"{y.shape[3]} output channels (the groups must divide both channel counts)")
        g = conv_geometry(self.g, op)
        out_c = g["out_c"]
        mults, shifts = qm.conv_multipliers(x.quant.scale, w.quant.scales, y.quant.scale, out_c)
        pre = f"{self.name}_op{op.index}"
        lo, hi = self.act(op, y)
        return dict(
            input=self.ref(x.index), output=self.ref(y.index), weights=self.const_symbol(w),
            bias=bias if s16 else (self.const_symbol(b) if b is not None else None),
            s16=s16, bias_int32=s16 and bias_int32,
            mult=self.int_array(f"{pre}_mult", mults, "per-channel multipliers"),
            shift=self.int_array(f"{pre}_shift", shifts, "per-channel shifts"),
            n=int(x.shape[0]), in_h=g["in_h"], in_w=g["in_w"], in_c=g["in_c"], k_c=k_c,
            out_h=g["out_h"], out_w=g["out_w"], out_c=out_c, k_h=g["k_h"], k_w=g["k_w"],
            stride_h=g["stride_h"], stride_w=g["stride_w"], pad_h=g["pad_h"], pad_w=g["pad_w"],
            dil_h=g["dil_h"], dil_w=g["dil_w"], input_offset=-x.quant.zero_point,
            output_offset=y.quant.zero_point, act_min=lo, act_max=hi, scratch=self.scratch(op))

    def op_conv_2d(self, op):
        return self._call("conv", op, **self._conv_common(op, False))

    def op_depthwise_conv_2d(self, op):
        a = self._conv_common(op, True)
        a["ch_mult"] = a["out_c"] // a["in_c"]
        if a["ch_mult"] * a["in_c"] != a["out_c"]:
            raise self.fail(op, "output channels are not a multiple of input channels")
        return self._call("dwconv", op, **a)

    def op_fully_connected(self, op):
        x, w, y = self.t(op.inputs[0]), self.t(op.inputs[1]), self.t(op.outputs[0])
        b = self.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        s16 = self.activations_16x8(op, x, y)
        for t in (w,) if s16 else (x, y, w):
            self.require(op, t, "int8")
        bias_int32 = False
        if s16:
            # an int32 bias needs TFLite's 32-bit accumulation: edgeq_fully_connected_s16_b32
            bias, bias_int32 = self.bias_16x8(op, b)
        elif b is not None:
            self.require(op, b, "int32")
            bias = self.const_symbol(b)
        else:
            bias = None
        if op.options.get("weights_format", "DEFAULT") not in ("DEFAULT", 0):
            raise self.fail(op, "shuffled weights format is not supported")
        if w.is_constant is False:
            raise self.fail(op, "non-constant weights are not supported")
        units, depth = int(w.shape[0]), int(w.shape[-1])
        batches = x.size // depth
        mults, shifts = qm.conv_multipliers(x.quant.scale, w.quant.scales, y.quant.scale,
                                            units if w.per_channel else 1)
        lo, hi = self.act(op, y)
        a = dict(input=self.ref(x.index), output=self.ref(y.index), weights=self.const_symbol(w),
                 bias=bias, s16=s16, bias_int32=bias_int32, batches=batches, depth=depth,
                 units=units, input_offset=-x.quant.zero_point, filter_offset=-w.quant.zero_point,
                 output_offset=y.quant.zero_point, act_min=lo, act_max=hi, per_channel=w.per_channel,
                 scratch=self.scratch(op))
        if w.per_channel:
            pre = f"{self.name}_op{op.index}"
            a["mult"] = self.int_array(f"{pre}_mult", mults, "per-channel multipliers")
            a["shift"] = self.int_array(f"{pre}_shift", shifts, "per-channel shifts")
        else:
            a["multiplier"], a["shift_value"] = mults[0], shifts[0]
        return self._call("fc", op, **a)

    def _pool(self, op, kind):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        s16 = x.dtype == "int16"  # pools don't rescale: any zero point works, as in TFLM
        self.require(op, x, "int16" if s16 else "int8")
        self.require(op, y, x.dtype)
        if len(x.shape) != 4:
            raise self.fail(op, "needs a 4-D input")
        if x.quant.zero_point != y.quant.zero_point or not np.isclose(x.quant.scale, y.quant.scale, rtol=0, atol=0):
            raise self.fail(op, "input and output quantization differ")
        g = conv_geometry(self.g, op)
        lo, hi = self.act(op, y)
        return self._call(kind, op, input=self.ref(x.index), output=self.ref(y.index), n=int(x.shape[0]),
                          in_h=g["in_h"], in_w=g["in_w"], in_c=g["in_c"], out_h=g["out_h"], out_w=g["out_w"],
                          out_c=g["out_c"], k_h=g["k_h"], k_w=g["k_w"], stride_h=g["stride_h"],
                          stride_w=g["stride_w"], pad_h=g["pad_h"], pad_w=g["pad_w"], act_min=lo, act_max=hi,
                          scratch=self.scratch(op), s16=s16)

    def op_average_pool_2d(self, op):
        return self._pool(op, "avgpool")

    def op_max_pool_2d(self, op):
        return self._pool(op, "maxpool")

    def op_softmax(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        row = int(x.shape[-1])
        beta = op.options.get("beta", 1.0)
        if self.kernel_type(op, x, y) == "s16":
            self.require_q15_output(op, y)
            mult, shift = qm.softmax_s16_params(beta, x.quant.scale)
            return self._call("softmax_s16", op, input=self.ref(x.index), output=self.ref(y.index),
                              rows=x.size // row, row_size=row, mult=mult, shift=shift, luts=self.softmax_luts())
        p = qm.softmax_params(beta, x.quant.scale)
        return self._call("softmax", op, input=self.ref(x.index), output=self.ref(y.index),
                          rows=x.size // row, row_size=row, mult=p.multiplier, shift=p.shift, diff_min=p.diff_min)

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

    def _binary(self, kind, op, params):
        a, b, y = self.t(op.inputs[0]), self.t(op.inputs[1]), self.t(op.outputs[0])
        ty = self.kernel_type(op, a, b, y)
        same = tuple(a.shape) == tuple(b.shape) == tuple(y.shape) or (a.size == b.size == y.size)
        p = params(a.quant.scale, a.quant.zero_point, b.quant.scale, b.quant.zero_point, y.quant.scale,
                   y.quant.zero_point, op.options.get("fused_activation_function", "NONE"), bits=y.dtype)
        return self._call(kind, op, in1=self.ref(a.index), in2=self.ref(b.index), output=self.ref(y.index),
                          p=p.__dict__, size=y.size, broadcast=not same, shape1=self.shape4(a.shape),
                          shape2=self.shape4(b.shape), out_shape=self.shape4(y.shape), ty=ty)

    def op_add(self, op):
        if op.options.get("pot_scale_int16", False) and self.t(op.outputs[0]).dtype == "int16":
            raise self.fail(op, "int16 ADD with power-of-two scaling (pot_scale_int16) is not supported; "
                                "the converter's 16x8 mode writes the general-scale form")
        return self._binary("add", op, qm.add_params)

    def op_mul(self, op):
        return self._binary("mul", op, qm.mul_params)

    def _alias(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        src, dst = self.ref(x.index), self.ref(y.index)
        if not src["const"] and src["offset"] == dst["offset"]:
            return self._call("alias", op, output=dst)
        return self._call("copy", op, input=src, output=dst, bytes=y.nbytes)

    op_reshape = _alias
    op_squeeze = _alias

    def op_pad(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        ty = self.kernel_type(op, x, y)
        pads = np.asarray(self.t(op.inputs[1]).data).reshape(-1, 2)
        if (pads < 0).any():
            raise self.fail(op, "negative padding")
        rank = len(x.shape)
        before = [0] * (4 - rank) + [int(v) for v in pads[:, 0]]
        pad_value = y.quant.zero_point
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            pad_value = int(np.asarray(self.t(op.inputs[2]).data).reshape(-1)[0])
        return self._call("pad", op, input=self.ref(x.index), output=self.ref(y.index),
                          in_shape=self.shape4(x.shape), out_shape=self.shape4(y.shape), before=before,
                          pad_value=pad_value, ty=ty)

    def op_mean(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        ty = self.kernel_type(op, x, y)
        rank = len(x.shape)
        axes = sorted({int(a) % rank for a in np.asarray(self.t(op.inputs[1]).data).reshape(-1)})
        keep = bool(op.options.get("keep_dims", False))
        shape = self.shape4(x.shape)
        mask, count = 0, 1
        for a in axes:
            mask |= 1 << (a + 4 - rank)
            count *= int(x.shape[a])
        # TFLM requantizes (sum - zp·count) even when input and output quantization are equal
        m, s = qm.mean_params(x.quant.scale, y.quant.scale, count)
        return self._call("mean", op, input=self.ref(x.index), output=self.ref(y.index), shape=shape, mask=mask,
                          mode=1, input_zp=x.quant.zero_point, mult=m, shift=s,
                          output_zp=y.quant.zero_point, keep_dims=keep, ty=ty)

    def op_concatenation(self, op):
        y = self.t(op.outputs[0])
        rank = len(y.shape)
        axis = int(op.options.get("axis", 0)) % rank
        ins = [self.t(i) for i in op.inputs]
        ty = self.kernel_type(op, y, *ins)
        for t in ins:
            if t.quant.zero_point != y.quant.zero_point or np.float32(t.quant.scale) != np.float32(y.quant.scale):
                raise self.fail(op, "inputs with a quantization different from the output's are not supported")
        if op.options.get("fused_activation_function", "NONE") != "NONE":
            raise self.fail(op, "fused activation on CONCATENATION is not supported")
        outer = int(np.prod(y.shape[:axis], dtype=np.int64)) if axis else 1
        inner = int(np.prod(y.shape[axis + 1:], dtype=np.int64)) if axis + 1 < rank else 1
        return self._call("concat", op, inputs=[self.ref(t.index) for t in ins],
                          sizes=[int(t.shape[axis]) for t in ins], outer=outer, inner=inner,
                          output=self.ref(y.index), ty=ty)

    def op_logistic(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        if self.kernel_type(op, x, y) == "s16":
            self.require_q15_output(op, y)
            mult, shift = qm.logistic_s16_params(x.quant.scale)
            table = self.model_table("sigmoid_table", "uint16_t", qm.sigmoid_s16_table(),
                                     "int16 LOGISTIC: sigmoid(i/24), Q0.16")
            return self._call("logistic_s16", op, input=self.ref(x.index), output=self.ref(y.index), size=x.size,
                              mult=mult, shift=shift, table=table)
        p = qm.logistic_params(x.quant.scale, x.quant.zero_point)
        return self._call("logistic", op, input=self.ref(x.index), output=self.ref(y.index), size=x.size,
                          p=p.__dict__)

    def op_quantize(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        if x.dtype == "float32" and y.dtype in ("int8", "int16"):
            return self._call("quantize_f32", op, input=self.ref(x.index), output=self.ref(y.index), size=x.size,
                              scale=c_float(y.quant.scale), zp=y.quant.zero_point,
                              fn="edgeq_quantize_f32_s16" if y.dtype == "int16" else "edgeq_quantize_f32_s8")
        fn = _REQUANTIZE_KERNELS.get((x.dtype, y.dtype))
        if fn is not None:
            m, s = qm.requantize_params(x.quant.scale, y.quant.scale)
            return self._call("requantize", op, fn=fn, input=self.ref(x.index), output=self.ref(y.index),
                              size=x.size, input_zp=x.quant.zero_point, mult=m, shift=s,
                              output_zp=y.quant.zero_point)
        raise self.fail(op, f"QUANTIZE from {x.dtype} to {y.dtype} is not supported")

    def op_dequantize(self, op):
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        if x.dtype in ("int8", "int16") and y.dtype == "float32":
            return self._call("dequantize", op, input=self.ref(x.index), output=self.ref(y.index), size=x.size,
                              scale=c_float(x.quant.scale), zp=x.quant.zero_point,
                              fn="edgeq_dequantize_s16_f32" if x.dtype == "int16" else "edgeq_dequantize_s8_f32")
        raise self.fail(op, f"DEQUANTIZE from {x.dtype} to {y.dtype} is not supported")

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


def lower(graph: Graph, name: str = "model", variant: str = "portable") -> Lowered:
    """Lower a checked graph (``load_graph(..., check_supported=True)``) to kernel calls."""
    plan = plan_memory(graph, scratch=True, variant=variant)
    lw = _Lowerer(graph, name, plan, variant)
    calls = lw.lower()
    inputs = [lw.io(i) for i in graph.inputs]
    outputs = [lw.io(i) for i in graph.outputs]
    return Lowered(graph=graph, plan=plan, calls=calls, data=lw.data, inputs=inputs, outputs=outputs)
