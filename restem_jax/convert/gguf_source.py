"""A llama-architecture .gguf file as a conversion source (read with the `gguf` library).

    metadata llama.*                -> `config`: the equivalent HF LlamaConfig dict
    tensors blk.N.attn_q.weight ... -> `tensors()`: HF-named LazyTensors, dequantised
                                       (gguf.quants: F32/F16/BF16/Q4_0/Q4_1/Q8_0/K-quants...)
                                       when read, with llama.cpp's Q/K permutation undone
    tokenizer.ggml.*                -> `write_tokenizer(dest)`: transformers' GGUF tokenizer
                                       converter, saved as HF tokenizer files
    tokenizer.chat_template[.NAME]  -> chat_template.jinja (+ additional_chat_templates/), by
                                       `gguf_chat_template.write`

llama.cpp's convert_hf_to_gguf.py (`LlamaModel.permute`) reorders the rows of q_proj and
k_proj (weights and biases) from HF's rotate-half RoPE layout to the interleaved layout
llama.cpp computes with; `unpermute_qk` is its inverse (as in transformers' GGUF loader).

Everything that is not a plain Llama (another general.architecture, a metadata key this
reader does not know, such as MoE expert counts, a tensor without an HF counterpart, such as
rope_freqs for Llama-3.1 rope scaling) is refused when the file is opened, before any weight
is dequantised.
"""

from __future__ import annotations

import json
import os
import re

import gguf
import numpy as np

from restem_jax.convert import gguf_chat_template
from restem_jax.convert.hf_source import SourceError
from restem_jax.convert.lazy_tensors import LazyTensor, LazyTensorMap

# llama.* metadata key -> HF config key.
_LLAMA_KEYS = {
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
# Keys read but not copied: checked against the other fields below.
_LLAMA_CHECKED = ("rope.dimension_count", "attention.value_length")
_LLAMA_ROPE_SCALING = ("rope.scaling.type", "rope.scaling.factor",
                       "rope.scaling.original_context_length")

# GGUF per-block tensor -> HF per-layer tensor (weights and biases).
_BLOCK_TENSORS = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
_GLOBAL_TENSORS = {"token_embd.weight": "model.embed_tokens.weight",
                   "output_norm.weight": "model.norm.weight", "output.weight": "lm_head.weight"}
_BLOCK_RE = re.compile(r"blk\.(\d+)\.(\w+)\.(weight|bias)")


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
  """Inverse of llama.cpp's `LlamaModel.permute` on the rows of a q/k weight or bias."""
  rows = w.shape[0]
  return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _f32_value(v) -> float:
  """GGUF stores floats as float32: give back the shortest decimal (1e-05, not 9.99e-06)."""
  return float(str(np.float32(v)))


def hf_name(gguf_name: str) -> str:
  """GGUF tensor name -> HF tensor name, or SourceError naming the tensor."""
  if gguf_name in _GLOBAL_TENSORS:
    return _GLOBAL_TENSORS[gguf_name]
  m = _BLOCK_RE.fullmatch(gguf_name)
  if m and m.group(2) in _BLOCK_TENSORS:
    return f"model.layers.{m.group(1)}.{_BLOCK_TENSORS[m.group(2)]}.{m.group(3)}"
  raise SourceError(f"GGUF tensor {gguf_name!r} has no counterpart in restem_jax's Llama model "
                    "(e.g. rope_freqs = Llama-3.1 rope scaling factors, or a non-Llama layer); "
                    "import the model's Hugging Face directory instead.")


class GGUFSource:
  """A .gguf file (memory-mapped; tensors are dequantised one at a time when read)."""

  kind = "gguf"

  def __init__(self, path: str):
    if not os.path.isfile(path):
      raise SourceError(f"GGUF file {path} does not exist.")
    self.path = path
    self.reader = gguf.GGUFReader(path)
    self._fields = {name: f.contents() for name, f in self.reader.fields.items()
                    if not name.startswith("tokenizer.ggml.") or name.endswith("_id")}
    arch = self._fields.get("general.architecture")
    if arch != "llama":
      raise SourceError(f"{path}: general.architecture={arch!r}; GGUF import reads 'llama' "
                        "files only (import other models from their Hugging Face directory).")
    self.config = self._config()

  def _config(self) -> dict:
    f = {k.removeprefix("llama."): v for k, v in self._fields.items() if k.startswith("llama.")}
    unknown = sorted(set(f) - set(_LLAMA_KEYS) - set(_LLAMA_CHECKED) - set(_LLAMA_ROPE_SCALING))
    if unknown:
      raise SourceError(f"{self.path}: GGUF metadata llama.{unknown[0]} is not supported by "
                        f"restem_jax's Llama model (all unknown keys: {unknown}).")
    hf = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu"}
    for key, hf_key in _LLAMA_KEYS.items():
      if key in f:
        hf[hf_key] = _f32_value(f[key]) if isinstance(f[key], float) else int(f[key])
    names = {t.name for t in self.reader.tensors}
    hf.setdefault("vocab_size", int(self._tensor("token_embd.weight").shape[1]))
    hf["tie_word_embeddings"] = "output.weight" not in names
    hf["attention_bias"] = any(n.endswith(".attn_q.bias") for n in names)
    head_dim = hf.get("head_dim") or hf["hidden_size"] // hf["num_attention_heads"]
    for key in _LLAMA_CHECKED:
      if key in f and int(f[key]) != head_dim:
        raise SourceError(f"{self.path}: GGUF metadata llama.{key}={f[key]} differs from the "
                          f"head dimension {head_dim} (partial rotary / odd value heads are not "
                          "supported).")
    if "rope.scaling.type" in f:
      hf["rope_scaling"] = {"rope_type": str(f["rope.scaling.type"]),
                            "factor": _f32_value(f.get("rope.scaling.factor", 1.0))}
      if "rope.scaling.original_context_length" in f:
        hf["rope_scaling"]["original_max_position_embeddings"] = int(
            f["rope.scaling.original_context_length"])
    for key in ("bos_token_id", "eos_token_id", "padding_token_id"):
      if f"tokenizer.ggml.{key}" in self._fields:
        hf[key.replace("padding", "pad")] = int(self._fields[f"tokenizer.ggml.{key}"])
    return hf

  def _tensor(self, name: str):
    for t in self.reader.tensors:
      if t.name == name:
        return t
    raise SourceError(f"{self.path}: GGUF tensor {name!r} is missing.")

  def _load(self, t, n_head: int | None) -> np.ndarray:
    shape = tuple(int(s) for s in reversed(t.shape))  # ggml lists dims innermost first
    try:
      w = gguf.quants.dequantize(t.data, t.tensor_type)
    except NotImplementedError as e:
      raise SourceError(f"{self.path}: tensor {t.name!r} has quantisation {t.tensor_type.name}, "
                        f"which the installed gguf package cannot dequantise: {e}") from e
    w = np.asarray(w, np.float32).reshape(shape)
    return unpermute_qk(w, n_head) if n_head else w

  def tensors(self) -> LazyTensorMap:
    """HF tensor name -> LazyTensor; every name is mapped (or refused) before any read."""
    heads = self.config["num_attention_heads"]
    kv_heads = self.config.get("num_key_value_heads", heads)
    out = {}
    for t in self.reader.tensors:
      name = hf_name(t.name)
      n_head = heads if ".attn_q." in t.name else kv_heads if ".attn_k." in t.name else None
      shape = tuple(int(s) for s in reversed(t.shape))
      out[name] = LazyTensor(shape, np.float32, lambda t=t, n=n_head: self._load(t, n), name)
    return LazyTensorMap(out)

  def write_tokenizer(self, dest: str) -> list[str]:
    """The embedded tokenizer as HF files, via transformers' GGUF tokenizer converter."""
    from transformers import AutoTokenizer  # pylint: disable=import-outside-toplevel
    tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(self.path)),
                                        gguf_file=os.path.basename(self.path))
    files = list(tok.save_pretrained(dest))
    gen = {k: self.config[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id")
           if k in self.config}
    with open(os.path.join(dest, "generation_config.json"), "w") as fh:
      json.dump(gen, fh, indent=2)
    templates = gguf_chat_template.write(self.reader, dest)
    return sorted({os.path.basename(f) for f in files} - set(templates)) + [
        "generation_config.json"] + templates
