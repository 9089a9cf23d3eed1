"""Synthetic ReST-EM-shaped data for the benchmarks: prompts and sample lengths.

Sample lengths follow what an E-step produces on math/code problems: a few-shot
prompt of 40-160 tokens and a completion whose length is log-normal (median ~80,
clipped to [8, 400]), so a batch mixes many short and a few long samples.
"""

from __future__ import annotations

import numpy as np

from restem_jax.training import packing


def restem_examples(rng: np.random.Generator, vocab_size: int, count: int,
                    max_total: int) -> list[packing.Example]:
  examples = []
  for _ in range(count):
    n_prompt = int(rng.integers(40, 161))
    n_target = int(np.clip(rng.lognormal(np.log(80), 0.7), 8, 400))
    n_target = min(n_target, max_total - n_prompt)
    examples.append(packing.Example(
        prompt=rng.integers(2, vocab_size, n_prompt).astype(np.int32),
        target=rng.integers(2, vocab_size, n_target).astype(np.int32), weight=1.0))
  return examples


def padded(examples, seq_len: int) -> packing.PackedBatch:
  """One example per row (the no-packing baseline), same arrays as `packing.pack`."""
  rows = [packing.pack([ex], seq_len, num_rows=1) for ex in examples]
  return packing.PackedBatch(**{k: np.concatenate([r.as_dict()[k] for r in rows])
                                for k in rows[0].as_dict()})


def as_train_batch(batch: packing.PackedBatch) -> dict[str, np.ndarray]:
  """[R, T] arrays -> the trainer's [A=1, R, T] batch dict."""
  return {k: v[None] for k, v in batch.as_dict().items()}
