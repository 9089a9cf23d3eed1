"""8B-class memory: optimizer state sharded like the params (FSDP); the chunked-vocabulary loss."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.model.config import ModelConfig
from restem_jax.training import loss as loss_lib

from restem_jax.sharding import mesh as mesh_lib
from restem_jax.training import train_step
from restem_jax.training.optimizer import OptimizerConfig, make_optimizer
from tests.engine import toy


def _fsdp8_mesh():
  return mesh_lib.make_mesh(mesh_lib.MeshConfig(axis_sizes=(1, 8, 1)))


def _device0_bytes(x) -> int:
  return sum(s.data.nbytes for s in x.addressable_shards if s.device == jax.devices()[0])


def test_adam_state_is_sharded_like_params_under_fsdp():
  params = toy.init_params(_fsdp8_mesh())
  tx, _ = make_optimizer(OptimizerConfig())
  state = train_step.init_state(params, tx)
  adam = state.opt_state[1][0]  # chain(clip, adamw): adamw's ScaleByAdamState
  sharded = 0
  for name, moments in (("mu", adam.mu), ("nu", adam.nu)):
    for path, p in jax.tree_util.tree_leaves_with_path(params):
      m = _get(moments, path)
      assert m.sharding.is_equivalent_to(p.sharding, p.ndim), (name, path)
      assert _device0_bytes(m) == _device0_bytes(p), (name, path)
      sharded += _device0_bytes(p) < p.nbytes
  assert sharded >= 2 * 4  # really sharded: every matrix has an fsdp-split 'embed' axis
  total_moments = sum(_device0_bytes(x) for x in jax.tree.leaves((adam.mu, adam.nu)))
  total_params = sum(x.nbytes for x in jax.tree.leaves(params))
  assert total_moments < total_params / 2  # replicated Adam state would be 2x the params


def _get(tree, path):
  for k in path:
    tree = tree[k.key]
  return tree


def test_sharded_state_trains():
  """The train step keeps the optimizer state's FSDP sharding (donation, out_shardings)."""
  mesh = _fsdp8_mesh()
  tx, schedule = make_optimizer(OptimizerConfig(learning_rate=1e-2, warmup_steps=1))
  state = train_step.init_state(toy.init_params(mesh), tx)
  before = jax.tree.map(lambda x: x.sharding, state)
  step = train_step.make_train_step(toy.TOY, tx, schedule, mesh, toy.RULES, state)
  rng = np.random.default_rng(0)
  batch = {k: np.zeros((1, 8, 16), np.int32 if k in ("inputs", "targets", "segment_ids",
                                                        "positions") else np.float32)
           for k in train_step.BATCH_KEYS}
  batch["inputs"] = rng.integers(3, 100, (1, 8, 16)).astype(np.int32)
  batch["targets"] = rng.integers(3, 100, (1, 8, 16)).astype(np.int32)
  batch["segment_ids"][:] = 1
  batch["positions"][:] = np.arange(16)
  batch["loss_mask"][:] = 1.0
  batch["weights"][:] = 1.0
  state, m = step(state, {k: jax.device_put(v, step.batch_sharding[k]) for k, v in batch.items()})
  assert np.isfinite(float(m["loss"]))
  after = jax.tree.map(lambda x: x.sharding, state)
  jax.tree.map(lambda a, b: assert_equiv(a, b), before, after)


def assert_equiv(a, b):
  assert a == b or a.is_equivalent_to(b, 1), (a, b)


# ---------------------------------------------------------------- chunked loss

def _loss_batch(b, t, vocab, seed=0):
  rng = np.random.default_rng(seed)
  seg = np.ones((b, t), np.int32)
  seg[:, t // 2:] = 2          # two packed segments per row
  seg[0, t - 3:] = 0           # and trailing padding
  weights = rng.uniform(0.5, 2.0, (b, t)).astype(np.float32) * (seg > 0)
  weights[:, :2] = 0.0         # prompt tokens
  return {"inputs": jnp.asarray(rng.integers(3, vocab, (b, t)), jnp.int32),
          "targets": jnp.asarray(rng.integers(3, vocab, (b, t)), jnp.int32),
          "segment_ids": jnp.asarray(seg), "positions": None,
          "weights": jnp.asarray(weights), "loss_mask": jnp.asarray((weights > 0) * 1.0)}


@pytest.mark.parametrize("chunk_len,tie", [(12, False), (5, True)])
def test_chunked_loss_and_grads_equal_full_logits(chunk_len, tie):
  cfg = dataclasses.replace(toy.TOY, tie_embeddings=tie)
  params = toy.init_params(toy.one_device_mesh(), cfg)
  batch = _loss_batch(3, 32, cfg.vocab_size)
  ref = jax.value_and_grad(lambda p: loss_lib.FullLogitsLoss()(cfg, p, batch), has_aux=True)
  got = jax.value_and_grad(lambda p: loss_lib.ChunkedLoss(chunk_len)(cfg, p, batch), has_aux=True)
  (l_ref, n_ref), g_ref = jax.jit(ref)(params)
  (l_got, n_got), g_got = jax.jit(got)(params)
  np.testing.assert_allclose(l_got, l_ref, rtol=1e-6)
  assert float(n_got) == float(n_ref)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), g_got, g_ref)


def _temp_bytes(loss, cfg, params, batch) -> int:
  grad = jax.jit(jax.grad(lambda p: loss(cfg, p, batch)[0]))
  return grad.lower(params).compile().memory_analysis().temp_size_in_bytes


def test_chunked_loss_never_materialises_the_logits():
  """At V = 32k, T = 512 the fp32 BxTxV logits (128 MiB) dominate the full loss's temporaries."""
  cfg = ModelConfig(vocab_size=32768, embed_dim=32, num_layers=1, num_heads=2, num_kv_heads=1,
                    head_dim=16, mlp_dim=64, max_len=512)
  params = toy.init_params(toy.one_device_mesh(), cfg)
  batch = _loss_batch(2, 512, cfg.vocab_size)
  logits_bytes = 2 * 512 * cfg.vocab_size * 4
  full = _temp_bytes(loss_lib.FullLogitsLoss(), cfg, params, batch)
  chunked = _temp_bytes(loss_lib.ChunkedLoss(64), cfg, params, batch)
  assert full >= logits_bytes, (full, logits_bytes)
  assert chunked < logits_bytes / 2, (chunked, logits_bytes)


def test_loss_chunk_len_validation():
  assert isinstance(loss_lib.make_loss(0), loss_lib.FullLogitsLoss)
  assert loss_lib.make_loss(256) == loss_lib.ChunkedLoss(256)
  with pytest.raises(ValueError, match="loss_chunk_len"):
    loss_lib.make_loss(-1)
