"""Per-program memory and FLOPs from a compiled executable, and what to change when it does not fit."""

from __future__ import annotations

import dataclasses

MiB = 1 << 20


@dataclasses.dataclass(frozen=True)
class ProgramPlan:
  """Per-device bytes of one compiled program (XLA's memory analysis) and its FLOPs."""
  name: str
  argument_bytes: int
  output_bytes: int
  alias_bytes: int      # outputs that reuse donated argument buffers
  temp_bytes: int
  code_bytes: int
  flops: float
  hbm_bytes: int

  @property
  def per_device_bytes(self) -> int:
    return (self.argument_bytes + self.output_bytes - self.alias_bytes + self.temp_bytes
            + self.code_bytes)

  @property
  def fits(self) -> bool:
    return self.per_device_bytes <= self.hbm_bytes


def _flops(compiled) -> float:
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  return float((cost or {}).get("flops", -1.0))


def from_compiled(name: str, compiled, hbm_bytes: int) -> ProgramPlan:
  m = compiled.memory_analysis()
  return ProgramPlan(name, int(m.argument_size_in_bytes), int(m.output_size_in_bytes),
                     int(m.alias_size_in_bytes), int(m.temp_size_in_bytes),
                     int(m.generated_code_size_in_bytes), _flops(compiled), hbm_bytes)


def plan_line(p: ProgramPlan) -> str:
  return (f"PLAN {p.name} per_device_bytes={p.per_device_bytes} device_hbm_bytes={p.hbm_bytes} "
          f"fits={'yes' if p.fits else 'no'} flops={p.flops:.6g}")


def table(p: ProgramPlan) -> str:
  rows = [("arguments", p.argument_bytes), ("outputs", p.output_bytes),
          ("aliased (donated)", -p.alias_bytes), ("temporaries", p.temp_bytes),
          ("code", p.code_bytes), ("total per device", p.per_device_bytes),
          ("device HBM", p.hbm_bytes)]
  return "\n".join(f"  {k:<20} {v / MiB:>12.1f} MiB" for k, v in rows)


def advice(p: ProgramPlan, kind: str, ctx: dict) -> list[str]:
  """What to change when `p` does not fit; `kind` is 'train' or 'decode'.

  ctx: 'model' (ModelConfig), 'mesh' (axis -> size), and for 'train' the TrainLoopConfig
  ('train'), for 'decode' the KV-cache bytes per device ('kv_cache_bytes').
  """
  if p.fits:
    return []
  cfg, mesh = ctx["model"], ctx["mesh"]
  over = (p.per_device_bytes - p.hbm_bytes) / MiB
  out = [f"{p.name} needs {over:.0f} MiB more than one device has."]
  if kind == "train":
    loop = ctx["train"]
    if p.argument_bytes > p.temp_bytes:
      out.append(f"params + optimizer state dominate ({p.argument_bytes / MiB:.0f} MiB): raise the "
                 f"fsdp mesh axis (config.mesh.axis_sizes; now {mesh}).")
    if not cfg.remat:
      out.append("activations: set config.model.remat=True (recompute each block in backward).")
    if loop.loss_chunk_len == 0:
      out.append("set config.train.loss_chunk_len=512 (no BxTxV fp32 logits).")
    if cfg.attention_impl in ("einsum", "xla"):
      out.append("set config.model.attention_impl='splash' (TPU) / 'cudnn' (GPU): no TxS scores.")
    out.append(f"lower config.train.rows_per_micro (now {loop.rows_per_micro}) and raise "
               f"accum_steps (now {loop.accum_steps}) to keep the batch.")
  else:
    kv = ctx["kv_cache_bytes"]
    out.append(f"the KV cache is {kv / MiB:.0f} MiB per device: lower config.sampler."
               "prompts_per_batch or max_new_tokens, or the largest prompt bucket.")
    if p.argument_bytes > kv:
      out.append(f"weights dominate ({p.argument_bytes / MiB:.0f} MiB): shard them over a tensor "
                 "axis in config.sampling_logical_axis_rules (e.g. ('embed', 'fsdp') or "
                 "('mlp', 'tensor') with mesh tensor > 1), or use param_dtype='bfloat16'.")
  return out
