"""The `edgeq` command line: parse options, call one stage, render, exit with a reliable code.

Exit codes: 0 success, 1 a gate failed (accuracy drop, budget, mismatch), 2 bad input or usage,
3 the device or emulator was lost; 128 + N a signal.
Heavy imports (TensorFlow, the TFLM interpreter) happen inside commands, so `--help` is instant.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import EXIT_USAGE, EdgeqError, Terminated

app = typer.Typer(
    name="edgeq",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

_state = {"debug": False}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")]
# The kernel choice of the commands that build firmware (flash-and-test, diff-device); one meaning
# everywhere, resolved by edgeq.cmsis_nn.resolve.
KernelsOpt = Annotated[Optional[str], typer.Option(
    "--kernels", help="edgeq (the bundled kernels) | cmsis-nn (an upstream CMSIS-NN checkout, --cmsis-nn; "
                      "scratch sized for the board's core). Default: cmsis-nn when --cmsis-nn is given, else edgeq.")]
# In-place planning (edgeq.inplace): one meaning for generate, size-check and flash-and-test.
InplaceOpt = Annotated[bool, typer.Option(
    "--inplace/--no-inplace", help="Let an op's output overlap an input that dies at that op where the "
                                   "kernel's access order makes it safe (smaller arena). --no-inplace: every "
                                   "tensor whole and separate (the classic liveness-bound arena).")]
# 4-bit weight storage (edgeq.codegen.packed_weights): one meaning for generate, size-check and flash-and-test.
PackWeightsOpt = Annotated[str, typer.Option(
    "--pack-weights", help="auto: conv / depthwise / fully connected weights whose int8 values fit 4 bits "
                           "(all in [-8, 7]: int4; at most 16 distinct values per tensor or output channel: "
                           "clustered, indices + table) are stored packed and run by 4-bit-weight kernels "
                           "(same results). off: every weight as int8.")]
# Memory banks (edgeq.placement): one meaning for generate, size-check and flash-and-test.
PlaceOpt = Annotated[Optional[str], typer.Option(
    "--place", help="Put buffer classes in other regions of the --board: arena=REGION (activations + "
                    "kernel scratch; an sram region), weights=REGION (every constant array; a flash region), "
                    "comma-separated, e.g. arena=dtcm,weights=flash. Default: the board's default regions.")]
CmsisNnOpt = Annotated[Optional[Path], typer.Option(
    "--cmsis-nn", help="CMSIS-NN checkout for --kernels cmsis-nn (default: $EDGEQ_CMSIS_NN_DIR).")]


@app.callback()
def _root(ctx: typer.Context,
          debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False):
    """edgeq: Keras → int8 TFLite → C (CMSIS-NN API) → a board, with measurements at every step.

    Typical flow:

        edgeq convert model.keras --calib calib.npz -o model.tflite

        edgeq evaluate model.keras model.tflite --data test.npz --max-drop 1

        edgeq size-check model.tflite --board nucleo-l4r5zi

        edgeq generate model.tflite -o model_c

        edgeq flash-and-test model.tflite --board qemu-mps2-an386 --data test.npz

    In a folder with an edgeq.toml (`edgeq init` writes one) or a [tool.edgeq] table in
    pyproject.toml, these commands take their inputs and options from it and run with no
    arguments; an option on the command line wins over the file.

    Exit codes: 0 ok, 1 a gate failed (accuracy, budget, mismatch), 2 bad input, 3 the device or
    emulator was lost or did not answer; 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (what was
    measured is kept).
    """
    _state["debug"] = debug
    _handle_termination()
    _use_project(ctx)


def _use_project(ctx: typer.Context) -> None:
    """The project file's values become the invoked command's defaults (click's default_map:
    consulted only for what the command line did not give)."""
    from ..project import default_map

    dm, _path = run(default_map, ctx.invoked_subcommand)
    if dm:
        ctx.default_map = dm


def _handle_termination() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C: emulators stopped, results kept, exit 128 + signal."""
    import signal

    def raise_terminated(signum, _frame):
        raise Terminated(signum)

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, raise_terminated)


def run(fn, *args, **kwargs):
    """Call a stage; turn edgeq's errors into a message + exit code, anything else into exit 2/3."""
    from .. import ui

    try:
        return fn(*args, **kwargs)
    except EdgeqError as e:
        if _state["debug"]:
            traceback.print_exc()
        ui.error(e.message, e.hint)
        raise typer.Exit(e.exit_code)
    except KeyboardInterrupt:
        ui.error("interrupted")
        raise typer.Exit(130)
    except Terminated as e:
        import signal

        ui.error(f"terminated by {signal.Signals(e.signum).name}")
        raise typer.Exit(128 + e.signum)


def main() -> None:
    try:
        app()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
        sys.exit(code)


# The commands register themselves on `app` (help lists them in this order).
from . import model_commands, project_commands, target_commands  # noqa: E402,F401
