"""Saturation telemetry (issue 14, part 3): how often each layer's output sits at its type's
limits on the device, against the same count on the calibration data — a drift signal cheap
enough to ship in production firmware.

The generated code counts, when built with ``EDGEQ_STATS`` (``NAME_stats``, see
firmware/runtime/edgeq_observe.h), per layer the output values equal to the type's minimum and
maximum; the test harness sends the counters back (STATS). The host computes the same counts with
the reference interpreter's intermediate tensors: on the inputs the device saw (they must be
equal, value for value) and on the calibration data (the baseline). A layer whose clipping rate on
the device exceeds the calibration rate by more than ``threshold`` (absolute, a fraction of its
output values) is flagged. Values at the minimum of a tensor whose zero point *is* the minimum
(a fused ReLU, a softmax) are real zeros, not clipping: they are counted and shown but do not
raise the flag.
"""

from __future__ import annotations

import numpy as np

STATS_CMAKE = {"EDGEQ_STATS": "ON"}  # build_firmware(extra_cmake=...) for NAME_stats
DEFAULT_THRESHOLD = 0.005  # half a point of a layer's outputs more at a limit than on the calibration data

_LIMITS = {"int8": (-128, 127), "int16": (-32768, 32767)}


def counted(layer: dict) -> bool:
    """Layers the generated code counts: int8 and int16 outputs."""
    return layer["dtype"] in _LIMITS


def elements(layer: dict) -> int:
    """Values the layer's counters cover: every output (a SPLIT counts all its parts)."""
    total = 0
    for o in layer.get("outputs") or [layer]:
        n = 1
        for d in o["shape"]:
            n *= int(d)
        total += n
    return total


def host_counts(layers: list[dict], tensors: dict, samples: int | None = None,
                runs: list[int] | None = None) -> list[tuple[int, int] | None]:
    """Per layer (values at min, values at max) summed over the samples of ``tensors``
    (tensor index → (N, ...) values, from ``run_tflm(..., tensors=...)``); ``runs``: how many
    times the device ran each sample (a retransmitted INFER may run twice), default once."""
    out = []
    for lay in layers:
        if not counted(lay):
            out.append(None)
            continue
        lo, hi = _LIMITS[lay["dtype"]]
        at_min = at_max = 0
        for o in lay.get("outputs") or [lay]:
            v = np.asarray(tensors[o["output_tensor"]])
            if samples is not None:
                v = v[:samples]
            v = v.reshape(len(v), -1)
            w = np.ones(len(v), np.int64) if runs is None else np.asarray(runs, np.int64)
            at_min += int(np.count_nonzero(v == lo, axis=1) @ w)
            at_max += int(np.count_nonzero(v == hi, axis=1) @ w)
        out.append((at_min, at_max))
    return out


def telemetry_table(layers: list[dict], device, host_same: list | None, calib: list | None,
                    calib_samples: int, threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Device counts (a ``StatsResult``) vs the host's on the same inputs and on calibration data."""
    n_dev = device.inferences
    rows = []
    for k, lay in enumerate(layers):
        if not counted(lay) or k >= len(device.at_limits):
            continue
        el = elements(lay)
        dmin, dmax = device.at_limits[k]
        row = {"layer": k, "op": lay["op"], "tensor": lay["output"], "dtype": lay["dtype"], "elements": el,
               "device_at_min": dmin, "device_at_max": dmax,
               "device_min_rate": dmin / (el * n_dev) if n_dev else 0.0,
               "device_max_rate": dmax / (el * n_dev) if n_dev else 0.0}
        if host_same is not None and host_same[k] is not None:
            row["host_at_min"], row["host_at_max"] = host_same[k]
            row["matches_host"] = host_same[k] == (dmin, dmax)
        if calib is not None and calib[k] is not None and calib_samples:
            cmin, cmax = calib[k]
            row["calib_min_rate"] = cmin / (el * calib_samples)
            row["calib_max_rate"] = cmax / (el * calib_samples)
            zero_floor = lay.get("zero_point") == _LIMITS[lay["dtype"]][0]  # min = real 0: not clipping
            row["min_is_zero"] = zero_floor
            row["excess"] = max(row["device_max_rate"] - row["calib_max_rate"],
                                -1.0 if zero_floor else row["device_min_rate"] - row["calib_min_rate"])
            row["drift"] = row["excess"] > threshold
        rows.append(row)
    out = {"inferences": n_dev, "threshold": threshold, "layers": rows,
           "calib_samples": calib_samples if calib is not None else 0,
           "drift_layers": [r["layer"] for r in rows if r.get("drift")]}
    if host_same is not None:
        out["matches_host"] = all(r.get("matches_host", True) for r in rows)
    return out


def render_telemetry(tel: dict, out) -> None:
    from . import ui

    if not tel.get("layers"):
        return
    has_cal = tel.get("calib_samples", 0) > 0
    pct = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    rows = []
    for r in tel["layers"]:
        row = [str(r["layer"]), r["op"], pct(r["device_min_rate"]), pct(r["device_max_rate"])]
        if has_cal:
            row += [pct(r["calib_min_rate"]), pct(r["calib_max_rate"]), "DRIFT" if r["drift"] else ""]
        rows.append(row)
    cols = ["#", "op", "dev @min", "dev @max"] + (["calib @min", "calib @max", ""] if has_cal else [])
    same = "" if "matches_host" not in tel else (" = host counts" if tel["matches_host"] else " ≠ HOST COUNTS")
    out.print(ui.table(f"saturation telemetry ({tel['inferences']} inferences{same}; "
                       f"drift: > {100 * tel['threshold']:g} points over calibration)", cols, rows,
                       justify_right_from=2))
