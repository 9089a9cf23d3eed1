"""Logits parity with `transformers` for every architecture `hf_convert` imports.

For each architecture a tiny random HF model (fp32, eager attention, biases and norm
scales randomised too) is saved with `save_pretrained` and read with
`load_hf_checkpoint`. Three checks per architecture, all at |Δ| <= 1e-4:
  - prefill: a LEFT-PADDED batch (what the sampler feeds the model) scored by both;
    only real positions are compared (padded query rows are undefined on both sides);
  - cached decode: our compiled KV-cache decode loop (`sampling.decode.generate`,
    greedy) against `model.generate(do_sample=False)` on the same left-padded prompts:
    identical tokens and per-step log-probs;
  - export: our params sharded over 8 (fake CPU) devices -> `save_hf_checkpoint` (forced
    into several shards) -> `AutoModelForCausalLM.from_pretrained` gives the original
    model's logits and the same architecture class.
Prompts are long enough (up to 20 + 6 new tokens) that 'dynamic' rope scaling (whose
original context here is 16) is actually exercised, and the 'llama3' band edges put
rotary frequencies in each of its three bands.
"""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="pip install -r tests/hf/requirements.txt")
transformers = pytest.importorskip("transformers")

# pylint: disable=wrong-import-position
from restem_jax.convert import hf_convert
from restem_jax.model import interface, kv_cache, masks
from restem_jax.sampling import decode, decode_input, engines
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
# pylint: enable=wrong-import-position

ATOL = 1e-4
LENGTHS = (20, 7, 13)  # left-padded prompt lengths
NEW_TOKENS = 6
_COMMON = dict(vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
               num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
               rms_norm_eps=1e-5, attn_implementation="eager")

ARCHS = {
    "llama2-untied": lambda: transformers.LlamaConfig(**_COMMON, rope_theta=5000.0),
    "smollm-tied-headdim24": lambda: transformers.LlamaConfig(
        **_COMMON, head_dim=24, tie_word_embeddings=True),
    "llama3-rope": lambda: transformers.LlamaConfig(**_COMMON, rope_parameters={
        "rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    "rope-linear": lambda: transformers.LlamaConfig(**_COMMON, rope_parameters={
        "rope_type": "linear", "rope_theta": 10000.0, "factor": 3.0}),
    "rope-dynamic": lambda: transformers.LlamaConfig(**{**_COMMON, "max_position_embeddings": 16},
                                                     rope_parameters={"rope_type": "dynamic",
                                                                      "rope_theta": 10000.0,
                                                                      "factor": 2.0}),
    "mistral-window": lambda: transformers.MistralConfig(**_COMMON, sliding_window=64),
    "qwen2-untied": lambda: transformers.Qwen2Config(**_COMMON, tie_word_embeddings=False),
    "qwen2.5-tied": lambda: transformers.Qwen2Config(**_COMMON, tie_word_embeddings=True),
    "qwen3-qknorm": lambda: transformers.Qwen3Config(**_COMMON, head_dim=24),
}


@pytest.fixture(scope="module", params=sorted(ARCHS))
def arch(request, tmp_path_factory):
  """(name, HF model, its saved dir, our cfg, our numpy params)."""
  torch.manual_seed(0)
  model = transformers.AutoModelForCausalLM.from_config(ARCHS[request.param]()).eval()
  with torch.no_grad():
    for name, p in model.named_parameters():
      if name.endswith("norm.weight"):
        p.copy_(1.0 + 0.3 * torch.randn_like(p))
      else:
        p.normal_(0.0, 0.08)
  path = str(tmp_path_factory.mktemp(request.param.replace(".", "_")))
  model.save_pretrained(path, safe_serialization=True)
  cfg, params = hf_convert.load_hf_checkpoint(path)
  return request.param, model, path, cfg, params


def _reset_rope(model):
  """transformers' dynamic rope keeps state between calls; start every call fresh."""
  rotary = model.model.rotary_emb
  if "dynamic" in str(rotary.rope_type):
    rotary.inv_freq = rotary.original_inv_freq.clone()
    rotary.max_seq_len_cached = rotary.original_max_seq_len


def _left_padded(vocab):
  rng = np.random.default_rng(1)
  t = max(LENGTHS)
  ids = np.zeros((len(LENGTHS), t), np.int64)
  mask = np.zeros_like(ids)
  for r, n in enumerate(LENGTHS):
    ids[r, t - n:] = rng.integers(3, vocab, n)
    mask[r, t - n:] = 1
  return ids, mask


def test_config_fields(arch):
  name, model, _, cfg, params = arch
  hf = model.config
  assert (cfg.num_heads, cfg.num_kv_heads, cfg.head_dim) == (
      hf.num_attention_heads, hf.num_key_value_heads, model.model.layers[0].self_attn.head_dim)
  assert cfg.tie_embeddings == bool(hf.tie_word_embeddings) == ("lm_head" not in params)
  assert cfg.qkv_bias == name.startswith("qwen2") == ("bq" in params["block_0"]["attn"])
  assert cfg.qk_norm == name.startswith("qwen3")
  assert cfg.sliding_window == (64 if name.startswith("mistral") else 0)
  want_rope = name.split("-")[1] if name.startswith("rope") else (
      "llama3" if name.startswith("llama3") else "default")
  assert cfg.rope_type == want_rope


def test_prefill_logits_left_padded(arch):
  name, model, _, cfg, params = arch
  ids, mask = _left_padded(cfg.vocab_size)
  positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
  _reset_rope(model)
  with torch.no_grad():
    ref = model(torch.tensor(ids), attention_mask=torch.tensor(mask),
                position_ids=torch.tensor(positions)).logits.numpy()
  ours = np.asarray(interface.logits_fn(cfg, params, jnp.asarray(ids, jnp.int32),
                                        jnp.asarray(mask, jnp.int32),
                                        jnp.asarray(positions, jnp.int32)))
  real = mask.astype(bool)
  assert np.abs(ref[real]).max() > 0.5, "degenerate logits would make the comparison vacuous"
  err = np.abs(ours[real] - ref[real]).max()
  print(f"PARITY {name} prefill max|dlogit|={err:.2e}")
  assert err <= ATOL, f"{name}: prefill max |dlogit| {err}"


@functools.partial(jax.jit, static_argnums=0)
def _cached_step_logits(cfg, params, prompts_BxP, lengths_B, forced_BxM):
  """Full logits of a KV-cached prefill + one cached step per forced token (teacher forcing),
  laid out as the decode loop lays out its cache (prompt slots, then one slot per step)."""
  b, p = prompts_BxP.shape
  m = forced_BxM.shape[1]
  slots_P = jnp.arange(p)
  valid_BxS = jnp.concatenate([slots_P[None] >= (p - lengths_B)[:, None],
                               jnp.ones((b, m), bool)], axis=1)
  module = interface.make_module(cfg)
  logits, cache = module.apply(
      {"params": params}, prompts_BxP, jnp.maximum(slots_P[None] - (p - lengths_B)[:, None], 0),
      masks.cache_mask(valid_BxS, jnp.broadcast_to(slots_P, (b, p))),
      kv_cache.init_cache(cfg, b, p + m), 0, last_only=True)
  out = [logits[:, 0]]
  for t in range(m - 1):
    logits, cache = module.apply(
        {"params": params}, forced_BxM[:, t:t + 1], (lengths_B + t)[:, None],
        masks.cache_mask(valid_BxS, jnp.full((b, 1), p + t)), cache, p + t)
    out.append(logits[:, 0])
  return jnp.stack(out, axis=1)


def test_cached_greedy_decode_matches_generate(arch):
  name, model, _, cfg, params = arch
  ids, mask = _left_padded(cfg.vocab_size)
  _reset_rope(model)
  with torch.no_grad():
    out = model.generate(torch.tensor(ids), attention_mask=torch.tensor(mask),
                         max_new_tokens=NEW_TOKENS, do_sample=False,
                         output_logits=True, return_dict_in_generate=True, eos_token_id=None,
                         pad_token_id=0)
  ref_tokens = out.sequences[:, ids.shape[1]:].numpy()
  ref_logp = torch.log_softmax(torch.stack(out.logits, 1).float(), -1)
  ref_lp = torch.gather(ref_logp, 2, out.sequences[:, ids.shape[1]:, None])[..., 0].numpy()
  batch = decode_input.unstopped(ids, LENGTHS, cfg.vocab_size)  # no EOS, no stop strings
  shape = decode_input.DecodeShape(num_samples=1, max_new_tokens=NEW_TOKENS, top_k=1)
  res = decode.jit_generate(cfg, shape)(params, batch)
  np.testing.assert_array_equal(np.asarray(res["tokens"]), ref_tokens, err_msg=name)
  # The cascade E-step engine (no shared prefix here: every prompt is its own suffix).
  cas = engines.CascadeEngine(cfg, NEW_TOKENS).run(params, kv_cache.init_cache(cfg, 1, 0),
                                                   batch, shape)
  np.testing.assert_array_equal(np.asarray(cas["tokens"]), ref_tokens, err_msg=name)
  np.testing.assert_allclose(np.asarray(cas["logprobs"]), np.asarray(res["logprobs"]), atol=ATOL)
  err = np.abs(np.asarray(res["logprobs"]) - ref_lp).max()
  logits = _cached_step_logits(cfg, params, jnp.asarray(ids, jnp.int32),
                               jnp.asarray(LENGTHS, jnp.int32), jnp.asarray(ref_tokens, jnp.int32))
  logit_err = np.abs(np.asarray(logits) - torch.stack(out.logits, 1).numpy()).max()
  print(f"PARITY {name} cached-decode max|dlogit|={logit_err:.2e} max|dlogprob|={err:.2e}")
  assert err <= ATOL, f"{name}: cached decode max |dlogprob| {err}"
  assert logit_err <= ATOL, f"{name}: cached decode max |dlogit| {logit_err}"


def test_export_of_sharded_params_loads_in_transformers(arch, tmp_path):
  name, model, _, cfg, params = arch
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig(axis_sizes=(2, 2, 2)))
  placed = hf_convert.place_params(cfg, params, mesh, partitioning.DEFAULT_RULES)
  assert any(len(leaf.sharding.device_set) == 8 and not leaf.sharding.is_fully_replicated
             for leaf in jax.tree.leaves(placed)), "params should be sharded over 8 devices"
  out = str(tmp_path / "export")
  hf_convert.save_hf_checkpoint(out, cfg, placed, max_shard_bytes=64 * 1024)
  assert os.path.exists(os.path.join(out, hf_convert.INDEX_FILE)), "expected several shards"
  for f in os.listdir(out):  # each shard holds at most 64 KiB of tensors (+ its JSON header)
    if f.endswith(".safetensors"):
      assert os.path.getsize(os.path.join(out, f)) <= 64 * 1024 + 4096, f
  reloaded = transformers.AutoModelForCausalLM.from_pretrained(
      out, attn_implementation="eager").eval()
  assert type(reloaded) is type(model), name
  ids = np.random.default_rng(4).integers(0, cfg.vocab_size, (2, 20))
  _reset_rope(model)
  with torch.no_grad():
    got, want = reloaded(torch.tensor(ids)).logits.numpy(), model(torch.tensor(ids)).logits.numpy()
  np.testing.assert_allclose(got, want, atol=1e-6, rtol=0, err_msg=name)
  cfg2, _ = hf_convert.load_hf_checkpoint(out)
  assert cfg2 == cfg, name
