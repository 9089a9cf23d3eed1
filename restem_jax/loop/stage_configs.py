"""The typed configs of the E-step and of evaluation (`run_config` builds them).

Kept apart from `estep/generate.py` and `evaluation/evaluate.py`, which import the
verifier pool, so that building a run's configs (`python -m restem_jax.plan` does) starts
no verifier code.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class EStepConfig:
  num_samples: int = 32       # N per problem (paper: 32 MATH, 64 APPS)
  max_per_problem: int = 10   # cap on kept correct samples per problem (paper: 10)
  dedup: bool = True          # drop correct samples of one problem whose trained ids repeat
  chunk_problems: int = 64    # problems per resumable chunk


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  num_samples: int = 8            # n per test problem for pass@k / maj@k (0 = greedy only)
  ks: tuple[int, ...] = (1, 2, 4, 8)
  temperature: float = 1.0        # paper: 1.0
  top_p: float = 0.95             # paper: 0.95
  top_k: int = 0                  # 0 = no top-k filter
  train_limit: int = 0            # train problems in the greedy train pass@1 (train/test gap):
                                  # a stratified subsample; 0 = the whole train split

  def __post_init__(self):
    if self.num_samples < 0:
      raise ValueError(f"eval.num_samples={self.num_samples} must be >= 0.")
    if self.train_limit < 0:
      raise ValueError(f"eval.train_limit={self.train_limit} must be >= 0 (0 = all).")
    bad = [k for k in self.ks if k < 1 or (self.num_samples and k > self.num_samples)]
    if bad:
      raise ValueError(f"eval.ks={self.ks}: every k must be in [1, eval.num_samples="
                       f"{self.num_samples}]; bad: {bad}.")
