"""HumanEval, MBPP and APPS: splits, prompt formats, payloads and missing-file errors."""

import json

import pytest

from restem_jax.tasks import completion
from restem_jax.tasks.apps import apps_problems
from restem_jax.tasks.humaneval import humaneval_problems
from restem_jax.tasks.mbpp import mbpp_problems
from restem_jax.tasks.registry import load_problems
from tests.tasks.conftest import FIXTURES, cached_load


def test_humaneval_is_test_only_and_its_prompt_is_the_record_prompt():
  problems = cached_load("humaneval", "test")
  assert [p.id for p in problems] == [f"HumanEval/{i}" for i in range(10)]
  p = problems[0]
  assert p.prompt == p.checker_payload["prompt"]
  assert {"test", "entry_point"} <= set(p.checker_payload)
  assert completion.checker_sample(p, p.reference_solution) == p.prompt + p.reference_solution
  with pytest.raises(ValueError, match="only a test split"):
    humaneval_problems("train", FIXTURES, 0)


def test_humaneval_canonical_solution_passes_its_test_in_process():
  for p in cached_load("humaneval", "test")[:3]:
    namespace = {}
    exec(completion.checker_sample(p, p.reference_solution), namespace)  # noqa: S102
    exec(p.checker_payload["test"], namespace)  # noqa: S102
    namespace["check"](namespace[p.checker_payload["entry_point"]])


def test_mbpp_splits_follow_task_ids():
  ids = {s: [int(p.id.split("/")[1]) for p in cached_load("mbpp", s)]
         for s in ("train", "validation", "test")}
  assert ids == {"test": list(range(11, 18)), "validation": list(range(511, 517)),
                 "train": list(range(601, 608))}


def test_mbpp_prompt_is_three_shots_2_3_4_then_the_task():
  p = cached_load("mbpp", "test")[0]
  assert p.prompt.count("[BEGIN]\n") == 4 and p.prompt.count("\n[DONE]") == 3
  assert "def similar_elements(" in p.prompt  # task 2
  assert p.prompt.index("def similar_elements(") < p.prompt.index("def is_not_prime(")
  assert "\r" not in p.prompt and "\r" not in p.reference_solution
  tests = "\n".join(p.checker_payload["test_list"])
  assert p.prompt.endswith(f"{p.question} Your code should pass these tests:\n\n{tests}\n[BEGIN]\n")


def test_mbpp_reference_passes_its_asserts_in_process():
  for p in cached_load("mbpp", "train"):
    namespace = {}
    exec(p.checker_payload["test_setup_code"] + "\n" + p.reference_solution, namespace)  # noqa: S102
    for t in p.checker_payload["test_list"]:
      exec(t, namespace)  # noqa: S102


def test_apps_sample_loads_all_ten_and_has_no_train():
  problems = cached_load("apps_sample10", "test")
  assert len(problems) == 10
  assert {p.difficulty for p in problems} == {"introductory", "interview", "competition"}
  assert all("Use Standard Input format\nANSWER:\n" in p.prompt for p in problems)
  assert all(json.loads(p.checker_payload["input_output"])["inputs"] for p in problems)
  with pytest.raises(ValueError, match="only a test split"):
    apps_problems("train", FIXTURES, 0, task="apps_sample10")


def test_apps_keeps_introductory_and_marks_call_based(tmp_path):
  rows = [json.loads(l) for l in open(f"{FIXTURES}/apps/apps_test_sample10.jsonl")]
  call_based = dict(rows[3], problem_id=9, starter_code="def add(a, b):\n",
                    input_output=json.dumps({"fn_name": "add", "inputs": [[1, 2]], "outputs": [3]}),
                    solutions=json.dumps(["def add(a, b):\n    return a + b\n"]))
  no_tests = dict(rows[3], problem_id=10, input_output="")
  (tmp_path / "apps").mkdir()
  for name in ("train", "test"):
    (tmp_path / "apps" / f"{name}.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows + [call_based, no_tests]))
  test = load_problems("apps", "test", str(tmp_path), 0)
  assert [p.id for p in test] == ["apps/test/4655", "apps/test/4245", "apps/test/4559",
                                  "apps/test/9"]
  assert test[-1].prompt.endswith("def add(a, b):\n\nUse Call-Based format\nANSWER:\n")
  assert test[-1].reference_solution.startswith("def add(a, b)")
  train = load_problems("apps", "train", str(tmp_path), 0)
  validation = load_problems("apps", "validation", str(tmp_path), 0)
  assert not {p.id for p in train} & {p.id for p in validation}
  assert len(train) + len(validation) == 4


@pytest.mark.parametrize("fn,missing", [
    (humaneval_problems, "humaneval/HumanEval.jsonl.gz"), (mbpp_problems, "mbpp/mbpp.jsonl"),
    (lambda *a: apps_problems(*a, task="apps"), "apps/test.jsonl")])
def test_missing_file_names_the_file_and_config_field(tmp_path, fn, missing):
  with pytest.raises(FileNotFoundError) as err:
    fn("test", str(tmp_path), 0)
  assert missing in str(err.value) and "task.data_dir" in str(err.value)
