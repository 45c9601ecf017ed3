"""Print the op coverage table (markdown) from the op registry: the README's copy (between the
``ops-table`` markers) is checked against it by tests/test_ops_registry.py.

Usage: python scripts/ops_table.py [--update-readme]"""

from __future__ import annotations


def markdown() -> str:
    from edgeq.ops import table

    rows = ["| op | int8 | int16 | reference | kernel |", "|---|---|---|---|---|"]
    for r in table():
        rows.append(f"| {r['op']} | {'yes' if r['int8'] else '-'} | {'yes' if r['int16'] else '-'} | "
                    f"{r['reference']} | {r['kernel']} |")
    return "\n".join(rows) + "\n"


def update_readme() -> None:
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text()
    new = re.sub(r"(<!-- ops-table -->\n).*?(<!-- /ops-table -->)", lambda m: m[1] + markdown() + m[2], text,
                 flags=re.S)
    readme.write_text(new)


if __name__ == "__main__":
    import sys

    if "--update-readme" in sys.argv:
        update_readme()
    else:
        print(markdown(), end="")
