"""Built-in checkers for any task: numeric, exact, regex, choice, math, python_tests.

Run in-process through the checker table (`checkers.check` with a checker-spec key),
so the answer column, tolerance and missing-column handling are those the pool uses.
"""

import pytest

from restem_jax.verify import checkers
from restem_jax.verify.checker_spec import CheckerSpec


def check(spec, sample, row, **kw):
  return checkers.check(CheckerSpec(spec, **kw).key(), sample, row)


@pytest.mark.parametrize('sample,gold,status,pred', [
    ('3 + 4 = 7. The answer is 7.', 7, 'correct', '7'),
    ('Total: 1,250 dollars', '1250', 'correct', '1250'),
    ('it is 0.3333334', '0.3333333', 'correct', '0.333333'),
    ('first 7 then 8', 7, 'incorrect', '8'),
    ('no digits here', 7, 'error', None),
])
def test_numeric_uses_the_last_number(sample, gold, status, pred):
  v = check('numeric', sample, {'answer': gold})
  assert (v.status, v.pred) == (status, pred)


def test_numeric_tolerance_and_answer_field():
  assert check('numeric', 'x = 10.4', {'y': 10}, answer_field='y', tolerance=0.05).is_correct
  assert not check('numeric', 'x = 10.6', {'y': 10}, answer_field='y', tolerance=0.05).is_correct
  missing = check('numeric', '1', {'answer': 1}, answer_field='gold')
  assert (missing.status, missing.detail) == ('error', 'bad_problem:missing_field:gold')


def test_exact_regex_choice():
  assert check('exact', '  Paris \n', {'answer': 'Paris'}).is_correct
  assert not check('exact', 'Paris.', {'answer': 'Paris'}).is_correct
  v = check('regex', 'the code is AB-123 ok', {'answer': r'[A-Z]{2}-\d{3}'})
  assert v.is_correct and v.pred == 'AB-123'
  assert check('regex', 'x', {'answer': '('}).status == 'error'
  assert check('choice', 'Thinking... the answer is (C).', {'answer': 'C'}).pred == 'C'
  assert check('choice', 'Answer: b', {'answer': '(B)'}).is_correct
  assert check('choice', 'I pick D', {'answer': 'A'}).status == 'incorrect'
  assert check('choice', 'no idea', {'answer': 'A'}).status == 'error'


def test_math_answer_equivalence():
  v = check('math', r'so $\boxed{\frac{1}{2}}$', {'answer': '0.5'})
  assert v.is_correct and v.pred == r'\frac{1}{2}'


def test_python_tests_asserts_and_stdio():
  asserts = ['assert add(1, 2) == 3', 'assert add(-1, 1) == 0']
  good = 'Here:\n```python\ndef add(a, b):\n  return a + b\n```\n'
  assert check('python_tests', good, {'tests': asserts}, answer_field='tests').is_correct
  bad = 'def add(a, b):\n  return a - b\n'
  assert check('python_tests', bad, {'tests': asserts}, answer_field='tests').status == 'incorrect'
  cases = {'inputs': ['2 3\n', '5 5\n'], 'outputs': ['5\n', '10\n']}
  prog = 'a, b = map(int, input().split())\nprint(a + b)\n'
  assert check('python_tests', prog, {'io': cases}, answer_field='io').is_correct
  assert not check('python_tests', 'print(0)', {'io': cases}, answer_field='io').is_correct
