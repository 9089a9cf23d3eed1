"""Every registered task loads from the fixtures dir through seqio, with sound ids and splits."""

import itertools

import pytest

from restem_jax.tasks import completion
from restem_jax.tasks.registry import available_tasks, load_problems
from restem_jax.verify.checkers import TASK_NAMES
from tests.tasks.conftest import FIXTURES, TASK_SPLITS, cached_load

CASES = [(t, s) for t, splits in TASK_SPLITS.items() for s in splits]
# Where each task's prompt must end: the model continues right after it.
PROMPT_ENDS = {"math": "\n\nSolution:", "gsm8k": "\nA:", "mbpp": "\n[BEGIN]\n",
               "apps": "\nANSWER:\n", "toy_code": '"""\ndef f(', "humaneval": '"""\n'}


def test_every_task_is_registered():
  for task in TASK_SPLITS:
    assert task in available_tasks()
  assert "apps" in available_tasks()


@pytest.mark.parametrize("task,split", CASES)
def test_loads_nonempty_with_unique_stable_ids(task, split):
  first = cached_load(task, split)
  again = load_problems(task, split, FIXTURES, 0)  # a second, uncached load
  assert first, f"{task}/{split} is empty"
  ids = [p.id for p in first]
  assert len(set(ids)) == len(ids), f"duplicate ids in {task}/{split}"
  assert ids == [p.id for p in again]
  assert list(first) == again, "two loads with the same seed differ"
  assert all(p.split == split for p in first)


@pytest.mark.parametrize("task,split", CASES)
def test_prompts_end_where_the_model_continues(task, split):
  for p in cached_load(task, split):
    assert p.verifier_task in TASK_NAMES
    assert p.prompt.endswith(PROMPT_ENDS[p.verifier_task]), (p.id, p.prompt[-40:])
    assert p.question and p.question in p.prompt
    assert p.difficulty
    assert p.verifier_task in completion.STOP_SEQUENCES


@pytest.mark.parametrize("task", [t for t, s in TASK_SPLITS.items() if len(s) == 3])
def test_splits_are_disjoint(task):
  splits = {s: cached_load(task, s) for s in ("train", "validation", "test")}
  for a, b in itertools.combinations(splits, 2):
    ids_a, ids_b = {p.id for p in splits[a]}, {p.id for p in splits[b]}
    assert not ids_a & ids_b, f"{task}: {a} and {b} share ids"
    if task != "toy_code":  # toy_code problems are disjoint in (family, params): see its test
      qa, qb = {p.question for p in splits[a]}, {p.question for p in splits[b]}
      assert not qa & qb, f"{task}: {a} and {b} share questions"


@pytest.mark.parametrize("task,split", CASES)
def test_question_appears_once_so_it_is_not_a_fewshot_example(task, split):
  for p in cached_load(task, split):
    assert p.prompt.count(p.question) == 1, f"{p.id}: question also in the few-shot prefix"
