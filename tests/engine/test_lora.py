"""LoRA M-step: fresh adapters are the base model, unmerged == merged, training learns."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from restem_jax.model import interface, lora_delta
from restem_jax.model.lora_delta import AdaptedParams
from restem_jax.training import lora, packing
from restem_jax.training.trainer import Trainer, TrainLoopConfig
from restem_jax.training.optimizer import OptimizerConfig
from restem_jax.training.tuning import LoraTuning
from tests.engine import toy

LCFG = lora.LoraConfig(rank=4, alpha=8.0)


def _tokens(n=2, t=12, seed=0):
  rng = np.random.default_rng(seed)
  return jnp.asarray(rng.integers(3, 100, size=(n, t)), jnp.int32), jnp.ones((n, t), jnp.int32)


def _randomised(adapters, seed=1):
  """Nonzero B everywhere (a fresh adapter has B = 0, which would hide a wrong delta)."""
  leaves, treedef = jax.tree.flatten(adapters)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  return jax.tree.unflatten(treedef, [
      jax.device_put(0.1 * jax.random.normal(k, x.shape, x.dtype), x.sharding)
      for k, x in zip(keys, leaves)])


@pytest.mark.parametrize("scan", [False, True])
def test_fresh_adapter_is_the_base_model(scan):
  cfg = dataclasses.replace(toy.TOY, scan_layers=scan)
  mesh = toy.one_device_mesh()
  params = toy.init_params(mesh, cfg)
  adapters = lora.init_adapters(cfg, LCFG, jax.random.key(0), mesh, toy.RULES)
  tok, seg = _tokens()
  base = interface.logits_fn(cfg, params, tok, seg)
  adapted = interface.logits_fn(cfg, AdaptedParams(params, adapters, LCFG.scale), tok, seg)
  np.testing.assert_array_equal(np.asarray(adapted), np.asarray(base))
  # A is random (not zero) so the first gradient step can move B.
  assert float(jnp.abs(adapters["blocks" if scan else "block_0"]["attn"]["wq_a"]).max()) > 0


@pytest.mark.parametrize("scan", [False, True])
def test_unmerged_equals_merged_logits(scan):
  cfg = dataclasses.replace(toy.TOY, scan_layers=scan)
  mesh = toy.eight_device_mesh() if scan else toy.one_device_mesh()
  params = toy.init_params(mesh, cfg)
  adapters = _randomised(lora.init_adapters(cfg, LCFG, jax.random.key(0), mesh, toy.RULES))
  tok, seg = _tokens()
  unmerged = interface.logits_fn(cfg, AdaptedParams(params, adapters, LCFG.scale), tok, seg)
  merged_params = lora.merge(cfg, LCFG, params, adapters)
  merged = interface.logits_fn(cfg, merged_params, tok, seg)
  base = interface.logits_fn(cfg, params, tok, seg)
  assert float(jnp.abs(merged - base).max()) > 1e-2  # the adapters really change the model
  np.testing.assert_allclose(np.asarray(unmerged), np.asarray(merged), atol=2e-4, rtol=2e-4)
  # Merged weights keep the base's sharding; unadapted leaves are the base's own arrays.
  wq = merged_params["blocks" if scan else "block_0"]["attn"]["wq"]
  base_wq = params["blocks" if scan else "block_0"]["attn"]["wq"]
  assert wq.sharding == base_wq.sharding
  assert merged_params["embedding"] is params["embedding"]


def test_adapters_are_fp32_and_sharded_like_their_weights():
  cfg = dataclasses.replace(toy.TOY, param_dtype="bfloat16", scan_layers=True)
  mesh = toy.eight_device_mesh()
  adapters = lora.init_adapters(cfg, LCFG, jax.random.key(0), mesh, toy.RULES)
  mlp = adapters["blocks"]["mlp"]
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(adapters))
  assert mlp["w_gate_a"].shape == (cfg.num_layers, cfg.embed_dim, LCFG.rank)
  assert mlp["w_gate_b"].shape == (cfg.num_layers, LCFG.rank, cfg.mlp_dim)
  assert adapters["blocks"]["attn"]["wo_a"].shape == (
      cfg.num_layers, cfg.num_heads, cfg.head_dim, LCFG.rank)
  # 'embed' -> fsdp on A's input axis, 'mlp' -> tensor on B's output axis, rank replicated.
  assert mlp["w_gate_a"].sharding.spec == jax.sharding.PartitionSpec(None, "fsdp", None)
  assert mlp["w_gate_b"].sharding.spec == jax.sharding.PartitionSpec(None, None, "tensor")


def _examples(n=24, seed=0):
  rng = np.random.default_rng(seed)
  out = []
  for _ in range(n):
    p = rng.integers(3, 40, size=4).astype(np.int32)
    out.append(packing.Example(p, np.array([7, 8, 9, 10, 11], np.int32), 1.0))  # learnable
  return out


def test_lora_training_reduces_loss_and_leaves_the_base_alone():
  # Tied embeddings: the frozen LM head of a random toy (std 0.02) caps how peaked the
  # logits can get, the embedding (std 1) does not.
  cfg = dataclasses.replace(toy.TOY, scan_layers=True, tie_embeddings=True)
  mesh = toy.one_device_mesh()
  params = toy.init_params(mesh, cfg)
  before = jax.tree.map(np.asarray, params)
  loop = TrainLoopConfig(seq_len=32, rows_per_micro=8, num_steps=30, loss_chunk_len=0,
                         optimizer=OptimizerConfig(learning_rate=1e-2, warmup_steps=1))
  trainer = Trainer(cfg, loop, mesh, toy.RULES, params, LoraTuning(LCFG, seed=0))
  history = trainer.fit(_examples())
  assert history[-1]["loss"] < 0.5 * history[0]["loss"], history
  # Only adapters train: the optimizer state mirrors the adapters, the base is untouched.
  n_adapter = sum(x.size for x in jax.tree.leaves(trainer.trainable))
  n_base = sum(x.size for x in jax.tree.leaves(params))
  assert n_adapter < n_base / 4
  jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, params), before)
  # The merged params give the trained model's loss (unmerged == merged after training).
  tok, seg = _tokens()
  adapted = interface.logits_fn(cfg, AdaptedParams(params, trainer.trainable, LCFG.scale),
                                tok, seg)
  np.testing.assert_allclose(np.asarray(interface.logits_fn(cfg, trainer.params, tok, seg)),
                             np.asarray(adapted), atol=2e-4, rtol=2e-4)


def test_continued_adapters_start_where_they_stopped():
  cfg = toy.TOY
  mesh = toy.one_device_mesh()
  params = toy.init_params(mesh, cfg)
  adapters = _randomised(lora.init_adapters(cfg, LCFG, jax.random.key(0), mesh, toy.RULES))
  loop = TrainLoopConfig(seq_len=32, rows_per_micro=8, num_steps=1)
  trainer = Trainer(cfg, loop, mesh, toy.RULES, params, LoraTuning(LCFG, adapters=adapters))
  jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.asarray, trainer.trainable),
               jax.tree.map(np.asarray, adapters))
  trainer.fit(_examples(8))
  assert float(jnp.abs(adapters["block_0"]["attn"]["wq_b"]).max()) > 0  # not donated away


def test_bad_lora_config_names_the_field():
  with pytest.raises(ValueError, match="train.lora.targets"):
    lora.LoraConfig(targets=("q", "qkv"))
  with pytest.raises(ValueError, match="train.lora.rank"):
    lora.LoraConfig(rank=0)


# Loss history of `_short_fit(dropout=0.0)` measured before dropout existed (the same
# adapters, data and optimizer): dropout 0 must keep these numbers.
_GOLDEN_LOSSES = {False: [64.8278579711914, 64.43453216552734, 63.634132385253906,
                          61.73353958129883],
                  True: [64.79938507080078, 64.37483215332031, 63.50373840332031,
                         61.48880386352539]}


def _short_fit(scan: bool, dropout: float, seed: int = 0):
  cfg = dataclasses.replace(toy.TOY, scan_layers=scan, tie_embeddings=True)
  mesh = toy.one_device_mesh()
  params = toy.init_params(mesh, cfg)
  loop = TrainLoopConfig(seq_len=32, rows_per_micro=4, accum_steps=2, num_steps=4,
                         loss_chunk_len=0, seed=seed,
                         optimizer=OptimizerConfig(learning_rate=1e-2, warmup_steps=1))
  lcfg = dataclasses.replace(LCFG, dropout=dropout)
  trainer = Trainer(cfg, loop, mesh, toy.RULES, params, LoraTuning(lcfg, seed=0))
  return cfg, params, trainer, [m["loss"] for m in trainer.fit(_examples())]


@pytest.mark.parametrize("scan", [False, True])
def test_dropout_zero_keeps_the_loss_trajectory(scan):
  *_, losses = _short_fit(scan, dropout=0.0)
  np.testing.assert_allclose(losses, _GOLDEN_LOSSES[scan], rtol=1e-6,
                             err_msg="LoRA with dropout 0 no longer trains as before")


@pytest.mark.parametrize("scan", [False, True])
def test_dropout_changes_training_not_evaluation(scan):
  cfg, params, trainer, losses = _short_fit(scan, dropout=0.5)
  # Step 1 has B = 0 (a fresh adapter: the adapter path adds nothing, dropped or not);
  # after it, dropping the adapter input changes the trajectory.
  assert losses[0] == pytest.approx(_GOLDEN_LOSSES[scan][0], rel=1e-6)
  assert abs(losses[-1] - _GOLDEN_LOSSES[scan][-1]) > 1e-3, losses
  # Reproducible: the keys are a function of (run seed, step, micro-batch) only ...
  assert _short_fit(scan, dropout=0.5)[-1] == losses
  # ... and the run seed moves them.
  assert _short_fit(scan, dropout=0.5, seed=1)[-1] != losses
  # Evaluation never drops: the unmerged model without a key equals the merged weights.
  tok, seg = _tokens()
  lcfg = dataclasses.replace(LCFG, dropout=0.5)
  unmerged = interface.logits_fn(
      cfg, AdaptedParams(params, trainer.trainable, lcfg.scale, lcfg.dropout), tok, seg)
  np.testing.assert_allclose(np.asarray(interface.logits_fn(cfg, trainer.params, tok, seg)),
                             np.asarray(unmerged), atol=2e-4, rtol=2e-4)
  # With a key (a training step's view) the same adapters give other logits.
  dropped = interface.logits_fn(cfg, trainer.tuning.view(params, trainer.trainable,
                                                         jax.random.key(3)), tok, seg)
  assert float(jnp.abs(dropped - unmerged).max()) > 1e-3


@pytest.mark.parametrize("scan", [False, True])
def test_every_adapted_projection_of_every_layer_draws_its_own_mask(scan, monkeypatch):
  # Under `nn.scan` the rng stream must be split per layer, as the per-layer blocks are.
  cfg = dataclasses.replace(toy.TOY, scan_layers=scan)
  mesh = toy.one_device_mesh()
  params = toy.init_params(mesh, cfg)
  adapters = lora.init_adapters(cfg, LCFG, jax.random.key(0), mesh, toy.RULES)
  seen = []
  real = lora_delta._dropout  # pylint: disable=protected-access

  def recording(x, rate, key):
    jax.debug.callback(lambda k, r: seen.append((tuple(np.asarray(k).ravel()), float(r))),
                       jax.random.key_data(key), rate)
    return real(x, rate, key)

  monkeypatch.setattr(lora_delta, "_dropout", recording)
  tok, seg = _tokens()
  interface.logits_fn(cfg, AdaptedParams(params, adapters, 1.0, 0.25, jax.random.key(0)),
                      tok, seg)
  assert len(seen) == cfg.num_layers * len(LCFG.targets)
  assert len({k for k, _ in seen}) == len(seen)  # no two projections share a mask
  assert {r for _, r in seen} == {0.25}
  seen.clear()
  interface.logits_fn(cfg, AdaptedParams(params, adapters, 1.0, 0.25), tok, seg)
  assert not seen  # no key (evaluation): no dropout


def test_bad_dropout_names_the_field():
  with pytest.raises(ValueError, match="train.lora.dropout"):
    lora.LoraConfig(dropout=1.0)
