"""TensorBoard event files of a run (eval scalars per iteration, M-step curves per step).

tensorboardX writes event files to a local directory only; the events are written to a
temporary local directory, which then replaces `W/tb` through `restem_jax.io`
(`write_tree_atomic`: a reader sees the old events or the new ones, never a mix), so the
same code serves local and cloud-storage workdirs.
"""

from __future__ import annotations

import tempfile
from typing import Sequence

from tensorboardX import SummaryWriter

from restem_jax import io


def write_scalars(tb_dir: str, evals: Sequence[dict], rows: Sequence[dict]) -> None:
  """`evals` rows: {"iteration", "run", metric: value}; `rows`: M-step rows with "step"."""
  with tempfile.TemporaryDirectory(prefix="restem_tb_") as local:
    with SummaryWriter(local) as tb:
      for row in evals:
        for k, v in row.items():
          if k not in ("iteration", "run"):
            tb.add_scalar(f"eval/{k}", v, row["iteration"])
      for row in rows:
        for k, v in row.items():
          if k not in ("iteration", "run", "step"):
            tb.add_scalar(f"{row['run']}/{k}", v, row["step"])
    io.write_tree_atomic(tb_dir, local)  # a rerun replaces the events, adds no second file
