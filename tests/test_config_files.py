"""config_files.sibling: run cards load the configs/ files they build on by path."""

import os

import pytest

from restem_jax import config_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANCHOR = os.path.join(REPO, "configs", "math.py")


def test_sibling_loads_once_per_path_and_registers_the_module():
  models = config_files.sibling(ANCHOR, "models")
  assert "llama-3.2-1b" in models.MODELS
  assert config_files.sibling(ANCHOR, "models") is models
  presets = config_files.sibling(ANCHOR, "card_presets")
  assert presets.preset("llama3_1b", "math").devices == 8  # its dataclass works (registered)


def test_sibling_in_another_folder_is_another_module(tmp_path):
  (tmp_path / "models.py").write_text("MODELS = {'x': 1}\n")
  other = config_files.sibling(str(tmp_path / "card.py"), "models")
  assert other.MODELS == {"x": 1}
  assert other is not config_files.sibling(ANCHOR, "models")


def test_missing_sibling_names_the_path(tmp_path):
  with pytest.raises(FileNotFoundError, match="nope.py"):
    config_files.sibling(str(tmp_path / "card.py"), "nope")
