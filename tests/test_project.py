"""The project file (edgeq.toml / [tool.edgeq] in pyproject.toml): `edgeq init`, commands with
no arguments in a project folder, command-line options winning over the file, and bad keys or
values refused with exit 2 naming the key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DIGITS

from edgeq.cli import app


def _edgeq(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder as the working directory, with the example data copied in."""
    for f in ("digits.keras", "train.npz", "test.npz"):
        shutil.copy(DIGITS / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _set(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------------- init

@pytest.mark.unit
def test_init_writes_a_commented_valid_file(project):
    r = _edgeq("init", "--model", "digits.keras", "--calib", "train.npz", "--data", "test.npz",
               "--board", "qemu-mps2-an386")
    assert r.exit_code == 0, r.output
    text = (project / "edgeq.toml").read_text()
    assert text.count("#") > 20  # commented: every key says what it is
    from edgeq.project import command_defaults, find

    p = find()
    assert p.get("", "model") == "digits.keras" and p.get("", "board") == "qemu-mps2-an386"
    assert p.get("thresholds", "max_drop") == 1.0
    assert command_defaults(p, "convert") == {"model": "digits.keras", "calib": "train.npz",
                                              "output": "out/digits.tflite"}
    ft = command_defaults(p, "flash-and-test")
    assert ft["model"] == "out/digits.tflite" and ft["float_model"] == "digits.keras" and ft["max_drop"] == 1.0
    assert ft["workdir"] == "out/flash-and-test" and ft["board"] == "qemu-mps2-an386" and ft["data"] == "test.npz"
    assert command_defaults(p, "generate")["output"] == "out/model_c"
    # not twice: an existing file is kept unless --force
    r = _edgeq("init")
    assert r.exit_code == 2 and "already exists" in r.output
    assert (project / "edgeq.toml").read_text() == text
    assert _edgeq("init", "--force").exit_code == 0
    assert "# model = " in (project / "edgeq.toml").read_text()  # no model given: left as an example


@pytest.mark.unit
def test_init_refuses_an_unknown_board(project):
    r = _edgeq("init", "--board", "no-such-board")
    assert r.exit_code == 2 and "no-such-board" in r.output and "Traceback" not in r.output
    assert not (project / "edgeq.toml").exists()


# ----------------------------------------------------------------------------- bad files

@pytest.mark.unit
@pytest.mark.parametrize("text, named", [
    ('modle = "digits.keras"\n', "modle"),
    ('[convert]\nsmaples = 10\n', "convert.smaples"),
    ('[convert]\nsamples = "many"\n', "convert.samples"),
    ('[convert]\nmethod = "median"\n', "convert.method"),
    ('[thresholds]\nmax_drop = "1"\n', "thresholds.max_drop"),
    ('[thresholds]\nmax_drop = -1\n', "thresholds.max_drop"),
    ('[convert]\nkeep = "dense"\n', "convert.keep"),
    ('[generate]\nformat = "bazel"\n', "generate.format"),
    ('[flash-and-test]\nprofile = "yes"\n', "flash-and-test.profile"),
    ('board = "no-such-board"\n', "board"),
    ('[deploy]\nx = 1\n', "unknown section 'deploy'"),
    ('model = \n', "not valid TOML"),
])
def test_bad_project_file_exits_2_naming_the_key(project, text, named):
    _set(project / "edgeq.toml", text)
    for command in ("size-check", "generate", "convert"):
        r = _edgeq(command)
        assert r.exit_code == 2, (command, r.output)
        assert named in r.output and "Traceback" not in r.output, r.output
    # commands that do not read the project are not stopped by it
    assert _edgeq("boards", "--json").exit_code == 0


# ------------------------------------------------------------------- commands, no arguments

@pytest.fixture
def converted(project, digits_tflite):
    """The project with its int8 model already converted (the session's digits model)."""
    (project / "out").mkdir()
    shutil.copy(digits_tflite, project / "out" / "digits.tflite")
    assert _edgeq("init", "--model", "digits.keras", "--calib", "train.npz", "--data", "test.npz",
                  "--board", "qemu-mps2-an386").exit_code == 0
    return project


def test_size_check_and_generate_with_no_arguments(converted):
    r = _edgeq("size-check", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["board"]["name"] == "qemu-mps2-an386"
    # the command line wins: another board, and a budget that the model cannot fit
    r = _edgeq("size-check", "--json", "--board", "qemu-mps3-an547")
    assert r.exit_code == 0 and json.loads(r.stdout)["board"]["name"] == "qemu-mps3-an547"
    r = _edgeq("size-check", "--sram", "1K", "--flash", "1K", "--json")
    assert r.exit_code == 1  # the file's board is still there, the command line's budgets win

    r = _edgeq("generate", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert Path(res["out_dir"]) == converted / "out" / "model_c" and res["format"] == "cmake"
    # [generate] in the file, then the command line over it
    text = (converted / "edgeq.toml").read_text().replace('[generate]\n', '[generate]\nname = "digits"\n'
                                                          'format = "zephyr"\n')
    _set(converted / "edgeq.toml", text)
    res = json.loads(_edgeq("generate", "--json").stdout)
    assert Path(res["out_dir"]) == converted / "out" / "digits_c" and res["format"] == "zephyr"
    res = json.loads(_edgeq("generate", "--json", "--format", "cmake", "-o", "elsewhere").stdout)
    assert Path(res["out_dir"]) == converted / "elsewhere" and res["format"] == "cmake" and res["name"] == "digits"


def test_pyproject_tool_edgeq_table(project, digits_tflite):
    _set(project / "pyproject.toml", f'[project]\nname = "x"\n\n[tool.edgeq]\ntflite = "{digits_tflite}"\n'
                                     'board = "qemu-mps2-an386"\n\n[tool.edgeq.generate]\nname = "kws"\n')
    res = json.loads(_edgeq("generate", "--json").stdout)
    assert res["name"] == "kws" and Path(res["out_dir"]) == project / "out" / "kws_c"
    _set(project / "pyproject.toml", '[tool.edgeq]\nbord = "x"\n')
    r = _edgeq("generate")
    assert r.exit_code == 2 and "pyproject.toml (tool.edgeq): bord" in r.output
    # edgeq.toml comes first
    _set(project / "edgeq.toml", f'tflite = "{digits_tflite}"\n')
    assert _edgeq("generate", "--json").exit_code == 0


def test_evaluate_and_flash_and_test_with_no_arguments(converted):
    text = (converted / "edgeq.toml").read_text()
    text = text.replace("[evaluate]\n", "[evaluate]\nlimit = 60\n").replace(
        "[flash-and-test]\n", "[flash-and-test]\nlimit = 12\n").replace("max_drop = 1.0", "max_drop = 100.0")
    _set(converted / "edgeq.toml", text)
    r = _edgeq("evaluate", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["samples"] == 60
    r = _edgeq("flash-and-test", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["gate"]["passed"] and rep["samples"] == 12 and rep["mismatch_count"] == 0
    results = converted / "out" / "flash-and-test" / "results.jsonl"
    assert len(results.read_text().splitlines()) == 12
    # the command line wins over the file
    r = _edgeq("flash-and-test", "--json", "--limit", "4", "--workdir", "out/ft4")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["samples"] == 4
    assert len((converted / "out" / "ft4" / "results.jsonl").read_text().splitlines()) == 4


@pytest.mark.long
def test_convert_and_report_with_no_arguments(project):
    assert _edgeq("init", "--model", "digits.keras", "--calib", "train.npz", "--data", "test.npz",
                  "--board", "qemu-mps2-an386").exit_code == 0
    _set(project / "edgeq.toml", (project / "edgeq.toml").read_text().replace(
        "[convert]\n", "[convert]\nsamples = 64\n").replace("[report]\n", "[report]\nlimit = 8\neval_limit = 60\n"))
    r = _edgeq("convert", "--json")
    assert r.exit_code == 0, r.output
    out = r.stdout[r.stdout.index("\n{") + 1:] if not r.stdout.startswith("{") else r.stdout  # TF prints first
    assert json.loads(out)["output"] == "out/digits.tflite"
    assert (project / "out" / "digits.tflite").is_file()
    r = _edgeq("report", "--json")
    assert r.exit_code == 0, r.output
    assert (project / "out" / "digits.report.html").is_file()
