"""`config.model` and `config.teacher.model`: ModelConfig's fields, each optional.

A field that is None is UNSET: it comes from the checkpoint's model_config.json
(`restem_jax.checkpoint.model_spec` merges the two). The section is derived from
`ModelConfig` (restem_jax/model/config.py, where each field is documented), so a new model
field is one line there.
"""

from __future__ import annotations

import dataclasses
import typing

from restem_jax.model.config import ModelConfig


def _section() -> type:
  hints = typing.get_type_hints(ModelConfig)
  fields = [(f.name, hints[f.name] | None, dataclasses.field(default=None))
            for f in dataclasses.fields(ModelConfig)]
  cls = dataclasses.make_dataclass("ModelSection", fields, frozen=True)
  cls.__module__ = __name__
  return cls


ModelSection = _section()

# config.model when a card sets nothing: ModelConfig's own defaults.
MODEL_DEFAULTS = ModelSection(**dataclasses.asdict(ModelConfig()))
# config.teacher.model: every field from the teacher's checkpoint.
UNSET = ModelSection()


def values(section) -> dict:
  """The section as the `values` dict `model_spec.merge` takes (None = unset)."""
  return dataclasses.asdict(section)
