"""Report and summary-schema tests (restem_jax.loop.reporting.report, summary_schema)."""

import copy
import os

import pytest

from restem_jax.loop.reporting.report import validate_summary, write_report


def _iteration(i, kept=40, **over):
  it = {
      'iteration': i, 'test_pass1': 0.30 + 0.05 * i, 'train_pass1': 0.40 + 0.1 * i,
      'kept': kept, 'solved_fraction': 0.5, 'cap_saturation': 0.2,
      'verdicts': {'correct': 60, 'incorrect': 30, 'timeout': 6, 'error': 4},
      'timeout_rate': 0.06,
      'test_pass_at_k': {'1': 0.3, '4': 0.5, '16': 0.7},
      'test_maj_at_k': {'1': 0.3, '4': 0.4, '16': 0.45},
      'per_difficulty': {'level_1': {'n': 10, 'accuracy': 0.6},
                         'level_2': {'n': 12, 'accuracy': 0.25}},
      'buckets': {'easy': {'n': 5, 'before': 0.8, 'after': 0.9, 'delta': 0.1},
                  'medium': {'n': 3, 'before': 0.3, 'after': 0.6, 'delta': 0.3},
                  'hard': {'n': 0, 'before': None, 'after': None, 'delta': None},
                  'very_hard': {'n': 4, 'before': 0.0, 'after': 0.25, 'delta': 0.25}},
      'stage_seconds': {'estep': 12.5, 'mstep': 30.0, 'eval': 4.0},
      'compute': {'estep_tokens': 100_000, 'mstep_tokens': 20_000,
                  'estep_flops': 2e12, 'mstep_flops': 1.2e12},
      'mstep_best_step': 50, 'val_reward': 0.4,
  }
  it.update(over)
  return it


def _summary():
  return {
      'task': 'toy_arith', 'mode': 'toy', 'seed': 0, 'wall_seconds': 123.4,
      'base': {'test_pass1': 0.25, 'train_pass1': 0.27,
               'test_pass_at_k': {'1': 0.25, '4': 0.45, '16': 0.6},
               'test_maj_at_k': {'1': 0.25, '4': 0.3, '16': 0.35},
               'per_difficulty': {'level_1': {'n': 10, 'accuracy': 0.5},
                                  'level_2': {'n': 12, 'accuracy': 0.1}}},
      'iterations': [_iteration(1), _iteration(2)],
      'sft': {'test_pass1': 0.28, 'train_pass1': 0.5},
      'best_iteration': 2,
  }


def test_validate_accepts_full_summary():
  validate_summary(_summary())


@pytest.mark.parametrize('mutate,match', [
    (lambda s: s['base'].pop('test_pass1'), r"\['base'\]\['test_pass1'\]: missing"),
    (lambda s: s.pop('best_iteration'), r"\['best_iteration'\]: missing"),
    (lambda s: s['iterations'][1].pop('kept'), r"\['iterations'\]\[1\]\['kept'\]: missing"),
    (lambda s: s.update(seed='0'), r"\['seed'\]: expected an int"),
    (lambda s: s['iterations'][0].update(kept=True), r"\['kept'\]: expected an int"),
    (lambda s: s['base']['test_pass_at_k'].update({'k4': 0.1}), r"'k4'"),
    (lambda s: s['iterations'][0]['verdicts'].pop('timeout'), r"\['timeout'\]: missing"),
    (lambda s: s['iterations'][0].update(test_pass1=1.5), r'in \[0, 1\]'),
    (lambda s: s['sft'].pop('train_pass1'), r"\['sft'\]\['train_pass1'\]: missing"),
])
def test_validate_names_first_bad_key(mutate, match):
  s = _summary()
  mutate(s)
  with pytest.raises(ValueError, match=match):
    validate_summary(s)


def test_write_report_full(tmp_path):
  history = [{'iteration': i, 'step': st, 'loss': 1.0 / (st + 1), 'val_reward': 0.1 * i}
             for i in (1, 2) for st in (0, 10, 20)]
  path = write_report(str(tmp_path), _summary(), history)
  assert path == os.path.join(str(tmp_path), 'report.md')
  text = open(path).read()
  for heading in ('Greedy pass@1 per iteration', 'pass@k (test)', 'maj@k (test)',
                  'Accuracy per difficulty', 'Which problems benefit (Figure 8 buckets)',
                  'E-step yield and verdicts', 'Compute accounting', 'M-step curves'):
    assert f'## {heading}' in text, heading
  # Summary table rows: base, SFT and both iterations with the train-test gap.
  assert '| base | 0.250 | 0.270 | 0.020 |' in text
  assert '| SFT | 0.280 | 0.500 | 0.220 |' in text
  assert '| iter 2 (best) | 0.400 | 0.600 | 0.200 | 40 |' in text
  assert '| model | k=1 | k=4 | k=16 |' in text
  assert '| iter 1 | very_hard | 4 | 0.000 | 0.250 | +0.250 |' in text
  assert '| **total** | 200000 | 40000 | 4e+12 | 2.4e+12 | 6.4e+12 |' in text
  assert '| iter 1 | 40 | 0.500 | 0.200 | 60 | 30 | 6 | 4 | 0.060 |' in text  # timeout rate
  for name in ('pass1', 'pass_at_k', 'maj_at_k', 'per_difficulty', 'buckets',
               'estep_yield', 'mstep'):
    png = tmp_path / 'plots' / f'{name}.png'
    assert png.exists() and png.stat().st_size > 1000, name
    assert f'(plots/{name}.png)' in text
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_write_report_sparse_summary(tmp_path):
  """No SFT, an iteration that kept nothing, optional sections absent."""
  s = _summary()
  del s['sft']
  del s['base']['test_maj_at_k']
  del s['base']['per_difficulty']
  empty = {'iteration': 2, 'test_pass1': 0.3, 'train_pass1': 0.3, 'kept': 0,
           'solved_fraction': 0.0, 'mstep_best_step': None, 'val_reward': None}
  s['iterations'] = [_iteration(1, buckets=None, test_maj_at_k=None,
                                per_difficulty=None), empty]
  s['best_iteration'] = 1
  text = open(write_report(str(tmp_path), s, None)).read()
  assert 'SFT' not in text
  assert '## maj@k' not in text and '## Accuracy per difficulty' not in text
  assert '## M-step curves' not in text and 'Figure 8' not in text
  assert '| iter 2 | 0.300 | 0.300 | 0.000 | 0 | 0.000 | - |' in text
  assert 'iteration(s) 2 kept no samples' in text
  plots = {p.name for p in (tmp_path / 'plots').iterdir()}
  assert plots == {'pass1.png', 'pass_at_k.png', 'estep_yield.png'}


def test_write_report_rejects_bad_summary(tmp_path):
  s = copy.deepcopy(_summary())
  del s['iterations'][0]['test_pass1']
  with pytest.raises(ValueError, match='test_pass1'):
    write_report(str(tmp_path), s)
  assert not (tmp_path / 'report.md').exists()
