"""User checkers (`verifier.checker=path.py:fn`) in the pool's workers, and bad specs.

A user function returning a bool, a float or a dict grades samples; one that raises is an
`error` verdict with its traceback, one that hangs a `timeout`, and neither stops the
pool. A spec whose file, module or function is missing, or whose function has the wrong
signature, fails at validation naming the file and the function.
"""

import textwrap

import pytest

from restem_jax.verify import checker_spec
from restem_jax.verify.checker_spec import CheckerSpec, CheckerSpecError
from restem_jax.verify.pool import VerifierPool

CHECKERS = textwrap.dedent('''
    import time

    def as_bool(completion, row):
      return completion.strip() == str(row["answer"])

    def as_float(completion, row):
      return 0.5 if row["answer"] in completion else 0.0

    def as_dict(completion, row):
      pred = completion.split()[-1]
      return {"score": float(pred == row["answer"]), "pred": pred, "length": len(completion)}

    def raises(completion, row):
      return {"a": 1}[completion]

    def hangs(completion, row):
      time.sleep(60)
      return True

    def returns_text(completion, row):
      return "yes"

    def one_arg(completion):
      return True
''')


@pytest.fixture(scope='module')
def checker_file(tmp_path_factory):
  path = tmp_path_factory.mktemp('user') / 'my_checkers.py'
  path.write_text(CHECKERS)
  return str(path)


@pytest.fixture(scope='module')
def pool():
  with VerifierPool(2, timeout_s=2.0) as p:
    yield p


def _key(checker_file, fn, **kw):
  return checker_spec.validate(CheckerSpec(f'{checker_file}:{fn}', **kw)).key()


def test_bool_checker(pool, checker_file):
  key = _key(checker_file, 'as_bool')
  right, wrong = pool.map([(key, ' 42 ', {'answer': 42}), (key, '41', {'answer': 42})])
  assert (right.status, right.reward) == ('correct', 1.0)
  assert (wrong.status, wrong.reward) == ('incorrect', 0.0)


def test_float_score_against_keep_threshold(pool, checker_file):
  strict = _key(checker_file, 'as_float')  # keep_threshold 1.0: 0.5 is not kept
  lenient = _key(checker_file, 'as_float', keep_threshold=0.5)
  a, b = pool.map([(strict, 'it is 7', {'answer': '7'}), (lenient, 'it is 7', {'answer': '7'})])
  assert (a.status, a.reward) == ('incorrect', 0.5)
  assert (b.status, b.reward) == ('correct', 0.5)


def test_dict_keeps_pred_and_extra_fields(pool, checker_file):
  v = pool.submit(_key(checker_file, 'as_dict'), 'so it is 9', {'answer': '9'}).result(30)
  assert v.is_correct and v.pred == '9' and dict(v.extra) == {'length': 10}


def test_raising_checker_is_an_error_with_traceback_and_pool_goes_on(pool, checker_file):
  v = pool.submit(_key(checker_file, 'raises'), 'b', {}).result(30)
  assert v.status == 'error'
  assert v.detail.startswith('user_checker_exception:') and 'KeyError' in v.detail
  assert 'my_checkers.py' in v.detail  # the traceback names the user's file
  assert pool.submit(_key(checker_file, 'as_bool'), '1', {'answer': 1}).result(30).is_correct


def test_hanging_checker_is_a_timeout_and_pool_goes_on(pool, checker_file):
  v = pool.submit(_key(checker_file, 'hangs'), 'x', {}).result(30)
  assert v.status == 'timeout'
  assert pool.submit(_key(checker_file, 'as_bool'), '1', {'answer': 1}).result(30).is_correct


def test_wrong_return_type_is_an_error(pool, checker_file):
  v = pool.submit(_key(checker_file, 'returns_text'), 'x', {}).result(30)
  assert v.status == 'error' and 'TypeError' in v.detail


def test_bad_specs_name_the_file_and_function(checker_file, tmp_path):
  with pytest.raises(CheckerSpecError, match=r"my_checkers\.py has no function 'nope'"):
    checker_spec.validate(CheckerSpec(f'{checker_file}:nope'))
  with pytest.raises(CheckerSpecError, match=r"one_arg must accept \(completion: str, row"):
    checker_spec.validate(CheckerSpec(f'{checker_file}:one_arg'))
  with pytest.raises(CheckerSpecError, match=r"missing\.py does not exist"):
    checker_spec.validate(CheckerSpec(f'{tmp_path}/missing.py:check'))
  broken = tmp_path / 'broken.py'
  broken.write_text('import no_such_module_xyz\n')
  with pytest.raises(CheckerSpecError,
                     match=r"importing .*broken\.py failed: .*no_such_module_xyz"):
    checker_spec.validate(CheckerSpec(f'{broken}:check'))
  with pytest.raises(CheckerSpecError, match=r"module 'no_such_pkg_xyz.mod' failed"):
    checker_spec.validate(CheckerSpec('no_such_pkg_xyz.mod:check'))
  with pytest.raises(CheckerSpecError, match=r"expected a built-in name"):
    checker_spec.validate(CheckerSpec('numerc'))


def test_package_module_spec(pool):
  ne = checker_spec.validate(CheckerSpec('operator:ne')).key()  # completion != row: True
  eq = checker_spec.validate(CheckerSpec('operator:eq')).key()  # completion == row: False
  right, wrong = pool.map([(ne, 'a', {'a': 1}), (eq, 'a', {'a': 1})])
  assert right.is_correct and wrong.status == 'incorrect'
