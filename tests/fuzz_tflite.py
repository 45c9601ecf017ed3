"""A seeded mutation fuzzer for edgeq's model-reading stages (parser, size-check, generate).

Mutations of small valid models (tests/data/fuzz_seeds): byte flips, truncations, 32-bit words
overwritten with boundary values (offsets, lengths, dims, indices), and float32 scales replaced
by 0 / negative / NaN / inf / huge values. Every case must end in a valid result or edgeq's own
error (``EdgeqError``), within a time bound: anything else is a crash.

    python tests/fuzz_tflite.py --cases 100000 [--seed 1]      # the long run (README: reliability)
"""

from __future__ import annotations

import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SEEDS = Path(__file__).resolve().parent / "data" / "fuzz_seeds"
CORPUS = Path(__file__).resolve().parent / "data" / "fuzz_corpus"
WORDS = [0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
         0xFFFFFFFF, 0xFFFFFFFE, 0x10000, 0x1000000]
FLOATS = [0.0, -0.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e38, 1e-45, 3.4e38, -1e-3, 1e20]


def seeds() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(SEEDS.glob("*.tflite"))}


def _float_positions(buf: bytes) -> list[int]:
    """Offsets of plausible quantization scales: aligned float32 in (1e-9, 10)."""
    out = []
    for off in range(8, len(buf) - 3, 4):
        (v,) = struct.unpack_from("<f", buf, off)
        if 1e-9 < v < 10.0:
            out.append(off)
    return out


def mutate(buf: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(buf)
    kind = int(rng.integers(0, 5))
    n = len(b)
    if kind == 0:  # flip a few random bytes
        for _ in range(int(rng.integers(1, 9))):
            b[int(rng.integers(8, n))] ^= int(rng.integers(1, 256))
    elif kind == 1:  # truncate
        b = b[:int(rng.integers(0, n))]
    elif kind == 2:  # a 32-bit word → a boundary value
        for _ in range(int(rng.integers(1, 4))):
            off = int(rng.integers(0, (n - 4) // 4)) * 4
            struct.pack_into("<I", b, off, WORDS[int(rng.integers(0, len(WORDS)))])
    elif kind == 3:  # a scale → a hostile float
        pos = _float_positions(buf)
        if pos:
            for _ in range(int(rng.integers(1, 3))):
                off = pos[int(rng.integers(0, len(pos)))]
                struct.pack_into("<f", b, off, FLOATS[int(rng.integers(0, len(FLOATS)))])
    else:  # a small integer (dims, indices, zero points) nudged
        off = int(rng.integers(0, (n - 4) // 4)) * 4
        (v,) = struct.unpack_from("<i", b, off)
        if -70000 < v < 70000:
            struct.pack_into("<i", b, off, v + int(rng.choice([-300, -129, -2, -1, 1, 2, 128, 300, 65536])))
        else:
            b[off] ^= 0xFF
    return bytes(b)


@dataclass
class Outcome:
    cases: int = 0
    ok: int = 0
    refused: int = 0
    crashes: list = field(default_factory=list)  # (seed name, case index, exception repr, bytes)
    slowest: float = 0.0


def run_case(buf: bytes) -> str:
    """Parse, size-check and lower+render one model. Returns "ok" or "refused"; raises on a crash."""
    from edgeq.codegen.lower import lower
    from edgeq.codegen.render import render
    from edgeq.errors import EdgeqError
    from edgeq.graph import load_graph
    from edgeq.sizecheck import size_check

    try:
        g = load_graph(buf, check_supported=True)
        size_check(g, None, flash_budget=1 << 20, sram_budget=1 << 20)
        render(lower(g, name="m"), "m", "fuzz.tflite")
        return "ok"
    except EdgeqError:
        return "refused"


def fuzz(cases: int, seed: int = 0, time_limit: float = 5.0) -> Outcome:
    base = seeds()
    names = sorted(base)
    rng = np.random.default_rng(seed)
    res = Outcome()
    for k in range(cases):
        name = names[k % len(names)]
        buf = mutate(base[name], rng)
        t0 = time.perf_counter()
        try:
            verdict = run_case(buf)
        except Exception as e:  # noqa: BLE001 — a crash is what we are looking for
            res.crashes.append((name, k, f"{type(e).__name__}: {e}"[:300], buf))
            verdict = "crash"
        dt = time.perf_counter() - t0
        res.slowest = max(res.slowest, dt)
        if dt > time_limit:
            res.crashes.append((name, k, f"slow: {dt:.1f} s", buf))
        res.cases += 1
        res.ok += verdict == "ok"
        res.refused += verdict == "refused"
    return res


if __name__ == "__main__":
    import argparse
    import resource

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", type=Path, help="write crashing inputs into this folder")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    t0 = time.time()
    r = fuzz(a.cases, a.seed)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{r.cases} cases in {time.time() - t0:.0f} s: {r.ok} generated, {r.refused} refused with edgeq's "
          f"error, {len(r.crashes)} crashes; slowest case {r.slowest:.2f} s; peak RSS {rss} MiB")
    kinds: dict[str, int] = {}
    for name, k, what, buf in r.crashes:
        kinds[what.split(":")[0]] = kinds.get(what.split(":")[0], 0) + 1
        if a.save:
            a.save.mkdir(parents=True, exist_ok=True)
            (a.save / f"{name}-{a.seed}-{k}.tflite").write_bytes(buf)
    for name, k, what, _ in r.crashes[:20]:
        print(f"  {name} case {k}: {what}")
    print("crash kinds:", kinds)
    sys.exit(1 if r.crashes else 0)
