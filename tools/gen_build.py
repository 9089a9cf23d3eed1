"""Regenerates BUILD: one py_library per module with its `deps` (the package modules it
imports, read by tools/module_imports.py), one py_test per test file.

  python tools/gen_build.py

tests/test_build_file.py checks BUILD is what this writes; tests/test_layering.py checks
that the deps only run down the package's layers.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import module_imports  # pylint: disable=wrong-import-position

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = ["# Bazel targets, one py_library per module (deps: the package modules it imports) and",
          "# one py_test per test file. Regenerate with `python tools/gen_build.py`;",
          "# tests/test_build_file.py checks it is in sync, tests/test_layering.py the layer order.",
          "", 'package(default_visibility = ["//visibility:public"])', ""]


def target(module: str) -> str:
  path = module.replace(".", "_")
  return path + "___init__" if os.path.isdir(os.path.join(REPO, *module.split("."))) else path


def library(module: str, path: str, deps: set[str]) -> list[str]:
  lines = ["py_library(", f'    name = "{target(module)}",', f'    srcs = ["{path}"],']
  if deps:
    lines.append("    deps = [")
    lines += [f'        ":{target(d)}",' for d in sorted(deps, key=target)]
    lines.append("    ],")
  return lines + [")", ""]


def build_text(root: str = REPO) -> str:
  mods = module_imports.modules(root)
  deps = module_imports.graph(root)
  lines = list(HEADER)
  for module, path in sorted(mods.items(), key=lambda kv: kv[1]):
    lines += library(module, path, deps[module])
  for d, _, files in sorted(os.walk(os.path.join(root, "tests"))):
    for f in sorted(files):
      if f.startswith("test_") and f.endswith(".py"):
        path = os.path.relpath(os.path.join(d, f), root)
        name = path[:-3].replace("/", "_")
        lines += ["py_test(", f'    name = "{name}",', f'    srcs = ["{path}"],',
                  f'    main = "{path}",', ")", ""]
  return "\n".join(lines)


if __name__ == "__main__":
  with open(os.path.join(REPO, "BUILD"), "w") as out:
    out.write(build_text())
