"""edgeq benchmark: the example models on virtual Cortex-M boards, reported as ratios.

    python bench/run.py [--boards qemu-mps2-an386,qemu-mps2-an500,qemu-mps3-an547]
                        [--models digits,kws,vww,resnet8,autoencoder] [--runs 3] [--json out/bench.json]
    python bench/run.py --models digits:16x8,kws:16x8 --boards qemu-mps2-an386   # 16x8 mode
    python bench/run.py --models mnv3,lstm_kws            # models/zoo.py: MobileNetV3-style, LSTM KWS
    python bench/run.py --models kws --boards qemu-mps2-an386 --profile   # + instructions per layer
    python bench/run.py --models vww,vww:int4,vww:clustered --boards qemu-mps2-an386   # 4-bit weights
    python bench/run.py --models kws,resnet8 --boards qemu-mps2-an386,qemu-mps3-an547 --cmsis-nn ../CMSIS-NN

For each model × board: instructions per inference (QEMU -icount: deterministic, whatever the host
load), MACs per instruction, the ratio to TFLM + CMSIS-NN on the same virtual M4 (measured
figures from shared/FACTS.md), the planned arena vs the liveness lower bound and vs the smallest
arena TFLM ran in, and flash bytes from the ELF. Seconds are never reported: machines are noisy.

With --cmsis-nn PATH (default: $EDGEQ_CMSIS_NN_DIR) every model × board is also built against that
upstream CMSIS-NN checkout (the same generated code, upstream's kernels, scratch sized for the core)
and the table puts both side by side: instructions of edgeq + CMSIS-NN, and edgeq / CMSIS-NN.

NAME:int4 / NAME:clustered: the int8 model with its conv / depthwise / fully connected weight bytes
overwritten in place (tests/_weight_patch.py: round(q / 18) clipped to [-8, 7], or q snapped to 15
multiples of 17), which `edgeq generate` stores as packed nibbles (+ a 16-entry table) and runs
with its 4-bit-weight kernels; TFLM runs the patched int8 file as the reference. Accuracy is not
meaningful for these (the weights are not retrained): they measure flash and the speed cost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# TFLM + CMSIS-NN (Cortex-M4F, -O2) on qemu mps2-an386 -icount shift=0, and the smallest arena
# TFLM ran each model in (shared/FACTS.md, "Measured here").
TFLM_CMSIS_M4_INSTRUCTIONS = {"kws": 7.70e6, "vww": 24.1e6, "resnet8": 29.9e6, "autoencoder": 0.60e6}
TFLM_MIN_ARENA = {"kws": 22_816, "vww": 100_640, "resnet8": 54_992, "autoencoder": 17_888}


def model_tflite(name: str, work: Path) -> tuple[Path, np.ndarray]:
    """NAME, or NAME:16x8 for the model converted in 16x8 mode (int16 activations)."""
    from edgeq.quantize.convert import ConvertOptions, convert_model

    base, _, mode = name.partition(":")
    if mode in ("int4", "clustered"):
        sys.path.insert(0, str(REPO / "tests"))
        from _weight_patch import patch_weights

        src, x = model_tflite(base, work)
        out = work / f"{base}-{mode}.tflite"
        out.write_bytes(patch_weights(src.read_bytes(), "int4" if mode == "int4" else "tensor"))
        return out, x
    precision = {"": "int8", "16x8": "int16x8"}[mode]
    out = work / f"{base}-{precision}.tflite"
    if base == "digits":
        with np.load(REPO / "models/digits/test.npz") as z:
            x = z["x"][:8]
        convert_model(REPO / "models/digits/digits.keras", str(REPO / "models/digits/train.npz"), out,
                      ConvertOptions(precision=precision))
        return out, x
    from models import mlperf_tiny, zoo

    family = zoo if base in zoo.NAMES else mlperf_tiny
    if not (work / f"{base}.keras").exists():
        family.build(base).save(work / f"{base}.keras")
        np.savez(work / f"{base}_calib.npz", x=family.sample_data(base, 64, seed=1))
    convert_model(work / f"{base}.keras", str(work / f"{base}_calib.npz"), out,
                  ConvertOptions(samples=64, precision=precision))
    return out, family.sample_data(base, 8, seed=2)


def measure(name: str, tflite: Path, x: np.ndarray, board_name: str, runs: int, work: Path,
            profile: bool = False, cmsis_nn: Path | None = None) -> dict:
    """One model on one board; with ``cmsis_nn`` the same model built against that upstream
    CMSIS-NN checkout instead (row["kernels"] says which); ``profile``: per-layer instructions."""
    from edgeq.boards import get_board
    from edgeq.build import build_firmware
    from edgeq.codegen import generate
    from edgeq.device.runner import run_dataset
    from edgeq.device.session import device_session
    from edgeq.graph import load_graph
    from edgeq.flash_usage import flash_usage
    from edgeq.memory import op_macs, plan_memory
    from edgeq.reference import run_tflm

    from edgeq.cmsis_nn import scratch_for_board

    board = get_board(board_name)
    graph = load_graph(tflite)
    kernels = "cmsis-nn" if cmsis_nn else "edgeq"
    scratch = scratch_for_board(kernels, board)
    plan = plan_memory(graph, variant=scratch)
    macs = sum(op_macs(graph, op) for op in graph.operators)
    symbol = name.replace(":", "_")
    tag = "_cmsis" if cmsis_nn else ""
    gen = generate(tflite, work / f"gen_{symbol}{tag}_{scratch}", name=symbol, kernels=kernels, cmsis_nn_dir=cmsis_nn,
                   scratch_variant=scratch)
    from edgeq.profile import OBSERVE_CMAKE, layers_of, profile_table

    fw = build_firmware(board, work / f"build_{board_name}{tag}", model_dir=gen.out_dir, cmsis_nn_dir=gen.cmsis_nn_dir,
                        extra_cmake=OBSERVE_CMAKE if profile else None)
    ref = run_tflm(tflite.read_bytes(), x[:runs])
    with device_session(board, fw.elf) as dev:
        recs = run_dataset(dev.client, ref.inputs_q, work / f"{symbol}_{board_name}{tag}.jsonl", icount_shift=0,
                           profile=profile)
        info = dev.client.info()
    dev_out = np.stack([r.output_arrays(info)[0] for r in recs]).reshape(ref.outputs_q.shape)
    instr = float(np.median([r.instructions for r in recs]))
    row = {"model": name, "board": board_name, "core": board.core, "kernels": kernels, "scratch": scratch,
           "instructions": instr, "macs": macs,
           "macs_per_instruction": macs / instr, "arena_bytes": gen.arena_bytes,
           "liveness_bound": plan.lower_bound, "arena_vs_bound": gen.arena_bytes / plan.lower_bound,
           "flash_bytes": fw.flash_bytes, "bit_exact": bool(np.array_equal(dev_out, ref.outputs_q)),
           "weight_bytes": flash_usage(graph).weights, "weight_precisions": dict(gen.weight_precisions)}
    if profile:  # (instructions above then include the hooks' few per layer)
        row["profile"] = profile_table(layers_of(graph, symbol), recs, info.timer_hz, info.cpu_hz, True)
    if name in TFLM_CMSIS_M4_INSTRUCTIONS:
        row["vs_tflm_cmsis_m4"] = instr / TFLM_CMSIS_M4_INSTRUCTIONS[name]
        row["arena_vs_tflm_min"] = gen.arena_bytes / TFLM_MIN_ARENA[name]
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", default="qemu-mps2-an386,qemu-mps2-an500,qemu-mps3-an547")
    ap.add_argument("--models", default="digits,kws,vww,resnet8,autoencoder,mnv3,lstm_kws")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=REPO / "out" / "bench.json")
    ap.add_argument("--profile", action="store_true", help="per-layer instructions (a build with the layer hooks)")
    ap.add_argument("--cmsis-nn", type=Path, default=os.environ.get("EDGEQ_CMSIS_NN_DIR") or None,
                    help="also build against this upstream CMSIS-NN checkout and compare (default: "
                         "$EDGEQ_CMSIS_NN_DIR)")
    args = ap.parse_args()
    cmsis_nn = None
    if args.cmsis_nn is not None:
        from edgeq.cmsis_nn import check_checkout
        from edgeq.errors import InputError

        try:
            cmsis_nn = check_checkout(args.cmsis_nn)
        except InputError as e:
            print(f"error: {e.message}" + (f"\n  hint: {e.hint}" if e.hint else ""), file=sys.stderr)
            return 2
    from rich.console import Console
    from rich.table import Table

    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeq-bench-") as tmp:
        work = Path(tmp)
        for name in args.models.split(","):
            tflite, x = model_tflite(name, work)
            for board in args.boards.split(","):
                row = measure(name, tflite, x, board, args.runs, work, profile=args.profile)
                rows.append(row)
                print(f"{name} on {board}: {row['instructions']:,.0f} instructions", file=sys.stderr)
                if cmsis_nn is not None:
                    up = measure(name, tflite, x, board, args.runs, work, cmsis_nn=cmsis_nn)
                    rows.append(up)
                    row["vs_cmsis_nn"] = row["instructions"] / up["instructions"]
                    print(f"{name} on {board} with CMSIS-NN: {up['instructions']:,.0f} instructions", file=sys.stderr)
    t = Table(title="edgeq benchmark (instructions under QEMU -icount; ratios, not seconds)")
    side = cmsis_nn is not None
    cols = ["model", "board", "instr/inference", "MAC/instr"]
    if side:
        cols += ["edgeq+CMSIS-NN instr", "edgeq/CMSIS-NN"]
    cols += ["vs TFLM+CMSIS-NN (M4)", "arena/bound", "arena/TFLM min", "weights B", "flash B", "bit-exact"]
    for c in cols:
        t.add_column(c, justify="left" if c in ("model", "board") else "right")
    upstream = {(r["model"], r["board"]): r for r in rows if r["kernels"] == "cmsis-nn"}
    for r in rows:
        if r["kernels"] != "edgeq":
            continue
        cells = [r["model"], r["board"], f"{r['instructions'] / 1e6:.2f} M", f"{r['macs_per_instruction']:.3f}"]
        if side:
            up = upstream[(r["model"], r["board"])]
            cells += [f"{up['instructions'] / 1e6:.2f} M" + ("" if up["bit_exact"] else " (NOT bit-exact)"),
                      f"{r['vs_cmsis_nn']:.2f}×"]
        cells += [f"{r['vs_tflm_cmsis_m4']:.2f}×" if "vs_tflm_cmsis_m4" in r else "-",
                  f"{r['arena_vs_bound']:.3f}", f"{r['arena_vs_tflm_min']:.3f}" if "arena_vs_tflm_min" in r else "-",
                  f"{r['weight_bytes']:,}", f"{r['flash_bytes']:,}", "yes" if r["bit_exact"] else "NO"]
        t.add_row(*cells)
    Console(width=190).print(t)
    if side:
        print(f"edgeq+CMSIS-NN: the same generated code linked against {cmsis_nn} (scratch per core: "
              "dsp, mve on Helium)", file=sys.stderr)
    if args.profile:
        from edgeq.profile import render_profile

        for r in rows:
            if r.get("profile"):
                Console(width=170).print(f"{r['model']} on {r['board']}")
                render_profile(r["profile"], Console(width=170))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    return 0 if all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
