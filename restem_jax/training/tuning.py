"""What an M-step trains: every weight (full fine-tuning) or low-rank adapters (LoRA).

A strategy tells the `Trainer` how params split into trained leaves (the optimizer's) and
frozen ones, how the loss sees them together, and how to turn trained leaves back into
model params for evaluation and sampling.

  FullTuning  trains the params themselves; the train step donates them, so the caller
              hands over a copy when it keeps the originals (`copies_params`).
  LoraTuning  trains fp32 adapters over the frozen base (kept, never donated); the loss
              sees `AdaptedParams` (unmerged: x W + dropout(x) A B, the dropout key
              given by the train step), evaluation and sampling see the merged weights,
              built once per call of `model_params`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from restem_jax.model.config import ModelConfig
from restem_jax.model.lora_delta import AdaptedParams
from restem_jax.training import lora


class FullTuning:
  """Every weight trains."""
  copies_params = True  # the caller passes a copy if it keeps the params it hands over
  view = None

  def split(self, cfg: ModelConfig, params, mesh, rules):
    del cfg, mesh, rules
    return params, None

  def abstract_split(self, cfg: ModelConfig, params, mesh, rules):
    """`split` on ShapeDtypeStruct params (the AOT plan)."""
    return self.split(cfg, params, mesh, rules)

  def model_params(self, cfg: ModelConfig, trainable, frozen):
    del cfg, frozen
    return trainable


@dataclasses.dataclass(frozen=True, eq=False)
class LoraTuning:
  """Adapters over a frozen base. `adapters=None` starts fresh ones (seeded by `seed`:
  the base model exactly); given adapters are continued (a copy is trained)."""
  lcfg: lora.LoraConfig
  seed: int = 0
  adapters: Any = None
  copies_params = False

  def split(self, cfg: ModelConfig, params, mesh, rules):
    shardings = lora.adapter_shardings(cfg, self.lcfg, mesh, rules)
    if self.adapters is None:
      adapters = lora.init_adapters(cfg, self.lcfg, jax.random.key(self.seed), mesh, rules)
    else:
      adapters = jax.tree.map(lambda x, s: jax.device_put(x, s).copy(), self.adapters,
                              shardings)
    return adapters, params

  def abstract_split(self, cfg: ModelConfig, params, mesh, rules):
    """`split` on ShapeDtypeStruct params (the AOT plan): the adapters `split` makes, as
    ShapeDtypeStructs with their shardings, and the frozen base."""
    return lora.abstract_adapters(cfg, self.lcfg, mesh, rules), params

  def view(self, frozen, trainable, dropout_rng=None):
    """What the loss sees: base + adapters, unmerged; `dropout_rng` (a train step's key)
    turns on `lcfg.dropout`."""
    return AdaptedParams(frozen, trainable, self.lcfg.scale, self.lcfg.dropout, dropout_rng)

  def model_params(self, cfg: ModelConfig, trainable, frozen):
    return lora.merge(cfg, self.lcfg, frozen, trainable)
