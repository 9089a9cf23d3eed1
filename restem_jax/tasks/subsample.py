"""`task.*_limit`: a seeded subsample stratified by difficulty and subject, not the file head.

Data files are often sorted (MATH by subject: its first 1,000 train problems are all
Prealgebra, its first 500 test problems all Algebra), so "the first `limit` rows" is a
biased sample. `stratified` draws `limit` problems by systematic sampling over the
problems ordered by (subject, difficulty, seeded random key): every (n / limit)-th one
from a seeded random start. Each subject then gets its proportional share of the
`limit` (floor or ceil of limit * n_subject / n), and so does each (subject, difficulty)
stratum, while inside a stratum the pick is random. The draw depends on (seed, split)
only, and the result keeps file order.

Held-out splits stay disjoint: the limit is applied to each split after the split is
formed (validation is carved from train before), so a subsample of a split is a subset
of that split.
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

from restem_jax.tasks.problem import Problem


def stratum(problem: Problem) -> tuple[str, str]:
  """(subject, difficulty); subject from the payload's `subject`/`type`, '' if none."""
  payload = problem.checker_payload or {}
  subject = payload.get("subject") or payload.get("type") or ""
  return str(subject), problem.difficulty


def stratified(problems: Sequence[Problem], limit: int, *, seed: int,
               split: str) -> list[Problem]:
  """`limit` problems drawn as described in the module docstring (all if fewer)."""
  if limit < 0:
    raise ValueError(f"task limit must be >= 0 (0 = no limit), got {limit}")
  if not limit or limit >= len(problems):
    return list(problems)
  rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
  tiebreak = rng.random(len(problems))
  order = sorted(range(len(problems)), key=lambda i: (stratum(problems[i]), tiebreak[i]))
  step = len(problems) / limit
  start = rng.random() * step
  keep = {order[int(start + j * step)] for j in range(limit)}
  return [p for i, p in enumerate(problems) if i in keep]
