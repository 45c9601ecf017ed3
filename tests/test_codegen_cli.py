"""`edgeq generate` on the command line: summary table, --json, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgeq.cli import app

pytestmark = pytest.mark.unit


def test_generate_cli_json(digits_tflite, tmp_path):
    out = tmp_path / "c"
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(out), "--name", "digits", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["name"] == "digits" and d["arena_bytes"] > 0 and (out / "digits.c").exists()
    assert set(d["kernels"]) >= {"conv", "fc", "softmax"}


def test_generate_cli_table(digits_tflite, tmp_path):
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert "arena" in r.output and "model.c" in r.output


@pytest.mark.parametrize("args", [["--name", "3x"], ["--scratch", "fast"]])
def test_generate_cli_usage_errors_exit_2(digits_tflite, tmp_path, args):
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(tmp_path / "c"), *args])
    assert r.exit_code == 2
    assert not (tmp_path / "c").exists()


def test_generate_cli_missing_model(tmp_path):
    r = CliRunner().invoke(app, ["generate", str(tmp_path / "nope.tflite"), "-o", str(tmp_path / "c")])
    assert r.exit_code == 2
