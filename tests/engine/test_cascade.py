"""The cascade engine (shared prefix / per-problem suffix / per-sample cache) equals the
repeat engine: same greedy tokens, same sampled tokens for the same keys, logprobs
within fp32 tolerance; ragged prompts over two suffix buckets; GQA."""

import dataclasses

import numpy as np
import pytest

from restem_jax.model import kv_cache
from restem_jax.sampling import cascade
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from tests.engine import toy

PREFIX = "Solve each problem.\n" * 4  # 80 chars: a 64-token shared prefix + 16 in the suffix
SUFFIXES = ["1+2=", "a much longer question, 7*8 = what?", "x", "(3/4)+(1/4)=", "9-9="]
IDX = [11, 22, 33, 44, 55]
SP = SamplingParams(temperature=1.0, top_k=0)


@pytest.fixture(scope="module")
def mesh():
  return toy.one_device_mesh()


def make(mesh, engine, cfg=toy.TOY, per_batch=2):
  return Sampler(cfg, toy.VOCAB, SamplerConfig(prompt_buckets=(32, 64, 128), max_new_tokens=12,
                                               prompts_per_batch=per_batch, engine=engine),
                 mesh, toy.RULES)


def test_shared_prefix_len_is_the_common_token_prefix_rounded_down():
  a, b = np.arange(200), np.concatenate([np.arange(150), [7] * 30])
  assert cascade.shared_prefix_len([a, b]) == 128
  assert cascade.shared_prefix_len([a, b], quantum=1) == 150
  assert cascade.shared_prefix_len([a[:10], a], quantum=1) == 9  # one suffix token remains
  assert cascade.shared_prefix_len([a, b[::-1]]) == 0


@pytest.mark.parametrize("kv_heads", [2])  # GQA 2:1 (MHA: add 4; kept out for CI time)
def test_cascade_equals_repeat_engine(mesh, kv_heads):
  cfg = dataclasses.replace(toy.TOY, num_kv_heads=kv_heads)
  params = toy.init_params(mesh, cfg)
  prompts = [PREFIX + s for s in SUFFIXES]
  enc = [toy.VOCAB.encode(p) for p in prompts]
  assert cascade.shared_prefix_len([np.asarray(e) for e in enc]) == 64
  ref, cas = make(mesh, "repeat", cfg), make(mesh, "cascade", cfg)
  for sp, n in [(SamplingParams.greedy(), 1), (SP, 3)]:
    want = ref.sample(params, prompts, IDX, n, sp, seed=5)
    got = cas.sample(params, prompts, IDX, n, sp, seed=5)
    np.testing.assert_array_equal(got.tokens, want.tokens)
    np.testing.assert_array_equal(got.lengths, want.lengths)
    np.testing.assert_allclose(got.logprobs, want.logprobs, atol=2e-5)


def test_cascade_equals_repeat_engine_on_a_data_parallel_mesh():
  # The prefix is prefilled on as many identical rows as the data axes need (4 here): the
  # prefill must build its cache for that many rows, not one (the run cards' MATH/GSM8K
  # prompts under 8 fake devices hit this).
  mesh = toy.eight_device_mesh()
  params = toy.init_params(mesh)
  prompts = [PREFIX + s for s in SUFFIXES[:4]]
  want = make(mesh, "repeat", per_batch=4).sample(params, prompts, IDX[:4], 2, SP, seed=3)
  got = make(mesh, "cascade", per_batch=4).sample(params, prompts, IDX[:4], 2, SP, seed=3)
  np.testing.assert_array_equal(got.tokens, want.tokens)
  np.testing.assert_allclose(got.logprobs, want.logprobs, atol=2e-5)


def test_cascade_samples_do_not_depend_on_batch_composition(mesh):
  params = toy.init_params(mesh)
  prompts = [PREFIX + s for s in SUFFIXES]
  together = make(mesh, "cascade", per_batch=4).sample(params, prompts, IDX, 2, SP, seed=1)
  for i in (0, 3):
    alone = make(mesh, "cascade", per_batch=1).sample(params, [prompts[i]], [IDX[i]], 2, SP,
                                                      seed=1)
    np.testing.assert_array_equal(alone.tokens[0], together.tokens[i])


def test_cache_memory_does_not_grow_with_samples():
  cfg, p, b, ps, m = toy.TOY, 512, 8, 64, 128
  n1 = cascade.cache_bytes(cfg, p, b, ps, 1, m)
  n32 = cascade.cache_bytes(cfg, p, b, ps, 32, m)
  # Prefix and suffix levels are the same at N=1 and N=32: only the samples' own
  # tokens (31 more per problem) are added.
  assert n32 - n1 == kv_cache.cache_bytes(cfg, 31 * b, m)
  assert n32 < kv_cache.cache_bytes(cfg, b * 32, p + ps + m) / 4  # vs repeating the prompt
