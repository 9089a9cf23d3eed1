"""The tiny loop with its workdir (checkpoints included) on a non-local filesystem.

TensorFlow's in-memory `ram://` filesystem stands in for gs://: it is reachable only
through the path layer (`restem_jax.io`), so any file written with `open`/`os` would
land in a local directory named `ram:` (the test runs in an empty working directory and
checks none appears), and any output missing from ram:// was never written through the
layer. The summary must equal that of the same run on a local workdir.
"""

import os

from restem_jax import io
from restem_jax.loop import runner
from tests.loop.test_runner import _comparable, toy_arith_config
from tests.typed_config import typed

io.register_gfile_scheme("ram")


def _config():
  c = toy_arith_config.get_config("tiny")  # pretrains its base (saved in W/base), runs SFT
  c.loop.update(num_iterations=1, sft_baseline=True)
  c.estep.update(chunk_problems=8)  # 12 train problems: 2 chunks
  return c


def _same_run_fields(summary, workdir):
  s = _comparable(summary, workdir)
  s["base_meta"].pop("pretrain_seconds")  # wall clock
  return s


def test_tiny_loop_on_ram_filesystem_matches_local(tmp_path, monkeypatch):
  local_w = tmp_path / "local"
  local = _same_run_fields(runner.run(typed(_config()), str(local_w)), local_w)

  cwd = tmp_path / "cwd"
  cwd.mkdir()
  monkeypatch.chdir(cwd)
  w = "ram://remote_test/run"
  remote = _same_run_fields(runner.run(typed(_config()), w), w)
  assert os.listdir(cwd) == [], "something bypassed the path layer"
  assert remote == local

  for name in ("manifest.json", "summary.json", "metrics.jsonl", "report.md",
               "plots/pass1.png", "iter_1/estep/chunk_00000.json",
               "iter_1/estep/chunk_00001.json"):
    assert io.exists(io.join(w, name)), name
  assert io.read_json(io.join(w, "summary.json"))["base_checkpoint"] == io.join(w, "base")
  assert [n for n in io.listdir(io.join(w, "tb")) if n.startswith("events.out")]
  for ckpt in ("base", "sft"):  # Orbax checkpoints (pretrained base, SFT M-step)
    assert io.listdir(io.join(w, ckpt)) == sorted(os.listdir(local_w / ckpt)), ckpt
  assert sorted(os.listdir(local_w)) == io.listdir(w)  # same files in both workdirs
  # A rerun resumes from the ram:// manifest (every stage done), restoring the base.
  again = _same_run_fields(runner.run(typed(_config()), w), w)
  assert again == remote
