"""Attention backends equal the einsum reference on CPU (packed segments, left padding, decode)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.model import attention, interface, masks
from restem_jax.sharding import partitioning
from tests.engine import toy

B, H, K, E = 2, 4, 2, 16
BACKENDS = {"xla": attention.DotProductAttention("xla"),
            "splash": attention.SplashAttention(interpret=True)}


def _qkv(t, s, seed=0, b=B):
  rng = np.random.default_rng(seed)
  q = rng.normal(size=(b, t, H, E)).astype(np.float32)
  k = rng.normal(size=(b, K, s, E)).astype(np.float32)
  v = rng.normal(size=(b, K, s, E)).astype(np.float32)
  return jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)


def _packed_segments(t):
  seg = np.zeros((B, t), np.int32)
  seg[0, :50], seg[0, 50:100], seg[0, 100:120] = 1, 2, 3   # 3 segments, then padding
  seg[1, :] = 1
  seg[1, 70:] = 2
  return jnp.asarray(seg)


def _left_padded_prefill(p, m):
  lens = np.array([p, p - 5])
  slots = np.arange(p)
  valid = np.concatenate([slots[None] >= (p - lens)[:, None], np.ones((B, m), bool)], axis=1)
  return masks.cache_mask(jnp.asarray(valid), jnp.broadcast_to(jnp.arange(p), (B, p))), valid


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_packed_segments(name):
  q, k, v = _qkv(128, 128)
  mask = masks.packed_causal(_packed_segments(128))
  ref = attention.EinsumAttention()(q, k, v, mask)
  got = jax.jit(lambda *a: BACKENDS[name](*a, mask))(q, k, v)
  np.testing.assert_allclose(got, ref, atol=2e-5)
  assert np.all(np.asarray(ref)[0, 120:] == 0)  # padding rows: exactly 0 in every backend


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_left_padding_and_cached_decode(name):
  p, m = 16, 8
  q, k, v = _qkv(p, p + m, seed=1)
  prefill_mask, valid = _left_padded_prefill(p, m)
  np.testing.assert_allclose(BACKENDS[name](q, k, v, prefill_mask),
                             attention.EinsumAttention()(q, k, v, prefill_mask), atol=2e-5)
  q1 = q[:, :1]
  decode_mask = masks.cache_mask(jnp.asarray(valid), jnp.full((B, 1), p + 3))
  np.testing.assert_allclose(BACKENDS[name](q1, k, v, decode_mask),
                             attention.EinsumAttention()(q1, k, v, decode_mask), atol=2e-5)


def test_splash_under_a_mesh_equals_reference():
  """The shard_map around the Pallas call (batch on data, kv heads on tensor)."""
  q, k, v = _qkv(128, 128, seed=2, b=2 * B)  # 4 rows over data x fsdp = 4 shards
  mask = masks.packed_causal(jnp.concatenate([_packed_segments(128)] * 2))
  mesh = toy.eight_device_mesh()
  with partitioning.activation_sharding(mesh, toy.RULES):
    got = jax.jit(lambda *a: BACKENDS["splash"](*a, mask))(q, k, v)
  np.testing.assert_allclose(got, attention.EinsumAttention()(q, k, v, mask), atol=2e-5)


def test_model_logits_equal_across_backends():
  params = toy.init_params(toy.one_device_mesh())
  tokens = jnp.asarray(np.random.default_rng(3).integers(3, 100, (B, 24)), jnp.int32)
  seg = jnp.asarray(np.r_[[1] * 10 + [2] * 14, [1] * 20 + [0] * 4].reshape(B, 24))
  ref_cfg = dataclasses.replace(toy.TOY, attention_impl="einsum")
  ref = jax.jit(lambda p: interface.logits_fn(ref_cfg, p, tokens, seg))(params)
  xla_cfg = dataclasses.replace(toy.TOY, attention_impl="xla")
  got = jax.jit(lambda p: interface.logits_fn(xla_cfg, p, tokens, seg))(params)
  valid = np.asarray(seg) > 0
  np.testing.assert_allclose(np.asarray(got)[valid], np.asarray(ref)[valid], atol=1e-5)


def test_backend_strategy():
  assert isinstance(attention.backend("auto", "cpu"), attention.EinsumAttention)
  assert attention.backend("auto", "tpu") == attention.SplashAttention()
  assert attention.backend("auto", "gpu") == attention.DotProductAttention("cudnn")
  with pytest.raises(ValueError, match="attention_impl"):
    dataclasses.replace(toy.TOY, attention_impl="flash3")
