"""Export a LoRA M-step checkpoint: the merged HF model, and optionally a PEFT adapter.

An adapter checkpoint (`restem_jax.checkpoint.adapter_checkpoint`) holds adapters and the
path of its base checkpoint; the merged export restores that base, merges the adapters
once and writes HF_DIR like any model export (`exporter.write_hf`). With a PEFT directory
the adapters are also written in PEFT's layout (`peft_adapter`), to load with
`PeftModel.from_pretrained(<the base exported to HF>, PEFT_DIR)`.
"""

from __future__ import annotations

import os

from restem_jax.checkpoint import adapter_checkpoint, model_checkpoint
from restem_jax.convert import exporter, peft_adapter
from restem_jax.model import layer_stack
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.training import lora


def export_adapter_checkpoint(checkpoint: str, out: str, peft_out: str | None = None
                              ) -> list[str]:
  """Merged HF_DIR at `out` (and PEFT_DIR at `peft_out`); returns the files written."""
  for d in (out, peft_out):
    if d and os.path.exists(d) and (not os.path.isdir(d) or os.listdir(d)):
      raise FileExistsError(f"{d} already exists and is not empty; choose a new directory.")
  info = adapter_checkpoint.read_info(checkpoint)
  base = info["base_checkpoint"]
  lcfg = lora.LoraConfig(rank=info["rank"], alpha=info["alpha"],
                         targets=tuple(info["targets"]),
                         dropout=info.get("dropout", 0.0))  # absent before dropout existed
  cfg = layer_stack.disk_config(model_checkpoint.read_model_config(base))
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
  rules = partitioning.DEFAULT_RULES
  params, _ = model_checkpoint.restore(base, cfg, mesh, rules)
  adapters, _ = adapter_checkpoint.restore(checkpoint, cfg, lcfg, mesh, rules)
  files = exporter.write_hf(out, cfg, lora.merge(cfg, lcfg, params, adapters),
                            model_checkpoint.tokenizer_dir(base))
  if peft_out:
    files += [os.path.join(peft_out, f) for f in
              peft_adapter.write_peft(peft_out, cfg, lcfg, adapters, base)]
  return files
