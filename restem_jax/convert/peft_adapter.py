"""Export LoRA adapters as a PEFT adapter directory that `peft` loads onto the HF base.

    PEFT_DIR/adapter_config.json         peft_type LORA, r, lora_alpha, target_modules
    PEFT_DIR/adapter_model.safetensors   base_model.model.<HF module>.lora_{A,B}.weight

PEFT computes `x W^T + (alpha / r) * x A^T B^T` with lora_A [r, in] and lora_B [out, r];
ours is `x W + (alpha / r) * x A B` with A [in..., r] and B [r, out...] in the layouts of
`restem_jax.convert.hf_names` (HF rows are our output axes flattened), so lora_A = A
flattened and transposed, lora_B = B flattened and transposed. Adapters come per layer
(`layer_stack.to_disk`).
"""

from __future__ import annotations

import json
import os

import numpy as np
from safetensors.numpy import save_file

from restem_jax.model import layer_stack
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import host_arrays
from restem_jax.training import lora

_HF_MODULE = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj",
              "o": "self_attn.o_proj", "gate": "mlp.gate_proj", "up": "mlp.up_proj",
              "down": "mlp.down_proj"}
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"


def peft_tensors(cfg: ModelConfig, lcfg: lora.LoraConfig, adapters) -> dict[str, np.ndarray]:
  """PEFT tensor name -> fp32 array, from adapters in `cfg`'s layout."""
  per_layer = layer_stack.of(cfg).to_disk(cfg, adapters)
  out = {}
  for i in range(cfg.num_layers):
    block = per_layer[layer_stack.block_name(i)]
    for t in lcfg.targets:
      module, w, _ = lora.TARGETS[t]
      a = np.asarray(host_arrays.fetch(block[module][w + "_a"]), np.float32)
      b = np.asarray(host_arrays.fetch(block[module][w + "_b"]), np.float32)
      name = f"base_model.model.model.layers.{i}.{_HF_MODULE[t]}"
      out[name + ".lora_A.weight"] = np.ascontiguousarray(a.reshape(-1, lcfg.rank).T)
      out[name + ".lora_B.weight"] = np.ascontiguousarray(b.reshape(lcfg.rank, -1).T)
  return out


def adapter_config(lcfg: lora.LoraConfig, base_model: str) -> dict:
  return {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": lcfg.rank,
          "lora_alpha": lcfg.alpha, "lora_dropout": lcfg.dropout, "bias": "none",
          "target_modules": sorted(_HF_MODULE[t].split(".")[1] for t in lcfg.targets),
          "fan_in_fan_out": False, "use_rslora": False, "use_dora": False,
          "init_lora_weights": True, "modules_to_save": None,
          "base_model_name_or_path": base_model}


def write_peft(out: str, cfg: ModelConfig, lcfg: lora.LoraConfig, adapters,
               base_model: str) -> list[str]:
  """Writes PEFT_DIR; `base_model` is recorded as base_model_name_or_path."""
  os.makedirs(out, exist_ok=True)
  save_file(peft_tensors(cfg, lcfg, adapters), os.path.join(out, WEIGHTS_FILE))
  with open(os.path.join(out, CONFIG_FILE), "w") as f:
    json.dump(adapter_config(lcfg, base_model), f, indent=2)
  return sorted(os.listdir(out))
