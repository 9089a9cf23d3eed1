"""Compile a run's programs for a target and report their per-device memory.

The programs, with the shapes and shardings the run uses:
  estep_decode   E-step sampling: estep.num_samples per prompt, sampler.top_k
  eval_decode    evaluation sampling: eval.num_samples per prompt, eval.top_k
  greedy_decode  greedy pass@1 (M-step validation reward and evaluation): 1 sample
  mstep_train    the M-step train step: [accum_steps, rows_per_micro, seq_len]
Decodes use the sampling axis rules, the train step the training rules.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from restem_jax import run_config
from restem_jax.aot import programs, report, topology
from restem_jax.model import kv_cache
from restem_jax.sharding import mesh as mesh_lib

PROGRAMS = ("estep_decode", "eval_decode", "greedy_decode", "mstep_train")


@dataclasses.dataclass(frozen=True)
class PlanOptions:
  topology: str = "cpu"
  hbm_gib: float = 0.0                 # override the device memory (0 = by device kind)
  programs: tuple[str, ...] = PROGRAMS
  opt_state_layout: str = "sharded"    # 'replicated': the pre-FSDP layout, for comparison


def _lowered(name: str, c, model_cfg, mesh, options: PlanOptions):
  """(lowered program, advice kind, advice context)."""
  sampler = run_config.sampler_config(c)
  srules = run_config.sampling_rules(c)
  ctx = {"model": model_cfg, "mesh": dict(mesh.shape)}
  if name == "mstep_train":
    _, loop = run_config.mstep_config(c)
    ctx["train"] = loop
    return programs.train_program(model_cfg, loop, mesh, run_config.logical_rules(c),
                                  options.opt_state_layout), "train", ctx
  if name == "estep_decode":
    n, top_k = run_config.estep_config(c).num_samples, run_config.sampling_params(c).top_k
  elif name == "eval_decode":
    ev = run_config.eval_config(c)
    n, top_k = max(ev.num_samples, 1), ev.top_k
  elif name == "greedy_decode":
    n, top_k = 1, 1
  else:
    raise ValueError(f"unknown program {name!r}; expected one of {PROGRAMS}.")
  rows = programs.decode_rows(sampler, mesh) * n
  length = max(sampler.prompt_buckets) + sampler.max_new_tokens
  ctx["kv_cache_bytes"] = kv_cache.cache_bytes(model_cfg, rows, length) // mesh_lib.data_parallel_size(mesh)
  return programs.decode_program(model_cfg, sampler, mesh, srules, num_samples=n,
                                 top_k=top_k), "decode", ctx


def plan(c, options: PlanOptions, emit: Callable[[str], None] = print) -> list[report.ProgramPlan]:
  """Compiles each program for `options.topology`; emits the PLAN lines, tables and advice."""
  target = topology.describe(options.topology, options.hbm_gib)
  mesh = mesh_lib.make_mesh(run_config.mesh_config(c), devices=list(target.devices))
  model_cfg = programs.for_platform(run_config.model_config(c), target.platform)
  emit(f"target {target.name}: {len(target.devices)} x {target.device_kind}, "
       f"{target.hbm_bytes / report.MiB:.0f} MiB each; mesh {dict(mesh.shape)}; "
       f"{model_cfg.num_params() / 1e6:.1f}M params, attention {model_cfg.attention_impl}, "
       f"layers {'scanned' if model_cfg.scan_layers else 'unrolled'}")
  plans = []
  for name in options.programs:
    start = time.perf_counter()
    lowered, kind, ctx = _lowered(name, c, model_cfg, mesh, options)
    try:
      p = report.from_compiled(name, lowered.compile(), target.hbm_bytes)
    except Exception as e:  # pylint: disable=broad-except
      p = report.from_refusal(name, e, target.hbm_bytes)  # out of memory: fits=no, go on
      if p is None:
        raise
    seconds = time.perf_counter() - start
    plans.append(p)
    emit(report.plan_line(p))
    emit(report.table(p))
    emit(f"  {'lower + compile':<20} {seconds:>12.1f} s")
    for line in report.advice(p, kind, ctx):
      emit("  change: " + line)
  return plans
