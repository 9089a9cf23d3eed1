"""Evaluation and bookkeeping metrics for ReST-EM (pure Python, no JAX).

Every function here takes plain lists/dicts of booleans, strings and counts, so
the loop can compute them on the host from verifier verdicts and the report can
recompute them from JSON:

- ``pass_at_k`` / ``mean_pass_at_k``: unbiased pass@k (Chen et al., 2021), the
  metric of the paper's Figure 5.
- ``majority_vote`` / ``maj_at_k``: self-consistency majority voting (Wang et
  al., 2023), also Figure 5.
- ``difficulty_breakdown``: accuracy per data-set difficulty label (MATH levels).
- ``benefit_buckets``: the Figure 8 (right) buckets by base-model success rate.
- ``verdict_counts`` / ``estep_yield`` / ``timeout_rate``: how much usable data
  an E-step produced, and how much of it was lost to time limits.
- ``flops_estimate``: the 2NT / 6NT compute rule of thumb.
"""

from __future__ import annotations

import collections
from typing import Callable, Hashable, Mapping, Sequence

from restem_jax.verify.verdict import STATUSES

# Figure 8 buckets, by the base model's sampled (T=1.0) success rate r.
# The paper names them "easy" 75-100%, "medium" 50-75%, "hard" 25-50% and
# "very hard" below 25%; we make the boundaries upper-inclusive:
#   easy:      r >  EASY_ABOVE                      (0.75, 1]
#   medium:    MEDIUM_ABOVE < r <= EASY_ABOVE       (0.5, 0.75]
#   hard:      HARD_ABOVE   < r <= MEDIUM_ABOVE     (0.25, 0.5]
#   very_hard: r <= HARD_ABOVE                      [0, 0.25]
EASY_ABOVE = 0.75
MEDIUM_ABOVE = 0.5
HARD_ABOVE = 0.25
BUCKETS = ('easy', 'medium', 'hard', 'very_hard')

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


def _strip(answer: str) -> str:
  return answer.strip()


def majority_vote(answers: Sequence[str | None], k: int,
                  normalize: Callable[[str], str] = _strip) -> int | None:
  """Index of the sample whose answer wins a majority vote over answers[:k].

  Answers are grouped by ``normalize(answer)``; ``None`` (no extracted answer)
  never takes part. The group with the most members wins; ties go to the
  group whose first member appears earliest. Returns that first member's
  index, or ``None`` if all of answers[:k] are ``None``.

  Raises:
    ValueError: if k < 1 or k > len(answers).
  """
  if not 1 <= k <= len(answers):
    raise ValueError(f'maj@k needs 1 <= k <= n, got n={len(answers)} and k={k}')
  counts: collections.Counter[str] = collections.Counter()
  first: dict[str, int] = {}
  for i, answer in enumerate(answers[:k]):
    if answer is None:
      continue
    key = normalize(answer)
    counts[key] += 1
    first.setdefault(key, i)
  if not counts:
    return None
  # `first` is in first-occurrence order and max() keeps the first maximum,
  # so ties go to the answer seen earliest.
  winner = max(first, key=counts.__getitem__)
  return first[winner]


def maj_at_k(answers: Sequence[Sequence[str | None]],
             correct: Sequence[Sequence[bool]] | Callable[[int, str], bool],
             k: int,
             normalize: Callable[[str], str] = _strip) -> float:
  """maj@k: fraction of problems whose majority-voted answer is correct.

  For problem i the vote is ``majority_vote(answers[i], k, normalize)`` (first
  k samples; None never wins; ties -> earliest first occurrence). The voted
  answer a* is scored as follows:

  - ``correct`` is a list of per-sample flags: a* is correct iff at least one
    of the first k samples whose normalised answer equals normalize(a*) is
    flagged correct (the verifier judged that sample right).
  - ``correct`` is a callable ``(problem_index, answer) -> bool``: it is called
    once with the first-occurring raw answer string of the winning group.

  A problem where all first-k answers are None counts as wrong.

  maj@k = (1/P) sum_i [a*_i is correct].

  Raises:
    ValueError: on no problems, k out of range for some problem, or flag
      lists whose lengths differ from the answer lists.
  """
  if not answers:
    raise ValueError('maj_at_k needs at least one problem')
  flags = None if callable(correct) else correct
  if flags is not None and len(flags) != len(answers):
    raise ValueError(f'{len(answers)} answer lists but {len(flags)} flag lists')
  hits = 0
  for i, problem_answers in enumerate(answers):
    if k > len(problem_answers):
      raise ValueError(
          f'problem {i} has n={len(problem_answers)} samples, fewer than k={k}')
    winner = majority_vote(problem_answers, k, normalize)
    if winner is None:
      continue
    if flags is None:
      hits += bool(correct(i, problem_answers[winner]))
      continue
    if len(flags[i]) != len(problem_answers):
      raise ValueError(f'problem {i}: {len(problem_answers)} answers but '
                       f'{len(flags[i])} correctness flags')
    key = normalize(problem_answers[winner])
    hits += any(
        bool(flags[i][j]) for j, a in enumerate(problem_answers[:k])
        if a is not None and normalize(a) == key)
  return hits / len(answers)


def difficulty_breakdown(
    correct_by_problem: Mapping[Hashable, bool],
    difficulty: Mapping[Hashable, str]) -> dict[str, dict[str, float | int]]:
  """Accuracy per difficulty label.

  Returns:
    ``{label: {"n": count, "accuracy": mean correctness}}``, labels sorted.

  Raises:
    ValueError: if a problem id has no difficulty label.
  """
  groups: dict[str, list[bool]] = collections.defaultdict(list)
  for pid, ok in correct_by_problem.items():
    if pid not in difficulty:
      raise ValueError(f'problem {pid!r} has no difficulty label')
    groups[difficulty[pid]].append(bool(ok))
  return {label: {'n': len(v), 'accuracy': sum(v) / len(v)}
          for label, v in sorted(groups.items())}


def bucket_of(rate: float) -> str:
  """Figure 8 bucket name for a base-model success rate (see module constants)."""
  if not 0.0 <= rate <= 1.0:
    raise ValueError(f'success rate must be in [0, 1], got {rate}')
  if rate > EASY_ABOVE:
    return 'easy'
  if rate > MEDIUM_ABOVE:
    return 'medium'
  if rate > HARD_ABOVE:
    return 'hard'
  return 'very_hard'


def benefit_buckets(base_rate: Mapping[Hashable, float],
                    before: Mapping[Hashable, bool],
                    after: Mapping[Hashable, bool]) -> dict[str, dict]:
  """Figure 8 (right): accuracy before/after ReST-EM per base-difficulty bucket.

  Each problem in ``base_rate`` (the base model's sampled success rate) goes in
  ``bucket_of(rate)``. Per bucket:
    n      = number of problems,
    before = mean of ``before[id]`` (e.g. base model greedy correctness),
    after  = mean of ``after[id]``  (e.g. fine-tuned model correctness),
    delta  = after - before.
  All four buckets are always present; an empty one has n=0 and
  before/after/delta = None (JSON-safe, unlike NaN).

  Raises:
    ValueError: if a problem of ``base_rate`` is missing from before/after.
  """
  groups: dict[str, list[tuple[bool, bool]]] = {b: [] for b in BUCKETS}
  for pid, rate in base_rate.items():
    if pid not in before or pid not in after:
      raise ValueError(f'problem {pid!r} missing from before/after results')
    groups[bucket_of(rate)].append((bool(before[pid]), bool(after[pid])))
  out = {}
  for name, pairs in groups.items():
    if not pairs:
      out[name] = {'n': 0, 'before': None, 'after': None, 'delta': None}
      continue
    b = sum(p[0] for p in pairs) / len(pairs)
    a = sum(p[1] for p in pairs) / len(pairs)
    out[name] = {'n': len(pairs), 'before': b, 'after': a, 'delta': a - b}
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


def flops_estimate(params_non_embedding: int, tokens: int, kind: str) -> float:
  """Approximate FLOPs: forward = 2*N*T, train (forward + backward) = 6*N*T.

  N is the non-embedding parameter count and T the number of tokens processed
  (Kaplan et al., 2020). Attention's context-dependent FLOPs are ignored.
  """
  if kind not in FLOPS_PER_PARAM_TOKEN:
    raise ValueError(f"kind must be 'forward' or 'train', got {kind!r}")
  return float(FLOPS_PER_PARAM_TOKEN[kind]) * params_non_embedding * tokens
