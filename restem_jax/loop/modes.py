"""The loop's one-flag variants (paper section 5) as a frozen config.

  restem   Algorithm 1: every M-step fine-tunes the *base* model on the latest E-step.
  rest     ReST ablation: every M-step continues from the previous iterate.
  rft      Rejection-sampling fine-tuning: one ReST-EM iteration.
  sft      Fine-tune the base on one reference ("human") solution per problem; no sampling.
  eval     No training: evaluate `checkpoints` on the task and transfer tasks (eval_only.py).
  distill  The E-step samples from a teacher checkpoint; the M-step trains the (smaller)
           student from its base. One iteration.
"""

from __future__ import annotations

import dataclasses

MODES = ("restem", "rest", "rft", "sft", "distill", "eval")


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  mode: str = "restem"
  num_iterations: int = 3    # ReST-EM iterations (restem, rest); rft and distill run one
  init_from: str = ""        # M-step start: 'base' | 'previous'; '' = the mode's own
  sft_baseline: bool = True  # also fine-tune the base on reference solutions (report's SFT row)
  on_empty: str = "stop"     # an E-step that keeps nothing: 'stop' | 'continue' (resample)
  val_on_train: bool = False  # no validation split: early-stop on train reward (else refused)
  checkpoints: tuple[str, ...] = ()  # mode 'eval': the params dirs to evaluate

  def __post_init__(self):
    if self.mode not in MODES:
      raise ValueError(f"loop.mode={self.mode!r}; expected one of {MODES}.")
    if self.init_from not in ("", "base", "previous"):
      raise ValueError(f"loop.init_from={self.init_from!r}; expected 'base' or 'previous'.")
    if self.on_empty not in ("stop", "continue"):
      raise ValueError(f"loop.on_empty={self.on_empty!r}; expected 'stop' or 'continue'.")
    if self.mode == "eval" and not self.checkpoints:
      raise ValueError("loop.mode='eval' needs loop.checkpoints (params dirs to evaluate), e.g. "
                       "--config.loop.checkpoints='(\"W/iter_2/policy\",)'.")
    if self.num_iterations < 1:
      raise ValueError(f"loop.num_iterations={self.num_iterations} must be >= 1.")

  @property
  def iterations(self) -> int:
    return {"sft": 0, "rft": 1, "distill": 1, "eval": 0}.get(self.mode, self.num_iterations)

  @property
  def start_from(self) -> str:
    return self.init_from or ("previous" if self.mode == "rest" else "base")

  @property
  def runs_sft(self) -> bool:
    return self.mode == "sft" or (self.sft_baseline and self.mode != "eval")
