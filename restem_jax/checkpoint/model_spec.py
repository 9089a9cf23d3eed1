"""Which model a run uses: the `config.model` fields merged with a checkpoint's model_config.json.

Rule (documented in docs/models.md):
  * A `config.model` (or `config.teacher.model`) field that is None is UNSET: it is taken
    from the checkpoint's model_config.json. Run cards for checkpoint-described models
    start from `unset_model_fields()`, where every field is None.
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
import typing
from typing import Any

import ml_collections

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


def _field_type(f: dataclasses.Field) -> type:
  hints = typing.get_type_hints(ModelConfig)
  t = hints[f.name]
  return t if isinstance(t, type) else object


def unset_model_fields(**values) -> ml_collections.ConfigDict:
  """A `config.model` section with every ModelConfig field unset (typed None placeholders).

  Fields given in `values` are set (e.g. `dtype='bfloat16'`); the others come from the
  checkpoint. Command-line overrides such as `--config.model.dtype=bfloat16` stay
  type-checked.
  """
  out = {}
  for f in dataclasses.fields(ModelConfig):
    out[f.name] = ml_collections.config_dict.placeholder(_field_type(f))
  cd = ml_collections.ConfigDict(out)
  cd.update(values)
  return cd


def _unset(values: dict[str, Any]) -> list[str]:
  return sorted(k for k, v in values.items() if v is None)


def _check_known(values: dict[str, Any], section: str) -> None:
  fields = {f.name for f in dataclasses.fields(ModelConfig)}
  unknown = sorted(set(values) - fields)
  if unknown:
    raise ValueError(f"config.{section} has unknown field(s) {unknown}; "
                     f"ModelConfig accepts {sorted(fields)}.")


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
  _check_known(values, section)
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
    try:
      return ModelConfig(**values)
    except (TypeError, ValueError) as e:
      raise ValueError(f"config.{section} is invalid: {e}") from e
  merged = dataclasses.asdict(stored)
  for name, value in sorted(values.items()):
    if value is None:
      continue
    if name not in RUNTIME_FIELDS and value != merged[name]:
      raise ModelConfigMismatchError(
          f"config.{section}.{name}={value!r} disagrees with the checkpoint ({source}: "
          f"{name}={merged[name]!r}); leave config.{section}.{name} unset (None) to take the "
          "checkpoint's value.")
    merged[name] = value
  try:
    return ModelConfig(**merged)
  except (TypeError, ValueError) as e:
    raise ValueError(f"config.{section} with {source} is invalid: {e}") from e


def check_compatible(model_cfg: ModelConfig, stored: ModelConfig, source: str) -> None:
  """Raises ModelConfigMismatchError naming the first architecture field that differs."""
  a, b = dataclasses.asdict(model_cfg), dataclasses.asdict(stored)
  for name in sorted(a):
    if name not in RUNTIME_FIELDS and a[name] != b[name]:
      raise ModelConfigMismatchError(
          f"model config field {name}={a[name]!r} disagrees with the checkpoint "
          f"({source}: {name}={b[name]!r}).")
