"""Checks a run makes before any expensive stage: lengths, validation split, SFT references."""

import dataclasses
import importlib.util
import os

import pytest

from restem_jax.loop import preflight, runner
from restem_jax.loop.modes import LoopConfig
from restem_jax.tasks import registry
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("toy_arith_config",
                                               os.path.join(REPO, "configs", "toy_arith.py"))
toy_arith_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy_arith_config)


def _tiny(**sections):
  c = toy_arith_config.get_config("tiny")
  for name, values in sections.items():
    c[name].update(values)
  return c


def test_default_configs_pass_the_length_check():
  from restem_jax.loop import length_check
  for preset in ("", "tiny"):
    length_check.check_config(typed(toy_arith_config.get_config(preset)))


def test_lengths_that_do_not_fit_are_refused_before_any_stage(tmp_path):
  c = _tiny(train=dict(seq_len=40))  # bucket 32 + 24 new tokens + 1 = 57 > 40
  with pytest.raises(ValueError, match=r"train.seq_len=40 < max\(sampler.prompt_buckets\)=32"):
    runner.run(typed(c), str(tmp_path))
  assert not (tmp_path / "base").exists() and not (tmp_path / "manifest.json").exists()


def _without(monkeypatch, split=None, references=False):
  real = registry.load_problems

  def load(task, s, *a, **k):
    if s == split:
      return []
    ps = real(task, s, *a, **k)
    return ps if references else [dataclasses.replace(p, reference_solution="") for p in ps]
  monkeypatch.setattr(registry, "load_problems", load)


def test_no_validation_split_is_refused_unless_allowed(tmp_path, monkeypatch):
  _without(monkeypatch, split="validation", references=True)
  with pytest.raises(ValueError, match=r"no validation problems.*loop.val_on_train=True"):
    runner.Run(typed(_tiny()), str(tmp_path / "a"))
  run = runner.Run(typed(_tiny(loop=dict(val_on_train=True))), str(tmp_path / "b"))
  assert "TRAIN reward" in run.notes["val_on_train"]
  assert not (tmp_path / "b" / "base").exists()
  note = preflight.check_validation("t", LoopConfig(val_on_train=True), [])
  assert "val_on_train" in note


def test_sft_baseline_without_references_is_skipped_before_any_stage(tmp_path, monkeypatch):
  _without(monkeypatch)
  run = runner.Run(typed(_tiny(loop=dict(sft_baseline=True))), str(tmp_path / "a"))
  assert run.runs_sft is False and "SFT baseline was skipped" in run.notes["sft_skipped"]
  with pytest.raises(ValueError, match="mode='sft'.*no train problem with a reference"):
    runner.Run(typed(_tiny(loop=dict(mode="sft"))), str(tmp_path / "b"))


def test_train_rows_that_do_not_split_over_devices_are_refused_before_any_stage(tmp_path):
  c = _tiny(train=dict(rows_per_micro=4))  # tests fake 8 devices: data-parallel size 8
  with pytest.raises(ValueError, match=r"train.rows_per_micro=4 must be a multiple of the "
                                       r"data-parallel size 8.*rows_per_micro=8"):
    runner.run(typed(c), str(tmp_path))
  assert not (tmp_path / "base").exists()
