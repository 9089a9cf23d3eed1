"""maj@k: majority-voting accuracy as an expectation over k-subsets of the n samples.

Self-consistency (Wang et al., 2023), the maj@k curve of the paper's Figure 5. With n
samples per problem and k < n, scoring the vote over the *first* k samples uses one
arbitrary subset and throws the other n - k samples away. Like the unbiased pass@k
estimator (Chen et al., 2021), we report the expectation over all C(n, k) subsets of
size k drawn without replacement:

  maj@k = (1/P) sum_i E_{S subset of [n_i], |S| = k} [ vote(S) of problem i is correct ]

- Votes: samples are grouped by ``normalize(answer)``; a sample with no extracted
  answer (None) never votes. The group with the most votes in S wins; a tie between t
  groups counts 1/t for each tied group (the expectation of a uniformly random
  tie-break, so the estimate does not depend on sample order). A subset in which no
  sample has an answer is wrong.
- A group is correct if any of its members was judged correct by the verifier (or, with
  a callable ``correct``, if ``correct(problem_index, first raw answer of the group)``).
- Exact when C(n, k) <= ``max_exact_subsets`` (every subset enumerated), else Monte
  Carlo over ``mc_subsets`` subsets drawn with ``numpy.random.default_rng(seed)`` (a
  fixed key: the number is reproducible). ``ESTIMATOR`` states this for the report.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, Sequence

import numpy as np

MAX_EXACT_SUBSETS = 20_000
MC_SUBSETS = 4_096
MC_SEED = 0
ESTIMATOR = (
    'maj@k = mean over problems of the expected majority-vote correctness over all '
    f'size-k subsets of the n samples (exact when C(n,k) <= {MAX_EXACT_SUBSETS}, else Monte '
    f'Carlo over {MC_SUBSETS} subsets with a fixed seed); ties between t answers count '
    '1/t each; samples without an answer do not vote.')


def _strip(answer: str) -> str:
  return answer.strip()


def _groups(answers, normalize):
  """Per sample its group id (-1: no answer), and the first member of each group."""
  ids, gid, first = [], {}, []
  for j, answer in enumerate(answers):
    if answer is None:
      ids.append(-1)
      continue
    key = normalize(answer)
    if key not in gid:
      gid[key] = len(first)
      first.append(j)
    ids.append(gid[key])
  return np.asarray(ids, np.int64), first


def _subsets(n: int, k: int, max_exact: int, mc_subsets: int, seed: int) -> np.ndarray:
  """Index subsets [S, k]: all of them, or ``mc_subsets`` uniform draws."""
  if math.comb(n, k) <= max_exact:
    return np.asarray(list(itertools.combinations(range(n), k)), np.int64).reshape(-1, k)
  rng = np.random.default_rng(seed)
  return np.argsort(rng.random((mc_subsets, n)), axis=1)[:, :k]


def expected_vote_correct(group_ids: np.ndarray, group_correct: np.ndarray, k: int, *,
                          max_exact_subsets: int = MAX_EXACT_SUBSETS,
                          mc_subsets: int = MC_SUBSETS, seed: int = MC_SEED) -> float:
  """E over size-k subsets of [vote correct] for one problem (see module docstring)."""
  n, num_groups = len(group_ids), len(group_correct)
  if num_groups == 0:
    return 0.0
  subsets_SxK = _subsets(n, k, max_exact_subsets, mc_subsets, seed)
  ids_SxK = group_ids[subsets_SxK]
  onehot_SxKxG = ids_SxK[:, :, None] == np.arange(num_groups)[None, None, :]
  votes_SxG = onehot_SxKxG.sum(axis=1)
  top_S = votes_SxG.max(axis=1)
  tied_SxG = (votes_SxG == top_S[:, None]) & (top_S[:, None] > 0)
  right_S = (tied_SxG & group_correct[None, :]).sum(axis=1)
  share_S = np.where(top_S > 0, right_S / np.maximum(tied_SxG.sum(axis=1), 1), 0.0)
  return float(share_S.mean())


def maj_at_k(answers: Sequence[Sequence[str | None]],
             correct: Sequence[Sequence[bool]] | Callable[[int, str], bool], k: int,
             normalize: Callable[[str], str] = _strip, *,
             max_exact_subsets: int = MAX_EXACT_SUBSETS, mc_subsets: int = MC_SUBSETS,
             seed: int = MC_SEED) -> float:
  """maj@k over problems (see the module docstring for the estimator).

  Args:
    answers: per problem, the extracted answer of each of its n_i samples (None: none).
    correct: per problem, the verifier's correctness of each sample; or a callable
      ``(problem_index, answer) -> bool`` judging an answer string.
    k: votes per subset, 1 <= k <= n_i for every problem.
    normalize: the key under which answers are the same vote.

  Raises:
    ValueError: on no problems, k out of range for some problem (naming it), or flag
      lists whose lengths differ from the answer lists.
  """
  if not answers:
    raise ValueError('maj_at_k needs at least one problem')
  flags = None if callable(correct) else correct
  if flags is not None and len(flags) != len(answers):
    raise ValueError(f'{len(answers)} answer lists but {len(flags)} flag lists')
  total = 0.0
  for i, problem_answers in enumerate(answers):
    n = len(problem_answers)
    if not 1 <= k <= n:
      raise ValueError(f'problem {i} has n={n} samples; maj@k needs 1 <= k={k} <= n')
    ids, first = _groups(problem_answers, normalize)
    if flags is None:
      group_correct = [bool(correct(i, problem_answers[j])) for j in first]
    else:
      if len(flags[i]) != n:
        raise ValueError(f'problem {i}: {n} answers but {len(flags[i])} correctness flags')
      group_correct = [any(bool(flags[i][j]) for j in range(n) if ids[j] == g)
                       for g in range(len(first))]
    total += expected_vote_correct(ids, np.asarray(group_correct, bool), k,
                                   max_exact_subsets=max_exact_subsets,
                                   mc_subsets=mc_subsets, seed=seed)
  return total / len(answers)
