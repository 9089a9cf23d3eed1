"""task.*_limit draws a seeded, stratified subsample, not the head of a sorted file (#10 item 8)."""

import collections
import types

import pytest

from restem_jax.loop import run_setup
from restem_jax.tasks import holdout, subsample
from restem_jax.tasks.problem import Problem

SUBJECTS = ("Algebra", "Counting", "Geometry", "Prealgebra")


def _math_like(split="train", n_per=30):
  """Sorted by subject like the MATH files: 4 subjects x 5 levels x n_per/5."""
  out = []
  for subject in SUBJECTS:
    for i in range(n_per):
      out.append(Problem(id=f"{split}/{subject}/{i}", prompt="p", question="q", answer="1",
                         reference_solution="", difficulty=f"level_{i % 5 + 1}", split=split,
                         verifier_task="math", checker_payload={"subject": subject}))
  return out


def test_limit_is_proportional_over_subject_and_level_and_seeded():
  problems = _math_like()
  picked = subsample.stratified(problems, 40, seed=0, split="train")
  assert len(picked) == 40 and len({p.id for p in picked}) == 40
  assert collections.Counter(p.checker_payload["subject"] for p in picked) == {
      s: 10 for s in SUBJECTS}
  assert collections.Counter(p.difficulty for p in picked) == {
      f"level_{l}": 8 for l in range(1, 6)}
  assert [p.id for p in picked] == [p.id for p in problems if p in picked]  # file order
  assert picked == subsample.stratified(problems, 40, seed=0, split="train")
  assert picked != subsample.stratified(problems, 40, seed=1, split="train")
  assert subsample.stratified(problems, 0, seed=0, split="train") == problems
  assert subsample.stratified(problems, 500, seed=0, split="train") == problems


def test_runner_limits_draw_stratified_subsamples_and_splits_stay_disjoint(monkeypatch):
  train_val = _math_like("train", 50)
  files = {"test": _math_like("test", 25)}
  files["train"], files["validation"] = holdout.split_train_validation(train_val, seed=3)
  monkeypatch.setattr(run_setup.registry, "load_problems",
                      lambda name, split, data_dir, seed: list(files[split]))
  run = types.SimpleNamespace(c=types.SimpleNamespace(task=types.SimpleNamespace(
      name="math", data_dir="", seed=3)), loop=types.SimpleNamespace(mode="restem"),
                              task=types.SimpleNamespace(name="math"))  # the run's TaskSpec
  got = {split: run_setup.Run._problems(run, split, limit)
         for split, limit in (("train", 40), ("validation", 8), ("test", 20))}
  for split, problems in got.items():
    subjects = {p.checker_payload["subject"] for p in problems}
    assert subjects == set(SUBJECTS), (split, subjects)  # the file head has one subject
  ids = {split: {p.id for p in problems} for split, problems in got.items()}
  assert not ids["train"] & ids["validation"]
  assert len(ids["train"]) == 40 and len(ids["validation"]) == 8 and len(ids["test"]) == 20


def test_negative_limit_is_an_error():
  with pytest.raises(ValueError, match="limit"):
    subsample.stratified(_math_like(), -1, seed=0, split="train")
