"""4-bit weight storage (`edgeq generate --pack-weights auto`): int4 weights (arm_*_s4, packed
nibbles) and clustered weights (4-bit indices + int8 tables, edgeq_*_lut_s8) against TFLM,
byte for byte. The models are ordinary int8 .tflite files whose conv / depthwise / fully
connected weight bytes were overwritten with values that fit 4 bits (tests/_weight_patch.py):
unmodified TFLM runs them, and that is the reference.

Shapes: odd element counts (the last nibble half-filled), channel tails, padding, strides,
dilation, depth multiplier 2, 1x1 (strided too), fully connected with several batches. On the
host (portable build and the emulated DSP build), the virtual Cortex-M4 and the Cortex-M55.
"""

from __future__ import annotations

import hashlib
import inspect
import os

import numpy as np
import pytest

from _codegen_harness import HostBuilder, assert_bit_exact, convert_keras, qemu_run, random_inputs, tflm_run_many
from _weight_patch import patch_weights
from conftest import require_tool


def _u(lo, hi, shape):
    return lambda rng: [rng.uniform(lo, hi, shape).astype(np.float32)]


def packed_edges():
    import keras
    from keras import layers as L
    x = keras.Input((7, 5, 19), batch_size=1)
    small = L.Conv2D(5, 1)(x)
    outs = [
        L.Conv2D(7, 3, padding="same", activation="relu")(x),  # 7 x 171 weights: odd count
        L.Conv2D(8, 3, strides=2, padding="same")(x),
        L.Conv2D(4, (2, 3), dilation_rate=2, padding="same", use_bias=False)(x),
        L.Conv2D(33, 1)(x),  # 1x1
        L.Conv2D(19, 1, strides=2, activation="relu6")(x),  # strided 1x1
        L.DepthwiseConv2D(3, padding="same", activation="relu")(x),  # 171 weights
        L.DepthwiseConv2D(3, strides=2, padding="valid", depth_multiplier=2)(x),
        L.DepthwiseConv2D((3, 2), dilation_rate=2, padding="same")(x),
        L.DepthwiseConv2D(5, strides=(1, 2), padding="same", use_bias=False)(small),
        L.Conv2D(15, 3, groups=5, padding="same")(small),  # 3 per group: quads / pairs stop at groups
        L.Dense(11)(L.Flatten()(x)),
        L.Dense(7)(L.Reshape((35, 19))(x)),  # 35 batches, 133 weights
    ]
    return keras.Model(x, outs), _u(-1, 2, (1, 7, 5, 19)), "int8"


@pytest.fixture(scope="module")
def base_tflite(request) -> bytes:
    import tensorflow as tf

    key = hashlib.sha256(f"{tf.__version__}\n{inspect.getsource(packed_edges)}".encode()).hexdigest()[:16]
    path = request.config.cache.mkdir("edgeq_packed_weights") / f"packed_edges-{key}.tflite"
    if not path.exists():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        keras.utils.set_random_seed(5)
        model, data_fn, io = packed_edges()
        path.write_bytes(convert_keras(model, data_fn, io))
    return path.read_bytes()


MIXES = {"int4": "int4", "tensor": "tensor", "channel": "channel", "mixed": ["int4", "tensor", "channel", "int8"]}


def _precisions(buf: bytes, mode="auto") -> list[str]:
    from edgeq.codegen.packed_weights import layer_weights
    from edgeq.graph import load_graph

    g = load_graph(buf)
    return [lw[0] for op in g.operators if (lw := layer_weights(g, op, mode)) is not None]


def test_pack_nibbles_order_and_decode():
    """CMSIS-NN's s4 order (even element in the low nibble; an odd count leaves a 0 high nibble),
    and every packing decodes back to the int8 values."""
    from edgeq.codegen.packed_weights import choose_packing, decode, pack_nibbles

    assert pack_nibbles(np.array([1, 2, 3])).tolist() == [0x21, 0x03]
    rng = np.random.default_rng(0)
    w4 = rng.integers(-8, 8, (5, 3, 3, 7)).astype(np.int8)
    p = choose_packing(w4, 0)
    assert p.precision == "int4" and p.codes.size == (w4.size + 1) // 2
    assert (decode(p, w4.shape, 0) == w4).all()
    levels = np.array([-100, -3, 0, 9, 127], np.int8)
    wt = levels[rng.integers(0, 5, (6, 40))]
    p = choose_packing(wt, 0)
    assert p.precision == "clustered" and p.table_stride == 0 and (decode(p, wt.shape, 0) == wt).all()
    wc = (rng.integers(0, 16, (1, 3, 3, 40)) * 7 + np.arange(40) % 9 - 60).astype(np.int8)  # per channel (axis 3)
    wc = np.repeat(wc, 8, axis=1)  # 24 taps a channel: a table per channel pays off
    p = choose_packing(wc, 3)
    assert p.precision == "clustered" and p.table_stride == 16 and (decode(p, wc.shape, 3) == wc).all()
    small = levels[rng.integers(0, 5, (2, 9))]  # 18 values: a 16-byte table would not pay off
    assert choose_packing(small, 0) is None
    assert choose_packing(rng.integers(-128, 128, (4, 50)).astype(np.int8), 0) is None


@pytest.fixture(scope="module")
def builders(tmp_path_factory):
    root = tmp_path_factory.mktemp("packed")
    # "dsp-small": a 64-byte decode buffer, so the conv / depthwise kernels decode a few output
    # channels per chunk (tails of 1-2 channels) and layers whose filter does not fit take the
    # decode-in-the-dot-product fallback
    return {"portable": HostBuilder(root / "portable"), "dsp": HostBuilder(root / "dsp", defines=("EDGEQ_EMULATE_DSP",)),
            "dsp-small": HostBuilder(root / "dsp-small", defines=("EDGEQ_EMULATE_DSP", "EDGEQ_DECODE_BYTES=64")),
            "mve": HostBuilder(root / "mve", defines=("EDGEQ_EMULATE_DSP", "EDGEQ_EMULATE_MVE"))}


@pytest.mark.toolchain
@pytest.mark.parametrize("mix", sorted(MIXES))
def test_packed_weights_bit_exact_on_host(mix, base_tflite, builders):
    from edgeq.graph import load_graph

    require_tool("gcc")
    buf = patch_weights(base_tflite, MIXES[mix])
    got = _precisions(buf)
    want = {"int4": {"int4"}, "tensor": {"clustered"}, "channel": {"clustered", "int8"},
            "mixed": {"int4", "clustered", "int8"}}[mix]
    assert set(got) == want, got
    assert set(_precisions(buf, "off")) == {"int8"}
    g = load_graph(buf)
    inputs = random_inputs(g, 24, seed=3)
    ref = tflm_run_many([(buf, inputs, len(g.outputs))])[0]
    for variant, b in builders.items():
        host = b.build(buf, name=f"p_{mix}")
        src = (host.gen_dir / f"p_{mix}.c").read_text()
        if "int4" in got:
            assert "_s4(" in src
        if "clustered" in got:
            assert "_lut_s8(" in src
        assert_bit_exact(f"{mix} weights ({variant})", host.run(inputs), ref)


@pytest.mark.toolchain
def _prepared_surplus(g, pack_weights: str) -> int:
    """What the per-core prepared copies of int8 weights (the DSP / Helium 3x3 depthwise blocks)
    add to generate's data_bytes (it counts the largest of an array set and its replacements)."""
    from edgeq.codegen.lower import lower

    return lower(g, "m", pack_weights=pack_weights).replacement_surplus


def test_pack_weights_off_and_flash(base_tflite, tmp_path):
    """--pack-weights off keeps int8 arrays (and says so in the banner); auto stores int4 in about
    half the bytes."""
    from edgeq.codegen import generate

    buf = patch_weights(base_tflite, "int4")
    on = generate(buf, tmp_path / "on", name="m")
    off = generate(buf, tmp_path / "off", name="m", pack_weights="off")
    from edgeq.graph import load_graph

    g = load_graph(buf)
    layers = [op for op in g.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert off.weight_precisions == {"int8": len(layers)} and on.weight_precisions == {"int4": len(layers)}
    assert "--pack-weights off" in (tmp_path / "off" / "m.c").read_text()
    assert "--pack-weights" not in (tmp_path / "on" / "m.c").read_text()
    w8 = sum(g.tensors[op.inputs[1]].nbytes for op in layers)
    saved = (off.data_bytes - _prepared_surplus(g, "off")) - (on.data_bytes - _prepared_surplus(g, "auto"))
    assert saved == sum(g.tensors[op.inputs[1]].nbytes // 2 for op in layers), (saved, w8)


def test_pack_weights_bad_mode(base_tflite, tmp_path):
    from edgeq.codegen import generate
    from edgeq.errors import InputError

    with pytest.raises(InputError, match="--pack-weights"):
        generate(base_tflite, tmp_path / "x", name="m", pack_weights="int4")


@pytest.mark.emulator
@pytest.mark.parametrize("board", ["qemu-mps2-an386", "qemu-mps3-an547"])
def test_packed_weights_bit_exact_on_board(board, base_tflite, tmp_path):
    """The mixed model (int4, clustered per tensor and per channel, int8) on the virtual
    Cortex-M4 and Cortex-M55."""
    from edgeq.graph import load_graph

    buf = patch_weights(base_tflite, MIXES["mixed"])
    g = load_graph(buf)
    inputs = random_inputs(g, 3, seed=4)
    ref = tflm_run_many([(buf, inputs, len(g.outputs))])[0]
    got = qemu_run(buf, inputs, tmp_path, board=board, name="packed")
    assert_bit_exact(f"mixed packed weights ({board})", got, ref)


def test_size_check_weights_by_precision(base_tflite, tmp_path):
    """size-check counts weights as generate stores them: per layer (precision, bytes) and per
    precision totals in the JSON and the table; --pack-weights off counts them as int8."""
    import json

    from typer.testing import CliRunner

    from edgeq.cli import app
    from edgeq.codegen import generate

    buf = patch_weights(base_tflite, MIXES["mixed"])
    model = tmp_path / "mixed.tflite"
    model.write_bytes(buf)
    runner = CliRunner()
    r = runner.invoke(app, ["size-check", str(model), "--flash", "1M", "--sram", "1M", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    byp = res["weights_by_precision"]
    assert set(byp) == {"int4", "clustered", "int8"}
    layers = [x for x in res["layers"] if x["weight_precision"]]
    for p, d in byp.items():
        assert d["bytes"] == sum(x["weights"] for x in layers if x["weight_precision"] == p)
    assert byp["int4"]["bytes"] == sum((x["weights_int8"] + 1) // 2 for x in layers if x["weight_precision"] == "int4")
    # the stored bytes are the generated arrays' bytes: off - auto data = what packing saved
    on = generate(buf, tmp_path / "on", name="m")
    off = generate(buf, tmp_path / "off", name="m", pack_weights="off")
    from edgeq.graph import load_graph

    g = load_graph(buf)
    assert (off.data_bytes - _prepared_surplus(g, "off")) - (on.data_bytes - _prepared_surplus(g, "auto")) == sum(
        d["int8_bytes"] - d["bytes"] for d in byp.values())
    r = runner.invoke(app, ["size-check", str(model), "--flash", "1M", "--sram", "1M", "--json",
                            "--pack-weights", "off"])
    assert set(json.loads(r.output)["weights_by_precision"]) == {"int8"}
    r = runner.invoke(app, ["size-check", str(model), "--flash", "1M", "--sram", "1M", "--layers"],
                      env={"COLUMNS": "160"})
    assert r.exit_code == 0 and "weights by precision: clustered" in r.output and "int4" in r.output
    r = runner.invoke(app, ["size-check", str(model), "--flash", "1M", "--sram", "1M", "--pack-weights", "x"])
    assert r.exit_code == 2 and "--pack-weights" in r.output
    r = runner.invoke(app, ["generate", str(model), "-o", str(tmp_path / "g"), "--pack-weights", "off", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["pack_weights"] == "off"


def test_report_weight_flash(base_tflite):
    """The report's memory section lists weight flash per layer and per precision (as generated)."""
    from edgeq.graph import load_graph
    from edgeq.report import weight_flash

    buf = patch_weights(base_tflite, MIXES["mixed"])
    wf = weight_flash(load_graph(buf))
    assert set(wf["by_precision"]) == {"int4", "clustered", "int8"}
    assert wf["bytes"] == sum(d["bytes"] for d in wf["by_precision"].values()) < wf["int8_bytes"]
    assert [r["precision"] for r in wf["layers"]] == _precisions(buf)


def test_int4_with_upstream_kernels_is_refused_clearly(base_tflite, tmp_path):
    """Upstream CMSIS-NN's s4 kernels want scratch the plan does not reserve: generate refuses
    int4 layers with --kernels cmsis-nn (naming one, suggesting --pack-weights off) and writes
    nothing; with --pack-weights off, or clustered weights only, it generates."""
    from test_codegen_models import _fake_cmsis_nn_checkout

    from edgeq.codegen import generate
    from edgeq.errors import InputError

    nn = _fake_cmsis_nn_checkout(tmp_path / "CMSIS-NN")
    buf = patch_weights(base_tflite, "int4")
    with pytest.raises(InputError, match="int4 weights .*--kernels cmsis-nn") as e:
        generate(buf, tmp_path / "x", name="m", kernels="cmsis-nn", cmsis_nn_dir=nn)
    assert "--pack-weights off" in str(e.value.hint) and not (tmp_path / "x").exists()
    off = generate(buf, tmp_path / "off", name="m", kernels="cmsis-nn", cmsis_nn_dir=nn, pack_weights="off")
    assert set(off.weight_precisions) == {"int8"}
    lut = generate(patch_weights(base_tflite, "tensor"), tmp_path / "lut", name="m", kernels="cmsis-nn",
                   cmsis_nn_dir=nn)
    assert "int4" not in lut.weight_precisions and lut.weight_precisions.get("clustered")
