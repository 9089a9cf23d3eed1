"""MATH and MATH500: prompts, gold answers, skipped records, validation slice, missing files."""

import json
import logging

import pytest

from restem_jax.tasks import math_shots, records
from restem_jax.tasks.math import math_problems
from restem_jax.tasks.registry import load_problems
from restem_jax.verify import checkers
from tests.tasks.conftest import FIXTURES, cached_load


def _write_jsonl(path, rows):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_minerva_prompt_has_four_shots_ending_in_final_answer():
  p = cached_load("math", "test")[0]
  assert p.prompt.count("Problem:\n") == 5 and p.prompt.count("\n\nSolution:") == 5
  assert p.prompt.count("Final Answer: The final answer is") == 4
  assert p.prompt.count("I hope it is correct.\n\nProblem:\n") == 4
  assert p.prompt.endswith(f"Problem:\n{p.question}\n\nSolution:")


def test_test_reference_solutions_continue_the_prompt_and_pass_the_verifier():
  for p in cached_load("math", "test"):
    assert p.reference_solution.startswith("\n")
    assert p.reference_solution.endswith(
        f"Final Answer: The final answer is ${p.answer}$. I hope it is correct.")
    verdict = checkers.check("math", p.reference_solution, dict(p.checker_payload))
    assert verdict.is_correct, (p.id, verdict)


def test_operator_box_problem_has_the_true_answer():
  by_id = {p.id: p for p in cached_load("math", "test")}
  # test/prealgebra/177 defines \boxed{N} as an operator; the answer is 6, not 12.
  assert by_id["math/test/4060"].answer == "6"


def test_levels_and_subject():
  for split in ("train", "validation", "test"):
    for p in cached_load("math", split):
      assert p.difficulty in {f"level_{i}" for i in range(1, 6)} | {"level_unknown"}
      assert p.checker_payload["subject"]
      assert p.checker_payload["answer"] == p.answer
  assert cached_load("math", "train")[0].reference_solution == ""  # train has no solutions


def test_minerva_shot_problems_are_in_no_split():
  shots = {records.normalize_text(s) for s in math_shots.SHOT_PROBLEMS}
  raw = [json.loads(l) for l in open(f"{FIXTURES}/math/train_answers.jsonl")]
  assert sum(records.normalize_text(r["problem"]) in shots for r in raw) == 4  # fixture has them
  for split in ("train", "validation", "test"):
    for p in cached_load("math", split):
      assert records.normalize_text(p.question) not in shots, p.id


def test_train_records_without_answer_are_skipped_and_counted(caplog):
  with caplog.at_level(logging.WARNING):
    train = math_problems("train", FIXTURES, 0)
    validation = math_problems("validation", FIXTURES, 0)
  # 20 fixture records - 4 few-shot problems - 2 with an empty answer.
  assert len(train) + len(validation) == 14
  skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
  assert sum(int(m.split("skipped ")[1].split()[0]) for m in skipped) == 2, skipped


def test_solution_without_boxed_answer_is_skipped(tmp_path, caplog):
  rows = [{"problem": "1+1?", "level": "Level 1", "type": "Algebra", "idx": 0,
           "solution": "It is $\\boxed{2}$."},
          {"problem": "2+2?", "level": "Level 2", "type": "Algebra", "idx": 1,
           "solution": "It is four, obviously."}]
  _write_jsonl(tmp_path / "math" / "test.jsonl", rows)
  with caplog.at_level(logging.WARNING):
    problems = load_problems("math", "test", str(tmp_path), 0)
  assert [p.answer for p in problems] == ["2"]
  assert "math/test: skipped 1 of 2 records (no gold answer: 1)" in caplog.text


def test_validation_is_a_seeded_deterministic_slice():
  ids = lambda seed: [p.id for p in cached_load("math", "validation", seed)]
  assert ids(0) == ids(0) and ids(0)
  assert any(ids(0) != ids(s) for s in (1, 2, 3))


def test_math500_variant_reads_its_own_file():
  problems = cached_load("math500", "test")
  assert problems[0].id == "math500/test/precalculus/807"
  assert problems[0].difficulty == "level_2"
  assert [p.id for p in cached_load("math500", "train")] == [
      p.id for p in cached_load("math", "train")]


@pytest.mark.parametrize("task,missing", [("math", "math/test.jsonl"),
                                          ("math500", "math/math500_test.jsonl")])
def test_missing_file_names_the_file_and_config_field(tmp_path, task, missing):
  with pytest.raises(FileNotFoundError) as err:
    math_problems("test", str(tmp_path), 0, task=task)
  assert missing in str(err.value) and "task.data_dir" in str(err.value)


MATH_TRAIN = f"{FIXTURES}/math_train"  # math/train.jsonl only (worked solutions)


def test_train_jsonl_gives_worked_reference_solutions(caplog):
  with caplog.at_level(logging.WARNING):
    train = math_problems("train", MATH_TRAIN, 0)
    validation = math_problems("validation", MATH_TRAIN, 0)
  # 12 fixture records - 2 few-shot problems - 1 with an empty \boxed{}.
  assert len(train) + len(validation) == 9 and validation
  assert "skipped 1 of" in caplog.text
  for p in train + validation:
    assert p.id.startswith("math/train/") and p.reference_solution.startswith("\n")
    assert p.reference_solution.endswith(
        f"Final Answer: The final answer is ${p.answer}$. I hope it is correct.")
    verdict = checkers.check("math", p.reference_solution, dict(p.checker_payload))
    assert verdict.is_correct, (p.id, verdict)
  by_id = {p.id: p for p in train + validation}
  assert by_id["math/train/algebra/24014"].answer == "2"  # brace-less "\boxed 2"


def test_train_answers_file_is_the_fallback(tmp_path):
  # The fixtures dir holds only train_answers.jsonl: problems, no reference solutions.
  assert math_problems("train", FIXTURES, 0) and all(
      p.reference_solution == "" for p in math_problems("train", FIXTURES, 0))
