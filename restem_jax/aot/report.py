"""Per-program memory and FLOPs from a compiled executable, and what to change when it does not fit."""

from __future__ import annotations

import dataclasses
import re

MiB = 1 << 20
# XLA:TPU stops compiling a program whose temporaries exceed the device memory, e.g.
# "RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required for HLO
# temporaries (120.60G) exceeds available HBM (95.74G)."
_REFUSAL = re.compile(r"RESOURCE_EXHAUSTED.*?temporaries \(([\d.]+)([KMGT])\)", re.S)
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


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
  refused: str = ""     # the compiler's out-of-memory message when it refused the program

  @property
  def per_device_bytes(self) -> int:
    return (self.argument_bytes + self.output_bytes - self.alias_bytes + self.temp_bytes
            + self.code_bytes)

  @property
  def fits(self) -> bool:
    return self.per_device_bytes <= self.hbm_bytes


def _flops(compiled) -> float:
  """XLA's cost-analysis FLOPs: a loop body (scanned layers, accumulation steps) counts once."""
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  return float((cost or {}).get("flops", -1.0))


def from_compiled(name: str, compiled, hbm_bytes: int) -> ProgramPlan:
  m = compiled.memory_analysis()
  return ProgramPlan(name, int(m.argument_size_in_bytes), int(m.output_size_in_bytes),
                     int(m.alias_size_in_bytes), int(m.temp_size_in_bytes),
                     int(m.generated_code_size_in_bytes), _flops(compiled), hbm_bytes)


def from_refusal(name: str, error: Exception, hbm_bytes: int) -> ProgramPlan | None:
  """The plan of a program the compiler refused for lack of device memory: only its
  temporaries are known (as the message states them); None for any other error."""
  m = _REFUSAL.search(str(error))
  if not m:
    return None
  temp = int(float(m.group(1)) * _UNITS[m.group(2)])
  return ProgramPlan(name, 0, 0, 0, temp, 0, -1.0, hbm_bytes,
                     refused=str(error).strip().splitlines()[-1])


def plan_line(p: ProgramPlan) -> str:
  return (f"PLAN {p.name} per_device_bytes={p.per_device_bytes} device_hbm_bytes={p.hbm_bytes} "
          f"fits={'yes' if p.fits else 'no'} flops={p.flops:.6g}")


def table(p: ProgramPlan) -> str:
  if p.refused:
    return (f"  compiler refused it: {p.refused}\n"
            f"  {'temporaries':<20} {p.temp_bytes / MiB:>12.1f} MiB (at least; arguments unknown)")
  rows = [("arguments", p.argument_bytes), ("outputs", p.output_bytes),
          ("aliased (donated)", -p.alias_bytes), ("temporaries", p.temp_bytes),
          ("code", p.code_bytes), ("total per device", p.per_device_bytes),
          ("device HBM", p.hbm_bytes)]
  return "\n".join(f"  {k:<20} {v / MiB:>12.1f} MiB" for k, v in rows)


def state_lines(tuning: str, state: dict) -> str:
  """The train step's state per device (from its abstract arguments), inside `arguments`
  above; gradients are as large as the trained params and live in the temporaries."""
  rows = [("trained params", state["trained"]), ("frozen params", state["frozen"]),
          ("gradients (in temp)", state["trained"]), ("optimizer state", state["optimizer"])]
  return f"  state per device ({tuning}):\n" + "\n".join(
      f"    {k:<20} {v / MiB:>10.1f} MiB ({v:,} B)" for k, v in rows)


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
