"""TensorFlow as a quiet, CPU-only data pipeline (seqio's), set up before the run starts.

TensorFlow prints C++ start-up lines (oneDNN, CUDA stubs, "failed call to cuInit") straight
to file descriptor 2 while it loads and probes devices; TF 2.21 logs through absl and no
longer honours TF_CPP_MIN_LOG_LEVEL. None of it is the user's business in this project,
so the import and the device probe run with fd 2 pointed at /dev/null. TensorFlow is also
kept off GPUs and TPUs: those belong to JAX (a TF that initialises a GPU reserves most of
its memory). Python exceptions still surface: only the native stream is redirected, and
only for the duration of the import.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
  """Points file descriptor 2 at /dev/null for the duration of the block."""
  sys.stderr.flush()
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  try:
    os.dup2(devnull, 2)
    yield
  finally:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


def prepare_tensorflow() -> None:
  """Imports TensorFlow (and seqio, which imports it) quietly and hides accelerators from it."""
  with native_stderr_silenced():
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    import seqio  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
    for kind in ("GPU", "TPU"):
      try:
        tf.config.set_visible_devices([], kind)
      except (RuntimeError, ValueError):  # already initialised, or no such device type
        pass
