"""``python -m restem_jax.verify``: verify a JSONL file of samples.

    python -m restem_jax.verify --task=math --input=IN.jsonl --output=OUT.jsonl \\
        [--workers=N] [--timeout=S] [--cpu-time=S] [--require-bubblewrap]
        [--allow-unsandboxed]

Each input line is a problem record in its data set's native schema plus a
``sample`` field (the model output). Each output line is the input record
plus ``verdict``, ``reward`` and ``detail``, in input order. A malformed line
gets an ``error`` verdict (detail ``malformed_input:...``) instead of
stopping the run. Progress goes to stderr, then a one-line JSON summary.

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

from restem_jax.verify import checkers
from restem_jax.verify.sandbox import SandboxUnavailable, isolation_mode
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.verdict import ERROR, STATUSES, Verdict


def parse_args(argv):
  parser = argparse.ArgumentParser(prog='python -m restem_jax.verify',
                                   description=__doc__.split('\n\n')[0],
                                   epilog=__doc__.split('\n\n')[-1])
  parser.add_argument('--task', required=True, choices=checkers.TASK_NAMES)
  parser.add_argument('--input', required=True, help='JSONL of records + "sample"')
  parser.add_argument('--output', required=True, help='JSONL to write')
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


def parse_line(line: str):
  """(record, sample) or (raw_record_or_None, error detail)."""
  try:
    record = json.loads(line)
  except ValueError as e:
    return None, f'malformed_input:invalid_json:{e}'
  if not isinstance(record, dict):
    return None, f'malformed_input:not_an_object:{type(record).__name__}'
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
      record, error = parse_line(line)
      if error:
        entries.append((record if record is not None else {'raw': line[:10000]},
                        Verdict(ERROR, error)))
      else:
        entries.append((record, pool.submit(args.task, record['sample'], record)))
    verdicts = []
    with open(args.output, 'w', encoding='utf-8') as out:
      for record, result in entries:
        verdict = result if isinstance(result, Verdict) else result.result()
        verdicts.append(verdict)
        out.write(json.dumps({**record, 'verdict': verdict.status,
                              'reward': verdict.reward,
                              'detail': verdict.detail}) + '\n')
        if bar is not None:
          bar.update(1)
  if bar is not None:
    bar.close()
  elapsed = time.monotonic() - start
  counts = collections.Counter(v.status for v in verdicts)
  summary = {'task': args.task, 'samples': len(lines),
             **{status: counts[status] for status in STATUSES},
             'malformed': sum(isinstance(r, Verdict) for _, r in entries),
             'mean_reward': round(sum(v.reward for v in verdicts)
                                  / max(1, len(verdicts)), 4),
             'seconds': round(elapsed, 3),
             'samples_per_s': round(len(lines) / max(elapsed, 1e-9), 2)}
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
  try:
    summary = run(args)
  except SandboxUnavailable as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  print('summary ' + json.dumps(summary), file=sys.stderr)
  return 0
