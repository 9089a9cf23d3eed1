"""A progress bar for a long stage (tqdm; shown on terminals only)."""

from __future__ import annotations

import contextlib

import tqdm


@contextlib.contextmanager
def bar(desc: str, total: int):
  """Yields `advance(n=1)`; the bar is closed when the block ends (also on an error)."""
  b = tqdm.tqdm(total=total, desc=desc, leave=False, disable=None, dynamic_ncols=True)
  try:
    yield lambda n=1: b.update(n)
  finally:
    b.close()
