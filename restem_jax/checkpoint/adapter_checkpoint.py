"""LoRA M-step checkpoints: the adapters only, plus a pointer to the base checkpoint.

Layout of CKPT: the Orbax adapter tree (per-layer on disk, like model checkpoints, so
`scan_layers` may differ between save and restore), then `adapter.json` written last
(its presence marks a complete adapter checkpoint):

  {"base_checkpoint": <path of the frozen base>, "rank": r, "alpha": a, "targets": [...],
   "dropout": p}

(`dropout` is the training setting, recorded for the PEFT export; it does not change the
weights, so `restore` does not compare it.)

The merged model is never written here: `restore` gives the adapters back and the caller
merges them into the base it already holds (`restem_jax.training.lora.merge`).
"""

from __future__ import annotations

import jax

from restem_jax.checkpoint import manager
from restem_jax import io
from restem_jax.model import layer_stack
from restem_jax.model.config import ModelConfig
from restem_jax.training import lora

ADAPTER_FILE = "adapter.json"


def is_adapter_checkpoint(ckpt_dir: str) -> bool:
  return io.exists(io.join(ckpt_dir, ADAPTER_FILE))


def save(ckpt_dir: str, adapters, model_cfg: ModelConfig, lcfg: lora.LoraConfig,
         base_checkpoint: str, meta: dict | None = None) -> None:
  info = {"base_checkpoint": base_checkpoint, "rank": lcfg.rank, "alpha": lcfg.alpha,
          "targets": list(lcfg.targets), "dropout": lcfg.dropout}
  adapters = layer_stack.of(model_cfg).to_disk(model_cfg, adapters)
  manager.save_params(str(ckpt_dir), adapters, meta={**(meta or {}), **info})
  if jax.process_index() == 0:
    io.write_json_atomic(io.join(ckpt_dir, ADAPTER_FILE), info, indent=2)


def read_info(ckpt_dir: str) -> dict:
  return io.read_json(io.join(ckpt_dir, ADAPTER_FILE))


def restore(ckpt_dir: str, model_cfg: ModelConfig, lcfg: lora.LoraConfig, mesh, rules):
  """(adapters placed like fresh ones on `mesh`, adapter.json's info); the stored rank,
  alpha and targets must equal `lcfg`'s (dropout may differ)."""
  info = read_info(ckpt_dir)
  stored = (info["rank"], info["alpha"], tuple(info["targets"]))
  if stored != (lcfg.rank, lcfg.alpha, tuple(lcfg.targets)):
    raise ValueError(f"{io.join(ckpt_dir, ADAPTER_FILE)}: adapters of rank/alpha/targets "
                     f"{stored}, config.train.lora asks for "
                     f"{(lcfg.rank, lcfg.alpha, tuple(lcfg.targets))}.")
  disk_cfg = layer_stack.disk_config(model_cfg)
  like = lora.abstract_adapters(disk_cfg, lcfg, mesh, rules)
  adapters, _ = manager.restore_params(str(ckpt_dir), like)
  return layer_stack.of(model_cfg).from_disk(
      model_cfg, adapters, lora.abstract_adapters(model_cfg, lcfg, mesh, rules)), info
