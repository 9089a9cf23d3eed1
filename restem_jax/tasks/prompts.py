"""How a file task's row becomes the text the sampler continues.

`TextPrompt`: `template.format(**row)`, after the few-shot rows, each rendered by the
same template, followed by its reference solution and a blank line (chat prompts reuse
its pieces as turns: `jsonl_task.JsonlTask.chat_turns`). It names the row columns it
needs (`columns`) and checks rows up front (`check_rows`), so a bad template fails naming
file, line and column before any model work.
"""

from __future__ import annotations

import dataclasses
import string
from typing import Any, Mapping, Sequence

from restem_jax.tasks.row_files import RowFileError

SHOT_SEPARATOR = "\n\n"


def template_columns(template: str) -> tuple[str, ...]:
  """The row columns `template` names ('{a[0]}' and '{a.b}' name 'a')."""
  try:
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
  except ValueError as e:
    raise ValueError(f"task.prompt_template {template!r} is not a str.format template: "
                     f"{e}") from e
  for name in names:
    if not name or name[0].isdigit():
      raise ValueError(f"task.prompt_template {template!r}: every field must name a column "
                       f"('{{question}}'), got '{{{name}}}'.")
  return tuple(dict.fromkeys(n.split(".")[0].split("[")[0] for n in names))


def _format(template: str, row: dict, where: str) -> str:
  try:
    return template.format(**row)
  except (KeyError, IndexError, AttributeError, ValueError) as e:
    raise RowFileError(f"{where}: task.prompt_template cannot be filled from this row: "
                       f"{type(e).__name__}: {e}") from e


@dataclasses.dataclass(frozen=True)
class Shot:
  row: Mapping[str, Any]
  reference: str


@dataclasses.dataclass(frozen=True)
class TextPrompt:
  """Few-shot text: shots (template + reference) then the row's template, continued."""
  template: str
  shots: Sequence[Shot] = ()

  def columns(self) -> tuple[str, ...]:
    return template_columns(self.template)

  def question(self, row: dict) -> str:
    return self.template.format(**row)

  def render(self, row: dict) -> str:
    prefix = "".join(self.template.format(**s.row) + s.reference + SHOT_SEPARATOR
                     for s in self.shots)
    return prefix + self.question(row)

  def check_rows(self, rows, path: str, field: str) -> None:
    for line, row in rows:
      _format(self.template, row, f"{field}: {path}, line {line}")


def load_shots(rows, path: str, template: str, reference_field: str) -> tuple[Shot, ...]:
  """The few-shot rows of task.fewshot_file, checked like task rows."""
  needed = list(template_columns(template)) + [reference_field]
  for line, row in rows:
    missing = next((c for c in needed if c not in row), None)
    if missing is not None:
      raise RowFileError(f"task.fewshot_file: {path}, line {line}: the row has no column "
                         f"{missing!r}; its columns: {sorted(row)}.")
    _format(template, row, f"task.fewshot_file: {path}, line {line}")
  return tuple(Shot(row, str(row[reference_field])) for _, row in rows)
