"""Per-architecture GGUF facts: metadata keys, tensor names, Q/K layout -> the HF equivalent.

A GGUF file names its architecture in `general.architecture` and prefixes its
hyperparameters with it (`llama.block_count`, `qwen2.block_count`, ...). Each supported
architecture maps onto one Hugging Face family of `restem_jax.convert.hf_arch` (which then
decides, from the HF config dict, what the model can represent):

  GGUF arch  HF model_type  Q/K rows permuted  extra per-block tensors
  llama      llama          yes                -
  qwen2      qwen2          no                 attn_{q,k,v}.bias (q/k/v biases)
  qwen3      qwen3          no                 attn_{q,k}_norm (QK-norm)

"Q/K rows permuted": llama.cpp's convert_hf_to_gguf.py reorders q_proj/k_proj rows into
its interleaved RoPE layout for `LlamaModel` (and its subclasses) only; Qwen2Model and
Qwen3Model write HF's rotate-half layout unchanged (transformers' GGUF loader likewise
un-permutes llama files only), so qwen files are read as they are.

Mistral 7B-style files (v0.1-v0.3) are written by llama.cpp as `llama` (permuted, no
sliding-window metadata) and are read as llama; `mistral3` files (vision + MoE variants)
are refused like every other architecture not listed here.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

# <arch>.* metadata key -> HF config key (common to every architecture below).
METADATA_KEYS = {
    "context_length": "max_position_embeddings",
    "embedding_length": "hidden_size",
    "block_count": "num_hidden_layers",
    "feed_forward_length": "intermediate_size",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.key_length": "head_dim",
    "attention.layer_norm_rms_epsilon": "rms_norm_eps",
    "rope.freq_base": "rope_theta",
    "vocab_size": "vocab_size",
}
# Keys without which the model is undefined.
REQUIRED_KEYS = ("embedding_length", "block_count", "feed_forward_length",
                 "attention.head_count")
# Keys read but not copied: each must equal the head dimension.
HEAD_DIM_KEYS = ("rope.dimension_count", "attention.value_length")
ROPE_SCALING_KEYS = ("rope.scaling.type", "rope.scaling.factor",
                     "rope.scaling.original_context_length")

# GGUF per-block tensor -> HF per-layer module (weights and biases), shared by all.
BLOCK_TENSORS = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
GLOBAL_TENSORS = {"token_embd.weight": "model.embed_tokens.weight",
                  "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}


@dataclasses.dataclass(frozen=True)
class GGUFArch:
  """How one `general.architecture` reads: its HF family and its tensor layout."""
  name: str                       # general.architecture (and the metadata key prefix)
  model_type: str                 # HF config model_type (restem_jax.convert.hf_arch.FAMILIES)
  hf_architecture: str            # HF config architectures[0]
  permuted_qk: bool               # llama.cpp permuted q/k rows (undo with unpermute_qk)
  extra_block_tensors: Mapping[str, str] = dataclasses.field(default_factory=dict)

  def block_tensors(self) -> dict[str, str]:
    return {**BLOCK_TENSORS, **self.extra_block_tensors}

  def hf_config_base(self) -> dict:
    return {"model_type": self.model_type, "architectures": [self.hf_architecture],
            "hidden_act": "silu"}


ARCHS: dict[str, GGUFArch] = {a.name: a for a in (
    GGUFArch("llama", "llama", "LlamaForCausalLM", permuted_qk=True),
    GGUFArch("qwen2", "qwen2", "Qwen2ForCausalLM", permuted_qk=False),
    GGUFArch("qwen3", "qwen3", "Qwen3ForCausalLM", permuted_qk=False,
             extra_block_tensors={"attn_q_norm": "self_attn.q_norm",
                                  "attn_k_norm": "self_attn.k_norm"}),
)}
