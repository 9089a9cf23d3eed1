"""Test harness that runs INSIDE the sandbox, next to the candidate program.

Copied into the sandbox as ``harness.py`` and run with ``python -I``; it only
uses the standard library and never imports restem_jax. It reads
``spec.json`` (deleted at once), executes ``candidate.py`` in its own
namespace, then runs the tests in a namespace holding the candidate's names
*except* those that shadow a builtin (unless the test calls that name), over a
snapshot of the builtins taken *before* the candidate ran: a candidate that
rebinds ``abs`` or patches ``builtins`` cannot change what the tests compute.

Pass protocol: the run counts as passed only if the last stdout line is the
nonce, written after the tests returned; a candidate that exits early
(``os._exit(0)``, ``sys.exit(0)``) never prints it. Failures are reported as
one ``RESTEM_RESULT {json}`` line on stderr. Modes:
- ``functional``: HumanEval ``check(candidate)`` or MBPP-style assert lines;
- ``call_based``: APPS ``fn_name``; results are serialised as JSON after the
  nonce and compared by the parent, not here.
"""

import builtins
import copy
import json
import os
import sys

_write = os.write
_exit = os._exit


def _report(kind, test=None, error=None):
  line = json.dumps({'kind': kind, 'test': test, 'error': error})
  _write(2, ('\nRESTEM_RESULT ' + line + '\n').encode())
  _exit(1)


def _error_name(e):
  return type(e).__name__


def _test_namespace(cand, clean, keep):
  """Candidate's names, minus any that shadow a builtin, over clean builtins."""
  ns = {k: v for k, v in cand.items() if k not in clean or k in keep}
  ns['__builtins__'] = dict(clean)
  ns['__name__'] = '__tests__'
  return ns


def _run_test(code, ns, index, filename):
  try:
    exec(compile(code, filename, 'exec'), ns)
  except BaseException as e:
    _report('wrong_answer' if isinstance(e, AssertionError) else 'runtime_error',
            test=index, error=_error_name(e))


def _functional(spec, cand, clean):
  entry = spec['entry_point']
  ns = _test_namespace(cand, clean, set(spec['targets']) | {entry})
  try:
    exec(compile(spec['setup'], 'setup.py', 'exec'), ns)
  except BaseException as e:
    _report('setup_error', error=_error_name(e))
  if entry:  # HumanEval: define check(), then call it on the candidate
    if entry not in cand:
      _report('missing_function', error=entry)
    try:
      exec(compile(spec['test'], 'tests.py', 'exec'), ns)
    except BaseException as e:
      _report('harness_error', error=_error_name(e))
    ns['__restem_candidate__'] = cand[entry]
    _run_test('check(__restem_candidate__)', ns, 0, 'check.py')
    return None
  for i, test in enumerate(spec['tests']):
    _run_test(test, ns, i, f'test_{i}.py')
  return None


def _jsonable(value):
  try:
    return json.loads(json.dumps(value))
  except (TypeError, ValueError, RecursionError):
    return {'__repr__': repr(value)[:1000]}


def _call_based(spec, cand):
  name = spec['fn_name']
  try:
    fn = cand[name] if name in cand else getattr(cand['Solution'](), name)
  except BaseException as e:
    _report('missing_function', error=_error_name(e))
  results = []
  for i, args in enumerate(spec['inputs']):
    try:
      out = fn(*copy.deepcopy(args))
    except BaseException as e:
      _report('runtime_error', test=i, error=_error_name(e))
    results.append(_jsonable(out))
  return results


def main():
  with open('spec.json', encoding='utf-8') as f:
    spec = json.load(f)
  os.unlink('spec.json')
  nonce = spec['nonce']
  clean = dict(builtins.__dict__)
  cand = {'__name__': spec['candidate_name'], '__builtins__': builtins}
  with open('candidate.py', encoding='utf-8') as f:
    source = f.read()
  try:
    code = compile(source, 'candidate.py', 'exec')
  except BaseException as e:
    _report('syntax_error', error=_error_name(e))
  try:
    exec(code, cand)
  except BaseException as e:
    _report('candidate_error', error=_error_name(e))
  if spec['mode'] == 'call_based':
    payload = _call_based(spec, cand)
  else:
    payload = _functional(spec, cand, clean)
  try:
    sys.stdout.flush()
  except BaseException:
    pass
  _write(1, ('\n' + nonce + '\n' + json.dumps(payload) + '\n').encode())
  _exit(0)


if __name__ == '__main__':
  main()
