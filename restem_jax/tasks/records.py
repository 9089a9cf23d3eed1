"""Reading a task's native records from `data_dir`, and the checks every loader shares.

Data always comes from local files under the user's `task.data_dir` (layout as in
`/work/shared/data/<dataset>/...`); a missing file is a `FileNotFoundError` that names
the file and the config field to fix. Records a loader cannot use (no gold answer)
are skipped and counted in one logged warning, never a crash.
"""

from __future__ import annotations

import collections
import logging
import os
from typing import Iterable

from restem_jax.io import jsonl
from restem_jax.tasks.problem import Problem
from restem_jax.tasks.registry import SPLITS

log = logging.getLogger(__name__)


def data_path(data_dir: str, relpath: str, task: str) -> str:
  """`data_dir/relpath`, or a FileNotFoundError saying what to set if it is absent."""
  path = os.path.join(data_dir, relpath)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f"{task}: data file {relpath!r} not found at {os.path.abspath(path)!r}. "
        f"Set task.data_dir (now {data_dir!r}) to a folder holding {relpath} "
        f"(layout as in /work/shared/data; see docs/tasks.md).")
  return path


def read_jsonl(data_dir: str, relpath: str, task: str) -> list[dict]:
  """All records of a .jsonl or .jsonl.gz file, in file order (a bad line: a ValueError
  naming the task, file and line)."""
  path = data_path(data_dir, relpath, task)
  try:
    return [row for _, row in jsonl.read_objects(path)]
  except jsonl.JsonlLineError as e:
    raise ValueError(f"{task}: {e}") from e


def check_split(task: str, split: str) -> None:
  if split not in SPLITS:
    raise ValueError(f"{task}: unknown split {split!r}; expected one of {SPLITS}")


class SkipCounter:
  """Counts skipped records by reason; `report` logs one warning with the totals."""

  def __init__(self, task: str, split: str):
    self.task, self.split = task, split
    self.reasons: collections.Counter[str] = collections.Counter()

  def skip(self, reason: str) -> None:
    self.reasons[reason] += 1

  def report(self, kept: int) -> None:
    if self.reasons:
      total = sum(self.reasons.values())
      detail = ", ".join(f"{r}: {n}" for r, n in sorted(self.reasons.items()))
      log.warning("%s/%s: skipped %d of %d records (%s)", self.task, self.split, total,
                  total + kept, detail)


def unique_ids(problems: Iterable[Problem]) -> list[Problem]:
  """The problems as a list, after checking that no id repeats."""
  problems = list(problems)
  counts = collections.Counter(p.id for p in problems)
  dupes = [i for i, n in counts.items() if n > 1]
  if dupes:
    raise ValueError(f"duplicate problem ids: {dupes[:5]} ({len(dupes)} in all)")
  return problems


def normalize_text(text: str) -> str:
  """Whitespace-free form of a question, for matching few-shot examples to records."""
  return "".join(text.split())

