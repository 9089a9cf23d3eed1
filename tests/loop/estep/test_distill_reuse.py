"""Distillation from a finished run's E-step chunks, with the min_correct filter (Figure 6)."""

import json

import pytest

from restem_jax import run_config
from restem_jax.loop import runner
from restem_jax.loop.estep import distill_reuse
from restem_jax.tasks import registry
from tests.loop.test_preflight import _tiny
from tests.typed_config import typed


def _write_run(root, problems, vocab, correct):
  """A finished run's W/iter_2/estep with `correct[i]` correct (<= 2 kept) for problem i."""
  kept, stats = [], {"verdicts": {"correct": sum(correct)}, "correct_per_problem": {},
                     "kept_per_problem": {}, "generated_tokens": 10}
  for p, n in zip(problems, correct):
    ids = list(vocab.encode(p.reference_solution)) + [vocab.eos_id]
    kept += [{"problem_id": p.id, "sample_index": j, "prompt_tokens": list(vocab.encode(p.prompt)),
              "sample_tokens": ids, "reward": 1.0} for j in range(min(n, 2))]
    stats["correct_per_problem"][p.id] = n
    stats["kept_per_problem"][p.id] = min(n, 2)
  for it in (1, 2):
    d = root / f"iter_{it}" / "estep"
    d.mkdir(parents=True)
    (d / "chunk_00000.json").write_text(json.dumps({"kept": kept if it == 2 else [],
                                                    "stats": stats}))
  return root / "iter_2" / "estep"


def test_reuse_reads_the_last_iteration_and_filters_by_min_correct(tmp_path):
  c = _tiny()
  train = registry.load_problems("toy_arith", "train", "", 0)[:4]
  vocab = run_config.vocabulary(typed(c))
  last = _write_run(tmp_path / "W", train, vocab, correct=[3, 1, 0, 2])
  assert distill_reuse.resolve(str(tmp_path / "W")) == str(last)
  [all_] = distill_reuse.load(str(tmp_path / "W"), train, lambda p: vocab.encode(p.prompt))
  assert len(all_["kept"]) == 2 + 1 + 0 + 2
  [solved] = distill_reuse.load(str(last), train[:3], lambda p: vocab.encode(p.prompt),
                                   min_correct=2)
  assert {k["problem_id"] for k in solved["kept"]} == {train[0].id}  # train[3] not in split
  assert solved["stats"]["kept_per_problem"] == {train[0].id: 2}
  with pytest.raises(FileNotFoundError, match="no E-step chunk files"):
    distill_reuse.resolve(str(tmp_path))
  with pytest.raises(ValueError, match="different prompt ids"):
    distill_reuse.load(str(last), train, lambda p: vocab.encode("x" + p.prompt))


def test_distill_mode_trains_the_student_on_reused_samples(tmp_path):
  c = _tiny(loop=dict(mode="distill", sft_baseline=False))
  run = runner.Run(typed(c), str(tmp_path / "probe"))
  train = run.problems["train"]
  _write_run(tmp_path / "teacher_run", train, run.vocab, correct=[4] * 6 + [1] * 6)
  c.teacher.estep_dir = str(tmp_path / "teacher_run")
  c.teacher.min_correct = 2
  summary = runner.run(typed(c), str(tmp_path / "student"))
  [it] = summary["iterations"]
  assert it["kept"] == 12 and it["updated"]  # 6 problems x 2 kept; the rest filtered out
  assert it["policy"] == str(tmp_path / "teacher_run" / "iter_2" / "estep")
