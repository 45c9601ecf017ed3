"""The op registry (edgeq.ops) is the one list of supported ops: `edgeq ops` prints it, the
README carries it, and every registered op has a bit-exact test that declares it."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeq.cli import app

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[1]


def test_ops_command_lists_the_registry():
    from edgeq.ops import registry

    r = CliRunner().invoke(app, ["ops", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["ops"]
    assert [x["op"] for x in rows] == sorted(registry())
    assert all(x["reference"] in ("TFLM", "TFLite") and x["kernel"] for x in rows)
    human = CliRunner().invoke(app, ["ops"])
    assert human.exit_code == 0 and all(op in human.output for op in registry())


def test_readme_op_table_matches_the_registry():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from ops_table import markdown
    finally:
        sys.path.pop(0)
    readme = (REPO / "README.md").read_text()
    assert markdown() in readme, "README op table is stale: regenerate it with `python scripts/ops_table.py`"


def test_every_registered_op_has_a_declared_bit_exact_test():
    """Each test module that checks ops bit-exact declares them in EXPECTED_OPS (and asserts the
    converted models contain them); together they cover the registry."""
    from edgeq.ops import registry

    covered: set[str] = set()
    sys.path.insert(0, str(REPO / "tests"))
    for f in sorted((REPO / "tests").glob("test_*.py")):
        if "EXPECTED_OPS" not in f.read_text():
            continue
        mod = importlib.import_module(f.stem)
        exp = getattr(mod, "EXPECTED_OPS", {})
        for v in (exp.values() if isinstance(exp, dict) else [exp]):
            covered |= set(v)
    # SQUEEZE: the converter never emits it; tests/test_codegen_ops.py builds one by hand
    missing = set(registry()) - covered - {"SQUEEZE"}
    assert not missing, f"registered ops without a declared bit-exact test: {sorted(missing)}"


def test_registry_rows_are_consistent():
    from edgeq.ops import registry

    for op, s in registry().items():
        assert s.opcode == op and callable(s.lower)
        assert all(p < s.min_inputs or p >= 0 for p in s.const_inputs)
        if s.alias:
            assert s.code_bytes == 0, f"{op}: an alias has no kernel code"
