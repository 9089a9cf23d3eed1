"""Bringing outputs of compiled programs back to the host, on one process or many.

`jax.device_get` fails on arrays that span devices of other processes ("non-addressable"
in a multi-host run). `fetch` returns the global value on every process (an all-gather
across hosts through `multihost_utils.process_allgather`); `snapshot`/`restore` keep a
copy of a sharded tree in host memory holding only this process's shards (no traffic
between hosts), e.g. the best params of an M-step.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
from jax.experimental import multihost_utils


def _fetch_leaf(x):
  if not isinstance(x, jax.Array) or x.is_fully_addressable or x.is_fully_replicated:
    return np.asarray(jax.device_get(x))
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def fetch(tree):
  """The global numpy value of every array in `tree`, on every process."""
  return jax.tree.map(_fetch_leaf, tree)


@dataclasses.dataclass(frozen=True)
class _LocalShards:
  """One array as this process's shards in host memory."""
  shape: tuple[int, ...]
  sharding: jax.sharding.Sharding
  shards: tuple[tuple[jax.Device, np.ndarray], ...]


def _snapshot_leaf(x: jax.Array) -> _LocalShards:
  return _LocalShards(x.shape, x.sharding,
                      tuple((s.device, np.asarray(s.data)) for s in x.addressable_shards))


def snapshot(tree):
  """A host-memory copy of this process's shards of every array in `tree`."""
  return jax.tree.map(_snapshot_leaf, tree)


def restore(snap):
  """The arrays of `snapshot(tree)`, back on their devices with their shardings."""
  def leaf(s: _LocalShards):
    arrays = [jax.device_put(data, device) for device, data in s.shards]
    return jax.make_array_from_single_device_arrays(s.shape, s.sharding, arrays)
  return jax.tree.map(leaf, snap, is_leaf=lambda x: isinstance(x, _LocalShards))
