"""Shared helpers for task tests: the fixtures data_dir and a cached `load_problems`."""

import functools
import os

import pytest

import restem_jax.tasks  # noqa: F401  (registers every task)
from restem_jax.tasks.registry import load_problems

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tasks")
# (task, splits it has in the fixtures dir)
TASK_SPLITS = {
    "math": ("train", "validation", "test"),
    "math500": ("train", "validation", "test"),
    "gsm8k": ("train", "validation", "test"),
    "humaneval": ("test",),
    "mbpp": ("train", "validation", "test"),
    "apps_sample10": ("test",),
    "toy_code": ("train", "validation", "test"),
}


@functools.lru_cache(maxsize=None)
def cached_load(task, split, seed=0):
  return tuple(load_problems(task, split, FIXTURES, seed))


@pytest.fixture
def load():
  return cached_load
