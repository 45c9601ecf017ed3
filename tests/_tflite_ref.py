"""The TFLite interpreter with its reference kernels: the golden reference for ops TFLM lacks
(TILE, ...) and for types TFLM lacks (int16 GATHER / MIRROR_PAD, int64 GATHER indices).

``tflite_run_many(cases)`` has the shape of ``_codegen_harness.tflm_run_many``: (model bytes,
inputs, number of outputs) cases → per case, the list of outputs. It runs in a child process
(this file is also the child's script) with
``experimental_op_resolver_type=OpResolverType.BUILTIN_REF``: the reference kernels, not
XNNPACK or the optimized ones, which may round differently.

    python _tflite_ref.py REQ.npz RESP.npz     (the child; same files as _tflm_worker.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def tflite_run_many(cases: list[tuple[bytes, list[np.ndarray], int]]) -> list[list[np.ndarray]]:
    """Run (model, inputs, n_outputs) cases through the TFLite reference kernels in one child process."""
    from _codegen_harness import run_cases_in_child

    return run_cases_in_child(Path(__file__).resolve(), cases, "TFLite", {"TF_CPP_MIN_LOG_LEVEL": "2"})


def _main(req: str, resp: str) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    out = {}
    with np.load(req, allow_pickle=False) as z:
        models = sorted(int(k.split("_")[1]) for k in z.files if k.startswith("model_"))
        for m in models:
            print(f"model {m}", flush=True)
            interp = _interpreter(tf, z[f"model_{m}"].tobytes())
            interp.allocate_tensors()
            ins_d, outs_d = interp.get_input_details(), interp.get_output_details()
            ins = []
            while f"in_{m}_{len(ins)}" in z.files:
                ins.append(z[f"in_{m}_{len(ins)}"])
            n_out = int(z[f"nout_{m}"])
            # the interpreter may order its inputs/outputs differently from the subgraph: by tensor index
            sub_in = _subgraph_io(z[f"model_{m}"].tobytes())
            in_pos = {d["index"]: d for d in ins_d}
            out_pos = {d["index"]: d for d in outs_d}
            results = [[] for _ in range(n_out)]
            for s in range(len(ins[0])):
                for i, x in enumerate(ins):
                    d = in_pos[sub_in[0][i]]
                    interp.set_tensor(d["index"], np.asarray(x[s:s + 1], d["dtype"]).reshape(d["shape"]))
                interp.invoke()
                for o in range(n_out):
                    results[o].append(np.array(interp.get_tensor(out_pos[sub_in[1][o]]["index"]))[0].copy())
            for o in range(n_out):
                out[f"out_{m}_{o}"] = np.stack(results[o])
    np.savez(resp, **out)


def _interpreter(tf, buf: bytes):
    """The reference kernels; for an op version they lack (BUILTIN_REF registers int8 TILE only up
    to version 2, the converter writes version 3), the builtin kernels without delegates (no
    XNNPACK) — for the byte-moving ops concerned the same bytes."""
    kinds = tf.lite.experimental.OpResolverType
    try:
        return tf.lite.Interpreter(model_content=buf, experimental_op_resolver_type=kinds.BUILTIN_REF)
    except (ValueError, RuntimeError) as e:
        if "Didn't find op" not in str(e):
            raise
        print(f"reference kernels lack an op ({str(e).splitlines()[0]}); builtin kernels", flush=True)
        return tf.lite.Interpreter(model_content=buf,
                                   experimental_op_resolver_type=kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def _subgraph_io(buf: bytes) -> tuple[list[int], list[int]]:
    """The subgraph's input and output tensor indices, in the model's order."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from edgeq.graph import load_graph

    g = load_graph(buf, check_supported=False)
    return list(g.inputs), list(g.outputs)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
