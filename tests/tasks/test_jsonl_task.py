"""task.name='jsonl' and task.module: a task from files or a user module, no package edits.

Splits, ids, hold-out, few-shot prompts and payloads of a file task; errors naming file,
line and column for bad rows; a user module registering its own TaskSpec; a checker
override of a built-in task that leaves the built-in as it was; the built-in tasks' stop
strings and checkers unchanged by the move into TaskSpecs.
"""

import json
import os

import pytest

from restem_jax import config_files
from restem_jax.loop import task_setup
from restem_jax.tasks import completion, registry
from restem_jax.tasks.row_files import RowFileError
from tests.typed_config import typed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "examples", "shop_math")
CHECKER = os.path.join(EXAMPLE, "checker.py") + ":check"


def _config(**task):
  c = config_files.sibling(os.path.join(REPO, "configs", "x.py"), "custom_task").get_config()
  c.task.update(train_file=os.path.join(EXAMPLE, "train.jsonl"),
                test_file=os.path.join(EXAMPLE, "test.jsonl"),
                prompt_template="Question: {question}\nAnswer:", reference_field="solution",
                difficulty_field="level", stop=("\n",))
  c.task.update(**task)
  c.verifier.checker = CHECKER
  return c


def _write(path, rows):
  path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
  return str(path)


def test_example_task_splits_ids_prompts_and_payloads():
  spec = task_setup.prepare(typed(_config(fewshot_file=os.path.join(EXAMPLE, "fewshot.jsonl"))))
  assert spec.name == "jsonl" and spec.stop == ("\n",)
  train, val, test = (registry.load_problems("jsonl", s, "", 0)
                      for s in ("train", "validation", "test"))
  assert (len(train), len(val), len(test)) == (216, 24, 60)  # 10% of 240 held out
  assert not {p.id for p in train} & {p.id for p in val}
  assert test[0].id == "test/1" and all(p.id.startswith("train/") for p in val)
  with open(os.path.join(EXAMPLE, "fewshot.jsonl")) as f:
    shot = json.loads(f.readline())
  p = test[0]
  assert p.prompt.startswith(f"Question: {shot['question']}\nAnswer:{shot['solution']}\n\n")
  assert p.prompt.endswith(f"Question: {p.question[len('Question: '):-len(chr(10) + 'Answer:')]}"
                           "\nAnswer:")
  assert p.prompt.count("Question:") == 3 and p.difficulty in {"add", "sub", "mul"}
  assert p.reference_solution.startswith(" ") and "The answer is" in p.reference_solution
  assert set(p.checker_payload) == {"question", "answer", "solution", "level"}
  assert completion.checker_key(p).startswith("checker_spec:")


def test_validation_file_and_id_field(tmp_path):
  rows = [{"q": f"{i}+1", "a": i + 1, "uid": f"u{i}"} for i in range(5)]
  c = _config(train_file=_write(tmp_path / "tr.jsonl", rows),
              validation_file=_write(tmp_path / "va.jsonl", rows[:2]),
              test_file=_write(tmp_path / "te.jsonl", rows[2:]), prompt_template="{q}=",
              reference_field="", difficulty_field="", id_field="uid", answer_field="a")
  c.verifier.checker = "numeric"
  task_setup.prepare(typed(c))
  assert [p.id for p in registry.load_problems("jsonl", "validation")] == ["u0", "u1"]
  train = registry.load_problems("jsonl", "train")
  assert len(train) == 5 and train[0].prompt == "0+1=" and train[0].difficulty == "all"


def test_missing_column_names_file_line_and_column(tmp_path):
  bad = _write(tmp_path / "train.jsonl", [{"question": "a", "answer": 1, "solution": "1",
                                           "level": "x"},
                                          {"question": "b", "answer": 2, "level": "y"}])
  with pytest.raises(RowFileError, match=r"task.train_file: .*train.jsonl, line 2: the row has "
                     r"no column 'solution' \(named by task.reference_field\)"):
    task_setup.prepare(typed(_config(train_file=bad)))
  with pytest.raises(RowFileError, match=r"line 1: the row has no column 'text' "
                     r"\(named by task.prompt_template\)"):
    task_setup.prepare(typed(_config(prompt_template="{text}")))


def test_builtin_checker_needs_the_answer_column(tmp_path):
  rows = _write(tmp_path / "t.jsonl", [{"question": "q", "solution": "s", "level": "l"}])
  c = _config(train_file=rows, test_file=rows)
  c.verifier.checker = "numeric"
  with pytest.raises(RowFileError, match=r"no column 'answer' \(named by the checker"):
    task_setup.prepare(typed(c))


def test_unreadable_files_and_lines(tmp_path):
  with pytest.raises(RowFileError, match=r"task.test_file=.*nope.jsonl.*not found"):
    task_setup.prepare(typed(_config(test_file=str(tmp_path / "nope.jsonl"))))
  broken = _write(tmp_path / "b.jsonl", ['{"question": "a"}', "{oops"])
  with pytest.raises(RowFileError, match=r"b.jsonl, line 2: not valid JSON"):
    task_setup.prepare(typed(_config(test_file=broken)))
  listed = _write(tmp_path / "l.jsonl", ["[1, 2]"])
  with pytest.raises(RowFileError, match=r"line 1: expected a JSON object, got list"):
    task_setup.prepare(typed(_config(test_file=listed)))
  with pytest.raises(ValueError, match=r"not a str.format template"):
    task_setup.prepare(typed(_config(prompt_template="Q: {question")))
  c = _config()
  c.verifier.checker = ""
  with pytest.raises(ValueError, match=r"task.name='jsonl' needs verifier.checker"):
    task_setup.prepare(typed(c))


def test_parquet_rows(tmp_path):
  pq = pytest.importorskip("pyarrow.parquet")
  pa = pytest.importorskip("pyarrow")
  with open(os.path.join(EXAMPLE, "test.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  path = str(tmp_path / "test.parquet")
  pq.write_table(pa.Table.from_pylist(rows), path)
  task_setup.prepare(typed(_config(test_file=path)))
  test = registry.load_problems("jsonl", "test")
  assert len(test) == 60 and test[0].checker_payload == rows[0]


def test_user_module_registers_its_own_task(tmp_path):
  module = tmp_path / "my_tasks.py"
  module.write_text(
      "from restem_jax.tasks import registry\n"
      "from restem_jax.tasks.problem import Problem\n"
      "from restem_jax.tasks.spec import TaskSpec\n"
      "def problems(split, data_dir, seed):\n"
      "  return [Problem(id=f'{split}/{i}', prompt=f'{i}*2=', question=f'{i}*2', answer=str(2*i),\n"
      "                  reference_solution=str(2*i), difficulty='x', split=split,\n"
      "                  verifier_task='doubling', checker_payload={'answer': str(2*i)})\n"
      "          for i in range(4)]\n"
      "registry.register(TaskSpec('doubling', problems, checker='toy_arith', stop=(';',)))\n")
  c = _config(module=str(module))
  c.task.name = "doubling"
  c.verifier.checker = ""
  spec = task_setup.prepare(typed(c))
  assert spec.name == "doubling" and "doubling" in registry.available_tasks()
  p = registry.load_problems("doubling", "test")[3]
  assert (p.prompt, completion.checker_key(p)) == ("3*2=", "toy_arith")
  assert completion.truncate_at_stop("doubling", "6; and more") == "6"
  c.task.module = str(tmp_path / "missing.py")
  with pytest.raises(FileNotFoundError, match=r"task.module=.*missing.py"):
    task_setup.prepare(typed(c))
  (tmp_path / "bad_tasks.py").write_text("raise RuntimeError('boom')\n")
  c.task.module = str(tmp_path / "bad_tasks.py")
  with pytest.raises(ImportError, match=r"task.module=.*bad_tasks.py.*RuntimeError: boom"):
    task_setup.prepare(typed(c))


def test_checker_override_of_a_builtin_leaves_the_builtin_alone():
  c = _config()
  c.task.update(name="toy_arith")
  c.verifier.checker = "numeric"
  spec = task_setup.prepare(typed(c))
  assert spec.name == "toy_arith_custom_checker"
  p = registry.load_problems(spec.name, "test")[0]
  assert p.verifier_task == spec.name and completion.checker_key(p).startswith("checker_spec:")
  assert registry.get("toy_arith").checker_key == "toy_arith"


def test_builtin_specs_keep_their_stops_and_checkers():
  before = {"math": ("\n\nProblem:",), "gsm8k": ("\n\nQ:",), "mbpp": ("[DONE]",),
            "humaneval": ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"),
            "apps": ("\nQUESTION:",), "toy_code": ('\n"""',), "arith_fewshot": ("\n",),
            "toy_arith": ()}
  assert {t: completion.STOP_SEQUENCES[t] for t in before} == before
  for task in before:
    assert registry.get(task).checker_key == task
  assert registry.get("math500").checker_key == "math"


def test_bad_checker_spec_fails_at_task_setup_naming_file_and_function():
  c = _config()
  c.verifier.checker = os.path.join(EXAMPLE, "checker.py") + ":chek"
  with pytest.raises(ValueError, match=r"checker\.py has no function 'chek'"):
    task_setup.prepare(typed(c))
