"""M-step stages (an iteration's `iter_i/mstep`, the SFT baseline): fine-tune, save, record.

`fine_tune` returns (record, params): the record (checkpoint path, best step, validation
curve, step history) goes to the manifest, the params to the next stage. A resumed run
gets the params back from the record's checkpoint (`run.tuner.restore`).
"""

from __future__ import annotations

import numpy as np

from restem_jax import io
from restem_jax import vocab as vocab_lib
from restem_jax.distributed import hosts
from restem_jax.loop import mstep, progress_bar
from restem_jax.tasks import completion
from restem_jax.training.packing import Example

# The M-step history fields kept in the record (metrics.jsonl, TensorBoard, report curves).
_HISTORY_KEYS = ("step", "loss", "grad_norm", "learning_rate", "tokens_per_second",
                 "target_tokens")


def fine_tune(run, name: str, init_params, examples, pool, tuning=None,
              base_checkpoint: str = "") -> tuple[dict, object]:
  """Runs an M-step; returns (record, params) and saves it under W/name (`run.tuner`: the
  whole model, or LoRA adapters pointing at `base_checkpoint`)."""
  path = io.join(run.workdir, name)
  with progress_bar.bar(f"{name} M-step", run.mstep_cfg.max_steps) as advance:
    result = mstep.run_mstep(run.model_cfg, run.train_cfg, run.mstep_cfg, run.mesh, run.rules,
                             init_params, examples, run.val_reward_fn(pool),
                             progress=lambda _: advance(), tuning=tuning)
  if hosts.is_writer():
    io.rmtree(path)  # left by an interrupted run of this stage: not in the manifest
  hosts.barrier("fine_tune_clean")  # then every process saves its shards (Orbax collective)
  run.tuner.save(path, result, run.model_cfg, base_checkpoint=base_checkpoint,
                 tokenizer_dir=run.tokenizer_source,
                 meta={"best_step": result.best_step, "val_reward": result.best_val_reward})
  record = {"checkpoint": path, "best_step": result.best_step,
            "val_reward": result.best_val_reward, "val_curve": result.val_curve,
            "trained_tokens": result.trained_tokens, "examples": len(examples),
            "kept_init": result.kept_init, "dropped_overlong": result.dropped_overlong,
            "history": [{k: h[k] for k in _HISTORY_KEYS if k in h} for h in result.history]}
  return record, result.params


def sft_examples(run) -> list[Example]:
  """One reference solution per train problem: (prompt ids as the sampler encodes them,
  the solution's ids as a continuation of the prompt (no BOS) + the task's end of a sample:
  EOS, or a chat template's end-of-turn)."""
  out = []
  for p in run.problems["train"]:
    if p.reference_solution:
      prompt = run.sampler.encode_problem(p)
      target = vocab_lib.encode_target(run.sampler.vocab, p.prompt, prompt,
                                       p.reference_solution)
      target += completion.end_of_sample_ids(run.sampler.vocab, p.verifier_task)
      out.append(Example(prompt, np.asarray(target, np.int32), 1.0))
  if not out:
    raise ValueError(f"task {run.c.task.name!r}: no train problem has a reference solution, "
                     "so the SFT baseline cannot run (set config.loop.sft_baseline=False).")
  return out
