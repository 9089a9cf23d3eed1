"""Markdown report and plots for one ReST-EM run, from its summary dict.

``write_report(workdir, summary, history)`` writes ``workdir/report.md`` and
PNGs under ``workdir/plots/`` that mirror the paper's figures:

  pass1.png          test/train greedy pass@1 vs iteration, SFT dashed (Figs 2, 4)
  pass_at_k.png      pass@k vs k (log2 axis), base and each iteration (Fig 5)
  maj_at_k.png       maj@k vs k, same layout (Fig 5)
  per_difficulty.png accuracy per difficulty label, base vs best iteration
  buckets.png        average sampled success rate per base-difficulty bucket, base vs
                     iteration (Fig 8 right; bucketing rules in ``buckets.py``)
  estep_yield.png    solved fraction, cap saturation, kept and verdict counts
  mstep.png          M-step curves from ``history``, when given

A section whose data is absent (no SFT, an iteration that kept nothing and so
has no M-step, no buckets ...) is skipped, never an error. Plots are drawn on
``matplotlib.figure.Figure`` with the Agg canvas, so importing this module does
not change the process-wide pyplot backend. No JAX.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from restem_jax import io as rio
from restem_jax.loop.evaluation import majority
from restem_jax.loop.evaluation.buckets import BUCKETS, NO_BUCKETS_NOTE
from restem_jax.loop.reporting import report_sections
from restem_jax.loop.reporting.summary_schema import validate_summary
from restem_jax.verify.verdict import STATUSES

__all__ = ['write_report', 'validate_summary']

_DASH = '-'


def _fmt(v: Any, spec: str = '.3f') -> str:
  return _DASH if v is None else format(v, spec)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
  return '\n'.join(lines)


def _models(summary: dict) -> list[tuple[str, dict]]:
  """(label, evaluation dict) for the base model and each iteration."""
  out = [('base', summary['base'])]
  out += [(f"iter {it['iteration']}", it) for it in summary['iterations']]
  return out


def _best(summary: dict) -> dict | None:
  for it in summary['iterations']:
    if it['iteration'] == summary['best_iteration']:
      return it
  return None


def _save(fig: Figure, plots_dir: str, name: str) -> str:
  FigureCanvasAgg(fig)
  fig.tight_layout()
  buf = io.BytesIO()
  fig.savefig(buf, format=name.rsplit('.', 1)[-1], dpi=100)
  rio.write_bytes_atomic(rio.join(plots_dir, name), buf.getvalue())
  return name


# ---------------------------------------------------------------- plots


def _plot_pass1(summary, plots_dir):
  iters = summary['iterations']
  xs = [0] + [it['iteration'] for it in iters]
  test = [summary['base']['test_pass1']] + [it['test_pass1'] for it in iters]
  train = [summary['base']['train_pass1']] + [it['train_pass1'] for it in iters]
  fig = Figure(figsize=(6, 4))
  ax = fig.add_subplot()
  ax.plot(xs, test, 'o-', color='C0', label='test pass@1')
  ax.plot(xs, train, 's-', color='C1', label='train pass@1')
  ax.fill_between(xs, test, train, color='C7', alpha=0.15, label='train-test gap')
  sft = summary.get('sft')
  if sft:
    ax.axhline(sft['test_pass1'], ls='--', color='C0', label='SFT test')
    ax.axhline(sft['train_pass1'], ls='--', color='C1', label='SFT train')
  ax.set_xticks(xs, ['base'] + [str(x) for x in xs[1:]])
  ax.set_xlabel('ReST-EM iteration')
  ax.set_ylabel('greedy pass@1')
  ax.set_title(f"{summary['task']}: pass@1 per iteration")
  ax.legend(fontsize=8)
  return _save(fig, plots_dir, 'pass1.png')


def _plot_at_k(summary, plots_dir, key, ylabel, name):
  curves = [(label, m[key]) for label, m in _models(summary) if m.get(key)]
  if not curves:
    return None
  fig = Figure(figsize=(6, 4))
  ax = fig.add_subplot()
  for label, d in curves:
    ks = sorted(d, key=int)
    ax.plot([int(k) for k in ks], [d[k] for k in ks], 'o-', label=label)
  ax.set_xscale('log', base=2)
  all_ks = sorted({int(k) for _, d in curves for k in d})
  ax.set_xticks(all_ks, [str(k) for k in all_ks])
  ax.minorticks_off()
  ax.set_xlabel('k (samples)')
  ax.set_ylabel(ylabel)
  ax.legend(fontsize=8)
  return _save(fig, plots_dir, name)


def _grouped_bars(ax, categories, series):
  """series: [(label, [value or None per category])] drawn side by side."""
  width = 0.8 / len(series)
  for i, (label, values) in enumerate(series):
    xs = [c + (i - (len(series) - 1) / 2) * width for c in range(len(categories))]
    ax.bar(xs, [0.0 if v is None else v for v in values], width, label=label)
  ax.set_xticks(range(len(categories)), categories)
  ax.legend(fontsize=8)


def _plot_per_difficulty(summary, plots_dir):
  base = summary['base'].get('per_difficulty')
  best = _best(summary)
  best_pd = best.get('per_difficulty') if best else None
  if not base and not best_pd:
    return None
  labels = sorted(set(base or {}) | set(best_pd or {}))
  series = [('base', [(base or {}).get(l, {}).get('accuracy') for l in labels])]
  if best_pd:
    series.append((f"iter {best['iteration']} (best)",
                   [best_pd.get(l, {}).get('accuracy') for l in labels]))
  fig = Figure(figsize=(7, 4))
  ax = fig.add_subplot()
  _grouped_bars(ax, labels, series)
  ax.set_ylabel('test accuracy')
  return _save(fig, plots_dir, 'per_difficulty.png')


def _bucket_iteration(summary) -> dict | None:
  """The best iteration if it has buckets, else the last one that does."""
  best = _best(summary)
  if best and best.get('buckets'):
    return best
  with_buckets = [it for it in summary['iterations'] if it.get('buckets')]
  return with_buckets[-1] if with_buckets else None


def _plot_buckets(summary, plots_dir):
  it = _bucket_iteration(summary)
  if it is None:
    return None
  b = it['buckets']
  names = [n for n in BUCKETS if n in b]
  fig = Figure(figsize=(6, 4))
  ax = fig.add_subplot()
  _grouped_bars(ax, [f"{n}\n(n={b[n]['n']})" for n in names],
                [('base model', [b[n]['before'] for n in names]),
                 (f"ReST-EM iter {it['iteration']}", [b[n]['after'] for n in names])])
  ax.set_ylabel('average sampled success rate (test)')
  ax.set_title('by base-model success rate (Figure 8)')
  return _save(fig, plots_dir, 'buckets.png')


def _plot_estep_yield(summary, plots_dir):
  iters = summary['iterations']
  if not iters:
    return None
  xs = [it['iteration'] for it in iters]
  fig = Figure(figsize=(10, 4))
  ax, ax_v = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
  ax.plot(xs, [it['solved_fraction'] for it in iters], 'o-', label='solved fraction')
  ax.plot(xs, [it.get('cap_saturation') or 0.0 for it in iters], 's-',
          label='cap saturation')
  ax.set_ylim(0, 1.05)
  ax.set_xlabel('iteration')
  ax.set_ylabel('fraction of train problems')
  ax.legend(loc='upper left', fontsize=8)
  ax_k = ax.twinx()
  ax_k.bar(xs, [it['kept'] for it in iters], 0.4, color='C2', alpha=0.3)
  ax_k.set_ylabel('kept samples (bars)')
  bottom = [0] * len(iters)
  for status in STATUSES:
    counts = [(it.get('verdicts') or {}).get(status, 0) for it in iters]
    ax_v.bar(xs, counts, 0.6, bottom=bottom, label=status)
    bottom = [b + c for b, c in zip(bottom, counts)]
  ax_v.set_xlabel('iteration')
  ax_v.set_ylabel('E-step verdicts')
  ax_v.legend(fontsize=8)
  for a in (ax, ax_v):
    a.set_xticks(xs)
  return _save(fig, plots_dir, 'estep_yield.png')


def _plot_history(history, plots_dir):
  """M-step curves: every numeric field but iteration/step, one line per iteration."""
  rows = [r for r in history or [] if 'step' in r]
  metrics = sorted({k for r in rows for k, v in r.items()
                    if k not in ('iteration', 'step') and isinstance(v, (int, float))})
  if not metrics:
    return None
  fig = Figure(figsize=(5 * len(metrics), 4))
  for i, metric in enumerate(metrics):
    ax = fig.add_subplot(1, len(metrics), i + 1)
    for itn in sorted({r.get('iteration', 0) for r in rows}):
      pts = [(r['step'], r[metric]) for r in rows
             if r.get('iteration', 0) == itn and metric in r]
      if pts:
        ax.plot(*zip(*pts), '.-', label=f'iter {itn}')
    ax.set_xlabel('M-step step')
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
  return _save(fig, plots_dir, 'mstep.png')


# ---------------------------------------------------------------- tables


def _iteration_table(summary) -> str:
  header = ['model', 'test pass@1', 'train pass@1', 'gap (train-test)', 'kept',
            'solved frac', 'cap sat', 'E-step s', 'M-step s', 'eval s',
            'best M-step', 'val reward']
  b = summary['base']
  rows = [['base', _fmt(b['test_pass1']), _fmt(b['train_pass1']),
           _fmt(b['train_pass1'] - b['test_pass1'])] + [_DASH] * 8]
  if summary.get('sft'):
    s = summary['sft']
    rows.append(['SFT', _fmt(s['test_pass1']), _fmt(s['train_pass1']),
                 _fmt(s['train_pass1'] - s['test_pass1'])] + [_DASH] * 8)
  for it in summary['iterations']:
    secs = it.get('stage_seconds') or {}
    mark = ' (best)' if it['iteration'] == summary['best_iteration'] else ''
    rows.append([f"iter {it['iteration']}{mark}", _fmt(it['test_pass1']),
                 _fmt(it['train_pass1']), _fmt(it['train_pass1'] - it['test_pass1']),
                 it['kept'], _fmt(it['solved_fraction']), _fmt(it.get('cap_saturation')),
                 _fmt(secs.get('estep'), '.1f'), _fmt(secs.get('mstep'), '.1f'),
                 _fmt(secs.get('eval'), '.1f'), _fmt(it.get('mstep_best_step'), 'd'),
                 _fmt(it.get('val_reward'))])
  return _table(header, rows)


def _at_k_table(summary, key) -> str | None:
  models = [(label, m[key]) for label, m in _models(summary) if m.get(key)]
  if not models:
    return None
  ks = sorted({k for _, d in models for k in d}, key=int)
  return _table(['model'] + [f'k={k}' for k in ks],
                [[label] + [_fmt(d.get(k)) for k in ks] for label, d in models])


def _difficulty_table(summary) -> str | None:
  cols = [(label, m['per_difficulty']) for label, m in _models(summary)
          if m.get('per_difficulty')]
  if not cols:
    return None
  labels = sorted({l for _, d in cols for l in d})
  rows = []
  for l in labels:
    n = next(d[l]['n'] for _, d in cols if l in d)
    rows.append([l, n] + [_fmt(d.get(l, {}).get('accuracy')) for _, d in cols])
  return _table(['difficulty', 'n'] + [label for label, _ in cols], rows)


def _bucket_table(summary) -> str | None:
  rows = []
  for it in summary['iterations']:
    for name in BUCKETS:
      row = (it.get('buckets') or {}).get(name)
      if row is not None:
        rows.append([f"iter {it['iteration']}", name, row['n'], _fmt(row['before']),
                     _fmt(row['after']), _fmt(row['delta'], '+.3f')])
  return _table(['iteration', 'bucket', 'n', 'before (base)', 'after', 'delta'],
                rows) if rows else None


def _yield_table(summary) -> str | None:
  rows = [[f"iter {it['iteration']}", it['kept'], _fmt(it['solved_fraction']),
           _fmt(it.get('cap_saturation'))]
          + [(it.get('verdicts') or {}).get(s, _DASH) for s in STATUSES]
          + [_fmt(it.get('timeout_rate'))]
          for it in summary['iterations']]
  return _table(['iteration', 'kept', 'solved frac', 'cap sat', *STATUSES,
                 'timeout rate'], rows) if rows else None


def _compute_table(summary) -> str | None:
  rows, tot = [], [0, 0, 0.0, 0.0]
  for it in summary['iterations']:
    c = it.get('compute')
    if not c:
      continue
    vals = [c['estep_tokens'], c['mstep_tokens'], c['estep_flops'], c['mstep_flops']]
    tot = [a + b for a, b in zip(tot, vals)]
    rows.append([f"iter {it['iteration']}", *vals[:2], _fmt(vals[2], '.3g'),
                 _fmt(vals[3], '.3g'), _fmt(vals[2] + vals[3], '.3g')])
  if not rows:
    return None
  rows.append(['**total**', *tot[:2], _fmt(tot[2], '.3g'), _fmt(tot[3], '.3g'),
               _fmt(tot[2] + tot[3], '.3g')])
  return _table(['iteration', 'E-step tokens', 'M-step tokens', 'E-step FLOPs',
                 'M-step FLOPs', 'total FLOPs'], rows)


# ---------------------------------------------------------------- driver


def write_report(workdir: str, summary: dict, history: list[dict] | None = None) -> str:
  """Write ``workdir/report.md`` and ``workdir/plots/*.png``; return the report path.

  Args:
    workdir: run directory (created if needed).
    summary: the run summary (schema in ``summary_schema``); validated first.
    history: optional M-step log rows, each ``{"iteration": int, "step": int,
      <metric>: float, ...}`` (e.g. loss, val_reward); plotted when given.

  Raises:
    ValueError: if ``summary`` does not match the schema.
  """
  validate_summary(summary)
  plots_dir = rio.join(workdir, 'plots')
  rio.makedirs(plots_dir)

  sections = [
      ('Greedy pass@1 per iteration', _iteration_table(summary),
       _plot_pass1(summary, plots_dir)),
      ('pass@k (test)', _at_k_table(summary, 'test_pass_at_k'),
       _plot_at_k(summary, plots_dir, 'test_pass_at_k', 'pass@k', 'pass_at_k.png')),
      ('maj@k (test)', _at_k_table(summary, 'test_maj_at_k'),
       _plot_at_k(summary, plots_dir, 'test_maj_at_k', 'maj@k', 'maj_at_k.png')),
      ('Accuracy per difficulty (test)', _difficulty_table(summary),
       _plot_per_difficulty(summary, plots_dir)),
      ('Which problems benefit (Figure 8 buckets)', _bucket_table(summary),
       _plot_buckets(summary, plots_dir)),
      ('E-step yield and verdicts', _yield_table(summary),
       _plot_estep_yield(summary, plots_dir)),
      ('Compute accounting', _compute_table(summary), None),
      ('M-step curves', None, _plot_history(history, plots_dir)),
  ]
  notes = {
      'pass@k (test)': 'pass@k: unbiased estimator 1 - C(n-c,k)/C(n,k) per problem '
                       '(Chen et al., 2021), averaged over problems; n eval samples.',
      'maj@k (test)': majority.ESTIMATOR,
      'Which problems benefit (Figure 8 buckets)': (
          'Buckets by the base model\'s success rate r on a separate set of n samples '
          '(independent of the measured ones): very_hard r < 25%, hard [25%, 50%), '
          'medium [50%, 75%), easy >= 75%. before/after: the average sampled success '
          'rate over the n eval samples of the base model / of the iteration\'s model.'),
  }
  best = summary['best_iteration']
  lines = [f"# ReST-EM report: {summary['task']}", '',
           f"mode `{summary['mode']}`, seed {summary['seed']}, "
           f"wall time {summary['wall_seconds']:.1f} s, "
           f"best iteration {best if best else 'base'}.", '']
  for title, table, plot in sections:
    if table is None and plot is None:
      continue
    lines += [f'## {title}', '']
    if title in notes:
      lines += [notes[title], '']
    if table is not None:
      lines += [table, '']
    if plot is not None:
      lines += [f'![{title}](plots/{plot})', '']
  if summary['iterations'] and not any(it.get('buckets') for it in summary['iterations']) \
      and not summary['base'].get('test_pass_at_k'):
    lines += [NO_BUCKETS_NOTE, '']
  lines += (report_sections.transfer(summary) + report_sections.checker_errors(summary)
            + report_sections.memory(summary) + report_sections.notes(summary))
  if any(it['kept'] == 0 for it in summary['iterations']):
    empty = [str(it['iteration']) for it in summary['iterations'] if it['kept'] == 0]
    lines += [f"Note: iteration(s) {', '.join(empty)} kept no samples "
              '(nothing to fine-tune on).', '']
  path = rio.join(workdir, 'report.md')
  rio.write_text_atomic(path, '\n'.join(lines))
  return path
