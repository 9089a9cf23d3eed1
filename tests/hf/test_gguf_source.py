"""GGUF reading without real weights: the Q/K un-permutation, name mapping and early refusals.

Tiny GGUF files are written with `gguf.GGUFWriter`; refusals must happen when the file is
opened (metadata and tensor names), before any tensor is dequantised.
"""

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

# pylint: disable=wrong-import-position
from restem_jax.convert import gguf_source
from restem_jax.convert.hf_source import SourceError


def llama_cpp_permute(w, n_head, n_head_kv):
  """llama.cpp convert_hf_to_gguf.py `LlamaModel.permute`, verbatim."""
  if n_head_kv is not None and n_head != n_head_kv:
    n_head = n_head_kv
  return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
          .swapaxes(1, 2).reshape(w.shape))


@pytest.mark.parametrize("heads,kv,which", [(8, 8, "q"), (8, 2, "q"), (8, 2, "k"), (4, 4, "k")])
def test_unpermute_inverts_llama_cpp_permute(heads, kv, which):
  n = heads if which == "q" else kv  # rows: n heads of head_dim 6
  w = np.random.default_rng(0).normal(size=(n * 6, 5)).astype(np.float32)
  # convert_hf_to_gguf: q -> permute(w, n_head, n_head); k -> permute(w, n_head, n_head_kv)
  permuted = llama_cpp_permute(w, heads, heads if which == "q" else kv)
  assert not np.array_equal(permuted, w)
  np.testing.assert_array_equal(gguf_source.unpermute_qk(permuted, n), w)
  bias = w[:, 0]  # q/k biases are permuted the same way
  np.testing.assert_array_equal(
      gguf_source.unpermute_qk(llama_cpp_permute(bias, heads, heads if which == "q" else kv), n),
      bias)


def _write(path, arch="llama", extra_meta=None, extra_tensors=(), layers=1):
  w = gguf.GGUFWriter(str(path), arch)
  d, heads, kv, f, v = 16, 4, 2, 24, 32
  if arch == "llama":
    w.add_context_length(64)
    w.add_embedding_length(d)
    w.add_block_count(layers)
    w.add_feed_forward_length(f)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(d // heads)
  for key, value in (extra_meta or {}).items():
    w.add_uint32(key, value)
  rng = np.random.default_rng(0)
  shapes = {"token_embd.weight": (v, d), "output_norm.weight": (d,)}
  for i in range(layers):
    shapes.update({f"blk.{i}.attn_q.weight": (d, d), f"blk.{i}.attn_k.weight": (kv * 4, d),
                   f"blk.{i}.attn_v.weight": (kv * 4, d), f"blk.{i}.attn_output.weight": (d, d),
                   f"blk.{i}.ffn_gate.weight": (f, d), f"blk.{i}.ffn_up.weight": (f, d),
                   f"blk.{i}.ffn_down.weight": (d, f), f"blk.{i}.attn_norm.weight": (d,),
                   f"blk.{i}.ffn_norm.weight": (d,)})
  for name in extra_tensors:
    shapes[name] = (d // heads // 2,)
  tensors = {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}
  for name, t in tensors.items():
    w.add_tensor(name, t)
  w.write_header_to_file()
  w.write_kv_data_to_file()
  w.write_tensors_to_file()
  w.close()
  return tensors


def test_tiny_llama_gguf_maps_names_config_and_unpermutes(tmp_path):
  path = tmp_path / "tiny.gguf"
  raw = _write(path)
  src = gguf_source.GGUFSource(str(path))
  cfg = src.config
  assert (cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"],
          cfg["vocab_size"], cfg["rms_norm_eps"], cfg["tie_word_embeddings"]) == (
              16, 4, 2, 32, 1e-5, True)
  tensors = src.tensors()
  assert "model.layers.0.self_attn.q_proj.weight" in tensors and len(tensors) == len(raw)
  np.testing.assert_array_equal(np.asarray(tensors["model.layers.0.mlp.up_proj.weight"]),
                                raw["blk.0.ffn_up.weight"])
  np.testing.assert_array_equal(np.asarray(tensors["model.layers.0.self_attn.k_proj.weight"]),
                                gguf_source.unpermute_qk(raw["blk.0.attn_k.weight"], 2))


@pytest.mark.parametrize("kwargs,match", [
    (dict(arch="gemma"), "general.architecture='gemma'"),
    (dict(arch="qwen2"), "qwen2.embedding_length is missing"),
    (dict(extra_meta={"llama.expert_count": 8}), "llama.expert_count"),
    (dict(extra_tensors=("rope_freqs.weight",)), "rope_freqs.weight"),
], ids=["architecture", "missing-metadata", "moe-metadata", "rope-freqs-tensor"])
def test_unsupported_gguf_is_refused_before_any_tensor_is_read(tmp_path, monkeypatch, kwargs,
                                                               match):
  path = tmp_path / "bad.gguf"
  _write(path, **kwargs)
  monkeypatch.setattr(gguf.quants, "dequantize",
                      lambda *a: pytest.fail("a tensor was dequantised before the refusal"))
  with pytest.raises(SourceError, match=match):
    gguf_source.GGUFSource(str(path)).tensors()
