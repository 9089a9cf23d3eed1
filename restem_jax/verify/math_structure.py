"""Splitting normalised answers into structures: tuples, intervals, sets, matrices.

Equivalence is decided element by element on these structures, so the bracket
type of an interval (``[2,5)`` vs ``(2,5)``) and the order of a tuple always
matter, and a set matches regardless of order. ``a \\pm b`` is read as the set
``{a+b, a-b}``, so it never matches a single value.
"""

import dataclasses

_OPENERS = {'(': (')', ']'), '[': (')', ']'), '\\{': ('\\}',)}


@dataclasses.dataclass(frozen=True)
class Structured:
  """A bracketed or comma-separated answer.

  Attributes:
    kind: ``'set'`` (unordered), ``'matrix'`` or the two bracket characters
      of an ordered tuple/interval, e.g. ``'()'`` or ``'[)'``.
    items: element strings (for matrices: one string per cell, row-major).
    shape: (rows, cols) for matrices, else (len(items),).
  """
  kind: str
  items: tuple[str, ...]
  shape: tuple[int, ...]


def split_top_level(s: str, sep: str = ',') -> list[str]:
  """Split on ``sep`` outside all brackets and braces."""
  parts, depth, start, i = [], 0, 0, 0
  while i < len(s):
    if s.startswith('\\{', i) or s.startswith('\\}', i):
      depth += 1 if s[i + 1] == '{' else -1
      i += 2
      continue
    ch = s[i]
    if ch in '([{':
      depth += 1
    elif ch in ')]}':
      depth -= 1
    elif depth == 0 and s.startswith(sep, i):
      parts.append(s[start:i])
      start = i + len(sep)
      i = start
      continue
    i += 1
  parts.append(s[start:])
  return parts


def _closes_at_end(s: str, open_len: int) -> bool:
  """True if the bracket opened at 0 is closed only by the last character(s)."""
  depth = 0
  i = 0
  while i < len(s):
    step = 2 if s.startswith(('\\{', '\\}'), i) else 1
    token = s[i:i + step]
    if token in ('(', '[', '{', '\\{'):
      depth += 1
    elif token in (')', ']', '}', '\\}'):
      depth -= 1
      if depth == 0:
        return i + step == len(s)
    i += step
  return False


def _matrix(s: str) -> Structured | None:
  for env in ('pmatrix', 'matrix', 'vmatrix', 'array'):
    begin, end = '\\begin{' + env + '}', '\\end{' + env + '}'
    if s.startswith(begin) and s.endswith(end):
      body = s[len(begin):len(s) - len(end)]
      if env == 'array' and body.startswith('{'):
        body = body[body.index('}') + 1:]
      rows = [r for r in body.split('\\\\') if r.strip()]
      cells = [split_top_level(r, '&') for r in rows]
      if len({len(r) for r in cells}) != 1:
        return Structured('matrix', (s,), (0, 0))  # ragged: compare as text
      return Structured('matrix', tuple(c.strip() for r in cells for c in r),
                        (len(cells), len(cells[0])))
  return None


def parse_structure(s: str) -> Structured | None:
  """The structure of a normalised answer, or None for a scalar."""
  matrix = _matrix(s)
  if matrix is not None:
    return matrix
  if '\\pm' in s or '\\mp' in s:
    plus = s.replace('\\pm', '+').replace('\\mp', '-')
    minus = s.replace('\\pm', '-').replace('\\mp', '+')
    return Structured('set', (plus.replace('=+', '='), minus), (2,))
  for opener, closers in _OPENERS.items():
    if not s.startswith(opener) or not _closes_at_end(s, len(opener)):
      continue
    closer = next((c for c in closers if s.endswith(c)), None)
    if closer is None:
      continue
    items = split_top_level(s[len(opener):len(s) - len(closer)])
    if opener == '\\{':
      return Structured('set', tuple(items), (len(items),))
    if len(items) > 1:
      return Structured(opener + closer, tuple(items), (len(items),))
    return None  # "(5)" is just parenthesised 5
  items = split_top_level(s)
  if len(items) > 1:  # bare "1,2,3": a list of solutions, order-free
    return Structured('set', tuple(items), (len(items),))
  return None
