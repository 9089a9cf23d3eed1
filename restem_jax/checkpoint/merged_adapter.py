"""A LoRA adapter checkpoint as a whole model: the base it points to, adapters merged in.

An adapter checkpoint (`adapter_checkpoint`: a LoRA run's `W/iter_i/policy` or `W/sft`)
holds the adapters and `adapter.json`, whose `base_checkpoint` names the frozen base they
were trained over. `restore` checks that pointer before any weight is read (present, a
whole-model checkpoint, the run's architecture), restores the base, then the adapters
with the rank, alpha and targets adapter.json records (not config.train.lora: an
evaluation run needs no LoRA settings), and merges them once (`lora.merge`).
"""

from __future__ import annotations

from restem_jax import io
from restem_jax.checkpoint import adapter_checkpoint, model_checkpoint
from restem_jax.checkpoint.manager import CheckpointError
from restem_jax.model.config import ModelConfig
from restem_jax.training import lora


def base_of(ckpt_dir: str) -> str:
  """The base checkpoint `ckpt_dir`'s adapter.json points to; a CheckpointError naming the
  file when the pointer is empty, dangling or not a whole-model checkpoint."""
  info_file = io.join(ckpt_dir, adapter_checkpoint.ADAPTER_FILE)
  base = adapter_checkpoint.read_info(ckpt_dir).get("base_checkpoint") or ""
  if not base:
    raise CheckpointError(f"{info_file}: no base_checkpoint; the adapters cannot be merged "
                          "without the base they were trained over.")
  if not io.exists(base):
    raise CheckpointError(f"{info_file}: base_checkpoint {base!r} does not exist (moved or "
                          "deleted?); restore the base there to evaluate these adapters.")
  if adapter_checkpoint.is_adapter_checkpoint(base):
    raise CheckpointError(f"{info_file}: base_checkpoint {base!r} is itself an adapter "
                          "checkpoint, not a whole model.")
  return base


def restore(ckpt_dir: str, model_cfg: ModelConfig, mesh, rules):
  """(merged params, adapter.json's info) of the adapter checkpoint `ckpt_dir`.

  The base must describe `model_cfg`'s architecture (its model_config.json is checked by
  `model_checkpoint.restore`), and the stored adapters must fit it."""
  base = base_of(ckpt_dir)
  info = adapter_checkpoint.read_info(ckpt_dir)
  lcfg = lora.LoraConfig(rank=info["rank"], alpha=info["alpha"],
                         targets=tuple(info["targets"]), dropout=info.get("dropout", 0.0))
  params, _ = model_checkpoint.restore(base, model_cfg, mesh, rules)
  try:
    adapters, _ = adapter_checkpoint.restore(ckpt_dir, model_cfg, lcfg, mesh, rules)
  except (ValueError, KeyError) as e:
    raise CheckpointError(f"{ckpt_dir}: its adapters do not fit the base {base!r} its "
                          f"adapter.json points to (another model?): {e}") from e
  return lora.merge(model_cfg, lcfg, params, adapters), info
