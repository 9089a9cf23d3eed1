"""The loop as 2 processes x 2 CPU devices (jax.distributed on localhost, gloo collectives).

Same summary as 1 process x 4 devices (wall-clock fields aside), one writer for the
run-wide files, and a run whose processes are killed mid E-step resumes to the same
summary. The base is the module's pretrained CI base (it solves some train problems, so
the E-step keeps samples and the M-step saves an Orbax checkpoint from both processes).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.loop.test_runner import _BASE_OVERRIDES, REPO, _comparable, base_dir  # noqa: F401

_RUN = dict(loop=dict(num_iterations=1), estep=dict(num_samples=4, chunk_problems=4),
            eval=dict(num_samples=2, ks=(1, 2)))


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _start(workdir, base, num_processes, devices_per_process):
  """Starts the run's processes; returns the Popen objects."""
  overrides = [f"--config.base.checkpoint={base}", "--config.loop.sft_baseline=False"]
  for section, values in {**_BASE_OVERRIDES, **_RUN}.items():
    if section != "base":
      overrides += [f"--config.{section}.{k}={v}" for k, v in values.items()]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO, JAX_PLATFORMS="cpu",
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices_per_process}")
  cmd = [sys.executable, "-m", "restem_jax.main", "--config=configs/toy_arith.py:tiny",
         f"--workdir={workdir}", *overrides]
  port = _free_port()
  procs = []
  for i in range(num_processes):
    dist = ([f"--coordinator_address=127.0.0.1:{port}", f"--num_processes={num_processes}",
             f"--process_id={i}"] if num_processes > 1 else [])
    log = open(f"{workdir}.log{i}", "w")
    procs.append(subprocess.Popen(cmd + dist, cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT))
  return procs


def _finish(procs, workdir):
  for i, p in enumerate(procs):
    rc = p.wait(timeout=900)
    assert rc == 0, open(f"{workdir}.log{i}").read()[-3000:]
  with open(os.path.join(workdir, "summary.json")) as f:
    return _comparable(json.load(f), workdir)


@pytest.fixture(scope="module")
def two_process_summary(base_dir, tmp_path_factory):
  w = tmp_path_factory.mktemp("two_proc") / "w"
  return _finish(_start(str(w), base_dir, 2, 2), str(w)), w


def test_two_processes_match_one_process(base_dir, two_process_summary, tmp_path):
  two, w2 = two_process_summary
  one = _finish(_start(str(tmp_path / "w"), base_dir, 1, 4), str(tmp_path / "w"))
  assert two["iterations"][0]["kept"] > 0 and two["iterations"][0]["updated"]
  assert two == one
  # One writer: no temporary files left, and every output exists once.
  assert sorted(os.listdir(w2)) == sorted(os.listdir(tmp_path / "w"))
  chunks = sorted(os.listdir(w2 / "iter_1" / "estep"))
  assert chunks == [f"chunk_{c:05d}.json" for c in range(8)]  # 32 problems / 4


def test_kill_one_process_mid_estep_then_rerun_resumes(base_dir, two_process_summary, tmp_path):
  reference, _ = two_process_summary
  w = str(tmp_path / "w")
  procs = _start(w, base_dir, 2, 2)
  estep_dir = os.path.join(w, "iter_1", "estep")
  deadline = time.time() + 600
  while not (os.path.isdir(estep_dir) and os.listdir(estep_dir)):
    assert time.time() < deadline and all(p.poll() is None for p in procs), "no E-step chunk"
    time.sleep(0.05)
  procs[1].send_signal(signal.SIGKILL)  # one host dies mid E-step ...
  procs[1].wait()
  procs[0].send_signal(signal.SIGKILL)  # ... and the job is torn down (its peer would hang)
  procs[0].wait()
  written = [n for n in os.listdir(estep_dir) if n.startswith("chunk_")]
  assert 0 < len(written) < 8, written
  with open(os.path.join(w, "manifest.json")) as f:
    assert "iter_1/estep" not in json.load(f)["stages"]
  assert _finish(_start(w, base_dir, 2, 2), w) == reference
