"""The example's checker: the last integer in the completion must equal the row's answer.

Called by the verifier pool as `check(completion, row)`; returns the score and the
extracted answer (`pred`, which maj@k votes on).
"""

import re


def check(completion: str, row: dict) -> dict:
  numbers = re.findall(r"-?\d+", completion.replace(",", ""))
  if not numbers:
    return {"score": 0.0, "pred": None, "reason": "no number"}
  pred = int(numbers[-1])
  return {"score": float(pred == int(row["answer"])), "pred": str(pred)}
