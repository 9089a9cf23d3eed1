"""Parity of restem_jax with Hugging Face `LlamaForCausalLM` through `hf_convert`.

A tiny random HF model (PyTorch CPU, fp32, eager attention) is saved with
`save_pretrained`, read with `load_hf_checkpoint`, and both models score the same
random token ids; logits must agree to 1e-4. Norm scales are randomised too, so a
swapped attn_norm/mlp_norm mapping fails.

Padding case: a left-padded batch, because that is what our sampler feeds the
model (prompts are left-padded to a bucket). HF gets `attention_mask` and
`position_ids = cumsum(mask) - 1`; ours gets segment_ids = mask and the same
positions. Only real (unpadded) positions are compared: padded query rows are
undefined on both sides. A packed row (two sequences, segment ids 1 and 2) is
also checked against HF run on each sequence alone.
"""

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="pip install -r tests/hf/requirements.txt")
transformers = pytest.importorskip("transformers")

from restem_jax.model import hf_convert, interface  # pylint: disable=wrong-import-position
from restem_jax.model.config import ModelConfig  # pylint: disable=wrong-import-position

ATOL = 1e-4


def hf_model(tmp_path, *, heads=4, kv_heads=2, tied=False, rope_theta=5000.0, eps=1e-5,
             vocab=97, seed=0):
  """A random tiny LlamaForCausalLM saved to tmp_path; returns (model, path)."""
  torch.manual_seed(seed)
  cfg = transformers.LlamaConfig(
      vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
      num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=128,
      rms_norm_eps=eps, rope_theta=rope_theta, tie_word_embeddings=tied,
      attn_implementation="eager")
  model = transformers.LlamaForCausalLM(cfg).eval()
  with torch.no_grad():
    for name, p in model.named_parameters():
      if name.endswith("norm.weight"):
        p.copy_(1.0 + 0.3 * torch.randn_like(p))
      else:
        p.normal_(0.0, 0.08)
  path = os.path.join(tmp_path, "hf")
  model.save_pretrained(path, safe_serialization=True)
  return model, path


def hf_logits(model, ids, mask=None, positions=None):
  with torch.no_grad():
    kw = {}
    if mask is not None:
      kw = {"attention_mask": torch.tensor(mask), "position_ids": torch.tensor(positions)}
    return model(torch.tensor(ids), **kw).logits.numpy()


@pytest.mark.parametrize("heads,kv_heads,tied", [(4, 2, False), (4, 1, True), (4, 4, False)],
                         ids=["gqa", "mqa-tied", "mha"])
def test_logits_match_hf(tmp_path, heads, kv_heads, tied):
  model, path = hf_model(tmp_path, heads=heads, kv_heads=kv_heads, tied=tied)
  cfg, params = hf_convert.load_hf_checkpoint(path)
  assert (cfg.num_heads, cfg.num_kv_heads, cfg.tie_embeddings) == (heads, kv_heads, tied)
  assert cfg.rope_theta == 5000.0 and cfg.norm_eps == 1e-5, "rope_theta / rms_norm_eps lost"
  assert ("lm_head" in params) != tied
  ids = np.random.default_rng(1).integers(0, cfg.vocab_size, (3, 24)).astype(np.int32)
  ours = interface.logits_fn(cfg, params, jnp.asarray(ids), jnp.ones_like(jnp.asarray(ids)))
  ref = hf_logits(model, ids.astype(np.int64))
  assert np.abs(ref).max() > 0.5, "degenerate logits would make the comparison vacuous"
  np.testing.assert_allclose(np.asarray(ours), ref, atol=ATOL, rtol=0)


def test_left_padded_batch_with_attention_mask(tmp_path):
  model, path = hf_model(tmp_path)
  cfg, params = hf_convert.load_hf_checkpoint(path)
  rng = np.random.default_rng(2)
  lengths = [20, 7, 13, 1]
  t = max(lengths)
  ids = np.zeros((len(lengths), t), np.int64)
  mask = np.zeros((len(lengths), t), np.int64)
  for r, n in enumerate(lengths):
    ids[r, t - n:] = rng.integers(3, cfg.vocab_size, n)
    mask[r, t - n:] = 1
  positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
  ref = hf_logits(model, ids, mask, positions)
  ours = np.asarray(interface.logits_fn(cfg, params, jnp.asarray(ids, jnp.int32),
                                        jnp.asarray(mask, jnp.int32),
                                        jnp.asarray(positions, jnp.int32)))
  for r, n in enumerate(lengths):
    np.testing.assert_allclose(ours[r, t - n:], ref[r, t - n:], atol=ATOL, rtol=0)
    # Each row must also equal that sequence scored alone (padding is invisible).
    alone = hf_logits(model, ids[r:r + 1, t - n:])[0]
    np.testing.assert_allclose(ours[r, t - n:], alone, atol=ATOL, rtol=0)


def test_packed_row_matches_separate_sequences(tmp_path):
  model, path = hf_model(tmp_path)
  cfg, params = hf_convert.load_hf_checkpoint(path)
  rng = np.random.default_rng(3)
  a, b = rng.integers(3, cfg.vocab_size, 9), rng.integers(3, cfg.vocab_size, 14)
  row = np.concatenate([a, b, np.zeros(5, np.int64)])[None].astype(np.int32)
  seg = np.concatenate([np.ones(9), 2 * np.ones(14), np.zeros(5)])[None].astype(np.int32)
  ours = np.asarray(interface.logits_fn(cfg, params, jnp.asarray(row), jnp.asarray(seg)))[0]
  np.testing.assert_allclose(ours[:9], hf_logits(model, a[None])[0], atol=ATOL, rtol=0)
  np.testing.assert_allclose(ours[9:23], hf_logits(model, b[None])[0], atol=ATOL, rtol=0)


def test_export_then_import_is_lossless(tmp_path):
  model, path = hf_model(tmp_path)
  cfg, params = hf_convert.load_hf_checkpoint(path)
  out = os.path.join(tmp_path, "ours")
  hf_convert.save_hf_checkpoint(out, cfg, params)
  cfg2, params2 = hf_convert.load_hf_checkpoint(out)
  assert cfg2 == cfg
  p1, p2 = dict(_leaves(params)), dict(_leaves(params2))
  assert p1.keys() == p2.keys()
  for k in p1:
    np.testing.assert_array_equal(p1[k], p2[k], err_msg=k)
  # The export is bit-identical to HF's own state dict, and HF reads it back.
  ref = {k: v.numpy() for k, v in model.state_dict().items()}
  from safetensors.numpy import load_file  # pylint: disable=import-outside-toplevel
  exported = load_file(os.path.join(out, hf_convert.WEIGHTS_FILE))
  assert exported.keys() == ref.keys()
  for k in ref:
    np.testing.assert_array_equal(exported[k], ref[k], err_msg=k)
  reloaded = transformers.LlamaForCausalLM.from_pretrained(out, attn_implementation="eager").eval()
  ids = np.random.default_rng(4).integers(0, cfg.vocab_size, (2, 10))
  np.testing.assert_array_equal(hf_logits(reloaded, ids), hf_logits(model, ids))


def test_random_ours_roundtrip_through_hf(tmp_path):
  """Our own (tied, MQA) params -> HF -> logits agree; no HF-made weights involved."""
  cfg = ModelConfig(vocab_size=50, embed_dim=32, num_layers=1, num_heads=4, num_kv_heads=1,
                    head_dim=8, mlp_dim=48, max_len=64, rope_theta=777.0, norm_eps=1e-5,
                    tie_embeddings=True)
  import jax  # pylint: disable=import-outside-toplevel
  params = jax.tree.map(np.asarray, _unbox(interface.init_boxed(cfg, jax.random.key(7))))
  out = os.path.join(tmp_path, "ours")
  hf_convert.save_hf_checkpoint(out, cfg, params)
  with open(os.path.join(out, "config.json")) as f:
    assert json.load(f)["tie_word_embeddings"] is True
  model = transformers.LlamaForCausalLM.from_pretrained(out, attn_implementation="eager").eval()
  ids = np.random.default_rng(5).integers(0, 50, (2, 12)).astype(np.int32)
  ours = interface.logits_fn(cfg, params, jnp.asarray(ids), jnp.ones_like(jnp.asarray(ids)))
  np.testing.assert_allclose(np.asarray(ours), hf_logits(model, ids.astype(np.int64)), atol=ATOL,
                             rtol=0)


def test_bf16_checkpoint_loads_exactly_as_fp32(tmp_path):
  model, path = hf_model(tmp_path)
  bf16 = os.path.join(tmp_path, "bf16")
  model.to(torch.bfloat16).save_pretrained(bf16)
  _, params = hf_convert.load_hf_checkpoint(bf16)
  want = model.state_dict()["model.layers.1.mlp.down_proj.weight"].float().numpy().T
  np.testing.assert_array_equal(params["block_1"]["mlp"]["w_down"], want)


def _write(tmp_path, hf_cfg, tensors=None):
  path = os.path.join(tmp_path, "bad")
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, "config.json"), "w") as f:
    json.dump(hf_cfg, f)
  if tensors is not None:
    from safetensors.numpy import save_file  # pylint: disable=import-outside-toplevel
    save_file(tensors, os.path.join(path, "model.safetensors"))
  return path


BASE = {"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1}


@pytest.mark.parametrize("extra,match", [
    ({"model_type": "qwen2"}, "bias"),
    ({"attention_bias": True}, "bias"),
    ({"mlp_bias": True}, "bias"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "llama3"),
    ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4}}, "yarn"),
    ({"hidden_act": "gelu"}, "silu"),
    ({"model_type": "gpt2"}, "model_type"),
], ids=["qwen2", "attention_bias", "mlp_bias", "rope-llama3", "rope-yarn", "gelu", "gpt2"])
def test_unsupported_configs_are_refused(tmp_path, extra, match):
  with pytest.raises(hf_convert.UnsupportedCheckpointError, match=match):
    hf_convert.load_hf_checkpoint(_write(tmp_path, {**BASE, **extra}))


def test_bias_tensors_are_refused_not_dropped(tmp_path):
  model, path = hf_model(tmp_path)
  tensors = {k: v.numpy() for k, v in model.state_dict().items()}
  tensors["model.layers.0.self_attn.q_proj.bias"] = np.zeros(64, np.float32)
  with open(os.path.join(path, "config.json")) as f:
    hf_cfg = json.load(f)
  with pytest.raises(hf_convert.UnsupportedCheckpointError, match="bias"):
    hf_convert.load_hf_checkpoint(_write(tmp_path, hf_cfg, tensors))


def _unbox(tree):
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  return nn.meta.unbox(tree)


def _leaves(tree):
  import jax  # pylint: disable=import-outside-toplevel
  return [(jax.tree_util.keystr(k), np.asarray(v))
          for k, v in jax.tree_util.tree_leaves_with_path(tree)]
