"""Finding the final answer in a model's solution text.

Formats recognised (the one that occurs *last* in the text wins):
- ``\\boxed{...}``, ``\\boxed X`` and ``\\fbox{...}``, brace-matched;
- GSM8K's ``#### N``;
- Minerva's ``Final Answer: The final answer is X. I hope it is correct.``;
- ``The answer is X`` and ``X is our/the answer``, where X must look like
  math (``$...$``, a number, a LaTeX command, a bracket or a choice letter),
  so "The final answer is positive, because..." is not an answer.

Taking the last marker handles MATH test/prealgebra/177, which uses
``\\boxed{N}`` as an operator (last box: ``\\boxed{12}=6``) and ends with
"$6$ is our answer".
"""

import re

_BOX_COMMANDS = ('\\boxed', '\\fbox')
_GSM8K = re.compile(r'####\s*([^\n]+)')
_MINERVA = re.compile(
    r'Final Answer:\s*The final answer is\s*(.+?)\s*(?:\.\s*I hope it is correct|$)',
    re.IGNORECASE | re.MULTILINE)
_THE_ANSWER_IS = re.compile(
    r'[Tt]he (?:final )?answer is[:\s]*(.+?)\s*(?:\.(?:\s|$)|$)', re.MULTILINE)
_IS_THE_ANSWER = re.compile(
    r'(\$[^$\n]{1,200}\$|-?\d[\d,./]*)\s+is (?:our|the) (?:final )?answer')
_MATH_LIKE = re.compile(r'^(\$|\\|-?\d|-?\.\d|[(\[{]|[A-Ea-e]\)?$|\([A-Ea-e]\))')


def _match_brace(text: str, open_pos: int) -> int | None:
  """Index of the ``}`` matching the ``{`` at ``open_pos``, or None."""
  depth = 0
  i = open_pos
  while i < len(text):
    ch = text[i]
    if ch == '\\':
      i += 2  # skip escaped characters such as \{ and \}
      continue
    if ch == '{':
      depth += 1
    elif ch == '}':
      depth -= 1
      if depth == 0:
        return i
    i += 1
  return None


def _box_candidates(text: str) -> list[tuple[int, str]]:
  """All ``(end_position, content)`` of boxes in ``text``."""
  found = []
  for command in _BOX_COMMANDS:
    for m in re.finditer(re.escape(command) + r'(?![A-Za-z])', text):
      start = m.end()
      rest = text[start:]
      stripped = rest.lstrip()
      if stripped.startswith('{'):
        open_pos = start + (len(rest) - len(stripped))
        close = _match_brace(text, open_pos)
        if close is None:
          continue
        content, end = text[open_pos + 1:close], close + 1
      else:  # "\boxed 5" style: up to whitespace or a closing $.
        arg = re.match(r'\s+([^\s$]+)', rest)
        if not arg:
          continue
        content, end = arg.group(1), start + arg.end()
      found.append((end, content.strip()))
  return found


def _strip_math_delimiters(ans: str) -> str:
  ans = ans.strip()
  for left, right in (('$$', '$$'), ('$', '$'), ('\\(', '\\)'), ('\\[', '\\]')):
    if ans.startswith(left) and ans.endswith(right) and len(ans) > len(left) + len(right) - 1:
      ans = ans[len(left):len(ans) - len(right)].strip()
  return ans


def extract_answer(text: str) -> str | None:
  """The final answer written in ``text``, or None if there is none.

  Args:
    text: a full solution (model sample or reference solution).

  Returns:
    The raw answer string (not normalised), e.g. ``\\frac{1}{2}`` or ``18``.
  """
  if not isinstance(text, str):
    raise TypeError(f'extract_answer expects str, got {type(text).__name__}')
  candidates = _box_candidates(text)
  for pattern in (_GSM8K, _MINERVA, _THE_ANSWER_IS, _IS_THE_ANSWER):
    for m in pattern.finditer(text):
      if pattern is _GSM8K or _MATH_LIKE.match(m.group(1).strip()):
        candidates.append((m.end(), m.group(1)))
  candidates = [(pos, _strip_math_delimiters(ans)) for pos, ans in candidates]
  candidates = [(pos, ans) for pos, ans in candidates if ans]
  if not candidates:
    return None
  # Boxes nested in a later marker ("The answer is $\boxed{5}$") end first;
  # prefer the innermost box when its end is within the marker's match.
  _, answer = max(candidates, key=lambda c: c[0])
  inner = _box_candidates(answer)
  return inner[-1][1] if inner else answer
