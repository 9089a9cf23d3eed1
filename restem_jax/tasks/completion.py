"""From a sampled completion to the text a checker gets, through the problem's `TaskSpec`.

The sampler continues `Problem.prompt`; `Problem.reference_solution` is such a
continuation too. Each task's spec (`restem_jax.tasks.spec`) says where a sampler cuts a
completion (`stop`: for few-shot prompts the next example's header; the cut text is not
part of the sample) and what its checker grades (`checked_text`): where the prompt is a
program prefix (HumanEval: signature and docstring; toy_code: examples docstring and
`def f(`) the checked program is prompt + completion, except that a HumanEval completion
which itself defines the prompt's entry point is the program
(`restem_jax.verify.humaneval_format`); elsewhere the completion alone is checked.
`problem.verifier_task` names the spec; `checker_key` is what the verifier pool runs.
"""

from __future__ import annotations

import collections.abc

from restem_jax.tasks import registry
from restem_jax.tasks.problem import Problem


class _StopTable(collections.abc.Mapping):
  """task name -> stop strings of every registered task (a live view of the registry)."""

  def __getitem__(self, task: str) -> tuple[str, ...]:
    spec = registry.find(task)
    if spec is None:
      raise KeyError(task)
    return spec.stop

  def __iter__(self):
    return iter(registry.available_tasks())

  def __len__(self) -> int:
    return len(registry.available_tasks())


STOP_SEQUENCES = _StopTable()


def stop_sequences_for(problems) -> tuple[str, ...]:
  """The stop strings the sampler ends rows at for these problems (one task's set).

  Raises when the problems' verifier tasks have different stop sets: one sampler call
  applies one set to every row, and another task's stop must not cut a sample short.
  """
  sets = {STOP_SEQUENCES.get(p.verifier_task, ()) for p in problems}
  if len(sets) > 1:
    tasks = sorted({p.verifier_task for p in problems})
    raise ValueError(f"problems of tasks {tasks} have different stop sequences; sample each "
                     "task separately.")
  return sets.pop() if sets else ()


def prompt_adds_bos(problem: Problem) -> bool:
  """Whether `problem.prompt` is encoded with the tokenizer's BOS (`TaskSpec.prompt_adds_bos`):
  False for chat prompts, whose template writes its own special tokens; True for a problem
  of no registered task."""
  spec = registry.find(problem.verifier_task)
  return True if spec is None else spec.prompt_adds_bos


def prompt_ids(vocab, problem: Problem) -> list[int]:
  """The ids a model continues for `problem`: `vocab.encode_prompt(prompt)` (BOS where the
  tokenizer adds one), or for a task whose prompt writes its own special tokens (a rendered
  chat template) `vocab.encode(prompt)`: transformers' `apply_chat_template(..., tokenize=True)`."""
  encode = vocab.encode_prompt if prompt_adds_bos(problem) else vocab.encode
  return [int(i) for i in encode(problem.prompt)]


def end_of_sample_ids(vocab, verifier_task: str) -> list[int]:
  """The ids that end a trained sample of `verifier_task`: its `TaskSpec.end_of_sample` text
  (a chat template's end-of-turn, so the M-step trains the assistant turn through it), else
  the tokenizer's EOS id (also for a problem of no registered task)."""
  spec = registry.find(verifier_task)
  if spec is None or not spec.end_of_sample:
    return [int(vocab.eos_id)]
  return [int(i) for i in vocab.encode(spec.end_of_sample)]


def truncate_at_stop(verifier_task: str, completion: str) -> str:
  """`completion` up to the earliest stop sequence of its task, if any occurs."""
  cut = len(completion)
  for stop in STOP_SEQUENCES.get(verifier_task, ()):
    pos = completion.find(stop)
    if pos != -1:
      cut = min(cut, pos)
  return completion[:cut]


def checker_sample(problem: Problem, completion: str) -> str:
  """The sample the `problem.verifier_task` checker expects for this completion."""
  completion = truncate_at_stop(problem.verifier_task, completion)
  return registry.get(problem.verifier_task).checked_text(problem, completion)


def checker_key(problem: Problem) -> str:
  """The verifier pool's key for `problem`'s checker (a task name or a checker-spec key)."""
  return registry.get(problem.verifier_task).checker_key
