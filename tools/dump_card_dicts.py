"""Writes tests/fixtures/card_dicts.json: every run card's `get_config(preset).to_dict()`.

  PYTHONPATH=$PWD python tools/dump_card_dicts.py

The snapshot pins what the cards under configs/ produce as dicts (tests/test_config_schema.py
asserts each card still produces exactly it, apart from the fields the schema added for
completeness, which that test lists). Regenerate it only when a card's values change on
purpose, and say so in the commit.
"""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from restem_jax import config_files  # noqa: E402  pylint: disable=wrong-import-position

OUT = os.path.join(REPO, "tests", "fixtures", "card_dicts.json")


def card_presets() -> dict[str, tuple[str, ...]]:
  """card file name -> the presets its get_config accepts ('' = none)."""
  anchor = os.path.join(REPO, "configs", "toy_arith.py")
  paper = tuple(sorted(config_files.sibling(anchor, "card_presets").PRESETS))
  return {
      "toy_arith": ("", "tiny"),
      "smollm2_arith": ("", "tiny"),
      "custom_task": ("", "tiny"),
      "mbpp_coder": tuple(sorted(config_files.sibling(anchor, "mbpp_coder").PRESETS)),
      "paper_scale": tuple(sorted(config_files.sibling(anchor, "paper_scale")._PRESETS)),  # pylint: disable=protected-access
      "math": paper, "gsm8k": paper, "apps": paper,
  }


def card_dicts() -> dict[str, dict]:
  """'card:preset' -> that config as a JSON-comparable dict (tuples become lists)."""
  anchor = os.path.join(REPO, "configs", "toy_arith.py")
  out = {}
  for card, presets in card_presets().items():
    module = config_files.sibling(anchor, card)
    for preset in presets:
      d = module.get_config(preset).to_dict()
      out[f"{card}:{preset}"] = json.loads(json.dumps(d, default=str))
  return out


if __name__ == "__main__":
  with open(OUT, "w") as f:
    json.dump(card_dicts(), f, indent=1, sort_keys=True)
    f.write("\n")
  print(f"wrote {OUT}")
