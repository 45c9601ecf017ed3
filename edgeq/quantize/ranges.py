"""Activation range estimators: given the float values a tensor took during calibration, pick the
[min, max] that int8 quantization should cover. Pure numpy; each returns (lo, hi) with lo ≤ 0 ≤ hi.

  minmax      the observed extremes (what the TFLite converter does)
  percentile  clip the tails at a percentile (default 99.99): outliers stop stretching the step
  mse         the clipping range minimising the mean squared quantization error on the samples
  entropy     the range minimising the KL divergence between the value histogram and its
              quantized version (the TensorRT-style calibration)
"""

from __future__ import annotations

import numpy as np

METHODS = ("minmax", "percentile", "mse", "entropy")
LEVELS = 255  # int8 steps


def choose_range(values: np.ndarray, method: str, percentile: float = 99.99) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
    if method == "minmax" or hi - lo == 0.0:
        return lo, hi
    if method == "percentile":
        p_hi = float(np.percentile(v, percentile))
        p_lo = float(np.percentile(v, 100.0 - percentile)) if lo < 0 else 0.0
        return min(p_lo, 0.0), max(p_hi, 0.0)
    if method == "mse":
        return _mse_range(v, lo, hi)
    if method == "entropy":
        return _entropy_range(v, lo, hi)
    raise ValueError(f"unknown calibration method {method!r}")


def fake_quant(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Quantize-dequantize with an asymmetric int8 grid over [lo, hi] (zero exactly representable)."""
    scale = (hi - lo) / LEVELS
    zp = np.round(-128 - lo / scale)
    q = np.clip(np.round(v / scale) + zp, -128, 127)
    return (q - zp) * scale


def clipped_fraction(values: np.ndarray, lo: float, hi: float) -> float:
    v = np.asarray(values).ravel()
    return float(np.mean((v < lo) | (v > hi))) if v.size else 0.0


def _subsample(v: np.ndarray, n: int = 200_000) -> np.ndarray:
    if v.size <= n:
        return v
    return np.random.default_rng(0).choice(v, n, replace=False)


def _mse_range(v: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    s = _subsample(v)
    best, best_err = (lo, hi), np.inf
    for alpha in np.linspace(0.05, 1.0, 96):
        cand = (lo * alpha, hi * alpha)
        err = float(np.mean((fake_quant(s, *cand) - s) ** 2))
        if err < best_err:
            best, best_err = cand, err
    return best


def _entropy_range(v: np.ndarray, lo: float, hi: float, bins: int = 2048) -> tuple[float, float]:
    """Threshold on |v| minimising KL(P || Q); P the clipped histogram, Q it re-binned to the
    levels the quantized tensor has on that side of zero."""
    signed = lo < 0
    a = np.abs(v)
    top = float(a.max())
    hist, edges = np.histogram(a, bins=bins, range=(0.0, top))
    levels = 128 if signed else 256
    best_i, best_kl = bins, np.inf
    for i in range(levels, bins + 1, 8):
        p = hist[:i].astype(np.float64)
        p[-1] += hist[i:].sum()  # P: outliers fold into the last kept bin
        q = np.zeros(i)
        for c in np.array_split(np.arange(i), levels):  # Q: each level's mass, spread evenly
            k = np.count_nonzero(hist[c])                #    over the bins that had values
            if k:
                q[c] = np.where(hist[c] > 0, hist[c].sum() / k, 0.0)
        nz = p > 0
        q = np.where(nz & (q == 0), 1e-4, q)  # smoothing: no infinite divergence
        pn, qn = p / p.sum(), q / q.sum()
        kl = float(np.sum(pn[nz] * np.log(pn[nz] / qn[nz])))
        if kl < best_kl:
            best_i, best_kl = i, kl
    t = float(edges[best_i])
    return (max(lo, -t) if signed else 0.0), min(hi, t)
