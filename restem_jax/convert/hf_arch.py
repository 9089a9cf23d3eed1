"""Hugging Face `config.json` <-> ModelConfig, one small family object per architecture.

Supported `model_type`s and what each adds to the shared Llama block:

  llama    plain (Llama 1/2/3, SmolLM/SmolLM2, TinyLlama...), tied or untied embeddings,
           any head_dim, rope scaling 'linear' / 'dynamic' / 'llama3'
  mistral  + `sliding_window` (accepted; `ModelConfig.check_context` refuses runs whose
           sequences do not fit in the window)
  qwen2    + q/k/v biases (Qwen2, Qwen2.5)
  qwen3    + RMSNorm on each query/key head (QK-norm)

Everything else is refused by `config_from_hf` before any weight is read, with the
config field that caused it: Gemma-1/2/3 (scaled embeddings, (1+w) norms, GeGLU,
soft-capping, sandwich norms, local/global layers), MLP or output-projection biases,
yarn/longrope/partial rotary, non-SiLU activations, per-layer sliding windows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from restem_jax.model import rope
from restem_jax.model.config import ModelConfig


class UnsupportedCheckpointError(ValueError):
  """The checkpoint uses a feature that restem_jax's model does not implement."""


_REFUSED_FAMILIES = {
    "gemma": "Gemma (scaled embeddings, (1+w) RMSNorm, GeGLU)",
    "gemma2": "Gemma-2 (soft-capping, sandwich norms, local/global layers, GeGLU)",
    "gemma3": "Gemma-3 (sandwich norms, QK-norm, local/global layers with two RoPE bases)",
    "gemma3_text": "Gemma-3 (sandwich norms, QK-norm, local/global layers with two RoPE bases)",
}


def _no(hf: dict, field: str, why: str) -> None:
  if hf.get(field):
    raise UnsupportedCheckpointError(
        f"config.json {field}={hf[field]!r}: {why} is not implemented by restem_jax.")


def _no_layer_windows(hf: dict) -> None:
  """Qwen-style configs: a window only via use_sliding_window/layer_types; refused."""
  _no(hf, "use_sliding_window", "per-layer sliding-window attention (Qwen)")
  if "sliding_attention" in (hf.get("layer_types") or ()):
    raise UnsupportedCheckpointError(
        "config.json layer_types contains 'sliding_attention': per-layer sliding windows are "
        "not implemented by restem_jax.")


@dataclasses.dataclass(frozen=True)
class _Family:
  """Reads the family-specific ModelConfig fields and writes them back."""
  model_type: str
  architecture: str
  qkv_bias: bool = False
  qk_norm: bool = False

  def read(self, hf: dict) -> dict[str, Any]:
    _no(hf, "attention_bias", "a bias on q/k/v/o projections")
    _no_layer_windows(hf)
    return {"qkv_bias": self.qkv_bias, "qk_norm": self.qk_norm}

  def write(self, cfg: ModelConfig) -> dict[str, Any]:
    del cfg
    return {"attention_bias": False}

  def matches(self, cfg: ModelConfig) -> bool:
    return (cfg.qkv_bias, cfg.qk_norm, bool(cfg.sliding_window)) == (
        self.qkv_bias, self.qk_norm, False)


class _Mistral(_Family):

  def read(self, hf):
    _no(hf, "attention_bias", "a bias on q/k/v/o projections")
    if hf.get("layer_types"):
      raise UnsupportedCheckpointError(
          "config.json layer_types is set: Mistral with alternating attention (Ministral) is not "
          "implemented by restem_jax.")
    return {"sliding_window": int(hf.get("sliding_window") or 0)}

  def write(self, cfg):
    return {"sliding_window": cfg.sliding_window or None}

  def matches(self, cfg):
    return not cfg.qkv_bias and not cfg.qk_norm and bool(cfg.sliding_window)


class _Qwen2(_Family):

  def read(self, hf):
    _no_layer_windows(hf)
    return {"qkv_bias": True}

  def write(self, cfg):
    return {"use_sliding_window": False, "sliding_window": None,
            "max_window_layers": cfg.num_layers}


class _Qwen3(_Family):

  def write(self, cfg):
    return {"attention_bias": False, "use_sliding_window": False, "sliding_window": None,
            "max_window_layers": cfg.num_layers}


FAMILIES = {f.model_type: f for f in (
    _Family("llama", "LlamaForCausalLM"),
    _Mistral("mistral", "MistralForCausalLM"),
    _Qwen2("qwen2", "Qwen2ForCausalLM", qkv_bias=True),
    _Qwen3("qwen3", "Qwen3ForCausalLM", qk_norm=True),
)}


# ----------------------------------------------------------------------------- rope


def _rope_fields(hf: dict) -> dict[str, Any]:
  """ModelConfig rope fields from `rope_scaling` (transformers < 5) or `rope_parameters` (>= 5)."""
  field = "rope_scaling" if hf.get("rope_scaling") else "rope_parameters"
  params = dict(hf.get(field) or {})
  if params and all(isinstance(v, dict) for v in params.values()):
    raise UnsupportedCheckpointError(
        f"config.json {field} is nested per layer type ({sorted(params)}): different RoPE per "
        "layer is not implemented by restem_jax.")
  rope_type = params.get("rope_type", params.get("type")) or "default"
  if rope_type not in rope.VARIANTS:
    raise UnsupportedCheckpointError(
        f"config.json {field}.rope_type={rope_type!r}: restem_jax implements {rope.VARIANTS}; "
        "refusing to load rather than change the model's positional behaviour.")
  partial = params.get("partial_rotary_factor", hf.get("partial_rotary_factor", 1.0))
  if float(partial) != 1.0:
    raise UnsupportedCheckpointError(
        f"config.json partial_rotary_factor={partial}: partial RoPE is not implemented.")
  max_pos = int(hf.get("max_position_embeddings", 2048))
  out = {"rope_theta": float(params.get("rope_theta", hf.get("rope_theta", 10_000.0))),
         "rope_type": rope_type}
  if rope_type != "default":
    out["rope_factor"] = float(params["factor"])
  if rope_type == "llama3":
    out.update(rope_low_freq_factor=float(params["low_freq_factor"]),
               rope_high_freq_factor=float(params["high_freq_factor"]),
               rope_original_max_len=int(params.get("original_max_position_embeddings", max_pos)))
  if rope_type == "dynamic":  # transformers scales relative to max_position_embeddings
    out["rope_original_max_len"] = max_pos
  return out


def _rope_to_hf(cfg: ModelConfig) -> dict[str, Any]:
  params: dict[str, Any] = {"rope_type": cfg.rope_type, "rope_theta": cfg.rope_theta}
  if cfg.rope_type != "default":
    params["factor"] = cfg.rope_factor
  if cfg.rope_type == "llama3":
    params.update(low_freq_factor=cfg.rope_low_freq_factor,
                  high_freq_factor=cfg.rope_high_freq_factor,
                  original_max_position_embeddings=cfg.rope_original_max_len)
  out = {"rope_theta": cfg.rope_theta, "rope_parameters": params}  # flat key: transformers < 5
  if cfg.rope_type != "default":  # the spelling transformers < 5, vLLM and llama.cpp read
    out["rope_scaling"] = {k: v for k, v in params.items() if k != "rope_theta"}
  if cfg.rope_type == "dynamic":
    out["max_position_embeddings"] = cfg.rope_original_max_len
  return out


# ----------------------------------------------------------------------------- config


def config_from_hf(hf: dict[str, Any], *, dtype: str = "float32",
                   param_dtype: str = "float32") -> ModelConfig:
  """HF `config.json` dict -> ModelConfig; raises UnsupportedCheckpointError naming the field
  for anything the model cannot represent (call it before reading any weight)."""
  model_type = hf.get("model_type", "llama")
  if model_type in _REFUSED_FAMILIES:
    raise UnsupportedCheckpointError(
        f"config.json model_type={model_type!r}: {_REFUSED_FAMILIES[model_type]} is not "
        f"implemented by restem_jax; supported: {sorted(FAMILIES)}.")
  if model_type not in FAMILIES:
    raise UnsupportedCheckpointError(
        f"config.json model_type={model_type!r}; supported: {sorted(FAMILIES)}.")
  act = hf.get("hidden_act", hf.get("hidden_activation", "silu"))
  if act != "silu":
    raise UnsupportedCheckpointError(
        f"config.json hidden_act={act!r}; only SwiGLU ('silu') is implemented.")
  _no(hf, "mlp_bias", "a bias on MLP projections")
  if int(hf.get("pretraining_tp", 1)) != 1:
    raise UnsupportedCheckpointError(
        f"config.json pretraining_tp={hf['pretraining_tp']}: sliced projections are not "
        "implemented.")
  extra = FAMILIES[model_type].read(hf)
  heads, width = int(hf["num_attention_heads"]), int(hf["hidden_size"])
  try:
    return ModelConfig(
        vocab_size=int(hf["vocab_size"]),
        embed_dim=width,
        num_layers=int(hf["num_hidden_layers"]),
        num_heads=heads,
        num_kv_heads=int(hf.get("num_key_value_heads") or heads),
        head_dim=int(hf.get("head_dim") or width // heads),
        mlp_dim=int(hf["intermediate_size"]),
        max_len=int(hf.get("max_position_embeddings", 2048)),
        norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
        tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
        dtype=dtype,
        param_dtype=param_dtype,
        **_rope_fields(hf),
        **extra,
    )
  except (KeyError, ValueError) as e:
    raise UnsupportedCheckpointError(f"config.json (model_type={model_type!r}) is invalid: "
                                     f"{e!r}") from e


def family_for(cfg: ModelConfig):
  """The HF architecture that represents `cfg` (the export target)."""
  for fam in FAMILIES.values():
    if fam.matches(cfg):
      return fam
  raise UnsupportedCheckpointError(
      f"no Hugging Face architecture has qkv_bias={cfg.qkv_bias}, qk_norm={cfg.qk_norm}, "
      f"sliding_window={cfg.sliding_window} together; cannot export.")


def config_to_hf(cfg: ModelConfig, *, torch_dtype: str | None = None) -> dict[str, Any]:
  """ModelConfig -> a config.json dict of the matching architecture (transformers 4.x and 5.x)."""
  fam = family_for(cfg)
  out = {
      "architectures": [fam.architecture],
      "model_type": fam.model_type,
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
      "tie_word_embeddings": cfg.tie_embeddings,
      "mlp_bias": False,
      "torch_dtype": torch_dtype or cfg.param_dtype,
  }
  out.update(_rope_to_hf(cfg))
  out.update(fam.write(cfg))
  return out
