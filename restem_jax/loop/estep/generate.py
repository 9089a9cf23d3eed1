"""E-step (Generate): sample N solutions per training problem, verify, keep correct ones.

Work is split into chunks of problems. Verification of chunk c runs in the
verifier pool while chunk c+1 is sampled. Each finished chunk is written
atomically to `out_dir/chunk_XXXXX.json` (its existence is the completion
marker), so a killed E-step resumes at the first missing chunk and loses none.
Sampling keys depend only on (seed, iteration, problem, sample), so a re-run
chunk reproduces the same samples. In a multi-host run every process samples every
chunk (one SPMD program over all devices) and chunk c is verified and written by
process c % process_count (see `restem_jax.distributed.hosts`); all processes then read all chunks.
"""

from __future__ import annotations

import collections
import time
from typing import Sequence

from restem_jax import vocab as vocab_lib
from restem_jax import io
from restem_jax.distributed import hosts
from restem_jax.loop import length_check
from restem_jax.loop.stage_configs import EStepConfig
from restem_jax.sampling import keys
from restem_jax.sampling.sampler import Sampler, SamplerOutput
from restem_jax.sampling.strategies import SamplingParams
from restem_jax.tasks.completion import checker_key, checker_sample, stop_sequences_for
from restem_jax.tasks.completion import end_of_sample_ids, truncate_at_stop
from restem_jax.tasks.problem import Problem
from restem_jax.verify.pool import VerifierPool


FIRST_ERRORS = 3  # error/timeout verdicts (a user checker's traceback) kept per chunk


def training_tokens(vocab, verifier_task: str, tokens, text: str,
                    prompt_tokens=()) -> list[int]:
  """The sampled ids to train on: cut where the task's stop sequence begins, then the ids
  that end a sample (EOS; a chat task's end-of-turn: `completion.end_of_sample_ids`).

  Samples that never reach a stop sequence are kept exactly as produced. A cut sample
  keeps the shortest prefix of its own ids that decodes to the checked text (no
  re-tokenisation), followed by the end of a sample so the policy learns to stop there. Prefixes are
  decoded as continuations of `prompt_tokens`, as the sampler decoded `text`, so a leading
  space folded into the first piece counts the same in both.
  """
  vocab = vocab_lib.ensure(vocab)
  tokens = [int(t) for t in tokens]
  cut = truncate_at_stop(verifier_task, text)
  if len(cut) == len(text):
    return tokens
  lo, hi = 0, len(tokens)
  while lo < hi:  # smallest prefix whose decoding covers the cut text
    mid = (lo + hi) // 2
    if len(vocab.decode_continuation(prompt_tokens, tokens[:mid])) >= len(cut):
      hi = mid
    else:
      lo = mid + 1
  return tokens[:lo] + end_of_sample_ids(vocab, verifier_task)


def _chunk_record(chunk: Sequence[Problem], out: SamplerOutput, verdicts, cfg: EStepConfig,
                  provenance: dict, vocab) -> dict:
  kept, stats = [], {"verdicts": collections.Counter(), "correct_per_problem": {},
                     "kept_per_problem": {}, "generated_tokens": int(out.lengths.sum()),
                     "first_errors": []}
  for p_i, problem in enumerate(chunk):
    seen, n_kept, n_correct = set(), 0, 0
    for n in range(out.lengths.shape[1]):
      v = verdicts[p_i][n]
      stats["verdicts"][v.status] += 1
      if v.status != "correct":
        continue
      n_correct += 1
      text = out.texts[p_i][n]
      trained = training_tokens(vocab, problem.verifier_task, out.sample_tokens(p_i, n), text,
                                out.prompt_tokens[p_i])
      # Dedup on what the M-step trains on (the ids cut at the stop sequence), not the
      # uncut text: few-shot samples differ only in what follows the stop sequence.
      if (cfg.dedup and tuple(trained) in seen) or n_kept >= cfg.max_per_problem:
        continue
      seen.add(tuple(trained))
      n_kept += 1
      kept.append({"problem_id": problem.id, "sample_index": n, "text": text,
                   "prompt_tokens": out.prompt_tokens[p_i].tolist(), "sample_tokens": trained,
                   "reward": v.reward, "verdict": v.status, "detail": v.detail, **provenance,
                   **({"pred": v.pred} if v.pred is not None else {}),
                   **({"checker_fields": dict(v.extra)} if v.extra else {})})
    stats["correct_per_problem"][problem.id] = n_correct
    stats["kept_per_problem"][problem.id] = n_kept
    stats["first_errors"] += [{"problem_id": problem.id, "verdict": v.status, "detail": v.detail}
                              for v in verdicts[p_i] if v.status in ("error", "timeout")]
    del stats["first_errors"][FIRST_ERRORS:]
  stats["verdicts"] = dict(stats["verdicts"])
  return {"kept": kept, "stats": stats}


def run_estep(params, problems: Sequence[Problem], sampler: Sampler, sampling: SamplingParams,
              pool: VerifierPool, cfg: EStepConfig, out_dir: str, *, seed: int, iteration: int,
              policy: str, progress=None) -> list[dict]:
  """Returns the chunk records (kept samples + stats), resuming from `out_dir`."""
  io.makedirs(out_dir)
  provenance = {"policy": policy, "seed": seed, "iteration": iteration,
                "temperature": sampling.temperature, "top_k": sampling.top_k,
                "top_p": sampling.top_p}
  chunks = [problems[i:i + cfg.chunk_problems] for i in range(0, len(problems), cfg.chunk_problems)]
  results: list[dict | None] = [None] * len(chunks)
  pending = None  # (chunk index, sampler output, futures) being verified

  def finish(item):
    c, out, futures, timing = item
    t0 = time.perf_counter()
    verdicts = [[f.result() for f in row] for row in futures]
    done = time.perf_counter()
    results[c] = _chunk_record(chunks[c], out, verdicts, cfg, provenance, sampler.vocab)
    results[c]["stats"]["skipped_long_prompts"] = timing["skipped"]
    # Verification of a chunk spans from its submission to its last verdict; the part
    # the E-step had to wait for (not hidden behind sampling the next chunk) is exposed.
    # (A done-callback may still be running when result() returns: then use `done`.)
    last = timing["last_verdict"] if timing["last_verdict"] > timing["submitted"] else done
    span = max(last - timing["submitted"], done - t0)
    results[c]["stats"]["timing"] = {"sample_seconds": timing["sample_seconds"],
                                     "verify_span_seconds": span,
                                     "verify_wait_seconds": done - t0}
    io.write_json_atomic(io.join(out_dir, f"chunk_{c:05d}.json"), results[c])
    if progress:
      progress(len(chunks[c]))

  paths = [io.join(out_dir, f"chunk_{c:05d}.json") for c in range(len(chunks))]
  hosts.barrier("estep_start")  # no process is still writing a chunk of an earlier call
  done = hosts.agree([io.exists(p) for p in paths])  # the same chunks are skipped everywhere
  for c, chunk in enumerate(chunks):
    if done[c] or not hosts.owns(c):  # sampled by all processes, verified by its owner
      if progress:
        progress(len(chunk))
      if done[c]:
        continue
    t0 = time.perf_counter()
    chunk, skipped = length_check.split_long_prompts(chunk, sampler, f"E-step chunk {c}")
    chunks[c] = chunk
    if not chunk:  # every prompt too long: an empty record that counts them
      results[c] = {"kept": [], "stats": _empty_stats(len(skipped))}
      if hosts.owns(c):
        io.write_json_atomic(paths[c], results[c])
      if progress:
        progress(len(skipped))
      continue
    out = sampler.sample(params, [sampler.encode_problem(p) for p in chunk],
                         [keys.problem_index(p.id) for p in chunk],
                         cfg.num_samples, sampling, seed=seed, iteration=iteration,
                         stop_sequences=stop_sequences_for(chunk))
    if not hosts.owns(c):
      continue
    timing = {"sample_seconds": time.perf_counter() - t0, "submitted": time.perf_counter(),
              "last_verdict": 0.0, "skipped": len(skipped)}

    def stamp(_, timing=timing):
      timing["last_verdict"] = max(timing["last_verdict"], time.perf_counter())

    futures = [[pool.submit(checker_key(p), checker_sample(p, out.texts[i][n]),
                            dict(p.checker_payload)) for n in range(cfg.num_samples)]
               for i, p in enumerate(chunk)]
    for f in (f for row in futures for f in row):
      f.add_done_callback(stamp)
    if pending is not None:
      finish(pending)  # the previous chunk was verified while this one was sampled
    pending = (c, out, futures, timing)
  if pending is not None:
    finish(pending)
  hosts.barrier("estep_end")  # every chunk is written: read those of other processes
  return [r if r is not None else io.read_json(p) for r, p in zip(results, paths)]


def _empty_stats(skipped: int) -> dict:
  return {"verdicts": {}, "correct_per_problem": {}, "kept_per_problem": {},
          "generated_tokens": 0, "skipped_long_prompts": skipped}


def first_errors(chunk_records: Sequence[dict]) -> list[dict]:
  """The first error/timeout verdicts of the E-step (problem, verdict, detail)."""
  return [e for r in chunk_records for e in r["stats"].get("first_errors", [])][:FIRST_ERRORS]


def skipped_long_prompts(chunk_records: Sequence[dict]) -> int:
  """Problems the E-step skipped because their prompt exceeds the largest bucket."""
  return sum(r["stats"].get("skipped_long_prompts", 0) for r in chunk_records)


def timing_summary(chunk_records: Sequence[dict]) -> dict:
  """Sampling time, verification time and the fraction of it hidden behind sampling."""
  t = [r["stats"].get("timing") for r in chunk_records]
  t = [x for x in t if x]
  span = sum(x["verify_span_seconds"] for x in t)
  wait = sum(x["verify_wait_seconds"] for x in t)
  return {"estep_sampling": sum(x["sample_seconds"] for x in t), "estep_verify_span": span,
          "estep_verify_wait": wait, "verify_overlap": 1.0 - wait / span if span > 0 else 0.0}


def kept_samples(chunk_records: Sequence[dict]) -> list[dict]:
  return [k for r in chunk_records for k in r["kept"]]
