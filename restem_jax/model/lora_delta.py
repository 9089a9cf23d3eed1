"""Low-rank adapters in the forward pass: y = x W + x A B, never forming W + A B.

The adapters live in their own Flax variable collection, `lora`, next to the weight they
adapt: `attn/wq` gets `lora: attn/wq_a` [D, r] and `attn/wq_b` [r, H, E] (the contracted
axes of W, then r; r, then W's output axes). A module without them runs the plain
projection, so the base model, the sampler and every caller that passes only `params`
are untouched. The LoRA scale alpha / r is folded into `B` by the caller
(`AdaptedParams.variables`), so the model needs no LoRA settings.

Dropout (PEFT's `lora_dropout`) drops the adapter path's input only: y = x W +
dropout(x) A B. It runs only when the caller passes both the rate (collection
`lora_dropout`, one leaf per adapted weight, per layer) and a key (rng stream
`lora_dropout`): `AdaptedParams` does so in a training step; evaluation, sampling and
merged weights never see it.

`restem_jax.training.lora` builds, scales and merges the adapters; this file is the
model's side only.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp

from restem_jax.model import layer_stack

COLLECTION = "lora"  # the Flax variable collection holding the adapters
DROPOUT = "lora_dropout"  # the collection holding dropout rates, and its rng stream


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
  if module.has_variable(DROPOUT, name) and module.has_rng(DROPOUT):
    x = _dropout(x, module.get_variable(DROPOUT, name), module.make_rng(DROPOUT))
  return y + jnp.einsum(_delta_equation(equation), x, a, b)


def _dropout(x, rate, key):
  """Inverted dropout: each element zeroed with probability `rate`, the rest / (1 - rate)."""
  keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)


class AdaptedParams(flax.struct.PyTreeNode):
  """Frozen base params plus adapters, passed where the model interface takes params.

  `adapters` mirrors the base tree (only the adapted modules, leaves `<w>_a`, `<w>_b`);
  `scale` (alpha / rank) multiplies every B when the variables are built. With
  `dropout` > 0 and a `dropout_rng` (a training step's key), the adapter path's input is
  dropped (see the module docstring); without a key there is no dropout. Indexing reads
  the base params (`interface.lm_head_DxV` needs the embedding or the LM head).
  """
  base: Any
  adapters: Any
  scale: float = flax.struct.field(pytree_node=False, default=1.0)
  dropout: float = flax.struct.field(pytree_node=False, default=0.0)
  dropout_rng: Any = None

  def variables(self) -> dict:
    scaled = jax.tree_util.tree_map_with_path(
        lambda path, x: x * self.scale if str(path[-1].key).endswith("_b") else x,
        self.adapters)
    out = {"params": self.base, COLLECTION: scaled}
    if self.rngs():
      out[DROPOUT] = _rates(self.adapters, self.dropout)
    return out

  def rngs(self) -> dict:
    """The `apply` rngs: the dropout key when this step drops, else none."""
    if self.dropout > 0 and self.dropout_rng is not None:
      return {DROPOUT: self.dropout_rng}
    return {}

  def __getitem__(self, key):
    return self.base[key]


def _rates(adapters, rate: float) -> dict:
  """{block: {module: {w: rate}}}, one leaf per adapted weight; shaped [layers] under the
  scanned stack (the scan slices it like the adapters), a scalar per unscanned block."""
  out: dict = {}
  for block, modules in adapters.items():
    for module, ws in modules.items():
      for name, a in ws.items():
        if name.endswith("_a"):
          lead = a.shape[:1] if block == layer_stack.STACKED else ()
          out.setdefault(block, {}).setdefault(module, {})[name[:-2]] = jnp.full(
              lead, rate, jnp.float32)
  return out


def variables_of(params) -> dict:
  """The `apply` variables for plain params or `AdaptedParams`."""
  if isinstance(params, AdaptedParams):
    return params.variables()
  return {"params": params}


def rngs_of(params) -> dict:
  """The `apply` rngs for plain params (none) or `AdaptedParams` (dropout in training)."""
  if isinstance(params, AdaptedParams):
    return params.rngs()
  return {}
