"""Logical axis rules -> `jax.sharding` (the t5x/MaxText convention, without t5x).

Model code names axes logically ('embed', 'mlp', 'batch', ...); the rules in the
config map each logical name to a mesh axis (or None = replicated). Params are
initialised directly sharded: `jax.eval_shape` gives the boxed shapes and logical
specs, which become `out_shardings` of a jitted init.
"""

from __future__ import annotations

import contextlib
from typing import Sequence

import flax.linen as nn
import jax
from jax.sharding import NamedSharding, PartitionSpec

LogicalRules = Sequence[tuple[str, str | tuple[str, ...] | None]]

# The default mapping (t5x `standard_logical_axis_rules` with fsdp added).
DEFAULT_RULES: tuple = (
    ("batch", ("data", "fsdp")),
    ("vocab", "tensor"),
    ("embed", "fsdp"),
    ("mlp", "tensor"),
    ("heads", "tensor"),
    ("kv_heads", "tensor"),
    ("head_dim", None),
    ("act_length", None),
    ("act_embed", None),
    ("act_heads", "tensor"),
    ("act_kv_heads", "tensor"),
    ("act_mlp", "tensor"),
    ("act_vocab", "tensor"),
    ("cache_length", None),
    ("layers", None),  # the stacked layer axis of scanned params (model.layer_stack)
)


# Sampling: weights replicated over fsdp (tensor-parallel only), so a decode step never
# all-gathers FSDP-sharded weights; rows stay data-parallel over data x fsdp.
SAMPLING_RULES: tuple = tuple(
    (name, None if name == "embed" else axes) for name, axes in DEFAULT_RULES)


def normalize_rules(rules) -> tuple:
  """Rules from the run config (lists or tuples) to the hashable tuple form flax expects."""
  out = []
  for rule in rules:
    if len(rule) != 2:
      raise ValueError(f"logical axis rule {rule!r} must be (logical_name, mesh_axes).")
    name, axes = rule
    if isinstance(axes, list):
      axes = tuple(axes)
    out.append((name, axes))
  return tuple(out)


@contextlib.contextmanager
def activation_sharding(mesh: jax.sharding.Mesh, rules: LogicalRules):
  """Context under which `nn.with_logical_constraint` in the model is active."""
  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    yield


def logical_to_shardings(logical_specs, mesh, rules):
  """Pytree of logical PartitionSpecs -> pytree of NamedSharding."""
  return nn.logical_to_mesh_sharding(logical_specs, mesh, rules)


def init_sharded(init_fn, rng, mesh, rules):
  """Run `init_fn(rng) -> boxed params` with params born sharded.

  Returns:
    (params, shardings, logical_specs): plain params pytree, its NamedShardings
    and its logical PartitionSpecs.
  """
  abstract = jax.eval_shape(init_fn, rng)
  logical_specs = nn.get_partition_spec(abstract)
  shardings = logical_to_shardings(logical_specs, mesh, rules)

  def _init_unboxed(key):
    return nn.meta.unbox(init_fn(key))

  with activation_sharding(mesh, rules):
    params = jax.jit(_init_unboxed, out_shardings=shardings)(rng)
  return params, shardings, logical_specs


def param_shardings(init_fn, mesh, rules):
  """NamedShardings of the params `init_fn(rng)` creates, under `rules` (nothing is run)."""
  abstract = jax.eval_shape(init_fn, jax.random.key(0))
  return logical_to_shardings(nn.get_partition_spec(abstract), mesh, rules)


def reshard(params, shardings):
  """`params` placed with `shardings` (a no-op for leaves already placed that way).

  The E-step samples with the sampling rules and the M-step trains with the training
  rules; this is the move between the two layouts.
  """
  return jax.tree.map(
      lambda x, s: x if getattr(x, "sharding", None) == s else jax.device_put(x, s),
      params, shardings)


def batch_sharding(mesh, rules, ndim: int) -> NamedSharding:
  """Sharding of a [batch, ...] array: batch on the data axes, the rest replicated."""
  spec = nn.logical_to_mesh_axes(("batch",) + (None,) * (ndim - 1), rules)
  return NamedSharding(mesh, spec)


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())
