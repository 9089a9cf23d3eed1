"""Built-in checkers for any task's rows: math, numeric, exact, regex, choice, python_tests.

Each is `fn(completion, gold, row, options) -> Verdict`, where `gold` is the row's
`answer_field` value (`restem_jax.verify.checker_spec`) and the verdict carries `pred`,
the extracted answer maj@k votes on:

- `math`: the final answer (last `\\boxed{}`, else the last number-like answer) is
  equivalent to `gold` (the MATH checker).
- `numeric`: the last number in the completion is within `tolerance` of `gold`
  (absolute, scaled by max(1, |gold|)); commas inside numbers are ignored.
- `exact`: the stripped completion equals the stripped `gold`.
- `regex`: `gold` is a Python regular expression found in the completion (`re.search`).
- `choice`: the chosen letter A-E (`answer is (C)`, `Answer: C`, else the last lone
  capital A-E) equals `gold`'s letter.
- `python_tests`: the completion (its first ```python block if it has one) passes the
  row's tests, run in the code sandbox through `code_runner`'s public checkers: `gold`
  is a list of assert lines or a string of them, one a line (with the row's optional
  `test_setup_code`), or a dict `{"inputs": [...], "outputs": [...]}` of stdin/stdout
  cases (with `fn_name`: call-based).
"""

from __future__ import annotations

import dataclasses
import re

from restem_jax.verify import math_checker
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.verdict import CORRECT, ERROR, INCORRECT, Verdict

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")
_CHOICE_STATED = re.compile(r"answer\s*(?:is|:)?\s*:?\s*\(?([A-E])\)?(?![A-Za-z])", re.I)
_CHOICE_LONE = re.compile(r"(?<![A-Za-z])\(?([A-E])\)?(?![A-Za-z])")
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


@dataclasses.dataclass(frozen=True)
class Options:
  tolerance: float = 1e-6
  sandbox: SandboxConfig = dataclasses.field(default_factory=SandboxConfig)


def _verdict(ok: bool, pred, detail: str) -> Verdict:
  return Verdict(CORRECT if ok else INCORRECT, detail, pred=pred)


def check_math_answer(completion: str, gold, row: dict, options: Options) -> Verdict:
  del row, options
  v = math_checker.check_math(completion, str(gold))
  return dataclasses.replace(v, pred=math_checker.extract_answer(completion))


def last_number(text: str) -> float | None:
  found = _NUMBER.findall(text)
  if not found:
    return None
  try:
    return float(found[-1].replace(",", ""))
  except ValueError:
    return None


def check_numeric(completion: str, gold, row: dict, options: Options) -> Verdict:
  del row
  try:
    want = float(str(gold).replace(",", ""))
  except ValueError:
    return Verdict(ERROR, f"bad_problem:gold_not_a_number:{str(gold)[:40]}")
  got = last_number(completion)
  if got is None:
    return Verdict(ERROR, "no_answer")
  ok = abs(got - want) <= options.tolerance * max(1.0, abs(want))
  return _verdict(ok, f"{got:g}", "within_tolerance" if ok else "different_number")


def check_exact(completion: str, gold, row: dict, options: Options) -> Verdict:
  del row, options
  pred = completion.strip()
  return _verdict(pred == str(gold).strip(), pred, "exact")


def check_regex(completion: str, gold, row: dict, options: Options) -> Verdict:
  del row, options
  try:
    match = re.search(str(gold), completion)
  except re.error as e:
    return Verdict(ERROR, f"bad_problem:invalid_regex:{e}")
  return _verdict(match is not None, match.group(0) if match else None, "regex")


def chosen_letter(text: str) -> str | None:
  stated = _CHOICE_STATED.findall(text)
  if stated:
    return stated[-1].upper()
  lone = _CHOICE_LONE.findall(text)
  return lone[-1] if lone else None


def check_choice(completion: str, gold, row: dict, options: Options) -> Verdict:
  del row, options
  want = chosen_letter(str(gold).strip()) if str(gold).strip() else None
  if want is None:
    return Verdict(ERROR, f"bad_problem:gold_not_a_letter:{str(gold)[:20]}")
  got = chosen_letter(completion)
  if got is None:
    return Verdict(ERROR, "no_answer")
  return _verdict(got == want, got, "choice")


def program_of(completion: str) -> str:
  """The first fenced Python block of a completion, else the completion itself."""
  fenced = _FENCE.search(completion)
  return fenced.group(1) if fenced else completion


def check_python_tests(completion: str, gold, row: dict, options: Options) -> Verdict:
  # Imported here: the sandbox is loaded only by processes that run code (the verifier
  # workers), not by every reader of checker specs (run_config, the AOT planner).
  from restem_jax.verify import code_runner  # pylint: disable=import-outside-toplevel
  program = program_of(completion)
  if isinstance(gold, str):
    gold = [line for line in gold.splitlines() if line.strip()]
  if isinstance(gold, list):
    return code_runner.check_asserts(program, gold, row.get("test_setup_code", ""),
                                     options.sandbox)
  if isinstance(gold, dict):
    return code_runner.check_apps(program, {"input_output": gold}, options.sandbox)
  return Verdict(ERROR, "bad_problem:tests_must_be_asserts_or_inputs_outputs")


BUILTINS = {
    "math": check_math_answer,
    "numeric": check_numeric,
    "exact": check_exact,
    "regex": check_regex,
    "choice": check_choice,
    "python_tests": check_python_tests,
}
