"""The benchmarks' --quick modes run end to end and print their RESULT line.

CI checks that they run (greedy and first-step-loss parity checks inside them
included), not the ratios: the CI machine is shared and noisy. Each script runs
in a fresh process so its thread pinning happens before JAX and torch start.
"""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="pip install -r tests/hf/requirements.txt")
pytest.importorskip("transformers")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("script,name", [
    ("sampler_vs_hf", "sampler_vs_hf"),
    ("train_vs_torch", "train_vs_torch"),
    ("packing_and_prefill", "packing_and_prefill"),
    ("estep_workload", "estep_sampler"),
])
def test_quick_benchmark_prints_result(script, name):
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # no fake devices here
  proc = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", f"{script}.py"),
                         "--quick"], cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=300, check=False)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
  last = proc.stdout.strip().splitlines()[-1]
  assert re.fullmatch(rf"RESULT {name} ratio=\d+\.\d+( \w+=\S+)*", last), last
