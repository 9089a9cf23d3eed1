"""The APPS few-shot program prompt: every shot program passes its own tests in the APPS
checker (the prompt never teaches a wrong program), the stop sequence ends a sample at the
next example, and the `apps` tasks put the shots before each problem (`apps_zeroshot` not)."""

import json

import pytest

from restem_jax.tasks import apps_shots
from restem_jax.tasks import completion
from restem_jax.tasks.registry import load_problems
from restem_jax.verify import code_runner
from restem_jax.verify.sandbox_config import SandboxConfig
from restem_jax.verify.verdict import CORRECT
from tests.tasks.conftest import FIXTURES, cached_load

SHOT_IDS = [s.program.splitlines()[0] for s in apps_shots.SHOTS]


@pytest.mark.parametrize("shot", apps_shots.SHOTS, ids=SHOT_IDS)
def test_shot_program_passes_its_tests_in_the_apps_checker(shot):
  assert len(shot.inputs) == len(shot.outputs) >= 3, "a sample and hidden tests"
  verdict = code_runner.check_apps(shot.program, {"input_output": shot.input_output()},
                                   SandboxConfig())
  assert verdict.status == CORRECT, verdict


def test_shot_tests_reject_the_other_shots_program():
  """The tests discriminate: no shot's program passes another shot's tests."""
  a, b = apps_shots.SHOTS[:2]
  for program, shot in ((a.program, b), (b.program, a)):
    verdict = code_runner.check_apps(program, {"input_output": shot.input_output()},
                                     SandboxConfig())
    assert verdict.status != CORRECT, verdict


@pytest.mark.parametrize("shot", apps_shots.SHOTS, ids=SHOT_IDS)
def test_statement_sample_is_the_first_test(shot):
  for line in shot.inputs[0].splitlines() + shot.outputs[0].splitlines():
    assert line in shot.question.splitlines(), line


def test_stop_sequence_cuts_each_shot_program_at_the_next_example():
  """What follows a shot's `ANSWER:\\n` in the prompt, cut as a sample is, is its program."""
  prefix = apps_shots.FEWSHOT_PREFIX
  for shot in apps_shots.SHOTS:
    block = apps_shots.question_block(shot.question)
    continuation = prefix[prefix.index(block) + len(block):] + "QUESTION:\nnext problem"
    assert completion.truncate_at_stop("apps", continuation) == shot.program + "\n"


def test_apps_prompt_is_the_shots_then_the_problem():
  for p in cached_load("apps_sample10", "test"):
    assert p.prompt.startswith(apps_shots.FEWSHOT_PREFIX + "QUESTION:\n")
    assert p.prompt.endswith("\nUse Standard Input format\nANSWER:\n")
    assert p.prompt.count("QUESTION:\n") == len(apps_shots.SHOTS) + 1


def _write_apps(tmp_path, rows):
  (tmp_path / "apps").mkdir()
  for name in ("train", "test"):
    (tmp_path / "apps" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
  return str(tmp_path)


def test_zeroshot_variant_has_the_same_problems_without_shots(tmp_path):
  rows = [json.loads(l) for l in open(f"{FIXTURES}/apps/apps_test_sample10.jsonl")]
  data = _write_apps(tmp_path, rows)
  few = load_problems("apps", "test", data, 0)
  zero = load_problems("apps_zeroshot", "test", data, 0)
  assert len(few) == len(zero) == 3  # the fixture's introductory problems
  for f, z in zip(few, zero):
    assert f.prompt == apps_shots.FEWSHOT_PREFIX + z.prompt
    assert z.prompt.startswith("QUESTION:\n") and z.prompt.count("QUESTION:") == 1


def test_a_record_that_is_a_shot_is_in_no_split(tmp_path):
  rows = [json.loads(l) for l in open(f"{FIXTURES}/apps/apps_test_sample10.jsonl")]
  intro = next(r for r in rows if r["difficulty"] == "introductory")
  shot_row = dict(intro, problem_id=99999,
                  question="  " + apps_shots.SHOTS[0].question.replace("\n", "\n\n"),
                  input_output=apps_shots.SHOTS[0].input_output())
  data = _write_apps(tmp_path, rows + [shot_row])
  ids = {p.id for split in ("train", "validation", "test")
         for p in load_problems("apps", split, data, 0)}
  assert ids and not any(i.endswith("/99999") for i in ids), ids
