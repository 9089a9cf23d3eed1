"""Benchmark 1: restem_jax's compiled decode loop vs Hugging Face `generate` (PyTorch CPU).

Both sides hold identical fp32 weights (ours exported through `hf_convert`), run in
this one process on the same pinned threads, and generate exactly M new tokens per
row (ours: an EOS id that never occurs; HF: min_new_tokens = max_new_tokens) with
temperature 0.7 and top-k 40. Greedy outputs are checked identical first (on
prompts of different lengths, so left padding is exercised on both sides).
Compile time is measured separately and excluded from tokens/s.

  python -m benchmarks.sampler_vs_hf            # full grid (~10 min on 2 vCPUs)
  python -m benchmarks.sampler_vs_hf --quick    # toy model only (< 90 s)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import harness  # pylint: disable=wrong-import-position


def parse_args(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--threads", type=int, default=1,
                  help="threads for both sides (1: the 2 vCPUs are shared with other jobs)")
  ap.add_argument("--sizes", default="toy,20m,100m")
  ap.add_argument("--batches", default="1,8,32,128")
  ap.add_argument("--max-rows", default="100m:32",
                  help="size:rows caps (the 100M model is slow on this CPU)")
  ap.add_argument("--prompt-len", type=int, default=32)
  ap.add_argument("--new-tokens", type=int, default=32)
  ap.add_argument("--samples", type=int, default=8, help="N for the shared-prefill rows")
  ap.add_argument("--repeats", type=int, default=3)
  args = ap.parse_args(argv)
  if args.quick:
    args.sizes, args.batches, args.prompt_len, args.new_tokens, args.repeats = (
        "toy", "1,8,32", 32, 32, 3)
  return args


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import jax  # pylint: disable=wrong-import-position,wrong-import-order
import numpy as np  # pylint: disable=wrong-import-position,wrong-import-order
import torch  # pylint: disable=wrong-import-position,wrong-import-order

from benchmarks import models  # pylint: disable=wrong-import-position
from benchmarks.runners import TEMPERATURE, TOP_K, make_prompts  # pylint: disable=wrong-import-position
from benchmarks.runners import OursDecode as Ours  # pylint: disable=wrong-import-position


def hf_generate(model, prompts_BxP, lens_B, num_samples, new_tokens, do_sample=True):
  p = prompts_BxP.shape[1]
  mask = (np.arange(p)[None] >= (p - lens_B)[:, None]).astype(np.int64)
  ids, mask = torch.from_numpy(prompts_BxP.astype(np.int64)), torch.from_numpy(mask)
  kw = dict(do_sample=True, temperature=TEMPERATURE, top_k=TOP_K, top_p=1.0,
            num_return_sequences=num_samples) if do_sample else dict(do_sample=False)

  def run():
    with torch.inference_mode():
      out = model.generate(ids, attention_mask=mask, max_new_tokens=new_tokens,
                           min_new_tokens=new_tokens, pad_token_id=0, eos_token_id=1, **kw)
    assert out.shape[1] == p + new_tokens, out.shape
    return out[:, p:].numpy()
  return run


def check_greedy(cfg, params, model, mesh, rng):
  prompts, lens = make_prompts(rng, cfg, 4, 24, ragged=True)
  ours = np.asarray(Ours(cfg, params, mesh, prompts, lens, 1, 16, temperature=0.0, top_k=1)())
  peer = hf_generate(model, prompts, lens, 1, 16, do_sample=False)()
  if not np.array_equal(ours, peer):
    raise SystemExit(f"greedy outputs differ:\nours={ours}\nhf={peer}")
  return ours.size


def decode_flops(cfg, rows, prefill_rows, p, m):
  """Useful model FLOPs: prefill of prefill_rows x p tokens, then rows x m decode steps."""
  pre = prefill_rows * sum(cfg.flops_per_token(i + 1) for i in range(p))
  dec = rows * sum(cfg.flops_per_token(p + t + 1) for t in range(m))
  return pre + dec


def main():
  print(f"# threads={ARGS.threads} jax={jax.__version__} torch={torch.__version__} "
        f"P={ARGS.prompt_len} M={ARGS.new_tokens} repeats={ARGS.repeats}", flush=True)
  peak = harness.matmul_peak_flops()
  print(f"# fp32 matmul peak: jax {peak['jax'] / 1e9:.1f} GFLOP/s, torch "
        f"{peak['torch'] / 1e9:.1f} GFLOP/s -> peak {peak['peak'] / 1e9:.1f}", flush=True)
  mesh = models.one_device_mesh()
  rng = np.random.default_rng(0)
  table = harness.Table("model", "params", "prompts x N", "rows", "ours tok/s", "HF tok/s",
                        "ours/HF", "ours % peak", "ours compile s")
  ratios, compiles = [], {}
  p, m = ARGS.prompt_len, ARGS.new_tokens
  for size in ARGS.sizes.split(","):
    cfg = models.PRESETS[size]
    params = models.init_params(cfg, mesh)
    model = models.hf_peer(cfg, params)
    print(f"# {size}: greedy check, {check_greedy(cfg, params, model, mesh, rng)} tokens "
          "identical to HF", flush=True)
    cap = dict(kv.split(":") for kv in ARGS.max_rows.split(",") if kv).get(size)
    grid = [(b, 1) for b in map(int, ARGS.batches.split(",")) if cap is None or b <= int(cap)]
    n = ARGS.samples
    grid.append((max(max(b for b, _ in grid) // n, 1), n))
    for prompts_b, n in grid:
      rows = prompts_b * n
      prompts, lens = make_prompts(rng, cfg, prompts_b, p, ragged=False)
      ours = Ours(cfg, params, mesh, prompts, lens, n, m)
      compile_s = ours.compile()
      compiles[(size, rows, n)] = compile_s
      peer = hf_generate(model, prompts, lens, n, m)
      ours(), peer()  # warm-up (caches, allocator) outside the timed repeats
      t = harness.interleaved({"ours": ours, "hf": peer}, ARGS.repeats)
      ratio = t["hf"] / t["ours"]
      if rows >= 8:
        ratios.append(ratio)
      frac = decode_flops(cfg, rows, prompts_b, p, m) / t["ours"] / peak["peak"]
      table.row(size, f"{cfg.num_params() / 1e6:.1f}M", f"{prompts_b} x {n}", rows,
                rows * m / t["ours"], rows * m / t["hf"], ratio, f"{100 * frac:.1f}%", compile_s)
  worst = min(ratios) if ratios else float("nan")
  print(harness.result_line("sampler_vs_hf", worst, min_ratio_batch_ge8=worst,
                            median_ratio=statistics.median(ratios) if ratios else float("nan"),
                            max_compile_s=max(compiles.values()),
                            peak_gflops=peak["peak"] / 1e9))


if __name__ == "__main__":
  main()
