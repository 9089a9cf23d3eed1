"""A/B of a proposed engine patch on the decode program (a unified diff against restem_jax/).

The engine files belong to others, so a patch is measured without touching the
checkout: the repo's `restem_jax` and `benchmarks` are copied twice into a temp
dir, one copy gets `git apply PATCH`, and worker processes of the two copies run
alternately (A, B, B, A, ...), each timing the same decode call (median of its
repeats after compile). Same weights (seeded init), threads and shapes on both.

  python -m benchmarks.ab_patch /tmp/my_patch.diff
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(args):
  sys.path.insert(0, os.getcwd())
  from benchmarks import harness  # pylint: disable=import-outside-toplevel
  harness.pin_threads(args.threads)
  import numpy as np  # pylint: disable=import-outside-toplevel
  from benchmarks import models  # pylint: disable=import-outside-toplevel
  from benchmarks.runners import OursDecode, make_prompts  # pylint: disable=import-outside-toplevel
  mesh = models.one_device_mesh()
  cfg = models.PRESETS[args.size]
  params = models.init_params(cfg, mesh)
  prompts, lens = make_prompts(np.random.default_rng(0), cfg, args.batch, args.prompt_len, False)
  fn = OursDecode(cfg, params, mesh, prompts, lens, args.samples, args.new_tokens)
  compile_s = fn.compile()
  fn()
  t = harness.interleaved({"x": fn}, args.repeats)["x"]
  print(json.dumps({"time": t, "compile": compile_s}))


def copy_tree(dst, patch=None):
  for d in ("restem_jax", "benchmarks"):
    shutil.copytree(os.path.join(REPO, d), os.path.join(dst, d),
                    ignore=shutil.ignore_patterns("__pycache__"))
  if patch:
    subprocess.run(["git", "apply", os.path.abspath(patch)], cwd=dst, check=True)


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("patch", nargs="?")
  ap.add_argument("--worker", action="store_true")
  ap.add_argument("--threads", type=int, default=1)
  ap.add_argument("--size", default="20m")
  ap.add_argument("--batch", type=int, default=8)
  ap.add_argument("--samples", type=int, default=1)
  ap.add_argument("--prompt-len", type=int, default=256)
  ap.add_argument("--new-tokens", type=int, default=32)
  ap.add_argument("--repeats", type=int, default=3)
  ap.add_argument("--rounds", type=int, default=2)
  args = ap.parse_args()
  if args.worker:
    return worker(args)
  with tempfile.TemporaryDirectory() as tmp:
    dirs = {"base": os.path.join(tmp, "base"), "patched": os.path.join(tmp, "patched")}
    copy_tree(dirs["base"])
    copy_tree(dirs["patched"], args.patch)
    passthrough = [a for a in sys.argv[1:] if a != args.patch]
    runs = {k: [] for k in dirs}
    order = ["base", "patched"]
    for r in range(args.rounds):
      for k in (order if r % 2 == 0 else order[::-1]):
        out = subprocess.run([sys.executable, "benchmarks/ab_patch.py", "--worker", *passthrough],
                             cwd=dirs[k], capture_output=True, text=True, check=True)
        runs[k].append(json.loads(out.stdout.strip().splitlines()[-1]))
  t = {k: statistics.median(x["time"] for x in v) for k, v in runs.items()}
  c = {k: statistics.median(x["compile"] for x in v) for k, v in runs.items()}
  rows = args.batch * args.samples
  print(f"| {os.path.basename(args.patch)} | {args.size} | {args.batch} x {args.samples} | "
        f"{args.prompt_len} | {args.new_tokens} | {rows * args.new_tokens / t['base']:.0f} | "
        f"{rows * args.new_tokens / t['patched']:.0f} | {t['base'] / t['patched']:.3f} | "
        f"{c['base']:.1f} / {c['patched']:.1f} |")
  print(f"RESULT ab_patch ratio={t['base'] / t['patched']:.3f} base_s={t['base']:.3f} "
        f"patched_s={t['patched']:.3f}")


if __name__ == "__main__":
  main()
