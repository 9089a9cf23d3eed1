"""Sequence packing: (prompt ids, target ids, weight) examples -> fixed [rows, T] arrays.

Each example becomes inputs = seq[:-1], targets = seq[1:] with seq = prompt + target;
the loss mask is on positions whose *target* token belongs to the target part
(prompt and padding never contribute). Examples are packed first-fit into rows
with segment ids 1, 2, ... (0 = padding) and positions restarting per segment,
so packed examples never attend to each other.
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


def _fit(example: Example, seq_len: int) -> tuple[np.ndarray, int]:
  """Concatenated ids (len <= seq_len + 1) and the index where the target starts.

  A too-long prompt is cut from the left (oldest few-shot context first); a
  target that alone does not fit is an error.
  """
  target = np.asarray(example.target, np.int32)
  prompt = np.asarray(example.prompt, np.int32)
  if len(target) == 0:
    raise ValueError("packing: an example has an empty target.")
  if len(target) > seq_len + (1 if len(prompt) == 0 else 0):
    raise ValueError(f"packing: target of {len(target)} tokens does not fit seq_len={seq_len}; "
                     "raise train.seq_len.")
  room = seq_len + 1 - len(target)
  prompt = prompt[max(len(prompt) - room, 0):]
  return np.concatenate([prompt, target]), len(prompt)


def pack(examples: Sequence[Example], seq_len: int, num_rows: int | None = None) -> PackedBatch:
  """First-fit packing in the given order. `num_rows` pads (or errors if too few)."""
  rows: list[list[tuple[np.ndarray, int, float]]] = []
  used: list[int] = []
  for ex in examples:
    seq, t0 = _fit(ex, seq_len)
    need = len(seq) - 1 if len(seq) > 1 else 1
    for r, u in enumerate(used):
      if u + need <= seq_len:
        rows[r].append((seq, t0, ex.weight))
        used[r] += need
        break
    else:
      rows.append([(seq, t0, ex.weight)])
      used.append(need)
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
