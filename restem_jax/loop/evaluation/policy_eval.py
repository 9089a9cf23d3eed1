"""The one evaluation path of a policy, for training runs and eval-only runs alike.

  greedy pass@1 on test (+ per difficulty, verdicts), on the train-gap problems and on
  validation (when the run has them); pass@k and maj@k from `eval.num_samples` test
  samples (evaluate.py); every `eval.transfer_tasks` entry (transfer.py).

Training runs evaluate the base (`base_eval`, with the Figure 8 bucket draws), the SFT
model and every iteration's policy; an eval-only run (`loop.mode='eval'`, test split
only: no train-gap or validation numbers) each listed checkpoint.
"""

from __future__ import annotations

from restem_jax.loop.evaluation import evaluate, transfer


def evaluate_policy(run, params, pool, bucket_draws: bool = False) -> dict:
  """Every evaluation number of `params` (JSON-ready; see evaluate.evaluate's keys, plus
  `transfer` when the run has transfer tasks)."""
  params = run.sampler.place(params)  # once for all of the evaluation's decodes
  result = evaluate.evaluate(params, run.sampler, pool, run.eval_cfg,
                             test=run.problems["test"], train=run.gap_problems,
                             validation=run.problems["validation"], seed=run.c.seed,
                             bucket_draws=bucket_draws)
  if run.transfer:
    result["transfer"] = transfer.evaluate(params, run.transfer, run.sampler, pool,
                                           run.eval_cfg, seed=run.c.seed)
  return result
