"""configs/custom_task.py with the shipped example (examples/shop_math) end to end at :tiny.

Like tests/test_smollm2_arith_card.py, the card's SmolLM2 base is replaced by a tiny random
Llama with SmolLM2's real tokenizer, imported on first use. The run goes through
`python -m restem_jax.main` with the task and checker given only as overrides, as
docs/your_task.md tells a user; a checker that rejects the validation references stops
the run before the base model is evaluated.
"""

import json
import os
import subprocess
import sys

import pytest

from restem_jax import config_files
from restem_jax.loop import gold_check, runner
from tests import tiny_cards
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = "examples/shop_math"
OVERRIDES = {
    "task.train_file": f"{EXAMPLE}/train.jsonl",
    "task.test_file": f"{EXAMPLE}/test.jsonl",
    "task.fewshot_file": f"{EXAMPLE}/fewshot.jsonl",
    "task.prompt_template": "Question: {question}\nAnswer:",
    "task.reference_field": "solution",
    "task.difficulty_field": "level",
    "verifier.checker": f"{EXAMPLE}/checker.py:check",
}


@pytest.fixture(scope="module")
def tiny_hf_dir(tmp_path_factory):
  """A 1-layer random Llama (HF safetensors) with SmolLM2-135M-Instruct's tokenizer."""
  return tiny_cards.tiny_hf_model(str(tmp_path_factory.mktemp("tiny_hf_dir")), "llama")


def test_example_runs_end_to_end_through_main(tiny_hf_dir, tmp_path):
  args = [f"--config.{k}={v}" for k, v in OVERRIDES.items()]
  args += ["--config.task.stop=('\\n',)", f"--config.base.import_from={tiny_hf_dir}"]
  r = subprocess.run([sys.executable, "-m", "restem_jax.main",
                      "--config=configs/custom_task.py:tiny", f"--workdir={tmp_path}", *args],
                     cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), capture_output=True,
                     text=True, timeout=900)
  assert r.returncode == 0, r.stderr[-3000:]
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert summary["task"] == "jsonl" and len(summary["iterations"]) == 1
  assert summary["sft"] is not None  # the reference column is the SFT data
  assert set(summary["base"]["per_difficulty"]) <= {"add", "sub", "mul"}
  assert sum(v["n"] for v in summary["base"]["per_difficulty"].values()) == 6
  assert (tmp_path / "report.md").exists()


def test_checker_rejecting_the_references_stops_the_run(tiny_hf_dir, tmp_path):
  c = config_files.sibling(os.path.join(REPO, "configs", "x.py"), "custom_task").get_config("tiny")
  for key, value in OVERRIDES.items():
    section, field = key.split(".")
    c[section][field] = os.path.join(REPO, value) if "/" in value else value
  c.task.stop = ("\n",)
  c.base.import_from = tiny_hf_dir
  c.verifier.checker = "exact"  # the answer column (an int) never equals a worked solution
  with pytest.raises(gold_check.GoldCheckError, match=r"rejects the reference solution of 4 of "
                     r"4 validation problems .*max_gold_failures=0.*\n  train/\d+: incorrect"):
    runner.run(typed(c), str(tmp_path))
  assert not (tmp_path / "manifest.json").exists() or "base_eval" not in (
      tmp_path / "manifest.json").read_text()
