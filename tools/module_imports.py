"""The restem_jax modules each restem_jax module imports, read from the source (no import).

Used by tools/gen_build.py (BUILD `deps`) and tests/test_layering.py (the allowed order
of the package's layers). Every `import` and `from ... import` counts, also those inside
functions (an import on first use is still an edge of the graph).
"""

from __future__ import annotations

import ast
import os

PACKAGE = "restem_jax"


def module_name(path: str) -> str:
  """'restem_jax/loop/runner.py' -> 'restem_jax.loop.runner' (a package is its __init__)."""
  name = path[:-len(".py")].replace(os.sep, ".")
  return name[:-len(".__init__")] if name.endswith(".__init__") else name


def modules(root: str) -> dict[str, str]:
  """{module name: path relative to `root`} of every .py file under root/restem_jax."""
  out = {}
  for d, _, files in os.walk(os.path.join(root, PACKAGE)):
    for f in files:
      if f.endswith(".py"):
        rel = os.path.relpath(os.path.join(d, f), root)
        out[module_name(rel)] = rel
  return out


def _candidates(node) -> list[str]:
  if isinstance(node, ast.Import):
    return [a.name for a in node.names]
  if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
    return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
  return []


def imports(root: str, path: str, known: set[str]) -> set[str]:
  """The modules of `known` that the file at root/path imports (`from p import m` names
  module p.m when that is a module, else p)."""
  with open(os.path.join(root, path)) as f:
    tree = ast.parse(f.read(), path)
  out = set()
  for node in ast.walk(tree):
    names = _candidates(node)
    if isinstance(node, ast.ImportFrom):
      subs = [n for n in names[1:] if n in known]
      names = subs if len(subs) == len(names) - 1 else [names[0]] + subs
    out.update(n for n in names if n in known)
  out.discard(module_name(path))
  return out


def graph(root: str) -> dict[str, set[str]]:
  """{module: the package modules it imports} for the whole package."""
  mods = modules(root)
  return {m: imports(root, p, set(mods)) for m, p in sorted(mods.items())}
