"""`TaskSpec`: everything one task is, in one object.

A task is its problem source (`problems(split, data_dir, seed) -> Iterable[Problem]`,
which also renders prompts and carries the human reference solutions), the stop strings
where a sampler cuts a completion, the text its checker grades (`checked_text`: the
completion alone, or the prompt's program prefix plus the completion), the checker
(`checker`: the key the verifier pool resolves, a `restem_jax.verify.checkers` task name
or a `checker_spec` key), the answer maj@k votes on (`pred`; None: no maj@k) and, for
chat prompts, the conversation of a problem (`chat_turns`) and whether the prompt's ids get
the tokenizer's BOS (`prompt_adds_bos`; False for a rendered chat template) and what ends a
trained sample (`end_of_sample`: EOS, or the chat template's end-of-turn).
Register one with `restem_jax.tasks.registry.register`; `Problem.verifier_task` names
the spec that grades a problem.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from restem_jax.tasks.problem import Problem
from restem_jax.verify.verdict import Verdict

ProblemFn = Callable[[str, str, int], Iterable[Problem]]
# (problem, checked text, verdict) -> the answer maj@k votes on, or None (no vote)
PredFn = Callable[[Problem, str, Verdict], "str | None"]


def completion_alone(problem: Problem, completion: str) -> str:
  """The checker grades the (stop-cut) completion by itself."""
  del problem
  return completion


def prompt_then_completion(problem: Problem, completion: str) -> str:
  """The prompt is a program prefix: the checked program is prompt + completion."""
  return problem.prompt + completion


def math_answer(problem: Problem, text: str, verdict: Verdict) -> str | None:
  """maj@k's vote of a math task: the final answer extracted from the checked text."""
  del problem, verdict
  from restem_jax.verify.math_extract import extract_answer  # pylint: disable=g-import-not-at-top
  return extract_answer(text)


def verdict_pred(problem: Problem, text: str, verdict: Verdict) -> str | None:
  """maj@k's vote of a checker that reports its own extracted answer (`Verdict.pred`)."""
  del problem, text
  return verdict.pred


def _identity(answer: str) -> str:
  return answer


@dataclasses.dataclass(frozen=True)
class TaskSpec:
  name: str                        # the task.name that selects it
  problems: ProblemFn              # (split, data_dir, seed) -> problems, prompts rendered
  checker: str = ""                # verifier pool key; '' = `name` (a checkers.TASK_NAMES entry)
  stop: tuple[str, ...] = ()       # the sampler cuts a completion at the first of these
  checked_text: Callable[[Problem, str], str] = completion_alone  # what the checker grades
  pred: PredFn | None = None       # maj@k's answer; None: maj@k is not reported
  pred_key: Callable[[str], str] = _identity  # answers with equal keys vote together
  # task.chat=True: problem -> [shot user/assistant turns..., user turn] (tasks/chat_prompt.py);
  # None: the task has no chat prompt mode
  chat_turns: Callable[[Problem], list] | None = None
  # what the checker grades in chat mode (e.g. the code of a fenced block); None: checked_text
  chat_checked_text: Callable[[Problem, str], str] | None = None
  # True: prompt ids are vocab.encode_prompt(prompt) (BOS where the tokenizer adds one);
  # False: vocab.encode(prompt), no special ids added (chat prompts: the template writes them)
  prompt_adds_bos: bool = True
  # the text that ends a trained sample (a cut sample, an SFT reference); '' = the
  # tokenizer's EOS id. Chat prompts: the template's end-of-turn (e.g. '<|im_end|>')
  end_of_sample: str = ""

  def __post_init__(self):
    if not self.name:
      raise ValueError("TaskSpec.name must be non-empty.")
    if isinstance(self.stop, str):
      raise TypeError(f"TaskSpec {self.name!r}: stop must be a tuple of strings, not a str.")
    object.__setattr__(self, "stop", tuple(self.stop))
    if any(not isinstance(s, str) or not s for s in self.stop):
      raise ValueError(f"TaskSpec {self.name!r}: stop strings must be non-empty strings, "
                       f"got {self.stop!r}.")

  @property
  def checker_key(self) -> str:
    return self.checker or self.name
