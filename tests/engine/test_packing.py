"""Packing: exact first-fit in O(n log n), never cuts an example, seeded example shuffle."""

import time

import numpy as np
import pytest

from restem_jax.training import packing, trainer
from restem_jax.training.trainer import TrainLoopConfig


def _examples(rng, n, prompt=(5, 30), target=(2, 30)):
  return [packing.Example(rng.integers(3, 90, rng.integers(*prompt)).astype(np.int32),
                          rng.integers(3, 90, rng.integers(*target)).astype(np.int32),
                          float(rng.integers(1, 3))) for _ in range(n)]


def _reference_first_fit(examples, seq_len):
  """The quadratic scan over open rows: row index of every example."""
  used, where = [], []
  for ex in examples:
    need = len(ex.prompt) + len(ex.target) - 1
    for r, u in enumerate(used):
      if u + need <= seq_len:
        used[r] += need
        where.append(r)
        break
    else:
      used.append(need)
      where.append(len(used) - 1)
  return where, len(used)


def test_first_fit_rows_match_the_reference_scan():
  rng = np.random.default_rng(0)
  exs = _examples(rng, 300)
  where, n_rows = _reference_first_fit(exs, 64)
  b = packing.pack(exs, 64)
  assert b.num_rows == n_rows
  # Rebuild each row's segments from the reference assignment and compare the arrays.
  for r in range(n_rows):
    mine = [exs[i] for i, w in enumerate(where) if w == r]
    one = packing.pack(mine, 64, num_rows=1)
    for k in ("inputs", "targets", "segment_ids", "positions", "loss_mask", "weights"):
      np.testing.assert_array_equal(getattr(b, k)[r], getattr(one, k)[0], err_msg=f"{k} row {r}")


def test_packing_is_fast_at_math_scale():
  """75k examples that each nearly fill a row: one row each, so a scan over open rows
  is ~2.8e9 steps (hours); the segment tree is ~17 steps per example."""
  rng = np.random.default_rng(1)
  n, seq_len = 75_000, 64
  exs = [packing.Example(np.full(int(p), 7, np.int32), np.full(int(t), 8, np.int32))
         for p, t in zip(rng.integers(20, 34, n), rng.integers(20, 32, n))]
  t0 = time.perf_counter()
  b = packing.pack(exs, seq_len)
  seconds = time.perf_counter() - t0
  assert b.num_rows >= n // 2
  assert seconds < 30, f"packing 75k examples took {seconds:.1f}s"


def test_overlong_example_is_an_error_not_cut_from_the_left():
  ex = packing.Example(np.arange(3, 23, dtype=np.int32), np.array([5, 6, 1], np.int32))
  with pytest.raises(ValueError, match=r"20 prompt \+ 3 target.*train.seq_len=16"):
    packing.pack([ex], seq_len=16)


def test_trainer_drops_and_counts_overlong_examples():
  fits = packing.Example(np.arange(3, 8, dtype=np.int32), np.array([5, 6, 1], np.int32))
  long = packing.Example(np.arange(3, 23, dtype=np.int32), np.array([5, 6, 1], np.int32))
  kept, dropped = trainer.prepare([fits, long, fits], TrainLoopConfig(seq_len=16))
  assert dropped == 1 and len(kept) == 2 and all(len(e.prompt) == 5 for e in kept)
  with pytest.raises(ValueError, match="all 1 examples.*train.seq_len=16"):
    trainer.prepare([long], TrainLoopConfig(seq_len=16))


def test_examples_are_shuffled_with_the_seed():
  # Problem-major input: 10 problems x 10 samples, the problem id in the first prompt token.
  exs = [packing.Example(np.array([3 + p, 4], np.int32), np.array([5, 1], np.int32))
         for p in range(10) for _ in range(10)]
  ids = lambda xs: [int(e.prompt[0]) for e in xs]
  a, b, c = packing.shuffled(exs, 0), packing.shuffled(exs, 0), packing.shuffled(exs, 1)
  assert ids(a) == ids(b) != ids(c)
  assert sorted(ids(a)) == ids(exs)
  # A packed row (4 examples of 4 tokens at seq_len 16) mixes problems.
  rows = packing.pack(a, 16)
  firsts = [set(rows.inputs[r][rows.positions[r] == 0].tolist()) for r in range(rows.num_rows)]
  assert sum(len(f) > 1 for f in firsts) > rows.num_rows // 2
