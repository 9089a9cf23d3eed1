"""report.md of an eval-only run (`loop.mode='eval'`): one row per checkpoint.

  greedy pass@1, pass@k and maj@k (test) per checkpoint; accuracy per difficulty;
  the transfer tasks and the run's notes (report_sections.py).
"""

from __future__ import annotations

from restem_jax import io
from restem_jax.loop.reporting import report_sections


def _fmt(v) -> str:
  return "-" if v is None else f"{v:.3f}"


def _difficulty_table(rows: list[dict]) -> list[str]:
  labels = sorted({l for r in rows for l in r.get("per_difficulty", {})})
  if not labels:
    return []
  lines = ["", "## Accuracy per difficulty (test)", "",
           "| difficulty | " + " | ".join(f"#{r['index']}" for r in rows) + " |",
           "|" + "---|" * (len(rows) + 1)]
  return lines + ["| " + " | ".join([l] + [_fmt(r["per_difficulty"].get(l, {}).get("accuracy"))
                                          for r in rows]) + " |" for l in labels]


def lines(summary: dict) -> list[str]:
  """The report's markdown lines."""
  rows = summary["checkpoints"]
  ks = sorted({k for r in rows for k in (r.get("test_pass_at_k") or {})}, key=int)
  mk = sorted({k for r in rows for k in (r.get("test_maj_at_k") or {})}, key=int)
  header = ["#", "checkpoint", "test pass@1"] + [f"pass@{k}" for k in ks] + [
      f"maj@{k}" for k in mk]
  out = [f"# Evaluation report: {summary['task']}", "",
         f"mode `eval`, seed {summary['seed']}, {len(rows)} checkpoint(s).", "",
         "## Greedy pass@1, pass@k and maj@k (test)", "",
         "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for r in rows:
    out.append("| " + " | ".join(
        [str(r["index"]), f"`{r['checkpoint']}`", _fmt(r["test_pass1"])]
        + [_fmt((r.get("test_pass_at_k") or {}).get(k)) for k in ks]
        + [_fmt((r.get("test_maj_at_k") or {}).get(k)) for k in mk]) + " |")
  out += _difficulty_table(rows)
  return out + [""] + report_sections.transfer(summary) + report_sections.memory(
      summary) + report_sections.notes(
      {"iterations": [], **summary})


def write_report(workdir: str, summary: dict) -> str:
  """Writes W/report.md atomically; returns its path."""
  path = io.join(workdir, "report.md")
  io.write_text_atomic(path, "\n".join(lines(summary)))
  return path
