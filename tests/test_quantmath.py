"""Quantization arithmetic (edgeq.quantmath) against exact integer/fraction references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from edgeq import quantmath as qm

pytestmark = pytest.mark.unit


def _round_half_away(fr: Fraction) -> int:
    n = abs(fr)
    q = math.floor(n + Fraction(1, 2))
    return q if fr >= 0 else -q


def test_quantize_multiplier_known_values():
    assert qm.quantize_multiplier(0.0) == (0, 0)
    assert qm.quantize_multiplier(0.5) == (1 << 30, 0)
    assert qm.quantize_multiplier(1.0) == (1 << 30, 1)
    assert qm.quantize_multiplier(0.25) == (1 << 30, -1)
    # rounding up to 2^31 renormalises
    m = (1 - 2.0 ** -40)
    assert qm.quantize_multiplier(m) == (1 << 30, 1)
    # tiny multipliers flush to zero
    assert qm.quantize_multiplier(2.0 ** -40) == (0, 0)


@pytest.mark.parametrize("seed", range(5))
def test_quantize_multiplier_is_nearest(seed):
    rng = np.random.default_rng(seed)
    for m in np.exp(rng.uniform(-20, 5, 500)):
        q, shift = qm.quantize_multiplier(float(m))
        assert (1 << 30) <= q < (1 << 31)
        exact = Fraction(float(m)) * 2 ** (31 - shift)
        assert abs(Fraction(q) - exact) <= Fraction(1, 2)


def test_srdhm_matches_exact_rounding():
    """round(a·b / 2^31), ties toward +infinity; the one overflow saturates."""
    rng = np.random.default_rng(1)
    vals = list(rng.integers(-(1 << 31), 1 << 31, 3000)) + [-(1 << 31), (1 << 31) - 1, 0, 1, -1]
    for a, b in zip(vals, reversed(vals)):
        a, b = int(a), int(b)
        got = qm.srdhm(a, b)
        if a == b == -(1 << 31):
            assert got == (1 << 31) - 1
            continue
        want = math.floor(Fraction(a * b, 1 << 31) + Fraction(1, 2))  # ties toward +inf
        assert got == want, (a, b)
    # exact ties: +1.5 → 2, -1.5 → -1
    assert qm.srdhm(3, 1 << 30) == 2 and qm.srdhm(-3, 1 << 30) == -1


@pytest.mark.parametrize("e", [0, 1, 2, 5, 13, 30, 31])
def test_rdbpot_rounds_half_away(e):
    rng = np.random.default_rng(e)
    for x in list(rng.integers(-(1 << 31), 1 << 31, 2000)) + [-(1 << 31), (1 << 31) - 1, 3, -3, 2, -2]:
        x = int(x)
        assert qm.rdbpot(x, e) == _round_half_away(Fraction(x, 1 << e)), (x, e)


def test_multiply_by_quantized_multiplier_close_to_exact():
    """Double rounding: within 1 of the exact product, and exact for powers of two."""
    rng = np.random.default_rng(2)
    for _ in range(3000):
        m = float(np.exp(rng.uniform(-15, 3)))
        q, s = qm.quantize_multiplier(m)
        x = int(rng.integers(-(1 << 20), 1 << 20))
        got = qm.multiply_by_quantized_multiplier(x, q, s)
        exact = Fraction(x) * Fraction(q) * Fraction(2) ** (s - 31)
        assert abs(got - exact) <= 1
    assert qm.multiply_by_quantized_multiplier(1000, 1 << 30, 0) == 500
    assert qm.multiply_by_quantized_multiplier(3, 1 << 30, 0) == 2  # +1.5 → 2
    assert qm.multiply_by_quantized_multiplier(-3, 1 << 30, 0) == -1  # -1.5 → -1 (SRDHM ties go up)
    assert qm.multiply_by_quantized_multiplier(-3, 1 << 30, -1) == -1  # -0.75


def test_padding_and_out_size():
    assert qm.out_size("SAME", 9, 3, 2) == 5
    assert qm.out_size("VALID", 9, 3, 2) == 4
    assert qm.out_size("VALID", 9, 3, 1, dilation=2) == 5
    assert qm.padding_before(9, 3, 2, 1, 5) == 1
    assert qm.padding_before(8, 2, 1, 1, 8) == 0  # total 1: the extra pixel goes bottom/right
    assert qm.padding_before(9, 3, 1, 2, 9) == 2
    assert qm.padding_before(9, 3, 1, 1, 7) == 0  # VALID


def test_activation_ranges():
    assert qm.activation_range("NONE", 0.1, 5) == (-128, 127)
    assert qm.activation_range("RELU", 0.1, 5) == (5, 127)
    assert qm.activation_range("RELU", 0.1, -128) == (-128, 127)
    assert qm.activation_range("RELU6", 0.05, -128) == (-128, -8)  # 6/0.05 = 120
    assert qm.activation_range("RELU6", 0.01, 0) == (0, 127)
    with pytest.raises(ValueError):
        qm.activation_range("TANH", 0.1, 0)


def test_add_params_follow_the_reference_recipe():
    p = qm.add_params(0.02, -3, 0.05, 7, 0.06, 1, "RELU")
    assert p.left_shift == 20 and p.input1_offset == 3 and p.input2_offset == -7 and p.output_offset == 1
    twice = 2 * float(np.float32(0.05))
    assert (p.input1_multiplier, p.input1_shift) == qm.quantize_multiplier(float(np.float32(0.02)) / twice)
    assert (p.input2_multiplier, p.input2_shift) == qm.quantize_multiplier(0.5)
    assert (p.output_multiplier, p.output_shift) == qm.quantize_multiplier(twice / ((1 << 20) * float(np.float32(0.06))))
    assert (p.act_min, p.act_max) == (1, 127)


def test_softmax_params():
    p = qm.softmax_params(1.0, 0.1)
    q, s = qm.quantize_multiplier(float(np.float32(0.1)) * (1 << 26))
    assert (p.multiplier, p.shift) == (q, s)
    assert p.diff_min == -math.floor(31 * (1 << 26) / (1 << s))
    # huge scales saturate the real multiplier at 2^31 - 1
    big = qm.softmax_params(1.0, 1000.0)
    assert big.shift == 31


def test_logistic_params():
    p = qm.logistic_params(0.05, 3)
    assert p.input_zp == 3
    q, s = math.frexp(float(np.float32(0.05)) * (1 << 27))
    assert p.input_left_shift == s
    assert p.input_range_radius == math.floor(15 * (1 << 27) / (1 << s))


def test_mean_params_fold_the_count():
    m, s = qm.mean_params(0.02, 0.01, 35)
    base_m, base_s = qm.quantize_multiplier(float(np.float32(0.02)) / float(np.float32(0.01)))
    assert s == base_s - 5 and m == (base_m << 5) // 35


@pytest.mark.toolchain
def test_c_fixed_point_primitives_match_python(tmp_path):
    """firmware/cmsis_nn/edgeq/edgeq_fixedpoint.h == edgeq.quantmath on random and edge operands."""
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    repo = Path(__file__).resolve().parents[1]
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2",
                    f"-I{repo / 'firmware' / 'cmsis_nn' / 'edgeq'}", str(Path(__file__).parent / "c" / "fixedpoint_probe.c"),
                    "-o", str(exe)], check=True)
    rng = np.random.default_rng(9)
    edges = [-(1 << 31), (1 << 31) - 1, 0, 1, -1, 1 << 30, -(1 << 30), 3, -3]
    lines, want = [], []
    for _ in range(4000):
        a = int(rng.choice(edges)) if rng.random() < 0.1 else int(rng.integers(-(1 << 31), 1 << 31))
        b = int(rng.choice(edges)) if rng.random() < 0.1 else int(rng.integers(-(1 << 31), 1 << 31))
        lines.append(f"srdhm {a} {b} 0")
        want.append(qm.srdhm(a, b))
        e = int(rng.integers(0, 32))
        lines.append(f"rdbpot {a} {e} 0")
        want.append(qm.rdbpot(a, e))
        m, s = qm.quantize_multiplier(float(np.exp(rng.uniform(-25, 4))))
        x = int(rng.integers(-(1 << 24), 1 << 24)) if s > 0 else a
        lines.append(f"mbqm {x} {m} {s}")
        want.append(qm.multiply_by_quantized_multiplier(x, m, s))
    out = subprocess.run([str(exe)], input="\n".join(lines), capture_output=True, text=True, check=True).stdout
    got = [int(v) for v in out.split()]
    bad = [(ln, g, w) for ln, g, w in zip(lines, got, want) if g != w]
    assert not bad, bad[:5]
