"""Benchmark: VerifierPool math checking vs math-verify called serially.

Pairs come from MATH500: each gold answer against (1) the reference solution,
(2) a re-spelled boxed answer (``\\dfrac``, ``\\left(``, spaces) and (3) the
gold answer of another problem (almost always wrong). Reports samples/s of
both and the rate at which their verdicts agree.

    python benchmarks/verify_math.py [--quick] [--workers=2]

Last line: ``RESULT verify_math ratio=<ours/peer samples/s> ...``.
"""

import argparse
import json
import os
import pathlib
import re
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load_pairs(limit):
  data = pathlib.Path(os.environ.get('RESTEM_SHARED_DATA', REPO.parent / 'shared' / 'data'))
  path = data / 'math' / 'math500_test.jsonl'
  if not path.exists():
    path = REPO / 'tests' / 'fixtures' / 'verify' / 'math500_head.jsonl'
  records = [json.loads(l) for l in path.open()][:limit]
  pairs = []
  for i, r in enumerate(records):
    gold = r['answer']
    respelled = re.sub(r'\\frac', r'\\dfrac', gold).replace('(', r'\left(').replace(')', r'\right)')
    other = records[(i + 7) % len(records)]['answer']
    pairs += [(gold, r['solution']), (gold, f'So $\\boxed{{ {respelled} }}$.'),
              (gold, f'The answer is $\\boxed{{{other}}}$.')]
  return pairs


def run_ours(pairs, workers):
  from restem_jax.verify.pool import VerifierPool
  with VerifierPool(workers, timeout_s=10.0) as pool:
    pool.map([('math', r'\boxed{1}', {'answer': '1'})] * workers)  # start-up excluded
    start = time.perf_counter()
    verdicts = pool.map([('math', sample, {'answer': gold}) for gold, sample in pairs])
    elapsed = time.perf_counter() - start
  return [v.is_correct for v in verdicts], elapsed


def run_math_verify(pairs):
  from math_verify import parse, verify
  out = []
  start = time.perf_counter()
  for gold, sample in pairs:
    try:
      out.append(bool(verify(parse('$' + gold + '$'), parse(sample))))
    except Exception:
      out.append(False)
  return out, time.perf_counter() - start


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--quick', action='store_true', help='100 problems, < 60 s')
  parser.add_argument('--workers', type=int, default=2)
  args = parser.parse_args()
  pairs = load_pairs(100 if args.quick else 500)
  ours, t_ours = run_ours(pairs, args.workers)
  peer, t_peer = run_math_verify(pairs)
  agree = sum(a == b for a, b in zip(ours, peer)) / len(pairs)
  disagreements = [(g, s[-60:], a, b) for (g, s), a, b in zip(pairs, ours, peer) if a != b]
  for d in disagreements[:10]:
    print('disagree gold=%r sample_tail=%r ours=%s math_verify=%s' % d)
  sps_ours, sps_peer = len(pairs) / t_ours, len(pairs) / t_peer
  print(f'pairs={len(pairs)} ours: {sps_ours:.1f} samples/s ({args.workers} workers, '
        f'{sum(ours)} correct)  math-verify serial: {sps_peer:.1f} samples/s '
        f'({sum(peer)} correct)  agreement={agree:.4f}')
  print(f'RESULT verify_math ratio={sps_ours / sps_peer:.3f} ours_sps={sps_ours:.1f} '
        f'peer_sps={sps_peer:.1f} ours_ms_per_sample={1000 / sps_ours:.2f} '
        f'peer_ms_per_sample={1000 / sps_peer:.2f} agreement={agree:.4f} pairs={len(pairs)} '
        f'workers={args.workers}')


if __name__ == '__main__':
  main()
