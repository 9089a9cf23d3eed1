"""Which model a run uses: the `config.model` fields merged with a checkpoint's model_config.json.

Rule (documented in docs/models.md):
  * A `config.model` (or `config.teacher.model`) field that is None is UNSET: it is taken
    from the checkpoint's model_config.json. Run cards for checkpoint-described models
    start from `unset_model_fields()` (configs/schema_dict.py), where every field is None.
  * A field that is set must agree with the checkpoint; a disagreement is an error naming
    the field and both values, because loading weights into a different architecture
    (wrong rope_theta, norm_eps, ...) silently gives a broken model.
  * RUNTIME_FIELDS (compute/storage dtype, remat, scan_layers, max_len) do not change what the weights
    mean: a set value overrides the checkpoint's.
  * Without a checkpoint model_config.json (toy pretraining, legacy Orbax dirs) every field
    must be set.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from restem_jax.from_dict import from_dict
from restem_jax.model.config import ModelConfig

# Fields a run may change freely: they affect how the weights are computed with or how
# long sequences may be, not what the weights mean.
RUNTIME_FIELDS = frozenset({"dtype", "param_dtype", "remat", "scan_layers", "max_len"})


# The config field holding the checkpoint a model section is described by (for messages).
CHECKPOINT_FIELDS = {"model": "base.checkpoint", "teacher.model": "teacher.checkpoint"}


def checkpoint_field(section: str) -> str:
  """'model' -> 'base.checkpoint': the setting a user changes to describe `section`."""
  return CHECKPOINT_FIELDS.get(section, f"{section.rsplit('.', 1)[0]}.checkpoint")


class ModelConfigMismatchError(ValueError):
  """A set config.model field disagrees with the checkpoint's model_config.json."""


def _unset(values: dict[str, Any]) -> list[str]:
  return sorted(k for k, v in values.items() if v is None)


def merge(values: dict[str, Any], stored: ModelConfig | None, *, section: str = "model",
          source: str = "") -> ModelConfig:
  """The ModelConfig a run uses, from `config.<section>` values and a checkpoint's config.

  Args:
    values: the config section as a dict (None = unset).
    stored: the checkpoint's ModelConfig, or None when there is none.
    section: config section name for messages ('model', 'teacher.model').
    source: where `stored` came from (its model_config.json path), for messages; with
      `stored` None, why there is none (e.g. "config.base.checkpoint='/x' does not exist").
  """
  if stored is None:
    missing = _unset(values)
    if missing:
      field = checkpoint_field(section)
      raise ValueError(
          f"config.{section} leaves {missing} unset (None) but there is no checkpoint "
          f"model_config.json to take them from ({source or f'config.{field} is empty'}): "
          f"set --config.{field}=CKPT to a self-describing checkpoint (made once by "
          "`python -m restem_jax.convert import --source=HF_DIR_OR_GGUF --out=CKPT`, "
          f"docs/models.md), or set those config.{section} fields.")
    return from_dict(ModelConfig, values, f"config.{section}")
  merged = dataclasses.asdict(stored)
  for name, value in sorted(values.items()):
    if value is None or name not in merged:  # an unknown name fails in from_dict below
      continue
    if name not in RUNTIME_FIELDS and value != merged[name]:
      raise ModelConfigMismatchError(
          f"config.{section}.{name}={value!r} disagrees with the checkpoint ({source}: "
          f"{name}={merged[name]!r}); leave config.{section}.{name} unset (None) to take the "
          "checkpoint's value.")
  merged.update({k: v for k, v in values.items() if v is not None})
  return from_dict(ModelConfig, merged, f"config.{section}")


def check_compatible(model_cfg: ModelConfig, stored: ModelConfig, source: str) -> None:
  """Raises ModelConfigMismatchError naming the first architecture field that differs."""
  a, b = dataclasses.asdict(model_cfg), dataclasses.asdict(stored)
  for name in sorted(a):
    if name not in RUNTIME_FIELDS and a[name] != b[name]:
      raise ModelConfigMismatchError(
          f"model config field {name}={a[name]!r} disagrees with the checkpoint "
          f"({source}: {name}={b[name]!r}).")
