"""`edgeq init`: write a commented project file (edgeq.toml); see edgeq/project.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import app, run


@app.command()
def init(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="The float Keras model.")] = None,
    calib: Annotated[Optional[str], typer.Option("--calib", "-c", help="Calibration data.")] = None,
    data: Annotated[Optional[str], typer.Option("--data", "-d", help="Labelled held-out test data.")] = None,
    board: Annotated[Optional[str], typer.Option("--board", "-b", help="Target board (`edgeq boards`).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")] = Path("edgeq.toml"),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
):
    """Write a commented edgeq.toml: the model, data, board, gates and options of this folder.

    Afterwards `edgeq convert`, `evaluate`, `size-check`, `generate`, `flash-and-test` and
    `report` run here with no arguments; options on the command line still win.

    Example:

        edgeq init --model model.keras --calib train.npz --data test.npz --board nucleo-l4r5zi
    """
    from .. import ui
    from ..project import init as init_fn

    path = run(init_fn, output, model=model, calib=calib, data=data, board=board, force=force)
    ui.out.print(f"wrote {path}")
