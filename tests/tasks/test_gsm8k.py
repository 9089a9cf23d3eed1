"""GSM8K: the 8-shot CoT prompt, the reformatted rationale, and the verifier agreeing with it."""

import pytest

from restem_jax.tasks import gsm8k_shots, records
from restem_jax.tasks.gsm8k import gsm8k_problems, rationale
from restem_jax.verify import checkers
from tests.tasks.conftest import cached_load


def test_prompt_is_eight_shots_then_the_question():
  p = cached_load("gsm8k", "test")[0]
  assert p.prompt.count("\nA: ") == 8 and p.prompt.count("The answer is") == 8
  assert p.prompt.startswith("Q: There are 15 trees in the grove.")
  assert p.prompt.endswith(f"\n\nQ: {p.question}\nA:")


def test_reference_is_the_gold_rationale_ending_in_the_answer():
  for split in ("train", "validation", "test"):
    for p in cached_load("gsm8k", split):
      assert p.reference_solution.startswith(" ")
      assert p.reference_solution.endswith(f"The answer is {p.answer}.")
      assert "<<" not in p.reference_solution and "####" not in p.reference_solution
      assert "\n" not in p.reference_solution
      assert p.checker_payload["answer"].endswith(f"#### {p.answer}")
      verdict = checkers.check("gsm8k", p.reference_solution, dict(p.checker_payload))
      assert verdict.is_correct, (p.id, verdict)


def test_rationale_strips_calculator_annotations_and_commas_in_gold():
  record = {"answer": "He pays 2 * 600 = <<2*600=1200>>1200.\nSo 1,200 total\n#### 1,200"}
  assert rationale(record, "1200") == " He pays 2 * 600 = 1200. So 1,200 total. The answer is 1200."


def test_first_problem_matches_the_data_file():
  p = cached_load("gsm8k", "train")[0]
  assert p.id == "gsm8k/train/0" and p.answer == "72"
  assert p.question.startswith("Natalia sold clips to 48 of her friends")


def test_shot_questions_are_not_problems():
  shots = {records.normalize_text(q) for q in gsm8k_shots.SHOT_QUESTIONS}
  for split in ("train", "validation", "test"):
    assert not shots & {records.normalize_text(p.question) for p in cached_load("gsm8k", split)}


def test_missing_file_names_the_file_and_config_field(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"gsm8k/train\.jsonl.*task\.data_dir"):
    gsm8k_problems("train", str(tmp_path), 0)
