"""APPS-style timeout rate of CORRECT programs under CPU load (issue #10 item 4).

Eight stdin/stdout problems with 5-40 tests each; every test runs a correct program
needing ~0.1 s of CPU. Two busy-loop processes run alongside while a 2-worker pool
checks them. A verdict other than `correct` here is load, not the program:

    python benchmarks/verify_load.py [--pool-timeout=60]

To measure the code before per-test CPU limits, run the same file with the old package
first on PYTHONPATH (e.g. `git archive daac2d8~1 restem_jax | tar -x -C /tmp/old`,
then `PYTHONPATH=/tmp/old python benchmarks/verify_load.py --pool-timeout=10`).
"""

import argparse
import json
import subprocess
import sys
import time

from restem_jax.verify.pool import VerifierPool

PROGRAM = 'n = int(input())\ns = 0\nfor i in range(n):\n  s += i * i % 7\nprint(s)\n'
TESTS_PER_PROBLEM = (5, 10, 20, 30, 40, 10, 20, 30)


def _problem(num_tests: int) -> dict:
  ns = [200_000 + 1000 * t for t in range(num_tests)]
  want = [f'{sum(i * i % 7 for i in range(n))}\n' for n in ns]
  return {'input_output': json.dumps({'inputs': [f'{n}\n' for n in ns], 'outputs': want})}


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument('--pool-timeout', type=float, default=60.0)
  parser.add_argument('--hogs', type=int, default=2)
  args = parser.parse_args()
  problems = [_problem(t) for t in TESTS_PER_PROBLEM]
  hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
          for _ in range(args.hogs)]
  start = time.time()
  try:
    with VerifierPool(2, args.pool_timeout) as pool:
      verdicts = pool.map([('apps', PROGRAM, p) for p in problems])
      rechecks = pool.metrics().get('timeout_rechecks', 0)
  finally:
    for hog in hogs:
      hog.kill()
      hog.wait()
  print(json.dumps({
      'timeout_rate': sum(v.status == 'timeout' for v in verdicts) / len(verdicts),
      'verdicts': [f'{v.status}:{v.detail}' for v in verdicts],
      'timeout_rechecks': rechecks, 'seconds': round(time.time() - start, 1)}))


if __name__ == '__main__':
  main()
