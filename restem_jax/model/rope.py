"""Rotary position embeddings (the Llama 'rotate_half' layout) and their scaling variants.

A variant is a small strategy object that maps positions to rotation angles; the
attention layer only calls `apply(x, positions, variant)`. Variants follow the
definitions in `transformers.modeling_rope_utils` so that imported checkpoints keep
their positional behaviour exactly:

  default  angle = position * theta^(-2i/E)
  linear   inverse frequencies divided by `factor` (position interpolation)
  llama3   Llama-3.1 band-wise rescaling: long wavelengths / factor, short ones kept,
           a smooth ramp between (wavelength band edges from the original context)
  dynamic  NTK-aware: theta grows with the current length L = max(position) + 1 once L
           exceeds the original context. As in transformers, L is taken over the whole
           call (batch included), so the rotation of a row can depend on the longest row
           in its batch when L > the original context; below it, it equals 'default'.

Add a variant by writing a class with `inv_freq(positions_BxT) -> E/2` and registering
it in `_VARIANTS`.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np


def _default_inv_freq(head_dim: int, theta) -> np.ndarray:
  exponents = np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32) / head_dim
  return (1.0 / (np.float32(theta) ** exponents)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Default:
  head_dim: int
  theta: float

  def inv_freq(self, positions_BxT):  # pylint: disable=unused-argument
    return jnp.asarray(_default_inv_freq(self.head_dim, self.theta))


@dataclasses.dataclass(frozen=True)
class Linear:
  head_dim: int
  theta: float
  factor: float

  def inv_freq(self, positions_BxT):  # pylint: disable=unused-argument
    return jnp.asarray(_default_inv_freq(self.head_dim, self.theta) / np.float32(self.factor))


@dataclasses.dataclass(frozen=True)
class Llama3:
  head_dim: int
  theta: float
  factor: float
  low_freq_factor: float
  high_freq_factor: float
  original_max_len: int

  def inv_freq(self, positions_BxT):  # pylint: disable=unused-argument
    inv = _default_inv_freq(self.head_dim, self.theta)
    low_wavelen = self.original_max_len / self.low_freq_factor
    high_wavelen = self.original_max_len / self.high_freq_factor
    wavelen = 2 * math.pi / inv
    scaled = np.where(wavelen > low_wavelen, inv / self.factor, inv)
    smooth = ((self.original_max_len / wavelen - self.low_freq_factor)
              / (self.high_freq_factor - self.low_freq_factor))
    smoothed = (1 - smooth) * scaled / self.factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return jnp.asarray(np.where(medium, smoothed, scaled).astype(np.float32))


@dataclasses.dataclass(frozen=True)
class DynamicNTK:
  head_dim: int
  theta: float
  factor: float
  original_max_len: int

  def inv_freq(self, positions_BxT):
    e, orig = self.head_dim, self.original_max_len
    seq_len = jnp.max(positions_BxT).astype(jnp.float32) + 1.0
    grown = jnp.maximum(seq_len, float(orig))
    base = self.theta * ((self.factor * grown / orig) - (self.factor - 1)) ** (e / (e - 2))
    exponents = jnp.arange(0, e, 2, dtype=jnp.float32) / e
    scaled = 1.0 / (base ** exponents)
    return jnp.where(seq_len > orig, scaled, jnp.asarray(_default_inv_freq(e, self.theta)))


_VARIANTS = {
    "default": lambda c: Default(c.head_dim, c.rope_theta),
    "linear": lambda c: Linear(c.head_dim, c.rope_theta, c.rope_factor),
    "llama3": lambda c: Llama3(c.head_dim, c.rope_theta, c.rope_factor, c.rope_low_freq_factor,
                               c.rope_high_freq_factor, c.rope_original_max_len),
    "dynamic": lambda c: DynamicNTK(c.head_dim, c.rope_theta, c.rope_factor,
                                    c.rope_original_max_len),
}
VARIANTS = tuple(_VARIANTS)
_NEEDS_ORIGINAL_LEN = ("llama3", "dynamic")


def validate(cfg) -> None:
  """Raises ValueError naming the ModelConfig field that makes the rope variant invalid."""
  if cfg.rope_type not in _VARIANTS:
    raise ValueError(f"ModelConfig.rope_type={cfg.rope_type!r}; expected one of {VARIANTS}.")
  if cfg.head_dim % 2:
    raise ValueError(f"ModelConfig.head_dim={cfg.head_dim} must be even for RoPE.")
  if cfg.rope_type != "default" and not cfg.rope_factor > 0:
    raise ValueError(f"ModelConfig.rope_factor={cfg.rope_factor} must be > 0.")
  if cfg.rope_type in _NEEDS_ORIGINAL_LEN and cfg.rope_original_max_len <= 0:
    raise ValueError(f"ModelConfig.rope_original_max_len={cfg.rope_original_max_len} must be > 0 "
                     f"for rope_type={cfg.rope_type!r}.")
  if cfg.rope_type == "llama3" and not cfg.rope_high_freq_factor > cfg.rope_low_freq_factor:
    raise ValueError(f"ModelConfig.rope_high_freq_factor={cfg.rope_high_freq_factor} must exceed "
                     f"rope_low_freq_factor={cfg.rope_low_freq_factor} for rope_type='llama3'.")


def for_config(cfg):
  """The rope variant a ModelConfig asks for."""
  return _VARIANTS[cfg.rope_type](cfg)


def apply(x_BxTxNxE, positions_BxT, variant):
  """Rotates each head's (first half, second half) pairs by the variant's angles (fp32)."""
  inv_freq = variant.inv_freq(positions_BxT)
  angles_BxTxE2 = positions_BxT[..., None].astype(jnp.float32) * inv_freq
  sin = jnp.sin(angles_BxTxE2)[:, :, None, :]
  cos = jnp.cos(angles_BxTxE2)[:, :, None, :]
  x = x_BxTxNxE.astype(jnp.float32)
  x1, x2 = jnp.split(x, 2, axis=-1)
  out = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
  return out.astype(x_BxTxNxE.dtype)
