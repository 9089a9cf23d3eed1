"""Token-selection strategies: greedy, temperature, top-k, top-p (nucleus).

`SamplingParams` is the frozen boundary object. `top_k` is static (it fixes the
shape of `lax.top_k`); temperature and top_p are traced, so sweeping them reuses
the compiled decode program. temperature == 0 means greedy.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class SamplingParams:
  temperature: float = 0.7  # 0.0 = greedy (argmax)
  top_k: int = 40           # 0 = no top-k filter (then top-p sorts the full vocab)
  top_p: float = 1.0        # nucleus mass; 1.0 = off

  def __post_init__(self):
    if self.temperature < 0:
      raise ValueError(f"SamplingParams.temperature={self.temperature} must be >= 0.")
    if self.top_k < 0:
      raise ValueError(f"SamplingParams.top_k={self.top_k} must be >= 0.")
    if not 0.0 < self.top_p <= 1.0:
      raise ValueError(f"SamplingParams.top_p={self.top_p} must be in (0, 1].")

  @classmethod
  def greedy(cls) -> "SamplingParams":
    return cls(temperature=0.0, top_k=1, top_p=1.0)


def nucleus_mask(sorted_logits_BxK, top_p):
  """Keep the smallest prefix (of descending logits) whose probability mass >= top_p."""
  probs = jax.nn.softmax(sorted_logits_BxK, axis=-1)
  mass_before = jnp.cumsum(probs, axis=-1) - probs
  return mass_before < top_p


def select_tokens(logits_BxV, keys_B, temperature, top_p, top_k: int):
  """One token per row. Each row uses only its own key, so a row's draw does not
  depend on which other rows share the batch."""
  greedy_B = jnp.argmax(logits_BxV, axis=-1).astype(jnp.int32)
  scaled = logits_BxV.astype(jnp.float32) / jnp.maximum(temperature, 1e-6)
  if top_k > 0:
    vals_BxK, idx_BxK = jax.lax.top_k(scaled, min(top_k, scaled.shape[-1]))
  else:
    idx_BxK = jnp.argsort(-scaled, axis=-1)
    vals_BxK = jnp.take_along_axis(scaled, idx_BxK, axis=-1)
  vals_BxK = jnp.where(nucleus_mask(vals_BxK, top_p), vals_BxK, -jnp.inf)
  choice_B = jax.vmap(jax.random.categorical)(keys_B, vals_BxK)
  sampled_B = jnp.take_along_axis(idx_BxK, choice_B[:, None], axis=-1)[:, 0].astype(jnp.int32)
  return jnp.where(temperature > 0, sampled_B, greedy_B)
