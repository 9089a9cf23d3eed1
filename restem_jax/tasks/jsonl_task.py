"""`task.name='jsonl'`: a task read from the user's files, no code.

Rows (JSONL or Parquet, `row_files`) hold any columns. The prompt is
`task.prompt_template.format(**row)`, after the optional few-shot rows of
`task.fewshot_file`, each rendered by the same template and followed by its reference
and a blank line (`prompts.TextPrompt`); with task.chat=True the shots are earlier turns
and the rendered row the user turn, or the row's own `messages` (`chat_turns`). Splits:
`train_file`, `test_file`, and `validation_file` or else a seeded hold-out of train
(`holdout`, as for GSM8K). Ids are `id_field`'s value, or `FILE_ROLE/LINE`
(`train/17`). `load` reads and checks every file once: a row missing a column the
prompt or checker names is a `RowFileError` naming file, line and column.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from restem_jax.tasks import chat_prompt
from restem_jax.tasks import holdout
from restem_jax.tasks import records
from restem_jax.tasks import row_files
from restem_jax.tasks.problem import Problem
from restem_jax.tasks.row_files import RowFileError

NAME = "jsonl"
NO_DIFFICULTY = "all"


@dataclasses.dataclass(frozen=True)
class JsonlTaskConfig:
  train_file: str                # JSONL/Parquet rows of the train split
  test_file: str                 # rows of the test split
  validation_file: str = ""      # '' = a seeded 10% hold-out of train
  id_field: str = ""             # column of a row's id; '' = FILE_ROLE/LINE
  difficulty_field: str = ""     # column of a row's level (per-level tables); '' = one level
  reference_field: str = ""      # column of a human solution (SFT, few-shot, gold check)
  answer_field: str = "answer"   # column of the gold answer (built-in checkers)
  prompt_template: str = ""      # str.format over the row, e.g. 'Q: {question}\nA:'
  fewshot_file: str = ""         # rows shown before each prompt (need reference_field)

  def __post_init__(self):
    if not self.train_file or not self.test_file:
      raise ValueError("task.name='jsonl' needs task.train_file and task.test_file "
                       f"(got {self.train_file!r}, {self.test_file!r}).")
    if self.fewshot_file and not self.reference_field:
      raise ValueError("task.fewshot_file needs task.reference_field: each few-shot row is "
                       "shown with its reference solution.")


def _missing(row: dict, columns: Sequence[str]) -> str | None:
  return next((c for c in columns if c not in row), None)


def check_rows(rows, path: str, field: str, columns: Sequence[str], why: dict) -> None:
  """RowFileError naming file, line and column for the first row missing a column."""
  for line, row in rows:
    col = _missing(row, columns)
    if col is not None:
      raise RowFileError(f"{field}: {path}, line {line}: the row has no column {col!r} "
                         f"(named by {why[col]}); its columns: {sorted(row)}.")


@dataclasses.dataclass(frozen=True)
class JsonlTask:
  """The rows of every split, checked, and how to turn one into a `Problem`."""
  cfg: JsonlTaskConfig
  prompt: object                  # prompts.TextPrompt | prompts.ChatPrompt
  rows: dict                      # file role -> [(line, row)]
  task_name: str = NAME

  def _problem(self, role: str, split: str, line: int, row: dict) -> Problem:
    cfg = self.cfg
    ident = str(row[cfg.id_field]) if cfg.id_field else f"{role}/{line}"
    return Problem(
        id=ident, prompt=self.prompt.render(row), question=self.prompt.question(row),
        answer=str(row.get(cfg.answer_field, "")),
        reference_solution=str(row[cfg.reference_field]) if cfg.reference_field else "",
        difficulty=str(row[cfg.difficulty_field]) if cfg.difficulty_field else NO_DIFFICULTY,
        split=split, verifier_task=self.task_name, checker_payload=row)

  def chat_turns(self, problem: Problem) -> list[dict]:
    """task.chat=True: the row's own `messages`, else few-shot turns and the rendered row."""
    row = problem.checker_payload
    if isinstance(row.get("messages"), list):
      return list(row["messages"])
    shots = [(self.prompt.question(s.row), s.reference.strip()) for s in self.prompt.shots]
    return chat_prompt.shot_turns(shots, self.prompt.question(row))

  def problems(self, split: str, data_dir: str = "", seed: int = 0) -> list[Problem]:
    del data_dir  # the files are named by task.*_file
    records.check_split(self.task_name, split)
    if split == "test":
      role, rows = "test", self.rows["test"]
    elif "validation" in self.rows:
      role, rows = split, self.rows[split]
    else:
      role, rows = "train", holdout.pick_split(self.rows["train"], split, seed)
    return records.unique_ids(self._problem(role, split, line, row) for line, row in rows)


def load(cfg: JsonlTaskConfig, prompt, checker_columns: Sequence[str] = (),
         task_name: str = NAME) -> JsonlTask:
  """Reads and checks every file of the task (errors name file, line and column)."""
  why = {c: "task.prompt_template" for c in prompt.columns()}
  why.update({c: "the checker (task.answer_field)" for c in checker_columns})
  for field in ("id_field", "difficulty_field"):
    if getattr(cfg, field):
      why[getattr(cfg, field)] = f"task.{field}"
  files = {"train": ("task.train_file", cfg.train_file),
           "test": ("task.test_file", cfg.test_file)}
  if cfg.validation_file:
    files["validation"] = ("task.validation_file", cfg.validation_file)
  rows = {}
  for role, (field, path) in files.items():
    rows[role] = row_files.read_rows(path, field)
    needed = dict(why)
    if cfg.reference_field and role != "test":
      needed[cfg.reference_field] = "task.reference_field"
    check_rows(rows[role], path, field, list(needed), needed)
    prompt.check_rows(rows[role], path, field)
  return JsonlTask(cfg, prompt, rows, task_name)
