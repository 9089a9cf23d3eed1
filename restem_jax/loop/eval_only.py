"""`loop.mode='eval'`: evaluate finished checkpoints on the task and the transfer tasks.

  --config.loop.mode=eval --config.loop.checkpoints='("W/iter_2/policy", "IMPORTED")'

Each checkpoint (an Orbax params dir of the configured model: a finished run's
`W/iter_i/policy`, `W/sft`, `W/base`, or an imported model) is one resumable stage
`eval/<i>`: greedy pass@1 and per-difficulty accuracy on the test split, pass@k and
maj@k from `eval.num_samples` samples, and every `eval.transfer_tasks` entry. Only
the test split is read, so a test-only task works. The summary lists the checkpoints
(`summary['checkpoints']`); metrics.jsonl, TensorBoard (step = checkpoint index) and
report.md carry the same numbers as a training run's evaluation sections.
"""

from __future__ import annotations

import json

from restem_jax import io
from restem_jax.loop import evaluate, greedy_eval, report_sections, stage_memory, tensorboard
from restem_jax.loop import transfer
from restem_jax.loop.summary_schema import validate_summary

_PUBLIC = ("test_pass1", "per_difficulty", "test_verdicts", "test_pass_at_k", "test_maj_at_k",
           "transfer")


def evaluate_checkpoint(run, params, pool) -> dict:
  test = run.problems["test"]
  g = greedy_eval.greedy_pass1(params, test, run.sampler, pool, run.c.seed)
  rec = {"test_pass1": g["pass1"], "per_difficulty": g["per_difficulty"],
         "test_verdicts": g["verdicts"]}
  if run.eval_cfg.num_samples:
    s = evaluate.sampled_metrics(params, test, run.sampler, pool, run.eval_cfg, seed=run.c.seed)
    rec.update(test_pass_at_k=s["test_pass_at_k"], test_maj_at_k=s["test_maj_at_k"])
  if run.transfer:
    rec["transfer"] = transfer.evaluate(params, run.transfer, run.sampler, pool, run.eval_cfg,
                                        seed=run.c.seed)
  return rec


def run_eval(run, pool) -> dict:
  """Evaluates every `loop.checkpoints` entry; writes summary, metrics, TensorBoard, report."""
  rows = []
  for i, path in enumerate(run.loop.checkpoints):
    def do_eval(path=path):
      return evaluate_checkpoint(run, run.restore(path), pool)
    rec = run.stage(f"eval/{i}", do_eval)
    rows.append({"index": i, "checkpoint": path,
                 **{k: rec[k] for k in _PUBLIC if rec.get(k) is not None}})
  summary = {"task": run.c.task.name, "mode": "eval", "seed": run.c.seed,
             "task_seed": run.c.task.seed, "wall_seconds": run.manifest.elapsed_seconds,
             "checkpoints": rows, "skipped_long_prompts": run.skipped_prompts,
             "notes": run.notes,
             "memory": stage_memory.summary_memory(run.manifest.records())}
  validate_summary(summary)
  write_outputs(run.workdir, summary)
  return summary


def _scalars(row: dict) -> dict:
  out = {"test_pass1": row["test_pass1"], **transfer.scalars(row.get("transfer"))}
  for key in ("test_pass_at_k", "test_maj_at_k"):
    out.update({f"{key[5:]}_{k}": v for k, v in (row.get(key) or {}).items()})
  return out


def write_outputs(workdir: str, summary: dict) -> None:
  evals = [{"iteration": r["index"], "run": r["checkpoint"], **_scalars(r)}
           for r in summary["checkpoints"]]
  io.write_text(io.join(workdir, "metrics.jsonl"),
                "".join(json.dumps(r) + "\n" for r in evals))
  tensorboard.write_scalars(io.join(workdir, "tb"), evals, [])
  io.write_json_atomic(io.join(workdir, "summary.json"), summary, indent=2)
  io.write_text(io.join(workdir, "report.md"), "\n".join(report(summary)))


def report(summary: dict) -> list[str]:
  rows = summary["checkpoints"]
  ks = sorted({k for r in rows for k in (r.get("test_pass_at_k") or {})}, key=int)
  mk = sorted({k for r in rows for k in (r.get("test_maj_at_k") or {})}, key=int)
  header = ["#", "checkpoint", "test pass@1"] + [f"pass@{k}" for k in ks] + [
      f"maj@{k}" for k in mk]
  f = lambda v: "-" if v is None else f"{v:.3f}"
  lines = [f"# Evaluation report: {summary['task']}", "",
           f"mode `eval`, seed {summary['seed']}, {len(rows)} checkpoint(s).", "",
           "## Greedy pass@1, pass@k and maj@k (test)", "",
           "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for r in rows:
    lines.append("| " + " | ".join(
        [str(r["index"]), f"`{r['checkpoint']}`", f(r["test_pass1"])]
        + [f((r.get("test_pass_at_k") or {}).get(k)) for k in ks]
        + [f((r.get("test_maj_at_k") or {}).get(k)) for k in mk]) + " |")
  labels = sorted({l for r in rows for l in r.get("per_difficulty", {})})
  if labels:
    lines += ["", "## Accuracy per difficulty (test)", "",
              "| difficulty | " + " | ".join(f"#{r['index']}" for r in rows) + " |",
              "|" + "---|" * (len(rows) + 1)]
    lines += ["| " + " | ".join([l] + [f(r["per_difficulty"].get(l, {}).get("accuracy"))
                                      for r in rows]) + " |" for l in labels]
  return lines + [""] + report_sections.transfer(summary) + report_sections.memory(
      summary) + report_sections.notes(
      {"iterations": [], **summary})
