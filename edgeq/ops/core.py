"""The original op set: convolutions, fully connected, pooling, softmax, elementwise ADD/MUL,
PAD, MEAN, CONCATENATION, LOGISTIC, the reshapes and the (de)quantizers. Their lowering lives
on the lowerer itself (``edgeq.codegen.lower._Lowerer.op_*``)."""

from __future__ import annotations

from . import register


def _method(name: str):
    return lambda lw, op: getattr(lw, name)(op)


_ROWS = [
    # opcode, kernel, int16, extra
    ("CONV_2D", "arm_convolve_wrapper_s8 / _s16", True,
     dict(min_inputs=2, ranks={0: 4, 1: 4}, out_rank=4, const_inputs=(1,), code_bytes=2600)),
    ("DEPTHWISE_CONV_2D", "arm_depthwise_conv_wrapper_s8 / _s16", True,
     dict(min_inputs=2, ranks={0: 4, 1: 4}, out_rank=4, const_inputs=(1,), code_bytes=2200)),
    ("FULLY_CONNECTED", "arm_fully_connected_s8 / _per_channel_s8 / _s16", True,
     dict(min_inputs=2, ranks={1: 2}, const_inputs=(1,), code_bytes=900)),
    ("AVERAGE_POOL_2D", "arm_avgpool_s8 / _s16", True, dict(ranks={0: 4}, out_rank=4, code_bytes=600)),
    ("MAX_POOL_2D", "arm_max_pool_s8 / _s16", True, dict(ranks={0: 4}, out_rank=4, code_bytes=450)),
    ("SOFTMAX", "arm_softmax_s8 / arm_softmax_s16", True, dict(code_bytes=900)),
    ("ADD", "arm_elementwise_add_s8 / _s16, edgeq_broadcast_add_s8 / _s16", True,
     dict(min_inputs=2, code_bytes=500)),
    ("MUL", "arm_elementwise_mul_s8 / _s16, edgeq_broadcast_mul_s8 / _s16", True,
     dict(min_inputs=2, code_bytes=400)),
    ("RESHAPE", "(alias, or edgeq_copy)", True, dict(alias=True, folded_inputs={1}, code_bytes=0)),
    ("SQUEEZE", "(alias, or edgeq_copy)", True, dict(alias=True, code_bytes=0)),
    ("PAD", "edgeq_pad_s8 / _s16", True, dict(min_inputs=2, const_inputs=(1,), folded_inputs={1}, code_bytes=350)),
    ("MEAN", "edgeq_mean_s8 / _s16", True, dict(min_inputs=2, const_inputs=(1,), folded_inputs={1}, code_bytes=500)),
    ("CONCATENATION", "edgeq_concat_s8 / _s16", True, dict(code_bytes=300)),
    ("LOGISTIC", "edgeq_logistic_s8 / _s16", True, dict(code_bytes=700)),
    ("QUANTIZE", "edgeq_quantize_f32_s8 / _s16, edgeq_requantize_*", True, dict(code_bytes=400)),
    ("DEQUANTIZE", "edgeq_dequantize_s8_f32 / _s16_f32", True, dict(code_bytes=300)),
]

for _opcode, _kernel, _int16, _extra in _ROWS:
    register(_opcode, _kernel, int16=_int16, **_extra)(_method(f"op_{_opcode.lower()}"))
