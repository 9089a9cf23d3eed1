"""Evaluation and bookkeeping metrics for ReST-EM (pure Python, no JAX).

Every function here takes plain lists/dicts of booleans, strings and counts, so
the loop can compute them on the host from verifier verdicts and the report can
recompute them from JSON:

- ``pass_at_k`` / ``mean_pass_at_k``: unbiased pass@k (Chen et al., 2021), the
  metric of the paper's Figure 5.
- maj@k (Figure 5) lives in ``evaluation/majority.py``: an expectation over k-subsets.
- the Figure 8 (right) buckets live in ``evaluation/buckets.py``.
- ``verdict_counts`` / ``estep_yield`` / ``timeout_rate``: how much usable data
  an E-step produced, and how much of it was lost to time limits.
"""

from __future__ import annotations

from typing import Hashable, Mapping, Sequence

from restem_jax.verify.verdict import STATUSES

FLOPS_PER_PARAM_TOKEN = {'forward': 2, 'train': 6}


def pass_at_k(n: int, c: int, k: int) -> float:
  """Unbiased pass@k estimate for one problem from n samples, c of them correct.

  pass@k = 1 - C(n-c, k) / C(n, k), computed as the stable product
  1 - prod_{i=n-c+1}^{n} (1 - k / i)  (Chen et al., 2021, Figure 3),
  which never forms the large binomials. If n - c < k every size-k subset
  contains a correct sample and the estimate is exactly 1.

  Raises:
    ValueError: if k > n, k < 1, or c is outside [0, n].
  """
  if k < 1:
    raise ValueError(f'pass@k needs k >= 1, got k={k}')
  if k > n:
    raise ValueError(f'pass@k needs k <= n, got n={n} samples and k={k}')
  if not 0 <= c <= n:
    raise ValueError(f'pass@k needs 0 <= c <= n, got c={c}, n={n}')
  if n - c < k:
    return 1.0
  prob_all_wrong = 1.0
  for i in range(n - c + 1, n + 1):
    prob_all_wrong *= 1.0 - k / i
  return 1.0 - prob_all_wrong


def mean_pass_at_k(correct: Sequence[Sequence[bool]],
                   ks: Sequence[int]) -> dict[int, float]:
  """Mean over problems of ``pass_at_k(n_i, c_i, k)`` for each k in ``ks``.

  Args:
    correct: per problem, the correctness of each of its n_i samples.
    ks: the k values to report.

  Returns:
    ``{k: mean_i pass@k_i}`` with int keys, in the order of ``ks``.

  Raises:
    ValueError: if there are no problems, or some problem has fewer samples
      than a requested k (it names the problem index, n and k). We raise
      rather than silently drop the problem or the k, because either would
      change what the number means; ask only for ks <= min_i n_i.
  """
  if not correct:
    raise ValueError('mean_pass_at_k needs at least one problem')
  out = {}
  for k in ks:
    total = 0.0
    for idx, flags in enumerate(correct):
      n = len(flags)
      if k > n:
        raise ValueError(
            f'problem {idx} has n={n} samples, fewer than k={k}; '
            f'request only ks <= {min(len(f) for f in correct)}')
      total += pass_at_k(n, sum(bool(f) for f in flags), k)
    out[int(k)] = total / len(correct)
  return out


def verdict_counts(verdicts: Sequence[str]) -> dict[str, int]:
  """Count verdict statuses; all of correct/incorrect/timeout/error present.

  Raises:
    ValueError: on a status outside ``restem_jax.verify.verdict.STATUSES``.
  """
  counts = {s: 0 for s in STATUSES}
  for v in verdicts:
    if v not in counts:
      raise ValueError(f'unknown verdict status {v!r}; expected one of {STATUSES}')
    counts[v] += 1
  return counts


def timeout_rate(counts: Mapping[str, int]) -> float:
  """Fraction of verdicts that are ``timeout`` (0.0 when there are none).

  A run whose kept set depends on machine load shows up here first: code
  checkers limit CPU time per test, so this should stay near the share of
  genuinely non-terminating samples.
  """
  total = sum(counts.get(s, 0) for s in STATUSES)
  return counts.get('timeout', 0) / total if total else 0.0


def estep_yield(per_problem_kept: Mapping[Hashable, int], num_samples: int,
                cap: int | None) -> dict[str, float | int]:
  """How much training data one E-step produced.

  Args:
    per_problem_kept: problem id -> number of correct samples kept for it
      (after the per-problem cap), for every problem sampled, including 0s.
    num_samples: samples drawn per problem.
    cap: the per-problem cap on kept samples; None means no cap, in which case
      saturation is measured against num_samples (all samples correct).

  Returns:
    num_problems, kept (total), solved_fraction (problems with kept >= 1 /
    num_problems), cap_saturation (problems with kept == limit / num_problems,
    limit = min(cap, num_samples)) and keep_rate (kept / (num_problems *
    num_samples)). Fractions are 0.0 when there are no problems.

  Raises:
    ValueError: if some kept count is negative or above the limit.
  """
  limit = num_samples if cap is None else min(cap, num_samples)
  for pid, kept in per_problem_kept.items():
    if not 0 <= kept <= limit:
      raise ValueError(f'problem {pid!r} kept {kept} samples, outside [0, {limit}]')
  n = len(per_problem_kept)
  kept_total = int(sum(per_problem_kept.values()))
  solved = sum(1 for v in per_problem_kept.values() if v >= 1)
  saturated = sum(1 for v in per_problem_kept.values() if limit > 0 and v >= limit)
  return {
      'num_problems': n,
      'kept': kept_total,
      'solved_fraction': solved / n if n else 0.0,
      'cap_saturation': saturated / n if n else 0.0,
      'keep_rate': kept_total / (n * num_samples) if n and num_samples else 0.0,
  }
