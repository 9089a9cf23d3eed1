"""BUILD names every module and every test file in the tree (and nothing that is gone)."""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tree(top, keep):
  out = set()
  for root, _, files in os.walk(os.path.join(REPO, top)):
    for f in files:
      if keep(f):
        out.add(os.path.relpath(os.path.join(root, f), REPO))
  return out


def test_build_lists_every_module_and_test():
  with open(os.path.join(REPO, "BUILD")) as f:
    srcs = set(re.findall(r'srcs = \["([^"]+)"\]', f.read()))
  modules = _tree("restem_jax", lambda f: f.endswith(".py"))
  tests = _tree("tests", lambda f: f.startswith("test_") and f.endswith(".py"))
  assert not (modules | tests) - srcs, f"missing from BUILD: {sorted((modules | tests) - srcs)}"
  assert not srcs - (modules | tests), f"stale in BUILD: {sorted(srcs - (modules | tests))}"
