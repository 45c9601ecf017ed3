"""Importing TensorFlow quietly, and muting the converter's chatter on the terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


def import_tf():
    """TensorFlow + Keras 3, imported on demand (≈4 s) with its C++ logging turned down."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    with captured_output():  # CUDA-probe and absl banners on stderr mean nothing here
        import tensorflow as tf
        import keras

    tf.get_logger().setLevel("ERROR")
    return tf, keras


@contextlib.contextmanager
def captured_output():
    """Send fd 1 and 2 (Python and C++ writes alike) to a temp file; yields a reader of it.

    The converter prints saved-artifact listings and MLIR diagnostics that mean nothing to a
    user unless conversion fails, in which case the caller shows the captured text.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)

        def read() -> str:
            sys.stdout.flush()
            sys.stderr.flush()
            log.seek(0)
            return log.read().decode("utf-8", "replace")

        try:
            yield read
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
