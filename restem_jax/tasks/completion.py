"""From a sampled completion to the text a checker gets, per verifier task.

The sampler continues `Problem.prompt`; `Problem.reference_solution` is such a
continuation too. Where the prompt is a program prefix (HumanEval: signature and
docstring; toy_code: examples docstring and `def f(`), the checked program is
prompt + completion, except that a HumanEval completion which itself defines the
prompt's entry point (a model that restates the whole function) is the program
(`restem_jax.verify.humaneval_format`, the rule the humaneval checker applies too);
elsewhere (math, gsm8k, mbpp, apps, toy_arith, arith_fewshot) the completion alone is checked. `STOP_SEQUENCES` are where a few-shot-prompted sampler should cut a
completion (the next example's header); the cut text is not part of the sample.
"""

from __future__ import annotations

from restem_jax.tasks.problem import Problem
from restem_jax.verify import humaneval_format

PROMPT_IS_PROGRAM_PREFIX = frozenset({"humaneval", "toy_code"})
STOP_SEQUENCES: dict[str, tuple[str, ...]] = {
    "math": ("\n\nProblem:",),
    "gsm8k": ("\n\nQ:",),
    "mbpp": ("[DONE]",),
    "humaneval": ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"),
    "apps": ("\nQUESTION:",),
    "toy_code": ('\n"""',),
    "arith_fewshot": ("\n",),  # one-line solutions
}


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
  if problem.verifier_task == "humaneval":
    return humaneval_format.program(problem.prompt,
                                    problem.checker_payload.get("entry_point", ""), completion)
  if problem.verifier_task in PROMPT_IS_PROGRAM_PREFIX:
    return problem.prompt + completion
  return completion
