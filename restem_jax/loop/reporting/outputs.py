"""The one output writer of a run, training or eval-only (`loop.mode='eval'`).

  W/metrics.jsonl  one JSON line per M-step curve point, then one per evaluated model,
                   then (training runs) one per stage with its memory
  W/tb/            the same numbers as TensorBoard scalars (eval/<metric> by model index,
                   <run>/<metric> by M-step step)
  W/summary.json   the summary (summary_schema.py)
  W/report.md      report.py (training runs: tables + plots) or report_eval.py (eval-only)

Every file is written atomically (`io.write_*_atomic`; the TensorBoard directory is
replaced as a whole, `io.write_tree_atomic`), so a kill mid-write leaves the previous
outputs whole. Only the writer process (process 0) calls this.
"""

from __future__ import annotations

import dataclasses
import json

from restem_jax import io
from restem_jax.loop.reporting import report, report_eval, tensorboard
from restem_jax.loop.reporting.summary_schema import validate_summary


@dataclasses.dataclass(frozen=True)
class RunOutputs:
  summary: dict       # summary.json
  evals: list         # per evaluated model: {"iteration", "run", <scalar>: value, ...}
  curves: list        # per M-step point: {"iteration", "run", "step", <metric>: value, ...}
  report_history: list  # M-step rows plotted in report.md (training runs)
  stage_rows: list = ()  # per stage: memory (stage_memory.metric_rows), metrics.jsonl only


def write_outputs(workdir: str, out: RunOutputs) -> None:
  """Writes metrics.jsonl, W/tb, summary.json and report.md (summary validated first)."""
  validate_summary(out.summary)
  io.write_text_atomic(io.join(workdir, "metrics.jsonl"),
                       "".join(json.dumps(row) + "\n"
                               for row in [*out.curves, *out.evals, *out.stage_rows]))
  tensorboard.write_scalars(io.join(workdir, "tb"), out.evals, out.curves)
  io.write_json_atomic(io.join(workdir, "summary.json"), out.summary, indent=2)
  if out.summary["mode"] == "eval":  # a table per checkpoint, no iterations
    report_eval.write_report(workdir, out.summary)
  else:
    report.write_report(workdir, out.summary, out.report_history)
