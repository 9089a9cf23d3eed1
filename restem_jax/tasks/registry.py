"""The task registry: name -> `TaskSpec`, and loading a split back as `Problem`s via seqio.

`register(spec)` is the public API (a user module passed as `task.module` calls it);
`load_problems` runs the spec's generator through a seqio pipeline (no shuffling,
deterministic order) and returns typed records. Data always comes from local files or
generators, never from a hub.
"""

from __future__ import annotations

import functools
import zlib

import seqio

from restem_jax.tasks.problem import FIELDS, Problem
from restem_jax.tasks.spec import TaskSpec

_SPECS: dict[str, TaskSpec] = {}
_VERSIONS: dict[str, int] = {}  # re-registrations of a name (seqio names stay unique)
SPLITS = ("train", "validation", "test")


def seqio_name(task: str, data_dir: str, seed: int) -> str:
  """Tasks are registered per (data_dir, seed) so different configs never collide."""
  version = _VERSIONS.get(task, 0)
  suffix = f"_v{version}" if version else ""
  return f"restem_{task}_{zlib.crc32(f'{data_dir}|{seed}'.encode()):08x}{suffix}"


def register(spec: TaskSpec) -> TaskSpec:
  """Declares a task; registering a name again replaces its spec (a new seqio task)."""
  if not isinstance(spec, TaskSpec):
    raise TypeError(f"register expects a TaskSpec, got {type(spec).__name__}.")
  if spec.name in _SPECS and _SPECS[spec.name] != spec:
    _VERSIONS[spec.name] = _VERSIONS.get(spec.name, 0) + 1
  _SPECS[spec.name] = spec
  return spec


def available_tasks() -> list[str]:
  return sorted(_SPECS)


def find(task: str) -> TaskSpec | None:
  """The registered spec of `task`, or None."""
  return _SPECS.get(task)


def get(task: str) -> TaskSpec:
  """The registered spec of `task`; ValueError listing the known tasks otherwise."""
  if task not in _SPECS:
    raise ValueError(f"unknown task {task!r}; available: {available_tasks()} (a task of "
                     "your own: register it in a module named by task.module, or use "
                     "task.name='jsonl'; see docs/your_task.md)")
  return _SPECS[task]


def _dataset_fn(split, shuffle_files, seed=None, *, spec, data_dir, task_seed):
  del shuffle_files, seed
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  problems = [p.to_features() for p in spec.problems(split, data_dir, task_seed)]
  cols = {k: [p[k] for p in problems] for k in FIELDS}
  return tf.data.Dataset.from_tensor_slices(
      {k: tf.constant(v, dtype=tf.string, shape=(len(problems),)) for k, v in cols.items()})


def get_seqio_task(task: str, data_dir: str = "", seed: int = 0) -> seqio.Task:
  """The registered `seqio.Task` for (task, data_dir, seed), registering it on first use."""
  spec = get(task)
  name = seqio_name(task, data_dir, seed)
  if name not in seqio.TaskRegistry.names():
    seqio.TaskRegistry.add(
        name,
        source=seqio.FunctionDataSource(
            functools.partial(_dataset_fn, spec=spec, data_dir=data_dir, task_seed=seed),
            splits=SPLITS),
        output_features={},
        preprocessors=[])
  return seqio.get_mixture_or_task(name)


def load_problems(task: str, split: str, data_dir: str = "", seed: int = 0,
                  limit: int | None = None) -> list[Problem]:
  """All problems of a split, in the generator's order."""
  ds = get_seqio_task(task, data_dir, seed).get_dataset(
      sequence_length=None, split=split, shuffle=False)
  if limit is not None:
    ds = ds.take(limit)
  return [Problem.from_features(ex) for ex in ds.as_numpy_iterator()]
