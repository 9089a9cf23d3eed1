"""Evaluation of one policy: greedy pass@1 (test, train, validation), pass@k and maj@k.

pass@k uses Chen et al.'s unbiased estimator over `num_samples` samples per test
problem drawn at `temperature`/`top_p` (paper: T=1.0, top-p 0.95); maj@k votes
over the extracted final answers of math tasks, as an expectation over k-subsets of
those samples (`majority.py`). The per-problem sampled success rate is what the
Figure 8 buckets report ("before"/"after"); the base model's bucket assignment uses a
second, independent set of samples (`bucket_success_rate`, key slot BUCKET_ITERATION;
see `buckets.py`).
"""

from __future__ import annotations

from typing import Sequence

from restem_jax.distributed import hosts
from restem_jax.loop import metrics
from restem_jax.loop.evaluation import greedy_eval, majority
from restem_jax.loop.stage_configs import EvalConfig
from restem_jax.sampling import keys
from restem_jax.sampling.sampler import Sampler
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.tasks import registry
from restem_jax.tasks.completion import checker_sample, stop_sequences_for
from restem_jax.tasks.problem import Problem
from restem_jax.tasks.spec import verdict_pred
from restem_jax.verify.pool import VerifierPool

# Evaluation draws use their own iteration slot, so they never coincide with an E-step's
# keys, and every model of a run is evaluated with the same keys (common random numbers:
# differences between iterations are not sampling noise in the keys).
EVAL_ITERATION = 1_000_000
# The base model's draws that assign Figure 8 buckets: independent of the measured ones.
BUCKET_ITERATION = 1_000_001


def _verify(pool: VerifierPool, problems: Sequence[Problem], texts: list[list[str]]):
  return hosts.verify_split(pool, problems, texts, greedy_eval.submit)


def _sample_and_verify(params, problems, sampler, pool, cfg, seed, iteration):
  sampling = SamplingParams(cfg.temperature, cfg.top_k, cfg.top_p)
  out = sampler.sample(params, [sampler.encode_problem(p) for p in problems],
                       [keys.problem_index(p.id) for p in problems], cfg.num_samples, sampling,
                       seed=seed, iteration=iteration,
                       stop_sequences=stop_sequences_for(problems))
  return out, _verify(pool, problems, out.texts)


def bucket_success_rate(params, problems: Sequence[Problem], sampler: Sampler,
                        pool: VerifierPool, cfg: EvalConfig, *, seed: int) -> dict[str, float]:
  """Per-problem success rate over n fresh draws (key slot BUCKET_ITERATION)."""
  _, verdicts = _sample_and_verify(params, problems, sampler, pool, cfg, seed,
                                   BUCKET_ITERATION)
  return {p.id: sum(v.status == "correct" for v in row) / len(row)
          for p, row in zip(problems, verdicts)}


def sampled_metrics(params, problems: Sequence[Problem], sampler: Sampler, pool: VerifierPool,
                    cfg: EvalConfig, *, seed: int) -> dict:
  """pass@k, maj@k (tasks whose spec has `pred`) and per-problem success rate from n samples."""
  out, verdicts = _sample_and_verify(params, problems, sampler, pool, cfg, seed,
                                     EVAL_ITERATION)
  correct = [[v.status == "correct" for v in row] for row in verdicts]
  result = {
      "test_pass_at_k": {str(k): v for k, v in metrics.mean_pass_at_k(correct, cfg.ks).items()},
      "test_success_rate": {p.id: sum(c) / len(c) for p, c in zip(problems, correct)},
      "test_sampled_verdicts": metrics.verdict_counts([v.status for r in verdicts for v in r]),
      "test_maj_at_k": None,
      "sampled_tokens": int(out.lengths.sum()),
  }
  specs = {registry.get(p.verifier_task) for p in problems}
  spec = specs.pop() if len(specs) == 1 else None
  if spec is not None and spec.pred is not None:
    answers = [[spec.pred(p, checker_sample(p, t), v) for t, v in zip(row, vrow)]
               for p, row, vrow in zip(problems, out.texts, verdicts)]
    # A checker that reports no `pred` at all (a user checker returning a bool): no maj@k.
    if spec.pred is not verdict_pred or any(a is not None for row in answers for a in row):
      result["test_maj_at_k"] = {str(k): majority.maj_at_k(answers, correct, k, spec.pred_key)
                                 for k in cfg.ks}
  return result


def evaluate(params, sampler: Sampler, pool: VerifierPool, cfg: EvalConfig, *,
             test: Sequence[Problem], train: Sequence[Problem], validation: Sequence[Problem],
             seed: int, bucket_draws: bool = False) -> dict:
  """All per-iteration evaluation numbers for `params` (JSON-ready).

  `train` are the problems of the train-vs-test gap (Figure 4); `train` and `validation`
  may be empty (then train_pass1 / val_pass1 are None: an eval-only run reads the test
  split alone). `bucket_draws` (the base model) adds `bucket_success_rate`, the
  independent draws that assign Figure 8 buckets.
  """
  t = greedy_eval.greedy_pass1(params, test, sampler, pool, seed)
  result = {"test_pass1": t["pass1"], "per_difficulty": t["per_difficulty"],
            "test_verdicts": t["verdicts"], "test_correct": t["per_problem"],
            "train_pass1": None, "val_pass1": None}
  if train:
    result["train_pass1"] = greedy_eval.greedy_pass1(params, train, sampler, pool, seed)["pass1"]
  if validation:
    result["val_pass1"] = greedy_eval.greedy_pass1(params, validation, sampler, pool,
                                                   seed)["pass1"]
  if cfg.num_samples:
    result.update(sampled_metrics(params, test, sampler, pool, cfg, seed=seed))
    if bucket_draws:
      result["bucket_success_rate"] = bucket_success_rate(params, test, sampler, pool, cfg,
                                                          seed=seed)
  return result
