"""Benchmark 3: packed vs padded training, and shared vs per-sample prefill.

(a) The same ReST-EM-shaped examples (see `workloads`) trained either packed
    first-fit into rows of T tokens (`packing.pack`) or one example per padded row;
    tokens/s counts real (non-padding) tokens only, so the ratio is the speed-up
    packing buys on the same data. Losses are checked equal (packing is exact).
(b) N samples per prompt with the prompt prefilled once and its KV cache repeated
    (`decode.generate(num_samples=N)`) vs the prompt repeated N times and prefilled
    per sample (`num_samples=1`), long few-shot prompt, same M new tokens.

  python -m benchmarks.packing_and_prefill            # 20M model (~6 min on 2 vCPUs)
  python -m benchmarks.packing_and_prefill --quick    # toy model (< 90 s)
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import harness  # pylint: disable=wrong-import-position


def parse_args(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--threads", type=int, default=1)
  ap.add_argument("--size", default="20m")
  ap.add_argument("--examples", type=int, default=24)
  ap.add_argument("--seq-len", type=int, default=512)
  ap.add_argument("--prompts", type=int, default=4)
  ap.add_argument("--samples", type=int, default=8)
  ap.add_argument("--prompt-len", type=int, default=256)
  ap.add_argument("--new-tokens", type=int, default=32)
  ap.add_argument("--repeats", type=int, default=3)
  args = ap.parse_args(argv)
  if args.quick:
    args.size, args.examples = "toy", 20
  return args


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import jax  # pylint: disable=wrong-import-position,wrong-import-order
import numpy as np  # pylint: disable=wrong-import-position,wrong-import-order

from benchmarks import models, workloads  # pylint: disable=wrong-import-position
from benchmarks.runners import OursDecode, OursTrain, make_prompts  # pylint: disable=wrong-import-position
from restem_jax.training import packing  # pylint: disable=wrong-import-position


def bench_packing(cfg, params, mesh, rng):
  examples = workloads.restem_examples(rng, cfg.vocab_size, ARGS.examples, ARGS.seq_len)
  packed = workloads.as_train_batch(packing.pack(examples, ARGS.seq_len))
  padded = workloads.as_train_batch(workloads.padded(examples, ARGS.seq_len))
  tokens = int((packed["segment_ids"] > 0).sum())
  assert tokens == int((padded["segment_ids"] > 0).sum())
  # Copies of the params: each train state is donated and updated in place.
  sides = {"packed": OursTrain(cfg, jax.tree.map(lambda x: x.copy(), params), mesh, packed),
           "padded": OursTrain(cfg, jax.tree.map(lambda x: x.copy(), params), mesh, padded)}
  first = {k: f() for k, f in sides.items()}
  if not np.isclose(first["packed"], first["padded"], rtol=1e-4):
    raise SystemExit(f"packed and padded first-step losses differ: {first}")
  t = harness.interleaved(sides, ARGS.repeats)
  table = harness.Table("layout", "rows x T", "real tokens", "fill", "tok/s (real)", "step s")
  for k, b in (("packed", packed), ("padded", padded)):
    rows = b["inputs"].shape[1]
    table.row(k, f"{rows} x {ARGS.seq_len}", tokens, f"{100 * tokens / (rows * ARGS.seq_len):.0f}%",
              tokens / t[k], t[k])
  return t["padded"] / t["packed"]


def bench_prefill(cfg, params, mesh, rng):
  b, n, p, m = ARGS.prompts, ARGS.samples, ARGS.prompt_len, ARGS.new_tokens
  prompts, lens = make_prompts(rng, cfg, b, p, ragged=False)
  shared = OursDecode(cfg, params, mesh, prompts, lens, n, m)
  per_sample = OursDecode(cfg, params, mesh, np.repeat(prompts, n, axis=0), np.repeat(lens, n),
                          1, m)
  c = {"shared": shared.compile(), "per-sample": per_sample.compile()}
  sides = {"shared": shared, "per-sample": per_sample}
  for f in sides.values():
    f()
  t = harness.interleaved(sides, ARGS.repeats)
  table = harness.Table("prefill", "prompts x N", "P", "M", "new tok/s", "call s", "compile s")
  for k in sides:
    table.row(k, f"{b} x {n}", p, m, b * n * m / t[k], t[k], c[k])
  return t["per-sample"] / t["shared"]


def main():
  print(f"# threads={ARGS.threads} jax={jax.__version__} size={ARGS.size} "
        f"repeats={ARGS.repeats}", flush=True)
  mesh = models.one_device_mesh()
  cfg = models.PRESETS[ARGS.size]
  params = models.init_params(cfg, mesh, head_scale=1.0)
  rng = np.random.default_rng(0)
  pack_ratio = bench_packing(cfg, params, mesh, rng)
  prefill_ratio = bench_prefill(cfg, params, mesh, rng)
  print(harness.result_line("packing_and_prefill", pack_ratio, packed_over_padded=pack_ratio,
                            shared_over_per_sample_prefill=prefill_ratio))


if __name__ == "__main__":
  main()
