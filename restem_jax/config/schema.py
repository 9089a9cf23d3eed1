"""`RunConfig`: the whole run config, one tree of frozen dataclasses, and `build`.

Its attribute paths are the card's (`rc.task.name`, `rc.sampler.temperature`,
`rc.train.lora.rank`, `rc.seed`). It is the single schema: every field's type, default and
meaning is stated here or in the section it names. A run card (configs/*.py) is an
ml_collections ConfigDict with exactly these keys: configs/toy_arith.py, which every card
derives from, completes itself from `RunConfig()`'s defaults (configs/schema_dict.py), so
every field can be overridden on the command line. Adding a field is one line in its
section (plus a card line when the card's value differs from the default).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from restem_jax.config.model_section import MODEL_DEFAULTS, ModelSection
from restem_jax.config.sections import (BaseSection, EvalSection, MStepSection, SamplerSection,
                                        TaskSection, TeacherSection, TrainSection,
                                        TransferEntry, VerifierSection)
from restem_jax.from_dict import from_dict
from restem_jax.loop.modes import LoopConfig
from restem_jax.loop.stage_configs import EStepConfig
from restem_jax.sharding import partitioning
from restem_jax.sharding.mesh import MeshConfig


def _rules(rules) -> tuple[tuple, ...]:
  return tuple(tuple(r) for r in rules)


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """One run. Library code takes the sections (or configs derived from them by
  restem_jax/run_config.py), never the card's ConfigDict."""
  seed: int = 0                 # run seed: init, sampling keys, data order
  model: ModelSection = MODEL_DEFAULTS  # architecture + runtime; None = from the checkpoint
  mesh: MeshConfig = MeshConfig()  # device mesh axes and sizes (-1 = all remaining devices)
  logical_axis_rules: tuple[tuple, ...] = _rules(partitioning.DEFAULT_RULES)  # training:
                                # logical axis -> mesh axes
  sampling_logical_axis_rules: tuple[tuple, ...] = _rules(partitioning.SAMPLING_RULES)  # E-step
                                # and evaluation: weights replicated over fsdp
  jax_distributed: bool = False  # call jax.distributed.initialize() (multi-host pods)
  task: TaskSection = TaskSection()  # which problems, prompts and data files
  loop: LoopConfig = LoopConfig()  # the algorithm: mode, iterations, M-step start
  base: BaseSection = BaseSection()  # the base model: checkpoint, import, toy pretraining
  train: TrainSection = TrainSection()  # M-step batch shapes and LoRA
  estep: EStepConfig = EStepConfig()  # E-step: N, cap, dedup, chunking
  mstep: MStepSection = MStepSection()  # M-step schedule, optimizer and early stopping
  eval: EvalSection = EvalSection()  # evaluation sampling and transfer tasks
  sampler: SamplerSection = SamplerSection()  # decode shapes, engine and E-step sampling
  verifier: VerifierSection = VerifierSection()  # checker, sandbox and worker pool
  teacher: TeacherSection = TeacherSection()  # distill mode's teacher


def build(card: Mapping[str, Any]) -> RunConfig:
  """The RunConfig of a card's dict (`get_config(...).to_dict()`), validated: a key that is
  not a field, or a value of the wrong type, fails naming its path (`config.x.y`)."""
  return from_dict(RunConfig, card, "config")


def defaults_for(rc: RunConfig) -> RunConfig:
  """The schema's defaults, with a default entry under each of `rc`'s transfer-task labels:
  what a field that an older run's stored config lacks meant (the resume check)."""
  d = RunConfig()
  entries = {label: TransferEntry() for label in rc.eval.transfer_tasks}
  return dataclasses.replace(d, eval=dataclasses.replace(d.eval, transfer_tasks=entries))
