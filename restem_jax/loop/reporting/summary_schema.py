"""The run summary the loop writes (summary.json) and its validator.

Shape (keys of pass@k / maj@k dicts are strings, as JSON requires)::

  {"task": str, "mode": str, "seed": int, "wall_seconds": float,
   "base": {"test_pass1", "train_pass1",                       # required
            "test_pass_at_k", "test_maj_at_k", "per_difficulty"},  # optional
   "iterations": [{"iteration": int, "test_pass1", "train_pass1", "kept": int,
                   "solved_fraction",                            # required
                   "cap_saturation", "verdicts", "timeout_rate", "test_pass_at_k",
                   "test_maj_at_k",
                   "per_difficulty", "buckets", "stage_seconds", "compute",
                   "mstep_best_step", "val_reward", "mstep_kept_init",
                   "mstep_dropped_overlong", "skipped_long_prompts",
                   "first_errors"}],  # optional; first_errors: [{problem_id, verdict, detail}]
   "sft": {"test_pass1", "train_pass1", ...},                    # optional
   "best_iteration": int,
   "kept_init": int,              # M-steps that kept their init (nothing beat it)
   "skipped_long_prompts": {split: int},  # prompts longer than the largest bucket
   "notes": {id: str},            # run-level warnings the report repeats
   "memory": {stage: {...}}}      # host RSS and device bytes per stage (stage_memory.py)

Optional keys may be absent or None (e.g. an iteration that kept nothing has no
M-step, so no ``mstep_best_step``); when present they are type-checked.
``validate_summary`` raises ``ValueError`` naming the first bad key path, e.g.
``summary['iterations'][1]['kept']: missing required key``.
"""

from __future__ import annotations

from typing import Any, Callable

from restem_jax.loop import stage_memory

from restem_jax.loop.evaluation.buckets import BUCKETS as _BUCKETS
from restem_jax.verify.verdict import STATUSES


def _fail(path: str, msg: str):
  raise ValueError(f'{path}: {msg}')


def _is_number(v: Any) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(path, v):
  if not _is_number(v):
    _fail(path, f'expected a number, got {type(v).__name__} {v!r}')


def _int(path, v):
  if not isinstance(v, int) or isinstance(v, bool):
    _fail(path, f'expected an int, got {type(v).__name__} {v!r}')


def _str(path, v):
  if not isinstance(v, str):
    _fail(path, f'expected a str, got {type(v).__name__} {v!r}')


def _bool(path, v):
  if not isinstance(v, bool):
    _fail(path, f'expected a bool, got {type(v).__name__} {v!r}')


def _int_map(path, v):
  _dict(path, v)
  for k, x in v.items():
    _int(f'{path}[{k!r}]', x)


def _str_map(path, v):
  _dict(path, v)
  for k, x in v.items():
    _str(f'{path}[{k!r}]', x)


def _dict(path, v):
  if not isinstance(v, dict):
    _fail(path, f'expected a dict, got {type(v).__name__}')


def _fraction(path, v):
  _number(path, v)
  if not 0.0 <= v <= 1.0:
    _fail(path, f'expected a value in [0, 1], got {v!r}')


def _at_k(path, v):
  """{"1": 0.3, "4": 0.5, ...}: string keys of positive ints, values in [0, 1]."""
  _dict(path, v)
  for k, x in v.items():
    if not isinstance(k, str) or not k.isdigit() or int(k) < 1:
      _fail(path, f'key {k!r} is not a positive integer string')
    _fraction(f'{path}[{k!r}]', x)


def _per_difficulty(path, v):
  _dict(path, v)
  for label, row in v.items():
    _check(f'{path}[{label!r}]', row, {'n': _int, 'accuracy': _fraction}, {})


def _verdicts(path, v):
  _check(path, v, {s: _int for s in STATUSES}, {})


def _maybe_number(path, v):
  if v is not None:
    _number(path, v)


def _buckets(path, v):
  _dict(path, v)
  for name, row in v.items():
    if name not in _BUCKETS:
      _fail(path, f'unknown bucket {name!r}; expected one of {_BUCKETS}')
    _check(f'{path}[{name!r}]', row,
           {'n': _int, 'before': _maybe_number, 'after': _maybe_number,
            'delta': _maybe_number}, {})


def _stage_seconds(path, v):
  _check(path, v, {}, {'estep': _number, 'mstep': _number, 'eval': _number})


def _compute(path, v):
  _check(path, v, {'estep_tokens': _int, 'mstep_tokens': _int,
                   'estep_flops': _number, 'mstep_flops': _number}, {})


Checker = Callable[[str, Any], None]


def _check(path: str, obj: Any, required: dict[str, Checker],
           optional: dict[str, Checker]) -> None:
  _dict(path, obj)
  for key, check in required.items():
    if key not in obj:
      _fail(f'{path}[{key!r}]', 'missing required key')
    check(f'{path}[{key!r}]', obj[key])
  for key, check in optional.items():
    if obj.get(key) is not None:
      check(f'{path}[{key!r}]', obj[key])


def _transfer(path, v):
  _dict(path, v)
  for label, rec in v.items():
    _check(f'{path}[{label!r}]', rec, {'task': _str, 'n': _int, 'pass1': _fraction},
           {'pass_at_k': _at_k, 'per_difficulty': _per_difficulty,
            'skipped_long_prompts': _int})


_MODEL_EVAL = {'transfer': _transfer, 'test_pass_at_k': _at_k, 'test_maj_at_k': _at_k,
               'per_difficulty': _per_difficulty}

_BASE_REQUIRED = {'test_pass1': _fraction, 'train_pass1': _fraction}

_ITER_REQUIRED = {'iteration': _int, 'test_pass1': _fraction, 'train_pass1': _fraction,
                  'kept': _int, 'solved_fraction': _fraction}
_ITER_OPTIONAL = {**_MODEL_EVAL, 'cap_saturation': _fraction, 'verdicts': _verdicts,
                  'timeout_rate': _fraction,
                  'buckets': _buckets, 'stage_seconds': _stage_seconds,
                  'compute': _compute, 'mstep_best_step': _int,
                  'val_reward': _number, 'mstep_kept_init': _bool,
                  'mstep_dropped_overlong': _int, 'skipped_long_prompts': _int,
                  'first_errors': lambda p, v: _first_errors(p, v)}

_SFT_REQUIRED = {'test_pass1': _fraction, 'train_pass1': _fraction}


def _first_errors(path, v):
  if not isinstance(v, list):
    _fail(path, f'expected a list, got {type(v).__name__}')
  for i, e in enumerate(v):
    _check(f'{path}[{i}]', e, {'problem_id': _str, 'verdict': _str, 'detail': _str}, {})


def _iterations(path, v):
  if not isinstance(v, list):
    _fail(path, f'expected a list, got {type(v).__name__}')
  for i, it in enumerate(v):
    _check(f'{path}[{i}]', it, _ITER_REQUIRED, _ITER_OPTIONAL)


_TOP_REQUIRED = {
    'task': _str, 'mode': _str, 'seed': _int, 'wall_seconds': _number,
    'base': lambda p, v: _check(p, v, _BASE_REQUIRED, _MODEL_EVAL),
    'iterations': _iterations,
    'best_iteration': _int,
}
_TOP_OPTIONAL = {'sft': lambda p, v: _check(p, v, _SFT_REQUIRED,
                                             {**_MODEL_EVAL, 'mstep_kept_init': _bool}),
                 'kept_init': _int, 'skipped_long_prompts': _int_map, 'notes': _str_map,
                 'memory': stage_memory.check}


def _checkpoints(path, v):
  if not isinstance(v, list) or not v:
    _fail(path, 'expected a non-empty list')
  for i, row in enumerate(v):
    _check(f'{path}[{i}]', row, {'index': _int, 'checkpoint': _str, 'test_pass1': _fraction},
           _MODEL_EVAL)


_EVAL_ONLY_REQUIRED = {'task': _str, 'mode': _str, 'seed': _int, 'wall_seconds': _number,
                       'checkpoints': _checkpoints}


def validate_summary(summary: Any) -> None:
  """Check ``summary`` against the schema above.

  Raises:
    ValueError: naming the first missing or mistyped key path, e.g.
      ``summary['base']['test_pass1']: missing required key``.
  """
  if isinstance(summary, dict) and summary.get('mode') == 'eval':  # loop/eval_only.py
    _check('summary', summary, _EVAL_ONLY_REQUIRED,
           {k: _TOP_OPTIONAL[k] for k in ('skipped_long_prompts', 'notes', 'memory')})
    return
  _check('summary', summary, _TOP_REQUIRED, _TOP_OPTIONAL)
