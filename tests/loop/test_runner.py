"""The ReST-EM loop end to end at CI size: schema, cap, M-step start, resume, empty E-step.

One small base model is pretrained per module (it solves a fraction of the easy toy
problems, so E-steps keep samples); every run below restores it from its checkpoint.
"""

import copy
import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from restem_jax import run_config
from restem_jax.checkpoint import manager, model_checkpoint
from restem_jax.data.char_vocab import CharVocabulary
from restem_jax.loop import base_model, mstep, runner
from restem_jax.loop.estep import generate as estep
from restem_jax.loop.evaluation import evaluate
from restem_jax.loop.reporting.summary_schema import validate_summary
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.training import trainer as trainer_lib
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("toy_arith_config",
                                               os.path.join(REPO, "configs", "toy_arith.py"))
toy_arith_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy_arith_config)

# A base that is partly competent after a few seconds of pretraining (no mistakes in its
# corpus): it solves some level-1/2 problems, so the E-step keeps samples.
_BASE_OVERRIDES = dict(model=dict(embed_dim=64, num_layers=2, num_heads=2, num_kv_heads=1,
                                  head_dim=32, mlp_dim=128),
                       base=dict(pretrain_steps=150, pretrain_documents=4000, mistake_rate=0.0,
                                 pretrain_learning_rate=1e-2, pretrain_warmup_steps=10),
                       train=dict(rows_per_micro=16),
                       sampler=dict(max_new_tokens=48),  # room for 3-step solutions
                       task=dict(train_limit=32))  # a few level-1 problems among them


def make_config(base_dir="", **sections):
  c = toy_arith_config.get_config("tiny")
  for name, values in {**_BASE_OVERRIDES, **sections}.items():
    c[name].update(values)
  c.teacher.model.update(c.model.to_dict())
  c.base.checkpoint = base_dir
  c.loop.sft_baseline = False
  return c


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
  w = tmp_path_factory.mktemp("base_run")
  c = make_config()
  base_model.ensure_base(typed(c), str(w), CharVocabulary(), mesh_lib.make_mesh(
      run_config.mesh_config(typed(c))), run_config.logical_rules(typed(c)))
  return str(w / "base")


def _comparable(summary, workdir):
  """The summary without wall-clock fields and with the run directory abstracted."""
  s = json.loads(json.dumps(summary).replace(str(workdir), "W"))
  s.pop("wall_seconds")
  s.pop("memory", None)  # measured per process, like the wall time
  for it in s["iterations"]:
    it.pop("stage_seconds")
  if "sft" in s:
    s["sft"].pop("seconds")
  return s


def _digest(params):
  return [np.asarray(x).tobytes() for x in jax.tree.leaves(params)]


def test_end_to_end_summary_files_and_cap(base_dir, tmp_path, monkeypatch):
  c = make_config(base_dir, estep=dict(num_samples=4, max_per_problem=2, chunk_problems=8))
  c.loop.sft_baseline = True
  estep_calls = []
  real_estep = estep.run_estep
  monkeypatch.setattr(estep, "run_estep",
                      lambda *a, **k: estep_calls.append(k["iteration"]) or real_estep(*a, **k))
  summary = runner.run(typed(c), str(tmp_path))
  assert estep_calls == [1, 2], "each E-step's chunks are made (or read) once"
  validate_summary(summary)
  assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(summary))
  assert summary["mode"] == "restem" and len(summary["iterations"]) == 2
  assert summary["sft"]["test_pass1"] >= 0.0
  for name in ("report.md", "metrics.jsonl", "manifest.json", "plots/pass1.png"):
    assert (tmp_path / name).exists(), name
  assert os.listdir(tmp_path / "tb")
  rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert any("loss" in r for r in rows) and any("test_pass1" in r for r in rows)
  stages = ["base", "base_eval", "sft", "iter_1/estep", "iter_1/mstep", "iter_1/eval",
            "iter_2/estep", "iter_2/mstep", "iter_2/eval"]
  assert list(summary["memory"]) == stages  # every stage's memory, in run order
  assert [r["stage"] for r in rows if "stage" in r] == stages
  for m in summary["memory"].values():
    assert m["host_peak_rss_bytes"] >= m["host_end_rss_bytes"] > 0
  assert "## Memory per stage" in (tmp_path / "report.md").read_text()
  assert "memory" not in summary["base"] and "memory" not in summary["iterations"][0]
  it1 = summary["iterations"][0]
  assert it1["kept"] > 0, "the CI base model should solve some train problems"
  assert all(isinstance(it["mstep_kept_init"], bool) for it in summary["iterations"])
  assert summary["kept_init"] == sum(it["mstep_kept_init"] for it in summary["iterations"])
  assert summary["skipped_long_prompts"] == {"train": 0, "validation": 0, "test": 0}
  assert set(it1["test_pass_at_k"]) == {"1", "2", "4"} and set(it1["test_maj_at_k"]) == {
      "1", "2", "4"}
  assert it1["compute"]["estep_tokens"] > 0 and it1["compute"]["mstep_tokens"] > 0
  assert it1["timeout_rate"] == it1["verdicts"]["timeout"] / sum(it1["verdicts"].values())
  chunks = sorted((tmp_path / "iter_1" / "estep").glob("chunk_*.json"))
  assert len(chunks) == 4  # 32 problems in chunks of 8
  kept = estep.kept_samples([json.loads(p.read_text()) for p in chunks])
  assert len(kept) == it1["kept"]
  per_problem = {}
  for k in kept:
    per_problem[k["problem_id"]] = per_problem.get(k["problem_id"], 0) + 1
    assert k["verdict"] == "correct" and k["reward"] == 1.0
    assert k["policy"] == base_dir and k["iteration"] == 1 and k["temperature"] == 0.7
  assert max(per_problem.values()) <= 2
  assert it1["solved_fraction"] == len(per_problem) / 32
  # pass@1 from samples and the greedy pass@1 are different estimators; both are fractions.
  assert 0.0 <= it1["test_pass_at_k"]["1"] <= it1["test_pass_at_k"]["4"] <= 1.0


@pytest.mark.parametrize("mode", ["restem", "rest"])
def test_mstep_starts_from_base_or_previous_iterate(base_dir, tmp_path, monkeypatch, mode):
  inits = []
  real = mstep.run_mstep

  def spy(model_cfg, loop_cfg, cfg, mesh, rules, init_params, *a, **k):
    inits.append(_digest(init_params))
    return real(model_cfg, loop_cfg, cfg, mesh, rules, init_params, *a, **k)

  monkeypatch.setattr(mstep, "run_mstep", spy)
  # A validation reward that rises with every evaluation, so each M-step returns a
  # fine-tuned step (an M-step that beats nothing keeps its init; tested elsewhere).
  monkeypatch.setattr(runner.Run, "val_reward_fn",
                      lambda self, pool, n=itertools.count(): lambda params: next(n) / 1e3)
  c = make_config(base_dir)
  c.loop.mode = mode
  summary = runner.run(typed(c), str(tmp_path))
  assert [it["updated"] for it in summary["iterations"]] == [True, True]
  like = model_checkpoint.abstract_params(run_config.model_config(typed(c)), mesh_lib.make_mesh(
      run_config.mesh_config(typed(c))), run_config.logical_rules(typed(c)))
  base, _ = manager.restore_params(base_dir, like)
  iterate1, _ = manager.restore_params(str(tmp_path / "iter_1" / "policy"), like)
  assert _digest(base) != _digest(iterate1)
  assert inits[0] == _digest(base)
  assert inits[1] == (_digest(base) if mode == "restem" else _digest(iterate1))
  if mode == "rest":  # the E-step of iteration 2 sampled from iterate 1 in both modes
    assert summary["iterations"][1]["policy"] == str(tmp_path / "iter_1" / "policy")


class _Interrupt(Exception):
  pass


@pytest.fixture(scope="module")
def reference(base_dir, tmp_path_factory):
  w = tmp_path_factory.mktemp("reference")
  return _comparable(runner.run(typed(make_config(base_dir)), str(w)), w)


def test_resume_inside_mstep_gives_identical_summary(base_dir, reference, tmp_path, monkeypatch):
  calls = {"n": 0}
  real = trainer_lib.Trainer._finish

  def flaky(pending, t0):
    calls["n"] += 1
    if calls["n"] == 6:  # iteration 2's M-step, mid-way
      raise _Interrupt()
    return real(pending, t0)

  monkeypatch.setattr(trainer_lib.Trainer, "_finish", staticmethod(flaky))
  with pytest.raises(_Interrupt):
    runner.run(typed(make_config(base_dir)), str(tmp_path))
  monkeypatch.undo()
  manifest = json.loads((tmp_path / "manifest.json").read_text())
  assert "iter_1/eval" in manifest["stages"] and "iter_2/mstep" not in manifest["stages"]
  estep_calls = []
  real_estep = estep.run_estep
  monkeypatch.setattr(estep, "run_estep",
                      lambda *a, **k: estep_calls.append(k["iteration"]) or real_estep(*a, **k))
  assert _comparable(runner.run(typed(make_config(base_dir)), str(tmp_path)), tmp_path) == reference
  assert estep_calls == [1, 2], "a resumed run reads each finished E-step's chunks once"


def test_resume_between_stages_gives_identical_summary(base_dir, reference, tmp_path,
                                                       monkeypatch):
  real = evaluate.evaluate
  calls = {"n": 0}

  def flaky(*a, **k):
    calls["n"] += 1
    if calls["n"] == 2:  # after iter_1/mstep was recorded, before iter_1/eval
      raise _Interrupt()
    return real(*a, **k)

  monkeypatch.setattr(evaluate, "evaluate", flaky)
  with pytest.raises(_Interrupt):
    runner.run(typed(make_config(base_dir)), str(tmp_path))
  monkeypatch.undo()
  stages = json.loads((tmp_path / "manifest.json").read_text())["stages"]
  assert "iter_1/mstep" in stages and "iter_1/eval" not in stages
  assert _comparable(runner.run(typed(make_config(base_dir)), str(tmp_path)), tmp_path) == reference


def test_kill_9_inside_estep_then_rerun_matches_uninterrupted(base_dir, tmp_path):
  """Two processes of the same command: one runs through, one is SIGKILLed mid E-step."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", XLA_FLAGS="", PYTHONPATH=REPO)
  overrides = [f"--config.base.checkpoint={base_dir}", "--config.loop.sft_baseline=False"]
  for section, values in _BASE_OVERRIDES.items():
    if section != "base":
      overrides += [f"--config.{section}.{k}={v}" for k, v in values.items()]

  def cmd(w):
    return [sys.executable, "-m", "restem_jax.main", "--config=configs/toy_arith.py:tiny",
            f"--workdir={w}", *overrides]

  full, killed = tmp_path / "full", tmp_path / "killed"
  r = subprocess.run(cmd(full), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert r.returncode == 0, r.stderr[-3000:]
  proc = subprocess.Popen(cmd(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  first_chunk = killed / "iter_2" / "estep" / "chunk_00000.json"
  deadline = time.time() + 300
  while not first_chunk.exists() and proc.poll() is None and time.time() < deadline:
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert first_chunk.exists() and not (killed / "summary.json").exists()
  chunk_bytes = first_chunk.read_bytes()
  r = subprocess.run(cmd(killed), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert r.returncode == 0, r.stderr[-3000:]
  assert "stage iter_1/eval: already done" in r.stderr
  assert first_chunk.read_bytes() == chunk_bytes  # the finished chunk was reused, not redone
  a = _comparable(json.loads((full / "summary.json").read_text()), full)
  b = _comparable(json.loads((killed / "summary.json").read_text()), killed)
  assert a == b


def test_empty_kept_set_is_reported_and_stops_or_continues(tmp_path):
  c = make_config("", model=dict(embed_dim=32, num_layers=1, num_heads=2, num_kv_heads=1,
                                 head_dim=16, mlp_dim=64),
                  base=dict(pretrain_steps=2, pretrain_documents=100, mistake_rate=0.6))
  summary = runner.run(typed(c), str(tmp_path / "stop"))
  assert len(summary["iterations"]) == 1
  it = summary["iterations"][0]
  assert it["kept"] == 0 and not it["updated"] and it["mstep_best_step"] is None
  assert it["test_pass1"] == summary["base"]["test_pass1"]
  assert not (tmp_path / "stop" / "iter_1" / "policy").exists()
  assert "kept no samples" in (tmp_path / "stop" / "report.md").read_text()
  c2 = copy.deepcopy(c)
  c2.base.checkpoint = str(tmp_path / "stop" / "base")
  c2.loop.on_empty = "continue"
  summary2 = runner.run(typed(c2), str(tmp_path / "continue"))
  assert [it["kept"] for it in summary2["iterations"]] == [0, 0]


def test_bf16_sampling_never_rounds_the_policy_handed_on(tmp_path, monkeypatch):
  # sampler.params_dtype=bfloat16: the E-step samples with a bf16 copy; an iteration that
  # keeps nothing hands the next one the fp32 policy it was given, not that copy.
  c = make_config("", model=dict(embed_dim=32, num_layers=1, num_heads=2, num_kv_heads=1,
                                 head_dim=16, mlp_dim=64),
                  base=dict(pretrain_steps=2, pretrain_documents=100, mistake_rate=0.6),
                  loop=dict(num_iterations=2, on_empty="continue", init_from="previous"),
                  sampler=dict(params_dtype="bfloat16"))
  handed = []
  real = runner.run_iteration

  def spy(run, i, policy, *args):
    rec, new_policy, path = real(run, i, policy, *args)
    handed.append({x.dtype.name for x in jax.tree.leaves(new_policy)})
    return rec, new_policy, path

  monkeypatch.setattr(runner, "run_iteration", spy)
  summary = runner.run(typed(c), str(tmp_path))
  assert [it["kept"] for it in summary["iterations"]] == [0, 0]
  assert handed == [{"float32"}, {"float32"}]


def test_resume_with_a_different_config_is_refused(base_dir, tmp_path):
  runner.run(typed(make_config(base_dir, loop=dict(num_iterations=1))), str(tmp_path))
  with pytest.raises(ValueError, match=r"estep.num_samples: 4 -> 2"):
    runner.run(typed(make_config(base_dir, estep=dict(num_samples=2))), str(tmp_path))
  # Asking for more iterations continues the finished run.
  summary = runner.run(typed(make_config(base_dir, loop=dict(num_iterations=2))), str(tmp_path))
  assert len(summary["iterations"]) == 2


def test_sft_mode_and_distill_mode(base_dir, tmp_path):
  c = make_config(base_dir)
  c.loop.mode = "sft"
  sft = runner.run(typed(c), str(tmp_path / "sft"))
  assert sft["iterations"] == [] and sft["best_iteration"] == 0
  assert 0.0 <= sft["sft"]["test_pass1"] <= 1.0
  assert (sft["sft"]["mstep_best_step"] == 0) == sft["sft"]["mstep_kept_init"]
  # Distillation: the E-step samples from the teacher checkpoint (here: the SFT model,
  # a different network than the student's base); the M-step trains the student's base.
  c = make_config(base_dir)
  c.loop.mode = "distill"
  with pytest.raises(ValueError, match="teacher.checkpoint"):
    runner.run(typed(c), str(tmp_path / "no_teacher"))
  c.teacher.checkpoint = str(tmp_path / "sft" / "sft")
  d = runner.run(typed(c), str(tmp_path / "distill"))
  assert len(d["iterations"]) == 1 and d["iterations"][0]["policy"] == c.teacher.checkpoint
  kept = estep.kept_samples([json.loads(p.read_text()) for p in
                             (tmp_path / "distill" / "iter_1" / "estep").glob("chunk_*.json")])
  assert kept and {k["policy"] for k in kept} == {c.teacher.checkpoint}


def test_sentencepiece_vocabulary_runs_the_same_loop(tmp_path):
  import sentencepiece as spm  # seqio's dependency
  from restem_jax.tasks import toy_arith
  corpus = tmp_path / "corpus.txt"
  corpus.write_text("\n".join(toy_arith.pretraining_texts(0, 2000, 0.5)))
  spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "sp"),
                                 vocab_size=64, model_type="bpe", pad_id=0, eos_id=1, unk_id=2,
                                 bos_id=-1, character_coverage=1.0)
  c = make_config("", base=dict(pretrain_steps=20, pretrain_documents=400))
  c.task.vocab = str(tmp_path / "sp.model")
  c.loop.num_iterations = 1
  summary = runner.run(typed(c), str(tmp_path / "run"))
  validate_summary(summary)
  assert summary["base_meta"]["pretrain_steps"] == 20
  c.task.vocab = str(tmp_path / "missing.model")
  with pytest.raises(FileNotFoundError, match=r"config\.task\.vocab=.*missing\.model"):
    runner.run(typed(c), str(tmp_path / "run2"))
