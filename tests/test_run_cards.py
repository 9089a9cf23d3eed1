"""The paper run cards (configs/math.py, gsm8k.py, apps.py): every preset validates, and each
card's CPU smoke preset runs one tiny ReST-EM iteration end to end.

Validation goes through the builders the main command uses (restem_jax.run_config) with the
preset's architecture standing in for the checkpoint's model_config.json: lengths (prompt
buckets + max_new_tokens vs train.seq_len vs the model's max_len), mesh divisibility for the
device count the preset was sized for, registered tasks, and the data files under the
shared data directory. The smoke run replaces the SmolLM2-135M shape by a tiny random model
(saved as the base checkpoint, with a small BPE tokenizer trained here) and shrinks lengths,
problem counts and steps; task, prompts, data pipeline, loop, verifier and evaluation are
the card's.
"""

import dataclasses
import importlib.util
import json
import os
import sys
import shutil

import jax
import pytest
import tokenizers
from tokenizers import models as tok_models
from tokenizers import pre_tokenizers, trainers

import restem_jax.tasks  # noqa: F401  (registers every task)
from restem_jax import run_config
from restem_jax.checkpoint import model_checkpoint, model_spec
from restem_jax.loop import length_check, runner
from restem_jax.loop.evaluation import transfer
from restem_jax.model import interface
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.sharding import partitioning
from restem_jax.tasks import registry
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "tasks")
SHARED_DATA = "/work/shared/data"
CARDS = ("math", "gsm8k", "apps")


def _load(name):
  spec = importlib.util.spec_from_file_location(f"card_{name}",
                                                os.path.join(REPO, "configs", f"{name}.py"))
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # dataclasses look their module up
  spec.loader.exec_module(module)
  return module


presets = _load("card_presets")
ALL = [(card, p) for card in CARDS for p in sorted(presets.PRESETS)]


def _checkpoint_model(preset):
  """The model_config.json a conversion of the preset's model would write (fp32)."""
  fields = {f.name for f in dataclasses.fields(ModelConfig)}
  arch = presets.architecture(presets.PRESETS[preset])
  return ModelConfig(**{**{k: v for k, v in arch.items() if k in fields},
                        "dtype": "float32", "param_dtype": "float32", "remat": False,
                        "scan_layers": False})


@pytest.mark.parametrize("card,preset", ALL)
def test_preset_validates(card, preset):
  c = _load(card).get_config(preset)
  p = presets.PRESETS[preset]
  # The run setup's builders (main's RunConfig, Run.__init__), each raising on a bad field.
  rc = typed(c)
  run_config.loop_config(rc)
  run_config.estep_config(rc)
  _, train = run_config.mstep_config(rc)
  run_config.eval_config(rc)
  run_config.sampling_params(rc)
  sampler = run_config.sampler_config(rc)
  run_config.logical_rules(rc)
  # The architecture comes from the checkpoint; the card sets only runtime fields.
  set_fields = {k for k, v in c.model.to_dict().items() if v is not None}
  assert set_fields <= model_spec.RUNTIME_FIELDS, set_fields
  model = model_spec.merge(c.model.to_dict(), _checkpoint_model(preset), source="preset")
  assert ((model.dtype, model.param_dtype, model.remat, model.scan_layers)
          == (p.dtype, p.param_dtype, p.remat, p.scan_layers))
  run_config.check_model_context(model, rc, train.seq_len)
  length_check.check_lengths(seq_len=train.seq_len, prompt_buckets=sampler.prompt_buckets,
                             max_new_tokens=sampler.max_new_tokens, max_len=model.max_len)
  # Mesh for the device count the preset was sized for.
  mesh = dict(zip(c.mesh.axis_names, run_config.mesh_config(rc).resolved_sizes(p.devices)))
  dp = mesh["data"] * mesh["fsdp"]
  assert train.rows_per_micro % dp == 0, (train.rows_per_micro, mesh)
  assert (sampler.prompts_per_batch * c.estep.num_samples) % dp == 0, mesh
  assert model.num_heads % mesh["tensor"] == 0 and model.num_kv_heads % mesh["tensor"] == 0
  assert c.task.name in registry.available_tasks()
  c.task.data_dir = "/data"
  specs = transfer.tasks_from_config(typed(c).eval.transfer_tasks)  # registered, fields valid
  assert specs and all(s.data_dir == "/data" for s in specs), "transfer data from task.data_dir"
  assert c.base.checkpoint == "" and not c.base.pretrain, "the base comes from a checkpoint"




@pytest.mark.parametrize("card", CARDS)
def test_docstring_cost_estimate_matches_estimate(card):
  module = _load(card)
  fields = {f.name for f in dataclasses.fields(ModelConfig)}
  models = _load("models").MODELS
  doc = " ".join(module.__doc__.split())
  for name in ("llama-3.1-8b", "llama-3.2-1b", "qwen2.5-1.5b"):  # totals every card quotes
    cfg = ModelConfig(**{k: v for k, v in models[name].items() if k in fields})
    total = presets.estimate(cfg, **module.COST_INPUTS)["total"]
    assert f"{total:.1e}".replace("e+", "e") in doc, (card, name, f"{total:.1e}")


def test_unknown_preset_names_the_known_ones():
  with pytest.raises(ValueError, match="llama3_8b_tpu"):
    _load("math").get_config("llama3_70b")


@pytest.mark.skipif(not os.path.isdir(SHARED_DATA), reason=f"{SHARED_DATA} is not here")
@pytest.mark.parametrize("task", ["math", "math500", "gsm8k", "humaneval"])
def test_shared_data_has_the_cards_test_split(task):
  assert registry.load_problems(task, "test", SHARED_DATA, 0, limit=2)


# ------------------------------------------------------------------------ smoke runs


def _tokenizer_dir(path):
  """A small byte-level BPE trained on the fixtures' text, saved as an HF tokenizer dir."""
  texts = []
  for root, _, files in os.walk(FIXTURES):
    for f in files:
      if f.endswith(".jsonl"):
        with open(os.path.join(root, f)) as fh:
          texts.extend(fh.read().splitlines())
  tok = tokenizers.Tokenizer(tok_models.BPE())
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tok.decoder = tokenizers.decoders.ByteLevel()
  tok.train_from_iterator(texts, trainers.BpeTrainer(
      vocab_size=2048, special_tokens=["<|endoftext|>"],
      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
  os.makedirs(path)
  tok.save(os.path.join(path, "tokenizer.json"))
  with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
    json.dump({"eos_token": "<|endoftext|>", "bos_token": None}, f)
  return path, tok.get_vocab_size()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  """The task fixtures in the layout the cards read: math/train.jsonl (worked solutions),
  and apps/{train,test}.jsonl from the 10-problem APPS sample (3 introductory problems)."""
  d = str(tmp_path_factory.mktemp("cards_data") / "data")
  shutil.copytree(FIXTURES, d)
  shutil.copy(os.path.join(FIXTURES, "math_train", "math", "train.jsonl"),
              os.path.join(d, "math", "train.jsonl"))
  for split in ("train", "test"):
    shutil.copy(os.path.join(FIXTURES, "apps", "apps_test_sample10.jsonl"),
                os.path.join(d, "apps", f"{split}.jsonl"))
  return d


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
  """A self-describing checkpoint (model_config.json + tokenizer/) of a tiny random model."""
  tmp = str(tmp_path_factory.mktemp("cards_base"))
  tok_dir, vocab_size = _tokenizer_dir(os.path.join(tmp, "tokenizer"))
  model_cfg = ModelConfig(vocab_size=vocab_size, embed_dim=32, num_layers=1, num_heads=2,
                          num_kv_heads=1, head_dim=16, mlp_dim=64, max_len=2048,
                          tie_embeddings=True)
  c = _load("math").get_config("smollm2_135m")
  params, _, _ = partitioning.init_sharded(
      lambda k: interface.init_boxed(model_cfg, k), jax.random.key(0),
      mesh_lib.make_mesh(run_config.mesh_config(typed(c))), run_config.logical_rules(typed(c)))
  ckpt = os.path.join(tmp, "ckpt")
  model_checkpoint.save(ckpt, params, model_cfg, tokenizer_dir=tok_dir,
                        meta={"source": "tests/test_run_cards.py"})
  return ckpt


def _smoke_config(card, ckpt, data_dir):
  c = _load(card).get_config("smollm2_135m")
  c.base.checkpoint = ckpt  # architecture and tokenizer from here, as in a real run
  c.task.update(data_dir=data_dir, train_limit=4, val_limit=2, test_limit=4)
  # One prefill program for every card (shared through the XLA cache), short samples.
  c.sampler.update(prompt_buckets=(1280,), max_new_tokens=8, prompts_per_batch=4)
  c.train.update(seq_len=1280 + 8 + 8, rows_per_micro=8)
  c.estep.update(num_samples=2, chunk_problems=4)
  c.mstep.update(max_steps=2, eval_every=2)
  c.eval.update(num_samples=2, ks=(1, 2))
  for label in c.eval.transfer_tasks:
    c.eval.transfer_tasks[label].limit = 1
  if card == "gsm8k":  # the SFT stage is the same code for every task: run it for MATH only
    c.loop.sft_baseline = False
  return c


@pytest.mark.parametrize("card", CARDS)
def test_smoke_preset_runs_one_iteration(card, tiny_base, data_dir, tmp_path):
  c = _smoke_config(card, tiny_base, data_dir)
  assert c.loop.num_iterations == 1
  runner.run(typed(c), str(tmp_path / "W"))
  with open(tmp_path / "W" / "summary.json") as f:
    summary = json.load(f)
  # A random model keeps no sample, so the iteration's M-step does not run; MATH's SFT
  # baseline fine-tunes the base on train.jsonl's worked solutions; APPS's fixture has no
  # reference programs, so its SFT baseline is skipped with a note.
  assert len(summary["iterations"]) == 1
  assert summary["iterations"][0]["verdicts"], "the E-step sampled and verified"
  assert ("sft" in summary) == (card == "math")
  assert ("sft_skipped" in summary["notes"]) == (card == "apps")
  transfer = summary["base"]["transfer"]
  assert sorted(transfer) == sorted(c.eval.transfer_tasks) and all(
      t["n"] == 1 for t in transfer.values()), transfer
  assert (tmp_path / "W" / "report.md").exists()


def test_card_without_checkpoint_is_refused_before_any_stage(tiny_base, tmp_path):
  c = _smoke_config("gsm8k", "", FIXTURES)
  c.task.vocab = os.path.join(tiny_base, "tokenizer")
  with pytest.raises(ValueError, match="no checkpoint model_config.json"):
    runner.run(typed(c), str(tmp_path / "W"))
