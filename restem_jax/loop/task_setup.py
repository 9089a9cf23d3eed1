"""The run's task, ready before any model work: user module, file task, checker override.

`prepare(c)` imports `task.module` (a module name or a path/to/file.py that registers its
own `TaskSpec`s), builds and registers the `jsonl` task from `task.*` when it is
selected (reading and checking every row), and applies `verifier.checker=SPEC` to the
selected task. `with_chat_prompts` (once the base checkpoint exists) makes the chat copy
of the task for `task.chat=True`. Every error names its culprit (module, file and line,
column, checker file and function) and is raised here, before the base model is imported
or loaded (the chat template's errors: once it is imported, before sampling).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import sys

from restem_jax import run_config
from restem_jax.tasks import chat_prompt
from restem_jax.tasks import jsonl_task
from restem_jax.tasks import prompts
from restem_jax.tasks import registry
from restem_jax.tasks import row_files
from restem_jax.tasks.spec import TaskSpec, verdict_pred


def import_user_module(module: str) -> None:
  """Imports `task.module`: 'package.module' or 'path/to/file.py'."""
  try:
    if module.endswith(".py"):
      path = os.path.abspath(module)
      if not os.path.isfile(path):
        raise FileNotFoundError(f"task.module={module!r}: file {path} does not exist.")
      name = "restem_user_tasks_" + os.path.splitext(os.path.basename(path))[0]
      spec = importlib.util.spec_from_file_location(name, path)
      mod = importlib.util.module_from_spec(spec)
      sys.modules[name] = mod
      spec.loader.exec_module(mod)
    else:
      importlib.import_module(module)
  except FileNotFoundError:
    raise
  except Exception as e:
    raise ImportError(f"task.module={module!r}: importing it failed: "
                      f"{type(e).__name__}: {e}") from e


def _prompt(c, cfg: jsonl_task.JsonlTaskConfig):
  if not cfg.prompt_template:
    raise ValueError("task.name='jsonl' needs task.prompt_template, e.g. "
                     "'Question: {question}\\nAnswer:'.")
  prompts.template_columns(cfg.prompt_template)  # a malformed template fails here
  shots = ()
  if cfg.fewshot_file:
    rows = row_files.read_rows(cfg.fewshot_file, "task.fewshot_file")
    shots = prompts.load_shots(rows, cfg.fewshot_file, cfg.prompt_template,
                               cfg.reference_field)
  return prompts.TextPrompt(cfg.prompt_template, shots)


def _jsonl_spec(c, checker) -> TaskSpec:
  if checker is None:
    raise ValueError("task.name='jsonl' needs verifier.checker: a built-in (math, numeric, "
                     "exact, regex, choice, python_tests) or 'path/to/file.py:fn'.")
  cfg = run_config.jsonl_task_config(c)
  columns = (cfg.answer_field,) if checker.is_builtin else ()
  task = jsonl_task.load(cfg, _prompt(c, cfg), columns)
  return TaskSpec(jsonl_task.NAME, task.problems, checker=checker.key(),
                  stop=tuple(c.task.stop), pred=verdict_pred, chat_turns=task.chat_turns)


CUSTOM_CHECKER_SUFFIX = "_custom_checker"


def _with_checker(spec: TaskSpec, checker) -> TaskSpec:
  """A copy of `spec` graded by `checker`, registered beside it (the built-in stays as it
  was); its problems name the copy as their verifier task."""
  name = spec.name + CUSTOM_CHECKER_SUFFIX

  def problems(split, data_dir, seed, inner=spec.problems):
    return [dataclasses.replace(p, verifier_task=name) for p in inner(split, data_dir, seed)]
  return dataclasses.replace(spec, name=name, problems=problems, checker=checker.key(),
                             pred=verdict_pred)


def prepare(c) -> TaskSpec:
  """Registers what `c.task` and `c.verifier.checker` select; returns the run's spec (load
  its problems with `registry.load_problems(spec.name, ...)`)."""
  if c.task.module:
    import_user_module(c.task.module)
  import restem_jax.tasks  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  checker = run_config.checker_spec(c)
  if c.task.name == jsonl_task.NAME:
    spec = registry.register(_jsonl_spec(c, checker))
  else:
    spec = registry.get(c.task.name)
    if checker is not None:
      spec = registry.register(_with_checker(spec, checker))
  if c.task.chat:
    chat_prompt.require_chat_mode(spec)  # the template itself is read once the base exists
  return spec


def with_chat_prompts(c, spec: TaskSpec) -> TaskSpec:
  """task.chat=True: the chat copy of `spec`, rendered with the base checkpoint's template."""
  if not c.task.chat:
    return spec
  from restem_jax.checkpoint import chat_template_file  # pylint: disable=g-import-not-at-top
  if not c.base.checkpoint:
    raise ValueError("task.chat=True needs a base checkpoint with a chat template "
                     "(config.base.checkpoint or config.base.import_from).")
  template = chat_template_file.load_chat_template(c.base.checkpoint)
  return chat_prompt.chat_spec(spec, template, run_config.chat_prompt_config(c))
