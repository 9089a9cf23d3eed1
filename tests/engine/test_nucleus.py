"""top-p without a top-k filter on a vocabulary larger than NUCLEUS_TOP_K: the top-k-first
fast path, the full-vocabulary fallback, and that both draw from the exact nucleus."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.sampling import strategies

V = 1000  # > NUCLEUS_TOP_K, so both paths exist


def _exact_nucleus(logits, top_p):
  """The reference: sort, keep the smallest prefix whose mass reaches top_p."""
  p = np.exp(logits - logits.max())
  p /= p.sum()
  order = np.argsort(-p, kind="stable")
  before = np.cumsum(p[order]) - p[order]
  return set(order[before < top_p].tolist()), p


def _rows(kind, n, seed):
  rng = np.random.default_rng(seed)
  if kind == "peaked":  # nucleus of a few tokens: the top-k fast path
    return (rng.standard_normal((n, V)) * 4.0).astype(np.float32)
  return (rng.standard_normal((n, V)) * 0.1).astype(np.float32)  # ~flat: the fallback


@pytest.mark.parametrize("kind", ["peaked", "flat"])
@pytest.mark.parametrize("top_p", [0.5, 0.95])
def test_draws_stay_in_the_exact_nucleus(kind, top_p):
  logits = _rows(kind, 8, 0)
  nuclei = [_exact_nucleus(row, top_p)[0] for row in logits]
  if kind == "flat":
    assert min(len(n) for n in nuclei) > strategies.NUCLEUS_TOP_K  # the fallback is exercised
  else:
    assert max(len(n) for n in nuclei) < strategies.NUCLEUS_TOP_K
  reps = 300
  keys = jax.random.split(jax.random.key(1), 8 * reps)
  toks = np.asarray(strategies.select_tokens(jnp.asarray(np.repeat(logits, reps, 0)), keys,
                                             1.0, top_p, top_k=0)).reshape(8, reps)
  for r in range(8):
    assert set(toks[r].tolist()) <= nuclei[r], (kind, r)
  if kind == "peaked":  # small nuclei are covered, each token with its renormalised mass
    nucleus, p = _exact_nucleus(logits[0], top_p)
    q = np.array([p[i] for i in sorted(nucleus)])
    counts = np.array([np.sum(toks[0] == i) for i in sorted(nucleus)])
    np.testing.assert_allclose(counts / reps, q / q.sum(), atol=0.09)


def test_threshold_matches_the_sorted_nucleus():
  for seed, scale in [(0, 4.0), (1, 1.0), (2, 0.1)]:
    logits = _rows("peaked", 4, seed) * (scale / 4.0)
    for top_p in (0.3, 0.9, 0.99):
      probs, thresh = strategies.nucleus_threshold(jnp.asarray(logits), top_p)
      for r in range(4):
        nucleus, _ = _exact_nucleus(logits[r], top_p)
        kept = set(np.flatnonzero(np.asarray(probs[r]) >= float(thresh[r])).tolist())
        assert kept == nucleus, (seed, top_p, r)


def test_a_rows_draw_does_not_depend_on_the_other_rows():
  """A step where one row needs the fallback must not change the peaked rows' draws."""
  peaked, flat = _rows("peaked", 4, 3), _rows("flat", 4, 4)
  keys = jax.random.split(jax.random.key(7), 8)
  mixed = np.concatenate([peaked, flat])
  together = np.asarray(strategies.select_tokens(jnp.asarray(mixed), keys, 1.0, 0.9, top_k=0))
  alone_peaked = strategies.select_tokens(jnp.asarray(peaked), keys[:4], 1.0, 0.9, top_k=0)
  alone_flat = strategies.select_tokens(jnp.asarray(flat), keys[4:], 1.0, 0.9, top_k=0)
  np.testing.assert_array_equal(together[:4], np.asarray(alone_peaked))
  np.testing.assert_array_equal(together[4:], np.asarray(alone_flat))


def test_top_p_one_samples_the_whole_vocabulary_and_greedy_is_argmax():
  logits = _rows("flat", 1, 5)
  keys = jax.random.split(jax.random.key(3), 2000)
  toks = np.asarray(strategies.select_tokens(jnp.asarray(np.repeat(logits, 2000, 0)), keys,
                                             1.0, 1.0, top_k=0))
  assert len(set(toks.tolist())) > 600  # ~flat over 1000 tokens
  greedy = strategies.select_tokens(jnp.asarray(logits), keys[:1], 0.0, 0.95, top_k=0)
  assert int(greedy[0]) == int(np.argmax(logits[0]))
