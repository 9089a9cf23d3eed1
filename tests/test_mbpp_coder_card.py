"""configs/mbpp_coder.py end to end at CI size: the `:tiny` preset on a tiny random Qwen2.

The card's model is Qwen2.5-Coder-0.5B-Instruct from six part packages CI does not install;
here a 1-layer random Qwen2 (q/k/v biases, untied head, as the 0.5B GGUF imports) saved as a
Hugging Face directory with SmolLM2's real BPE tokenizer stands in for it, imported on first
use through `config.base.import_from`, on the MBPP and HumanEval test fixtures. The run
must evaluate the base on MBPP and on HumanEval (transfer), run the SFT baseline on MBPP's
human solutions and one ReST-EM iteration, with the card's stops, buckets and sandbox.
"""

import json
import os

import pytest

import restem_jax.tasks  # noqa: F401  (registers every task)
from restem_jax.checkpoint import adapter_checkpoint, manager
from restem_jax.loop import runner
from tests import tiny_cards
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "tasks")


def _card():
  return tiny_cards.load_card("mbpp_coder")


@pytest.fixture(scope="module")
def tiny_qwen_dir(tmp_path_factory):
  return tiny_cards.tiny_hf_model(str(tmp_path_factory.mktemp("tiny_qwen_dir")), "qwen2")


def test_presets_and_unknown_preset():
  card = _card()
  c = card.get_config()
  assert c.base.import_from == card.QWEN_CODER_05B and c.task.name == "mbpp"
  assert c.train.seq_len >= max(c.sampler.prompt_buckets) + c.sampler.max_new_tokens + 1
  assert (c.sampler.top_k, c.estep.max_per_problem, c.loop.mode) == (40, 10, "restem")
  gpu = card.get_config("coder_1.5b_gpu")
  assert gpu.base.import_from == card.QWEN_CODER_15B and gpu.model.dtype == "bfloat16"
  lora = card.get_config("coder_1.5b_lora_cpu")
  assert lora.base.import_from == card.QWEN_CODER_15B and lora.model.dtype == "float32"
  assert lora.train.lora.rank == 16 and lora.model.remat
  assert lora.train.seq_len >= max(lora.sampler.prompt_buckets) + lora.sampler.max_new_tokens + 1
  with pytest.raises(ValueError, match="known: \\['coder_1.5b_gpu', 'coder_1.5b_lora_cpu', 'tiny'\\]"):
    card.get_config("nope")


def test_tiny_preset_imports_on_first_use_and_runs(tiny_qwen_dir, tmp_path):
  c = _card().get_config("tiny")
  c.base.import_from = tiny_qwen_dir
  c.task.data_dir = FIXTURES
  c.eval.transfer_tasks.humaneval.data_dir = FIXTURES
  workdir = str(tmp_path / "W")
  summary = runner.run(typed(c), workdir)
  assert manager.has_checkpoint(os.path.join(workdir, "base"))
  assert summary["sft"] and len(summary["iterations"]) == 1
  assert summary["iterations"][0]["verdicts"], "the E-step sampled and verified programs"
  transfer = summary["base"]["transfer"]
  assert list(transfer) == ["humaneval"] and transfer["humaneval"]["n"] == 2, transfer
  with open(os.path.join(workdir, "summary.json")) as f:
    assert json.load(f)["base"]["test_pass1"] == summary["base"]["test_pass1"]


def test_lora_cpu_preset_trains_adapters_at_toy_size(tiny_qwen_dir, tmp_path):
  """The 1.5B LoRA preset's loop (LoRA rank 16 on all seven projections, remat, no transfer
  task) on the tiny Qwen2 with an untied head. A random model solves nothing, so the SFT
  baseline (on the human solutions) is switched on here to make an M-step train: it must
  save adapters and a pointer to the base, not a whole model."""
  c = _card().get_config("coder_1.5b_lora_cpu")
  assert not c.loop.sft_baseline and c.loop.num_iterations == 1
  c.base.import_from = tiny_qwen_dir
  c.loop.sft_baseline = True
  c.task.update(data_dir=FIXTURES, train_limit=4, val_limit=2, test_limit=3)
  c.train.update(rows_per_micro=8)  # a multiple of the tests' 8 devices
  c.sampler.update(max_new_tokens=16, prompts_per_batch=4)
  c.mstep.update(max_steps=2, eval_every=1, patience=3)  # both steps train
  c.estep.update(num_samples=2)
  workdir = str(tmp_path / "W")
  summary = runner.run(typed(c), workdir)
  assert len(summary["iterations"]) == 1 and summary["iterations"][0]["verdicts"]
  assert summary["base"].get("transfer") is None
  assert [h["step"] for h in summary_history(workdir, "sft")] == [1, 2]
  with open(os.path.join(workdir, "sft", adapter_checkpoint.ADAPTER_FILE)) as f:
    info = json.load(f)
  assert info["rank"] == 16 and info["base_checkpoint"] == os.path.join(workdir, "base")
  assert sorted(info["targets"]) == sorted(["q", "k", "v", "o", "gate", "up", "down"])


def summary_history(workdir: str, run: str) -> list[dict]:
  """The training rows of `run` in W/metrics.jsonl."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  return [r for r in rows if r.get("run") == run and "loss" in r]
