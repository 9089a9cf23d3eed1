"""Report lines for run-level facts a reader must not miss (kept inits, skips, notes).

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
