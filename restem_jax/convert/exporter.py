"""Export: a restem checkpoint -> a Hugging Face model directory.

    HF_DIR/model.safetensors        weights (or model-0000i-of-0000n shards + index), written by
                                    `hf_convert.save_hf_checkpoint` (per-architecture names)
    HF_DIR/config.json              `hf_convert.config_to_hf(ModelConfig)`
    HF_DIR/generation_config.json   the checkpoint's, else BOS/EOS/PAD from its tokenizer
    HF_DIR/tokenizer.json, ...      the checkpoint's tokenizer files, chat templates included
                                    (chat_template.jinja, additional_chat_templates/NAME.jinja:
                                    where transformers 5 reads them)

The params may be sharded over many devices (and hosts): `save_hf_checkpoint` gathers and
converts one leaf at a time and holds one safetensors shard in host memory.
"""

from __future__ import annotations

import json
import os

import jax

from restem_jax import io
from restem_jax import vocab as vocab_lib
from restem_jax.checkpoint import model_checkpoint
from restem_jax.model import hf_convert, layer_stack
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning

GENERATION_CONFIG = "generation_config.json"


def _generation_config(tok_dir: str | None) -> dict:
  """The checkpoint's generation_config.json, else BOS/EOS/PAD ids of its tokenizer."""
  if tok_dir and io.exists(io.join(tok_dir, GENERATION_CONFIG)):
    return io.read_json(io.join(tok_dir, GENERATION_CONFIG))
  gen = {"_from_model_config": True}
  if tok_dir:
    vocab = vocab_lib.load(tok_dir)
    ids = {"bos_token_id": vocab.bos_id, "eos_token_id": vocab.eos_id,
           "pad_token_id": vocab.pad_id}
    gen.update({k: int(v) for k, v in ids.items() if v is not None})
  return gen


def write_hf(out: str, cfg: ModelConfig, params, tokenizer_dir: str | None, *,
             max_shard_bytes: int = 2 * 1024**3) -> list[str]:
  """Writes HF_DIR from (possibly sharded) params; returns the file names written.

  Every process of a multi-host job must call this (leaf gathers are collective);
  process 0 writes.
  """
  hf_convert.save_hf_checkpoint(out, cfg, params, max_shard_bytes=max_shard_bytes)
  if jax.process_index() != 0:
    return []
  if tokenizer_dir:
    names = [n for n in io.listdir(tokenizer_dir) if n != model_checkpoint.CHAT_TEMPLATES_DIR]
    names += [n for n in model_checkpoint.tokenizer_file_names(tokenizer_dir) if "/" in n]
    for name in names:
      os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
      io.write_bytes(os.path.join(out, name), io.read_bytes(io.join(tokenizer_dir, name)))
  with open(os.path.join(out, GENERATION_CONFIG), "w") as f:
    json.dump(_generation_config(tokenizer_dir), f, indent=2)
  return sorted(os.listdir(out))


def export_model(checkpoint: str, out: str) -> list[str]:
  """restem checkpoint dir -> HF_DIR; params restored over all local devices."""
  if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
    raise FileExistsError(f"--out={out} already exists and is not empty; choose a new directory.")
  # The HF names walk layers one by one: restore the per-layer (on-disk) layout.
  cfg = layer_stack.disk_config(model_checkpoint.read_model_config(checkpoint))
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
  params, _ = model_checkpoint.restore(checkpoint, cfg, mesh, partitioning.DEFAULT_RULES)
  return write_hf(out, cfg, params, model_checkpoint.tokenizer_dir(checkpoint))
