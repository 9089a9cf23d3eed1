"""Comparing a program's stdout with the expected output, LiveCodeBench style.

Both texts are stripped, split into lines and each line stripped; the line
counts must be equal and every line must match exactly or, token by token,
as equal ``Decimal`` numbers (so ``1.50`` matches ``1.5``). Unlike APPS's
testing_util there is no set-based or "any whitespace" fallback cascade,
which accepts wrong outputs.
"""

import decimal


def _as_text(expected) -> str:
  if isinstance(expected, list):
    return '\n'.join(str(x) for x in expected)
  return str(expected)


def _line_matches(got: str, want: str) -> bool:
  if got == want:
    return True
  got_tokens, want_tokens = got.split(), want.split()
  if len(got_tokens) != len(want_tokens) or not want_tokens:
    return got_tokens == want_tokens
  try:
    return all(decimal.Decimal(g) == decimal.Decimal(w)
               for g, w in zip(got_tokens, want_tokens))
  except (decimal.InvalidOperation, ValueError):
    return False


def outputs_match(got: str, expected) -> bool:
  """True if stdout ``got`` equals ``expected`` (str or list of lines)."""
  got_lines = [line.strip() for line in got.strip().split('\n')]
  want_lines = [line.strip() for line in _as_text(expected).strip().split('\n')]
  if len(got_lines) != len(want_lines):
    return False
  return all(_line_matches(g, w) for g, w in zip(got_lines, want_lines))


def call_results_match(got, expected) -> bool:
  """APPS call-based equality: ``got == expected`` or ``got == expected[0]``.

  APPS stores each expected return value wrapped in a one-element list;
  tuples were already turned into lists by the JSON round trip in the child.
  """
  if got == expected:
    return True
  return isinstance(expected, list) and len(expected) == 1 and got == expected[0]
