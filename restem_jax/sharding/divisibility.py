"""Whether a model's params can be laid out on a mesh: every sharded dim divides evenly.

The logical axis rules map each param dim to mesh axes; a dim of size s over mesh axes of
total size n needs s % n == 0, or placing the array fails — and when it fails inside an
Orbax restore, the error reads like an unreadable checkpoint ("missing or corrupt").
`check` runs where the model config and the mesh meet (restore targets, before any
weight is read) and names the culprit instead. A vocabulary whose size does not divide
its shards gets its own message: this code base does not pad the vocabulary, so the
remedy is another mesh (or rules that shard 'vocab' over fewer axes).
"""

from __future__ import annotations

import math

import jax


def _axes(entry) -> tuple[str, ...]:
  if entry is None:
    return ()
  return tuple(entry) if isinstance(entry, (tuple, list)) else (entry,)


def _problems(shapes, logical_specs, shardings) -> list[dict]:
  """One dict per (param, dim) whose size the mesh axes it is sharded over do not divide."""
  out = []

  def visit(path, shape, logical, sharding):
    spec = tuple(sharding.spec) + (None,) * (len(shape.shape) - len(sharding.spec))
    names = tuple(logical) + (None,) * (len(shape.shape) - len(tuple(logical)))
    for dim, (size, entry, name) in enumerate(zip(shape.shape, spec, names)):
      axes = _axes(entry)
      n = math.prod(sharding.mesh.shape[a] for a in axes)
      if n > 1 and size % n:
        out.append(dict(param=jax.tree_util.keystr(path), dim=dim, size=size, logical=name,
                        axes=axes, shards=n, mesh=dict(sharding.mesh.shape)))

  jax.tree_util.tree_map_with_path(visit, shapes, logical_specs, shardings)
  return out


def _vocab_message(vocab_size: int, p: dict) -> str:
  sizes = " x ".join(f"{a}={p['mesh'][a]}" for a in p["axes"])
  mesh = ", ".join(f"{a}={s}" for a, s in p["mesh"].items())
  return (f"model vocab_size={vocab_size} cannot be sharded over this mesh: the logical axis "
          f"rules put 'vocab' on mesh axes {sizes} = {p['shards']} shards (mesh {mesh}), and "
          f"{vocab_size} % {p['shards']} = {vocab_size % p['shards']} (param {p['param']}, "
          f"shape dim {p['dim']}). Use a mesh whose {' x '.join(p['axes'])} size divides "
          f"{vocab_size} (config.mesh.axis_sizes, e.g. tensor=1), or map 'vocab' to fewer mesh "
          "axes in config.logical_axis_rules; the vocabulary is not padded by this code base.")


def check(shapes, logical_specs, shardings, vocab_size: int) -> None:
  """Raises ValueError naming the first param dim (vocab first) the mesh cannot divide.

  Args: trees of `jax.ShapeDtypeStruct` (or anything with `.shape`), logical
  PartitionSpecs, and NamedShardings of the same params; `vocab_size` for the message.
  """
  problems = _problems(shapes, logical_specs, shardings)
  if not problems:
    return
  vocab = [p for p in problems if p["logical"] == "vocab"]
  if vocab:
    raise ValueError(_vocab_message(vocab_size, vocab[0]))
  p = problems[0]
  raise ValueError(
      f"param {p['param']} dim {p['dim']} (logical axis {p['logical']!r}, size {p['size']}) "
      f"cannot be split into the {p['shards']} shards of mesh axes {p['axes']} (mesh "
      f"{p['mesh']}); {len(problems)} param dim(s) in all. Use a mesh whose axis sizes "
      "divide the model's dims (config.mesh.axis_sizes) or change config.logical_axis_rules.")
