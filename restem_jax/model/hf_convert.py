"""Llama-architecture checkpoints in the Hugging Face layout <-> restem_jax params.

The path by which real open models (Llama, TinyLlama, Mistral-style dense models...)
come in, and by which a ReST-EM result goes back to serving stacks:

    load_hf_checkpoint(dir) -> (ModelConfig, params)   # config.json + *.safetensors
    save_hf_checkpoint(dir, cfg, params)                # config.json + model.safetensors

Only numpy, ml_dtypes and `safetensors.numpy` are used: no torch at import time.

Layout (HF `nn.Linear` weights are [out, in]; ours are [in, ...out]):

    model.embed_tokens.weight [V, D]              -> embedding [V, D]
    layers.i.self_attn.q_proj.weight [H*E, D]     -> block_i/attn/wq [D, H, E]
    layers.i.self_attn.{k,v}_proj.weight [K*E, D] -> block_i/attn/{wk,wv} [D, K, E]
    layers.i.self_attn.o_proj.weight [D, H*E]     -> block_i/attn/wo [H, E, D]
    layers.i.mlp.{gate,up}_proj.weight [F, D]     -> block_i/mlp/{w_gate,w_up} [D, F]
    layers.i.mlp.down_proj.weight [D, F]          -> block_i/mlp/w_down [F, D]
    layers.i.input_layernorm.weight [D]           -> block_i/attn_norm/scale
    layers.i.post_attention_layernorm.weight [D]  -> block_i/mlp_norm/scale
    model.norm.weight [D]                         -> final_norm/scale
    lm_head.weight [V, D] (absent when tied)      -> lm_head [D, V]

HF Llama stores q_proj/k_proj already in the rotate-half RoPE layout our model
uses (the permutation from Meta's interleaved layout happens in HF's own
conversion script), so no q/k permutation is applied here. Features our model
does not implement (q/k/v or MLP biases as in Qwen2, rope scaling, other
activations, sliding windows) are refused with an error, never silently dropped.
"""

from __future__ import annotations

import json
import os
from typing import Any

import ml_dtypes
import numpy as np
from safetensors import numpy as st_numpy

from restem_jax.model.config import ModelConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"

_SUPPORTED_MODEL_TYPES = ("llama", "mistral")
_NP_DTYPES = {"float32": np.float32, "bfloat16": ml_dtypes.bfloat16, "float16": np.float16}
# Keys that older checkpoints carry but that hold no learned weights.
_IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)


class UnsupportedCheckpointError(ValueError):
  """The checkpoint uses a feature that restem_jax's Llama model does not implement."""


# ----------------------------------------------------------------------------- config


def _rope_theta(hf: dict[str, Any]) -> float:
  """rope_theta from either the transformers>=5 `rope_parameters` or the older flat keys."""
  rope = hf.get("rope_parameters") or {}
  scaling = hf.get("rope_scaling") or {}
  rope_type = rope.get("rope_type", rope.get("type")) or scaling.get("rope_type",
                                                                       scaling.get("type"))
  if rope_type not in (None, "default"):
    raise UnsupportedCheckpointError(
        f"rope scaling type {rope_type!r} is not implemented by restem_jax (only plain RoPE); "
        "refusing to load rather than change the model's positional behaviour.")
  return float(rope.get("rope_theta", hf.get("rope_theta", 10_000.0)))


def config_from_hf(hf: dict[str, Any], *, dtype: str = "float32",
                   param_dtype: str = "float32") -> ModelConfig:
  """HF `config.json` dict -> ModelConfig, refusing what the model cannot represent."""
  model_type = hf.get("model_type", "llama")
  if model_type == "qwen2" or hf.get("attention_bias") or hf.get("mlp_bias"):
    raise UnsupportedCheckpointError(
        f"model_type={model_type!r}, attention_bias={hf.get('attention_bias')}, "
        f"mlp_bias={hf.get('mlp_bias')}: q/k/v/o or MLP biases are not supported by restem_jax's "
        "Llama model (Qwen2-style checkpoints always carry q/k/v biases).")
  if model_type not in _SUPPORTED_MODEL_TYPES:
    raise UnsupportedCheckpointError(
        f"model_type={model_type!r}; supported: {_SUPPORTED_MODEL_TYPES}.")
  act = hf.get("hidden_act", "silu")
  if act != "silu":
    raise UnsupportedCheckpointError(f"hidden_act={act!r}; only SwiGLU ('silu') is implemented.")
  if hf.get("sliding_window") is not None and hf.get("use_sliding_window", True):
    raise UnsupportedCheckpointError(
        f"sliding_window={hf['sliding_window']}: sliding-window attention is not implemented.")
  heads = int(hf["num_attention_heads"])
  width = int(hf["hidden_size"])
  return ModelConfig(
      vocab_size=int(hf["vocab_size"]),
      embed_dim=width,
      num_layers=int(hf["num_hidden_layers"]),
      num_heads=heads,
      num_kv_heads=int(hf.get("num_key_value_heads") or heads),
      head_dim=int(hf.get("head_dim") or width // heads),
      mlp_dim=int(hf["intermediate_size"]),
      max_len=int(hf.get("max_position_embeddings", 2048)),
      rope_theta=_rope_theta(hf),
      norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
      tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
      dtype=dtype,
      param_dtype=param_dtype,
  )


def config_to_hf(cfg: ModelConfig, *, torch_dtype: str | None = None) -> dict[str, Any]:
  """ModelConfig -> a `LlamaConfig`-compatible dict (read by transformers 4.x and 5.x)."""
  return {
      "architectures": ["LlamaForCausalLM"],
      "model_type": "llama",
      "vocab_size": cfg.vocab_size,
      "hidden_size": cfg.embed_dim,
      "intermediate_size": cfg.mlp_dim,
      "num_hidden_layers": cfg.num_layers,
      "num_attention_heads": cfg.num_heads,
      "num_key_value_heads": cfg.num_kv_heads,
      "head_dim": cfg.head_dim,
      "hidden_act": "silu",
      "max_position_embeddings": cfg.max_len,
      "rms_norm_eps": cfg.norm_eps,
      "rope_theta": cfg.rope_theta,  # transformers < 5
      "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_theta},  # >= 5
      "tie_word_embeddings": cfg.tie_embeddings,
      "attention_bias": False,
      "mlp_bias": False,
      "torch_dtype": torch_dtype or cfg.param_dtype,
  }


# ----------------------------------------------------------------------------- tensors


def _read_tensors(path: str) -> dict[str, np.ndarray]:
  """All tensors of a single-file or index-sharded safetensors checkpoint."""
  index = os.path.join(path, INDEX_FILE)
  if os.path.exists(index):
    with open(index) as f:
      files = sorted(set(json.load(f)["weight_map"].values()))
  elif os.path.exists(os.path.join(path, WEIGHTS_FILE)):
    files = [WEIGHTS_FILE]
  else:
    raise FileNotFoundError(f"{path}: neither {WEIGHTS_FILE} nor {INDEX_FILE} found "
                            "(pytorch_model.bin checkpoints are not read; convert to safetensors).")
  tensors: dict[str, np.ndarray] = {}
  for name in files:
    tensors.update(st_numpy.load_file(os.path.join(path, name)))
  return tensors


def hf_to_params(cfg: ModelConfig, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
  """HF state dict (numpy) -> restem_jax params pytree (numpy, cfg.param_dtype)."""
  tensors = {k.removeprefix("model."): v for k, v in tensors.items()
             if not k.endswith(_IGNORED_SUFFIXES)}
  biases = sorted(k for k in tensors if k.endswith(".bias"))
  if biases:
    raise UnsupportedCheckpointError(
        f"checkpoint has bias tensors ({biases[:3]}...), which restem_jax's model does not support.")
  dt = _NP_DTYPES[cfg.param_dtype]
  used: set[str] = set()

  def take(name, shape):
    if name not in tensors:
      raise KeyError(f"HF checkpoint lacks tensor {name!r}.")
    x = tensors[name]
    if tuple(x.shape) != tuple(shape):
      raise ValueError(f"HF tensor {name!r} has shape {x.shape}, config implies {shape}.")
    used.add(name)
    return np.asarray(x).astype(dt)

  d, h, k, e, f, v = (cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim, cfg.mlp_dim,
                      cfg.vocab_size)
  params: dict[str, Any] = {"embedding": take("embed_tokens.weight", (v, d))}
  for i in range(cfg.num_layers):
    p = f"layers.{i}."
    params[f"block_{i}"] = {
        "attn": {
            "wq": take(p + "self_attn.q_proj.weight", (h * e, d)).T.reshape(d, h, e),
            "wk": take(p + "self_attn.k_proj.weight", (k * e, d)).T.reshape(d, k, e),
            "wv": take(p + "self_attn.v_proj.weight", (k * e, d)).T.reshape(d, k, e),
            "wo": take(p + "self_attn.o_proj.weight", (d, h * e)).T.reshape(h, e, d),
        },
        "attn_norm": {"scale": take(p + "input_layernorm.weight", (d,))},
        "mlp": {
            "w_gate": take(p + "mlp.gate_proj.weight", (f, d)).T,
            "w_up": take(p + "mlp.up_proj.weight", (f, d)).T,
            "w_down": take(p + "mlp.down_proj.weight", (d, f)).T,
        },
        "mlp_norm": {"scale": take(p + "post_attention_layernorm.weight", (d,))},
    }
  params["final_norm"] = {"scale": take("norm.weight", (d,))}
  if not cfg.tie_embeddings:
    params["lm_head"] = take("lm_head.weight", (v, d)).T
  elif "lm_head.weight" in tensors:
    # Some tied checkpoints store the head anyway; it must equal the embedding.
    if not np.array_equal(tensors["lm_head.weight"], tensors["embed_tokens.weight"]):
      raise UnsupportedCheckpointError(
          "tie_word_embeddings=True but lm_head.weight differs from embed_tokens.weight.")
    used.add("lm_head.weight")
  unused = sorted(set(tensors) - used)
  if unused:
    raise UnsupportedCheckpointError(
        f"checkpoint has tensors restem_jax would drop: {unused[:5]} ({len(unused)} in all).")
  return params


def params_to_hf(cfg: ModelConfig, params) -> dict[str, np.ndarray]:
  """restem_jax params pytree -> HF Llama state dict (numpy, C-contiguous, dtype kept)."""

  def arr(x):
    return np.ascontiguousarray(np.asarray(x))

  d, h, k, e = cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
  out = {"model.embed_tokens.weight": arr(params["embedding"]),
         "model.norm.weight": arr(params["final_norm"]["scale"])}
  for i in range(cfg.num_layers):
    blk, p = params[f"block_{i}"], f"model.layers.{i}."
    attn, mlp = blk["attn"], blk["mlp"]
    out[p + "self_attn.q_proj.weight"] = arr(np.asarray(attn["wq"]).reshape(d, h * e).T)
    out[p + "self_attn.k_proj.weight"] = arr(np.asarray(attn["wk"]).reshape(d, k * e).T)
    out[p + "self_attn.v_proj.weight"] = arr(np.asarray(attn["wv"]).reshape(d, k * e).T)
    out[p + "self_attn.o_proj.weight"] = arr(np.asarray(attn["wo"]).reshape(h * e, d).T)
    out[p + "mlp.gate_proj.weight"] = arr(np.asarray(mlp["w_gate"]).T)
    out[p + "mlp.up_proj.weight"] = arr(np.asarray(mlp["w_up"]).T)
    out[p + "mlp.down_proj.weight"] = arr(np.asarray(mlp["w_down"]).T)
    out[p + "input_layernorm.weight"] = arr(blk["attn_norm"]["scale"])
    out[p + "post_attention_layernorm.weight"] = arr(blk["mlp_norm"]["scale"])
  if not cfg.tie_embeddings:
    out["lm_head.weight"] = arr(np.asarray(params["lm_head"]).T)
  return out


# ----------------------------------------------------------------------------- files


def load_hf_checkpoint(path: str, *, dtype: str = "float32",
                       param_dtype: str = "float32") -> tuple[ModelConfig, dict[str, Any]]:
  """Reads `path/config.json` and its safetensors into (ModelConfig, numpy params).

  Args:
    path: a directory as written by `save_pretrained` (single or index-sharded safetensors).
    dtype, param_dtype: ModelConfig compute and storage dtypes; weights are cast to
      `param_dtype` (fp32 by default, so a bf16 checkpoint is read exactly).
  Returns:
    (cfg, params): params is a plain pytree of numpy arrays; place it on a mesh with
    `place_params` (or `jax.device_put`).
  """
  with open(os.path.join(path, CONFIG_FILE)) as f:
    cfg = config_from_hf(json.load(f), dtype=dtype, param_dtype=param_dtype)
  return cfg, hf_to_params(cfg, _read_tensors(path))


def save_hf_checkpoint(path: str, cfg: ModelConfig, params) -> None:
  """Writes `path/config.json` + `path/model.safetensors` loadable by `LlamaForCausalLM`."""
  os.makedirs(path, exist_ok=True)
  tensors = params_to_hf(cfg, params)
  torch_dtype = str(next(iter(tensors.values())).dtype)
  with open(os.path.join(path, CONFIG_FILE), "w") as f:
    json.dump(config_to_hf(cfg, torch_dtype=torch_dtype), f, indent=2)
  st_numpy.save_file(tensors, os.path.join(path, WEIGHTS_FILE), metadata={"format": "pt"})


def place_params(cfg: ModelConfig, params, mesh, rules):
  """Device-puts numpy params with the shardings `init_sharded` would give them."""
  import jax  # pylint: disable=import-outside-toplevel
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  from restem_jax.model import interface  # pylint: disable=import-outside-toplevel
  from restem_jax.sharding import partitioning  # pylint: disable=import-outside-toplevel

  abstract = jax.eval_shape(lambda k: interface.init_boxed(cfg, k), jax.random.key(0))
  shardings = partitioning.logical_to_shardings(nn.get_partition_spec(abstract), mesh, rules)
  return jax.tree.map(jax.device_put, params, shardings)
