"""seqio registration for problem tasks, and loading them back as `Problem`s.

A task is registered with a generator `fn(split, data_dir, seed) -> Iterable[Problem]`;
`load_problems` runs the seqio pipeline (no shuffling, deterministic order) and
returns typed records. Data always comes from local files or generators, never
from a hub.
"""

from __future__ import annotations

import functools
import zlib
from typing import Callable, Iterable

import seqio

from restem_jax.tasks.problem import FIELDS, Problem

ProblemFn = Callable[[str, str, int], Iterable[Problem]]
_GENERATORS: dict[str, ProblemFn] = {}
SPLITS = ("train", "validation", "test")


def seqio_name(task: str, data_dir: str, seed: int) -> str:
  """Tasks are registered per (data_dir, seed) so different configs never collide."""
  return f"restem_{task}_{zlib.crc32(f'{data_dir}|{seed}'.encode()):08x}"


def register_problem_task(task: str, fn: ProblemFn) -> None:
  """Declares a task name and its problem generator (idempotent)."""
  _GENERATORS[task] = fn


def available_tasks() -> list[str]:
  return sorted(_GENERATORS)


def _dataset_fn(split, shuffle_files, seed=None, *, task, data_dir, task_seed):
  del shuffle_files, seed
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  problems = [p.to_features() for p in _GENERATORS[task](split, data_dir, task_seed)]
  cols = {k: [p[k] for p in problems] for k in FIELDS}
  return tf.data.Dataset.from_tensor_slices(
      {k: tf.constant(v, dtype=tf.string, shape=(len(problems),)) for k, v in cols.items()})


def get_seqio_task(task: str, data_dir: str = "", seed: int = 0) -> seqio.Task:
  """The registered `seqio.Task` for (task, data_dir, seed), registering it on first use."""
  if task not in _GENERATORS:
    raise ValueError(f"unknown task {task!r}; available: {available_tasks()}")
  name = seqio_name(task, data_dir, seed)
  if name not in seqio.TaskRegistry.names():
    seqio.TaskRegistry.add(
        name,
        source=seqio.FunctionDataSource(
            functools.partial(_dataset_fn, task=task, data_dir=data_dir, task_seed=seed),
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
