"""Metric tests against hand-computed values (restem_jax.loop.metrics)."""

import itertools
import math
import random
import sys

import pytest

from restem_jax.loop import metrics


@pytest.mark.parametrize('n,c,k,expected', [
    (5, 2, 1, 0.4),
    (5, 2, 2, 1 - math.comb(3, 2) / math.comb(5, 2)),  # 0.7
    (5, 0, 3, 0.0),
    (5, 5, 1, 1.0),
    (5, 4, 2, 1.0),  # n - c < k: every pair has a correct sample
    (1, 1, 1, 1.0),
    (10, 3, 4, 1 - math.comb(7, 4) / math.comb(10, 4)),
])
def test_pass_at_k_hand_values(n, c, k, expected):
  assert metrics.pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_subset_enumeration():
  """pass@k is the fraction of size-k subsets holding a correct sample."""
  flags = [1, 0, 0, 1, 0, 0, 0]
  for k in range(1, len(flags) + 1):
    subsets = list(itertools.combinations(flags, k))
    brute = sum(any(s) for s in subsets) / len(subsets)
    assert metrics.pass_at_k(len(flags), sum(flags), k) == pytest.approx(brute)


def test_pass_at_k_large_n_is_stable():
  # C(1000, 500) overflows a float; the product form must not.
  exact = 1 - math.comb(990, 500) / math.comb(1000, 500)  # exact int division
  assert metrics.pass_at_k(1000, 10, 500) == pytest.approx(exact, rel=1e-12)


def test_pass_at_k_errors_name_n_and_k():
  with pytest.raises(ValueError, match=r'n=3.*k=4'):
    metrics.pass_at_k(3, 1, 4)
  with pytest.raises(ValueError):
    metrics.pass_at_k(3, 4, 1)
  with pytest.raises(ValueError):
    metrics.pass_at_k(3, 1, 0)


def test_mean_pass_at_k():
  correct = [[True, False, False, False], [False] * 4, [True] * 4]
  out = metrics.mean_pass_at_k(correct, [1, 2])
  assert list(out) == [1, 2]
  assert out[1] == pytest.approx((0.25 + 0 + 1) / 3)
  assert out[2] == pytest.approx((0.5 + 0 + 1) / 3)


def test_mean_pass_at_k_rejects_k_above_some_n():
  with pytest.raises(ValueError, match=r'problem 1 has n=2.*k=4'):
    metrics.mean_pass_at_k([[True] * 4, [False, True]], [1, 4])


def test_verdict_counts_has_all_keys():
  assert metrics.verdict_counts([]) == {
      'correct': 0, 'incorrect': 0, 'timeout': 0, 'error': 0}
  out = metrics.verdict_counts(['correct', 'timeout', 'correct', 'error'])
  assert out == {'correct': 2, 'incorrect': 0, 'timeout': 1, 'error': 1}
  with pytest.raises(ValueError, match='pass'):
    metrics.verdict_counts(['pass'])


def test_estep_yield():
  out = metrics.estep_yield({'a': 0, 'b': 2, 'c': 1, 'd': 2}, num_samples=4, cap=2)
  assert out == {'num_problems': 4, 'kept': 5, 'solved_fraction': 0.75,
                 'cap_saturation': 0.5, 'keep_rate': 5 / 16}
  uncapped = metrics.estep_yield({'a': 4, 'b': 1}, num_samples=4, cap=None)
  assert uncapped['cap_saturation'] == 0.5
  assert metrics.estep_yield({}, 4, 2)['solved_fraction'] == 0.0
  with pytest.raises(ValueError, match="'a'"):
    metrics.estep_yield({'a': 3}, num_samples=4, cap=2)


def test_no_jax_import():
  # The metrics/report modules are host-side only; importing them loads no JAX.
  import subprocess
  code = ('import sys, restem_jax.loop.metrics, restem_jax.loop.reporting.report; '
          'assert "jax" not in sys.modules, "jax imported"')
  subprocess.run([sys.executable, '-c', code], check=True)


def test_timeout_rate():
  assert metrics.timeout_rate({'correct': 6, 'incorrect': 1, 'timeout': 2, 'error': 1}) == 0.2
  assert metrics.timeout_rate({'correct': 0, 'incorrect': 0, 'timeout': 0, 'error': 0}) == 0.0
