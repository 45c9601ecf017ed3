"""Recurrent layers: UNIDIRECTIONAL_SEQUENCE_LSTM (int8 activations and weights, int16 cell state).

A Keras LSTM reaches TFLite as one fused UNIDIRECTIONAL_SEQUENCE_LSTM when it is converted from
tf_keras (see ``edgeq.quantize.recurrent``). The kernel is ``arm_lstm_unidirectional_s8`` (the
CMSIS-NN API) computing what TFLM's reference kernel computes; every parameter below follows
TFLM's Prepare (``lstm_eval_common.cc``: ``PrepareGateParametersInteger``,
``CreateInterGateMulParams``, ``CreateLstmCellStateInfo``):

* gate fully connected parts: per-tensor multiplier of float32(in_scale * w_scale) / 2^-12
  (Q3.12 gate input), input offset -input_zp for the input part, -hidden_zp for the recurrent
  part (folded here into effective biases: bias + offset * row sum);
* forget x cell -> cell: 2^-15 * s_c / s_c; input x cell gate -> cell: 2^-15 * 2^-15 / s_c;
  output gate x tanh(cell) -> hidden: 2^-15 * 2^-15 / s_h (+ hidden zero point), in double;
* cell state scale must be a power of two 2^p; tanh of the cell uses left shift p + 12;
* cell clip: int16(clamp(clip / s_c, -32768, 32767)), applied when the option is > 0.

State: the hidden and cell state are TFLite variable tensors. TFLM's reference kernel keeps them
across invokes (an interpreter invoked twice continues the sequence) until ``Reset()``; TFLM's
CMSIS-NN build starts every invoke from zero state. A Keras LSTM with ``stateful=False`` starts
each sequence from zero, so the generated code does too: the kernel is called with no initial
hidden state and clears the cell state (kept in the cell state tensor's arena slot) each invoke.
The reference is TFLM with a fresh interpreter (or ``reset()``) per sample.
"""

from __future__ import annotations

import math

import numpy as np

from .. import quantmath as qm
from . import TFLM, register

# TFLite input positions of UNIDIRECTIONAL_SEQUENCE_LSTM (lstm_shared.h)
_INPUT = 0
_GATES = ("input", "forget", "cell", "output")  # input weights 1-4, recurrent 5-8, bias 12-15
_PEEPHOLE = (9, 10, 11)
_PROJECTION = (16, 17)
_HIDDEN_STATE, _CELL_STATE = 18, 19
_LAYER_NORM = (20, 21, 22, 23)

GATE_INPUT_SCALE = 2.0 ** -12  # Q3.12
GATE_OUTPUT_SCALE = 2.0 ** -15  # Q0.15


def _f32(x) -> np.float32:
    return np.float32(x)


def gate_multiplier(act_scale: float, w_scale: float) -> tuple[int, int]:
    """TFLM GetQuantizedConvolutionMultipler (per-tensor): the product in float32, then double."""
    product = float(_f32(_f32(act_scale) * _f32(w_scale)))
    return qm.quantize_multiplier(product / float(_f32(GATE_INPUT_SCALE)))


def inter_gate_multiplier(s1: float, s2: float, s_out: float) -> tuple[int, int]:
    """TFLM CreateInterGateMulParams: double(s1) * double(s2) / double(s_out)."""
    return qm.quantize_multiplier(float(_f32(s1)) * float(_f32(s2)) / float(_f32(s_out)))


def cell_scale_power(scale: float) -> int | None:
    """log2 of a power-of-two scale (TFLite's CheckedLog2: within 1e-3 of an integer), else None."""
    log2 = math.log(float(_f32(scale))) / math.log(2.0)
    p = round(log2)
    return int(p) if abs(log2 - p) < 1e-3 else None


def quantized_cell_clip(clip: float, cell_scale: float) -> int:
    """TFLM CreateLstmCellStateInfo: clip / scale in double, clamped to int16, truncated."""
    if not clip > 0:
        return 0
    v = min(max(float(_f32(clip)) / float(_f32(cell_scale)), -32768.0), 32767.0)
    return int(v)


def effective_bias(weights: np.ndarray, offset: int, bias: np.ndarray | None) -> list[int]:
    """bias + offset * row sums of the int8 weights (CMSIS-NN's kernel-sum bias), checked to fit int32."""
    sums = np.asarray(weights, np.int64).sum(axis=1) * int(offset)
    if bias is not None:
        sums = sums + np.asarray(bias, np.int64).reshape(-1)
    if sums.size and (sums.min() < qm.INT32_MIN or sums.max() > qm.INT32_MAX):
        raise ValueError("effective LSTM bias overflows int32")
    return [int(v) for v in sums]


def _lstm_scratch(graph, op, variant) -> int:
    """temp1 + temp2: two int16 gate rows of batch x hidden."""
    x = graph.tensors[op.inputs[_INPUT]]
    y = graph.tensors[op.outputs[0]]
    time_major = bool(op.options.get("time_major", False))
    batch = int(x.shape[1] if time_major else x.shape[0]) if len(x.shape) == 3 else 1
    return 2 * 2 * batch * int(y.shape[-1])


def _lstm_macs(graph, op) -> int:
    """Four gates, each an input and a recurrent matrix-vector product, per time step and batch."""
    x = graph.tensors[op.inputs[0]]
    w_in, w_rec = graph.tensors[op.inputs[2]], graph.tensors[op.inputs[6]]  # input-to-forget, recurrent-to-forget
    steps_batch = x.size // int(x.shape[-1])
    return 4 * steps_batch * (w_in.size + w_rec.size)


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", "arm_lstm_unidirectional_s8", int16=False, reference=TFLM,
          min_inputs=9, ranks={0: 3}, out_rank=3, const_inputs=(1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15),
          scratch=_lstm_scratch, code_bytes=1400, macs=lambda g, op: _lstm_macs(g, op),
          notes="int8 activations, int16 cell state; no peephole, projection, layer norm or CIFG; "
                "zero state at each invoke (stateless Keras LSTM)")
def lower_lstm(lw, op):
    t = lw.t
    x, y = t(op.inputs[_INPUT]), t(op.outputs[0])
    if len(op.inputs) < 20 or op.inputs[_HIDDEN_STATE] < 0 or op.inputs[_CELL_STATE] < 0:
        raise lw.fail(op, "LSTM without state tensors is not supported")
    hidden, cell = t(op.inputs[_HIDDEN_STATE]), t(op.inputs[_CELL_STATE])
    if x.dtype == "int16" or y.dtype == "int16":
        raise lw.fail(op, "int16-activation (16x8) LSTM is not supported; convert the model with int8 activations")
    for tt in (x, y, hidden):
        lw.require(op, tt, "int8")
    lw.require(op, cell, "int16")
    present = lambda i: len(op.inputs) > i and op.inputs[i] >= 0  # noqa: E731
    if not all(present(i) for i in (12, 13, 14, 15, _HIDDEN_STATE, _CELL_STATE)):
        raise lw.fail(op, "LSTM without gate biases or state tensors is not supported")
    for group, what in ((_PEEPHOLE, "peephole"), (_PROJECTION, "projection"), (_LAYER_NORM, "layer normalization")):
        if any(present(i) for i in group):
            raise lw.fail(op, f"LSTM with {what} weights is not supported")
    if not all(present(i) for i in (1, 5, 12)):
        raise lw.fail(op, "LSTM without an input gate (CIFG) is not supported")
    if not (hidden.is_variable and cell.is_variable):
        raise lw.fail(op, "the LSTM state tensors must be variable tensors")
    act = op.options.get("fused_activation_function", "TANH")
    if act not in ("TANH", "SIGMOID"):
        raise lw.fail(op, f"cell gate activation {act} is not supported (TANH or SIGMOID)")
    time_major = bool(op.options.get("time_major", False))
    steps, batch, in_size = (int(x.shape[0]), int(x.shape[1]), int(x.shape[2])) if time_major \
        else (int(x.shape[1]), int(x.shape[0]), int(x.shape[2]))
    units = int(y.shape[-1])
    if hidden.size != batch * units or cell.size != batch * units:
        raise lw.fail(op, "state tensor sizes do not match batch x units")
    if tuple(y.shape[:2]) != tuple(x.shape[:2]):
        raise lw.fail(op, "output and input sequence shapes differ")
    p = cell_scale_power(cell.quant.scale)
    if p is None:
        raise lw.fail(op, f"cell state scale {cell.quant.scale:g} is not a power of two")
    # the output gets the hidden state's bytes (TFLM copies them): its own quantization, which the
    # converter may set differently (a Bidirectional's backward LSTM), is not applied

    pre = f"{lw.name}_op{op.index}"
    gates = {}
    for k, gate in enumerate(_GATES):
        w_in, w_rec, bias = t(op.inputs[1 + k]), t(op.inputs[5 + k]), t(op.inputs[12 + k])
        for w, shape in ((w_in, (units, in_size)), (w_rec, (units, units))):
            lw.require(op, w, "int8")
            if tuple(w.shape) != shape:
                raise lw.fail(op, f"{gate} gate weights {w.name!r} have shape {list(w.shape)}, expected {list(shape)}")
            if w.quant.scales.size != 1 or (w.quant.zero_points != 0).any():
                raise lw.fail(op, f"{gate} gate weights {w.name!r} must be per-tensor symmetric (TFLM's LSTM "
                                  "takes one multiplier per gate)")
        lw.require(op, bias, "int32")
        in_m, in_s = gate_multiplier(x.quant.scale, w_in.quant.scale)
        h_m, h_s = gate_multiplier(hidden.quant.scale, w_rec.quant.scale)
        gates[gate] = dict(
            input_multiplier=in_m, input_shift=in_s, input_weights=lw.const_symbol(w_in),
            input_bias=lw.int_array(f"{pre}_{gate}_in_bias", effective_bias(w_in.data, -x.quant.zero_point, bias.data),
                                    f"{gate} gate: bias + input offset x row sums"),
            hidden_multiplier=h_m, hidden_shift=h_s, hidden_weights=lw.const_symbol(w_rec),
            hidden_bias=lw.int_array(f"{pre}_{gate}_hid_bias", effective_bias(w_rec.data, -hidden.quant.zero_point, None),
                                     f"{gate} gate: hidden offset x row sums"),
            bias=lw.const_symbol(bias),
            activation="ARM_TANH" if gate == "cell" and act == "TANH" else "ARM_SIGMOID")
    f2c = inter_gate_multiplier(GATE_OUTPUT_SCALE, cell.quant.scale, cell.quant.scale)
    i2c = inter_gate_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, cell.quant.scale)
    out = inter_gate_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, hidden.quant.scale)
    return lw._call("lstm", op, input=lw.ref(x.index), output=lw.ref(y.index), cell=lw.ref(cell.index),
                    time_major=int(time_major), batch=batch, steps=steps, input_size=in_size, hidden_size=units,
                    input_offset=-x.quant.zero_point, f2c_mult=f2c[0], f2c_shift=f2c[1], i2c_mult=i2c[0],
                    i2c_shift=i2c[1], cell_clip=quantized_cell_clip(op.options.get("cell_clip", 0.0),
                                                                      cell.quant.scale),
                    cell_scale_power=p, out_mult=out[0], out_shift=out[1], output_offset=hidden.quant.zero_point,
                    gates=[gates[g] for g in ("forget", "input", "cell", "output")], scratch=lw.scratch(op),
                    temp_bytes=2 * batch * units)
