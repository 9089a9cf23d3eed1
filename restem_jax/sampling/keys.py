"""Reproducible sampling keys: one per (seed, iteration, problem, sample).

The key of sample j of problem p in iteration i does not depend on batch
composition, batch size or device count, so any shard of an E-step can be
regenerated after a crash. Step t of a row uses fold_in(row_key, t).
"""

from __future__ import annotations

import zlib

import jax


def problem_index(problem_id: str) -> int:
  """Stable 31-bit integer for a problem id string (crc32; same on every host)."""
  return zlib.crc32(problem_id.encode("utf-8")) & 0x7FFFFFFF


def row_keys(seed: int, iteration, problem_idx_B, sample_idx_N):
  """Keys for rows laid out problem-major: row b * N + n -> (problem b, sample n).

  Args:
    seed: Python int run seed.
    iteration: int or int32 scalar (traced is fine).
    problem_idx_B: int32 [B] stable problem indices.
    sample_idx_N: int32 [N] sample indices (e.g. offset + arange(N)).
  Returns:
    typed key array [B * N].
  """
  base = jax.random.fold_in(jax.random.key(seed), iteration)
  per_problem = jax.vmap(lambda p: jax.random.fold_in(base, p))(problem_idx_B)
  keys_BxN = jax.vmap(lambda k: jax.vmap(lambda j: jax.random.fold_in(k, j))(sample_idx_N))(
      per_problem)
  return keys_BxN.reshape(-1)


def step_keys(keys_R, step):
  return jax.vmap(lambda k: jax.random.fold_in(k, step))(keys_R)
