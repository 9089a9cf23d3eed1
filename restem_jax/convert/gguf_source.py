"""A llama / qwen2 / qwen3 .gguf file as a conversion source (read with the `gguf` library).

    metadata <arch>.*               -> `config`: the equivalent HF config dict
                                       (the per-architecture table: `gguf_arch`)
    tensors blk.N.attn_q.weight ... -> `tensors()`: HF-named LazyTensors, dequantised
                                       (gguf.quants: F32/F16/BF16/Q4_0/Q4_1/Q5_0/Q8_0/K-quants...)
                                       when read, with llama.cpp's Q/K permutation undone
                                       for the architectures it permutes (llama)
    tokenizer.ggml.*                -> `write_tokenizer(dest)`: transformers' GGUF tokenizer
                                       converter, saved as HF tokenizer files
    tokenizer.chat_template[.NAME]  -> chat_template.jinja (+ additional_chat_templates/), by
                                       `gguf_chat_template.write`

llama.cpp's convert_hf_to_gguf.py (`LlamaModel.permute`) reorders the rows of q_proj and
k_proj (weights and biases) from HF's rotate-half RoPE layout to the interleaved layout
llama.cpp computes with; `unpermute_qk` is its inverse (as in transformers' GGUF loader).
Qwen2/Qwen3 files keep HF's layout and are read unchanged.

When a file stores the LM head (`output`) beside the embedding, the head is kept untied
by default (`head="keep"`: what llama.cpp and transformers compute with), or tied on
request after checking that it duplicates the embedding (`head="tie"`); see GGUFSource.

Everything the model cannot represent (another general.architecture, a metadata key this
reader does not know, such as MoE expert counts, a tensor without an HF counterpart, such as
rope_freqs for Llama-3.1 rope scaling) is refused when the file is opened, before any weight
is dequantised.
"""

from __future__ import annotations

import functools
import json
import os
import re

import gguf
import numpy as np

from restem_jax.convert import gguf_arch, gguf_chat_template
from restem_jax.convert.hf_source import SourceError
from restem_jax.convert.lazy_tensors import LazyTensor, LazyTensorMap

_BLOCK_RE = re.compile(r"blk\.(\d+)\.(\w+)\.(weight|bias)")
# `head` choices when a file stores `output` (the LM head) beside `token_embd`.
HEAD_CHOICES = ("keep", "tie")
# "tie" accepts `output` as a copy of `token_embd` when every row's cosine is at least this.
TIE_MIN_ROW_COSINE = 0.99


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
  """Inverse of llama.cpp's `LlamaModel.permute` on the rows of a q/k weight or bias."""
  rows = w.shape[0]
  return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _f32_value(v) -> float:
  """GGUF stores floats as float32: give back the shortest decimal (1e-05, not 9.99e-06)."""
  return float(str(np.float32(v)))


def hf_name(gguf_name: str, arch: gguf_arch.GGUFArch = gguf_arch.ARCHS["llama"]) -> str:
  """GGUF tensor name -> HF tensor name for `arch`, or SourceError naming the tensor."""
  if gguf_name in gguf_arch.GLOBAL_TENSORS:
    return gguf_arch.GLOBAL_TENSORS[gguf_name]
  m = _BLOCK_RE.fullmatch(gguf_name)
  block = arch.block_tensors()
  if m and m.group(2) in block:
    return f"model.layers.{m.group(1)}.{block[m.group(2)]}.{m.group(3)}"
  raise SourceError(f"GGUF tensor {gguf_name!r} has no counterpart in restem_jax's "
                    f"{arch.model_type} model (e.g. rope_freqs = Llama-3.1 rope scaling factors, "
                    "or a layer the model lacks); import the model's Hugging Face directory "
                    "instead.")


def min_row_cosine(a: np.ndarray, b: np.ndarray) -> float:
  """The smallest cosine similarity between corresponding rows of two [V, D] matrices."""
  dot = np.einsum("vd,vd->v", a, b)
  norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
  return float(np.min(dot / np.maximum(norms, 1e-30)))


class GGUFSource:
  """A .gguf file (memory-mapped; tensors are dequantised one at a time when read).

  head: what to do with an `output` tensor (the LM head) stored beside `token_embd`.
    "keep" (default): an untied head read from `output`, as llama.cpp and transformers'
      GGUF loader compute with this file, so logits match theirs (Qwen2.5 files store both
      although the HF model is tied: each is quantised separately).
    "tie": drop `output` and tie the head to the embedding (the HF model's structure; the
      vocab-sized head is not stored or trained twice); refused, when the embedding is
      read, unless every row of `output` has cosine >= TIE_MIN_ROW_COSINE with `token_embd`.
  """

  kind = "gguf"

  def __init__(self, path: str, head: str = "keep"):
    if not os.path.isfile(path):
      raise SourceError(f"GGUF file {path} does not exist.")
    if head not in HEAD_CHOICES:
      raise SourceError(f"GGUF head={head!r}; expected one of {HEAD_CHOICES}.")
    self.path = path
    self.head = head
    self.reader = gguf.GGUFReader(path)
    self._fields = {name: f.contents() for name, f in self.reader.fields.items()
                    if not name.startswith("tokenizer.ggml.") or name.endswith("_id")}
    name = self._fields.get("general.architecture")
    if name not in gguf_arch.ARCHS:
      raise SourceError(f"{path}: general.architecture={name!r}; GGUF import reads "
                        f"{sorted(gguf_arch.ARCHS)} files only (import other models from their "
                        "Hugging Face directory).")
    self.arch = gguf_arch.ARCHS[name]
    self._has_output = any(t.name == "output.weight" for t in self.reader.tensors)
    self.config = self._config()

  def _metadata(self) -> dict:
    prefix = self.arch.name + "."
    f = {k.removeprefix(prefix): v for k, v in self._fields.items() if k.startswith(prefix)}
    unknown = sorted(set(f) - set(gguf_arch.METADATA_KEYS) - set(gguf_arch.HEAD_DIM_KEYS)
                     - set(gguf_arch.ROPE_SCALING_KEYS))
    if unknown:
      raise SourceError(f"{self.path}: GGUF metadata {prefix}{unknown[0]} is not supported by "
                        f"restem_jax's {self.arch.model_type} model (all unknown keys: "
                        f"{unknown}).")
    return f

  def _config(self) -> dict:
    f = self._metadata()
    hf = self.arch.hf_config_base()
    for key, hf_key in gguf_arch.METADATA_KEYS.items():
      if key in f:
        hf[hf_key] = _f32_value(f[key]) if isinstance(f[key], float) else int(f[key])
    missing = [k for k in gguf_arch.REQUIRED_KEYS if k not in f]
    if missing:
      raise SourceError(f"{self.path}: GGUF metadata {self.arch.name}.{missing[0]} is missing "
                        f"(all missing: {missing}).")
    hf.setdefault("vocab_size", int(self._tensor("token_embd.weight").shape[1]))
    hf["tie_word_embeddings"] = not self._has_output or self.head == "tie"
    if self.arch.model_type != "qwen2":  # qwen2 has q/k/v biases by definition
      hf["attention_bias"] = any(t.name.endswith(".attn_q.bias") for t in self.reader.tensors)
    head_dim = hf.get("head_dim") or hf["hidden_size"] // hf["num_attention_heads"]
    for key in gguf_arch.HEAD_DIM_KEYS:
      if key in f and int(f[key]) != head_dim:
        raise SourceError(f"{self.path}: GGUF metadata {self.arch.name}.{key}={f[key]} differs "
                          f"from the head dimension {head_dim} (partial rotary / odd value "
                          "heads are not supported).")
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

  def _load_tied_embedding(self, t) -> np.ndarray:
    """token_embd, after checking that the dropped `output` duplicates it."""
    emb = self._load(t, None)
    cos = min_row_cosine(emb, self._load(self._tensor("output.weight"), None))
    if cos < TIE_MIN_ROW_COSINE:
      raise SourceError(f"{self.path}: head='tie' but GGUF tensor 'output.weight' is not a copy "
                        f"of 'token_embd.weight' (smallest row cosine {cos:.4f} < "
                        f"{TIE_MIN_ROW_COSINE}); import with head='keep'.")
    return emb

  def _row_permutation_heads(self, gguf_name: str) -> int | None:
    """Heads to un-permute a q/k tensor by (None: not a q/k tensor or not permuted)."""
    if not self.arch.permuted_qk:
      return None
    heads = self.config["num_attention_heads"]
    kv_heads = self.config.get("num_key_value_heads", heads)
    return heads if ".attn_q." in gguf_name else kv_heads if ".attn_k." in gguf_name else None

  def tensors(self) -> LazyTensorMap:
    """HF tensor name -> LazyTensor; every name is mapped (or refused) before any read."""
    tie = self.head == "tie" and self._has_output
    out = {}
    for t in self.reader.tensors:
      name = hf_name(t.name, self.arch)
      if tie and t.name == "output.weight":
        continue
      shape = tuple(int(s) for s in reversed(t.shape))
      if tie and t.name == "token_embd.weight":
        load = functools.partial(self._load_tied_embedding, t)
      else:
        load = functools.partial(self._load, t, self._row_permutation_heads(t.name))
      out[name] = LazyTensor(shape, np.float32, load, name)
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
