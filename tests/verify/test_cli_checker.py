"""``python -m restem_jax.verify --checker=SPEC``: any checker, ``pred`` out, ``--check-gold``."""

import json
import subprocess
import sys

from conftest import REPO

EXAMPLE = REPO / 'examples' / 'shop_math'
CHECKER = f'{EXAMPLE / "checker.py"}:check'


def _cli(*args):
  return subprocess.run([sys.executable, '-m', 'restem_jax.verify', '--workers=1',
                         '--timeout=10', '--no-progress', *args],
                        capture_output=True, text=True, cwd=REPO, timeout=120)


def test_user_checker_output_has_verdict_reward_detail_pred(tmp_path):
  rows = [{'question': 'q', 'answer': 12, 'sample': '5 + 7 = 12'},
          {'question': 'q', 'answer': 12, 'sample': 'I do not know'}]
  src, dst = tmp_path / 'in.jsonl', tmp_path / 'out.jsonl'
  src.write_text(''.join(json.dumps(r) + '\n' for r in rows))
  proc = _cli(f'--checker={CHECKER}', f'--input={src}', f'--output={dst}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  out = [json.loads(line) for line in dst.read_text().splitlines()]
  assert [(o['verdict'], o['reward'], o['pred']) for o in out] == [
      ('correct', 1.0, '12'), ('incorrect', 0.0, None)]
  assert out[1]['checker_fields'] == {'reason': 'no number'}  # extra fields are kept


def test_check_gold_passes_on_the_example_and_lists_failures(tmp_path):
  ok = _cli(f'--checker={CHECKER}', f'--input={EXAMPLE / "train.jsonl"}',
            '--check-gold=solution')
  assert ok.returncode == 0, ok.stderr[-2000:]
  assert '0 of 240 rows fail' in ok.stderr
  rows = [{'answer': 3, 'solution': '1 + 2 = 3'}, {'answer': 4, 'solution': '1 + 2 = 3'},
          {'answer': 5}]
  src = tmp_path / 'rows.jsonl'
  src.write_text(''.join(json.dumps(r) + '\n' for r in rows))
  bad = _cli('--checker=numeric', f'--input={src}', '--check-gold=solution')
  assert bad.returncode == 1
  assert 'gold fails: line 2: incorrect' in bad.stderr
  assert 'gold fails: line 3: error (malformed_input:missing_gold_field:solution)' in bad.stderr
  assert '2 of 3 rows fail' in bad.stderr


def test_bad_checker_spec_fails_naming_the_function(tmp_path):
  src = tmp_path / 'in.jsonl'
  src.write_text('{"sample": "1"}\n')
  proc = _cli(f'--checker={EXAMPLE / "checker.py"}:chek', f'--input={src}',
              f'--output={tmp_path / "o.jsonl"}')
  assert proc.returncode == 2 and "checker.py has no function 'chek'" in proc.stderr
