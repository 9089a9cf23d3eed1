"""``python -m restem_jax.verify``: verify a JSONL file of samples.

    python -m restem_jax.verify --task=math --input=IN.jsonl --output=OUT.jsonl \\
        [--workers=N] [--timeout=S] [--cpu-time=S] [--require-bubblewrap]
        [--allow-unsandboxed]
    python -m restem_jax.verify --checker=SPEC --input=IN.jsonl --output=OUT.jsonl
    python -m restem_jax.verify --checker=SPEC --input=ROWS.jsonl --check-gold=FIELD

Each input line is a problem record (a data set's native schema for ``--task``; your
task's rows for ``--checker``) plus a ``sample`` field (the model output). ``--checker``
is a built-in (math, numeric, exact, regex, choice, python_tests; gold in
``--answer-field``) or user code ``path/to/file.py:fn`` / ``package.module:fn``
(``restem_jax.verify.checker_spec``). Each output line is the input record plus
``verdict``, ``reward``, ``detail`` and ``pred``, in input order. A malformed line
gets an ``error`` verdict (detail ``malformed_input:...``) instead of stopping the
run. ``--check-gold=FIELD`` verifies each row's FIELD (its human reference) as the
sample, lists the rows whose gold fails and exits 1 if any does: the first thing to
run on a new task. Progress goes to stderr, then a one-line JSON summary.

Code tasks run each program inside bubblewrap; without it, as root, as an
unprivileged uid in private namespaces; without it and not root they are
refused (install bubblewrap, or pass --allow-unsandboxed). See docs/verify.md.
"""

import argparse
import collections
import json
import os
import sys
import time

from restem_jax.verify import checker_spec
from restem_jax.verify import checkers
from restem_jax.verify.sandbox import SandboxUnavailable, isolation_mode
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.verdict import ERROR, STATUSES, Verdict


def parse_args(argv):
  parser = argparse.ArgumentParser(prog='python -m restem_jax.verify',
                                   description=__doc__.split('\n\n')[0],
                                   epilog=__doc__.split('\n\n')[-1])
  which = parser.add_mutually_exclusive_group(required=True)
  which.add_argument('--task', choices=checkers.TASK_NAMES)
  which.add_argument('--checker', help='built-in checker or path/to/file.py:fn')
  parser.add_argument('--answer-field', default='answer',
                      help='--checker built-ins: the column holding the gold answer')
  parser.add_argument('--keep-threshold', type=float, default=1.0,
                      help='--checker: a score at least this is correct')
  parser.add_argument('--tolerance', type=float, default=1e-6, help='numeric checker')
  parser.add_argument('--check-gold', metavar='FIELD',
                      help='verify each row\'s FIELD as its sample; list failures, exit 1')
  parser.add_argument('--input', required=True, help='JSONL of records + "sample"')
  parser.add_argument('--output', help='JSONL to write (optional with --check-gold)')
  parser.add_argument('--workers', type=int, default=max(1, os.cpu_count() or 1))
  parser.add_argument('--timeout', type=float, default=60.0,
                      help='per-sample wall cap in seconds over all its test runs (a '
                      'safety net: code tests are CPU-limited, see --cpu-time)')
  parser.add_argument('--cpu-time', type=float, default=4.0,
                      help='CPU seconds per code test (RLIMIT_CPU)')
  parser.add_argument('--require-bubblewrap', action='store_true',
                      help='refuse to run code samples without bubblewrap')
  parser.add_argument('--allow-unsandboxed', action='store_true',
                      help='without bubblewrap and not root, run code samples anyway '
                      'with rlimits only as your own uid (default: refuse; as root the '
                      'fallback is always an unprivileged uid, never root)')
  parser.add_argument('--no-progress', action='store_true')
  return parser.parse_args(argv)


def parse_line(line: str, sample_field: str = 'sample'):
  """(record, None) or (raw_record_or_None, error detail)."""
  try:
    record = json.loads(line)
  except ValueError as e:
    return None, f'malformed_input:invalid_json:{e}'
  if not isinstance(record, dict):
    return None, f'malformed_input:not_an_object:{type(record).__name__}'
  if sample_field != 'sample':  # --check-gold: the row's gold is the sample
    if sample_field not in record:
      return record, f'malformed_input:missing_gold_field:{sample_field}'
    gold = record[sample_field]
    record = {**record, 'sample': gold if isinstance(gold, str) else json.dumps(gold)}
  if not isinstance(record.get('sample'), str):
    return record, 'malformed_input:missing_or_non_string_sample'
  return record, None


def _progress(total: int, enabled: bool):
  if not enabled:
    return None
  try:
    import tqdm
  except ImportError:
    return None
  return tqdm.tqdm(total=total, file=sys.stderr, unit='sample')


def run(args) -> dict:
  """Verify ``args.input`` into ``args.output``; returns the summary."""
  from restem_jax.verify.pool import VerifierPool
  with open(args.input, encoding='utf-8') as f:
    lines = [line for line in f.read().split('\n') if line.strip()]
  sandbox = SandboxConfig(cpu_time_s=args.cpu_time,
                          require_bubblewrap=args.require_bubblewrap,
                          allow_unsandboxed=args.allow_unsandboxed)
  if args.task in checkers.CODE_TASKS:
    isolation_mode(sandbox)  # SandboxUnavailable before any worker starts
  start = time.monotonic()
  bar = _progress(len(lines), not args.no_progress)
  with VerifierPool(args.workers, args.timeout, sandbox=sandbox) as pool:
    entries = []
    for line in lines:
      record, error = parse_line(line, args.check_gold or 'sample')
      if error:
        entries.append((record if record is not None else {'raw': line[:10000]},
                        Verdict(ERROR, error)))
      else:
        entries.append((record, pool.submit(args.job_key, record['sample'], record)))
    verdicts = []
    out = open(args.output, 'w', encoding='utf-8') if args.output else None
    for record, result in entries:
      verdict = result if isinstance(result, Verdict) else result.result()
      verdicts.append(verdict)
      if out is not None:
        out.write(json.dumps({**record, 'verdict': verdict.status, 'reward': verdict.reward,
                              'detail': verdict.detail, 'pred': verdict.pred,
                              **({'checker_fields': verdict.extra} if verdict.extra else {})})
                  + '\n')
      if bar is not None:
        bar.update(1)
    if out is not None:
      out.close()
  if bar is not None:
    bar.close()
  elapsed = time.monotonic() - start
  counts = collections.Counter(v.status for v in verdicts)
  summary = {'task': args.task or args.checker, 'samples': len(lines),
             **{status: counts[status] for status in STATUSES},
             'malformed': sum(isinstance(r, Verdict) for _, r in entries),
             'mean_reward': round(sum(v.reward for v in verdicts)
                                  / max(1, len(verdicts)), 4),
             'seconds': round(elapsed, 3),
             'samples_per_s': round(len(lines) / max(elapsed, 1e-9), 2),
             'first_errors': [v.detail for v in verdicts if v.status == ERROR][:3]}
  if args.check_gold:
    summary['gold_failures'] = [
        {'line': i + 1, 'verdict': v.status, 'detail': v.detail[:300]}
        for i, v in enumerate(verdicts) if not v.is_correct]
  return summary


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  if args.workers < 1 or args.timeout <= 0 or args.cpu_time <= 0:
    print(f'--workers must be >= 1, --timeout > 0 and --cpu-time > 0 (got '
          f'{args.workers}, {args.timeout}, {args.cpu_time})', file=sys.stderr)
    return 2
  if not os.path.exists(args.input):
    print(f'--input file not found: {args.input}', file=sys.stderr)
    return 2
  if not args.output and not args.check_gold:
    print('--output is required (unless --check-gold)', file=sys.stderr)
    return 2
  try:
    args.job_key = args.task or checker_spec.validate(checker_spec.CheckerSpec(
        args.checker, args.answer_field, args.keep_threshold, args.tolerance)).key()
  except checker_spec.CheckerSpecError as e:
    print(f'--checker: {e}', file=sys.stderr)
    return 2
  try:
    summary = run(args)
  except SandboxUnavailable as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  print('summary ' + json.dumps(summary), file=sys.stderr)
  if args.check_gold:
    return _report_gold(summary['gold_failures'], args.check_gold, summary['samples'])
  return 0


def _report_gold(failed: list, field: str, total: int) -> int:
  """Lists the rows whose gold the checker rejects; 1 if any, else 0."""
  for f in failed:
    print(f"gold fails: line {f['line']}: {f['verdict']} ({f['detail']})", file=sys.stderr)
  print(f'--check-gold={field}: {len(failed)} of {total} rows fail', file=sys.stderr)
  return 1 if failed else 0
