"""The function families of the generated `toy_code` task: tiny programs to infer from examples.

A family is a one-line body template with a grid of parameters, the Python function it
denotes (used to compute expected outputs, independently of the program text) and the
kind of argument it takes. Level 1 is arithmetic/string one-liners, level 2 a filter,
count or concatenation, level 3 two-parameter piecewise/polynomial/map bodies. Every
program is `def f(<arg>):\\n    return ...` and stays under 60 characters.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from typing import Any, Callable

Params = tuple[tuple[str, Any], ...]
_LETTERS = "abcde"


def _grid(**axes) -> tuple[Params, ...]:
  names = sorted(axes)
  return tuple(tuple(zip(names, values))
               for values in itertools.product(*(axes[n] for n in names)))


@dataclasses.dataclass(frozen=True)
class Family:
  name: str
  level: int
  arg: str                                  # 'x' (int), 's' (str) or 'xs' (list of int)
  body: str                                 # str.format template over the params
  fn: Callable[..., Callable[[Any], Any]]   # fn(**params) -> f
  grid: tuple[Params, ...]
  nonempty: bool = False                    # list inputs must have an element

  def program(self, params: Params) -> str:
    return f"def f({self.arg}):\n    {self.body.format(**dict(params))}\n"

  def function(self, params: Params) -> Callable[[Any], Any]:
    return self.fn(**dict(params))

  def random_input(self, rng: random.Random):
    if self.arg == "x":
      return rng.randint(-9, 20)
    if self.arg == "s":
      return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(1, 5)))
    return [rng.randint(-5, 9) for _ in range(rng.randint(int(self.nonempty), 4))]


FAMILIES: tuple[Family, ...] = (
    Family("affine", 1, "x", "return {a}*x{b:+d}", lambda a, b: lambda x: a * x + b,
           _grid(a=(-3, -2, -1, 1, 2, 3, 4, 5), b=range(-4, 7))),
    Family("mod", 1, "x", "return x%{m}", lambda m: lambda x: x % m, _grid(m=range(2, 10))),
    Family("repeat", 1, "s", "return s*{n}", lambda n: lambda s: s * n, _grid(n=range(2, 6))),
    Family("case", 1, "s", "return s.{method}()",
           lambda method: lambda s: getattr(s, method)(), _grid(method=("upper", "capitalize"))),
    Family("slice", 1, "s", "return s[::{k}]", lambda k: lambda s: s[::k],
           _grid(k=(-1, 2, -2, 3))),
    Family("sum_gt", 2, "xs", "return sum(v for v in xs if v>{k})",
           lambda k: lambda xs: sum(v for v in xs if v > k), _grid(k=range(-3, 7))),
    Family("count_mod", 2, "xs", "return sum(1 for v in xs if v%{m}=={r})",
           lambda m, r: lambda xs: sum(1 for v in xs if v % m == r),
           tuple(p for p in _grid(m=(2, 3, 4), r=(0, 1, 2, 3)) if dict(p)["r"] < dict(p)["m"])),
    Family("max_plus", 2, "xs", "return max(xs){c:+d}", lambda c: lambda xs: max(xs) + c,
           _grid(c=range(-3, 6)), nonempty=True),
    Family("suffix", 2, "s", "return s+{t!r}", lambda t: lambda s: s + t,
           _grid(t=("ab", "x", "yz", "!", "ok"))),
    Family("prefix", 2, "s", "return {t!r}+s", lambda t: lambda s: t + s,
           _grid(t=("ab", "x", "yz", "!", "ok"))),
    Family("quadratic", 3, "x", "return {a}*x*x{b:+d}*x{c:+d}",
           lambda a, b, c: lambda x: a * x * x + b * x + c,
           _grid(a=(-1, 1, 2), b=range(-2, 3), c=range(-2, 3))),
    Family("map_affine", 3, "xs", "return [{a}*v{b:+d} for v in xs]",
           lambda a, b: lambda xs: [a * v + b for v in xs], _grid(a=(-1, 2, 3), b=range(-2, 4))),
    Family("piecewise", 3, "x", "return {a}*x if x>{k} else x{b:+d}",
           lambda a, b, k: lambda x: a * x if x > k else x + b,
           _grid(a=(2, 3), b=(1, 2, 3, 4), k=range(0, 6))),
    Family("replace", 3, "s", "return s.replace({c1!r},{c2!r})",
           lambda c1, c2: lambda s: s.replace(c1, c2), _grid(c1=("a", "b", "c"), c2=("x", "y", "z"))),
    Family("keep_mod", 3, "xs", "return [v for v in xs if v%{m}==0]",
           lambda m: lambda xs: [v for v in xs if v % m == 0], _grid(m=(2, 3, 4))),
)
FAMILY_BY_NAME = {f.name: f for f in FAMILIES}
