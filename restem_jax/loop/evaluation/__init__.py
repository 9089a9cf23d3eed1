"""Evaluation of a policy, the same for training runs and eval-only runs.

  policy_eval.py  the one evaluation path: everything below, for one model's params
  greedy_eval.py  greedy pass@1 (+ per difficulty, verdicts)
  evaluate.py     greedy pass@1 on test / train gap / validation, pass@k and maj@k
  majority.py     maj@k as an expectation over k-subsets
  buckets.py      Figure 8's difficulty buckets
  transfer.py     transfer tasks (config.eval.transfer_tasks)
"""
