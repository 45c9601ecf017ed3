"""Terminal presentation: progress bars, tables, errors. Kept apart so commands stay thin."""

from __future__ import annotations

import contextlib
import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

out = Console(highlight=False)  # results: tables or JSON
err = Console(stderr=True, highlight=False)  # progress, warnings, errors


def print_json(obj) -> None:
    from .artifacts import to_json

    sys.stdout.write(to_json(obj))
    sys.stdout.flush()


@contextlib.contextmanager
def progress(description: str, enabled: bool = True):
    """Yields a callback(done, total) that drives one progress bar (on stderr)."""
    if not enabled or not err.is_terminal and not _force():
        yield lambda done, total: None
        return
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=err, transient=True)
    with bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _force() -> bool:
    import os

    return os.environ.get("EDGEQ_PROGRESS") == "1"


def table(title: str, columns: list[str], rows: list[list], justify_right_from: int = 1) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False, show_header=any(columns))
    # the first column names the row (a board, an op, a layer): never cut it; the others wrap
    first = max([len(str(columns[0]))] + [len(str(r[0])) for r in rows]) if columns else 0
    for i, c in enumerate(columns):
        t.add_column(c, justify="right" if i >= justify_right_from else "left",
                     **({"min_width": min(first, 48), "no_wrap": True} if i == 0 else {"overflow": "fold"}))
    for r in rows:
        t.add_row(*[str(v) for v in r])
    return t


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def num(v: float | None, fmt: str = ".4g") -> str:
    return "-" if v is None else format(v, fmt)


def error(message: str, hint: str | None = None) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    if hint:
        err.print(f"[dim]hint: {hint}[/]", soft_wrap=True)


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
