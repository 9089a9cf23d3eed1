"""maj@k as an expectation over k-subsets, and the paper's Figure 8 buckets (#10 items 6, 7)."""

import concurrent.futures
import itertools
import types

import numpy as np
import pytest

from restem_jax.loop.evaluation import buckets, evaluate, majority
from restem_jax.loop.reporting import report
from restem_jax.tasks.problem import Problem
from restem_jax.verify.verdict import Verdict


def _brute_force(answers, flags, k):
  """Mean over all k-subsets of the vote's correctness, ties split evenly."""
  total = 0.0
  for problem_answers, problem_flags in zip(answers, flags):
    values = []
    for subset in itertools.combinations(range(len(problem_answers)), k):
      votes = {}
      for j in subset:
        if problem_answers[j] is not None:
          votes[problem_answers[j]] = votes.get(problem_answers[j], 0) + 1
      if not votes:
        values.append(0.0)
        continue
      top = max(votes.values())
      tied = [a for a, v in votes.items() if v == top]
      right = {a for a, f in zip(problem_answers, problem_flags) if f}
      values.append(sum(a in right for a in tied) / len(tied))
    total += sum(values) / len(values)
  return total / len(answers)


ANSWERS = [['wrong', 'right', 'right', 'right'],  # first sample disagrees with the majority
           ['7', '8', '8', '7'],
           [None, None, None, None],
           ['3', None, None, None]]
FLAGS = [[False, True, True, True], [False, True, True, False], [False] * 4,
         [True, False, False, False]]


def test_maj_at_k_is_the_expectation_over_subsets_not_the_first_k():
  # First-k voting would give problem 0 a 0 at k=1 (its first sample is wrong); over all
  # 1-subsets it is 3/4. At k=2 problem 1 ties 7/8 in 4 of its 6 pairs.
  assert majority.maj_at_k(ANSWERS, FLAGS, 1) == pytest.approx((0.75 + 0.5 + 0 + 0.25) / 4)
  for k in (1, 2, 3, 4):
    assert majority.maj_at_k(ANSWERS, FLAGS, k) == pytest.approx(_brute_force(ANSWERS, FLAGS, k))


def test_maj_at_k_monte_carlo_is_seeded_and_close_to_exact():
  rng = np.random.default_rng(1)
  answers = [[str(a) for a in rng.integers(0, 4, size=12)] for _ in range(5)]
  flags = [[a == '0' for a in row] for row in answers]
  exact = majority.maj_at_k(answers, flags, 5)
  mc = majority.maj_at_k(answers, flags, 5, max_exact_subsets=10, mc_subsets=20_000)
  again = majority.maj_at_k(answers, flags, 5, max_exact_subsets=10, mc_subsets=20_000)
  assert mc == again and mc == pytest.approx(exact, abs=0.02)


def test_maj_at_k_callable_judge_and_errors():
  check = lambda i, a: a == ['right', '8'][i]
  assert majority.maj_at_k(ANSWERS[:2], check, 4) == pytest.approx((1.0 + 0.5) / 2)
  with pytest.raises(ValueError, match='k=5'):
    majority.maj_at_k(ANSWERS, FLAGS, 5)


@pytest.mark.parametrize('rate,bucket', [
    (1.0, 'easy'), (0.75, 'easy'), (0.74, 'medium'), (0.5, 'medium'), (0.49, 'hard'),
    (0.25, 'hard'), (0.24, 'very_hard'), (0.0, 'very_hard')])
def test_buckets_are_lower_inclusive(rate, bucket):
  assert buckets.bucket_of(rate) == bucket


def test_buckets_report_sampled_rates_on_independent_bucketing_draws():
  base = {'bucket_success_rate': {'a': 0.25, 'b': 0.5, 'c': 0.0, 'd': 1.0},
          'test_success_rate': {'a': 0.5, 'b': 0.375, 'c': 0.125, 'd': 0.875},
          'test_correct': {'a': True, 'b': False, 'c': False, 'd': True}}
  model = {'test_success_rate': {'a': 0.75, 'b': 0.5, 'c': 0.25, 'd': 1.0},
           'test_correct': {'a': True, 'b': True, 'c': True, 'd': True}}
  out = buckets.figure8(base, model)
  assert out['hard'] == {'n': 1, 'before': 0.5, 'after': 0.75, 'delta': 0.25}
  assert out['medium'] == {'n': 1, 'before': 0.375, 'after': 0.5, 'delta': 0.125}
  assert out['very_hard']['n'] == 1 and out['very_hard']['after'] == 0.25
  assert out['easy'] == {'n': 1, 'before': 0.875, 'after': 1.0, 'delta': 0.125}


def test_no_eval_samples_means_no_buckets_never_greedy():
  greedy_only = {'test_correct': {'a': True, 'b': False}}
  assert buckets.figure8(greedy_only, greedy_only) is None


def test_no_buckets_is_said_in_the_report(tmp_path):
  summary = {'task': 't', 'mode': 'restem', 'seed': 0, 'wall_seconds': 1.0,
             'base': {'test_pass1': 0.2, 'train_pass1': 0.3},
             'iterations': [{'iteration': 1, 'test_pass1': 0.3, 'train_pass1': 0.4, 'kept': 3,
                             'solved_fraction': 0.5, 'buckets': None}],
             'best_iteration': 1}
  text = open(report.write_report(str(tmp_path), summary)).read()
  assert buckets.NO_BUCKETS_NOTE in text


class _FakeSampler:
  """Records the key slot of each call; sample j of a problem is correct iff j < slot-based count."""

  def __init__(self):
    self.iterations = []

  def encode_problem(self, problem):
    return problem.prompt

  def sample(self, params, prompts, indices, n, sampling, *, seed, iteration,
             stop_sequences=()):
    del stop_sequences  # the real sampler ends rows at them; nothing to stop here
    self.iterations.append(iteration)
    good = 1 if iteration == evaluate.BUCKET_ITERATION else 3
    texts = [['ok' if j < good else 'no' for j in range(n)] for _ in prompts]
    return types.SimpleNamespace(texts=texts, lengths=np.ones((len(prompts), n), np.int32))


class _FakePool:
  def submit(self, task, sample, problem):
    f = concurrent.futures.Future()
    f.set_result(Verdict('correct' if sample == 'ok' else 'incorrect'))
    return f


def test_base_eval_buckets_on_draws_under_their_own_key_slot(monkeypatch):
  monkeypatch.setattr(evaluate.greedy_eval, 'greedy_pass1', lambda *a, **k: {
      'pass1': 0.0, 'per_difficulty': {}, 'verdicts': {}, 'per_problem': {'p': False}})
  problem = Problem(id='p', prompt='q', question='q', answer='1', reference_solution='',
                    difficulty='level_1', split='test', verifier_task='apps',
                    checker_payload={})
  sampler = _FakeSampler()
  cfg = evaluate.EvalConfig(num_samples=4, ks=(1, 4))
  out = evaluate.evaluate(None, sampler, _FakePool(), cfg, test=[problem], train=[problem],
                          validation=[], seed=0, bucket_draws=True)
  assert sampler.iterations == [evaluate.EVAL_ITERATION, evaluate.BUCKET_ITERATION]
  assert evaluate.BUCKET_ITERATION != evaluate.EVAL_ITERATION
  assert out['test_success_rate'] == {'p': 0.75} and out['bucket_success_rate'] == {'p': 0.25}
