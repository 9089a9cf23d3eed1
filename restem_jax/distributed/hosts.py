"""Which process does what in a multi-host run (one process per host, `jax.distributed`).

Compiled programs (sampling, training, checkpoint saves) run on every process together.
Host-side work is split: E-step chunk c is verified and written by process
`c % process_count`, evaluation problems are verified by process `i % process_count`,
and run-directory files that describe the whole run (manifest, summary, metrics,
TensorBoard, report) have one writer, process 0. Barriers order writes and reads.
With one process every function here is the single-host behaviour.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils

from restem_jax.verify.verdict import STATUSES, Verdict


def count() -> int:
  return jax.process_count()


def index() -> int:
  return jax.process_index()


def is_writer() -> bool:
  """True on the process that writes run-wide files (process 0)."""
  return jax.process_index() == 0


def owns(item: int) -> bool:
  """True when this process does the host work of item number `item` (round robin)."""
  return item % jax.process_count() == jax.process_index()


def barrier(name: str) -> None:
  """Waits until every process reaches the barrier `name` (no-op with one process)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def agree(flags: Sequence[bool]) -> list[bool]:
  """Per-item flags as seen by process 0, so every process takes the same branches."""
  if jax.process_count() == 1:
    return list(flags)
  arr = np.asarray(flags, np.int32)
  return [bool(x) for x in multihost_utils.broadcast_one_to_all(arr)]


def verify_split(pool, problems, rows: Sequence[Sequence[str]], submit) -> list[list[Verdict]]:
  """Verdicts of rows[i][n] for every problem i, each problem verified by one process.

  `submit(pool, problem, text)` returns a future of a Verdict. The statuses are exchanged
  between processes (details stay with the process that verified them).
  """
  futures = [[submit(pool, p, t) for t in row] if owns(i) else None
             for i, (p, row) in enumerate(zip(problems, rows))]
  local = [[f.result() for f in fs] if fs is not None else None for fs in futures]
  if jax.process_count() == 1:
    return local
  width = max((len(r) for r in rows), default=0)
  codes = np.full((len(problems), width), -1, np.int32)
  for i, vs in enumerate(local):
    if vs is not None:
      codes[i, :len(vs)] = [STATUSES.index(v.status) for v in vs]
  merged = np.asarray(multihost_utils.process_allgather(codes)).max(axis=0)
  return [vs if vs is not None else [Verdict(STATUSES[c]) for c in merged[i, :len(rows[i])]]
          for i, vs in enumerate(local)]
