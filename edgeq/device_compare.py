"""flash-and-test's verdict: every output byte of the device against the host reference, accuracy
against labels and the float model, latency statistics."""

from __future__ import annotations

import numpy as np



def _stats(values: list[int]) -> dict | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    return {"min": int(a.min()), "median": float(np.median(a)), "p99": float(np.percentile(a, 99)),
            "max": int(a.max()), "mean": float(a.mean())}


def index_list(indices: list[int], shown: int = 10) -> str:
    """"samples 3, 17, 40" — at most ``shown``, then how many more (a cut list says it is cut)."""
    head = ", ".join(str(i) for i in indices[:shown])
    more = f" and {len(indices) - shown} more (all in report.json)" if len(indices) > shown else ""
    return f"sample{'s' if len(indices) > 1 else ''} {head}{more}"


def compare(ref, device_qs: list[np.ndarray], ds, keras_model, recs, info, names: list[str]) -> dict:
    """Every output byte of the device against the host reference; metrics per output.

    One output: the report's top-level keys are that output's (as before several were supported),
    plus ``outputs`` with the one entry. Several: a sample matches when every output matches; the
    top-level drops (what --max-drop gates) are the largest of the classifier outputs."""
    n = len(device_qs[0])
    floats = None
    if keras_model is not None and any(y is not None for y in ds.labels):
        from .evaluate import _predict_all
        from .quantize import keras_io

        floats = _predict_all(keras_io.load_float_model(keras_model), ds.model_input)
    per_output = [_compare_output(k, names[k], tio, host_q, dev_q, ds.labels[k],
                                  None if floats is None else floats[k])
                  for k, (tio, host_q, dev_q) in enumerate(zip(ref.outputs_io, ref.outputs_qs, device_qs))]
    diffs = [np.abs(d.reshape(n, -1).astype(np.int64) - h.reshape(n, -1).astype(np.int64))
             for d, h in zip(device_qs, ref.outputs_qs)]
    diff = np.concatenate(diffs, axis=1)
    same = ~np.any(diff, axis=1)
    bad = np.flatnonzero(~same)
    out = {"samples": n, "bit_exact_rate": float(same.mean()), "mismatch_count": int(len(bad)),
           # every mismatch, not a sample of them: a list that is silently cut misleads
           "mismatches": [{"index": int(i), "max_abs_diff": int(diff[i].max()),
                           "values_differing": int(np.count_nonzero(diff[i]))}
                          | ({"outputs": [k for k, d in enumerate(diffs) if d[i].any()]} if len(diffs) > 1 else {})
                          for i in bad]}
    if len(per_output) == 1:
        out.update({k: v for k, v in per_output[0].items() if k not in ("index", "name", "bit_exact_rate",
                                                                          "mismatch_count")})
    else:
        for key in ("host_vs_device_drop_pp", "float_vs_device_drop_pp"):
            drops = [o[key] for o in per_output if key in o]
            if drops:
                out[key] = max(drops)
    out["outputs"] = per_output
    out["latency"] = {"instructions": _stats([r.instructions for r in recs if r.instructions is not None]),
                      "cycles": _stats([r.cycles for r in recs if r.cycles is not None]),
                      "timer": recs[0].timer if recs else None}
    return out


def _compare_output(k: int, name: str, tio, host_q: np.ndarray, device_q: np.ndarray, labels, floats) -> dict:
    n = len(device_q)
    same = np.all(device_q.reshape(n, -1) == host_q.reshape(n, -1), axis=1)
    out = {"index": k, "name": name, "bit_exact_rate": float(same.mean()), "mismatch_count": int((~same).sum())}
    dev_f = tio.dequantize(device_q).reshape(n, -1).astype(np.float64)
    host_f = tio.dequantize(host_q).reshape(n, -1).astype(np.float64)
    fl = None if floats is None else floats.reshape(n, -1).astype(np.float64)
    classify = dev_f.shape[1] > 1
    if classify:
        out["top1_agreement"] = float(np.mean(dev_f.argmax(1) == host_f.argmax(1)))
    if labels is not None and classify and labels.ndim == 1:
        y = labels.astype(np.int64)
        out["device_accuracy"] = float(np.mean(dev_f.argmax(1) == y))
        out["host_accuracy"] = float(np.mean(host_f.argmax(1) == y))
        out["host_vs_device_drop_pp"] = round(100 * (out["host_accuracy"] - out["device_accuracy"]), 4)
        if fl is not None:
            out["float_accuracy"] = float(np.mean(fl.argmax(1) == y))
            out["float_vs_device_drop_pp"] = round(100 * (out["float_accuracy"] - out["device_accuracy"]), 4)
    elif labels is not None and labels.reshape(n, -1).shape[1] == dev_f.shape[1]:
        t = labels.reshape(n, -1).astype(np.float64)
        for who, v in (("device", dev_f), ("host", host_f), ("float", fl)):
            if v is not None:
                out[f"{who}_mse"] = float(np.mean((v - t) ** 2))
                out[f"{who}_mae"] = float(np.mean(np.abs(v - t)))
    if fl is not None and not classify:  # a regression output: how close the device is to float
        err = dev_f - fl
        p_err = float(np.mean(err ** 2))
        out["device_vs_float_sqnr_db"] = None if p_err == 0 else float(10 * np.log10(np.mean(fl ** 2) / p_err))
    return out
