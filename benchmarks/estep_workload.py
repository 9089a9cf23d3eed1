"""Benchmark: the E-step workload, our sampler (cascade and repeat engines) vs HF `generate`.

Problems share one few-shot prefix (~512 tokens) and differ in a 30-120 token
question suffix; each is sampled N times (N = 8, 32) for up to M = 128 new tokens and
every row ends at a stop string. Weights are random, so the stop is a token the model
really emits: a pilot run picks the token whose per-step frequency is closest to
1/`--mean-len`, and its text (e.g. "<417>") is the stop string, which gives geometric,
varied output lengths. Both sides use the same synthetic word-level tokenizer
(id i <-> "<i>"): ours through the sampler's on-device stop matching, HF through
`generate(stop_strings=..., tokenizer=...)` with `num_return_sequences=N`. Same fp32
weights, same pinned threads, one process, interleaved round-robin. Throughput counts
generated tokens up to and including the stop (what a row really produces).

  python -m benchmarks.estep_workload                 # toy + 20m, N=8,32 (slow on 2 vCPUs)
  python -m benchmarks.estep_workload --quick         # toy, N=4, small prefix (CI)

Last line: RESULT estep_sampler ratio=<min ours(cascade)/HF tokens/s> kv_growth=<our
cascade KV bytes at N=32 / at N=1 for the same batch of problems> kv_bound=<1.1 x
(P + 32 M) / (P + M), P = mean prompt tokens>.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import harness  # pylint: disable=wrong-import-position


def parse_args(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--threads", type=int, default=1)
  ap.add_argument("--sizes", default="toy,20m")
  ap.add_argument("--samples", default="8,32")
  ap.add_argument("--problems", type=int, default=64)
  ap.add_argument("--per-batch", type=int, default=8, help="problems per device call (ours)")
  ap.add_argument("--prefix", type=int, default=512)
  ap.add_argument("--suffix", default="30,120")
  ap.add_argument("--new-tokens", type=int, default=128)
  ap.add_argument("--mean-len", type=float, default=48.0)
  ap.add_argument("--repeats", type=int, default=2)
  args = ap.parse_args(argv)
  if args.quick:
    (args.sizes, args.samples, args.problems, args.per_batch, args.prefix, args.suffix,
     args.new_tokens, args.repeats, args.mean_len) = ("toy", "4", 4, 4, 128, "8,24", 32, 1, 12.0)
  return args


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import numpy as np  # pylint: disable=wrong-import-position,wrong-import-order
import torch  # pylint: disable=wrong-import-position,wrong-import-order

from benchmarks import models  # pylint: disable=wrong-import-position
from benchmarks.estep_parts import WordVocab, hf_tokenizer, pick_stop_token  # pylint: disable=wrong-import-position
from restem_jax.sampling import cascade  # pylint: disable=wrong-import-position
from restem_jax.sampling.sampler import Sampler, SamplerConfig  # pylint: disable=wrong-import-position
from restem_jax.sampling.strategies import SamplingParams  # pylint: disable=wrong-import-position

SP = SamplingParams(temperature=0.7, top_k=40)


def make_prompts(rng, vocab_size, stop_id):
  lo, hi = map(int, ARGS.suffix.split(","))
  ids = np.arange(3, vocab_size)
  ids = ids[ids != stop_id]
  prefix = rng.choice(ids, ARGS.prefix)
  return [np.concatenate([prefix, rng.choice(ids, rng.integers(lo, hi + 1))]).astype(np.int32)
          for _ in range(ARGS.problems)]


def rows_generated(tokens_RxM, stop_id):
  """Tokens per row up to and including the first stop token (M when none)."""
  hit = tokens_RxM == stop_id
  return np.where(hit.any(1), hit.argmax(1) + 1, tokens_RxM.shape[1])


class Ours:
  def __init__(self, cfg, params, mesh, vocab, prompts, n, engine, stop, new_tokens=None):
    longest = max(len(p) for p in prompts)
    # Cascade pads only each prompt's suffix (64/128); the sampler still requires the whole
    # prompt to fit some bucket, so the longest prompt's length (rounded up to 64) is one too.
    buckets = (tuple(sorted({64, 128, -(-longest // 64) * 64})) if engine == "cascade"
               else (longest,))
    self.sampler = Sampler(cfg, vocab, SamplerConfig(
        prompt_buckets=buckets, max_new_tokens=new_tokens or ARGS.new_tokens,
        prompts_per_batch=ARGS.per_batch, engine=engine), mesh, models.RULES)
    self.args = (params, prompts, list(range(len(prompts))), n, SP)
    self.stop, self.tokens, self.seed = stop, 0, 0

  def __call__(self):
    self.seed += 1
    out = self.sampler.sample(*self.args, seed=self.seed, stop_sequences=(self.stop,))
    self.tokens = int(out.lengths.sum())
    return out


class HF:
  def __init__(self, model, tok, prompts, n, stop, stop_id):
    self.model, self.tok, self.prompts, self.n = model, tok, prompts, n
    self.stop, self.stop_id, self.tokens = stop, stop_id, 0

  def __call__(self):
    total = 0
    for p in self.prompts:  # one problem per call: N return sequences of one prompt
      ids = torch.from_numpy(p.astype(np.int64))[None]
      with torch.inference_mode():
        out = self.model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                  temperature=SP.temperature, top_k=SP.top_k, top_p=1.0,
                                  num_return_sequences=self.n, max_new_tokens=ARGS.new_tokens,
                                  stop_strings=[self.stop], tokenizer=self.tok, pad_token_id=0,
                                  eos_token_id=None)
      total += int(rows_generated(out[:, len(p):].numpy(), self.stop_id).sum())
    self.tokens = total


def run_config(size, cfg, params, model, mesh, vocab, tok, stop, stop_id, prompts, n, table,
               peak):
  ours = {e: Ours(cfg, params, mesh, vocab, prompts, n, e, stop) for e in ("cascade", "repeat")}
  peer = HF(model, tok, prompts, n, stop, stop_id)
  for fn in (*ours.values(), peer):
    fn()  # compile / warm-up
  fns = {"cascade": ours["cascade"], "repeat": ours["repeat"], "hf": peer}
  counts = {k: [] for k in fns}

  def counted(k):
    def run():
      fns[k]()
      counts[k].append(fns[k].tokens)
    return run
  t = harness.interleaved({k: counted(k) for k in fns}, ARGS.repeats)
  tps = {k: np.median(counts[k]) / t[k] for k in fns}
  # Coarse profile: the same call with M = 1 is prefill (prefix once, suffixes) + one token.
  first = Ours(cfg, params, mesh, vocab, prompts, n, "cascade", stop, new_tokens=1)
  first()
  prefill_s = harness.min_time(first, 1)
  p_mean = float(np.mean([len(p) for p in prompts]))
  p0 = cascade.shared_prefix_len(prompts)
  b = ARGS.per_batch
  ps = 128 if max(len(p) for p in prompts) - p0 > 64 else 64
  kv = {e: cascade.cache_bytes(cfg, p0, b, ps, n, ARGS.new_tokens) for e in ("cascade",)}
  kv_repeat = 2 * cfg.num_layers * b * n * (max(len(p) for p in prompts) + ARGS.new_tokens) * \
      cfg.num_kv_heads * cfg.head_dim * 4
  mean_out = float(np.median(counts["cascade"])) / len(prompts) / n
  flops = (sum(cfg.flops_per_token(i + 1) for i in range(p0))  # prefix, once
           + sum(cfg.flops_per_token(i + 1) for p in prompts for i in range(p0, len(p)))
           + len(prompts) * n * sum(cfg.flops_per_token(int(p_mean) + 1 + t_)
                                    for t_ in range(int(mean_out))))
  table.row(size, f"{cfg.num_params() / 1e6:.1f}M", f"{len(prompts)} x {n}",
            f"{mean_out:.1f}", tps["cascade"],
            tps["repeat"], tps["hf"], tps["cascade"] / tps["hf"], tps["repeat"] / tps["hf"],
            f"{100 * flops / t['cascade'] / peak:.1f}%", f"{kv['cascade'] / 2**20:.1f}",
            f"{kv_repeat / 2**20:.1f}", f"{prefill_s:.2f} / {t['cascade'] - prefill_s:.2f}")
  return tps["cascade"] / tps["hf"], p0, ps, p_mean


def main():
  print(f"# threads={ARGS.threads} problems={ARGS.problems} prefix={ARGS.prefix} "
        f"suffix={ARGS.suffix} M={ARGS.new_tokens} per_batch={ARGS.per_batch} "
        f"repeats={ARGS.repeats}", flush=True)
  peak = harness.matmul_peak_flops()["peak"]
  print(f"# fp32 matmul peak {peak / 1e9:.1f} GFLOP/s (machine shared: figures contended)")
  mesh = models.one_device_mesh()
  rng = np.random.default_rng(0)
  table = harness.Table("model", "params", "problems x N", "mean out tokens", "cascade tok/s",
                        "repeat tok/s", "HF tok/s", "cascade/HF", "repeat/HF",
                        "cascade % peak", "cascade KV MiB/batch", "repeat KV MiB/batch",
                        "cascade prefill / decode s")
  ratios, growth = [], []
  for size in ARGS.sizes.split(","):
    cfg = models.PRESETS[size]
    cfg = cfg.__class__(**{**cfg.__dict__, "max_len": 1024})
    params = models.init_params(cfg, mesh, head_scale=1.0)
    model = models.hf_peer(cfg, params)
    vocab = WordVocab(cfg.vocab_size)
    tok = hf_tokenizer(cfg.vocab_size)
    stop_id = pick_stop_token(cfg, params, mesh, vocab, rng, 1.0 / ARGS.mean_len)
    stop = vocab.decode([stop_id])
    prompts = make_prompts(rng, cfg.vocab_size, stop_id)
    print(f"# {size}: stop string {stop!r}", flush=True)
    for n in map(int, ARGS.samples.split(",")):
      ratio, p0, ps, p_mean = run_config(size, cfg, params, model, mesh, vocab, tok, stop,
                                         stop_id, prompts, n, table, peak)
      ratios.append(ratio)
    b, m = ARGS.per_batch, ARGS.new_tokens
    growth.append(cascade.cache_bytes(cfg, p0, b, ps, 32, m) / cascade.cache_bytes(cfg, p0, b, ps,
                                                                                   1, m))
  bound = 1.1 * (p_mean + 32 * ARGS.new_tokens) / (p_mean + ARGS.new_tokens)
  per_problem = (p0 + ps + 32 * ARGS.new_tokens) / (p0 + ps + ARGS.new_tokens)
  print(f"# kv_growth per problem (its prefix+suffix+samples): {per_problem:.2f}")
  print(harness.result_line("estep_sampler", min(ratios), kv_growth=max(growth),
                            kv_bound=bound, kv_growth_per_problem=per_problem))


if __name__ == "__main__":
  started = time.time()
  main()
  print(f"# wall {time.time() - started:.0f} s", file=sys.stderr)
