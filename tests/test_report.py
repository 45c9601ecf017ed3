"""`edgeq report`: one self-contained, deterministic HTML file whose tables agree with the measurements."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from conftest import DIGITS, IN_CI

MODEL = DIGITS / "digits.keras"
TEST = str(DIGITS / "test.npz")
CALIB = str(DIGITS / "train.npz")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Structure(HTMLParser):
    """Checks nesting (every opened tag closed, in order) and collects what the tests read."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.layer_ops: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}  # table id → rows of cell texts
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "tr" and a.get("class") == "layer-row":
            self.layer_ops.append(a["data-op"])
        if tag == "table":
            self._table = a.get("id")
            if self._table:
                self.tables[self._table] = []
        if tag == "tr" and self._table:
            self.tables[self._table].append([])
        if tag in ("td", "th") and self._table:
            self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at {self.getpos()}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Structure:
    p = _Structure()
    p.feed(html)
    p.close()
    return p


def _matrix(rows: list[list[str]]) -> np.ndarray:
    """The numbers of a confusion table (first row: header, first column: true class)."""
    return np.array([[int(v) for v in r[1:]] for r in rows[1:]])


@pytest.fixture(scope="module")
def built(digits_tflite, tmp_path_factory):
    from edgeq.report import build_report

    out = tmp_path_factory.mktemp("report") / "digits.html"
    res = build_report(MODEL, digits_tflite, TEST, calib_spec=CALIB, out_path=out, limit=32)
    return res, out


@pytest.mark.slow
def test_report_is_well_formed_and_self_contained(built):
    from PIL import Image

    res, out = built
    html = out.read_text(encoding="utf-8")
    assert html == res.html
    p = _parse(html)
    assert not p.errors, p.errors[:5]
    assert p.stack == [], f"unclosed tags: {p.stack}"
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    # one histogram per layer + SQNR chart + memory map + confusion matrices
    assert len(p.images) == res.images == len(res.layers) + 3 >= 10
    for src in p.images:
        assert src.startswith("data:image/png;base64,"), src[:40]
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
        img.load()
        assert img.format == "PNG"
        w, h = img.size
        assert 300 <= w <= 2000 and 150 <= h <= 2000, img.size
        lo, hi = img.convert("L").getextrema()
        assert hi - lo > 100  # not a blank image
    # provenance from the manifest convert wrote next to the .tflite
    assert res.manifest == "digits.manifest.json" and res.tflite_sha256 in html
    assert "the data the manifest records" in html
    import re

    options = re.findall(r"<tr><th>option: [^<]*</th><td>([^<]*)</td></tr>", html)
    assert options and not {"False", "True", "None", "[]", "()", "{}"} & set(options), options  # no Python reprs


@pytest.mark.slow
def test_report_tables_match_the_measurements(built, digits_tflite):
    from edgeq.graph import load_graph

    res, out = built
    p = _parse(out.read_text(encoding="utf-8"))
    # a per-layer row for every op of the model, in order
    ops = [f"#{op.index} {op.opcode}" for op in load_graph(digits_tflite).operators]
    assert p.layer_ops == [r["op"] for r in res.layers] == ops
    sqnr_cells = [row[-1] for row in p.tables["layer-table"][1:]]
    assert sqnr_cells == [f"{r['sqnr_db']:.1f}" for r in res.layers]
    # both confusion matrices: 10×10, cells summing to the test set, diagonal = accuracy
    with np.load(DIGITS / "test.npz") as d:
        n = len(d["y"])
    assert res.samples == n
    for kind in ("float", "int8"):
        m = _matrix(p.tables[f"confusion-{kind}"])
        assert m.shape == (10, 10)
        assert m.sum() == n
        assert np.trace(m) / n == pytest.approx(res.metrics[f"{kind}_accuracy"])
    # the changed-prediction list agrees with the agreement metric
    changed = round((1 - res.metrics["agreement"]) * n)
    assert f"{changed} sample(s) change their predicted class" in out.read_text(encoding="utf-8")
    # memory map section reports the planned arena
    assert f"{res.arena_bytes:,} B" in out.read_text(encoding="utf-8")
    assert 0 < res.arena_bytes and res.lower_bound > 0  # (below the bound where ops run in place)
    # the verdict comes first, before provenance: the default 1 pp threshold
    html = out.read_text(encoding="utf-8")
    assert res.verdict["passed"] == (res.drop_pp <= 1.0) and res.verdict["max_drop_pp"] == 1.0
    assert html.index('id="verdict"') < html.index('id="provenance"') and res.verdict["text"] in html


@pytest.mark.slow
def test_memory_map_labels_are_the_buffer_table_ids_and_the_confusion_figure_is_the_difference(digits_tflite):
    """The figure names buffers as the table's first column does (b<id>); the float and int8
    confusion counts are tables, so the figure shows only their difference (no duplicates)."""
    from edgeq.graph import load_graph
    from edgeq.memory import plan_memory
    from edgeq.report import _confusion_figure, _confusions, _memory_context, _memory_figure

    graph = load_graph(digits_tflite)
    plan = plan_memory(graph)
    ids = {f"b{b['id']}" for b in _memory_context(graph, plan)["buffers"]}
    labels = [t.get_text().split()[0] for t in _memory_figure(graph, plan).axes[0].texts]
    assert labels and set(labels) <= ids, (labels, ids)
    y = np.array([0, 1, 2, 2])
    c = _confusions("classification", np.eye(3)[[0, 1, 2, 2]], np.eye(3)[[0, 1, 2, 1]], y)
    c["label"] = "int8"
    fig = _confusion_figure(c)
    assert len(fig.axes) == 1 and "float" in fig.axes[0].get_title()


@pytest.mark.slow
def test_report_is_byte_identical_from_the_cli(built, digits_tflite, tmp_path):
    import json

    res, out = built
    again = tmp_path / "again.html"
    r = subprocess.run([sys.executable, "-m", "edgeq", "report", str(MODEL), str(digits_tflite), "--data", TEST,
                        "--calib", CALIB, "--limit", "32", "-o", str(again), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout)
    assert summary["html_sha256"] == res.html_sha256
    assert summary["images"] == res.images and summary["worst_layer"]["op"] in {x["op"] for x in res.layers}
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.unit
def test_report_help_is_fast():
    code = ("import sys; sys.argv = ['edgeq', 'report', '--help']\n"
            "from edgeq.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'tflite_micro', 'matplotlib') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Example" in r.stdout and "edgeq report" in r.stdout


@pytest.mark.unit
def test_manifest_of_another_model_is_ignored(tmp_path):
    from edgeq.report import _manifest

    (tmp_path / "m.tflite").write_bytes(b"x")
    (tmp_path / "m.manifest.json").write_text('{"tflite": {"sha256": "other"}}')
    notes: list[str] = []
    assert _manifest(tmp_path / "m.tflite", "mine", notes) == (None, None)
    assert "another .tflite" in notes[0]
    notes.clear()
    assert _manifest(tmp_path / "none.tflite", "mine", notes) == (None, None) and "no manifest" in notes[0]


@pytest.mark.unit
def test_confusion_matrix_counts():
    from edgeq.report import confusion_matrix

    m = confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        msg = "chromium is not installed (run `make setup`)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.mark.slow
def test_report_renders_in_a_headless_browser(built, tmp_path):
    from PIL import Image

    chromium = _chromium()
    _, out = built
    shot = tmp_path / "shot.png"
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                        "--window-size=1200,3000", out.resolve().as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = Image.open(shot).convert("L")
    assert img.size == (1200, 3000)
    a = np.asarray(img)
    ink = np.mean(a < 200)  # text, table borders, plots
    assert 0.02 < ink < 0.9, ink
    # the page is laid out top to bottom: something drawn in each third
    for part in np.array_split(a, 3):
        assert np.mean(part < 200) > 0.005
    assert re.search(rb"IHDR", shot.read_bytes()[:64])
