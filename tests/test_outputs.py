"""Outputs: write errors are input errors (exit 2, one line, nothing half-written), paired
outputs are written both or neither, and files/directories honour the umask."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from tflite_builder import fc_model

from edgeq.artifacts import write_files_atomic
from edgeq.cli import app
from edgeq.errors import InputError

pytestmark = pytest.mark.unit
runner = CliRunner()


def test_pair_written_both_or_neither(tmp_path):
    a, b = tmp_path / "m.tflite", tmp_path / "m.manifest.json"
    b.mkdir()  # the second target is a directory: nothing may be written
    with pytest.raises(InputError, match="is a directory"):
        write_files_atomic([(a, b"model"), (b, b"{}")])
    assert not a.exists() and b.is_dir() and not any(b.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.manifest.json"]  # no temporaries left


def test_pair_replaces_old_files_together(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_files_atomic([(a, b"1"), (b, b"1")])
    write_files_atomic([(a, b"2"), (b, b"2")])
    assert a.read_bytes() == b.read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_unwritable_place_is_an_input_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")  # (as root, permissions would not stop us)
    with pytest.raises(InputError, match="cannot write .*file/x"):
        write_files_atomic([(tmp_path / "file" / "x", b"1")])


def test_umask_is_honoured(tmp_path):
    from edgeq.codegen import generate

    old = os.umask(0o022)
    try:
        write_files_atomic([(tmp_path / "f", b"1")])
        res = generate(fc_model(), tmp_path / "gen")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644
    assert stat.S_IMODE(res.out_dir.stat().st_mode) == 0o755
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in res.files)


def test_size_check_report_onto_a_directory_exit_2(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(fc_model())
    (tmp_path / "rep").mkdir()
    r = runner.invoke(app, ["size-check", str(model), "--flash", "1M", "--sram", "1M", "--report",
                            str(tmp_path / "rep")])
    assert r.exit_code == 2 and "is a directory" in r.output and "Traceback" not in r.output


def test_generate_onto_a_file_exit_2(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(fc_model())
    (tmp_path / "f").write_text("mine")
    r = runner.invoke(app, ["generate", str(model), "-o", str(tmp_path / "f")])
    assert r.exit_code == 2 and (tmp_path / "f").read_text() == "mine"
