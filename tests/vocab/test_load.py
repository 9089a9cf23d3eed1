"""vocab.load dispatch, clear errors naming the path, the char vocab's contract, padding."""

import json

import pytest
import sentencepiece as spm

from restem_jax import vocab
from restem_jax.data import char_vocab
from restem_jax.vocab import base


def test_empty_path_is_the_toy_char_vocab_unchanged():
  v = vocab.load("")
  old = char_vocab.CharVocabulary()
  text = "12+30=42\nx = 1"
  assert v == old and list(v.encode(text)) == list(old.encode(text))
  assert (v.bos_id, v.add_bos, v.eos_id, v.pad_id, v.stop_ids) == (None, False, 1, 0, {1})
  assert v.encode_prompt(text) == list(old.encode(text))  # no BOS for the toy
  ids = list(v.encode(" 42")) + [v.eos_id, 0, 0]
  assert v.decode_continuation(v.encode_prompt("1+41="), ids) == old.decode(ids) == " 42"


def test_missing_and_unknown_paths_name_the_path(tmp_path):
  with pytest.raises(FileNotFoundError, match="nope.model"):
    vocab.load(str(tmp_path / "nope.model"))
  junk = tmp_path / "junk.model"
  junk.write_bytes(b"\x00\x01 not a model")
  with pytest.raises(ValueError, match="junk.model.*neither a SentencePiece model nor a tiktoken"):
    vocab.load(str(junk))
  with pytest.raises(ValueError, match="holds no tokenizer.json"):
    vocab.load(str(tmp_path))
  bad = tmp_path / "bad.gguf"
  bad.write_bytes(b"GGUF garbage")
  with pytest.raises(ValueError, match="bad.gguf"):
    vocab.load(str(bad))
  (tmp_path / "tokenizer.json").write_text("{}")
  with pytest.raises(ValueError, match="pass the directory"):
    vocab.load(str(tmp_path / "tokenizer.json"))
  (tmp_path / "tekken.json").write_text("{}")
  with pytest.raises(ValueError, match="tekken.json.*Tekken files are not supported"):
    vocab.load(str(tmp_path / "tekken.json"))
  with pytest.raises(ValueError, match="tokenizer.json.*could not be read"):
    vocab.load(str(tmp_path))


def test_tiktoken_ranks_without_special_tokens_is_an_error(tmp_path):
  (tmp_path / "r.tiktoken").write_text("YQ== 0\nYg== 1\n")
  with pytest.raises(ValueError, match="r.tiktoken.*does not name its special tokens"):
    vocab.load(str(tmp_path))
  (tmp_path / "tokenizer_config.json").write_text(json.dumps(
      {"added_tokens_decoder": {"2": {"content": "<|bos|>"}}, "bos_token": "<|bos|>"}))
  with pytest.raises(ValueError, match="defines no EOS token"):
    vocab.load(str(tmp_path))
  (tmp_path / "tokenizer_config.json").write_text(json.dumps(
      {"added_tokens_decoder": {"2": {"content": "<|end|>"}}, "eos_token": "<|eot|>"}))
  with pytest.raises(ValueError, match="eos_token '<\\|eot\\|>' is not in its vocabulary"):
    vocab.load(str(tmp_path))


def test_stop_id_outside_vocab_is_an_error():
  with pytest.raises(ValueError, match="'t'.*eos/stop id 9 is outside its vocabulary of 5"):
    base.check_special_ids("t", 5, None, 1, [9])


@pytest.fixture(scope="module")
def toy_sp(tmp_path_factory):
  """A SentencePiece model like config.task.vocab's test uses: pad 0, eos 1, unk 2, no BOS."""
  d = tmp_path_factory.mktemp("sp")
  (d / "c.txt").write_text("\n".join(f"def f{i}(x):\n    return x + {i}" for i in range(300)))
  spm.SentencePieceTrainer.train(input=str(d / "c.txt"), model_prefix=str(d / "sp"), vocab_size=60,
                                 model_type="bpe", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                 character_coverage=1.0, remove_extra_whitespaces=False)
  return str(d / "sp.model")


def test_sentencepiece_file_keeps_the_old_behaviour(toy_sp):
  import seqio
  v, old = vocab.load(toy_sp), seqio.SentencePieceVocabulary(toy_sp)
  text = "def f3(x):\n    return x + 3"
  assert list(v.encode(text)) == list(old.encode(text)) == v.encode_prompt(text)
  assert (v.bos_id, v.add_bos, v.eos_id, v.pad_id, v.stop_ids) == (None, False, 1, 0, {1})
  ids = list(v.encode(text)) + [1]
  assert v.decode(ids) == old.decode(ids)


def test_tf_ops_round_trip(toy_sp):
  import tensorflow as tf
  for v in (vocab.load(toy_sp),):
    ids = v.encode_tf(tf.constant("def f1(x):"))
    assert v.decode_tf(ids).numpy().decode() == "def f1(x):"
