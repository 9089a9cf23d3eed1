"""Code checkers: formats, anti-reward-hacking rules, output comparison."""

import json

import pytest

from restem_jax.verify import code_runner, output_compare
from restem_jax.verify.sandbox import run_python
from restem_jax.verify.sandbox_config import SandboxConfig

from conftest import FIXTURES, read_jsonl

CONFIG = SandboxConfig(timeout_s=3.0)
HUMANEVAL = {r['task_id']: r for r in read_jsonl(FIXTURES / 'humaneval_subset.jsonl')}
MBPP = {r['task_id']: r for r in read_jsonl(FIXTURES / 'mbpp_subset.jsonl')}

# Returns a float subclass that equals anything, and rebinds abs so that
# abs(x - y) < 1e-6 always holds: passes a naive concatenation harness.
ABS_HACK = ('    class W(float):\n        def __eq__(self, other):\n'
            '            return True\n    return W(0)\n\nabs = lambda x: 0\n')


def test_humaneval_canonical_passes():
  for r in HUMANEVAL.values():
    v = code_runner.check_humaneval(r['prompt'] + r['canonical_solution'], r, CONFIG)
    assert v.status == 'correct', (r['task_id'], v)


def test_abs_rebinding_fails_humaneval_2_but_fools_a_naive_harness():
  r = HUMANEVAL['HumanEval/2']
  program = r['prompt'] + ABS_HACK
  naive = program + '\n' + r['test'] + f'\ncheck({r["entry_point"]})\nprint("OK")'
  assert run_python({'n.py': naive}, 'n.py', CONFIG).stdout == b'OK\n'
  verdict = code_runner.check_humaneval(program, r, CONFIG)
  assert verdict.status == 'incorrect', verdict


@pytest.mark.parametrize('tail', ['import os\nos._exit(0)\n', 'import sys\nsys.exit(0)\n',
                                  'raise SystemExit(0)\n'])
def test_exit_before_tests_fails(tail):
  r = HUMANEVAL['HumanEval/2']
  verdict = code_runner.check_humaneval(r['prompt'] + '    return 0.0\n' + tail, r, CONFIG)
  assert verdict.status == 'incorrect', verdict


def test_os_exit_inside_mbpp_function_fails():
  r = MBPP[2]
  code = 'import os\ndef similar_elements(a, b):\n    os._exit(0)\n'
  assert code_runner.check_mbpp(code, r, CONFIG).status == 'incorrect'


def test_mbpp_reference_and_setup_code():
  for r in MBPP.values():
    v = code_runner.check_mbpp(r['code'], r, CONFIG)
    assert v.status == 'correct', (r['task_id'], v)
  assert any(r['test_setup_code'].strip() for r in MBPP.values())


def test_mbpp_wrong_solution_names_the_failing_test():
  r = MBPP[3]
  v = code_runner.check_mbpp('def is_not_prime(n):\n    return n == 10\n', r, CONFIG)
  assert v.status == 'incorrect' and v.detail.startswith('wrong_answer:test=')


def test_apps_stdio_and_raise_with_empty_expected_output():
  io = {'inputs': ['1 2\n', '5 7\n'], 'outputs': ['3\n', '12\n']}
  good = 'a, b = map(int, input().split())\nprint(a + b)'
  assert code_runner.check_apps(good, {'input_output': json.dumps(io)}, CONFIG).is_correct
  bad = code_runner.check_apps('print(3)', {'input_output': io}, CONFIG)
  assert bad.detail == 'wrong_answer:test=1'
  raising = {'input_output': {'inputs': [''], 'outputs': ['']}}
  v = code_runner.check_apps('raise ValueError("boom")', raising, CONFIG)
  assert v.status == 'incorrect' and 'ValueError' in v.detail


def test_apps_call_based_compared_in_parent():
  problem = {'input_output': {'fn_name': 'pair', 'inputs': [[1, 2], [3, 4]],
                              'outputs': [[[1, 2]], [[3, 4]]]}}
  assert code_runner.check_apps('def pair(a, b):\n    return (a, b)', problem, CONFIG).is_correct
  cls = 'class Solution:\n    def pair(self, a, b):\n        return [a, b]'
  assert code_runner.check_apps(cls, problem, CONFIG).is_correct
  wrong = code_runner.check_apps('def pair(a, b):\n    return (b, a)', problem, CONFIG)
  assert wrong.detail == 'wrong_answer:test=0'
  # printing "True"-looking output cannot pass: results travel as JSON.
  hack = 'def pair(a, b):\n    print("[1, 2]")\n    return None'
  assert code_runner.check_apps(hack, problem, CONFIG).status == 'incorrect'


def test_apps_fixture_wrong_program_fails():
  for r in read_jsonl(FIXTURES / 'apps_test_head.jsonl'):
    v = code_runner.check_apps('print(0)', r, CONFIG)
    assert v.status == 'incorrect', v


def test_bad_problem_records_are_errors_not_crashes():
  assert code_runner.check_apps('print(1)', {}, CONFIG).detail == 'bad_problem:input_output'
  assert code_runner.check_humaneval('x', {'test': 'x'}, CONFIG).status == 'error'
  assert code_runner.check_mbpp('x', {'test_list': []}, CONFIG).status == 'error'


@pytest.mark.parametrize('got,want,same', [
    ('1 2\n3\n', '1 2\n3', True), ('  1.50 \n', '1.5\n', True),
    ('1\n2\n', ['1', '2'], True), ('1 2 3', '1 2', False), ('2\n1', '1\n2', False),
    ('1\n2\n3', '1\n2', False), ('', '', True), ('YES', 'yes', False),
    ('3 2 1', '1 2 3', False),
])
def test_output_compare_livecodebench_style(got, want, same):
  assert output_compare.outputs_match(got, want) is same
