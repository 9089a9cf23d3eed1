"""Chat training examples: the loss covers the completion and the end-of-turn token only."""

import numpy as np
import pytest
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

from restem_jax.training import chat_example, packing
from restem_jax.vocab.chat_template import ChatTemplate, find_end_of_turn
from restem_jax.vocab.hf_vocab import HFVocabulary

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
WORDS = ["<pad>", "<unk>", "<eos>", "<|im_start|>", "<|im_end|>", "system", "user", "assistant",
         "Answer", "briefly", "2+2", "?", "x", "=", "4", "3+3", "6", "1+1", "###", "END", "junk"]


def _vocab():
  tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
  tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
  tok.add_special_tokens([AddedToken(t, special=True) for t in ("<|im_start|>", "<|im_end|>",
                                                                 "<eos>")])
  return HFVocabulary(tok, source="test", bos_id=None, eos_id=2, add_bos=False)


def _template(src=CHATML):
  end = find_end_of_turn(src, None, "<eos>", ["<|im_start|>", "<|im_end|>", "<eos>"])
  return ChatTemplate(src, None, "<eos>", end, origin="test template")


def _ids(vocab, words):
  return [WORDS.index(w) for w in words.split()]


MESSAGES = [{"role": "system", "content": "Answer briefly"},
            {"role": "user", "content": "3+3 ?"}, {"role": "assistant", "content": "x = 6"},
            {"role": "user", "content": "2+2 ?"}]


def test_loss_mask_covers_completion_and_end_of_turn_only():
  vocab, tpl = _vocab(), _template()
  assert tpl.end_of_turn == "<|im_end|>"
  ex = chat_example.example(vocab, tpl, MESSAGES, "x = 4", weight=0.5)
  text = tpl.render(MESSAGES)
  assert list(ex.prompt) == [int(i) for i in vocab.encode(text)]
  assert list(ex.prompt[-2:]) == _ids(vocab, "<|im_start|> assistant")  # generation prompt
  assert list(ex.target) == _ids(vocab, "x = 4 <|im_end|>")
  batch = packing.pack([ex], seq_len=48)
  mask = batch.loss_mask[0].astype(bool)
  assert batch.targets[0][mask].tolist() == _ids(vocab, "x = 4 <|im_end|>")
  n_prompt = len(ex.prompt)
  # input position p predicts token p+1: no target inside the prompt is trained
  assert not mask[:n_prompt - 1].any() and mask[n_prompt - 1:n_prompt + 3].all()
  assert batch.weights[0][mask].tolist() == [0.5] * 4
  # the few-shot assistant turn ("x = 6 <|im_end|>") is part of the prompt, not the target
  assert _ids(vocab, "x = 6 <|im_end|>")[0] in ex.prompt.tolist()


def test_sampled_ids_cut_after_end_of_turn():
  vocab, tpl = _vocab(), _template()
  prompt = chat_example.prompt_ids(vocab, tpl, MESSAGES)
  sample = _ids(vocab, "x = 4 <|im_end|> <|im_start|> user junk")
  assert chat_example.sampled_target_ids(vocab, tpl, prompt, sample) == \
      _ids(vocab, "x = 4 <|im_end|>")
  # stopped on the tokenizer's EOS (not the end of turn): trained with the end of turn instead
  assert chat_example.sampled_target_ids(vocab, tpl, prompt, _ids(vocab, "x = 4 <eos>")) == \
      _ids(vocab, "x = 4 <|im_end|>")
  # never ended its turn (max_new_tokens): kept as produced
  assert chat_example.sampled_target_ids(vocab, tpl, prompt, _ids(vocab, "x = 4 junk")) == \
      _ids(vocab, "x = 4 junk")
  assert chat_example.stop_sequences(tpl) == ("<|im_end|>",)


def test_multi_token_end_of_turn_is_cut_on_text():
  src = ("{% for m in messages %}{{ m['role'] }} {{ m['content'] }} ### END\n{% endfor %}"
         "{% if add_generation_prompt %}assistant{% endif %}")
  vocab, tpl = _vocab(), _template(src)
  assert tpl.end_of_turn == " ### END"
  prompt = chat_example.prompt_ids(vocab, tpl, MESSAGES)
  sample = _ids(vocab, "x = 4 ### END junk")
  assert chat_example.sampled_target_ids(vocab, tpl, prompt, sample) == \
      _ids(vocab, "x = 4 ### END")
  ex = chat_example.example(vocab, tpl, MESSAGES, "x = 4")
  assert list(ex.target) == _ids(vocab, "x = 4 ### END")


def test_end_of_turn_that_the_vocab_cannot_encode_is_an_error():
  vocab = _vocab()
  tpl = ChatTemplate(CHATML, None, "<eos>", "", origin="checkpoint /c")
  with pytest.raises(ValueError, match="end_of_turn '' of checkpoint /c encodes to no ids"):
    chat_example.end_of_turn_ids(vocab, tpl)
  np.testing.assert_array_equal(chat_example.example(vocab, _template(), MESSAGES, "4").target,
                                _ids(vocab, "4 <|im_end|>"))
