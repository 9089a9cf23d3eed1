"""The command line: a tiny end-to-end run, clear errors for bad overrides and configs."""

import json
import os
import subprocess
import sys

import pytest

from restem_jax.config import schema
from restem_jax.from_dict import from_dict
from restem_jax.model.config import ModelConfig

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _main(*args, workdir):
  env = dict(os.environ, XLA_FLAGS="", PYTHONPATH=REPO)
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the console a newcomer sees: nothing set by hand
  return subprocess.run([sys.executable, "-m", "restem_jax.main",
                         "--config=configs/toy_arith.py:tiny", f"--workdir={workdir}", *args],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_tiny_run_writes_summary_and_reruns_from_manifest(tmp_path):
  r = _main(workdir=tmp_path)
  assert r.returncode == 0, r.stderr[-3000:]
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert summary["task"] == "toy_arith" and summary["mode"] == "restem"
  assert 0.0 <= summary["base"]["test_pass1"] <= 1.0
  assert sum(v["n"] for v in summary["base"]["per_difficulty"].values()) == 12
  assert summary["base_meta"]["pretrain_steps"] == 4
  assert "best iteration (by validation reward)" in r.stdout
  # The first screen is the run, not TensorFlow/CUDA start-up noise or JAX's backend probing.
  for noise in ("cuInit", "cudart_stub", "oneDNN", "absl::InitializeLog", "Unable to initialize backend"):
    assert noise not in r.stderr, f"console shows start-up noise {noise!r}:\n{r.stderr[:2000]}"
  # A second run of the same command finds every stage done and rewrites the same summary.
  r2 = _main(workdir=tmp_path)
  assert r2.returncode == 0, r2.stderr[-3000:]
  assert "stage base: already done" in r2.stderr
  assert json.loads((tmp_path / "summary.json").read_text()) == summary


def test_mistyped_override_names_the_field(tmp_path):
  r = _main("--config.sampler.temprature=0.5", workdir=tmp_path)
  assert r.returncode != 0
  assert "temprature" in r.stderr


def test_override_of_wrong_type_is_rejected(tmp_path):
  r = _main("--config.sampler.top_k=many", workdir=tmp_path)
  assert r.returncode != 0
  assert "top_k" in r.stderr


def test_unknown_dataclass_field_names_the_section():
  with pytest.raises(ValueError, match=r"config\.model\.widht is not a field; model accepts \["):
    schema.build({"model": {"widht": 3}})
  with pytest.raises(ValueError, match=r"config\.model is invalid"):
    from_dict(ModelConfig, {"num_heads": 3, "num_kv_heads": 2}, "config.model")
