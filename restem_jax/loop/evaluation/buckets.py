"""Figure 8 (right) of the paper: which problems benefit, by base-model difficulty.

The paper buckets test problems by the base model's success rate r over samples at
T=1.0, with lower-inclusive bins:

  very_hard: r < 0.25     hard: 0.25 <= r < 0.5     medium: 0.5 <= r < 0.75     easy: r >= 0.75

and plots, per bucket, the AVERAGE SAMPLED success rate (the same eval samples at the
eval temperature) of the base model ("before") and of the fine-tuned model ("after").

Independence: assigning a problem to a bucket with the very draws whose success rate is
then reported puts lucky problems in easier buckets and unlucky ones in harder buckets
(selection bias: "before" would look worse in very_hard and better in easy than it is,
and "after" would show regression to the mean as improvement). So the bucket comes from
a SEPARATE set of n base-model samples drawn under their own key slot
(``evaluate.BUCKET_ITERATION``; the base evaluation's ``bucket_success_rate``), and
"before"/"after" are the mean success rates over each model's n evaluation samples
(``test_success_rate``, drawn under ``evaluate.EVAL_ITERATION`` with the same keys for
every model). Without eval samples (``eval.num_samples=0``) there are no buckets.
"""

from __future__ import annotations

from typing import Hashable, Mapping

BUCKETS = ('easy', 'medium', 'hard', 'very_hard')
LOWER_EDGES = (('easy', 0.75), ('medium', 0.5), ('hard', 0.25), ('very_hard', 0.0))
NO_BUCKETS_NOTE = ('No Figure 8 buckets: they need the sampled success rates of the eval '
                   'samples (eval.num_samples > 0); this run evaluated greedily only.')


def bucket_of(rate: float) -> str:
  """The bucket of a base-model success rate; bins are lower-inclusive."""
  if not 0.0 <= rate <= 1.0:
    raise ValueError(f'success rate must be in [0, 1], got {rate}')
  return next(name for name, lower in LOWER_EDGES if rate >= lower)


def benefit_buckets(bucket_rate: Mapping[Hashable, float],
                    before: Mapping[Hashable, float],
                    after: Mapping[Hashable, float]) -> dict[str, dict]:
  """Per bucket: n, mean ``before`` and ``after`` success rates, and their difference.

  Args:
    bucket_rate: problem id -> the base model's success rate on the bucketing draws.
    before: problem id -> the base model's success rate on its eval samples.
    after: problem id -> the fine-tuned model's success rate on its eval samples.

  All four buckets are always present; an empty one has n=0 and before/after/delta
  None (JSON-safe).

  Raises:
    ValueError: if a problem of ``bucket_rate`` is missing from ``before``/``after``.
  """
  groups: dict[str, list[tuple[float, float]]] = {b: [] for b in BUCKETS}
  for pid, rate in bucket_rate.items():
    if pid not in before or pid not in after:
      raise ValueError(f'problem {pid!r} missing from before/after results')
    groups[bucket_of(rate)].append((float(before[pid]), float(after[pid])))
  out = {}
  for name, pairs in groups.items():
    if not pairs:
      out[name] = {'n': 0, 'before': None, 'after': None, 'delta': None}
      continue
    b = sum(p[0] for p in pairs) / len(pairs)
    a = sum(p[1] for p in pairs) / len(pairs)
    out[name] = {'n': len(pairs), 'before': b, 'after': a, 'delta': a - b}
  return out


def figure8(base_eval: Mapping, model_eval: Mapping) -> dict[str, dict] | None:
  """Buckets for one model against the base, or None without sampled evaluation.

  Never falls back to greedy 0/1 correctness: a run without eval samples (or a base
  evaluation recorded before bucketing draws existed) has no buckets.
  """
  bucket_rate = base_eval.get('bucket_success_rate')
  before = base_eval.get('test_success_rate')
  after = model_eval.get('test_success_rate')
  if not bucket_rate or not before or not after:
    return None
  return benefit_buckets(bucket_rate, before, after)
