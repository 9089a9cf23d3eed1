"""E-step: cap, verdict accounting and chunk resume; M-step: trains from the given init."""

import gc
import json
import os
import weakref

import jax
import numpy as np
import pytest

from restem_jax.loop import mstep
from restem_jax.loop.estep import generate as estep
from restem_jax.sampling.sampler import Sampler, SamplerConfig, SamplerOutput
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.tasks.problem import Problem
from restem_jax.training import lora
from restem_jax.training.trainer import TrainLoopConfig
from restem_jax.training.tuning import LoraTuning
from restem_jax.verify.pool import VerifierPool
from restem_jax.verify.verdict import Verdict
from tests.engine import toy


def _problem(i, answer):
  return Problem(id=f"t/{i}", prompt=f"Q: {i}\nA:", question=str(i), answer=answer,
                 reference_solution="", difficulty="level_1", split="train",
                 verifier_task="toy_arith", checker_payload={"answer": answer})


@pytest.fixture(scope="module")
def setup():
  mesh = toy.one_device_mesh()
  params = toy.init_params(mesh)
  sampler = Sampler(toy.TOY, toy.VOCAB, SamplerConfig(prompt_buckets=(8,), max_new_tokens=6,
                                                      prompts_per_batch=4), mesh, toy.RULES)
  with VerifierPool(2, timeout_s=10.0) as pool:
    yield mesh, params, sampler, pool


def test_cap_dedup_and_resume(setup, tmp_path):
  mesh, params, sampler, pool = setup
  problems = [_problem(i, "1") for i in range(5)]
  # With top_k=1 every sample of a problem is identical; the verdict decides reward.
  sp = SamplingParams(temperature=1.0, top_k=1)
  cfg = estep.EStepConfig(num_samples=4, max_per_problem=2, dedup=False, chunk_problems=2)
  out_dir = str(tmp_path / "estep")
  recs = estep.run_estep(params, problems, sampler, sp, pool, cfg, out_dir, seed=0, iteration=1,
                         policy="base")
  assert sorted(os.listdir(out_dir)) == [f"chunk_0000{i}.json" for i in range(3)]
  total = sum(sum(r["stats"]["verdicts"].values()) for r in recs)
  assert total == 5 * 4  # a verdict for every sample
  for r in recs:
    for pid, kept in r["stats"]["kept_per_problem"].items():
      assert kept == min(r["stats"]["correct_per_problem"][pid], 2)
  # Resume: delete one chunk; the others are loaded, not resampled (mtime unchanged).
  mtimes = {f: os.path.getmtime(os.path.join(out_dir, f)) for f in os.listdir(out_dir)}
  os.remove(os.path.join(out_dir, "chunk_00001.json"))
  again = estep.run_estep(params, problems, sampler, sp, pool, cfg, out_dir, seed=0, iteration=1,
                          policy="base")
  for r in again + recs:  # wall-clock timings differ between the two runs of chunk 1
    assert r["stats"].pop("timing")["sample_seconds"] >= 0
  assert json.dumps(again, sort_keys=True) == json.dumps(
      [json.loads(json.dumps(r)) for r in recs], sort_keys=True)
  for f in ("chunk_00000.json", "chunk_00002.json"):
    assert os.path.getmtime(os.path.join(out_dir, f)) == mtimes[f]


def test_kept_samples_are_correct_and_capped(setup, tmp_path):
  mesh, params, sampler, pool = setup
  out = sampler.sample(params, ["Q: 0\nA:"], [0], 1, SamplingParams.greedy(), seed=0)
  greedy_text = out.texts[0][0]
  # Make the greedy continuation the gold answer: every sample is then correct.
  problems = [_problem(0, "1")]
  problems = [Problem(**{**problems[0].__dict__, "checker_payload": {"answer": "1"}})]
  cfg = estep.EStepConfig(num_samples=5, max_per_problem=3, dedup=True, chunk_problems=4)
  recs = estep.run_estep(params, problems, sampler, SamplingParams.greedy(), pool, cfg,
                         str(tmp_path / "e"), seed=0, iteration=1, policy="base")
  kept = estep.kept_samples(recs)
  assert all(k["verdict"] == "correct" for k in kept)
  assert len(kept) <= 1  # greedy samples are identical: dedup keeps at most one
  del greedy_text


def test_mstep_starts_from_given_init_and_returns_best(setup):
  mesh, params, _, _ = setup
  kept = [{"prompt_tokens": [5, 6, 7], "sample_tokens": [8, 9, 1], "reward": 1.0}] * 8
  rewards = iter([0.1, 0.5, 0.3, 0.2])
  res = mstep.run_mstep(toy.TOY, TrainLoopConfig(seq_len=16, rows_per_micro=2, num_steps=6),
                        mstep.MStepConfig(max_steps=6, eval_every=2, patience=2), mesh, toy.RULES,
                        params, mstep.examples_from_kept(kept), lambda p: next(rewards))
  assert res.val_curve == [(0, 0.1), (2, 0.5), (4, 0.3), (6, 0.2)]
  assert res.best_step == 2 and res.best_val_reward == 0.5
  changed = jax.tree.map(lambda a, b: not np.array_equal(a, b), params, res.params)
  assert any(jax.tree.leaves(changed))
  with pytest.raises(ValueError, match="empty"):
    mstep.run_mstep(toy.TOY, TrainLoopConfig(seq_len=16, rows_per_micro=2), mstep.MStepConfig(),
                    mesh, toy.RULES, params, [], lambda p: 0.0)


def test_mstep_keeps_the_init_when_no_step_beats_it(setup):
  mesh, params, _, _ = setup
  kept = [{"prompt_tokens": [5, 6, 7], "sample_tokens": [8, 9, 1], "reward": 1.0}] * 8
  rewards = iter([0.5, 0.2, 0.4, 0.1])  # nothing beats the init's 0.5
  res = mstep.run_mstep(toy.TOY, TrainLoopConfig(seq_len=16, rows_per_micro=2, num_steps=8),
                        mstep.MStepConfig(max_steps=8, eval_every=2, patience=2), mesh, toy.RULES,
                        params, mstep.examples_from_kept(kept), lambda p: next(rewards))
  assert res.val_curve == [(0, 0.5), (2, 0.2), (4, 0.4)]  # stopped after 2 evaluations
  assert res.kept_init and res.best_step == 0 and res.best_val_reward == 0.5
  same = jax.tree.map(lambda a, b: np.array_equal(a, b), params, res.params)
  assert all(jax.tree.leaves(same))  # the init itself, not the worse fine-tuned step
  assert [h["step"] for h in res.history][-1] == 4


def test_mstep_counts_overlong_samples_it_drops(setup):
  mesh, params, _, _ = setup
  kept = [{"prompt_tokens": [5, 6, 7], "sample_tokens": [8, 9, 1], "reward": 1.0}] * 4
  kept += [{"prompt_tokens": list(range(3, 20)), "sample_tokens": [8, 9, 1], "reward": 1.0}]
  rewards = iter([0.1, 0.5, 0.6])
  res = mstep.run_mstep(toy.TOY, TrainLoopConfig(seq_len=16, rows_per_micro=2, num_steps=4),
                        mstep.MStepConfig(max_steps=4, eval_every=2, patience=2), mesh, toy.RULES,
                        params, mstep.examples_from_kept(kept), lambda p: next(rewards))
  assert res.dropped_overlong == 1 and not res.kept_init and res.best_step == 4


def test_mstep_packs_the_kept_samples_shuffled(setup, monkeypatch):
  mesh, params, _, _ = setup
  from restem_jax.training import packing
  packed = []
  real = packing.pack
  monkeypatch.setattr(packing, "pack", lambda exs, *a, **k: packed.append(list(exs)) or real(
      exs, *a, **k))
  kept = [{"prompt_tokens": [3 + p, 4], "sample_tokens": [8, 1], "reward": 1.0}
          for p in range(6) for _ in range(5)]  # problem-major, as the E-step writes them
  mstep.run_mstep(toy.TOY, TrainLoopConfig(seq_len=16, rows_per_micro=2, num_steps=2),
                  mstep.MStepConfig(max_steps=2, eval_every=2, patience=1), mesh, toy.RULES,
                  params, mstep.examples_from_kept(kept), lambda p: 0.0)
  order = [int(e.prompt[0]) for e in packed[0]]
  assert sorted(order) == [3 + p for p in range(6) for _ in range(5)] != order


def test_training_tokens_cut_at_stop_sequence_keep_sampled_ids():
  vocab = toy.VOCAB
  text = "x = 1\n[DONE] more"
  ids = list(vocab.encode(text))
  cut = estep.training_tokens(vocab, "mbpp", ids, text)
  assert cut[:-1] == ids[:len("x = 1\n")] and cut[-1] == vocab.eos_id
  assert estep.training_tokens(vocab, "toy_arith", ids, text) == ids


def test_dedup_is_on_the_trained_ids_not_the_uncut_text():
  """Few-shot samples: one solution, then different text after the stop sequence."""
  vocab = toy.VOCAB
  texts = [f"x = 1\n[DONE] next problem {i}" for i in range(5)] + ["x = 2\n[DONE] z"]
  m = max(len(vocab.encode(t)) for t in texts)
  tokens = np.zeros((1, len(texts), m), np.int32)
  lengths = np.zeros((1, len(texts)), np.int32)
  for n, t in enumerate(texts):
    ids = vocab.encode(t)
    tokens[0, n, :len(ids)], lengths[0, n] = ids, len(ids)
  out = SamplerOutput(tokens, lengths, np.zeros(tokens.shape, np.float32), [texts],
                      [np.asarray(vocab.encode("Q:"), np.int32)])
  problem = Problem(id="mbpp/1", prompt="Q:", question="q", answer="", reference_solution="",
                    difficulty="", split="train", verifier_task="mbpp", checker_payload={})
  verdicts = [[Verdict("correct")] * len(texts)]
  cfg = estep.EStepConfig(num_samples=len(texts), max_per_problem=10, dedup=True)
  rec = estep._chunk_record([problem], out, verdicts, cfg, {}, vocab)
  trained = [tuple(k["sample_tokens"]) for k in rec["kept"]]
  assert len(trained) == len(set(trained)) == 2  # "x = 1\n" once, "x = 2\n" once
  assert [k["sample_index"] for k in rec["kept"]] == [0, 5]
  assert rec["stats"]["kept_per_problem"] == {"mbpp/1": 2}


def test_prompt_longer_than_the_largest_bucket_is_skipped_and_counted(setup, tmp_path):
  mesh, params, sampler, pool = setup
  long = Problem(**{**_problem(9, "1").__dict__, "id": "t/long", "prompt": "Q: 123456789\nA:"})
  problems = [_problem(0, "1"), long, _problem(1, "1")]
  cfg = estep.EStepConfig(num_samples=2, max_per_problem=2, chunk_problems=2)
  recs = estep.run_estep(params, problems, sampler, SamplingParams.greedy(), pool, cfg,
                         str(tmp_path / "e"), seed=0, iteration=1, policy="base")
  assert estep.skipped_long_prompts(recs) == 1
  seen = {pid for r in recs for pid in r["stats"]["correct_per_problem"]}
  assert seen == {"t/0", "t/1"}
  # A chunk of only over-long prompts is recorded (and resumes) as skipped, not a crash.
  recs = estep.run_estep(params, [long], sampler, SamplingParams.greedy(), pool, cfg,
                         str(tmp_path / "e2"), seed=0, iteration=1, policy="base")
  assert estep.skipped_long_prompts(recs) == 1 and estep.kept_samples(recs) == []


@pytest.mark.parametrize("fields, match", [
    (dict(seq_len=96), r"train.seq_len=96 < max\(sampler.prompt_buckets\)=32 \+ "
                       r"sampler.max_new_tokens=64 \+ 1 = 97"),
    (dict(max_len=90), r"model.max_len=90 < max\(sampler.prompt_buckets\)=32 \+ "
                       r"sampler.max_new_tokens=64 = 96"),
    (dict(max_len=100, seq_len=128), r"model.max_len=100 < train.seq_len=128"),
])
def test_config_lengths_that_do_not_fit_name_the_fields(fields, match):
  from restem_jax.loop import length_check
  kw = dict(seq_len=128, prompt_buckets=(32,), max_new_tokens=64, max_len=256)
  length_check.check_lengths(**kw)  # the toy default's lengths fit
  with pytest.raises(ValueError, match=match):
    length_check.check_lengths(**{**kw, **fields})


def test_lora_mstep_holds_no_merged_init_while_training(setup):
  """The merged init (base + fresh adapters: a second copy of every adapted weight) is
  dropped after its evaluation, not held through training; kept_init merges it again."""
  mesh, params, _, _ = setup
  kept = [{"prompt_tokens": [5, 6, 7], "sample_tokens": [8, 9, 1], "reward": 1.0}] * 8
  lcfg = lora.LoraConfig(rank=2, alpha=4.0, targets=("q", "up"))
  merged_refs, alive_at_evals = [], []

  def reward(p):
    gc.collect()
    alive_at_evals.append(sum(r() is not None for r in merged_refs))
    merged_refs.append(weakref.ref(p["block_0"]["attn"]["wq"]))  # a merged (adapted) leaf
    return 0.5 if len(merged_refs) == 1 else 0.1  # nothing beats the init
  res = mstep.run_mstep(toy.TOY, TrainLoopConfig(seq_len=16, rows_per_micro=2, num_steps=4),
                        mstep.MStepConfig(max_steps=4, eval_every=2, patience=3), mesh,
                        toy.RULES, params, mstep.examples_from_kept(kept), reward,
                        tuning=LoraTuning(lcfg, seed=0))
  assert alive_at_evals == [0, 0, 0], alive_at_evals  # no earlier merged copy outlives its eval
  assert res.kept_init and res.best_step == 0
  same = jax.tree.map(lambda a, b: np.array_equal(a, b), params, res.params)
  assert all(jax.tree.leaves(same))  # fresh adapters (B = 0) merged: the base exactly
