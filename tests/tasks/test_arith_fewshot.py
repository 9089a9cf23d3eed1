"""`arith_fewshot`: splits, gold answers, references, stop sequence and checker."""

import collections
import re

import pytest

from restem_jax.tasks import arith_fewshot, registry
from restem_jax.tasks.completion import checker_sample, stop_sequences_for, truncate_at_stop
from restem_jax.verify import checkers


def _split(split, seed=0):
  return list(registry.load_problems(arith_fewshot.TASK, split, seed=seed))


def _expr(p):
  return p.question


def test_splits_are_disjoint_exclude_the_shots_and_keep_every_level():
  splits = {s: _split(s) for s in ("train", "validation", "test")}
  assert {s: len(v) for s, v in splits.items()} == arith_fewshot.SPLIT_SIZES
  exprs = {s: {_expr(p) for p in v} for s, v in splits.items()}
  assert all(len(exprs[s]) == len(splits[s]) for s in splits)  # no duplicates
  assert not exprs["train"] & exprs["test"] and not exprs["train"] & exprs["validation"]
  assert not exprs["validation"] & exprs["test"]
  shots = {q for q, _ in arith_fewshot.SHOTS}
  assert not shots & set().union(*exprs.values())
  for s, v in splits.items():
    levels = collections.Counter(p.difficulty for p in v)
    assert sorted(levels) == [f"level_{i}" for i in range(1, 6)], (s, levels)


def test_gold_is_the_value_of_the_expression_and_the_reference_is_correct():
  for p in _split("test"):
    assert int(p.answer) == eval(p.question.replace(" ", ""))  # noqa: S307 (digits, + - *)
    assert p.prompt.endswith(f"Question: What is {p.question}?\nAnswer:")
    assert p.prompt.startswith(arith_fewshot.PREFIX)
    verdict = checkers.check(p.verifier_task, checker_sample(p, p.reference_solution),
                             dict(p.checker_payload))
    assert verdict.is_correct, (p.question, p.reference_solution)


def test_levels_have_the_documented_shapes():
  shapes = {"level_1": r"\d\d \+ \d", "level_2": r"\d\d \+ \d\d", "level_3": r"\d\d - \d",
            "level_4": r"\d\d \+ \d - \d", "level_5": r"\d \* \d \+ \d\d"}
  for p in _split("train"):
    assert re.fullmatch(shapes[p.difficulty], p.question), (p.difficulty, p.question)


def test_seeds_give_different_problems_and_are_deterministic():
  assert [_expr(p) for p in _split("test", 0)] == [_expr(p) for p in _split("test", 0)]
  assert {_expr(p) for p in _split("test", 0)} != {_expr(p) for p in _split("test", 1)}


def test_a_sample_ends_at_its_line_and_a_wrong_answer_is_incorrect():
  p = next(iter(_split("test")))
  assert stop_sequences_for([p]) == ("\n",)
  tail = "\n\nQuestion: What is 1 + 1?\nAnswer: The answer is 2."
  sample = p.reference_solution + tail
  assert truncate_at_stop(p.verifier_task, sample) == p.reference_solution
  check = lambda text: checkers.check(p.verifier_task, checker_sample(p, text),  # noqa: E731
                                      dict(p.checker_payload))
  assert check(sample).is_correct
  wrong = p.reference_solution.replace(f"The answer is {p.answer}.",
                                       f"The answer is {int(p.answer) + 1}.")
  assert not check(wrong).is_correct
  assert not check(" " + p.question + " = ?").is_correct  # no final answer


def test_unknown_split_is_refused():
  with pytest.raises(ValueError, match="unknown split"):
    list(arith_fewshot.generate("dev"))
