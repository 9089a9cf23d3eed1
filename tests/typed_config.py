"""`typed(c)`: a test's run-card ConfigDict as the RunConfig `main.py` would build from it;
`unset_model_fields`: the cards' helper (configs/schema_dict.py) for tests."""

import os

from restem_jax import config_files
from restem_jax.config import schema

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def typed(c) -> schema.RunConfig:
  """`c` (a card's ConfigDict, after the test's edits) built and validated as main does; a
  RunConfig is returned as is."""
  if isinstance(c, schema.RunConfig):
    return c
  return schema.build(c.to_dict())


def unset_model_fields(**values):
  """configs/schema_dict.py's `unset_model_fields`: a config.model ConfigDict, every field
  unset (None) except `values`."""
  anchor = os.path.join(REPO, "configs", "toy_arith.py")
  return config_files.sibling(anchor, "schema_dict").unset_model_fields(**values)
