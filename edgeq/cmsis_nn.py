"""Which kernels a build links: edgeq's own (firmware/cmsis_nn) or an upstream CMSIS-NN checkout
(``--kernels cmsis-nn --cmsis-nn PATH``, the path defaulting to ``$EDGEQ_CMSIS_NN_DIR``).

The generated code calls the CMSIS-NN API either way; what changes is the library CMake builds
(``firmware/cmsis_nn/upstream_cmsis_nn.cmake``: upstream's own CMake selects the sources) and the
scratch the planner reserves: upstream's kernels want the sizes their ``*_get_buffer_size``
functions return on the core they are built for (``edgeq.scratch``: "dsp", or "mve" on a Helium
core such as the Cortex-M55).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

KERNELS = ("edgeq", "cmsis-nn")
ENV = "EDGEQ_CMSIS_NN_DIR"


def check_checkout(path: str | Path) -> Path:
    """``path`` resolved, if it is a CMSIS-NN checkout (Include/arm_nnfunctions.h and Source/);
    InputError (exit 2) otherwise, saying what is missing."""
    p = Path(path).expanduser()
    hint = ("give the root of a CMSIS-NN checkout, e.g. `git clone https://github.com/ARM-software/CMSIS-NN` "
            "(v7.0.0 and main are known to work)")
    if not p.exists():
        raise InputError(f"--cmsis-nn {path}: no such directory", hint)
    if not p.is_dir():
        raise InputError(f"--cmsis-nn {path}: not a directory", hint)
    missing = [m for m in ("Include/arm_nnfunctions.h", "Source") if not (p / m).exists()]
    if missing:
        raise InputError(f"--cmsis-nn {path} is not a CMSIS-NN checkout (no {' and no '.join(missing)})", hint)
    return p.resolve()


def resolve(kernels: str | None, cmsis_nn: str | Path | None, env: dict | None = None) -> tuple[str, Path | None]:
    """(kernels, checkout) from the command line: ``kernels`` None means cmsis-nn when a path was
    given explicitly, else edgeq. A path for cmsis-nn falls back to ``$EDGEQ_CMSIS_NN_DIR``;
    cmsis-nn without any path, an unknown kernel set or a path that is not a checkout is an
    InputError (exit 2). The checkout is returned (resolved) only for cmsis-nn."""
    env = os.environ if env is None else env
    if kernels is None:
        kernels = "cmsis-nn" if cmsis_nn else "edgeq"
    if kernels not in KERNELS:
        raise InputError(f"--kernels must be one of {', '.join(KERNELS)}, not {kernels!r}")
    if kernels == "edgeq":
        return kernels, None
    path = cmsis_nn or env.get(ENV) or None
    if not path:
        raise InputError("--kernels cmsis-nn needs a CMSIS-NN checkout: give --cmsis-nn PATH or set "
                         f"{ENV}", "e.g. `git clone https://github.com/ARM-software/CMSIS-NN` and "
                         "--cmsis-nn CMSIS-NN")
    return kernels, check_checkout(path)


def scratch_for_board(kernels: str, board) -> str:
    """The scratch variant for ``kernels`` on ``board`` (an edgeq.boards board or None: any core)."""
    from .scratch import scratch_variant_for

    if kernels == "edgeq":
        return "portable"
    if board is None:
        return "any"
    return scratch_variant_for(kernels, core_dsp=bool(getattr(board, "dsp", True)),
                               core_mve=bool(getattr(board, "mve", False)))
