"""Which optional kernel routes a model's calls take (``edgeq_kernel_routes.h``).

Several kernels choose a variant at run time from the layer's shape and constants; each branch
references its variant, so without help the linker keeps all of them (firmware/cmsis_nn/edgeq/
edgeq_route_guards.h). Here the same choices are made from the lowered calls, once per core
family the kernels distinguish (MVE: Cortex-M55; DSP: M4/M7/M33 and the M55 layers MVE leaves
to the DSP code), and every route no call takes is written as 0.

The predicates mirror the dispatch conditions in the kernel sources (named at each one). A
mismatch never changes a result: a route set to 0 is a fast path with a general one behind it,
and every route is bit-exact; it would cost speed, which the benchmark's per-model instruction
counts expose (the same counts with and without the routes header).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Every route edgeq_route_guards.h knows, in its order.
ROUTES = ("CONV_FIELD_DSP", "CONV_GENERIC_DSP", "1X1S_DSP", "1X1W_DSP", "1X1_PAIRS_DSP", "DW_3X3_DSP",
          "DW_GENERIC_DSP")
#: The kernel constants the predicates use (arm_convolve_s8.c, arm_convolve_1x1_s8_fast.c,
#: arm_depthwise_conv_s8.c).
IM2COL_FIELD_MAX = 512
X1S_MAX_C, X1S_TABLE_WORDS = 16, 512
X1W_MIN_C, X1W_MAX_C = 8, 512
DW_MAX_EDGE = 8


@dataclass
class KernelRoutes:
    """Route name → the call indices that take it, per core family ("dsp", "mve")."""

    dsp: dict[str, list[int]] = field(default_factory=dict)
    mve: dict[str, list[int]] = field(default_factory=dict)

    def needed(self, family: str) -> set[str]:
        return {r for r, calls in getattr(self, family).items() if calls}

    def defines(self, family: str) -> list[tuple[str, int, str]]:
        """(route, 0/1, the calls that need it) for the header."""
        taken = getattr(self, family)
        return [(r, 1 if taken.get(r) else 0, ", ".join(f"#{i}" for i in taken.get(r, []))) for r in ROUTES]


def _fast_ok(mult, shift) -> bool:
    """edgeq_requant_fast_ok (edgeq_fixedpoint.h)."""
    return bool(np.all((shift <= -1) & (shift >= -23) & (mult != -2**31)))


def _bounded_ok(mult, shift, bias, taps: int) -> bool:
    """edgeq_requant_bounded_ok: the fast requantization, and every |bias| + taps * 255 * 128 < 2^29."""
    limit = 2**29 - taps * 255 * 128
    if not _fast_ok(mult, shift) or limit <= 0:
        return False
    return bias is None or bool(np.all(np.abs(bias) < limit))


def _conv_routes(a: dict, values) -> tuple[list[str], list[str]]:
    """(DSP routes, MVE-build routes) of one int8 conv call (arm_convolve_wrapper_s8)."""
    mult, shift = values(a["mult"]), values(a["shift"])
    bias = values(a["bias"]) if a.get("bias") else None
    in_c, out_c, k_c = a["in_c"], a["out_c"], a["k_c"]
    groups = in_c // k_c if k_c else 1
    is_1x1 = (a["pad_w"] == 0 and a["pad_h"] == 0 and a["dil_w"] == 1 and a["dil_h"] == 1 and a["k_w"] == 1
              and a["k_h"] == 1 and k_c == in_c)
    if is_1x1:  # arm_convolve_1x1_s8 -> edgeq_convolve_1x1_s8_dsp; MVE takes every 1x1
        dense = a["stride_w"] == 1 and a["stride_h"] == 1
        bounded = _bounded_ok(mult, shift, bias, in_c)
        if (dense and in_c % 4 == 0 and 4 <= in_c <= X1S_MAX_C and out_c * (4 + in_c // 2) <= X1S_TABLE_WORDS
                and bounded):
            return ["1X1S_DSP"], []
        if in_c % 4 == 0 and X1W_MIN_C <= in_c <= X1W_MAX_C and bounded:
            return ["1X1W_DSP"], []
        return (["1X1_PAIRS_DSP"] if dense and out_c >= 2 and in_c >= 4 else []), []
    # arm_convolve_s8: MVE for one group (its scratch, 2 k, is below the DSP's 4 align4(k));
    # else the DSP field table or the general im2col path (edgeq_convolve_s8_dsp)
    k = a["k_h"] * a["k_w"] * k_c
    field_ok = (groups == 1 and _bounded_ok(mult, shift, bias, k) and in_c % 4 != 0 and k <= IM2COL_FIELD_MAX
                and -127 <= a["input_offset"] <= 128)
    dsp = ["CONV_FIELD_DSP" if field_ok else "CONV_GENERIC_DSP"]
    return dsp, ([] if groups == 1 else dsp)


def _dw_routes(a: dict) -> tuple[list[str], list[str]]:
    """(DSP routes, MVE-build routes) of one int8 depthwise call (edgeq_depthwise_s8_dsp)."""
    if a["ch_mult"] != 1:
        return [], []  # the portable loop on every core
    is3x3 = a["k_h"] == 3 and a["k_w"] == 3 and a["dil_h"] == 1 and a["dil_w"] == 1
    if is3x3:  # the columns whose window leaves the input must fit the edge list
        in_w, out_w, sw, pw = a["in_w"], a["out_w"], a["stride_w"], a["pad_w"]
        ox_a = min((pw + sw - 1) // sw, out_w)
        ox_b = min((in_w - 3 + pw) // sw + 1, out_w) if in_w - 3 + pw >= 0 else 0
        ox_b = max(ox_b, ox_a)
        is3x3 = out_w - (ox_b - ox_a) <= DW_MAX_EDGE
    return ["DW_3X3_DSP" if is3x3 else "DW_GENERIC_DSP"], []  # MVE takes every ch_mult 1 layer


def kernel_routes(lowered) -> KernelRoutes:
    """The routes of every int8 conv / depthwise call of ``lowered`` (4-bit and 16x8 layers run
    other kernels, which have no routes)."""
    arrays = {d.symbol: d.values for d in lowered.data}

    def values(symbol):
        return np.asarray(arrays[symbol], dtype=np.int64)

    routes = KernelRoutes({r: [] for r in ROUTES}, {r: [] for r in ROUTES})
    for c in lowered.calls:
        a = c.args
        if c.kind not in ("conv", "dwconv") or a.get("s16") or a.get("packed"):
            continue
        dsp, mve = _conv_routes(a, values) if c.kind == "conv" else _dw_routes(a)
        for r in dsp:
            routes.dsp[r].append(c.index)
        for r in mve:
            routes.mve[r].append(c.index)
    return routes


#: Which route set a core family's build links: the M3 family builds no DSP code (no routes).
FAMILY_ROUTES = {"cortex-m4": "dsp", "cortex-m55": "mve"}


def routes_by_op(lowered, family: str) -> dict[int, list[str]] | None:
    """Operator index → the routes its call takes in ``family``'s build (``edgeq.flash_usage``
    names: cortex-m3 / cortex-m4 / cortex-m55); None for a family without routes."""
    which = FAMILY_ROUTES.get(family)
    if which is None:
        return None
    out: dict[int, list[str]] = {}
    for r, calls in getattr(kernel_routes(lowered), which).items():
        for i in calls:
            out.setdefault(i, []).append(r)
    return out
