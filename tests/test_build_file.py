"""BUILD names every module and every test file in the tree (and nothing that is gone), with
each module's deps as its imports."""

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


def test_build_is_what_gen_build_writes():
  """BUILD's deps are the imports (tools/gen_build.py), so BUILD states the layering too."""
  import importlib.util  # pylint: disable=import-outside-toplevel
  spec = importlib.util.spec_from_file_location("gen_build",
                                                os.path.join(REPO, "tools", "gen_build.py"))
  gen_build = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(gen_build)
  with open(os.path.join(REPO, "BUILD")) as f:
    assert f.read() == gen_build.build_text(REPO), "BUILD is stale: python tools/gen_build.py"
  assert '":restem_jax_model_interface",' in "\n".join(gen_build.library(
      "restem_jax.sampling.decode", "restem_jax/sampling/decode.py",
      {"restem_jax.model.interface"}))
