"""A user checker's errors and timeouts reach the E-step stats, summary and report; its
`pred` and extra fields stay with the kept sample."""

import numpy as np

from restem_jax.loop.estep import generate as estep
from restem_jax.loop.reporting import report_sections
from restem_jax.sampling.sampler import SamplerOutput
from restem_jax.tasks.problem import Problem
from restem_jax.verify.verdict import Verdict
from tests.engine import toy


def _chunk(verdict_rows):
  vocab = toy.VOCAB
  texts = [["1", "2", "3", "4"] for _ in verdict_rows]
  tokens = np.zeros((len(texts), 4, 1), np.int32)
  for i, row in enumerate(texts):
    for n, t in enumerate(row):
      tokens[i, n, 0] = vocab.encode(t)[0]
  out = SamplerOutput(tokens, np.ones((len(texts), 4), np.int32),
                      np.zeros(tokens.shape, np.float32), texts,
                      [np.asarray(vocab.encode("Q:"), np.int32)] * len(texts))
  problems = [Problem(id=f"p{i}", prompt="Q:", question="q", answer="", reference_solution="",
                      difficulty="", split="train", verifier_task="toy_arith",
                      checker_payload={}) for i in range(len(texts))]
  cfg = estep.EStepConfig(num_samples=4, max_per_problem=10, dedup=False)
  return estep._chunk_record(problems, out, verdict_rows, cfg, {}, vocab)


def test_errors_are_counted_and_first_tracebacks_kept():
  tb = "user_checker_exception:Traceback ...\nKeyError: 'x'"
  graded = Verdict("correct", "score=1", score=1.0, pred="2", extra={"steps": 3})
  rows = [[Verdict("error", tb), graded, Verdict("timeout", "deadline_exceeded"),
           Verdict("incorrect")],
          [Verdict("error", tb + "2"), Verdict("error", tb + "3"), Verdict("incorrect"),
           Verdict("incorrect")]]
  rec = _chunk(rows)
  assert rec["stats"]["verdicts"] == {"error": 3, "correct": 1, "timeout": 1, "incorrect": 3}
  errors = estep.first_errors([rec])
  assert [(e["problem_id"], e["verdict"]) for e in errors] == [
      ("p0", "error"), ("p0", "timeout"), ("p1", "error")]
  assert errors[0]["detail"] == tb
  (kept,) = rec["kept"]
  assert (kept["pred"], kept["checker_fields"], kept["reward"]) == ("2", {"steps": 3}, 1.0)
  lines = report_sections.checker_errors({"iterations": [{"iteration": 1,
                                                           "first_errors": errors}]})
  assert lines[0].startswith("## Checker errors") and "KeyError: 'x'" in "\n".join(lines)
  assert report_sections.checker_errors({"iterations": [{"iteration": 1}]}) == []
