"""Checks a run makes after loading its problems and before any expensive stage.

  validation split  The M-step's early stopping needs D_val. A task without one is
                    refused unless `loop.val_on_train=True`, which stops on *train*
                    reward instead: warned loudly and stated in the report.
  train rows        train.rows_per_micro must split over the data-parallel devices; checked
                    when the mesh is built, not when the first M-step builds its trainer.
  SFT references    The SFT baseline needs reference solutions. Without any, the
                    baseline is skipped with a warning (mode 'sft' is refused), before
                    the base model is even evaluated.

`check(...)` returns the notes the summary and report carry ({'id': text}).
"""

from __future__ import annotations

from typing import Sequence

from absl import logging

from restem_jax.loop.modes import LoopConfig
from restem_jax.tasks.problem import Problem


def check_train_rows(rows_per_micro: int, data_parallel: int) -> None:
  if rows_per_micro % data_parallel:
    raise ValueError(f"train.rows_per_micro={rows_per_micro} must be a multiple of the "
                     f"data-parallel size {data_parallel} (mesh data x fsdp); set "
                     f"--config.train.rows_per_micro={-(-rows_per_micro // data_parallel) * data_parallel}.")


def check_validation(task: str, loop: LoopConfig, validation: Sequence[Problem]) -> dict:
  if validation or loop.iterations == 0 and not loop.runs_sft:
    return {}
  if not loop.val_on_train:
    raise ValueError(
        f"task {task!r} has no validation problems, so the M-step would early-stop and pick "
        "its step on *train* reward. Use a task/limit with a validation split "
        "(config.task.val_limit), or set config.loop.val_on_train=True to accept that.")
  text = (f"task {task!r} has no validation split: the M-step early-stops and selects its "
          "step on TRAIN reward (config.loop.val_on_train=True); the selected step is "
          "biased towards the kept set.")
  logging.warning("!" * 20 + " %s " + "!" * 20, text)
  return {"val_on_train": text}


def sft_runs(task: str, loop: LoopConfig, train: Sequence[Problem]) -> tuple[bool, dict]:
  """(whether the SFT stage runs, notes)."""
  if not loop.runs_sft:
    return False, {}
  if any(p.reference_solution for p in train):
    return True, {}
  if loop.mode == "sft":
    raise ValueError(f"loop.mode='sft': task {task!r} has no train problem with a reference "
                     "solution, so there is nothing to fine-tune on.")
  text = (f"task {task!r} has no reference solutions: the SFT baseline was skipped "
          "(config.loop.sft_baseline=False silences this).")
  logging.warning("%s", text)
  return False, {"sft_skipped": text}
