"""`python -m restem_jax.generate` end to end on a tiny checkpoint with a BOS-adding tokenizer."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
import sentencepiece as spm

from restem_jax import vocab
from restem_jax.checkpoint import model_checkpoint
from restem_jax.generation import jsonl_io
from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from tests.typed_config import typed

CFG = ModelConfig(vocab_size=64, embed_dim=32, num_layers=2, num_heads=2, num_kv_heads=1,
                  head_dim=16, mlp_dim=64, max_len=128)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
  """A random tiny model + a SentencePiece tokenizer whose config adds BOS (id 3)."""
  d = tmp_path_factory.mktemp("gen")
  tok = d / "tok"
  tok.mkdir()
  (d / "c.txt").write_text("\n".join(f"def f{i}(x):\n    return x + {i}" for i in range(300)))
  spm.SentencePieceTrainer.train(input=str(d / "c.txt"), model_prefix=str(tok / "tokenizer"),
                                 vocab_size=60, model_type="bpe", pad_id=0, eos_id=1, unk_id=2,
                                 bos_id=3, character_coverage=1.0)
  (tok / "tokenizer_config.json").write_text(json.dumps(
      {"add_bos_token": True, "bos_token": "<s>", "eos_token": "</s>"}))
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig(), devices=jax.devices()[:1])
  params, _, _ = partitioning.init_sharded(lambda k: interface.init_boxed(CFG, k),
                                           jax.random.key(0), mesh, partitioning.DEFAULT_RULES)
  out = str(d / "ckpt")
  model_checkpoint.save(out, params, CFG, tokenizer_dir=str(tok))
  return out, params


def _teacher_forced_logprobs(params, ids):
  logits = interface.logits_fn(CFG, params, np.asarray([ids], np.int32),
                               np.ones((1, len(ids)), np.int32))
  lp = jax.nn.log_softmax(np.asarray(logits[0], np.float32), axis=-1)
  return lp


def test_generate_cli_end_to_end(ckpt, tmp_path):
  path, params = ckpt
  inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
  inp.write_text(json.dumps({"prompt": "def f1(x):\n", "task_id": "a"}) + "\n\n" +
                 json.dumps({"prompt": "def f22(x):\n    return", "task_id": "b"}) + "\n")
  run = subprocess.run(
      [sys.executable, "-m", "restem_jax.generate", f"--checkpoint={path}", f"--input={inp}",
       f"--output={out}", "--num_samples=2", "--max_new_tokens=6", "--temperature=0"],
      capture_output=True, text=True, timeout=300, env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert run.returncode == 0, run.stderr[-3000:]
  assert "2/2" in run.stderr  # tqdm progress on stderr
  rows = [json.loads(l) for l in out.read_text().splitlines()]
  v = vocab.load(model_checkpoint.tokenizer_dir(path))
  assert [r["task_id"] for r in rows] == ["a", "b"]  # other fields carried through, in order
  for r in rows:
    assert r["prompt_tokens"] == v.encode_prompt(r["prompt"]) and r["prompt_tokens"][0] == 3
    a, b = r["samples"]
    assert a == b  # greedy: both samples identical
    assert 1 <= len(a["tokens"]) == len(a["logprobs"]) <= 6
    assert a["text"] == v.decode_continuation(r["prompt_tokens"], a["tokens"])
    # Greedy tokens are the argmax, and logprobs are the model's own (teacher-forced) ones.
    lp = _teacher_forced_logprobs(params, r["prompt_tokens"] + a["tokens"])
    p = len(r["prompt_tokens"])
    for t, (tok, got) in enumerate(zip(a["tokens"], a["logprobs"])):
      assert tok == int(np.argmax(lp[p - 1 + t]))
      np.testing.assert_allclose(got, lp[p - 1 + t, tok], atol=1e-4)


def test_bad_input_lines_are_named(tmp_path):
  f = tmp_path / "in.jsonl"
  f.write_text('{"prompt": "ok"}\n{"prompt": \n')
  with pytest.raises(ValueError, match=r"in\.jsonl:2: not valid JSON"):
    jsonl_io.read_prompts(str(f))
  f.write_text('{"prompt": "ok"}\n\n["x"]\n')
  with pytest.raises(ValueError, match=r"in\.jsonl:3: expected a JSON object"):
    jsonl_io.read_prompts(str(f))
  f.write_text('{"text": "no prompt"}\n')
  with pytest.raises(ValueError, match=r"in\.jsonl:1: 'prompt' must be a non-empty string"):
    jsonl_io.read_prompts(str(f))
  with pytest.raises(FileNotFoundError, match="missing.jsonl"):
    jsonl_io.read_prompts(str(tmp_path / "missing.jsonl"))


def test_run_vocabulary_comes_from_the_base_checkpoint(ckpt):
  import importlib.util
  from restem_jax import run_config
  spec = importlib.util.spec_from_file_location(
      "toy_arith_config", os.path.join(os.path.dirname(__file__), "..", "..", "configs",
                                       "toy_arith.py"))
  cfg_mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(cfg_mod)
  c = cfg_mod.get_config("tiny")
  assert run_config.vocabulary(typed(c)) == vocab.load("")  # no checkpoint: the toy char vocab
  c.base.checkpoint = ckpt[0]
  v = run_config.vocabulary(typed(c))
  assert v.add_bos and v.encode_prompt("def f1") == vocab.load(
      model_checkpoint.tokenizer_dir(ckpt[0])).encode_prompt("def f1")
  c.task.vocab = "/nonexistent/tok.model"  # task.vocab, when set, wins and is named in errors
  with pytest.raises(FileNotFoundError, match=r"config\.task\.vocab='/nonexistent/tok\.model'"):
    run_config.vocabulary(typed(c))
