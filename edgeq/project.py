"""The project file: `edgeq.toml` (or `[tool.edgeq]` in pyproject.toml) in the working directory.

It names the model, the data, the board, the gates and the options once, so that `edgeq convert`,
`evaluate`, `size-check`, `generate`, `flash-and-test` and `report` run with no arguments in a
project folder. Options given on the command line win over the file; the file wins over the
built-in defaults. It is read only by those commands (and written by `edgeq init`).

The file is checked as a whole before a command runs: an unknown key, a value of the wrong type
or not one of the allowed values is an InputError (exit 2) naming the key.

How values reach the commands: ``command_defaults`` turns the file into click's ``default_map``
(command → parameter → value), which click consults only for parameters the command line did not
give — exactly "the command line overrides the file".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import InputError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PROJECT_FILE = "edgeq.toml"

# --- the schema: section → key → (kind, allowed values or None, what it is) -------------------------
_STR, _INT, _FLOAT, _BOOL, _STRLIST = "a string", "an integer", "a number", "true or false", "a list of strings"

SCHEMA: dict[str, dict[str, tuple[str, tuple | None, str]]] = {
    "": {  # top level: shared by the commands
        "model": (_STR, None, "the float Keras model (.keras, .h5 or a SavedModel directory)"),
        "tflite": (_STR, None, "the int8 model convert writes and the other commands read "
                               "(default: OUT/<model name>.tflite)"),
        "calib": (_STR, None, "calibration data (.npz, .npy, .csv, an image folder or module:function)"),
        "data": (_STR, None, "labelled held-out test data"),
        "board": (_STR, None, "target board (`edgeq boards`)"),
        "out": (_STR, None, "directory for outputs (default: out)"),
    },
    "thresholds": {
        "max_drop": (_FLOAT, None, "gate: the accuracy drop allowed, percentage points (evaluate, "
                                   "flash-and-test, report)"),
        "drift_threshold": (_FLOAT, None, "flash-and-test --telemetry: clipping drift allowed"),
        "allow_mismatch": (_BOOL, None, "flash-and-test: do not fail on outputs that differ from the host"),
    },
    "convert": {
        "samples": (_INT, None, "calibration samples"),
        "seed": (_INT, None, "seed of the calibration sample draw"),
        "granularity": (_STR, ("per-channel", "per-tensor"), "weight quantization"),
        "io": (_STR, ("int8", "uint8", "float32"), "input/output type"),
        "precision": (_STR, ("int8", "int16x8"), "activation precision"),
        "method": (_STR, ("minmax", "percentile", "mse", "entropy"), "activation ranges"),
        "percentile": (_FLOAT, None, "percentile kept by method = percentile"),
        "keep": (_STRLIST, None, "layers kept at int16 (mixed precision)"),
        "weights": (_STR, ("int8", "int4", "cluster16"), "format of every weight layer"),
        "int4": (_STRLIST, None, "layers whose weights drop to int4"),
        "cluster16": (_STRLIST, None, "layers whose weights are clustered to 16 values"),
    },
    "evaluate": {
        "task": (_STR, ("auto", "classification", "binary", "regression"), "task"),
        "limit": (_INT, None, "use only N samples"),
    },
    "size-check": {
        "flash": (_STR, None, "flash budget instead of the board's (512K, 1M, bytes)"),
        "sram": (_STR, None, "SRAM budget instead of the board's"),
        "reserve_sram": (_STR, None, "SRAM kept for the application"),
        "stack": (_STR, None, "stack reserve"),
        "reserve_flash": (_STR, None, "flash kept for startup/UART/protocol code"),
    },
    "generate": {
        "output": (_STR, None, "directory for the generated C (default: OUT/<name>_c)"),
        "name": (_STR, None, "C symbol and file prefix"),
        "format": (_STR, ("cmake", "zephyr", "platformio", "arduino"), "layout for your build system"),
        "scratch": (_STR, ("portable", "dsp", "mve", "any"), "kernel scratch to plan for"),
    },
    "flash-and-test": {
        "workdir": (_STR, None, "generated code, build and results (default: OUT/flash-and-test)"),
        "limit": (_INT, None, "test only N samples"),
        "port": (_STR, None, "serial port of a real board"),
        "baud": (_INT, None, "baud rate"),
        "upload": (_STR, ("serial", "file"), "how inputs reach the device"),
        "profile": (_BOOL, None, "per-layer timing"),
        "telemetry": (_BOOL, None, "saturation counters"),
    },
    "report": {
        "output": (_STR, None, "the HTML report (default: TFLITE with .report.html)"),
        "limit": (_INT, None, "samples for the per-layer error and histograms"),
        "eval_limit": (_INT, None, "samples for accuracy"),
        "task": (_STR, ("auto", "classification", "binary", "regression"), "task"),
    },
}

COMMANDS = ("convert", "evaluate", "size-check", "generate", "flash-and-test", "report")


@dataclass
class Project:
    path: Path  # the file it came from
    values: dict[str, dict[str, Any]]  # section ("" = top level) → key → checked value

    def get(self, section: str, key: str, default=None):
        return self.values.get(section, {}).get(key, default)

    @property
    def out(self) -> str:
        return self.get("", "out", "out")

    @property
    def tflite(self) -> str | None:
        t = self.get("", "tflite")
        if t is None and self.get("", "model") is not None:
            t = f"{self.out}/{Path(self.get('', 'model')).stem}.tflite"
        return t


def _label(path: Path, section: str, key: str) -> str:
    where = f"{section}.{key}" if section else key
    return f"{path.name}: {where}" if path.name == PROJECT_FILE else f"{path.name} (tool.edgeq): {where}"


def _check_value(path: Path, section: str, key: str, value: Any) -> Any:
    kind, allowed, _ = SCHEMA[section][key]
    ok = {_STR: isinstance(value, str),
          _INT: isinstance(value, int) and not isinstance(value, bool),
          _FLOAT: isinstance(value, (int, float)) and not isinstance(value, bool),
          _BOOL: isinstance(value, bool),
          _STRLIST: isinstance(value, list) and all(isinstance(v, str) for v in value)}[kind]
    if not ok:
        raise InputError(f"{_label(path, section, key)} must be {kind}, not {value!r}")
    if allowed is not None and value not in allowed:
        raise InputError(f"{_label(path, section, key)} must be one of {', '.join(allowed)}, not {value!r}")
    if kind == _FLOAT:
        value = float(value)
        if value < 0:
            raise InputError(f"{_label(path, section, key)} must not be negative, not {value!r}")
    if kind == _INT and value < 0:
        raise InputError(f"{_label(path, section, key)} must not be negative, not {value!r}")
    return value


def _check(path: Path, table: dict) -> Project:
    values: dict[str, dict[str, Any]] = {"": {}}
    for key, value in table.items():
        if isinstance(value, dict):
            if key not in SCHEMA or key == "":
                raise InputError(f"{path.name}: unknown section {key!r}",
                                 hint=f"sections: {', '.join(s for s in SCHEMA if s)}")
            values[key] = {}
            for k, v in value.items():
                if k not in SCHEMA[key]:
                    raise InputError(f"{_label(path, key, k)} is not a known key",
                                     hint=f"keys of {key}: {', '.join(SCHEMA[key])}")
                values[key][k] = _check_value(path, key, k, v)
        elif key in SCHEMA[""]:
            values[""][key] = _check_value(path, "", key, value)
        else:
            raise InputError(f"{_label(path, '', key)} is not a known key",
                             hint=f"top-level keys: {', '.join(SCHEMA[''])}; sections: "
                                  f"{', '.join(s for s in SCHEMA if s)}")
    board = values[""].get("board")
    if board is not None:
        from .boards import list_boards

        names = [b.name for b in list_boards()]
        if board not in names:
            raise InputError(f"{_label(path, '', 'board')}: unknown board {board!r}", hint="`edgeq boards` lists them")
    return Project(path=path, values=values)


def find(directory: Path | None = None) -> Project | None:
    """The project in ``directory`` (default: the working directory): edgeq.toml, else a
    pyproject.toml with a [tool.edgeq] table, else None. Invalid → InputError."""
    directory = Path.cwd() if directory is None else Path(directory)
    for name in (PROJECT_FILE, "pyproject.toml"):
        path = directory / name
        if not path.is_file():
            continue
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise InputError(f"{name} is not valid TOML: {e}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read {name}: {e}") from None
        if name == "pyproject.toml":
            table = table.get("tool", {}).get("edgeq")
            if table is None:
                continue
            if not isinstance(table, dict):
                raise InputError("pyproject.toml: tool.edgeq must be a table")
        return _check(path, table)
    return None


# --- what each command's parameters get from the project ----------------------------------------
# command → parameter name (the Python name typer gives click) → function of the project
def _top(key: str) -> Callable[[Project], Any]:
    return lambda p: p.get("", key)


def _section(section: str, key: str) -> Callable[[Project], Any]:
    return lambda p: p.get(section, key)


def _generate_output(p: Project):
    return p.get("generate", "output", f"{p.out}/{p.get('generate', 'name', 'model')}_c")


_MAX_DROP = _section("thresholds", "max_drop")
PARAMETERS: dict[str, dict[str, Callable[[Project], Any]]] = {
    "convert": {"model": _top("model"), "calib": _top("calib"), "output": lambda p: p.tflite,
                **{k: _section("convert", k) for k in SCHEMA["convert"]}},
    "evaluate": {"model": _top("model"), "tflite": lambda p: p.tflite, "data": _top("data"), "max_drop": _MAX_DROP,
                 **{k: _section("evaluate", k) for k in SCHEMA["evaluate"]}},
    # generate and size-check take several models (a set sharing one arena): a list
    "size-check": {"model": lambda p: [p.tflite], "board": _top("board"), "calib": _top("calib"),
                   **{k: _section("size-check", k) for k in SCHEMA["size-check"]}},
    "generate": {"model": lambda p: [p.tflite], "output": _generate_output, "board": _top("board"),
                 "name": _section("generate", "name"), "fmt": _section("generate", "format"),
                 "scratch": _section("generate", "scratch")},
    "flash-and-test": {"model": lambda p: p.tflite, "board": _top("board"), "data": _top("data"),
                       "calib": _top("calib"), "float_model": _top("model"), "max_drop": _MAX_DROP,
                       "drift_threshold": _section("thresholds", "drift_threshold"),
                       "allow_mismatch": _section("thresholds", "allow_mismatch"),
                       "workdir": lambda p: p.get("flash-and-test", "workdir", f"{p.out}/flash-and-test"),
                       **{k: _section("flash-and-test", k) for k in SCHEMA["flash-and-test"] if k != "workdir"}},
    "report": {"model": _top("model"), "tflite": lambda p: p.tflite, "data": _top("data"), "calib": _top("calib"),
               "max_drop": _MAX_DROP, **{k: _section("report", k) for k in SCHEMA["report"]}},
}


def command_defaults(project: Project, command: str) -> dict[str, Any]:
    """Parameter → value for ``command``: the project's values (None ones left out)."""
    out = {}
    for param, fn in PARAMETERS.get(command, {}).items():
        v = fn(project)
        if v is not None:
            out[param] = v
    return out


def default_map(command: str | None, directory: Path | None = None) -> tuple[dict | None, Path | None]:
    """click's default_map for the invoked command (None when no project or the command does not
    read one), and the project file's path."""
    if command not in COMMANDS:
        return None, None
    project = find(directory)
    if project is None:
        return None, None
    return {command: command_defaults(project, command)}, project.path


def init(path: Path, *, model: str | None = None, calib: str | None = None, data: str | None = None,
         board: str | None = None, force: bool = False) -> Path:
    """Write a commented project file (templates/edgeq.toml.j2) at ``path``; refuses to overwrite
    one unless ``force``. The written file is read back through the same checks as any other."""
    from .artifacts import write_text_atomic
    from .codegen.render import environment

    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"{path} already exists", hint="edit it, or pass --force to replace it")
    if path.is_dir():
        raise InputError(f"{path} is a directory", hint="give the project file's path, e.g. edgeq.toml")
    text = environment().get_template("edgeq.toml.j2").render(model=model, calib=calib, data=data, board=board)
    table = tomllib.loads(text)
    _check(path if path.name == PROJECT_FILE else path.with_name(PROJECT_FILE), table)  # a bad --board etc.
    write_text_atomic(path, text)
    return path
