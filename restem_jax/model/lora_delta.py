"""Low-rank adapters in the forward pass: y = x W + x A B, never forming W + A B.

The adapters live in their own Flax variable collection, `lora`, next to the weight they
adapt: `attn/wq` gets `lora: attn/wq_a` [D, r] and `attn/wq_b` [r, H, E] (the contracted
axes of W, then r; r, then W's output axes). A module without them runs the plain
projection, so the base model, the sampler and every caller that passes only `params`
are untouched. The LoRA scale alpha / r is folded into `B` by the caller
(`AdaptedParams.variables`), so the model needs no LoRA settings.

`restem_jax.training.lora` builds, scales and merges the adapters; this file is the
model's side only.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp

COLLECTION = "lora"  # the Flax variable collection holding the adapters


def _delta_equation(equation: str) -> str:
  """'btd,dne->btne' -> 'btd,dr,rne->btne' (r = the adapter rank, a free letter)."""
  inputs, out = equation.split("->")
  x_sub, w_sub = inputs.split(",")
  r = next(c for c in "rzyxwuq" if c not in equation)
  contracted = "".join(c for c in w_sub if c in x_sub)
  kept = "".join(c for c in w_sub if c not in x_sub)
  if w_sub != contracted + kept:
    raise ValueError(f"lora: weight subscripts {w_sub!r} of {equation!r} must put the "
                     "contracted axes first.")
  return f"{x_sub},{contracted}{r},{r}{kept}->{out}"


def project(module, name: str, equation: str, x, w, dtype):
  """einsum(equation, x, w in `dtype`) plus the low-rank update when `module` holds
  adapters for `name` in the `lora` collection (A and B also cast to `dtype`)."""
  y = jnp.einsum(equation, x, w.astype(dtype))
  if not module.has_variable(COLLECTION, name + "_a"):
    return y
  a = module.get_variable(COLLECTION, name + "_a").astype(dtype)
  b = module.get_variable(COLLECTION, name + "_b").astype(dtype)
  return y + jnp.einsum(_delta_equation(equation), x, a, b)


class AdaptedParams(flax.struct.PyTreeNode):
  """Frozen base params plus adapters, passed where the model interface takes params.

  `adapters` mirrors the base tree (only the adapted modules, leaves `<w>_a`, `<w>_b`);
  `scale` (alpha / rank) multiplies every B when the variables are built. Indexing reads
  the base params (`interface.lm_head_DxV` needs the embedding or the LM head).
  """
  base: Any
  adapters: Any
  scale: float = flax.struct.field(pytree_node=False, default=1.0)

  def variables(self) -> dict:
    scaled = jax.tree_util.tree_map_with_path(
        lambda path, x: x * self.scale if str(path[-1].key).endswith("_b") else x,
        self.adapters)
    return {"params": self.base, COLLECTION: scaled}

  def __getitem__(self, key):
    return self.base[key]


def variables_of(params) -> dict:
  """The `apply` variables for plain params or `AdaptedParams`."""
  if isinstance(params, AdaptedParams):
    return params.variables()
  return {"params": params}
