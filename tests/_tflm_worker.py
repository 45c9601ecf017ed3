"""Child process for tests: run several .tflite models through the TFLM interpreter.

    python _tflm_worker.py REQ.npz RESP.npz

REQ holds model_<m> (uint8 bytes), nout_<m> (number of outputs) and in_<m>_<i> (N samples of input i, already in the input's
type); RESP gets out_<m>_<o> (N samples of output o). A crash of the interpreter kills only
this process; the parent reports which model was running (the last "model <m>" line).
EDGEQ_TFLM_SEQUENCE=1 runs each model's samples as one sequence (no reset between invokes).
"""

import os
import sys

import numpy as np


def main(req: str, resp: str) -> None:
    from tflite_micro.python.tflite_micro import runtime

    out = {}
    with np.load(req, allow_pickle=False) as z:
        models = sorted(int(k.split("_")[1]) for k in z.files if k.startswith("model_"))
        for m in models:
            print(f"model {m}", flush=True)
            buf = z[f"model_{m}"].tobytes()
            interp = runtime.Interpreter.from_bytes(buf, arena_size=max(1 << 20, 16 * len(buf)))
            ins = []
            i = 0
            while f"in_{m}_{i}" in z.files:
                ins.append(z[f"in_{m}_{i}"])
                i += 1
            n = len(ins[0])
            n_out = int(z[f"nout_{m}"])
            results = [[] for _ in range(n_out)]
            for s in range(n):
                # independent samples: an LSTM's state starts from zero, as on the device; with
                # EDGEQ_TFLM_SEQUENCE=1 the samples are one sequence (an SVDF's state carries over)
                if s == 0 or os.environ.get("EDGEQ_TFLM_SEQUENCE") != "1":
                    interp.reset()
                for i, x in enumerate(ins):
                    interp.set_input(x[s:s + 1], i)
                interp.invoke()
                for o in range(n_out):
                    results[o].append(np.array(interp.get_output(o))[0].copy())
            for o in range(n_out):
                out[f"out_{m}_{o}"] = np.stack(results[o])
    np.savez(resp, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
