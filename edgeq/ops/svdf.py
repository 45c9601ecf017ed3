"""SVDF: int8 input / output / feature weights, int16 time weights and activation state, int32
bias — TFLM's integer SVDF, through ``arm_svdf_state_s16_s8`` (the CMSIS-NN API).

Parameters as TFLM's PrepareSvdf computes them: effective scale 1 = input scale x feature weight
scale / state scale and effective scale 2 = state scale x time weight scale / output scale, each
taken in float32 (left to right), then QuantizeMultiplier in double. The feature values written
into the state clamp to int16, the output to int8; TFLM's integer kernel applies no fused
activation (only NONE is accepted here, so nothing is silently dropped).

State: the activation state is a TFLite variable tensor, and TFLM keeps it from one invoke to
the next (the point of an SVDF: each invoke is one time step of a stream) until ``Reset()``. The
generated code does the same: the state has its own arena slot, live across the whole invoke so
no other buffer, scratch or in-place plan ever shares it (``edgeq.memory`` / ``edgeq.inplace``),
zero at start-up (the arena is static) and cleared by ``NAME_reset()``. Consecutive invokes
continue the sequence; the reference (``edgeq.reference``) runs the samples of a model with an
SVDF as one sequence too, without resetting between them.

Keras has no layer that converts to SVDF; such models come from other tooling (or are built by
hand, as the tests do with tests/tflite_builder.py).
"""

from __future__ import annotations

import numpy as np

from .. import quantmath as qm
from . import TFLM, register

_INPUT, _W_FEATURE, _W_TIME, _BIAS, _STATE = range(5)


def svdf_multipliers(in_scale: float, wf_scale: float, state_scale: float, wt_scale: float,
                     out_scale: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """((multiplier, shift) of effective scale 1, of effective scale 2), as TFLM's Prepare."""
    f = np.float32
    s1 = f(f(f(in_scale) * f(wf_scale)) / f(state_scale))
    s2 = f(f(f(state_scale) * f(wt_scale)) / f(out_scale))
    return qm.quantize_multiplier(float(s1)), qm.quantize_multiplier(float(s2))


def _dims(graph, op) -> tuple[int, int, int]:
    """(batches, features, units) of an SVDF."""
    x, y = graph.tensors[op.inputs[_INPUT]], graph.tensors[op.outputs[0]]
    return int(x.shape[0]), int(graph.tensors[op.inputs[_W_FEATURE]].shape[0]), int(y.shape[-1])


def _svdf_scratch(graph, op, variant) -> int:
    """int32 per batch and feature (the time dot products), then per batch and unit (the sums)."""
    b, f, u = _dims(graph, op)
    return 4 * b * (f + u)


def _svdf_macs(graph, op) -> int:
    b, f, _ = _dims(graph, op)
    x, wt = graph.tensors[op.inputs[_INPUT]], graph.tensors[op.inputs[_W_TIME]]
    return b * f * (int(x.shape[-1]) + int(wt.shape[-1]))


# min_inputs 3: the bias (3) and the state (4) are checked in lower_svdf, which names the reason
@register("SVDF", "arm_svdf_state_s16_s8", reference=TFLM, min_inputs=3, ranks={0: 2}, out_rank=2,
          const_inputs=(1, 2), scratch=_svdf_scratch, code_bytes=600, macs=_svdf_macs,
          notes="int8 activations, int16 state and time weights; the state is kept across invokes as in "
                "TFLM (NAME_reset() clears it); no fused activation")
def lower_svdf(lw, op):
    t = lw.t
    x, wf, wt, y = t(op.inputs[_INPUT]), t(op.inputs[_W_FEATURE]), t(op.inputs[_W_TIME]), t(op.outputs[0])
    if len(op.inputs) < 5 or op.inputs[_STATE] < 0:
        raise lw.fail(op, "SVDF without an activation state tensor is not supported")
    state = t(op.inputs[_STATE])
    if op.inputs[_BIAS] < 0:
        # TFLM's Prepare reads the bias's scale unconditionally: it crashes on such a model
        raise lw.fail(op, "SVDF without a bias is not supported (TFLM cannot run it either)")
    bias = t(op.inputs[_BIAS])
    if x.dtype == "float32" or wt.dtype == "float32":
        raise lw.fail(op, "float or hybrid SVDF is not supported; convert with full integer quantization")
    lw.require(op, x, "int8")
    lw.require(op, y, "int8")
    lw.require(op, wf, "int8")
    if wt.dtype == "int8" or state.dtype == "int8":
        raise lw.fail(op, "SVDF with an int8 state / time weights is not supported (int16 ones are: "
                          "what the TFLite converter writes)")
    lw.require(op, wt, "int16")
    lw.require(op, state, "int16")
    lw.require(op, bias, "int32")
    if not state.is_variable:
        raise lw.fail(op, f"the SVDF state {state.name!r} must be a variable tensor")
    act = op.options.get("fused_activation_function", "NONE")
    if act not in ("NONE", 0):
        raise lw.fail(op, f"fused activation {act} on SVDF is not supported (TFLM's integer SVDF applies none)")
    rank = int(op.options.get("rank", 0))
    batches, in_size = (int(d) for d in x.shape)
    features, memory = int(wf.shape[0]), int(wt.shape[-1])
    if rank <= 0 or features % rank:
        raise lw.fail(op, f"rank {rank} does not divide the {features} features")
    units = features // rank
    if tuple(wf.shape) != (features, in_size) or tuple(wt.shape) != (features, memory):
        raise lw.fail(op, "weight shapes do not match the input size / features")
    if tuple(y.shape) != (batches, units) or state.size != batches * features * memory:
        raise lw.fail(op, "output or state shape does not match batch x units / features x memory")
    for w in (wf, wt):
        if w.quant.scales.size != 1 or (w.quant.zero_points != 0).any():
            raise lw.fail(op, f"weights {w.name!r} must be per-tensor symmetric")
    if state.quant.zero_point != 0:
        raise lw.fail(op, "the SVDF state must have zero point 0 (TFLM assumes it)")
    (m1, s1), (m2, s2) = svdf_multipliers(x.quant.scale, wf.quant.scale, state.quant.scale, wt.quant.scale,
                                          y.quant.scale)
    return lw._call("svdf", op, input=lw.ref(x.index), output=lw.ref(y.index), state=lw.ref(state.index),
                    weights_feature=lw.const_symbol(wf), weights_time=lw.const_symbol(wt),
                    bias=lw.const_symbol(bias), batches=batches,
                    input_size=in_size, features=features, memory=memory, units=units, rank=rank,
                    input_zp=x.quant.zero_point, output_zp=y.quant.zero_point, m1=m1, s1=s1, m2=m2, s2=s2,
                    scratch=lw.scratch(op), feature_bytes=4 * batches * features)
