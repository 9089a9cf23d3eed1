"""Verdict: reward is 1.0 only for correct; unknown statuses are rejected."""

import pytest

from restem_jax.verify.verdict import Verdict


@pytest.mark.parametrize('status,reward', [('correct', 1.0), ('incorrect', 0.0),
                                           ('timeout', 0.0), ('error', 0.0)])
def test_reward(status, reward):
  assert Verdict(status, 'x').reward == reward


def test_rejects_unknown_status():
  with pytest.raises(ValueError, match='passed'):
    Verdict('passed')


def test_frozen():
  with pytest.raises(AttributeError):
    Verdict('correct').status = 'error'
