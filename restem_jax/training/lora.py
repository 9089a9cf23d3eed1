"""LoRA for the M-step: adapter config, fresh adapters born sharded, merge into the base.

Adapters (fp32 whatever the base dtype) sit on the projections `LoraConfig.targets`
names; each weight W gets A (W's contracted axes, then r) and B (r, then W's output
axes), so `W + scale * A B` has W's shape (`restem_jax.model.lora_delta` computes the
unmerged form in the forward pass). A starts random (std 1 / sqrt(fan-in)), B at zero:
a fresh adapter is the base model exactly, which is ReST-EM's reset-to-base.

Each adapter leaf is sharded by the logical axes of the weight it adapts (the rank axis
is never sharded), so FSDP/tensor rules shard adapters and their Adam moments like the
weights. The adapter tree mirrors the params tree of the model's layer layout (per-layer
`block_i` or the scanned `blocks` with a leading 'layers' axis).
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from restem_jax.model import interface, layer_stack
from restem_jax.model.config import ModelConfig
from restem_jax.sharding import partitioning

# projection name -> (module key, weight key, number of leading contracted axes of W)
TARGETS = {
    "q": ("attn", "wq", 1), "k": ("attn", "wk", 1), "v": ("attn", "wv", 1),
    "o": ("attn", "wo", 2),
    "gate": ("mlp", "w_gate", 1), "up": ("mlp", "w_up", 1), "down": ("mlp", "w_down", 1),
}


@dataclasses.dataclass(frozen=True)
class LoraConfig:
  """rank: adapter rank r; alpha: scale numerator (update = alpha / r * A B);
  targets: projections adapted, a subset of `TARGETS`; dropout: PEFT's `lora_dropout`,
  the probability of dropping an element of the adapter path's input in a training
  step (never in evaluation, sampling or merged weights)."""
  rank: int = 8
  alpha: float = 16.0
  targets: tuple[str, ...] = ("q", "k", "v", "o", "gate", "up", "down")
  dropout: float = 0.0

  def __post_init__(self):
    if self.rank < 1:
      raise ValueError(f"train.lora.rank={self.rank}; must be >= 1.")
    if not 0.0 <= self.dropout < 1.0:
      raise ValueError(f"train.lora.dropout={self.dropout}; must be in [0, 1).")
    unknown = sorted(set(self.targets) - set(TARGETS))
    if unknown or not self.targets:
      raise ValueError(f"train.lora.targets={self.targets!r}: unknown {unknown}; "
                       f"choose from {sorted(TARGETS)}.")

  @property
  def scale(self) -> float:
    return self.alpha / self.rank


def _blocks(cfg: ModelConfig) -> list[str]:
  if cfg.scan_layers:
    return [layer_stack.STACKED]
  return [layer_stack.block_name(i) for i in range(cfg.num_layers)]


def _adapter_specs(cfg: ModelConfig, lcfg: LoraConfig):
  """{block: {module: {w_a, w_b}}} of (shape, logical PartitionSpec)."""
  abstract = jax.eval_shape(lambda k: interface.init_boxed(cfg, k), jax.random.key(0))
  logical = nn.get_partition_spec(abstract)
  shapes = nn.meta.unbox(abstract)
  lead = 1 if cfg.scan_layers else 0
  out: dict = {}
  for block in _blocks(cfg):
    for t in lcfg.targets:
      module, w, n_in = TARGETS[t]
      shape = shapes[block][module][w].shape
      spec = tuple(logical[block][module][w]) + (None,) * len(shape)
      cut = lead + n_in
      mod = out.setdefault(block, {}).setdefault(module, {})
      mod[w + "_a"] = (shape[:cut] + (lcfg.rank,), spec[:cut] + (None,))
      mod[w + "_b"] = (shape[:lead] + (lcfg.rank,) + shape[cut:],
                       spec[:lead] + (None,) + spec[cut:len(shape)])
  return out


def _is_spec(x) -> bool:
  return isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], tuple)


def adapter_shardings(cfg: ModelConfig, lcfg: LoraConfig, mesh, rules):
  specs = _adapter_specs(cfg, lcfg)
  logical = jax.tree.map(lambda s: jax.sharding.PartitionSpec(*s[1]), specs, is_leaf=_is_spec)
  return partitioning.logical_to_shardings(logical, mesh, rules)


def init_adapters(cfg: ModelConfig, lcfg: LoraConfig, rng, mesh, rules):
  """Fresh fp32 adapters (B = 0: the base model exactly), born sharded."""
  specs = _adapter_specs(cfg, lcfg)
  lead = 1 if cfg.scan_layers else 0

  def make(key):
    leaves, treedef = jax.tree.flatten(specs, is_leaf=_is_spec)
    keys = jax.random.split(key, len(leaves))
    paths = [jax.tree_util.keystr(p) for p, _ in
             jax.tree_util.tree_flatten_with_path(specs, is_leaf=_is_spec)[0]]
    made = []
    for k, (shape, _), path in zip(keys, leaves, paths):
      if path.endswith("_b']"):
        made.append(jnp.zeros(shape, jnp.float32))
      else:
        fan_in = math.prod(shape[lead:-1])
        made.append(jax.random.normal(k, shape, jnp.float32) / fan_in ** 0.5)
    return jax.tree.unflatten(treedef, made)

  return jax.jit(make, out_shardings=adapter_shardings(cfg, lcfg, mesh, rules))(rng)


def abstract_adapters(cfg: ModelConfig, lcfg: LoraConfig, mesh, rules):
  """ShapeDtypeStructs (with shardings) of `init_adapters`' output: restore targets and
  the AOT plan's trained leaves."""
  shapes = jax.eval_shape(lambda k: init_adapters(cfg, lcfg, k, mesh, rules),
                          jax.random.key(0))
  shardings = adapter_shardings(cfg, lcfg, mesh, rules)
  return jax.tree.map(lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh),
                      shapes, shardings)


def _delta(a, b, lead: int):
  """A [*L, *in, r] x B [*L, r, *out] -> [*L, *in, *out] in fp32."""
  letters = "abcdefghijklmnopq"
  lead_s = letters[:lead]
  in_s = letters[lead:a.ndim - 1]
  out_s = letters[a.ndim - 1:a.ndim - 1 + b.ndim - 1 - lead]
  eq = f"{lead_s}{in_s}z,{lead_s}z{out_s}->{lead_s}{in_s}{out_s}"
  return jnp.einsum(eq, a.astype(jnp.float32), b.astype(jnp.float32))


def merge(cfg: ModelConfig, lcfg: LoraConfig, params, adapters):
  """Base params with every adapted weight replaced by W + scale * A B (W's dtype and
  sharding); the other leaves are the base's own arrays (shared, not copied). Run once
  per iteration (E-step weights, export), never per step."""
  lead = 1 if cfg.scan_layers else 0
  adapted = {(block, module, name[:-2]) for block, modules in adapters.items()
             for module, ws in modules.items() for name in ws if name.endswith("_a")}
  weights = {k: params[k[0]][k[1]][k[2]] for k in adapted}

  def merged(weights, adapters):
    out = {}
    for (block, module, w), base in weights.items():
      ws = adapters[block][module]
      d = _delta(ws[w + "_a"], ws[w + "_b"], lead) * lcfg.scale
      out[(block, module, w)] = (base.astype(jnp.float32) + d).astype(base.dtype)
    return out

  new = jax.jit(merged, out_shardings={k: v.sharding for k, v in weights.items()})(
      weights, adapters)
  out = {k: (dict(v) if k in adapters else v) for k, v in params.items()}
  for block in adapters:
    out[block] = {m: dict(ws) if isinstance(ws, dict) else ws for m, ws in out[block].items()}
  for (block, module, w), x in new.items():
    out[block][module][w] = x
  return out
