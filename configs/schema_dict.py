"""The run config's schema (restem_jax/config/schema.py) as ConfigDict pieces for the cards.

`complete(c)`: configs/toy_arith.py, which every card derives from, ends with it, so a card
holds every `RunConfig` field (the ones it does not set at the schema's default) and
`--config.x.y=...` can override any of them: ml_collections' config_flags only overrides
keys the dict has. `unset_model_fields(...)`: a `config.model` section with every field
unset (None), for cards whose architecture comes from the base checkpoint.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing

import ml_collections

from restem_jax.config import model_section
from restem_jax.config.schema import RunConfig


def _placeholder_type(hint) -> type:
  """int | None -> int; tuple[int, ...] | None -> tuple (what ml_collections type-checks)."""
  if typing.get_origin(hint) in (typing.Union, types.UnionType):
    hint = next(a for a in typing.get_args(hint) if a is not type(None))
  origin = typing.get_origin(hint) or hint
  return origin if isinstance(origin, type) else object


def _is_mapping(hint) -> bool:
  origin = typing.get_origin(hint) or hint
  return origin in (dict, collections.abc.Mapping)


def _entry(value, hint):
  """A schema default as a ConfigDict value (sections -> ConfigDicts, None -> typed)."""
  if dataclasses.is_dataclass(value):
    return _section(value)
  if value is None:
    return ml_collections.config_dict.placeholder(_placeholder_type(hint))
  if _is_mapping(hint):
    return ml_collections.ConfigDict(dict(value))
  return value


def _section(default) -> ml_collections.ConfigDict:
  hints = typing.get_type_hints(type(default))
  return ml_collections.ConfigDict({f.name: _entry(getattr(default, f.name), hints[f.name])
                                    for f in dataclasses.fields(default)})


def complete(c: ml_collections.ConfigDict, default=None) -> ml_collections.ConfigDict:
  """Adds every schema field `c` lacks, at its default (`default`: RunConfig()); returns c.
  Mapping fields (task.chat_template_kwargs, eval.transfer_tasks) are leaves: their keys
  are the card's own."""
  default = RunConfig() if default is None else default
  hints = typing.get_type_hints(type(default))
  for f in dataclasses.fields(default):
    value = getattr(default, f.name)
    if f.name not in c:
      c[f.name] = _entry(value, hints[f.name])
    elif dataclasses.is_dataclass(value) and isinstance(c[f.name], ml_collections.ConfigDict):
      complete(c[f.name], value)
  return c


def unset_model_fields(**values) -> ml_collections.ConfigDict:
  """A `config.model` section with every field unset (typed None placeholders, so that
  command-line overrides such as `--config.model.dtype=bfloat16` stay type-checked);
  fields given in `values` are set (e.g. `dtype='bfloat16'`), the others come from the
  checkpoint."""
  cd = _section(model_section.UNSET)
  cd.update(values)
  return cd
