"""Loading a sibling run card by file name.

`configs/` is a folder of experiment files that `ml_collections.config_flags` loads by
path, not a Python package, so a card that builds on another one (card_presets.py,
models.py, toy_arith.py) loads it with `sibling(__file__, "models")`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import zlib


def sibling(anchor_file: str, name: str):
  """The module `<dir of anchor_file>/<name>.py`, executed once per path.

  It is registered in `sys.modules` before it runs (dataclasses look their module up),
  under a name derived from its absolute path, so two checkouts never share an entry.
  """
  path = os.path.join(os.path.dirname(os.path.abspath(anchor_file)), f"{name}.py")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"config file {path} not found (loaded from {anchor_file}).")
  key = f"restem_configs_{name}_{zlib.crc32(path.encode()):08x}"
  if key not in sys.modules:
    spec = importlib.util.spec_from_file_location(key, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
      spec.loader.exec_module(module)
    except BaseException:
      del sys.modules[key]
      raise
  return sys.modules[key]
