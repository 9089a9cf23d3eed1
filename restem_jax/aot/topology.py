"""Target devices for ahead-of-time compilation: a TPU topology (via libtpu) or this host's CPU.

`describe('v5p:2x4x4')` returns the 32 compile-only devices of that slice (no TPU needed,
only the libtpu package, `pip install -e ".[tpu]"`); `describe('cpu')` returns this host's
CPU devices, the same code path CI runs without libtpu.
"""

from __future__ import annotations

import dataclasses
import os

import jax

GiB = 1 << 30
# HBM per device (chip) by `device.device_kind`; compile-only devices report no memory stats.
HBM_BYTES = {
    "TPU v2": 8 * GiB,
    "TPU v3": 16 * GiB,
    "TPU v4": 32 * GiB,
    "TPU v5 lite": 16 * GiB,   # v5e
    "TPU v5": 95 * GiB,        # v5p
    "TPU v6 lite": 32 * GiB,   # v6e (Trillium)
}


@dataclasses.dataclass(frozen=True)
class Target:
  name: str
  platform: str              # 'tpu' | 'cpu'
  devices: tuple
  device_kind: str
  hbm_bytes: int             # memory of one device


def _libtpu_available() -> bool:
  try:
    import libtpu  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    return False
  return True


def describe(topology: str, hbm_gib: float = 0.0) -> Target:
  """The devices of `topology` ('v5p:2x4x4', 'v5e:2x4', ..., or 'cpu'); hbm_gib overrides."""
  if topology == "cpu":
    devices = tuple(jax.devices("cpu"))
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    hbm = int(hbm_gib * GiB) if hbm_gib else host // len(devices)
    return Target("cpu", "cpu", devices, devices[0].device_kind, hbm)
  if not _libtpu_available():
    raise RuntimeError(f"--topology={topology!r} needs libtpu to compile for TPU on this machine: "
                       "pip install -e '.[tpu]' in a separate virtualenv (it makes JAX probe for a "
                       "TPU at start-up), or use --topology=cpu.")
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top
  try:
    desc = topologies.get_topology_desc(topology_name=topology, platform="tpu")
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"--topology={topology!r} is not a TPU topology libtpu knows "
                     f"(e.g. 'v5p:2x4x4', 'v5e:2x4', 'v4:2x2x1'): {e}") from e
  devices = tuple(desc.devices)
  kind = devices[0].device_kind
  if hbm_gib:
    hbm = int(hbm_gib * GiB)
  elif kind in HBM_BYTES:
    hbm = HBM_BYTES[kind]
  else:
    raise ValueError(f"unknown HBM size for device kind {kind!r}; pass --hbm_gib.")
  return Target(topology, "tpu", devices, kind, hbm)
