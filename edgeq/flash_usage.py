"""Flash accounting: weights, biases, quantization parameters, tables, and kernel code per op
(measured code sizes per core family where the table has them)."""

from __future__ import annotations

from dataclasses import dataclass

from . import ops as op_registry
from .graph import Graph, Operator, int16_activation

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


def code_family(core: str | None) -> str:
    """The family whose measured code sizes and kernel routes a core shares (default: the M4's)."""
    return _CODE_FAMILY.get((core or DEFAULT_CODE_FAMILY).lower(), DEFAULT_CODE_FAMILY)


def measured_code_sizes(core: str | None = None) -> dict | None:
    """The measured code sizes for a core's family (``edgeq/code_sizes.json``, written by
    ``scripts/measure_code_sizes.py`` from the linker maps of real firmware builds), or None."""
    global _MEASURED
    if _MEASURED is None:
        import json
        from pathlib import Path

        f = Path(__file__).with_name("code_sizes.json")
        _MEASURED = json.loads(f.read_text()) if f.is_file() else {"families": {}}
    return _MEASURED["families"].get(code_family(core))




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
    weight_precision: str | None = None  # conv / depthwise / FC: "int8", "int4" or "clustered" (as generated)
    weights_int8: int = 0  # the same weights stored as int8 (what packing saves: weights_int8 - weights)

    @property
    def total(self) -> int:
        return self.weights + self.biases + self.quant_params + self.constants + self.glue

    def to_dict(self) -> dict:
        return {"index": self.index, "opcode": self.opcode, "output": self.output, "weights": self.weights,
                "biases": self.biases, "quant_params": self.quant_params, "constants": self.constants,
                "glue": self.glue, "macs": self.macs, "total": self.total,
                "weight_precision": self.weight_precision, "weights_int8": self.weights_int8}


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
    def weights_by_precision(self) -> dict[str, dict]:
        """precision → {"layers", "bytes" (as stored), "int8_bytes" (as int8)} over the weighted layers."""
        out: dict[str, dict] = {}
        for o in self.ops:
            if o.weight_precision:
                d = out.setdefault(o.weight_precision, {"layers": 0, "bytes": 0, "int8_bytes": 0})
                d["layers"] += 1
                d["bytes"] += o.weights
                d["int8_bytes"] += o.weights_int8
        return out

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
                "weights_by_precision": self.weights_by_precision,
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


def flash_usage(graph: Graph, core: str | None = None, pack_weights: str = "auto",
                routes: dict[int, list[str]] | None = None) -> FlashUsage:
    """Itemized flash of the model: weights, biases, requant arrays, constants, code estimate.

    The code estimate uses the kernel, glue and shared-helper sizes measured from firmware
    builds for ``core``'s family (``measured_code_sizes``); op types never measured fall back
    to the op registry's ``code_bytes``.

    Each constant tensor is counted once (at the first op that uses it). CONV_2D and
    DEPTHWISE_CONV_2D always get per-channel multiplier + shift arrays (int32 each per output
    channel, as the CMSIS-NN API takes them); FULLY_CONNECTED only when its weights are
    per-channel quantized (per-tensor FC takes two scalars in the code).

    ``pack_weights`` (as generate's): "auto" counts weights that fit 4 bits as generate stores them
    (packed nibbles, plus the tables of clustered weights; ``edgeq.codegen.packed_weights``).

    ``routes`` (op index → the kernel routes its call takes, ``edgeq.codegen.routes.routes_by_op``):
    only those routes' measured code is counted ("route NAME" entries of ``kernel_code``), as a
    build for this model alone links them; None: every measured route (a library for any model).
    """
    from .codegen.packed_weights import layer_weights

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
                lw = layer_weights(graph, op, pack_weights)
                row.weight_precision, stored = (lw[0], lw[1]) if lw else ("int8", t.nbytes)
                row.weights += stored
                row.weights_int8 += t.nbytes
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
    route_bytes = m.get("route_bytes", {}) if m else {}
    needed = set(route_bytes) if routes is None else {r for rs in routes.values() for r in rs}
    for r in sorted(needed):
        kernel_code[f"route {r}"] = route_bytes.get(r, 0)
    if not m:
        return FlashUsage(ops=rows, kernel_code=kernel_code)
    return FlashUsage(ops=rows, kernel_code=kernel_code, shared_code=m["shared_bytes"] + m["glue_base_bytes"],
                      measured=True, family=code_family(core))
