"""Transfer evaluation: config syntax (CLI overrides), test-only tasks, every model's numbers."""

import json
import os
import sys

import pytest
from absl import flags
from ml_collections import config_flags

from restem_jax.config import schema
from restem_jax.config.sections import TransferEntry
from restem_jax.loop import runner
from restem_jax.loop.evaluation import transfer
from restem_jax.loop.reporting.summary_schema import validate_summary
from restem_jax.sampling.sampler import Sampler, SamplerConfig
from tests.engine import toy
from tests.loop.test_preflight import REPO, _tiny
from tests.tasks.conftest import FIXTURES
from tests.typed_config import typed

CONFIG = os.path.join(REPO, "configs", "toy_arith.py")


def _parse(*overrides):
  argv = ["prog", f"--config={CONFIG}:tiny", *overrides]
  fv = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, flag_values=fv, lock_config=True)
  real, sys.argv = sys.argv, argv  # config_flags reads the overrides from sys.argv
  try:
    fv(argv)
  finally:
    sys.argv = real
  return fv.config


def test_transfer_tasks_from_command_line_overrides():
  c = _parse("--config.eval.transfer_tasks={'arith5': {'task': 'toy_arith', 'seed': 5, "
             "'limit': 4, 'num_samples': 2}, 'humaneval': {'data_dir': '/d'}}")
  specs = transfer.tasks_from_config(typed(c).eval.transfer_tasks)
  assert [(s.label, s.task, s.limit, s.pass_at_ks) for s in specs] == [
      ("arith5", "toy_arith", 4, (1, 2)), ("humaneval", "humaneval", 0, ())]
  assert transfer.tasks_from_config(typed(_parse()).eval.transfer_tasks) == []
  with pytest.raises(ValueError, match=r"eval.transfer_tasks.x.limt is not a field"):
    schema.build({"eval": {"transfer_tasks": {"x": {"task": "toy_arith", "limt": 3}}}})
  with pytest.raises(ValueError, match="unknown task 'nope'"):
    transfer.tasks_from_config({"nope": TransferEntry()})


def test_a_test_only_task_loads_without_a_train_split():
  sampler = Sampler(toy.TOY, toy.VOCAB, SamplerConfig(prompt_buckets=(4096,)),
                    toy.one_device_mesh(), toy.RULES)
  [s] = transfer.load(transfer.tasks_from_config(
      {"humaneval": TransferEntry(data_dir=FIXTURES, limit=3)}), sampler)
  assert len(s.problems) == 3 and all(p.split == "test" for p in s.problems)
  short = Sampler(toy.TOY, toy.VOCAB, SamplerConfig(prompt_buckets=(8,)), toy.one_device_mesh(),
                  toy.RULES)
  with pytest.raises(ValueError, match=r"transfer_tasks.humaneval.*3 skipped as longer"):
    transfer.load(transfer.tasks_from_config({"humaneval": TransferEntry(data_dir=FIXTURES,
                                                                         limit=3)}), short)


def test_base_sft_and_iterations_are_evaluated_on_transfer_tasks(tmp_path):
  c = _tiny(loop=dict(num_iterations=1, sft_baseline=True))
  c.eval.transfer_tasks = {"arith5": {"task": "toy_arith", "seed": 5, "limit": 4,
                                      "num_samples": 2}}
  summary = runner.run(typed(c), str(tmp_path))
  validate_summary(summary)
  for model in [summary["base"], summary["sft"], *summary["iterations"]]:
    rec = model["transfer"]["arith5"]
    assert rec["n"] == 4 and 0.0 <= rec["pass1"] <= 1.0 and set(rec["pass_at_k"]) == {"1", "2"}
  rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert any("transfer_arith5_pass1" in r and "transfer_arith5_pass_at_2" in r for r in rows)
  assert "## Transfer evaluation" in (tmp_path / "report.md").read_text()


def test_eval_mode_evaluates_checkpoints_without_a_train_split(tmp_path, monkeypatch):
  from restem_jax.tasks import registry
  first = _tiny(loop=dict(mode="sft"))
  runner.run(typed(first), str(tmp_path / "run"))  # a finished run to evaluate
  real = registry.load_problems

  def test_only(task, split, *a, **k):
    assert split == "test", f"eval mode read the {split} split"
    return real(task, split, *a, **k)
  monkeypatch.setattr(registry, "load_problems", test_only)
  ckpts = (str(tmp_path / "run" / "base"), str(tmp_path / "run" / "sft"))
  with pytest.raises(ValueError, match="loop.checkpoints"):
    runner.run(typed(_tiny(loop=dict(mode="eval"))), str(tmp_path / "none"))
  c = _tiny(loop=dict(mode="eval", checkpoints=ckpts))
  c.eval.transfer_tasks = {"arith5": {"task": "toy_arith", "seed": 5, "limit": 4}}
  summary = runner.run(typed(c), str(tmp_path / "eval"))
  validate_summary(summary)
  assert [r["checkpoint"] for r in summary["checkpoints"]] == list(ckpts)
  for r in summary["checkpoints"]:
    assert set(r["test_pass_at_k"]) == {"1", "2", "4"} and r["transfer"]["arith5"]["n"] == 4
  base_eval = json.loads((tmp_path / "run" / "summary.json").read_text())["base"]
  assert summary["checkpoints"][0]["test_pass1"] == base_eval["test_pass1"]
  report = (tmp_path / "eval" / "report.md").read_text()
  assert "## Transfer evaluation" in report and "run/sft`" in report
  assert len((tmp_path / "eval" / "metrics.jsonl").read_text().splitlines()) == 2
  assert list(summary["memory"]) == ["eval/0", "eval/1"] and "## Memory per stage" in report
