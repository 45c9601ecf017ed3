"""Models with several inputs and outputs, end to end through the CLI: a two-input model (an 8×8
digit image + a vector of 4 features → concatenated → Dense) and a two-output model (a digit
classifier head + a regression head predicting the image's mean intensity), both trained briefly
here on scikit-learn's digits (nothing downloaded).

Every expectation is computed independently of the code under test: float outputs by Keras,
quantized outputs by the TFLM interpreter run from the test harness on inputs quantized here, the
device's bytes read back from results.jsonl, the metrics with numpy."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from _codegen_harness import tflm_run_many
from conftest import require_tool
from edgeq import data
from edgeq.cli import app
from edgeq.errors import InputError

N_TRAIN = 1400
BOARD = "qemu-mps2-an386"


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def out_json(r) -> dict:
    """The --json document on stdout. In-process, what TensorFlow prints while exporting (the CLI
    sends it to a log at the file-descriptor level) lands in the runner's stdout before it."""
    lines = r.stdout.splitlines()
    return json.loads("\n".join(lines[lines.index("{"):]))


def _features(x: np.ndarray) -> np.ndarray:
    """Mean intensity of the four 4×4 quadrants: a second, differently shaped input."""
    return np.stack([x[:, :4, :4].mean((1, 2, 3)), x[:, :4, 4:].mean((1, 2, 3)),
                     x[:, 4:, :4].mean((1, 2, 3)), x[:, 4:, 4:].mean((1, 2, 3))], 1).astype(np.float32)


@pytest.fixture(scope="module")
def mio(tmp_path_factory):
    """Both models trained and saved, their train/test data files, and the Keras models."""
    import keras
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("multi_io")
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    y = d.target.astype(np.int64)
    feat = _features(x)
    ink = x.reshape(len(x), -1).mean(1, keepdims=True).astype(np.float32)
    keras.utils.set_random_seed(0)

    img = keras.Input((8, 8, 1), name="image")
    f = keras.Input((4,), name="features")
    h = keras.layers.Flatten()(keras.layers.Conv2D(8, 3, activation="relu")(img))
    h = keras.layers.Concatenate()([h, keras.layers.Dense(8, activation="relu")(f)])
    two_in = keras.Model([img, f], keras.layers.Dense(10, activation="softmax", name="digit")(h))
    two_in.compile("adam", "sparse_categorical_crossentropy")
    two_in.fit([x[:N_TRAIN], feat[:N_TRAIN]], y[:N_TRAIN], epochs=12, batch_size=32, verbose=0)

    img = keras.Input((8, 8, 1), name="image")
    h = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(
        keras.layers.Conv2D(4, 3, activation="relu")(img)))
    two_out = keras.Model(img, [keras.layers.Dense(10, activation="softmax", name="digit")(h),
                                keras.layers.Dense(1, name="ink")(h)])
    two_out.compile("adam", ["sparse_categorical_crossentropy", "mse"])
    two_out.fit(x[:N_TRAIN], [y[:N_TRAIN], ink[:N_TRAIN]], epochs=12, batch_size=32, verbose=0)

    p = {"root": root, "two_in": root / "two_in.keras", "two_out": root / "two_out.keras"}
    two_in.save(p["two_in"])
    two_out.save(p["two_out"])
    te = slice(N_TRAIN, None)
    # train files use the x0/x1, y0/y1 keys; test files name the arrays after the model's
    # inputs (image, features) and outputs (digit, ink)
    np.savez(root / "two_in_train.npz", x0=x[:N_TRAIN], x1=feat[:N_TRAIN], y=y[:N_TRAIN])
    np.savez(root / "two_in_test.npz", image=x[te], features=feat[te], y=y[te])
    np.savez(root / "two_out_train.npz", x=x[:N_TRAIN], y0=y[:N_TRAIN], y1=ink[:N_TRAIN])
    np.savez(root / "two_out_test.npz", x=x[te], digit=y[te], ink=ink[te])
    p["test"] = {"x": x[te], "feat": feat[te], "y": y[te], "ink": ink[te]}
    p["keras"] = {"two_in": two_in, "two_out": two_out}
    return p


@pytest.fixture(scope="module")
def converted(mio):
    """Both models converted by `edgeq convert --json`: name → (tflite path, JSON output)."""
    out = {}
    for name in ("two_in", "two_out"):
        tfl = mio["root"] / f"{name}.tflite"
        r = cli("convert", mio[name], "--calib", mio["root"] / f"{name}_train.npz", "-o", tfl,
                "--samples", 200, "--json")
        assert r.exit_code == 0, r.output
        out[name] = (tfl, out_json(r))
    return out


def _quantize(x: np.ndarray, t) -> np.ndarray:
    """float → the tensor's int8 (round half away from zero, saturate), done here with numpy."""
    v = x.astype(np.float64) / float(t.quant.scales[0])
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + int(t.quant.zero_points[0])
    return np.clip(q, -128, 127).astype(np.int8).reshape((len(x),) + tuple(t.shape[1:]))


def _tflm(tflite: Path, xs: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(raw int8 outputs, outputs in float units) of the TFLM interpreter, per output."""
    from edgeq.graph import load_graph

    g = load_graph(tflite)
    qs = [_quantize(x, g.tensor(i)) for x, i in zip(xs, g.inputs)]
    raw = tflm_run_many([(tflite.read_bytes(), qs, len(g.outputs))])[0]
    outs = [g.tensor(i) for i in g.outputs]
    real = [(r.astype(np.float64) - int(t.quant.zero_points[0])) * float(t.quant.scales[0]) for r, t in zip(raw, outs)]
    return raw, real


# ----------------------------------------------------------------------------------- data (unit)

@pytest.mark.unit
def test_data_several_inputs_every_format(tmp_path):
    rng = np.random.default_rng(0)
    a, b, y = rng.random((5, 3, 2), dtype=np.float32), rng.random((5, 4), dtype=np.float32), np.arange(5)
    ins = [("image", (3, 2)), ("features", (4,))]
    np.savez(tmp_path / "k.npz", x0=a, x1=b, y=y)
    np.savez(tmp_path / "n.npz", image=a, features=b)
    (tmp_path / "m.py").write_text(textwrap.dedent("""
        import numpy as np
        rng = np.random.default_rng(0)
        a, b, y = rng.random((5, 3, 2), dtype=np.float32), rng.random((5, 4), dtype=np.float32), np.arange(5)
        def pair(): return (a, b), y
        def plain(): return [a, b]
        def as_dict(): return {"x0": a, "x1": b, "y": y}
    """))
    for spec, labelled in (("k.npz", True), ("n.npz", False), ("m.py:pair", True), ("m.py:plain", False),
                           ("m.py:as_dict", True)):
        ds = data.load(str(tmp_path / spec), inputs=ins, outputs=["digit"])
        assert [x.shape for x in ds.inputs] == [(5, 3, 2), (5, 4)], spec
        assert np.array_equal(ds.inputs[0], a) and np.array_equal(ds.inputs[1], b), spec
        assert (ds.y is not None) == labelled and (not labelled or np.array_equal(ds.y, y)), spec
        sub = ds.subset(3, seed=1)
        idx = data.subset_indices(5, 3, 1)
        assert np.array_equal(sub.inputs[1], b[idx]) and np.array_equal(sub.inputs[0], a[idx])
    with pytest.raises(InputError, match=r"needs \.npz data"):  # one-input formats refuse clearly
        np.save(tmp_path / "x.npy", a)
        data.load(str(tmp_path / "x.npy"), inputs=ins)


@pytest.mark.unit
def test_data_several_outputs_labels(tmp_path):
    x = np.zeros((4, 2), np.float32)
    np.savez(tmp_path / "a.npz", x=x, y0=np.arange(4), y1=np.ones((4, 1)))
    np.savez(tmp_path / "b.npz", x=x, ink=np.ones((4, 1)))  # only the second output labelled, by name
    ds = data.load(str(tmp_path / "a.npz"), (2,), outputs=["digit", "ink"])
    assert np.array_equal(ds.labels[0], np.arange(4)) and ds.labels[1].shape == (4, 1)
    ds = data.load(str(tmp_path / "b.npz"), (2,), outputs=["digit", "ink"])
    assert ds.labels[0] is None and ds.labels[1].shape == (4, 1)
    np.savez(tmp_path / "c.npz", x=x, y0=np.arange(3))
    with pytest.raises(InputError, match="4 samples but 3 labels of output 0"):
        data.load(str(tmp_path / "c.npz"), (2,), outputs=["digit", "ink"])


# ------------------------------------------------------------------------- convert, evaluate (CLI)

@pytest.mark.slow
def test_convert_keeps_the_keras_input_output_order(converted):
    # the converter orders inputs by name and outputs in reverse; edgeq puts them back
    m = converted["two_in"][1]
    assert [t["shape"] for t in m["io"]["inputs"]] == [[1, 8, 8, 1], [1, 4]]
    assert "image" in m["io"]["inputs"][0]["name"] and "features" in m["io"]["inputs"][1]["name"]
    m = converted["two_out"][1]
    assert [t["shape"] for t in m["io"]["outputs"]] == [[1, 10], [1, 1]]
    assert m["calibration"]["samples_used"] == 200


@pytest.mark.slow
def test_evaluate_per_output_metrics_match_numpy(mio, converted):
    t = mio["test"]
    # two inputs, one output: the classic single-output evaluation, fed both inputs
    tfl = converted["two_in"][0]
    r = cli("evaluate", mio["two_in"], tfl, "--data", mio["root"] / "two_in_test.npz", "--json")
    assert r.exit_code == 0, r.output
    ev = out_json(r)
    fl = mio["keras"]["two_in"].predict([t["x"], t["feat"]], verbose=0)
    _, (q,) = _tflm(tfl, [t["x"], t["feat"]])
    assert ev["task"] == "classification" and len(ev["outputs"]) == 1 and ev["reference"] == "TFLM"
    assert ev["metrics"]["float_accuracy"] == pytest.approx(np.mean(fl.argmax(1) == t["y"]))
    assert ev["metrics"]["int8_accuracy"] == pytest.approx(np.mean(q.argmax(1) == t["y"]))
    assert ev["metrics"]["int8_accuracy"] > 0.8  # both inputs reach their own input tensor

    # one input, two outputs: one entry per output
    tfl = converted["two_out"][0]
    r = cli("evaluate", mio["two_out"], tfl, "--data", mio["root"] / "two_out_test.npz", "--json")
    assert r.exit_code == 0, r.output
    ev = out_json(r)
    f_digit, f_ink = mio["keras"]["two_out"].predict(t["x"], verbose=0)
    _, (q_digit, q_ink) = _tflm(tfl, [t["x"]])
    digit, ink = ev["outputs"]
    assert ev["task"] == "multi-output" and (digit["name"], ink["name"]) == ("digit", "ink")
    assert (digit["task"], ink["task"]) == ("classification", "regression")
    assert digit["metrics"]["float_accuracy"] == pytest.approx(np.mean(f_digit.argmax(1) == t["y"]))
    assert digit["metrics"]["int8_accuracy"] == pytest.approx(np.mean(q_digit.argmax(1) == t["y"]))
    assert digit["metrics"]["int8_accuracy"] > 0.8
    assert ink["metrics"]["int8_mse"] == pytest.approx(np.mean((q_ink - t["ink"]) ** 2), rel=1e-4)
    assert ink["metrics"]["float_mae"] == pytest.approx(np.mean(np.abs(f_ink - t["ink"])), rel=1e-4)
    err = q_ink - f_ink
    assert ink["metrics"]["output_sqnr_db"] == pytest.approx(10 * np.log10(np.mean(f_ink.astype(np.float64) ** 2)
                                                                           / np.mean(err ** 2)), rel=1e-3)
    assert ev["drop_pp"] == digit["drop_pp"]
    # the human table: one row per output, at a glance
    r = cli("evaluate", mio["two_out"], tfl, "--data", mio["root"] / "two_out_test.npz")
    assert r.exit_code == 0, r.output
    assert "0 digit" in r.output and "1 ink" in r.output and "accuracy" in r.output and "MSE" in r.output
    # the gate applies to the classifier output
    r = cli("evaluate", mio["two_out"], tfl, "--data", mio["root"] / "two_out_test.npz", "--max-drop",
            digit["drop_pp"] - 0.5)
    assert r.exit_code == 1 and "exceeds --max-drop" in r.output


@pytest.mark.slow
def test_a_model_with_an_op_held_to_tflite_runs_in_the_tflite_reference(mio, converted, monkeypatch):
    """An op whose registry row says reference == TFLite (an op TFLM lacks) sends the whole model
    to the desktop interpreter's reference kernels; here FULLY_CONNECTED is declared so. The run
    must equal the TFLite interpreter with BUILTIN_REF run here."""
    from dataclasses import replace

    from edgeq import ops, reference
    from edgeq.graph import load_graph

    rows = dict(ops.registry())
    rows["FULLY_CONNECTED"] = replace(rows["FULLY_CONNECTED"], reference=ops.TFLITE)
    monkeypatch.setattr(ops, "_REGISTRY", rows)
    tfl = converted["two_out"][0]
    x = mio["test"]["x"][:40]
    assert reference.reference_for(tfl.read_bytes()) == ops.TFLITE
    run = reference.run_tflm(tfl.read_bytes(), x)
    assert run.reference == ops.TFLITE and len(run.outputs_qs) == 2
    import tensorflow as tf

    it = tf.lite.Interpreter(model_content=tfl.read_bytes(),
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    (inp,), outs = it.get_input_details(), it.get_output_details()
    want = [[], []]
    for q in run.inputs_q:
        it.set_tensor(inp["index"], q[None])
        it.invoke()
        for k, d in enumerate(outs):
            want[k].append(it.get_tensor(d["index"])[0])
    assert all(np.array_equal(a, np.stack(b)) for a, b in zip(run.outputs_qs, want))
    raw, _ = _tflm(tfl, [x])
    g = load_graph(tfl)
    assert np.array_equal(run.inputs_q, _quantize(x, g.tensor(g.inputs[0])))
    # not TFLM's bytes: the classifier head (FC + SOFTMAX) agrees, but TFLite's reference kernels
    # differ from TFLM by a few LSB on the one-unit FULLY_CONNECTED of the regression head
    assert np.array_equal(run.outputs_qs[0], raw[0])
    assert np.abs(run.outputs_qs[1].astype(int) - raw[1]).max() <= 4
    r = cli("evaluate", mio["two_out"], tfl, "--data", mio["root"] / "two_out_test.npz", "--limit", 40, "--json")
    assert r.exit_code == 0, r.output
    assert out_json(r)["reference"] == "TFLite (reference kernels)"


@pytest.mark.slow
def test_size_check_and_generate_itemize_every_tensor(converted, tmp_path):
    tfl = converted["two_in"][0]
    r = cli("size-check", tfl, "--board", BOARD, "--json")
    assert r.exit_code == 0, r.output
    res = out_json(r)
    io = res["model"]["io"]
    assert [(t["kind"], t["index"], t["bytes"]) for t in io] == [("input", 0, 64), ("input", 1, 4), ("output", 0, 10)]
    sram = {i["name"]: i["bytes"] for i in res["sram"]["items"]}
    assert sram["harness I/O buffers"] == 64 + 4 + 10
    r = cli("size-check", tfl, "--board", BOARD)
    assert "input 1 features" in r.output
    r = cli("generate", converted["two_out"][0], "-o", tmp_path / "gen", "--name", "twoout", "--json")
    assert r.exit_code == 0, r.output
    header = (tmp_path / "gen" / "twoout.h").read_text()
    assert "#define TWOOUT_NUM_OUTPUTS 2" in header and "#define TWOOUT_OUTPUT1_BYTES 1" in header


# --------------------------------------------------------------------------- bad data (exit 2)

@pytest.mark.slow
def test_bad_data_names_the_input(mio, tmp_path):
    t = mio["test"]
    np.savez(tmp_path / "missing.npz", x0=t["x"], y=t["y"])
    np.savez(tmp_path / "shape.npz", x0=t["x"], x1=t["feat"][:, :3], y=t["y"])
    for f, want in (("missing.npz", "no array for input 1 'features'"),
                    ("shape.npz", "input 1 'features': samples have shape (3,)")):
        r = cli("convert", mio["two_in"], "--calib", tmp_path / f, "-o", tmp_path / "m.tflite")
        assert r.exit_code == 2, r.output
        assert want in " ".join(r.output.split()) and "Traceback" not in r.output
        assert not (tmp_path / "m.tflite").exists()


# ---------------------------------------------------------------------- flash-and-test (emulator)

def _device_outputs(results: Path) -> list[list[bytes]]:
    recs = sorted((json.loads(line) for line in results.read_text().splitlines()), key=lambda r: r["index"])
    return [[bytes.fromhex(h) for h in r["outputs"]] for r in recs]


@pytest.mark.emulator
def test_flash_and_test_two_inputs_bit_exact_and_resume(mio, converted, tmp_path):
    for tool in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake"):
        require_tool(tool)
    tfl = converted["two_in"][0]
    args = ["flash-and-test", tfl, "--board", BOARD, "--data", mio["root"] / "two_in_test.npz", "--limit", 24,
            "--workdir", tmp_path, "--json"]
    r = cli(*args)
    assert r.exit_code == 0, r.output
    rep = out_json(r)
    assert rep["samples"] == 24 and rep["bit_exact_rate"] == 1.0 and rep["mismatch_count"] == 0
    # independently: the device's bytes equal TFLM's on the same samples, both inputs quantized here
    idx = data.subset_indices(len(mio["test"]["y"]), 24, 0)
    raw, _ = _tflm(tfl, [mio["test"]["x"][idx], mio["test"]["feat"][idx]])
    dev = _device_outputs(tmp_path / "results.jsonl")
    assert [o[0] for o in dev] == [raw[0][i].tobytes() for i in range(24)]
    acc = np.mean([np.frombuffer(o[0], np.int8).argmax() == y for o, y in zip(dev, mio["test"]["y"][idx])])
    assert rep["device_accuracy"] == pytest.approx(acc) and rep["outputs"][0]["device_accuracy"] == pytest.approx(acc)
    assert acc > 0.75
    before = (tmp_path / "results.jsonl").read_text()
    r = cli(*args, "--resume")  # everything recorded: nothing re-run, same report
    assert r.exit_code == 0, r.output
    assert (tmp_path / "results.jsonl").read_text() == before
    assert out_json(r)["bit_exact_rate"] == 1.0


@pytest.mark.emulator
def test_flash_and_test_two_outputs_from_keras(mio, tmp_path):
    for tool in ("qemu-system-arm", "arm-none-eabi-gcc", "cmake"):
        require_tool(tool)
    r = cli("flash-and-test", mio["two_out"], "--board", BOARD, "--data", mio["root"] / "two_out_test.npz",
            "--calib", mio["root"] / "two_out_train.npz", "--limit", 24, "--workdir", tmp_path, "--json")
    assert r.exit_code == 0, r.output
    rep = out_json(r)
    assert rep["bit_exact_rate"] == 1.0 and [o["name"] for o in rep["outputs"]] == ["digit", "ink"]
    assert all(o["bit_exact_rate"] == 1.0 for o in rep["outputs"])
    idx = data.subset_indices(len(mio["test"]["y"]), 24, 0)
    tfl = tmp_path / "two_out.tflite"
    raw, real = _tflm(tfl, [mio["test"]["x"][idx]])
    dev = _device_outputs(tmp_path / "results.jsonl")
    for k in (0, 1):  # every output byte of every sample
        assert [o[k] for o in dev] == [raw[k][i].tobytes() for i in range(24)]
    digit, ink = rep["outputs"]
    y, target = mio["test"]["y"][idx], mio["test"]["ink"][idx]
    f_digit, f_ink = mio["keras"]["two_out"].predict(mio["test"]["x"][idx], verbose=0)
    assert digit["device_accuracy"] == pytest.approx(np.mean(real[0].argmax(1) == y))
    assert digit["float_accuracy"] == pytest.approx(np.mean(f_digit.argmax(1) == y))
    assert ink["device_mse"] == pytest.approx(np.mean((real[1] - target) ** 2), rel=1e-5)
    assert ink["float_mse"] == pytest.approx(np.mean((f_ink - target) ** 2), rel=1e-4)
    assert rep["float_vs_device_drop_pp"] == digit["float_vs_device_drop_pp"]
