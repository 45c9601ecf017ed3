"""Which optional kernel routes a model's calls take (``edgeq_kernel_routes.h``).

Several kernels choose a variant at run time from the layer's shape and constants; each branch
references its variant, so without help the linker keeps all of them (firmware/cmsis_nn/edgeq/
edgeq_route_guards.h). Here the same choices are made from the lowered calls, once per core
family the kernels distinguish (MVE: Cortex-M55; DSP: M4/M7/M33 and the M55 layers MVE leaves
to the DSP code), and every route no call takes is written as 0.

The predicates mirror the dispatch conditions in the kernel sources (named at each one). A
mismatch never changes a result: a route set to 0 is a fast path with a general one behind it,
and every route is bit-exact; it would cost speed, which the benchmark's per-model instruction
counts expose (the same counts with and without the routes header). A route the kernels gain
later and this module does not know has no guard yet and stays linked (edgeq_route_guards.h
defaults every guard to 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Every route edgeq_route_guards.h guards, in its order (the header writes one define each).
ROUTES = ("CONV_FIELD_DSP", "CONV_GENERIC_DSP", "1X1D_DSP", "1X1S_DSP", "1X1_PAIRS_DSP", "DW_3X3_DSP",
          "DW_GENERIC_DSP", "CONV_PAIRS_MVE", "1X1_PAIRS_MVE", "DW_ROWS_MVE")
#: Routes without a guard, named for the size estimate only: the prepared 3x3 depthwise entry
#: (edgeq_depthwise_conv_3x3_packed_s8: the generated call references it, so a model links it
#: exactly when one of its layers has prepared blocks) and the 3x3 row loop that it and the
#: unprepared 3x3 route share.
SIZE_ROUTES = ("DW_3X3_PACKED_DSP", "DW_3X3_ROWS_DSP")
#: route -> the size-only routes its code calls
ROUTE_ALSO = {"DW_3X3_DSP": ("DW_3X3_ROWS_DSP",), "DW_3X3_PACKED_DSP": ("DW_3X3_ROWS_DSP",)}
#: The kernel constants the predicates use (arm_convolve_s8.c, arm_convolve_1x1_s8_fast.c,
#: arm_depthwise_conv_s8.c, edgeq_mve_conv.c, edgeq_mve_depthwise_rows.c).
IM2COL_FIELD_MAX = 512
X1S_MAX_C, X1S_TABLE_WORDS = 16, 512
X1D_MIN_C, X1D_MAX_GROUP_PAIRS = 8, 64  # EDGEQ_1X1D_MIN_C; EDGEQ_1X1D_ALIGN / 16 bytes per group pair
DW_MAX_EDGE = 8
MVE_CHUNK, MVE_SMALL_K = 128, 48  # EDGEQ_MVE_CHUNK, EDGEQ_MVE_SMALL_K
MVE_DW3_MIN_PIXELS, MVE_DW3_BUF, MVE_DW3_BLOCK, MVE_DW3_PER_PX = 16, 3072, 72 + 128, 3 * 8


@dataclass
class KernelRoutes:
    """Route name → the call indices that take it, per core family ("dsp", "mve")."""

    dsp: dict[str, list[int]] = field(default_factory=dict)
    mve: dict[str, list[int]] = field(default_factory=dict)

    def needed(self, family: str) -> set[str]:
        return {r for r, calls in getattr(self, family).items() if calls}

    def defines(self, family: str) -> list[tuple[str, int, str]]:
        """(route, 0/1, the calls that need it) for the header: the guarded routes."""
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


def _mve_simple_chunk(shift, out_c: int) -> bool:
    """Whether some EDGEQ_MVE_CHUNK channel chunk takes the MVE pixel-pair loops: every shift of
    the chunk a right shift (edgeq_mve_all_right) and a whole number of groups of four."""
    for c0 in range(0, out_c, MVE_CHUNK):
        c1 = min(c0 + MVE_CHUNK, out_c)
        if (c1 - c0) % 4 == 0 and bool(np.all(shift[c0:c1] < 0)):
            return True
    return False


def _call_pixels(a: dict) -> list[int]:
    """The output pixels of each kernel call of a lowered conv / depthwise (one call, or one per
    band of output rows when it runs in place: model.c.j2's band_loop)."""
    rows, bands = a["out_h"], a.get("bands")
    if bands:
        rows = bands["rows"]
    return [a["n"] * min(rows, a["out_h"] - r0) * a["out_w"] for r0 in range(0, a["out_h"], rows)]


def _1x1_dsp_route(a: dict, mult, shift, bias) -> list[str]:
    """edgeq_convolve_1x1_s8_dsp: the doubly-widened route, else the shallow table, else the
    general loop (its pixel-pair loop for stride 1)."""
    in_c, out_c = a["in_c"], a["out_c"]
    dense = a["stride_w"] == 1 and a["stride_h"] == 1
    n4 = in_c // 4
    if in_c % 4 == 0 and in_c >= X1D_MIN_C and ((n4 + 1) & ~1) <= X1D_MAX_GROUP_PAIRS:  # edgeq_1x1d_run
        limit = 2**29 - in_c * 255 * 128
        b = np.zeros(out_c, np.int64) if bias is None else bias
        if bool(np.all((mult >= 0) & (shift <= -1) & (shift >= -23) & (np.abs(b) < limit))):
            return ["1X1D_DSP"]
    if (dense and in_c % 4 == 0 and 4 <= in_c <= X1S_MAX_C and out_c * (4 + in_c // 2) <= X1S_TABLE_WORDS
            and _bounded_ok(mult, shift, bias, in_c)):  # edgeq_1x1s_run
        return ["1X1S_DSP"]
    return ["1X1_PAIRS_DSP"] if dense and out_c >= 2 and in_c >= 4 else []


def _conv_routes(a: dict, values) -> tuple[list[str], list[str]]:
    """(DSP routes, MVE-build routes) of one int8 conv call (arm_convolve_wrapper_s8)."""
    mult, shift = values(a["mult"]), values(a["shift"])
    bias = values(a["bias"]) if a.get("bias") else None
    in_c, out_c, k_c = a["in_c"], a["out_c"], a["k_c"]
    groups = in_c // k_c if k_c else 1
    is_1x1 = (a["pad_w"] == 0 and a["pad_h"] == 0 and a["dil_w"] == 1 and a["dil_h"] == 1 and a["k_w"] == 1
              and a["k_h"] == 1 and k_c == in_c)
    if is_1x1:  # arm_convolve_1x1_s8 -> edgeq_convolve_1x1_s8_dsp / edgeq_mve_convolve_1x1_s8
        dense = a["stride_w"] == 1 and a["stride_h"] == 1
        mve = ["1X1_PAIRS_MVE"] if dense and in_c <= MVE_SMALL_K and _mve_simple_chunk(shift, out_c) else []
        return _1x1_dsp_route(a, mult, shift, bias), mve
    # arm_convolve_s8: MVE for one group (its scratch, 2 k, is below the DSP's 4 align4(k));
    # else the DSP field table or the general im2col path (edgeq_convolve_s8_dsp)
    k = a["k_h"] * a["k_w"] * k_c
    field_ok = (groups == 1 and _bounded_ok(mult, shift, bias, k) and in_c % 4 != 0 and k <= IM2COL_FIELD_MAX
                and -127 <= a["input_offset"] <= 128)
    dsp = ["CONV_FIELD_DSP" if field_ok else "CONV_GENERIC_DSP"]
    if groups != 1:
        return dsp, dsp
    # edgeq_mve_rowvec_ok: three kernel rows of at most 16 bytes take the row-vector route (its
    # border pixels the gather, not the pixel-pair loop)
    if a["k_h"] == 3 and a["k_w"] * in_c <= 16 and a["dil_h"] == 1 and (a["k_w"] == 1 or a["dil_w"] == 1):
        return dsp, []
    # edgeq_mve_convolve_small_k: fields of 17-48 taps run the pixel-pair loop
    return dsp, (["CONV_PAIRS_MVE"] if 16 < k <= MVE_SMALL_K and _mve_simple_chunk(shift, out_c) else [])


def _dw_routes(a: dict) -> tuple[list[str], list[str]]:
    """(DSP routes, MVE-build routes) of one int8 depthwise call (edgeq_depthwise_s8_dsp,
    edgeq_depthwise_conv_3x3_packed_s8 for the blocks prepared at generation time; the MVE build's
    arm_depthwise_conv_s8)."""
    if a["ch_mult"] != 1:
        return [], []  # the portable loop on every core
    is3x3 = a["k_h"] == 3 and a["k_w"] == 3 and a["dil_h"] == 1 and a["dil_w"] == 1
    # edgeq_mve_depthwise3_rows_ok: 16+ output pixels in some call and three row buffers of a
    # padded row that fit
    pixels = max(_call_pixels(a))
    wp = (a["out_w"] - 1) * a["stride_w"] + 3
    rows = (is3x3 and a["pad_w"] >= 0 and a["pad_h"] >= 0 and pixels >= MVE_DW3_MIN_PIXELS
            and MVE_DW3_BUF // (MVE_DW3_BLOCK + MVE_DW3_PER_PX * wp) >= 1)
    # the blocks prepared for Helium (edgeq/codegen/dw_mve.py) are called directly by the generated
    # code (edgeq_mve_depthwise3_packed_s8): the wrapper's row route is not reached then
    mve = ["DW_ROWS_MVE"] if rows and not a.get("dw3mve") else []
    if a.get("dw3x3"):  # the generated code calls the prepared blocks' entry (DSP cores)
        return ["DW_3X3_PACKED_DSP"], mve
    if is3x3:  # the columns whose window leaves the input must fit the edge list
        in_w, out_w, sw, pw = a["in_w"], a["out_w"], a["stride_w"], a["pad_w"]
        ox_a = min((pw + sw - 1) // sw, out_w)
        ox_b = min((in_w - 3 + pw) // sw + 1, out_w) if in_w - 3 + pw >= 0 else 0
        ox_b = max(ox_b, ox_a)
        is3x3 = out_w - (ox_b - ox_a) <= DW_MAX_EDGE
    return ["DW_3X3_DSP" if is3x3 else "DW_GENERIC_DSP"], mve


def kernel_routes(lowered) -> KernelRoutes:
    """The routes of every int8 conv / depthwise call of ``lowered`` (4-bit and 16x8 layers run
    other kernels, which have no routes)."""
    arrays = {d.symbol: d.values for d in lowered.data}

    def values(symbol):
        return np.asarray(arrays[symbol], dtype=np.int64)

    names = ROUTES + SIZE_ROUTES
    routes = KernelRoutes({r: [] for r in names}, {r: [] for r in names})
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


def route_op(route: str) -> str:
    """The op type whose kernel a route belongs to (its code is linked only with that op's)."""
    return "DEPTHWISE_CONV_2D" if route.startswith("DW_") else "CONV_2D"


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
            taken = out.setdefault(i, [])
            taken += [x for x in (r, *ROUTE_ALSO.get(r, ())) if x not in taken]
    return out
