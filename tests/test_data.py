"""Data loading in every format, and every kind of bad data giving a clear InputError."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from edgeq import data
from edgeq.errors import InputError

pytestmark = pytest.mark.unit
SHAPE = (4, 4, 1)


def _xy(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n,) + SHAPE, dtype=np.float32), rng.integers(0, 3, n)


def test_npz_with_labels(tmp_path):
    x, y = _xy()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = data.load(tmp_path / "d.npz", SHAPE)
    assert np.array_equal(ds.x, x) and np.array_equal(ds.y, y)
    assert len(ds.sha256) == 64


def test_npy_without_channel_axis_is_expanded(tmp_path):
    x, _ = _xy()
    np.save(tmp_path / "d.npy", x[..., 0].astype(np.uint8))
    ds = data.load(tmp_path / "d.npy", SHAPE)
    assert ds.x.shape == (6,) + SHAPE and ds.x.dtype == np.float32 and ds.y is None


def test_csv_with_label_header(tmp_path):
    x, y = _xy()
    rows = ["label," + ",".join(f"p{i}" for i in range(16))]
    rows += [f"{y[i]}," + ",".join(repr(float(v)) for v in x[i].ravel()) for i in range(len(x))]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    ds = data.load(tmp_path / "d.csv", SHAPE)
    assert np.allclose(ds.x, x) and np.array_equal(ds.y, y)


def test_csv_without_header(tmp_path):
    x, _ = _xy()
    np.savetxt(tmp_path / "d.csv", x.reshape(len(x), -1), delimiter=",")
    ds = data.load(tmp_path / "d.csv", SHAPE)
    assert np.allclose(ds.x, x) and ds.y is None


def test_non_numeric_csv(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n4,five,6\n")
    with pytest.raises(InputError, match=r"line 2: non-numeric value 'five'"):
        data.load(tmp_path / "d.csv", (3,))


def test_image_folder_with_class_subfolders(tmp_path):
    from PIL import Image

    for label, value in (("cat", 0), ("dog", 255)):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.fromarray(np.full((16, 16), value, np.uint8)).save(tmp_path / label / f"{i}.png")
    ds = data.load(tmp_path, SHAPE)
    assert ds.x.shape == (4,) + SHAPE
    assert list(ds.y) == [0, 0, 1, 1]  # sorted class names: cat=0, dog=1
    assert np.allclose(ds.x[:2], 0.0) and np.allclose(ds.x[2:], 1.0)


def test_module_function(tmp_path, monkeypatch):
    (tmp_path / "mydata.py").write_text(textwrap.dedent("""
        import numpy as np
        def pairs():
            return [(np.full((4, 4, 1), i, np.float32), i % 2) for i in range(5)]
        def arrays():
            return np.zeros((3, 4, 4, 1)), np.array([0, 1, 0])
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    ds = data.load("mydata:pairs", SHAPE)
    assert ds.x.shape == (5,) + SHAPE and list(ds.y) == [0, 1, 0, 1, 0]
    ds2 = data.load(f"{tmp_path / 'mydata.py'}:arrays", SHAPE)
    assert ds2.x.shape == (3,) + SHAPE and list(ds2.y) == [0, 1, 0]


def test_wrong_shape_says_both_shapes(tmp_path):
    np.save(tmp_path / "d.npy", np.zeros((5, 8, 8, 3), np.float32))
    with pytest.raises(InputError, match=r"shape \(8, 8, 3\).*expects \(4, 4, 1\)"):
        data.load(tmp_path / "d.npy", SHAPE)


@pytest.mark.parametrize("arr, pattern", [
    (np.zeros((0, 4, 4, 1), np.float32), "no samples"),
    (np.array([["a"] * 16] * 2), "dtype <U1"),
    (np.full((2, 4, 4, 1), np.nan, np.float32), "NaN or infinite"),
])
def test_bad_arrays(tmp_path, arr, pattern):
    np.save(tmp_path / "d.npy", arr)
    with pytest.raises(InputError, match=pattern):
        data.load(tmp_path / "d.npy", SHAPE)


def test_missing_and_unknown(tmp_path):
    with pytest.raises(InputError, match="not found"):
        data.load(tmp_path / "nope.npz", SHAPE)
    (tmp_path / "d.txt").write_text("1")
    with pytest.raises(InputError, match="unsupported"):
        data.load(tmp_path / "d.txt", SHAPE)
    with pytest.raises(InputError, match="cannot import"):
        data.load("no_such_module_xyz:fn", SHAPE)


def test_npz_without_x(tmp_path):
    np.savez(tmp_path / "d.npz", images=np.zeros((2, 4, 4, 1)))
    with pytest.raises(InputError, match="no array named 'x'.*images"):
        data.load(tmp_path / "d.npz", SHAPE)


def test_subset_is_reproducible_and_keeps_label_pairing(tmp_path):
    x = np.arange(100, dtype=np.float32).reshape(100, 1)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(100))
    ds = data.load(tmp_path / "d.npz", (1,))
    a, b = ds.subset(10, seed=3), ds.subset(10, seed=3)
    assert np.array_equal(a.x, b.x) and len(a) == 10
    assert np.array_equal(a.x[:, 0].astype(int), a.y)
    assert not np.array_equal(a.x, ds.subset(10, seed=4).x)


@pytest.mark.unit
def test_subset_error_names_the_option():
    import numpy as np

    from edgeq.data import Dataset
    from edgeq.errors import InputError

    ds = Dataset(x=np.zeros((5, 2), np.float32), y=None, source="t", sha256="0")
    with pytest.raises(InputError, match="--limit must be positive, got -1"):
        ds.subset(-1, option="--limit")
    with pytest.raises(InputError, match="--samples must be positive"):
        ds.subset(0)
    assert len(ds.subset(None)) == len(ds.subset(10)) == 5
