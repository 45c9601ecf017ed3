#!/usr/bin/env python3
"""Measure the flash code that each op type pulls into real firmware; write edgeq/code_sizes.json.

    python scripts/measure_code_sizes.py            # ~6 minutes: 10 models x 3 virtual boards
    python scripts/measure_code_sizes.py cortex-m4  # one family; the others kept from the JSON

For each model (digits and the four MLPerf Tiny architectures in int8; digits, KWS and ResNet-8
in 16x8 mode too; a small model with the ops those lack, in both) and each core family (Cortex-M3
without DSP: qemu-mps2-an385; Cortex-M4 with DSP: qemu-mps2-an386; Cortex-M55: qemu-mps3-an547)
it runs `edgeq generate` and `edgeq.build.build_firmware`, then reads the linker map
(firmware.map; every function is its own input section thanks to -ffunction-sections and
--gc-sections keeps only what is referenced) and sorts each kept section by its object file:

* kernel libraries (libedgeq_nn.a, libedgeq_ops.a): attributed to an op type by function name
  (KERNEL_OWNERS below); a helper no rule claims is "shared";
* the generated model's NAME.c: the glue (straight-line calls, parameter structs), fitted by least
  squares as glue = base + per_call * calls over all builds;
* the generated NAME_data.c: weights etc. (size-check counts those exactly, so not measured here);
* everything else — the ELF's flash bytes minus all of the above — is the runtime (vector
  table, startup, UART, harness, libc/libgcc pieces).

An op type's number is the union of the kernel sections it was seen to pull in across models:
the wrappers reference every variant they can dispatch to, so the linker keeps them all.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "edgeq" / "code_sizes.json"

BOARDS = {"cortex-m3": "qemu-mps2-an385", "cortex-m4": "qemu-mps2-an386", "cortex-m55": "qemu-mps3-an547"}
MLPERF = ("kws", "vww", "resnet8", "autoencoder")
#: also measured in 16x8 mode (int16 activations): between them every int16 kernel family the
#: reference models use (conv, depthwise, FC, pools, softmax, add)
MLPERF_16X8 = ("kws", "resnet8")

#: function-name pattern → op type (first match wins); anything else in a kernel library is "shared"
KERNEL_OWNERS = [
    # the int16-activation kernels (16x8 models) first: their names also contain the int8 patterns' stems
    (r"^arm_convolve.*_s16|^edgeq_conv.*s16", "CONV_2D/int16"),
    (r"^arm_depthwise_conv.*_s16|^edgeq_dw.*s16", "DEPTHWISE_CONV_2D/int16"),
    (r"^arm_fully_connected.*_s16|^edgeq_fully_connected_s16", "FULLY_CONNECTED/int16"),
    (r"^arm_avgpool_s16", "AVERAGE_POOL_2D/int16"), (r"^arm_max_pool_s16|^edgeq_pool_s16", "MAX_POOL_2D/int16"),
    (r"^arm_softmax_s16|^edgeq_lut_s16|^edgeq_softmax_exp_s16", "SOFTMAX/int16"),
    (r"^arm_elementwise_add_s16|^edgeq_broadcast_add_s16", "ADD/int16"),
    (r"^arm_elementwise_mul_s16|^edgeq_broadcast_mul_s16", "MUL/int16"), (r"^edgeq_pad_s16", "PAD/int16"),
    (r"^edgeq_concat_s16", "CONCATENATION/int16"), (r"^edgeq_mean_s16", "MEAN/int16"),
    (r"^edgeq_logistic_s16", "LOGISTIC/int16"),
    # edgeq's own conv / depthwise routes and their helpers (not "shared": a model without the op
    # does not link them)
    (r"^edgeq_(1x1|conv|field|im2col|col_interleave)|^edgeq_mve_(convolve|conv_|1x1)", "CONV_2D"),
    (r"^edgeq_(depthwise|dw_)|^edgeq_mve_depthwise", "DEPTHWISE_CONV_2D"),
    (r"^arm_convolve.*_s8|^edgeq_convolve_1x1_s8_in_place", "CONV_2D"), (r"^arm_depthwise_conv.*_s8", "DEPTHWISE_CONV_2D"),
    (r"^arm_fully_connected_s8|^arm_fully_connected_per_channel_s8", "FULLY_CONNECTED"),
    (r"^arm_avgpool_s8", "AVERAGE_POOL_2D"), (r"^arm_max_pool_s8", "MAX_POOL_2D"),
    (r"^arm_softmax_s8", "SOFTMAX"), (r"^arm_elementwise_add_s8|^edgeq_broadcast_add_s8", "ADD"),
    (r"^arm_elementwise_mul_s8|^edgeq_broadcast_mul_s8", "MUL"), (r"^edgeq_pad", "PAD"),
    (r"^edgeq_concat", "CONCATENATION"), (r"^edgeq_mean", "MEAN"), (r"^edgeq_logistic", "LOGISTIC"),
    (r"^edgeq_quantize|^edgeq_requantize", "QUANTIZE"), (r"^edgeq_dequantize", "DEQUANTIZE"),
]

#: function-name pattern → kernel route (edgeq/codegen/routes.py, edgeq_route_guards.h): the
#: optional variants a model links only when one of its layers takes them. Checked before
#: KERNEL_OWNERS; what a route's code inlines into its entry function stays with the op type.
ROUTE_OWNERS = [
    (r"^edgeq_conv_field|^edgeq_im2col_field|^edgeq_field_", "CONV_FIELD_DSP"),
    (r"^edgeq_conv_channels|^edgeq_im2col_any", "CONV_GENERIC_DSP"),
    (r"^edgeq_1x1d_", "1X1D_DSP"), (r"^edgeq_1x1s_", "1X1S_DSP"), (r"^edgeq_1x1_pairs", "1X1_PAIRS_DSP"),
    (r"^edgeq_dw_block_prepare_3x3", "DW_3X3_DSP"), (r"^edgeq_depthwise_conv_3x3_packed", "DW_3X3_PACKED_DSP"),
    (r"^edgeq_dw_3x3|^edgeq_dw_rows3", "DW_3X3_ROWS_DSP"), (r"^edgeq_dw_row$|^edgeq_dw_pixel", "DW_GENERIC_DSP"),
    (r"^edgeq_mve_conv_small", "CONV_PAIRS_MVE"), (r"^edgeq_mve_1x1_small", "1X1_PAIRS_MVE"),
    (r"^edgeq_mve_depthwise3_rows|^edgeq_mve_dw3_", "DW_ROWS_MVE"),
]

_SECTION = re.compile(r"^ (\.(?:text|rodata)[.\w$]*)\s*(?:\n\s+)?\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", re.M)


def map_sections(map_file: Path) -> list[tuple[str, int, str]]:
    """(section, size, object) for every .text/.rodata input section kept in the image."""
    text = map_file.read_text()
    text = text[text.index("Linker script and memory map"):]
    return [(m.group(1), int(m.group(3), 16), m.group(4)) for m in _SECTION.finditer(text) if int(m.group(3), 16)]


def stack_frames(build_dir: Path) -> dict[str, int]:
    """Function → its own stack frame in bytes (gcc -fstack-usage, the EDGEQ_STACK_USAGE build)."""
    frames: dict[str, int] = {}
    for su in build_dir.rglob("*.su"):
        for line in su.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1].isdigit():
                func = parts[0].rsplit(":", 1)[-1].split(".")[0]  # (foo.isra.0, foo.part.0: foo's frame)
                frames[func] = max(frames.get(func, 0), int(parts[1]))
    return frames


def kernel_stack(frames: dict[str, int], funcs: dict[str, int]) -> int:
    """An op type's or a route's stack: the largest own frame among its linked functions
    (``funcs``: the map's kept sections). The routes' big buffers are locals of one function
    each; edgeq.flash_usage adds a route's figure to its op type's (the entry point calls it)."""
    own = [frames.get(f.split(".")[0], 0) for f in funcs]
    return max(own, default=0)


def classify(sections, name: str) -> dict:
    kernels: dict[str, dict[str, int]] = {}
    glue = data = runtime = 0
    for sec, size, obj in sections:
        func = sec.split(".", 2)[-1] if sec.count(".") >= 2 else sec
        if f"({name}_data.c.obj)" in obj:
            data += size
        elif f"({name}.c.obj)" in obj:
            glue += size
        elif "libedgeq_nn.a" in obj or "libedgeq_ops.a" in obj:
            owner = next((f"route:{r}" for pat, r in ROUTE_OWNERS if re.search(pat, func)), None)
            owner = owner or next((op for pat, op in KERNEL_OWNERS if re.search(pat, func)), "shared")
            kernels.setdefault(owner, {})[func] = size
        else:
            runtime += size
    return {"kernels": kernels, "glue": glue, "data": data, "runtime": runtime}


def op_zoo():
    """The ops no reference model has (PAD, MUL, MEAN, CONCATENATION, LOGISTIC, broadcast ADD) in
    one small model, so that their kernels are measured too."""
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(3)
    x = keras.Input((8, 8, 4), batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(x)
    y = L.Add()([L.Multiply()([x, a]), L.Conv2D(1, 1)(x)])  # the add broadcasts over channels
    y = L.Activation("sigmoid")(L.Concatenate()([y, x]))
    return keras.Model(x, L.GlobalAveragePooling2D()(L.ZeroPadding2D(1)(y)))  # one output, as convert wants


def models(work: Path) -> dict[str, Path]:
    from edgeq.quantize.convert import ConvertOptions, convert_model
    from models import mlperf_tiny
    import numpy as np

    out = {"digits": work / "digits.tflite"}
    convert_model(REPO / "models/digits/digits.keras", str(REPO / "models/digits/train.npz"), out["digits"],
                  ConvertOptions())
    for arch in MLPERF:
        mlperf_tiny.build(arch).save(work / f"{arch}.keras")
        np.savez(work / f"{arch}_calib.npz", x=mlperf_tiny.sample_data(arch, 64, seed=1))
        out[arch] = work / f"{arch}.tflite"
        convert_model(work / f"{arch}.keras", str(work / f"{arch}_calib.npz"), out[arch], ConvertOptions(samples=64))
    op_zoo().save(work / "zoo.keras")
    np.savez(work / "zoo_calib.npz", x=np.random.default_rng(1).uniform(-1, 1, (64, 8, 8, 4)).astype(np.float32))
    for mname, precision in (("zoo", "int8"), ("zoo16", "int16x8")):
        out[mname] = work / f"{mname}.tflite"
        convert_model(work / "zoo.keras", str(work / "zoo_calib.npz"), out[mname],
                      ConvertOptions(samples=64, precision=precision))
    out["digits16"] = work / "digits16.tflite"
    convert_model(REPO / "models/digits/digits.keras", str(REPO / "models/digits/train.npz"), out["digits16"],
                  ConvertOptions(precision="int16x8"))
    for arch in MLPERF_16X8:
        out[f"{arch}16"] = work / f"{arch}16.tflite"
        convert_model(work / f"{arch}.keras", str(work / f"{arch}_calib.npz"), out[f"{arch}16"],
                      ConvertOptions(samples=64, precision="int16x8"))
    return out


def main() -> None:
    import numpy as np

    from edgeq.build import build_firmware, load_board
    from edgeq.codegen import generate
    from edgeq.graph import load_graph

    families = sys.argv[1:] or list(BOARDS)
    unknown = [f for f in families if f not in BOARDS]
    if unknown:
        sys.exit(f"unknown core family {unknown[0]!r}; one of {', '.join(BOARDS)}")
    result = {"_how": __doc__.split("\n\n")[1].strip().replace("\n", " ") + " See scripts/measure_code_sizes.py.",
              "families": json.loads(OUT.read_text())["families"] if OUT.is_file() and len(families) < len(BOARDS)
              else {}}
    with tempfile.TemporaryDirectory(prefix="edgeq-codesize-") as tmp:
        work = Path(tmp)
        tfl = models(work)
        for family in families:
            board = BOARDS[family]
            union: dict[str, dict[str, int]] = {}
            stacks: dict[str, int] = {}  # op type / route:NAME → stack bytes
            callers: list[int] = []
            rows, runtimes, per_model = [], [], {}
            for mname, path in tfl.items():
                gen = generate(path, work / f"gen_{mname}", name=mname)
                # every kernel route on (the library any model could link): a route no model here
                # takes is still measured, and each op type is charged its entry as a full build has it
                routes_h = gen.out_dir / "edgeq_kernel_routes.h"
                routes_h.write_text(re.sub(r"(#define EDGEQ_NEED_\w+) 0", r"\1 1", routes_h.read_text()))
                fw = build_firmware(load_board(board), work / f"fw_{family}_{mname}", model_dir=gen.out_dir,
                                    extra_cmake={"EDGEQ_STACK_USAGE": "ON"})
                c = classify(map_sections(fw.build_dir / "firmware.map"), mname)
                frames = stack_frames(fw.build_dir)
                for op, funcs in c["kernels"].items():
                    union.setdefault(op, {}).update(funcs)
                    stacks[op] = max(stacks.get(op, 0), kernel_stack(frames, funcs))
                # the frames above the kernels: the harness's call chain down to NAME_invoke
                callers.append(sum(frames.get(f, 0) for f in ("main", "do_infer_file", "run_and_reply",
                                                              f"{mname}_invoke")))
                calls = sum(1 for op in load_graph(path).operators if op.opcode not in ("RESHAPE", "SQUEEZE"))
                rows.append((calls, c["glue"]))
                # the runtime as the rest of the image: also catches the vector table and fill bytes
                runtime = fw.flash_bytes - c["data"] - c["glue"] - sum(sum(f.values()) for f in c["kernels"].values())
                c["runtime"] = runtime
                runtimes.append(runtime)
                per_model[mname] = {"elf_flash": fw.flash_bytes, "glue": c["glue"], "runtime": c["runtime"],
                                    "data": c["data"], "calls": calls}
                print(family, mname, per_model[mname], flush=True)
            a = np.array([[1.0, n] for n, _ in rows])
            base, per_call = np.linalg.lstsq(a, np.array([g for _, g in rows], float), rcond=None)[0]
            result["families"][family] = {
                "board": board,
                "kernel_bytes": {op: sum(f.values()) for op, f in sorted(union.items())
                                 if op != "shared" and not op.startswith("route:")},
                "route_bytes": {op[6:]: sum(f.values()) for op, f in sorted(union.items()) if op.startswith("route:")},
                "kernel_stack_bytes": {op: n for op, n in sorted(stacks.items()) if not op.startswith("route:")},
                "route_stack_bytes": {op[6:]: n for op, n in sorted(stacks.items()) if op.startswith("route:")},
                "caller_stack_bytes": max(callers),
                "shared_bytes": sum(union.get("shared", {}).values()),
                "glue_base_bytes": int(round(base)), "glue_per_call_bytes": int(round(per_call)),
                "runtime_bytes": max(runtimes), "measured": per_model}
    OUT.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
