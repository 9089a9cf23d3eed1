"""The E-step stage of iteration i: chunk records -> (stage record, kept samples).

The chunks come from sampling the policy (estep.py; resumable, one file per chunk) or,
in distill mode with `teacher.estep_dir`, from a finished run's E-step
(distill_reuse.py). Each chunk record is read once: the stage record (yield, verdicts,
tokens, timing) and the kept samples the M-step trains on come from the same list. A
resumed run whose manifest holds the stage reads the chunk files from disk once, for
the kept samples.
"""

from __future__ import annotations

import collections

from restem_jax import io
from restem_jax.loop import metrics, progress_bar
from restem_jax.loop.estep import distill_reuse, generate as estep


def chunk_records(run, policy, sampler, pool, i: int, policy_path: str,
                  progress=None) -> list[dict]:
  """The E-step's chunk records: sampled (resumable: finished chunks are read from disk),
  or reused (distill_reuse.py)."""
  t = run.c.teacher
  if run.loop.mode == "distill" and t.estep_dir:
    return distill_reuse.load(t.estep_dir, run.problems["train"], sampler.encode_problem,
                              t.min_correct)
  chunks = estep.run_estep(policy, run.problems["train"], sampler, run.sampling, pool,
                           run.estep_cfg, io.join(run.workdir, f"iter_{i}", "estep"),
                           seed=run.c.seed, iteration=i, policy=policy_path, progress=progress)
  return distill_reuse.filter_min_correct(chunks, t.min_correct) if (
      run.loop.mode == "distill") else chunks


def stage_record(run, chunks: list[dict], sampler, policy_path: str) -> dict:
  """What the summary needs from the E-step: yield, verdicts, compute, errors, timing."""
  kept_per, verdicts = {}, collections.Counter()
  for ch in chunks:
    kept_per.update(ch["stats"]["kept_per_problem"])
    verdicts.update(ch["stats"]["verdicts"])
  prompt_tokens = sum(len(sampler.encode_problem(p)) for p in run.problems["train"])
  tokens = prompt_tokens + sum(ch["stats"]["generated_tokens"] for ch in chunks)
  return {"yield": metrics.estep_yield(kept_per, run.estep_cfg.num_samples,
                                       run.estep_cfg.max_per_problem),
          "verdicts": metrics.verdict_counts(list(verdicts.elements())),
          "tokens": tokens, "flops": sampler.model_config.flops_per_token() * tokens,
          "policy": policy_path, "chunks": len(chunks),
          "skipped_long_prompts": estep.skipped_long_prompts(chunks),
          "first_errors": estep.first_errors(chunks),
          "timing": estep.timing_summary(chunks)}


def run_stage(run, i: int, policy, policy_path: str, sampler, pool) -> tuple[dict, list[dict]]:
  """(stage record, kept samples) of iteration i's E-step; `policy` is in the sampling
  layout (`sampler.place`)."""

  def compute():
    with progress_bar.bar(f"iter {i} E-step (problems)", len(run.problems["train"])) as advance:
      chunks = chunk_records(run, policy, sampler, pool, i, policy_path, progress=advance)
    return stage_record(run, chunks, sampler, policy_path), estep.kept_samples(chunks)

  def resume(_):  # every chunk exists: this only reads them
    return estep.kept_samples(chunk_records(run, policy, sampler, pool, i, policy_path))

  return run.stage(f"iter_{i}/estep", compute, resume)
