"""toy_code: deterministic generation, disjoint splits, and canonical programs passing their tests."""

import pytest

from restem_jax.tasks import completion
from restem_jax.tasks.toy_code import toy_code_problems
from restem_jax.tasks.toy_code_families import FAMILIES
from tests.tasks.conftest import cached_load

SPLITS = ("train", "validation", "test")


def _run(program, tests):
  """Exec the program and its asserts in a fresh namespace; True iff all pass."""
  namespace = {}
  try:
    exec(program, namespace)  # noqa: S102 (our own generated code)
    for t in tests:
      exec(t, namespace)  # noqa: S102
  except AssertionError:
    return False
  return True


def _all(seed):
  return {s: cached_load("toy_code", s, seed) for s in SPLITS}


def test_same_seed_same_problems_different_seed_different():
  assert _all(0) == _all(0)
  assert toy_code_problems("test", "", 0) == list(_all(0)["test"])
  for split in SPLITS:
    assert [p.id for p in _all(0)[split]] != [p.id for p in _all(1)[split]]
  assert {p.prompt for p in _all(0)["train"]} != {p.prompt for p in _all(1)["train"]}


def test_splits_are_disjoint_in_family_and_params_and_cover_the_grid():
  ids = {s: {p.id for p in problems} for s, problems in _all(3).items()}
  assert not ids["train"] & ids["validation"]
  assert not ids["train"] & ids["test"] and not ids["validation"] & ids["test"]
  assert sum(map(len, ids.values())) == sum(len(f.grid) for f in FAMILIES)
  assert {p.difficulty for p in _all(3)["test"]} == {"level_1", "level_2", "level_3"}


@pytest.mark.parametrize("seed", [0, 1])
def test_canonical_solution_passes_its_hidden_tests(seed):
  for split in SPLITS:
    for p in _all(seed)[split]:
      program = completion.checker_sample(p, p.reference_solution)
      assert _run(program, p.checker_payload["tests"]), p.id
      assert p.checker_payload["test_setup_code"] == ""


def test_a_wrong_program_fails_the_hidden_tests():
  p = next(p for p in _all(0)["train"] if p.id.startswith("toy_code/affine/"))
  wrong = p.prompt + "x):\n    return x\n"
  assert not _run(wrong, p.checker_payload["tests"])


def test_examples_in_prompt_hold_and_hidden_inputs_are_new():
  for p in _all(0)["test"]:
    program = completion.checker_sample(p, p.reference_solution)
    shown = [line for line in p.question.splitlines()]
    assert shown and _run(program, [f"assert {line}" for line in shown]), p.id
    shown_calls = {line.split(" == ")[0] for line in shown}
    hidden_calls = {t.removeprefix("assert ").split(" == ")[0] for t in p.checker_payload["tests"]}
    assert not shown_calls & hidden_calls, p.id


def test_programs_are_short_and_prompt_ends_at_def():
  for p in _all(0)["train"]:
    assert p.prompt.startswith('"""Examples:\n') and p.prompt.endswith('"""\ndef f(')
    assert len("def f(" + p.reference_solution) < 120
    assert p.reference_solution.count("\n") == 2  # signature line + one return line
