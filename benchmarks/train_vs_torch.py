"""Benchmark 2: restem_jax's jitted train step vs a plain PyTorch training loop.

Same model (HF `LlamaForCausalLM` holding our exported weights, sdpa attention),
same packed batch (segment ids become a 4D block-causal mask plus position ids on
the PyTorch side), same loss (reward-weighted NLL summed over target tokens,
divided by the target-token count), global-norm clipping at 1.0 and AdamW
(b1 0.9, b2 0.95, weight decay 0.1 on matrices). The first-step losses are
checked equal. fp32, same pinned threads, interleaved repeats, median.
MFU = 6 x params x tokens / time / (fp32 matmul peak measured in this run).

  python -m benchmarks.train_vs_torch            # 20M and 100M (~8 min on 2 vCPUs)
  python -m benchmarks.train_vs_torch --quick    # toy model (< 90 s)
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
  ap.add_argument("--sizes", default="20m,100m")
  ap.add_argument("--seq-len", type=int, default=256)
  ap.add_argument("--rows", default="20m:4,100m:2,toy:8", help="packed rows per size")
  ap.add_argument("--repeats", type=int, default=3)
  args = ap.parse_args(argv)
  if args.quick:
    args.sizes, args.repeats = "toy", 3
  return args


ARGS = parse_args()
harness.pin_threads(ARGS.threads)

import jax  # pylint: disable=wrong-import-position,wrong-import-order
import numpy as np  # pylint: disable=wrong-import-position,wrong-import-order
import torch  # pylint: disable=wrong-import-position,wrong-import-order

from benchmarks import models, workloads  # pylint: disable=wrong-import-position
from benchmarks.runners import OPT, OursTrain as Ours  # pylint: disable=wrong-import-position
from restem_jax.training import packing  # pylint: disable=wrong-import-position


class TorchLoop:
  """model(inputs) -> weighted NLL -> backward -> clip -> AdamW, in plain PyTorch."""

  def __init__(self, model, batch):
    self.model = model.train()
    seg = torch.from_numpy(batch["segment_ids"][0]).long()
    t = seg.shape[1]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    mask = causal[None] & (seg[:, :, None] == seg[:, None, :]) & (seg != 0)[:, None, :]
    mask |= torch.eye(t, dtype=torch.bool)[None]  # pad queries see themselves (no NaN rows)
    self.mask = mask[:, None]
    self.ids = torch.from_numpy(batch["inputs"][0]).long()
    self.pos = torch.from_numpy(batch["positions"][0]).long()
    self.targets = torch.from_numpy(batch["targets"][0]).long()
    self.weights = torch.from_numpy(batch["weights"][0])
    self.ntok = float(batch["loss_mask"].sum())
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    # Our schedule warms up over 1 step (lr 0 at step 0); lr is irrelevant to speed.
    self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPT.weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}],
                                 lr=OPT.learning_rate, betas=(OPT.b1, OPT.b2))

  def __call__(self):
    logits = self.model(self.ids, attention_mask=self.mask, position_ids=self.pos).logits
    logp = torch.log_softmax(logits.float(), dim=-1)
    nll = -(logp.gather(-1, self.targets[..., None])[..., 0] * self.weights).sum()
    loss = nll / max(self.ntok, 1.0)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(self.model.parameters(), OPT.grad_clip_norm)
    self.opt.step()
    self.opt.zero_grad(set_to_none=True)
    return float(loss.detach())


def packed_batch(cfg, rows, seq_len, rng):
  """Fill `rows` rows of `seq_len` with ReST-EM-shaped examples, first-fit packed."""
  examples = workloads.restem_examples(rng, cfg.vocab_size, 4 * rows * seq_len // 100, seq_len)
  kept = []
  for ex in examples:
    try:
      packing.pack(kept + [ex], seq_len, num_rows=rows)
      kept.append(ex)
    except ValueError:
      continue
  return workloads.as_train_batch(packing.pack(kept, seq_len, num_rows=rows)), len(kept)


def main():
  print(f"# threads={ARGS.threads} jax={jax.__version__} torch={torch.__version__} "
        f"T={ARGS.seq_len} repeats={ARGS.repeats}", flush=True)
  peak = harness.matmul_peak_flops()["peak"]
  print(f"# fp32 matmul peak {peak / 1e9:.1f} GFLOP/s", flush=True)
  mesh = models.one_device_mesh()
  rows_by_size = dict((k, int(v)) for k, v in (kv.split(":") for kv in ARGS.rows.split(",")))
  table = harness.Table("model", "params", "rows x T", "examples", "real tokens", "ours tok/s",
                        "torch tok/s", "ours/torch", "ours MFU", "torch MFU", "ours compile s")
  ratios = []
  for size in ARGS.sizes.split(","):
    cfg = models.PRESETS[size]
    params = models.init_params(cfg, mesh, head_scale=1.0)
    model = models.hf_peer(cfg, params)
    batch, n_ex = packed_batch(cfg, rows_by_size[size], ARGS.seq_len, np.random.default_rng(0))
    tokens = int((batch["segment_ids"] > 0).sum())
    ours, peer = Ours(cfg, params, mesh, batch), TorchLoop(model, batch)
    t0 = time.perf_counter()
    loss_ours = ours()
    compile_s = time.perf_counter() - t0
    loss_peer = peer()
    if not np.isclose(loss_ours, loss_peer, rtol=1e-4):
      raise SystemExit(f"first-step losses differ: ours {loss_ours} vs torch {loss_peer}")
    t = harness.interleaved({"ours": ours, "torch": peer}, ARGS.repeats)
    ratio = t["torch"] / t["ours"]
    ratios.append(ratio)
    flops = 6.0 * cfg.num_params() * tokens
    table.row(size, f"{cfg.num_params() / 1e6:.1f}M", f"{rows_by_size[size]} x {ARGS.seq_len}",
              n_ex, tokens, tokens / t["ours"], tokens / t["torch"], ratio,
              f"{100 * flops / t['ours'] / peak:.1f}%", f"{100 * flops / t['torch'] / peak:.1f}%",
              compile_s)
    print(f"# {size}: first-step loss ours {loss_ours:.6f} torch {loss_peer:.6f}", flush=True)
  print(harness.result_line("train_vs_torch", min(ratios), min_ratio=min(ratios),
                            peak_gflops=peak / 1e9))


if __name__ == "__main__":
  main()
