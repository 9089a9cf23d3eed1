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

Our engines: "end-of-batch" = cascade with one row per sample (a call lasts as long as
its longest sample; the default, sampler.slots_per_problem=0), "refill" = cascade with
B x S slots per call of B problems, taking the call's B x N samples from one queue
(`--slots` S, sampler.slots_per_problem; continuous batching, sampling/refill.py),
"repeat" = the earlier engine. Row-steps = rows x decode steps the device paid
(`SamplerOutput.decode_row_steps`) vs tokens generated.

  python -m benchmarks.estep_workload                 # toy + 20m, N=8,32 (slow on 2 vCPUs)
  python -m benchmarks.estep_workload --sizes smollm2  # SmolLM2-135M's real weights
  python -m benchmarks.estep_workload --quick         # toy, N=4, small prefix (CI)

SmolLM2 keeps the synthetic word-level tokenizer (prompts are random token ids either
way); only its weights are real, so its stop token is picked by the same pilot.

Last line: RESULT estep_sampler ratio=<min ours(end-of-batch)/HF tokens/s> kv_growth=<our
cascade KV bytes at N=32 / at N=1 for the same batch of problems> kv_bound=<1.1 x
(P + 32 M) / (P + M), P = mean prompt tokens> ratio_refill=<min refill/HF>
refill_vs_eob=<min refill/end-of-batch tokens/s> kv_growth_refill=<as kv_growth, refill>.
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
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--threads", type=int, default=1)
  ap.add_argument("--sizes", default="toy,20m",
                  help="comma list of toy, 20m, 100m (random weights) and smollm2 "
                       "(SmolLM2-135M-Instruct's real weights, imported into --ckpt)")
  ap.add_argument("--ckpt", default=os.path.join(tempfile.gettempdir(), "smollm2_135m_ckpt"))
  ap.add_argument("--samples", default="8,32")
  ap.add_argument("--slots", default="2,8", help="refill slots per problem, one per --samples")
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
     args.new_tokens, args.repeats, args.mean_len, args.slots) = ("toy", "4", 4, 4, 128, "8,24",
                                                                  32, 1, 12.0, "2")
  return args


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import numpy as np  # pylint: disable=wrong-import-position,wrong-import-order
import torch  # pylint: disable=wrong-import-position,wrong-import-order

from benchmarks import models  # pylint: disable=wrong-import-position
from benchmarks.estep_profile import step_parts_ms  # pylint: disable=wrong-import-position
from benchmarks.estep_parts import WordVocab, hf_tokenizer, pick_stop_token  # pylint: disable=wrong-import-position
from restem_jax.model import kv_cache  # pylint: disable=wrong-import-position
from restem_jax.sampling import cascade, refill  # pylint: disable=wrong-import-position
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
  def __init__(self, cfg, params, mesh, vocab, prompts, n, engine, stop, new_tokens=None,
               slots=0):
    longest = max(len(p) for p in prompts)
    # Cascade pads only each prompt's suffix (64/128); the sampler still requires the whole
    # prompt to fit some bucket, so the longest prompt's length (rounded up to 64) is one too.
    buckets = (tuple(sorted({64, 128, -(-longest // 64) * 64})) if engine == "cascade"
               else (longest,))
    self.sampler = Sampler(cfg, vocab, SamplerConfig(
        prompt_buckets=buckets, max_new_tokens=new_tokens or ARGS.new_tokens,
        prompts_per_batch=ARGS.per_batch, engine=engine, slots_per_problem=slots), mesh,
        models.RULES)
    self.args = (params, prompts, list(range(len(prompts))), n, SP)
    self.stop, self.tokens, self.row_steps, self.seed = stop, 0, 0, 0

  def __call__(self):
    self.seed += 1
    out = self.sampler.sample(*self.args, seed=self.seed, stop_sequences=(self.stop,))
    self.tokens, self.row_steps = int(out.lengths.sum()), out.decode_row_steps
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


def run_config(size, cfg, params, model, mesh, vocab, tok, stop, stop_id, prompts, n, slots,
               table, profile, peak):
  """One (size, N) row of each table; returns {engine: ours/HF} and the cache geometry."""
  ours = {"end-of-batch": Ours(cfg, params, mesh, vocab, prompts, n, "cascade", stop),
          "refill": Ours(cfg, params, mesh, vocab, prompts, n, "cascade", stop, slots=slots),
          "repeat": Ours(cfg, params, mesh, vocab, prompts, n, "repeat", stop)}
  fns = {**ours, "hf": HF(model, tok, prompts, n, stop, stop_id)}
  for fn in fns.values():
    fn()  # compile / warm-up
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
  b, m = ARGS.per_batch, ARGS.new_tokens
  ps = 128 if max(len(p) for p in prompts) - p0 > 64 else 64
  kv = {"end-of-batch": cascade.cache_bytes(cfg, p0, b, ps, n, m),
        "refill": refill.cache_bytes(cfg, p0, b, ps, slots, m),
        "repeat": kv_cache.cache_bytes(cfg, b * n, max(len(p) for p in prompts) + m)}
  mean_out = float(np.median(counts["end-of-batch"])) / len(prompts) / n
  flops = (sum(cfg.flops_per_token(i + 1) for i in range(p0))  # prefix, once
           + sum(cfg.flops_per_token(i + 1) for p in prompts for i in range(p0, len(p)))
           + len(prompts) * n * sum(cfg.flops_per_token(int(p_mean) + 1 + t_)
                                    for t_ in range(int(mean_out))))
  eob, ref = "end-of-batch", "refill"
  table.row(size, f"{cfg.num_params() / 1e6:.1f}M", f"{len(prompts)} x {n}", slots,
            f"{mean_out:.1f}", tps[eob], tps[ref], tps["repeat"], tps["hf"],
            tps[eob] / tps["hf"], tps[ref] / tps["hf"], tps["repeat"] / tps["hf"],
            tps[ref] / tps[eob], f"{100 * flops / t[eob] / peak:.1f}%",
            f"{100 * flops / t[ref] / peak:.1f}%",
            " / ".join(f"{kv[k] / 2**20:.1f}" for k in (eob, ref, "repeat")),
            f"{prefill_s:.2f} / {t[eob] - prefill_s:.2f}")
  stop_table = ours[eob].sampler.stop_table((stop,))
  for k, rows_per_problem in ((eob, n), (ref, slots)):
    steps = ours[k].row_steps / (b * rows_per_problem)  # loop iterations, all calls
    parts = step_parts_ms(cfg, params, stop_table, prefix_len=p0, suffix_len=ps, problems=b,
                          rows_per_problem=rows_per_problem, new_tokens=m, top_k=SP.top_k,
                          pooled=k == ref,
                          repeats=3 if ARGS.quick else 20)
    per_step = 1e3 * (t[k] - prefill_s) / steps
    profile.append((size, f"{len(prompts)} x {n}", k, b * rows_per_problem, ours[k].tokens,
                    ours[k].row_steps, f"{ours[k].tokens / ours[k].row_steps:.2f}",
                    f"{per_step:.2f}",
                    *(f"{parts[p]:.2f}" for p in ("model", "attention", "select", "stops")),
                    f"{per_step - parts['model'] - parts['select'] - parts['stops']:.2f}"))
  return {k: tps[k] / tps["hf"] for k in ours} | {"refill_vs_eob": tps[ref] / tps[eob]}, (
      p0, ps, p_mean)


def main():
  print(f"# threads={ARGS.threads} problems={ARGS.problems} prefix={ARGS.prefix} "
        f"suffix={ARGS.suffix} M={ARGS.new_tokens} per_batch={ARGS.per_batch} "
        f"slots={ARGS.slots} repeats={ARGS.repeats}", flush=True)
  peak = harness.matmul_peak_flops()["peak"]
  print(f"# fp32 matmul peak {peak / 1e9:.1f} GFLOP/s (machine shared: figures contended)")
  mesh = models.one_device_mesh()
  rng = np.random.default_rng(0)
  table = harness.Table("model", "params", "problems x N", "refill S", "mean out tokens",
                        "end-of-batch tok/s", "refill tok/s", "repeat tok/s", "HF tok/s",
                        "end-of-batch/HF", "refill/HF", "repeat/HF", "refill/end-of-batch",
                        "end-of-batch % peak", "refill % peak",
                        "KV MiB/call end-of-batch / refill / repeat",
                        "end-of-batch prefill / decode s")
  ratios, growth, profile = [], [], []
  samples, slots = [list(map(int, a.split(","))) for a in (ARGS.samples, ARGS.slots)]
  if len(samples) != len(slots):
    raise SystemExit(f"--slots={ARGS.slots} needs one value per --samples={ARGS.samples}")
  for size in ARGS.sizes.split(","):
    cfg, params = models.load_size(size, mesh, ARGS.ckpt)
    model = models.hf_peer(cfg, params)
    vocab = WordVocab(cfg.vocab_size)
    tok = hf_tokenizer(cfg.vocab_size)
    stop_id = pick_stop_token(cfg, params, mesh, vocab, rng, 1.0 / ARGS.mean_len)
    stop = vocab.decode([stop_id])
    prompts = make_prompts(rng, cfg.vocab_size, stop_id)
    print(f"# {size}: stop string {stop!r}", flush=True)
    for n, s in zip(samples, slots):
      r, (p0, ps, p_mean) = run_config(size, cfg, params, model, mesh, vocab, tok, stop, stop_id,
                                       prompts, n, s, table, profile, peak)
      ratios.append(r)
    b, m = ARGS.per_batch, ARGS.new_tokens
    n1 = cascade.cache_bytes(cfg, p0, b, ps, 1, m)
    growth.append((cascade.cache_bytes(cfg, p0, b, ps, 32, m) / n1,
                   refill.cache_bytes(cfg, p0, b, ps, min(slots[-1], 32), m) / n1))
  print("\nWhere decode time goes (ms per loop iteration; parts timed alone at the same shapes):")
  ptable = harness.Table("model", "problems x N", "engine", "rows", "tokens", "row-steps",
                         "tokens / row-step", "ms / step", "model ms", "of which attention ms",
                         "select ms", "stops ms", "rest ms")
  for row in profile:
    ptable.row(*row)
  bound = 1.1 * (p_mean + 32 * ARGS.new_tokens) / (p_mean + ARGS.new_tokens)
  per_problem = (p0 + ps + 32 * ARGS.new_tokens) / (p0 + ps + ARGS.new_tokens)
  print(f"# kv_growth per problem (its prefix+suffix+samples): {per_problem:.2f}")
  print(harness.result_line(
      "estep_sampler", min(r["end-of-batch"] for r in ratios),
      kv_growth=max(g[0] for g in growth), kv_bound=bound, kv_growth_per_problem=per_problem,
      ratio_refill=min(r["refill"] for r in ratios),
      refill_vs_eob=min(r["refill_vs_eob"] for r in ratios),
      kv_growth_refill=max(g[1] for g in growth)))


if __name__ == "__main__":
  started = time.time()
  main()
  print(f"# wall {time.time() - started:.0f} s", file=sys.stderr)
