"""A training run's outputs from its stage records: the summary and its metric rows.

The summary (summary_schema.py) is rebuilt from the manifest's records alone, so a
resumed run produces the same summary. `outputs()` adds the rows of metrics.jsonl and
TensorBoard: the M-step curves (loss, ... and the validation reward per step) of the
SFT model and every iteration, and one row of scalars per evaluated model.
"""

from __future__ import annotations

from restem_jax.loop import metrics, stage_memory
from restem_jax.loop.evaluation import buckets, transfer
from restem_jax.loop.reporting.outputs import RunOutputs

# Per-problem evaluation details kept in the manifest but not in summary.json.
_EVAL_PRIVATE = ("test_correct", "test_success_rate", "bucket_success_rate")


def public_eval(ev: dict) -> dict:
  """An evaluation record as the summary shows it (no per-problem details, no timing)."""
  return {k: v for k, v in ev.items() if k not in _EVAL_PRIVATE + ("seconds", "memory")}


def _compute(per_token: float, e: dict, m: dict | None) -> dict:
  m_tokens = int(m["trained_tokens"]) if m else 0
  return {"estep_tokens": int(e["tokens"]), "mstep_tokens": m_tokens,
          "estep_flops": e["flops"], "mstep_flops": 3.0 * per_token * m_tokens}


def _iteration(run, i: int, rec: dict, base_eval: dict, last_eval: dict) -> dict:
  e, m, ev = rec["estep"], rec["mstep"], rec["eval"]
  ev_used = ev or last_eval  # no M-step: the policy (and its numbers) did not change
  return {"iteration": i, **public_eval(ev_used),
          "kept": e["yield"]["kept"], "solved_fraction": e["yield"]["solved_fraction"],
          "cap_saturation": e["yield"]["cap_saturation"], "verdicts": e["verdicts"],
          "timeout_rate": metrics.timeout_rate(e["verdicts"]),
          "first_errors": e.get("first_errors", []),
          "buckets": buckets.figure8(base_eval, ev_used),
          "stage_seconds": {"estep": e["seconds"], "mstep": m["seconds"] if m else 0.0,
                            "eval": ev["seconds"] if ev else 0.0, **e["timing"]},
          "compute": _compute(run.model_cfg.flops_per_token(), e, m),
          "mstep_best_step": m["best_step"] if m else None,
          "val_reward": m["val_reward"] if m else None,
          "policy": e["policy"], "updated": m is not None,
          "mstep_kept_init": m.get("kept_init") if m else None,
          "mstep_dropped_overlong": m.get("dropped_overlong") if m else None,
          "skipped_long_prompts": e.get("skipped_long_prompts", 0)}


def _best(base_eval: dict, its: list[dict]) -> int:
  """The iteration selected on validation reward, never on test (0 = the base)."""
  best, best_val = 0, base_eval.get("val_pass1")
  for it in its:
    v = it.get("val_pass1")
    if it["updated"] and v is not None and (best_val is None or v > best_val):
      best, best_val = it["iteration"], v
  return best


def summary(run, b: dict, base_eval: dict, sft: dict | None, iterations: list[dict]) -> dict:
  """summary.json of a training run from its stage records (`iterations`: per iteration
  {"estep", "mstep", "eval"} records; mstep/eval None when the E-step kept nothing)."""
  its, last_eval = [], base_eval
  for i, rec in enumerate(iterations, start=1):
    its.append(_iteration(run, i, rec, base_eval, last_eval))
    last_eval = rec["eval"] or last_eval
  best = _best(base_eval, its)
  out = {"task": run.c.task.name, "mode": run.loop.mode, "seed": run.c.seed,
         "task_seed": run.c.task.seed, "base_checkpoint": b["checkpoint"],
         "base_meta": b["meta"], "base": public_eval(base_eval),
         "iterations": its, "best_iteration": best,
         "best_test_pass1": its[best - 1]["test_pass1"] if best else base_eval["test_pass1"],
         "wall_seconds": run.manifest.elapsed_seconds,
         "kept_init": sum(bool(it["mstep_kept_init"]) for it in its),
         "skipped_long_prompts": run.skipped_prompts, "notes": run.notes,
         "memory": stage_memory.summary_memory(run.manifest.records())}
  if sft:
    out["sft"] = {**public_eval(sft["eval"]), "val_reward": sft["val_reward"],
                  "mstep_best_step": sft["best_step"], "seconds": sft["seconds"],
                  "mstep_kept_init": sft.get("kept_init")}
  return out


def _scalars(d: dict) -> dict:
  """Flat numeric view of an evaluation record (pass@k and maj@k expanded)."""
  out = {}
  for k, v in d.items():
    if isinstance(v, (int, float)) and not isinstance(v, bool):
      out[k] = v
    elif k in ("test_pass_at_k", "test_maj_at_k") and v:
      out.update({f"{k[5:]}_{kk}": vv for kk, vv in v.items()})
    elif k == "transfer":
      out.update(transfer.scalars(v))
  return out


def outputs(s: dict, sft: dict | None, iterations: list[dict]) -> RunOutputs:
  """What outputs.write_outputs writes for the summary `s` and the M-step records."""
  curves = []
  for name, m in [("sft", sft)] + [(f"iter_{i}", r["mstep"]) for i, r in
                                   enumerate(iterations, 1)]:
    if not m:
      continue
    itn = 0 if name == "sft" else int(name.split("_")[1])
    curves += [{"iteration": itn, "run": name, **h} for h in m["history"]]
    curves += [{"iteration": itn, "run": name, "step": st, "val_reward": r}
               for st, r in m["val_curve"]]
  evals = [{"iteration": 0, "run": "base", **_scalars(s["base"])}]
  evals += [{"iteration": it["iteration"], "run": f"iter_{it['iteration']}",
             **_scalars(it)} for it in s["iterations"]]
  history = [r for r in curves if r["run"] != "sft" and "loss" in r]
  return RunOutputs(summary=s, evals=evals, curves=curves, report_history=history,
                    stage_rows=stage_memory.metric_rows(s["memory"]))
