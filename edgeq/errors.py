"""Errors that the CLI turns into one clear message and an exit code scripts can rely on."""

EXIT_OK = 0
EXIT_GATE = 1  # a gate failed: accuracy drop, budget, mismatch
EXIT_USAGE = 2  # bad input or usage
EXIT_DEVICE = 3  # the device (board, emulator, flashing tool) was lost or did not answer


class EdgeqError(Exception):
    """A user-facing error: printed without a traceback, exits with `exit_code`."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(EdgeqError):
    """Bad input from the user: missing file, wrong shape, unsupported op... (exit 2)."""


class OpError(InputError):
    """An operator of a model that edgeq cannot run (exit 2); ``op_index`` says which, so a caller
    that knows the Keras model can name the layer too."""

    def __init__(self, message: str, op_index: int, hint: str | None = None):
        super().__init__(message, hint)
        self.op_index = op_index


class GateFailed(EdgeqError):
    """A measured gate failed (exit 1). The result was still computed and reported."""

    exit_code = EXIT_GATE


class Terminated(BaseException):
    """SIGTERM / SIGHUP arrived: unwind like Ctrl-C (emulators stopped, results kept), then exit
    128 + the signal number. A BaseException so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
