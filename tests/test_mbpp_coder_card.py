"""configs/mbpp_coder.py end to end at CI size: the `:tiny` preset on a tiny random Qwen2.

The card's model is Qwen2.5-Coder-0.5B-Instruct from six part packages CI does not install;
here a 1-layer random Qwen2 (q/k/v biases, untied head, as the 0.5B GGUF imports) saved as a
Hugging Face directory with SmolLM2's real BPE tokenizer stands in for it, imported on first
use through `config.base.import_from`, on the MBPP and HumanEval test fixtures. The run
must evaluate the base on MBPP and on HumanEval (transfer), run the SFT baseline on MBPP's
human solutions and one ReST-EM iteration, with the card's stops, buckets and sandbox.
"""

import importlib.util
import json
import os
import sys

import pytest

import restem_jax.tasks  # noqa: F401  (registers every task)
from restem_jax.checkpoint import manager
from restem_jax.loop import runner
from tests.vocab import real_tokenizers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "tasks")


def _card():
  spec = importlib.util.spec_from_file_location(
      "card_mbpp_coder", os.path.join(REPO, "configs", "mbpp_coder.py"))
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module
  spec.loader.exec_module(module)
  return module


@pytest.fixture(scope="module")
def tiny_qwen_dir(tmp_path_factory):
  transformers = pytest.importorskip("transformers")
  from restem_jax.convert import gguf_source  # pylint: disable=import-outside-toplevel
  out = str(tmp_path_factory.mktemp("tiny_qwen"))
  gguf_source.GGUFSource(real_tokenizers.smollm2_gguf()).write_tokenizer(out)
  cfg = transformers.Qwen2Config(
      vocab_size=49152, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, rope_theta=10000.0)
  transformers.Qwen2ForCausalLM(cfg).save_pretrained(out, safe_serialization=True)
  return out


def test_presets_and_unknown_preset():
  card = _card()
  c = card.get_config()
  assert c.base.import_from == card.QWEN_CODER_05B and c.task.name == "mbpp"
  assert c.train.seq_len >= max(c.sampler.prompt_buckets) + c.sampler.max_new_tokens + 1
  assert (c.sampler.top_k, c.estep.max_per_problem, c.loop.mode) == (40, 10, "restem")
  gpu = card.get_config("coder_1.5b_gpu")
  assert gpu.base.import_from == card.QWEN_CODER_15B and gpu.model.dtype == "bfloat16"
  with pytest.raises(ValueError, match="known: \\['coder_1.5b_gpu', 'tiny'\\]"):
    card.get_config("nope")


def test_tiny_preset_imports_on_first_use_and_runs(tiny_qwen_dir, tmp_path):
  c = _card().get_config("tiny")
  c.base.import_from = tiny_qwen_dir
  c.task.data_dir = FIXTURES
  c.eval.transfer_tasks.humaneval.data_dir = FIXTURES
  workdir = str(tmp_path / "W")
  summary = runner.run(c, workdir)
  assert manager.has_checkpoint(os.path.join(workdir, "base"))
  assert summary["sft"] and len(summary["iterations"]) == 1
  assert summary["iterations"][0]["verdicts"], "the E-step sampled and verified programs"
  transfer = summary["base"]["transfer"]
  assert list(transfer) == ["humaneval"] and transfer["humaneval"]["n"] == 2, transfer
  with open(os.path.join(workdir, "summary.json")) as f:
    assert json.load(f)["base"]["test_pass1"] == summary["base"]["test_pass1"]
