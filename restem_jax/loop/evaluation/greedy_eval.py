"""Greedy pass@1 of a policy on a list of problems, scored by the verifier pool."""

from __future__ import annotations

import collections
from typing import Sequence

from restem_jax.distributed import hosts
from restem_jax.sampling import keys
from restem_jax.sampling.sampler import Sampler
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.tasks.completion import checker_key, checker_sample, stop_sequences_for
from restem_jax.tasks.problem import Problem
from restem_jax.verify.pool import VerifierPool


def submit(pool: VerifierPool, problem: Problem, text: str):
  """A future of the verdict on `text` as a solution of `problem`."""
  return pool.submit(checker_key(problem), checker_sample(problem, text),
                     dict(problem.checker_payload))


def greedy_pass1(params, problems: Sequence[Problem], sampler: Sampler, pool: VerifierPool,
                 seed: int) -> dict:
  """Returns pass@1, verdict counts, per-difficulty accuracy and per-problem results."""
  if not problems:
    raise ValueError("greedy_pass1: no problems to evaluate.")
  out = sampler.sample(params, [sampler.encode_problem(p) for p in problems],
                       [keys.problem_index(p.id) for p in problems], 1, SamplingParams.greedy(),
                       seed=seed, stop_sequences=stop_sequences_for(problems))
  verdicts = [row[0] for row in hosts.verify_split(pool, problems, out.texts, submit)]
  correct = {p.id: v.status == "correct" for p, v in zip(problems, verdicts)}
  by_level = collections.defaultdict(list)
  for p in problems:
    by_level[p.difficulty].append(correct[p.id])
  return {
      "pass1": sum(correct.values()) / len(problems),
      "verdicts": dict(collections.Counter(v.status for v in verdicts)),
      "per_difficulty": {k: {"n": len(v), "accuracy": sum(v) / len(v)}
                         for k, v in sorted(by_level.items())},
      "per_problem": correct,
      "samples": {p.id: out.texts[i][0] for i, p in enumerate(problems)},
  }
