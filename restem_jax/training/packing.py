"""Sequence packing: (prompt ids, target ids, weight) examples -> fixed [rows, T] arrays.

Each example becomes inputs = seq[:-1], targets = seq[1:] with seq = prompt + target;
the loss mask is on positions whose *target* token belongs to the target part
(prompt and padding never contribute). Examples are packed first-fit into rows
with segment ids 1, 2, ... (0 = padding) and positions restarting per segment,
so packed examples never attend to each other. Examples are never cut: one that does
not fit a row is an error in `pack`; callers drop and count them (`split_overlong`)
and shuffle with a seed (`shuffled`) before packing.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Example:
  prompt: np.ndarray   # int32 ids, may be empty (pretraining)
  target: np.ndarray   # int32 ids the loss is applied to (include EOS to learn to stop)
  weight: float = 1.0  # reward r(x, y)


@dataclasses.dataclass(frozen=True)
class PackedBatch:
  inputs: np.ndarray       # int32 [R, T]
  targets: np.ndarray      # int32 [R, T]
  segment_ids: np.ndarray  # int32 [R, T], 0 = padding
  positions: np.ndarray    # int32 [R, T]
  loss_mask: np.ndarray    # float32 [R, T], 1 on target tokens
  weights: np.ndarray      # float32 [R, T], reward on target tokens, else 0

  def as_dict(self) -> dict[str, np.ndarray]:
    return dataclasses.asdict(self)

  @property
  def num_rows(self) -> int:
    return self.inputs.shape[0]


def fits(example: Example, seq_len: int) -> bool:
  """Whether prompt + target fits one row (inputs and targets are seq[:-1], seq[1:])."""
  return len(example.prompt) + len(example.target) <= seq_len + 1


def split_overlong(examples: Sequence[Example], seq_len: int
                   ) -> tuple[list[Example], list[Example]]:
  """(examples that fit a row, examples that do not); never cuts an example."""
  keep, drop = [], []
  for ex in examples:
    (keep if fits(ex, seq_len) else drop).append(ex)
  return keep, drop


def shuffled(examples: Sequence[Example], seed: int) -> list[Example]:
  """A seeded permutation, so one problem's samples do not share rows every epoch."""
  perm = np.random.default_rng([seed, 0x5EED]).permutation(len(examples))
  return [examples[i] for i in perm]


def _fit(example: Example, seq_len: int) -> tuple[np.ndarray, int]:
  """Concatenated ids (len <= seq_len + 1) and the index where the target starts.

  An example that does not fit is an error: cutting it would train on a context the
  sampler never saw (callers drop and count over-long examples with `split_overlong`).
  """
  target = np.asarray(example.target, np.int32)
  prompt = np.asarray(example.prompt, np.int32)
  if len(target) == 0:
    raise ValueError("packing: an example has an empty target.")
  if not fits(example, seq_len):
    raise ValueError(f"packing: an example of {len(prompt)} prompt + {len(target)} target "
                     f"tokens does not fit train.seq_len={seq_len} (needs "
                     f"{len(prompt) + len(target) - 1}); raise train.seq_len or drop it.")
  return np.concatenate([prompt, target]), len(prompt)


class _FirstFit:
  """Rows of capacity `seq_len`; `place(need)` -> index of the first row with room.

  A max-segment-tree over the rows' free space makes each placement O(log n); rows
  not yet opened have full capacity, so the first fitting leaf is exactly first-fit.
  """

  def __init__(self, max_rows: int, seq_len: int):
    self.size = 1 << max(max_rows - 1, 0).bit_length()
    self.free = [seq_len] * (2 * self.size)

  def place(self, need: int) -> int:
    free, i = self.free, 1
    while i < self.size:
      i = 2 * i if free[2 * i] >= need else 2 * i + 1
    row = i - self.size
    free[i] -= need
    i //= 2
    while i:
      free[i] = max(free[2 * i], free[2 * i + 1])
      i //= 2
    return row


def pack(examples: Sequence[Example], seq_len: int, num_rows: int | None = None) -> PackedBatch:
  """First-fit packing in the given order (O(n log n)). `num_rows` pads (or errors if too few)."""
  slots = _FirstFit(len(examples), seq_len)
  rows: list[list[tuple[np.ndarray, int, float]]] = []
  for ex in examples:
    seq, t0 = _fit(ex, seq_len)
    r = slots.place(len(seq) - 1 if len(seq) > 1 else 1)
    if r == len(rows):
      rows.append([])
    rows[r].append((seq, t0, ex.weight))
  n = len(rows) if num_rows is None else num_rows
  if len(rows) > n:
    raise ValueError(f"packing: {len(examples)} examples need {len(rows)} rows > num_rows={n}.")
  arr = {k: np.zeros((max(n, 1), seq_len), np.int32)
         for k in ("inputs", "targets", "segment_ids", "positions")}
  loss_mask = np.zeros((max(n, 1), seq_len), np.float32)
  weights = np.zeros((max(n, 1), seq_len), np.float32)
  for r, row in enumerate(rows):
    col = 0
    for seg, (seq, t0, w) in enumerate(row, start=1):
      if len(seq) == 1:  # a lone token with no prompt has nothing to predict it from
        continue
      k = len(seq) - 1
      sl = slice(col, col + k)
      arr["inputs"][r, sl], arr["targets"][r, sl] = seq[:-1], seq[1:]
      arr["segment_ids"][r, sl], arr["positions"][r, sl] = seg, np.arange(k)
      target_pos = np.arange(k) >= max(t0 - 1, 0)
      loss_mask[r, sl] = target_pos
      weights[r, sl] = target_pos * w
      col += k
  return PackedBatch(arr["inputs"], arr["targets"], arr["segment_ids"], arr["positions"],
                     loss_mask, weights)


def pad_to_multiple(batch: PackedBatch, multiple: int) -> PackedBatch:
  """Adds all-padding rows so the row count divides `multiple`."""
  extra = -batch.num_rows % multiple
  if not extra:
    return batch
  return PackedBatch(**{k: np.concatenate([v, np.zeros((extra,) + v.shape[1:], v.dtype)])
                        for k, v in batch.as_dict().items()})
