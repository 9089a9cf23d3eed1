"""`from_dict`: dict -> nested frozen dataclasses by type hints, errors naming the full path."""

import dataclasses
from typing import Any, Mapping

import pytest

from restem_jax.from_dict import ConfigError, from_dict


@dataclasses.dataclass(frozen=True)
class Entry:
  limit: int = 0
  ks: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class Inner:
  rank: int = 0
  alpha: float = 16.0
  targets: tuple[str, ...] = ("q",)

  def __post_init__(self):
    if self.rank < 0:
      raise ValueError(f"rank={self.rank} must be >= 0")


@dataclasses.dataclass(frozen=True)
class Outer:
  name: str
  inner: Inner = Inner()
  width: int | None = None
  rules: tuple = ()
  kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  entries: Mapping[str, Entry] = dataclasses.field(default_factory=dict)


def test_nested_tuples_mappings_and_defaults():
  o = from_dict(Outer, {"name": "x", "inner": {"rank": 4, "alpha": 8, "targets": ["q", "v"]},
                        "rules": [["batch", ["data", "fsdp"]], ["embed", None]],
                        "kwargs": {"a": [1]}, "entries": {"e": {"ks": [1, 2]}}}, "config")
  assert o.inner == Inner(rank=4, alpha=8.0, targets=("q", "v"))
  assert isinstance(o.inner.alpha, float)
  assert o.rules == (("batch", ("data", "fsdp")), ("embed", None))
  assert o.kwargs == {"a": [1]} and o.entries == {"e": Entry(ks=(1, 2))}
  assert o.width is None and from_dict(Outer, {"name": "y", "width": 3}, "c").width == 3
  assert from_dict(Outer, {"name": "z"}, "config") == Outer(name="z")


def test_unknown_key_names_the_full_path_and_the_fields():
  with pytest.raises(ConfigError, match=r"^config\.inner\.rnak is not a field; inner accepts "
                     r"\['alpha', 'rank', 'targets'\]\.$"):
    from_dict(Outer, {"name": "x", "inner": {"rnak": 3}}, "config")
  with pytest.raises(ConfigError, match=r"config\.entries\.e\.limt is not a field"):
    from_dict(Outer, {"name": "x", "entries": {"e": {"limt": 3}}}, "config")


def test_wrong_types_name_the_field():
  with pytest.raises(ConfigError, match=r"config\.inner\.rank: expected int, got str 'many'"):
    from_dict(Outer, {"name": "x", "inner": {"rank": "many"}}, "config")
  with pytest.raises(ConfigError, match=r"config\.inner\.rank: expected int, got bool"):
    from_dict(Outer, {"name": "x", "inner": {"rank": True}}, "config")
  with pytest.raises(ConfigError, match=r"config\.inner\.targets\[1\]: expected str"):
    from_dict(Outer, {"name": "x", "inner": {"targets": ["q", 3]}}, "config")
  with pytest.raises(ConfigError, match=r"config\.inner: expected a mapping"):
    from_dict(Outer, {"name": "x", "inner": 3}, "config")
  with pytest.raises(ConfigError, match=r"config\.width: expected int \| None|config\.width: "
                     r"expected int"):
    from_dict(Outer, {"name": "x", "width": "3"}, "config")


def test_missing_required_and_invalid_values_are_named():
  with pytest.raises(ConfigError, match=r"config\.name is required"):
    from_dict(Outer, {}, "config")
  with pytest.raises(ConfigError, match=r"config\.inner is invalid: rank=-1 must be >= 0"):
    from_dict(Outer, {"name": "x", "inner": {"rank": -1}}, "config")
