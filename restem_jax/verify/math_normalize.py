"""String normalisation of final answers, before any symbolic comparison.

In the spirit of Hendrycks' ``is_equiv`` (``_strip_string``), Minerva's
``normalize_final_answer`` and PRM800K's grader: drop presentation-only LaTeX
(``\\left``, ``\\!``, ``\\dfrac`` ...), units in ``\\text{}``, degrees, percent and
dollar signs, ``x =`` prefixes, thousands separators and trailing periods.
Deliberately *not* done: the x100 "percentage" rule and any numeric tolerance;
those belong to equivalence checking and make false positives.

``normalize_answer`` also canonicalises plain numbers (``0.5``, ``1/2``,
``\\frac{1}{2}`` all become ``1/2``) so equivalent simple answers share one key
for majority voting.
"""

import fractions
import re

_REMOVE = (
    '\\left', '\\right', '\\!', '\\,', '\\;', '\\:', '\\displaystyle',
    '\\$', '$', '\\%', '%', '^{\\circ}', '^\\circ', '^{\\circ}', '\\circ',
    '\\degree', '°', '\\mathrm{deg}', '~',
)
_RENAME = (
    ('\\dfrac', '\\frac'), ('\\tfrac', '\\frac'), ('\\leq', '\\le'),
    ('\\geq', '\\ge'), ('\\neq', '\\ne'), ('\\lbrace', '\\{'),
    ('\\rbrace', '\\}'), ('\\lvert', '|'), ('\\rvert', '|'),
    ('\\bmatrix', '\\pmatrix'), ('{bmatrix}', '{pmatrix}'),
    ('\\varnothing', '\\emptyset'), ('\\infinity', '\\infty'),
)
_WRAPPERS = ('\\text', '\\textbf', '\\textit', '\\mbox', '\\mathrm',
             '\\mathbf', '\\boldsymbol', '\\operatorname')
_UNITS = (
    'square units', 'sq units', 'square feet', 'square inches', 'square meters',
    'square centimeters', 'square cm', 'square miles', 'cubic feet',
    'cubic inches', 'cubic units', 'cubic centimeters', 'units', 'unit',
    'degrees', 'degree', 'cm', 'centimeters', 'meters', 'meter', 'mm', 'km',
    'kilometers', 'inches', 'inch', 'feet', 'foot', 'ft', 'yards', 'yard',
    'miles', 'mile', 'mph', 'hours', 'hour', 'minutes', 'minute', 'seconds',
    'second', 'days', 'day', 'weeks', 'week', 'years', 'year', 'dollars',
    'dollar', 'cents', 'cent', 'pounds', 'pound', 'ounces', 'ounce', 'grams',
    'gram', 'kg', 'liters', 'liter', 'gallons', 'gallon', 'people', 'students',
    'marbles', 'points', 'ways', 'sq', 'm', 'g', 's',
)
_UNIT_RE = re.compile(
    r'^(.*?[0-9}])\s*(?:' + '|'.join(re.escape(u) for u in _UNITS) + r')(?:\^\{?[23]\}?)?$')
_THOUSANDS = re.compile(r'^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$')
_ASSIGNMENT = re.compile(r'^[A-Za-z](?:_\{?\w+\}?)?(?:\([a-z]\))?\s*=\s*(?P<rhs>[^=]+)$')
_NUMBER = re.compile(r'^-?(\d+(\.\d*)?|\.\d+)$')
_FRACTION = re.compile(r'^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$|^(-?)(-?\d+)/(-?\d+)$')


def _unwrap(s: str, command: str) -> str:
  """Replace ``command{X}`` by ``X`` (brace matched, innermost first)."""
  while True:
    start = s.find(command + '{')
    if start < 0:
      return s
    depth, i = 0, start + len(command)
    while i < len(s):
      depth += {'{': 1, '}': -1}.get(s[i], 0)
      if depth == 0:
        break
      i += 1
    if i >= len(s):
      return s
    s = s[:start] + s[start + len(command) + 1:i] + s[i + 1:]


def _fix_fracs_and_sqrt(s: str) -> str:
  """``\\frac12`` -> ``\\frac{1}{2}``, ``\\sqrt2`` -> ``\\sqrt{2}`` (Hendrycks)."""
  s = re.sub(r'\\frac\s*(\d)\s*(\d)', r'\\frac{\1}{\2}', s)
  s = re.sub(r'\\frac\s*\{([^{}]*)\}\s*(\d)', r'\\frac{\1}{\2}', s)
  s = re.sub(r'\\frac\s*(\d)\s*\{', r'\\frac{\1}{', s)
  s = re.sub(r'\\sqrt\s*(\d+|[a-zA-Z])', r'\\sqrt{\1}', s)
  return s


def _strip_units_and_prefix(s: str) -> str:
  for _ in range(2):
    m = _UNIT_RE.match(s)
    if m:
      s = m.group(1).strip()
  m = _ASSIGNMENT.match(s)
  if m and '\\pm' not in s:
    s = m.group('rhs').strip()
  return s


def canonical_number(s: str) -> str | None:
  """Reduced ``p/q`` (or integer) for plain numeric strings, else None."""
  try:
    if _NUMBER.match(s):
      value = fractions.Fraction(s)
    else:
      m = _FRACTION.match(s)
      if not m:
        return None
      sign, num, den = (m.group(1, 2, 3) if m.group(2) is not None
                        else m.group(4, 5, 6))
      if int(den) == 0:
        return None
      value = fractions.Fraction(int(num), int(den)) * (-1 if sign else 1)
  except (ValueError, ZeroDivisionError):
    return None
  return str(value)


def normalize_answer(ans: str) -> str:
  """Canonical string for a final answer (also the majority-voting key)."""
  if not isinstance(ans, str):
    raise TypeError(f'normalize_answer expects str, got {type(ans).__name__}')
  s = ans.strip().replace('\n', ' ')
  for old, new in _RENAME:
    s = s.replace(old, new)
  for wrapper in _WRAPPERS:
    s = _unwrap(s, wrapper)
  for token in _REMOVE:
    s = s.replace(token, '')
  s = re.sub(r'(?<!\\)\\ ', ' ', s)  # "\ " is a space, "\\ " a new row
  s = re.sub(r'^\((\\begin\{matrix\}.*\\end\{matrix\})\)$', r'\1', s)
  s = s.replace('{matrix}', '{pmatrix}')
  s = s.strip()
  while s.endswith('.') and not re.search(r'\d\.$', s[-2:]) or s.endswith('\\.'):
    s = s[:-2] if s.endswith('\\.') else s[:-1]
    s = s.strip()
  s = re.sub(r'\s+', ' ', s)
  s = _strip_units_and_prefix(s)
  if _THOUSANDS.match(s.replace(' ', '')):
    s = s.replace(',', '')
  s = _fix_fracs_and_sqrt(s)
  s = s.replace(' ', '')
  s = re.sub(r'(?<![\d.])\.(\d)', r'0.\1', s)  # ".5" -> "0.5"
  s = re.sub(r'^\((\w)\)$', r'\1', s)  # multiple choice "(A)" -> "A"
  if s.endswith('.') and _NUMBER.match(s[:-1]):
    s = s[:-1]
  number = canonical_number(s)
  return number if number is not None else s
