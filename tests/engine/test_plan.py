"""The AOT memory plan (`python -m restem_jax.plan`): compile logic on CPU; TPU when libtpu exists."""

import dataclasses
import importlib.util
import re

import pytest

from restem_jax.aot import plan_run, report
from restem_jax.model.config import ModelConfig
from restem_jax.training.trainer import TrainLoopConfig
from tests.typed_config import typed

_TOY = "configs/toy_arith.py"


def _config(**mesh):
  spec = importlib.util.spec_from_file_location("toy_arith", _TOY)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  c = module.get_config("tiny")
  c.mesh.update(mesh)
  return c


@pytest.fixture(scope="module")
def fsdp8_plans():
  c = _config(axis_sizes=(1, 8, 1))
  lines = []
  sharded = plan_run.plan(typed(c), plan_run.PlanOptions(topology="cpu"), emit=lines.append)
  replicated = plan_run.plan(typed(c), plan_run.PlanOptions(
      topology="cpu", programs=("mstep_train",), opt_state_layout="replicated"),
      emit=lambda _: None)
  return c, sharded, replicated, lines


def test_plan_lines_for_every_program(fsdp8_plans):
  _, plans, _, lines = fsdp8_plans
  assert [p.name for p in plans] == list(plan_run.PROGRAMS)
  plan_lines = [l for l in lines if l.startswith("PLAN ")]
  assert len(plan_lines) == 4
  for line, p in zip(plan_lines, plans):
    m = re.fullmatch(r"PLAN (\w+) per_device_bytes=(\d+) device_hbm_bytes=(\d+) fits=(yes|no) "
                     r"flops=(\S+)", line)
    assert m, line
    assert int(m.group(2)) == p.per_device_bytes > 0
    assert m.group(4) == "yes" and float(m.group(5)) > 0
  assert any("temporaries" in l for l in lines)


def test_plan_sees_the_fsdp_optimizer_state(fsdp8_plans):
  """Replicated Adam moments cost exactly 2 x params x (1 - 1/8) more per device at fsdp=8."""
  c, plans, replicated, _ = fsdp8_plans
  train = next(p for p in plans if p.name == "mstep_train")
  cfg = ModelConfig(**c.model.to_dict())
  param_bytes = 4 * cfg.num_params()
  assert replicated[0].argument_bytes - train.argument_bytes == 2 * param_bytes * 7 // 8
  assert train.argument_bytes < param_bytes  # params and moments all sharded 8 ways


def test_plan_that_does_not_fit_says_what_to_change(fsdp8_plans):
  c, plans, _, _ = fsdp8_plans
  cfg = ModelConfig(**c.model.to_dict())
  small = {p.name: dataclasses.replace(p, hbm_bytes=1000) for p in plans}
  assert not small["mstep_train"].fits and "fits=no" in report.plan_line(small["mstep_train"])
  train = report.advice(small["mstep_train"], "train", {
      "model": cfg, "mesh": {"fsdp": 8}, "train": TrainLoopConfig(loss_chunk_len=0)})
  assert any("remat" in l for l in train) and any("loss_chunk_len" in l for l in train)
  decode = report.advice(small["greedy_decode"], "decode", {
      "model": cfg, "mesh": {"fsdp": 8}, "kv_cache_bytes": 12345})
  assert any("KV cache" in l for l in decode)
  assert report.advice(plans[0], "decode", {"model": cfg, "mesh": {}, "kv_cache_bytes": 1}) == []


def test_unknown_topology_is_a_clear_error():
  with pytest.raises((RuntimeError, ValueError), match="topology"):
    plan_run.plan(typed(_config()), plan_run.PlanOptions(topology="v99:1x1"), emit=lambda _: None)


@pytest.mark.skipif(importlib.util.find_spec("libtpu") is None,
                    reason="libtpu is not installed (pip install -e '.[tpu]' in a separate venv); "
                           "the CPU tests above run the same compile path")
def test_plan_for_a_tpu_topology():
  plans = plan_run.plan(typed(_config()), plan_run.PlanOptions(topology="v5e:2x2",
                                                        programs=("mstep_train",)),
                        emit=lambda _: None)
  assert plans[0].hbm_bytes == 16 << 30 and plans[0].fits


def test_a_program_the_compiler_refuses_for_memory_is_a_plan_that_does_not_fit():
  # XLA:TPU stops at the first over-budget estimate (the 8B card with a replicated optimizer
  # state on v5p:2x4x4 said this); the plan reports it as fits=no instead of crashing.
  err = RuntimeError("RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required "
                     "for HLO temporaries (120.60G) exceeds available HBM (95.74G).")
  p = report.from_refusal("mstep_train", err, 95 << 30)
  assert p.temp_bytes == int(120.60 * (1 << 30)) and not p.fits
  assert "fits=no" in report.plan_line(p) and "120.60G" in report.table(p)
  assert report.from_refusal("mstep_train", RuntimeError("INTERNAL: something else"), 1) is None


def test_lora_plan_trains_adapters_over_a_frozen_bf16_base():
  """train.lora.rank > 0: the planned M-step is the run's LoRA step (the tuning policy the
  runner uses): Adam state for the adapters only, the base a frozen argument in its
  param dtype, and the whole step's arguments below full fine-tuning's."""
  plans, states = {}, {}
  for name, rank, param_dtype in [("full", 0, "float32"), ("lora", 4, "bfloat16")]:
    c = _config(axis_sizes=(1, 8, 1))
    c.train.lora.rank = rank
    c.model.param_dtype = param_dtype
    lines = []
    plans[name] = plan_run.plan(typed(c), plan_run.PlanOptions(topology="cpu",
                                                               programs=("mstep_train",)),
                                emit=lines.append)[0]
    states[name] = "\n".join(lines)
  cfg = ModelConfig(**_config().model.to_dict())
  assert "state per device (full)" in states["full"]
  assert "state per device (LoRA rank 4)" in states["lora"]
  # The plan names the dtypes: sampling follows the model's param dtype unless set.
  assert ("sampling: weights bfloat16 (sampler.params_dtype=''), KV cache float32"
          in states["lora"]) and "training: weights bfloat16" in states["lora"]
  got = lambda text, row: int(re.search(rf"{row}\s+[\d.]+ MiB \(([\d,]+) B\)",
                                         text).group(1).replace(",", ""))
  # Full: fp32 params and two fp32 Adam moments, sharded 8 ways; nothing frozen.
  assert got(states["full"], "frozen params") == 0
  assert got(states["full"], "trained params") == pytest.approx(4 * cfg.num_params() / 8,
                                                                rel=0.05)
  assert got(states["full"], "optimizer state") == pytest.approx(
      2 * got(states["full"], "trained params"), rel=0.01)
  # LoRA: the frozen base is bf16 (2 bytes a param); adapters and their moments are small.
  assert got(states["lora"], "frozen params") == pytest.approx(2 * cfg.num_params() / 8,
                                                               rel=0.05)
  # Adam moments mirror the adapters only (at this toy width rank 4 is not small).
  # (plus the optimizer's step counters: a few bytes).
  assert got(states["lora"], "optimizer state") == pytest.approx(
      2 * got(states["lora"], "trained params"), abs=64)
  assert got(states["lora"], "trained params") < got(states["full"], "trained params")
  assert plans["lora"].argument_bytes < plans["full"].argument_bytes
