"""Behavioural tests of the decoder: cache correctness, strategies, determinism."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.model import interface
from restem_jax.sampling import strategies
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from tests.engine import toy

PROMPTS = ["1+2=", "a much longer prompt, 7*8=", "x", "(3/4)+(1/4)="]
IDX = [11, 22, 33, 44]


@pytest.fixture(scope="module")
def mesh():
  return toy.one_device_mesh()


@pytest.fixture(scope="module")
def params(mesh):
  return toy.init_params(mesh)


def make_sampler(mesh, per_batch=4, max_new=20):
  return Sampler(toy.TOY, toy.VOCAB, SamplerConfig(prompt_buckets=(8, 32), max_new_tokens=max_new,
                                                   prompts_per_batch=per_batch), mesh, toy.RULES)


def test_kv_cache_logprobs_match_full_forward(mesh, params):
  out = make_sampler(mesh).sample(params, PROMPTS, IDX, 3, SamplingParams(temperature=1.0, top_k=0),
                                  seed=0)
  for p in range(len(PROMPTS)):
    for n in range(3):
      gen = out.sample_tokens(p, n)
      seq = np.concatenate([out.prompt_tokens[p], gen])[None]
      logits = interface.logits_fn(toy.TOY, params, jnp.asarray(seq), jnp.ones_like(seq))
      full = interface.token_logprobs(logits[:, len(out.prompt_tokens[p]) - 1:-1],
                                      jnp.asarray(gen)[None])[0]
      np.testing.assert_allclose(out.logprobs[p, n, :len(gen)], full, atol=1e-4)
      assert np.all(out.logprobs[p, n, len(gen):] == 0)


def test_greedy_equals_top_k_1(mesh, params):
  s = make_sampler(mesh)
  greedy = s.sample(params, PROMPTS, IDX, 1, SamplingParams.greedy(), seed=0)
  top1 = s.sample(params, PROMPTS, IDX, 2, SamplingParams(temperature=0.9, top_k=1), seed=5)
  for p in range(len(PROMPTS)):
    for n in range(2):
      np.testing.assert_array_equal(top1.tokens[p, n], greedy.tokens[p, 0])


def test_top_k_never_leaves_top_k():
  logits = jax.random.normal(jax.random.key(0), (512, 100)) * 3
  keys = jax.random.split(jax.random.key(1), 512)
  toks = strategies.select_tokens(logits, keys, 1.0, 1.0, top_k=5)
  top5 = jax.lax.top_k(logits, 5)[1]
  assert bool(jnp.all(jnp.any(top5 == toks[:, None], axis=1)))
  # With top_k=0 (no filter) tokens outside the top 5 do appear: the check can fail.
  free = strategies.select_tokens(logits, keys, 1.0, 1.0, top_k=0)
  assert not bool(jnp.all(jnp.any(top5 == free[:, None], axis=1)))


@pytest.mark.parametrize("top_p,allowed", [(0.7, {0, 1}), (0.8, {0, 1}), (0.81, {0, 1, 2}),
                                           (0.4, {0})])
def test_top_p_keeps_smallest_nucleus(top_p, allowed):
  probs = jnp.array([0.5, 0.3, 0.15, 0.05])
  logits = jnp.tile(jnp.log(probs)[None], (4000, 1))
  keys = jax.random.split(jax.random.key(2), 4000)
  toks = set(np.asarray(strategies.select_tokens(logits, keys, 1.0, top_p, top_k=0)).tolist())
  assert toks == allowed


def test_ragged_batch_decodes_each_prompt_as_alone(mesh, params):
  s = make_sampler(mesh)
  sp = SamplingParams(temperature=1.0, top_k=10)
  together = s.sample(params, PROMPTS, IDX, 2, sp, seed=3)
  for p, (prompt, idx) in enumerate(zip(PROMPTS, IDX)):
    alone = s.sample(params, [prompt], [idx], 2, sp, seed=3)
    np.testing.assert_array_equal(alone.tokens[0], together.tokens[p])
    np.testing.assert_allclose(alone.logprobs[0], together.logprobs[p], atol=1e-5)
    assert alone.texts[0] == together.texts[p]


def test_prompts_of_two_buckets_share_one_full_call(mesh, params):
  # PROMPTS fall in buckets 8 and 32; with 4 per call they take one call padded to 32,
  # not one half-empty call per bucket (whose rows would cost as much as real ones).
  lens = [len(make_sampler(mesh).encode(p)) for p in PROMPTS]
  assert {make_sampler(mesh).bucket_for(n) for n in lens} == {8, 32}
  out = make_sampler(mesh).sample(params, PROMPTS, IDX, 2, SamplingParams(temperature=1.0),
                                  seed=2)
  assert out.decode_row_steps == out.lengths.max() * len(PROMPTS) * 2


def test_same_keys_whatever_batch_size_or_device_count(params):
  sp = SamplingParams(temperature=1.0, top_k=40)
  one = make_sampler(toy.one_device_mesh(), per_batch=1).sample(params, PROMPTS, IDX, 3, sp,
                                                                seed=9, iteration=2)
  eight_mesh = toy.eight_device_mesh()
  params8 = toy.init_params(eight_mesh)  # same seed -> same values, sharded over 8 devices
  eight = make_sampler(eight_mesh, per_batch=8).sample(params8, PROMPTS, IDX, 3, sp, seed=9,
                                                       iteration=2)
  np.testing.assert_array_equal(one.tokens, eight.tokens)
  # A different iteration gives different samples (keys really depend on it).
  other = make_sampler(toy.one_device_mesh(), per_batch=4).sample(params, PROMPTS, IDX, 3, sp,
                                                                  seed=9, iteration=3)
  assert not np.array_equal(one.tokens, other.tokens)


def test_sample_offset_selects_later_samples(mesh, params):
  s = make_sampler(mesh)
  sp = SamplingParams(temperature=1.0, top_k=40)
  full = s.sample(params, PROMPTS[:2], IDX[:2], 4, sp, seed=1)
  tail = s.sample(params, PROMPTS[:2], IDX[:2], 2, sp, seed=1, sample_offset=2)
  np.testing.assert_array_equal(full.tokens[:, 2:], tail.tokens)


def test_no_retrace_when_temperature_or_top_p_change(mesh, params):
  s = make_sampler(mesh)
  same_bucket = ["1+2=", "x"]
  for t, p in [(0.7, 1.0), (1.0, 0.9), (0.3, 0.5), (0.0, 1.0)]:
    s.sample(params, same_bucket, IDX[:2], 2, SamplingParams(temperature=t, top_k=40, top_p=p),
             seed=0)
  fn = s._engine.program(s._engine.shape(2, 40))  # pylint: disable=protected-access
  assert fn._cache_size() == 1  # pylint: disable=protected-access
  s.sample(params, ["y" * 20], [1], 2, SamplingParams(temperature=0.5, top_k=40), seed=0)
  assert fn._cache_size() == 2  # a new bucket compiles one more program  # pylint: disable=protected-access


def test_prompt_longer_than_buckets_is_a_clear_error(mesh, params):
  with pytest.raises(ValueError, match="largest prompt bucket"):
    make_sampler(mesh).sample(params, ["z" * 40], [0], 1, SamplingParams(), seed=0)
