"""The problem record every task yields, and its seqio serialisation.

A seqio task's examples are dicts of string tensors; `Problem` is the typed view
the loop works with. `checker_payload` is the dict handed to the verifier
(`restem_jax.verify.checkers`), in the data set's native schema.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping

FIELDS = ("id", "prompt", "question", "answer", "reference_solution", "difficulty", "split",
          "verifier_task", "checker_payload")


@dataclasses.dataclass(frozen=True)
class Problem:
  id: str                  # stable across runs, e.g. 'toy_arith/train/17' or MATH unique_id
  prompt: str              # few-shot prefix + question: exactly what the sampler continues
  question: str            # the question alone (reports)
  answer: str              # gold final answer ('' for code tasks)
  reference_solution: str  # a human/canonical solution target (SFT mode); '' if none
  difficulty: str          # e.g. 'level_3' (MATH levels), 'introductory'
  split: str               # 'train' | 'validation' | 'test'
  verifier_task: str       # checker name in restem_jax.verify.checkers
  checker_payload: Mapping[str, Any]  # problem dict for the checker

  def to_features(self) -> dict[str, str]:
    d = {k: getattr(self, k) for k in FIELDS}
    d["checker_payload"] = json.dumps(dict(self.checker_payload), sort_keys=True)
    return d

  @classmethod
  def from_features(cls, ex: Mapping[str, Any]) -> "Problem":
    def s(v):
      return v.decode("utf-8") if isinstance(v, bytes) else str(v)
    d = {k: s(ex[k]) for k in FIELDS}
    d["checker_payload"] = json.loads(d["checker_payload"])
    return cls(**d)
