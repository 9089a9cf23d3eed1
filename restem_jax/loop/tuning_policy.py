"""How the loop starts, saves and reloads M-steps: full fine-tuning or LoRA adapters.

  FullPolicy   M-steps start from the base or the previous policy (`loop.start_from`) and
               save the whole model (`model_checkpoint`).
  LoraPolicy   every M-step trains adapters over the same frozen base: `start_from='base'`
               is a fresh adapter (ReST-EM's reset-to-base), 'previous' continues the last
               M-step's adapters. Checkpoints hold the adapters and a pointer to the base
               (`adapter_checkpoint`); the policy the E-step samples with is the merged
               model, merged once when the M-step ends (or when a finished stage is
               reloaded), never per step.
"""

from __future__ import annotations

from restem_jax.checkpoint import adapter_checkpoint, model_checkpoint
from restem_jax.training import lora
from restem_jax.training.tuning import LoraTuning


class FullPolicy:
  """Every weight trains; checkpoints are whole models."""

  def start(self, base_params, prev_params, start_from: str):
    """(init params, tuning strategy or None) of the next M-step."""
    return (base_params if start_from == "base" else prev_params), None

  def save(self, path: str, result, model_cfg, *, base_checkpoint: str, tokenizer_dir, meta):
    del base_checkpoint
    model_checkpoint.save(path, result.params, model_cfg, tokenizer_dir=tokenizer_dir,
                          meta=meta)

  def restore(self, runner, path: str, base_params):
    del base_params
    return runner.restore(path)


class LoraPolicy:
  """Adapters over the frozen base; remembers which adapters the last saved or restored
  policy merged in, so 'previous' continues exactly the policy it is handed."""

  def __init__(self, lcfg: lora.LoraConfig, seed: int, model_cfg, mesh, rules):
    self.lcfg, self.seed = lcfg, seed
    self.model_cfg, self.mesh, self.rules = model_cfg, mesh, rules
    self._last = (None, None)  # (merged policy params, its adapters)

  def start(self, base_params, prev_params, start_from: str):
    """Fresh adapters, or the previous policy's when `start_from='previous'` and
    `prev_params` is a policy this object made (the base itself starts fresh)."""
    policy, adapters = self._last
    if start_from != "previous" or prev_params is not policy:
      adapters = None
    return base_params, LoraTuning(self.lcfg, seed=self.seed, adapters=adapters)

  def save(self, path: str, result, model_cfg, *, base_checkpoint: str, tokenizer_dir, meta):
    del tokenizer_dir  # the base checkpoint carries the tokenizer
    adapter_checkpoint.save(path, result.adapters, model_cfg, self.lcfg, base_checkpoint,
                            meta=meta)
    self._last = (result.params, result.adapters)

  def restore(self, runner, path: str, base_params):
    del runner
    adapters, _ = adapter_checkpoint.restore(path, self.model_cfg, self.lcfg, self.mesh,
                                             self.rules)
    params = lora.merge(self.model_cfg, self.lcfg, base_params, adapters)
    self._last = (params, adapters)
    return params


def for_config(lcfg: lora.LoraConfig | None, seed: int, model_cfg, mesh, rules):
  """LoraPolicy when config.train.lora is set, else FullPolicy."""
  if lcfg is None:
    return FullPolicy()
  return LoraPolicy(lcfg, seed, model_cfg, mesh, rules)
