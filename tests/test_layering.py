"""Imports run one way: down the package's layers (README.md, "Layout").

Every module import (also one inside a function) is an edge of the graph that
tools/module_imports.py reads from the source; an edge from a unit to a unit of a higher
layer, or between two units of one layer, fails. Bottom to top:

  0  io, data, verify, config_files, tf_quiet, from_dict, the package root
                                (no package imports; from_dict: dict -> dataclass)
  1  sharding, distributed (process roles), vocab
  2  model
  3  tasks                      (problems; light verify helpers)
  4  sampling, training
  5  checkpoint
  6  convert (HF/GGUF mapping, import on first use), generation
  7  loop                       (the stages: estep/, M-step, evaluation/, reporting/)
  8  config                     (RunConfig: the run config's schema, typed sections)
  9  run_config                 (RunConfig sections -> the typed configs of every layer below)
  10 loop driver                (runner, run_setup, base_model, evaluation.transfer,
                                evaluation.policy_eval, reporting.training_summary, eval_only,
                                task_setup: read the RunConfig or use modules that do)
  11 aot                        (the AOT memory plan)
  12 main, plan, generate       (entry points: card ConfigDict -> RunConfig)
"""

import importlib.util
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LAYERS = (
    ("io", "data", "verify", "config_files", "tf_quiet", "from_dict", ""),
    ("sharding", "distributed", "vocab"),
    ("model",),
    ("tasks",),
    ("sampling", "training"),
    ("checkpoint",),
    ("convert", "generation"),
    ("loop",),
    ("config",),
    ("run_config",),
    ("loop driver",),
    ("aot",),
    ("main", "plan", "generate"),
)
LOOP_DRIVER = ("restem_jax.loop.runner", "restem_jax.loop.run_setup",
               "restem_jax.loop.base_model", "restem_jax.loop.evaluation.transfer",
               "restem_jax.loop.evaluation.policy_eval",
               "restem_jax.loop.reporting.training_summary",
               "restem_jax.loop.eval_only", "restem_jax.loop.task_setup")


def _module_imports():
  spec = importlib.util.spec_from_file_location(
      "module_imports", os.path.join(REPO, "tools", "module_imports.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def unit(module: str) -> str:
  """The layering unit of a module: its top-level name under restem_jax ('' = the root)."""
  if module in LOOP_DRIVER:
    return "loop driver"
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else ""


def layer(name: str) -> int:
  for i, units in enumerate(LAYERS):
    if name in units:
      return i
  raise AssertionError(f"restem_jax.{name} is in no layer: add it to LAYERS in "
                       f"tests/test_layering.py and to README.md's Layout section.")


def upward_edges(graph) -> list[str]:
  bad = []
  for src, deps in graph.items():
    for dst in sorted(deps):
      a, b = unit(src), unit(dst)
      if a != b and layer(b) >= layer(a):
        bad.append(f"{src} (layer {layer(a)}) imports {dst} (layer {layer(b)})")
  return bad


def test_imports_only_run_down_the_layers():
  graph = _module_imports().graph(REPO)
  assert len(graph) > 100, "the import graph lost the package"
  bad = upward_edges(graph)
  assert not bad, "imports that run up (or across) the layers:\n  " + "\n  ".join(bad)


def test_an_upward_edge_is_caught():
  """The check can fail: model importing sampling, or two units of one layer, is refused."""
  assert upward_edges({"restem_jax.model.layers": {"restem_jax.sampling.cascade"}})
  assert upward_edges({"restem_jax.sampling.decode": {"restem_jax.training.loss"}})
  assert upward_edges({"restem_jax.loop.estep.generate": {"restem_jax.loop.runner"}})
  assert not upward_edges({"restem_jax.loop.runner": {"restem_jax.loop.estep.generate",
                                                      "restem_jax.run_config"}})


def test_the_planner_starts_no_verifier_code():
  """`python -m restem_jax.plan` builds the run's configs without the verifier pool or
  sandbox (run_config reads the stage configs from loop/stage_configs.py)."""
  code = ("import sys, restem_jax.aot.plan_run; "
          "print(sorted(m for m in sys.modules if m.startswith('restem_jax.')))")
  out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, text=True,
                       capture_output=True, env={**os.environ, "JAX_PLATFORMS": "cpu"}).stdout
  loaded = set(eval(out.strip().splitlines()[-1]))  # pylint: disable=eval-used
  assert "restem_jax.run_config" in loaded
  heavy = sorted(m for m in loaded if m in ("restem_jax.verify.pool",
                                            "restem_jax.verify.sandbox",
                                            "restem_jax.verify.uid_sandbox",
                                            "restem_jax.verify.code_runner",
                                            "restem_jax.verify.worker",
                                            "restem_jax.verify.worker_process",
                                            "restem_jax.loop.estep.generate",
                                            "restem_jax.loop.evaluation.evaluate"))
  assert not heavy, f"the planner imports {heavy}"
