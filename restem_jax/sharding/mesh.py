"""Device mesh from config: named axes such as ('data', 'fsdp', 'tensor'), -1 = the rest."""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np
from jax.experimental import mesh_utils


@dataclasses.dataclass(frozen=True)
class MeshConfig:
  """Mesh axis names and sizes; exactly one size may be -1 (all remaining devices)."""
  axis_names: tuple[str, ...] = ("data", "fsdp", "tensor")
  axis_sizes: tuple[int, ...] = (-1, 1, 1)

  def resolved_sizes(self, num_devices: int) -> tuple[int, ...]:
    if len(self.axis_names) != len(self.axis_sizes):
      raise ValueError(f"mesh axis_names {self.axis_names} and axis_sizes {self.axis_sizes} "
                       "differ in length.")
    sizes = list(self.axis_sizes)
    if sizes.count(-1) > 1:
      raise ValueError(f"mesh axis_sizes {self.axis_sizes}: at most one -1 is allowed.")
    fixed = math.prod(s for s in sizes if s != -1)
    if fixed <= 0 or num_devices % fixed:
      raise ValueError(f"mesh axis_sizes {self.axis_sizes} do not divide the {num_devices} "
                       "available devices.")
    sizes = [num_devices // fixed if s == -1 else s for s in sizes]
    if math.prod(sizes) != num_devices:
      raise ValueError(f"mesh axis_sizes {self.axis_sizes} use {math.prod(sizes)} devices, "
                       f"but {num_devices} are available; use -1 for one axis.")
    return tuple(sizes)


def make_mesh(cfg: MeshConfig, devices=None) -> jax.sharding.Mesh:
  """Build the mesh; device order follows the physical topology where JAX knows it."""
  devices = jax.devices() if devices is None else devices
  sizes = cfg.resolved_sizes(len(devices))
  try:
    device_array = mesh_utils.create_device_mesh(sizes, devices=devices)
  except (ValueError, NotImplementedError, AssertionError):
    device_array = np.asarray(devices).reshape(sizes)
  return jax.sharding.Mesh(device_array, cfg.axis_names)


def data_parallel_size(mesh: jax.sharding.Mesh, batch_axes=("data", "fsdp")) -> int:
  """Number of shards along the batch dimension."""
  return math.prod(mesh.shape[a] for a in batch_axes if a in mesh.shape)
