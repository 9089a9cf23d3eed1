"""completion: stop sequences and which tasks check prompt + completion."""

from restem_jax.tasks import completion
from restem_jax.tasks.problem import Problem


def _problem(verifier_task, prompt="PROMPT|"):
  return Problem(id="x", prompt=prompt, question="q", answer="", reference_solution="",
                 difficulty="level_1", split="test", verifier_task=verifier_task,
                 checker_payload={})


def test_completion_is_cut_at_the_earliest_stop_sequence():
  assert completion.truncate_at_stop("math", "\nx=\\boxed{2}\n\nProblem:\nmore") == "\nx=\\boxed{2}"
  assert completion.truncate_at_stop("mbpp", "def f():\n  pass\n[DONE]\n\nYou are") == (
      "def f():\n  pass\n")
  assert completion.truncate_at_stop("math", "no stop here") == "no stop here"


def test_program_prefix_tasks_get_prompt_plus_completion():
  assert completion.checker_sample(_problem("toy_code"), "x):\n    return x\n") == (
      "PROMPT|x):\n    return x\n")
  assert completion.checker_sample(_problem("humaneval"), "    return 1\ndef g():") == (
      "PROMPT|    return 1")
  assert completion.checker_sample(_problem("mbpp"), "def f(): pass\n[DONE]") == "def f(): pass\n"
  assert completion.checker_sample(_problem("apps"), "print(1)") == "print(1)"


def test_humaneval_completion_or_whole_program():
  """A completion continues the prompt; a sample defining the entry point is the program."""
  prompt = "def add(a, b):\n    \"\"\"Sum.\"\"\"\n"
  problem = Problem(id="HumanEval/0", prompt=prompt, question=prompt, answer="",
                    reference_solution="", difficulty="unrated", split="test",
                    verifier_task="humaneval", checker_payload={"entry_point": "add"})
  assert completion.checker_sample(problem, "    return a + b\n") == prompt + "    return a + b\n"
  whole = "def add(a, b):\n    return a + b\n"  # (a later "\ndef " is a stop sequence)
  assert completion.checker_sample(problem, whole) == whole
  nested = "    def add(x):\n        return x\n    return add(a) + b\n"  # not top level
  assert completion.checker_sample(problem, nested) == prompt + nested
