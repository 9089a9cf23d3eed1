"""Report lines for run-level facts a reader must not miss (kept inits, skips, notes,
memory per stage).

`notes(summary)` returns markdown lines: M-steps that kept their init because no
fine-tuned step beat its validation reward, samples dropped as longer than a training
row, prompts skipped as longer than the largest bucket, and the run's warnings
(`summary['notes']`, e.g. early stopping on train reward, a skipped SFT baseline).
"""

from __future__ import annotations


def notes(summary: dict) -> list[str]:
  out = []
  kept = [str(it['iteration']) for it in summary['iterations'] if it.get('mstep_kept_init')]
  if (summary.get('sft') or {}).get('mstep_kept_init'):
    kept.insert(0, 'SFT')
  if kept:
    out.append(f"- M-step kept its init (no fine-tuned step beat the init's validation "
               f"reward) in: {', '.join(kept)} ({summary.get('kept_init', len(kept))} "
               "iteration(s) counted).")
  dropped = {it['iteration']: it['mstep_dropped_overlong'] for it in summary['iterations']
             if it.get('mstep_dropped_overlong')}
  if dropped:
    out.append('- kept samples dropped as longer than train.seq_len (never cut): '
               + ', '.join(f'iter {i}: {n}' for i, n in dropped.items()) + '.')
  skipped = {k: v for k, v in (summary.get('skipped_long_prompts') or {}).items() if v}
  if skipped:
    out.append('- problems skipped because their prompt exceeds the largest prompt bucket: '
               + ', '.join(f'{k}: {v}' for k, v in skipped.items()) + '.')
  for text in (summary.get('notes') or {}).values():
    out.append(f'- **{text}**')
  return ['## Run notes', '', *out, ''] if out else []


def checker_errors(summary: dict) -> list[str]:
  """The first error / timeout verdicts of each E-step (a checker's traceback), if any."""
  out = []
  for it in summary['iterations']:
    for e in it.get('first_errors') or []:
      out += [f"- iter {it['iteration']}, problem `{e['problem_id']}`: {e['verdict']}", '',
              '```', e['detail'].strip(), '```', '']
  return ['## Checker errors and timeouts (first of each E-step)', '', *out] if out else []


def _fmt(v) -> str:
  return '-' if v is None else f'{v:.3f}'


def transfer(summary: dict) -> list[str]:
  """'Transfer evaluation' table: greedy pass@1 (and pass@k) per model and transfer task."""
  models = [('base', summary.get('base') or {})]
  if summary.get('sft'):
    models.append(('SFT', summary['sft']))
  models += [(f"iter {it['iteration']}", it) for it in summary.get('iterations', [])]
  models += [(m.get('label', m.get('checkpoint', '?')), m) for m in summary.get('checkpoints', [])]
  models = [(label, m['transfer']) for label, m in models if m.get('transfer')]
  if not models:
    return []
  labels = sorted({t for _, tr in models for t in tr})
  ks = {t: sorted({k for _, tr in models for k in ((tr.get(t) or {}).get('pass_at_k') or {})},
                  key=int) for t in labels}
  header = ['model'] + [c for t in labels for c in [f'{t} pass@1'] + [f'{t} pass@{k}'
                                                                    for k in ks[t]]]
  rows = []
  for label, tr in models:
    row = [label]
    for t in labels:
      rec = tr.get(t) or {}
      row.append(_fmt(rec.get('pass1')))
      row += [_fmt((rec.get('pass_at_k') or {}).get(k)) for k in ks[t]]
    rows.append(row)
  n = {t: next(tr[t]['n'] for _, tr in models if t in tr) for t in labels}
  lines = ['## Transfer evaluation', '',
           'Greedy pass@1 (and pass@k, unbiased estimator, where configured) on tasks the run '
           'does not train on (' + ', '.join(f'{t}: {n[t]} problems' for t in labels) + ').', '',
           '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
  return lines + ['']


def _gb(v) -> str:
  return '-' if v is None else f'{v / 1e9:.2f}'


def memory(summary: dict) -> list[str]:
  """'Memory per stage' table: host peak/end RSS and the largest device's bytes (GB)."""
  stages = summary.get('memory') or {}
  if not stages:
    return []
  rows = []
  for stage, m in stages.items():
    dev = m.get('devices') or []
    in_use = max((r['bytes_in_use'] for r in dev), default=None)
    peaks = [r['peak_bytes'] for r in dev if r.get('peak_bytes') is not None]
    src = sorted({r['source'] for r in dev})
    rows.append(f"| {stage} | {_gb(m['host_peak_rss_bytes'])} | {_gb(m['host_end_rss_bytes'])}"
                f" | {m['host_peak_source']} | {_gb(in_use)} | {_gb(max(peaks) if peaks else None)}"
                f" | {', '.join(src) or '-'} |")
  return ['## Memory per stage', '',
          'Host RSS of the run\'s process in GB (vmhwm: the peak within the stage; ru_maxrss: '
          'the process peak so far, where the per-stage reset is unavailable); verifier '
          'workers are separate processes and not counted. Device columns: the largest '
          'device\'s bytes at the stage end (live_arrays: live jax arrays, CPU) and its '
          'allocator peak (memory_stats, GPU/TPU).', '',
          '| stage | host peak | host end | peak source | device in use | device peak | '
          'device source |', '|---|---|---|---|---|---|---|', *rows, '']
