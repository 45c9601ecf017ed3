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


# ------------------------------------------------------------------------------ the output path

def test_generate_cli_prefix_is_name(digits_tflite, tmp_path):
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(tmp_path / "c"), "--prefix", "kws_a"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "c" / "kws_a.c").exists()
    assert "#define KWS_A_ARENA_SIZE" in (tmp_path / "c" / "kws_a.h").read_text()


def test_generate_cli_refuses_existing_file(digits_tflite, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    for extra in ([], ["--force"]):  # a file is never replaced by a directory: it would be lost
        r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(target), *extra])
        assert r.exit_code == 2, r.output
        assert "existing file" in r.output and "Traceback" not in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
        assert target.read_text() == "mine"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing renamed or left


def test_generate_cli_refuses_foreign_directory_unless_force(digits_tflite, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "main.c").write_text("int main(void) { return 0; }\n")
    (proj / "lib").mkdir()
    (proj / "lib" / "x.h").write_text("#define X 1\n")
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(proj), "--name", "digits"])
    assert r.exit_code == 2, r.output
    assert "main.c" in r.output and "--force" in r.output
    assert sorted(p.name for p in proj.iterdir()) == ["lib", "main.c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    # --force writes, keeping the user's files (and their contents)
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(proj), "--name", "digits", "--force"])
    assert r.exit_code == 0, r.output
    assert (proj / "main.c").read_text() == "int main(void) { return 0; }\n"
    assert (proj / "lib" / "x.h").read_text() == "#define X 1\n"
    assert (proj / "digits.c").exists() and (proj / "edgeq_kernels" / "src").is_dir()
    # regenerating under another name replaces edgeq's own old files, still keeps the user's
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(proj), "--name", "m2", "--force"])
    assert r.exit_code == 0, r.output
    assert not (proj / "digits.c").exists() and (proj / "m2.c").exists() and (proj / "main.c").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]  # no staging / old dirs left


def test_generate_cli_regenerates_its_own_directory_without_force(digits_tflite, tmp_path):
    out = tmp_path / "gen"
    assert CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(out), "--name", "a"]).exit_code == 0
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(out), "--name", "b"])
    assert r.exit_code == 0, r.output
    assert (out / "b.c").exists() and not (out / "a.c").exists()
    # a directory written by a version without the marker file is recognised by its banner
    (out / ".edgeq-generated").unlink()
    import shutil
    shutil.rmtree(out / "edgeq_kernels")
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(out), "--name", "c"])
    assert r.exit_code == 0, r.output
    assert (out / "c.c").exists() and not (out / "b.c").exists()


def test_generate_cli_output_dot(digits_tflite, tmp_path, monkeypatch):
    """`-o .` in an empty directory: written in place; the working directory itself survives."""
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)
    ino = work.stat().st_ino
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", ".", "--name", "digits"])
    assert r.exit_code == 0, r.output
    assert (work / "digits.c").exists() and work.stat().st_ino == ino
    assert not [p for p in work.iterdir() if p.name.startswith(".edgeq-staging")]
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", ".", "--name", "d2"])
    assert r.exit_code == 0, r.output
    assert (work / "d2.c").exists() and not (work / "digits.c").exists()
    (work / "main.c").write_text("mine")
    r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", ".", "--name", "d3"])
    assert r.exit_code == 2 and "main.c" in r.output
    assert (work / "d2.c").exists() and (work / "main.c").read_text() == "mine"


def test_no_inplace_switch(digits_tflite, tmp_path):
    """--no-inplace (generate, size-check): the classic arena, every tensor separate; recorded in
    the banner's regenerate line and in the JSON results."""
    from edgeq.graph import load_graph
    from edgeq.memory import plan_memory

    g = load_graph(str(digits_tflite))
    classic, inplace = plan_memory(g, inplace=False), plan_memory(g)
    assert not classic.inplace and classic.arena_bytes >= classic.lower_bound
    runs = {}
    for flag in ("--inplace", "--no-inplace"):
        out = tmp_path / flag.strip("-")
        r = CliRunner().invoke(app, ["generate", str(digits_tflite), "-o", str(out), "-n", "digits", flag, "--json"])
        assert r.exit_code == 0, r.output
        runs[flag] = json.loads(r.output)
        banner = (out / "digits.c").read_text().splitlines()[3]
        assert ("--no-inplace" in banner) == (flag == "--no-inplace")
        r = CliRunner().invoke(app, ["size-check", str(digits_tflite), "--board", "qemu-mps2-an386", flag, "--json"])
        assert r.exit_code == 0, r.output
        arena = json.loads(r.output)["arena"]
        assert arena["inplace_planning"] == (flag == "--inplace")
        assert arena["bytes"] == runs[flag]["arena_bytes"]  # size-check's figure is the generated one
        assert arena["lower_bound"] == classic.lower_bound  # both figures: the arena and the liveness bound
    assert runs["--no-inplace"]["arena_bytes"] == classic.arena_bytes and not runs["--no-inplace"]["inplace"]
    assert runs["--inplace"]["arena_bytes"] == inplace.arena_bytes < classic.arena_bytes
