"""Compile a run's programs for a target and report their per-device memory.

The programs, with the shapes and shardings the run uses:
  estep_decode   E-step sampling: estep.num_samples per prompt, sampler.top_k
  eval_decode    evaluation sampling: eval.num_samples per prompt, eval.top_k
  greedy_decode  greedy pass@1 (M-step validation reward and evaluation): 1 sample
  mstep_train    the M-step train step: [accum_steps, rows_per_micro, seq_len]
Decodes use the sampling axis rules, the train step the training rules. A decode is
the sampler engine's program (cascade by default, refill when sampler.slots_per_problem
is below the samples per prompt) on a full call of the largest prompt bucket, after a
shared prefix of `PlanOptions.prefix_len` tokens (0: none, every prompt its own
suffix), with the task's stop strings (tests/engine/test_plan_matches_run.py holds this
equal to the Sampler's program).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from restem_jax import run_config
from restem_jax.aot import programs, report, topology
from restem_jax.loop import tuning_policy
from restem_jax.model import kv_cache
from restem_jax.sampling import sampler as sampler_lib
from restem_jax.sampling import stops
from restem_jax.sharding import mesh as mesh_lib
from restem_jax.tasks import completion

PROGRAMS = ("estep_decode", "eval_decode", "greedy_decode", "mstep_train")


@dataclasses.dataclass(frozen=True)
class PlanOptions:
  topology: str = "cpu"
  hbm_gib: float = 0.0                 # override the device memory (0 = by device kind)
  programs: tuple[str, ...] = PROGRAMS
  opt_state_layout: str = "sharded"    # 'replicated': the pre-FSDP layout, for comparison
  prefix_len: int = 0                  # shared prompt prefix the cascade engine prefills once


def _lowered(name: str, c, model_cfg, mesh, options: PlanOptions, table):
  """(lowered program, advice kind, advice context)."""
  sampler = run_config.sampler_config(c)
  srules = run_config.sampling_rules(c)
  ctx = {"model": model_cfg, "mesh": dict(mesh.shape)}
  if name == "mstep_train":
    _, loop = run_config.mstep_config(c)
    ctx["train"] = loop
    rules = run_config.logical_rules(c)
    # What trains, as the run decides it (train.lora.rank > 0: adapters over a frozen base).
    policy = tuning_policy.for_config(run_config.lora_config(c), c.seed, model_cfg, mesh, rules)
    _, tuning = policy.start(None, None, "base")
    lowered, state, frozen = programs.train_program(model_cfg, loop, mesh, rules,
                                                    options.opt_state_layout, tuning)
    ctx["state"] = programs.train_state_bytes(state, frozen)
    ctx["tuning"] = "full" if tuning is None else f"LoRA rank {tuning.lcfg.rank}"
    return lowered, "train", ctx
  if name == "estep_decode":
    n, top_k = run_config.estep_config(c).num_samples, run_config.sampling_params(c).top_k
  elif name == "eval_decode":
    ev = run_config.eval_config(c)
    n, top_k = max(ev.num_samples, 1), ev.top_k
  elif name == "greedy_decode":
    n, top_k = 1, 1
  else:
    raise ValueError(f"unknown program {name!r}; expected one of {PROGRAMS}.")
  ctx["kv_cache_bytes"] = programs.decode_cache_bytes(
      model_cfg, sampler, mesh, num_samples=n,
      prefix_len=options.prefix_len) // mesh_lib.data_parallel_size(mesh)
  return programs.decode_program(model_cfg, sampler, mesh, srules, num_samples=n, top_k=top_k,
                                 stop_table=table, prefix_len=options.prefix_len), "decode", ctx


def stop_table(c, model_cfg, emit: Callable[[str], None]) -> stops.StopTable:
  """The shapes of the stop table the run's sampler builds: the task's stop strings and
  its vocabulary's EOS set."""
  try:
    num_stop_ids = len(stops.vocab_stop_ids(run_config.vocabulary(c)))
  except FileNotFoundError as e:
    num_stop_ids = 1
    emit(f"note: vocabulary not loadable here ({e}); planning an EOS set of 1 id")
  return stops.abstract_table(model_cfg.vocab_size, completion.STOP_SEQUENCES.get(c.task.name, ()),
                              num_stop_ids)


def plan(c, options: PlanOptions, emit: Callable[[str], None] = print) -> list[report.ProgramPlan]:
  """Compiles each program for `options.topology`; emits the PLAN lines, tables and advice."""
  target = topology.describe(options.topology, options.hbm_gib)
  mesh = mesh_lib.make_mesh(run_config.mesh_config(c), devices=list(target.devices))
  model_cfg = programs.for_platform(run_config.model_config(c), target.platform)
  emit(f"target {target.name}: {len(target.devices)} x {target.device_kind}, "
       f"{target.hbm_bytes / report.MiB:.0f} MiB each; mesh {dict(mesh.shape)}; "
       f"{model_cfg.num_params() / 1e6:.1f}M params, attention {model_cfg.attention_impl}, "
       f"layers {'scanned' if model_cfg.scan_layers else 'unrolled'}")
  sampler = run_config.sampler_config(c)
  emit(f"sampling: weights {sampler_lib.sampling_model_config(sampler, model_cfg).param_dtype}"
       f" (sampler.params_dtype={sampler.params_dtype!r}), KV cache "
       f"{kv_cache.dtype_of(model_cfg, sampler.kv_cache_dtype).name} "
       f"(sampler.kv_cache_dtype={sampler.kv_cache_dtype!r}); training: weights "
       f"{model_cfg.param_dtype}, compute {model_cfg.dtype}")
  table = stop_table(c, model_cfg, emit)
  plans = []
  for name in options.programs:
    start = time.perf_counter()
    lowered, kind, ctx = _lowered(name, c, model_cfg, mesh, options, table)
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
    if "state" in ctx:
      emit(report.state_lines(ctx["tuning"], ctx["state"]))
    for line in report.advice(p, kind, ctx):
      emit("  change: " + line)
  return plans
