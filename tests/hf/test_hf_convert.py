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
import re

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="pip install -r tests/hf/requirements.txt")
transformers = pytest.importorskip("transformers")

from restem_jax.convert import hf_convert  # pylint: disable=wrong-import-position
from restem_jax.model import interface  # pylint: disable=wrong-import-position
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
    ({"attention_bias": True}, "attention_bias"),
    ({"mlp_bias": True}, "mlp_bias"),
    ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4, "factor": 4.0}},
     "rope_parameters.rope_type='yarn'"),
    ({"rope_scaling": {"type": "longrope", "factor": 4.0}}, "rope_scaling.rope_type='longrope'"),
    ({"rope_parameters": {"full_attention": {"rope_type": "default"},
                          "sliding_attention": {"rope_type": "default"}}}, "nested per layer"),
    ({"partial_rotary_factor": 0.5}, "partial_rotary_factor"),
    ({"hidden_act": "gelu"}, "hidden_act"),
    ({"model_type": "gpt2"}, "model_type"),
    ({"model_type": "gemma2"}, "Gemma-2"),
    ({"model_type": "gemma3_text"}, "Gemma-3"),
    ({"model_type": "qwen3", "attention_bias": True}, "attention_bias"),
    ({"model_type": "qwen2", "use_sliding_window": True, "sliding_window": 32},
     "use_sliding_window"),
    ({"model_type": "qwen2", "layer_types": ["sliding_attention"]}, "layer_types"),
    ({"model_type": "mistral", "layer_types": ["full_attention"]}, "layer_types"),
], ids=["attention_bias", "mlp_bias", "rope-yarn", "rope-longrope", "rope-nested", "partial-rope",
        "gelu", "gpt2", "gemma2", "gemma3", "qwen3-o-bias", "qwen2-window", "qwen2-layer-types",
        "ministral"])
def test_unsupported_configs_are_refused_before_weights(tmp_path, extra, match):
  # No weights file exists: the refusal must come from config.json alone.
  with pytest.raises(hf_convert.UnsupportedCheckpointError, match=re.escape(match)):
    hf_convert.load_hf_checkpoint(_write(tmp_path, {**BASE, **extra}))


@pytest.mark.parametrize("extra,fields", [
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                       "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
      "rope_theta": 5e5}, dict(rope_type="llama3", rope_factor=8.0, rope_original_max_len=64,
                               rope_theta=5e5)),
    ({"rope_scaling": {"type": "linear", "factor": 2.0}}, dict(rope_type="linear",
                                                                rope_factor=2.0)),
    ({"rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 7.0},
      "max_position_embeddings": 32}, dict(rope_type="dynamic", rope_original_max_len=32,
                                           rope_theta=7.0)),
    ({"model_type": "qwen2", "use_sliding_window": False, "sliding_window": 4096},
     dict(qkv_bias=True, sliding_window=0)),
    ({"model_type": "mistral", "sliding_window": 4096}, dict(sliding_window=4096)),
    ({"model_type": "mistral", "sliding_window": None}, dict(sliding_window=0)),
], ids=["llama3-legacy-spelling", "linear-legacy-type-key", "dynamic-v5-spelling", "qwen2",
        "mistral-window", "mistral-no-window"])
def test_config_spellings(extra, fields):
  cfg = hf_convert.config_from_hf({**BASE, **extra})
  for k, v in fields.items():
    assert getattr(cfg, k) == v, k


def test_sliding_window_context_check():
  cfg = hf_convert.config_from_hf({**BASE, "model_type": "mistral", "sliding_window": 64})
  cfg.check_context(64)
  with pytest.raises(ValueError, match="sliding_window=64"):
    cfg.check_context(65)
  hf_convert.config_from_hf({**BASE, "model_type": "mistral", "sliding_window": None}
                            ).check_context(10**6)


def test_param_count_includes_biases_and_qk_norm():
  import jax  # pylint: disable=import-outside-toplevel
  for extra in ({}, {"model_type": "qwen2"}, {"model_type": "qwen3"}):
    cfg = hf_convert.config_from_hf({**BASE, **extra})
    params = jax.eval_shape(lambda k, c=cfg: _unbox(interface.init_boxed(c, k)),
                            jax.random.key(0))
    assert cfg.num_params() == sum(x.size for x in jax.tree.leaves(params)), extra


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


def test_sliding_window_boundary_matches_check_context(tmp_path):
  """check_context(W) accepts exactly the lengths where HF's windowed attention equals ours:
  a sequence of W tokens scores the same; at W + 1 the last position differs."""
  window = 8
  torch.manual_seed(0)
  model = transformers.MistralForCausalLM(transformers.MistralConfig(
      vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=1,
      num_attention_heads=4, num_key_value_heads=2, sliding_window=window,
      attn_implementation="eager")).eval()
  with torch.no_grad():
    for p in model.parameters():
      p.normal_(0.0, 0.3)
  path = os.path.join(tmp_path, "mistral")
  model.save_pretrained(path)
  cfg, params = hf_convert.load_hf_checkpoint(path)
  ids = np.random.default_rng(0).integers(0, 64, (1, window + 1)).astype(np.int32)
  ours = np.asarray(interface.logits_fn(cfg, params, jnp.asarray(ids),
                                        jnp.ones_like(jnp.asarray(ids))))[0]
  ref = hf_logits(model, ids.astype(np.int64))[0]
  cfg.check_context(window)
  np.testing.assert_allclose(ours[:window], ref[:window], atol=ATOL, rtol=0)
  with pytest.raises(ValueError, match="sliding_window"):
    cfg.check_context(window + 1)
  assert np.abs(ours[window] - ref[window]).max() > 1e-3, "HF did not apply its window"
