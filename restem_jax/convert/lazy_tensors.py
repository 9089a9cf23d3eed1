"""Tensors read on demand, so a converter holds one weight at a time, not the whole file.

`hf_convert.hf_to_params` takes a Mapping of HF tensor names to arrays and reads each one
with `np.asarray(x)` after checking `x.shape`; a `LazyTensorMap` of `LazyTensor`s gives it
exactly that interface while reading (and dequantising) each tensor only when converted.
Peak host memory is then the converted params plus one source tensor.
"""

from __future__ import annotations

import collections.abc
from typing import Callable

import numpy as np


class LazyTensor:
  """A tensor with a known shape whose values are produced by `load()` when asked for."""

  def __init__(self, shape: tuple[int, ...], dtype, load: Callable[[], np.ndarray], name: str):
    self.shape = tuple(int(s) for s in shape)
    self.dtype = np.dtype(dtype)
    self.name = name
    self._load = load

  @property
  def ndim(self) -> int:
    return len(self.shape)

  def __array__(self, dtype=None, copy=None):  # pylint: disable=unused-argument
    x = self._load()
    if tuple(x.shape) != self.shape:
      raise ValueError(f"tensor {self.name!r}: read shape {x.shape}, header says {self.shape}.")
    return x if dtype is None else x.astype(dtype)

  def __repr__(self) -> str:
    return f"LazyTensor({self.name!r}, shape={self.shape}, dtype={self.dtype})"


class LazyTensorMap(collections.abc.Mapping):
  """name -> LazyTensor, in the source's order."""

  def __init__(self, tensors: dict[str, LazyTensor]):
    self._tensors = dict(tensors)

  def __getitem__(self, name: str) -> LazyTensor:
    return self._tensors[name]

  def __iter__(self):
    return iter(self._tensors)

  def __len__(self) -> int:
    return len(self._tensors)
