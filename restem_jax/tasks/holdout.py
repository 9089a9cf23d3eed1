"""A deterministic, seeded validation slice held out from a training file.

Data sets that ship only train and test (MATH, GSM8K, APPS) get their validation split
from here: `VALIDATION_FRACTION` of the training records (at most `MAX_VALIDATION`,
at least one when there are two or more), chosen by a seeded permutation. Both returned
lists keep file order, so ids and order are stable for a given (file, seed).
"""

from __future__ import annotations

from typing import Sequence, TypeVar

import numpy as np

T = TypeVar("T")
VALIDATION_FRACTION = 0.1
MAX_VALIDATION = 500


def validation_size(n: int) -> int:
  if n < 2:
    return 0
  return max(1, min(MAX_VALIDATION, int(n * VALIDATION_FRACTION)))


def split_train_validation(items: Sequence[T], seed: int) -> tuple[list[T], list[T]]:
  """(train, validation): a disjoint partition of `items`, fixed by `seed`."""
  n = len(items)
  held = set(np.random.default_rng(seed).permutation(n)[:validation_size(n)].tolist())
  train = [x for i, x in enumerate(items) if i not in held]
  validation = [x for i, x in enumerate(items) if i in held]
  return train, validation


def pick_split(items: Sequence[T], split: str, seed: int) -> list[T]:
  """The 'train' or 'validation' part of a training file's records."""
  train, validation = split_train_validation(items, seed)
  return train if split == "train" else validation


def split_rows_without_shots(data_dir: str, relpath: str, task: str, split: str, seed: int,
                             shot_texts, text_key: str) -> list[tuple[int, dict]]:
  """(line index, record) pairs of a split: few-shot exemplars removed, validation
  carved from train with `pick_split` (the test file is used whole)."""
  from restem_jax.tasks import records  # pylint: disable=g-import-not-at-top
  shots = {records.normalize_text(t) for t in shot_texts}
  rows = [(i, r) for i, r in enumerate(records.read_jsonl(data_dir, relpath, task))
          if records.normalize_text(r[text_key]) not in shots]
  return rows if split == "test" else pick_split(rows, split, seed)
