"""`ModelConfig.scan_layers`: the scanned layer stack computes what the unrolled one does
(logits with and without a KV cache, loss and gradients, sampled tokens through both decode
engines), and checkpoints stay per-layer on disk, so either layout restores the other's."""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.checkpoint import manager, model_checkpoint
from restem_jax.convert import hf_convert
from restem_jax.model import interface, kv_cache, layer_stack, masks
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.training import loss as loss_lib
from tests.engine import toy

UNROLLED = toy.TOY
SCANNED = dataclasses.replace(toy.TOY, scan_layers=True)


@pytest.fixture(scope="module")
def mesh():
  return toy.one_device_mesh()


@pytest.fixture(scope="module")
def params(mesh):
  """The same weights in both layouts: (per-layer, stacked)."""
  per_layer = toy.init_params(mesh, UNROLLED, seed=3)
  target = model_checkpoint.abstract_params(SCANNED, mesh, toy.RULES)
  return per_layer, layer_stack.of(SCANNED).from_disk(SCANNED, dict(per_layer), target)


def test_scanned_params_are_stacked_on_an_unsharded_layers_axis(mesh, params):
  _, stacked = params
  assert set(stacked) == {"embedding", "lm_head", "final_norm", "blocks"}
  assert stacked["blocks"]["attn"]["wq"].shape == (2, 64, 4, 16)
  boxed = jax.eval_shape(lambda k: interface.init_boxed(SCANNED, k), jax.random.key(0))
  spec = nn.get_partition_spec(boxed)["blocks"]["mlp"]["w_up"]
  assert tuple(spec) == ("layers", "embed", "mlp")
  sharding = model_checkpoint.abstract_params(SCANNED, toy.eight_device_mesh(), toy.RULES)
  assert sharding["blocks"]["mlp"]["w_up"].sharding.spec[0] is None


def test_logits_equal_in_training_forward_prefill_and_cached_decode(params):
  per_layer, stacked = params
  tokens = jnp.asarray(np.random.default_rng(0).integers(2, 120, (2, 9)), jnp.int32)
  seg = jnp.ones_like(tokens)
  np.testing.assert_allclose(interface.logits_fn(SCANNED, stacked, tokens, seg),
                             interface.logits_fn(UNROLLED, per_layer, tokens, seg), atol=1e-5)

  def prefill_then_step(cfg, p):
    b, t = tokens.shape
    slots = jnp.broadcast_to(jnp.arange(t), (b, t))
    valid = jnp.ones((b, t + 1), bool)
    module = interface.make_module(cfg)
    last, cache = module.apply({"params": p}, tokens, slots, masks.cache_mask(valid, slots),
                               kv_cache.init_cache(cfg, b, t + 1), 0, last_only=True)
    step, cache = module.apply({"params": p}, tokens[:, :1], jnp.full((b, 1), t),
                               masks.cache_mask(valid, jnp.full((b, 1), t)), cache, t)
    return last, step, cache

  want_last, want_step, want_cache = jax.jit(lambda p: prefill_then_step(UNROLLED, p))(per_layer)
  got_last, got_step, got_cache = jax.jit(lambda p: prefill_then_step(SCANNED, p))(stacked)
  np.testing.assert_allclose(got_last, want_last, atol=1e-5)
  np.testing.assert_allclose(got_step, want_step, atol=1e-5)
  assert got_cache["k"].shape == (2, 2, 2, 10, 16)  # L x B x K x S x E
  np.testing.assert_allclose(got_cache["v"][1], want_cache[1]["v"], atol=1e-5)


@pytest.mark.parametrize("chunk_len", [0, 4])
def test_loss_and_gradients_equal_with_remat_inside_the_scan(params, chunk_len):
  per_layer, stacked = params
  rng = np.random.default_rng(1)
  tokens = jnp.asarray(rng.integers(2, 120, (2, 10)), jnp.int32)
  seg = jnp.asarray([[1] * 6 + [2] * 4, [1] * 8 + [0] * 2], jnp.int32)
  batch = {"inputs": tokens, "targets": jnp.roll(tokens, -1, axis=1), "segment_ids": seg,
           "positions": masks.positions_from_segments(seg),
           "loss_mask": (seg > 0).astype(jnp.float32),
           "weights": (seg > 0).astype(jnp.float32) * 0.5}
  loss_fn = loss_lib.make_loss(chunk_len)
  grad = lambda cfg: jax.jit(jax.value_and_grad(lambda p: loss_fn(cfg, p, batch)[0]))
  want_loss, want_g = grad(UNROLLED)(per_layer)
  got_loss, got_g = grad(dataclasses.replace(SCANNED, remat=True))(stacked)
  np.testing.assert_allclose(got_loss, want_loss, rtol=1e-6)
  got_g = layer_stack.of(SCANNED).to_disk(SCANNED, got_g)
  jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, atol=1e-6), got_g, want_g)


@pytest.mark.parametrize("engine,slots", [("cascade", 0), ("repeat", 0), ("cascade", 1)])
def test_sampler_tokens_identical(mesh, params, engine, slots):
  prompts = ["Solve each problem.\n" * 4 + s for s in ("1+2=", "a longer question, 7*8 =", "x")]
  idx = [1, 2, 3]

  def sample(cfg, p):
    s = Sampler(cfg, toy.VOCAB, SamplerConfig(prompt_buckets=(32, 128), max_new_tokens=8,
                                              prompts_per_batch=4, engine=engine,
                                              slots_per_problem=slots), mesh, toy.RULES)
    return s.sample(p, prompts, idx, 1, SamplingParams.greedy(), seed=4)

  want, got = sample(UNROLLED, params[0]), sample(SCANNED, params[1])
  np.testing.assert_array_equal(got.tokens, want.tokens)
  np.testing.assert_array_equal(got.lengths, want.lengths)
  np.testing.assert_allclose(got.logprobs, want.logprobs, atol=2e-5)


def _equal(a, b):
  return all(jax.tree.leaves(jax.tree.map(lambda x, y: np.array_equal(x, y), a, b)))


def test_checkpoints_cross_layouts_and_stay_per_layer_on_disk(tmp_path, params):
  per_layer, stacked = params
  mesh = toy.eight_device_mesh()
  model_checkpoint.save(str(tmp_path / "from_scan"), stacked, SCANNED)
  model_checkpoint.save(str(tmp_path / "from_loop"), per_layer, UNROLLED)
  ckpt = manager.Checkpointer(str(tmp_path / "from_scan"), max_to_keep=None)
  stored = ckpt._mngr.item_metadata(0)["params"]  # pylint: disable=protected-access
  ckpt.close()
  assert "block_1" in stored and "blocks" not in stored
  into_loop, _ = model_checkpoint.restore(str(tmp_path / "from_scan"), UNROLLED, mesh, toy.RULES)
  into_scan, _ = model_checkpoint.restore(str(tmp_path / "from_loop"), SCANNED, mesh, toy.RULES)
  assert _equal(into_loop, per_layer) and _equal(into_scan, stacked)
  want = model_checkpoint.abstract_params(SCANNED, mesh, toy.RULES)
  assert (jax.tree.map(lambda x: x.sharding, into_scan)
          == jax.tree.map(lambda x: x.sharding, want))


def test_mismatched_checkpoint_error_names_the_per_layer_parameter(tmp_path, params):
  wider = dataclasses.replace(SCANNED, mlp_dim=96)
  manager.save_params(str(tmp_path / "legacy"), params[0])
  with pytest.raises(manager.CheckpointError,
                     match=r"block_1/mlp/w_up: checkpoint \(64, 128\) vs expected \(64, 96\)"):
    model_checkpoint.restore(str(tmp_path / "legacy"), wider, toy.one_device_mesh(), toy.RULES)


def test_hf_weights_are_placed_stacked_for_a_scanned_model(mesh, params):
  per_layer, stacked = params  # HF import yields per-layer numpy params
  placed = hf_convert.place_params(SCANNED, jax.tree.map(np.asarray, per_layer), mesh, toy.RULES)
  assert "blocks" in placed and _equal(placed, stacked)
