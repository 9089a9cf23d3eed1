"""Run manifest (resume bookkeeping) and the loop's mode switches."""

import json

import pytest

from restem_jax.loop import manifest as manifest_lib
from restem_jax.loop.modes import LoopConfig


def test_manifest_round_trip_and_elapsed(tmp_path):
  m = manifest_lib.Manifest(str(tmp_path), {"a": 1, "loop": {"num_iterations": 2}})
  assert not m.done("base_eval")
  m.mark("base_eval", {"test_pass1": 0.25}, seconds=3.0)
  m.mark("iter_1/estep", {"kept": 4}, seconds=2.0)
  again = manifest_lib.Manifest(str(tmp_path), {"a": 1, "loop": {"num_iterations": 3}})
  assert again.done("base_eval") and again.get("iter_1/estep") == {"kept": 4}
  assert again.elapsed_seconds == 5.0


def test_manifest_refuses_a_different_config_naming_the_field(tmp_path):
  manifest_lib.Manifest(str(tmp_path), {"estep": {"num_samples": 4}}).mark("x", {}, 1.0)
  with pytest.raises(ValueError, match=r"estep\.num_samples: 4 -> 8"):
    manifest_lib.Manifest(str(tmp_path), {"estep": {"num_samples": 8}})


def test_corrupt_manifest_names_the_file(tmp_path):
  (tmp_path / "manifest.json").write_text("{not json")
  with pytest.raises(ValueError, match="manifest.json is unreadable"):
    manifest_lib.Manifest(str(tmp_path), {})


def test_manifest_write_is_atomic(tmp_path):
  m = manifest_lib.Manifest(str(tmp_path), {})
  m.mark("a", {"v": 1}, 1.0)
  assert json.loads((tmp_path / "manifest.json").read_text())["stages"] == {"a": {"v": 1}}
  assert not (tmp_path / "manifest.json.tmp").exists()


@pytest.mark.parametrize("mode,iterations,start", [
    ("restem", 3, "base"), ("rest", 3, "previous"), ("rft", 1, "base"), ("sft", 0, "base"),
    ("distill", 1, "base")])
def test_modes(mode, iterations, start):
  cfg = LoopConfig(mode=mode, num_iterations=3)
  assert cfg.iterations == iterations and cfg.start_from == start
  assert LoopConfig(mode=mode, init_from="previous").start_from == "previous"


@pytest.mark.parametrize("field,value", [("mode", "ppo"), ("init_from", "last"),
                                         ("on_empty", "crash"), ("num_iterations", 0)])
def test_bad_loop_config_names_the_field(field, value):
  with pytest.raises(ValueError, match=f"loop.{field}"):
    LoopConfig(**{field: value})


@pytest.mark.parametrize("field,old,new", [("verifier.timeout_s", 10.0, 20.0),
                                           ("verifier.cpu_time_s", 4.0, 1.0),
                                           ("sampler.prompts_per_batch", 8, 16)])
def test_result_changing_fields_refuse_resume(tmp_path, field, old, new):
  """Fields that change which samples are kept are not resumable changes."""
  section, key = field.split(".")
  config = lambda v: {section: {key: v}}
  m = manifest_lib.Manifest(str(tmp_path), config(old))
  m.mark("base", {"checkpoint": "x"}, 1.0)
  with pytest.raises(ValueError, match=field.replace(".", r"\.")):
    manifest_lib.Manifest(str(tmp_path), config(new))
