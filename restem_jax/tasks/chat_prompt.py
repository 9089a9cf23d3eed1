"""`task.chat=True`: a task's prompts as conversations rendered with the model's chat template.

A task with a chat mode gives its `TaskSpec.chat_turns(problem)`: the few-shot examples as
earlier user/assistant turns, then the problem as the last user turn (`shot_turns`).
`chat_spec` registers a copy of the task (named `<task>_chat`) whose prompts are
`template.render([system?] + turns, add_generation_prompt=True, **task.chat_template_kwargs)`
(the checkpoint's template, `restem_jax.vocab.chat_template`), whose reference solutions are
the assistant's text, and whose completions end at the template's end-of-turn text instead
of the few-shot stop strings; a trained sample (a kept completion, a reference) ends with
that end-of-turn (`end_of_sample`), the assistant turn as the template writes it. Its prompts are encoded with `vocab.encode` (no BOS added:
`prompt_adds_bos=False`), so their ids equal transformers' `apply_chat_template(...,
tokenize=True)`; the template writes BOS itself where the model has one. Checker and maj@k
stay the task's own; the checked text is the task's `chat_checked_text` where it has one
(mbpp, humaneval: the code of the answer's fenced ```python block), else its `checked_text`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from restem_jax.tasks import registry
from restem_jax.tasks.spec import TaskSpec

CHAT_SUFFIX = "_chat"


@dataclasses.dataclass(frozen=True)
class ChatPromptConfig:
  system_prompt: str = ""          # '' = no system turn
  template_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # to the template


def shot_turns(shots: Sequence[tuple[str, str]], question: str) -> list[dict]:
  """[(user, assistant) per shot..., user question] as chat messages."""
  turns = []
  for user, assistant in shots:
    turns += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
  return turns + [{"role": "user", "content": question}]


def render(template, turns: list[dict], cfg: ChatPromptConfig) -> str:
  system = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
  return template.render(system + list(turns), add_generation_prompt=True,
                         **dict(cfg.template_kwargs))


def require_chat_mode(spec: TaskSpec) -> None:
  if spec.chat_turns is None:
    raise ValueError(f"task {spec.name!r} has no chat prompt mode (task.chat=True); tasks with "
                     "one: " + ", ".join(t for t in registry.available_tasks()
                                         if registry.get(t).chat_turns is not None))


def chat_spec(spec: TaskSpec, template, cfg: ChatPromptConfig) -> TaskSpec:
  """Registers and returns the chat copy of `spec` (prompts rendered with `template`)."""
  require_chat_mode(spec)
  name = spec.name + CHAT_SUFFIX

  def problems(split, data_dir, seed, inner=spec.problems, turns=spec.chat_turns):
    return [dataclasses.replace(p, prompt=render(template, turns(p), cfg),
                                reference_solution=p.reference_solution.strip(),
                                verifier_task=name)
            for p in inner(split, data_dir, seed)]
  return registry.register(dataclasses.replace(spec, name=name, problems=problems,
                                               checker=spec.checker_key,
                                               checked_text=(spec.chat_checked_text
                                                             or spec.checked_text),
                                               stop=(template.end_of_turn,),
                                               prompt_adds_bos=False,
                                               end_of_sample=template.end_of_turn))
