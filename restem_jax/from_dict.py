"""The one dict -> frozen-dataclass converter: `from_dict(cls, mapping, path)`.

Used for the run config (`restem_jax.config`: the card's ConfigDict as a dict ->
`RunConfig`), for model configs (a `config.model` section merged with a checkpoint's
model_config.json) and for every nested section. Recursive by the dataclass's type hints:

  a dataclass              a mapping of its fields (or an instance, kept)
  X | None, Optional[X]    None, or an X
  tuple[X, ...]            a list or tuple of X -> a tuple
  tuple                    a list or tuple, nested lists -> nested tuples
  Mapping[str, X], dict    a mapping -> a dict of X (X a dataclass: each entry converted)
  float                    a float or an int (-> float)
  int, str, bool           exactly that type (a bool is not an int here)
  Any                      as is

A key that is not a field fails with its full path (`config.sampler.tempreature is not a
field; sampler accepts [...]`); a value of the wrong type fails naming the field, the
expected type and the value; the dataclass's own checks (`__post_init__`) fail as
`config.eval is invalid: ...`. Missing keys take the field's default.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
  return typing.get_type_hints(cls)


def _name(tp) -> str:
  return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


class ConfigError(ValueError):
  """A config value or key `from_dict` refuses; the message names the field's full path."""


def _fail(path: str, tp, value) -> ConfigError:
  return ConfigError(f"{path}: expected {_name(tp)}, got {type(value).__name__} {value!r}.")


def _deep_tuple(value):
  if isinstance(value, (list, tuple)):
    return tuple(_deep_tuple(v) for v in value)
  return value


def _convert(tp, value, path: str):
  """`value` as type hint `tp` (see the module docstring), or a ConfigError naming `path`."""
  if tp is Any:
    return value
  origin, args = typing.get_origin(tp), typing.get_args(tp)
  if origin in (typing.Union, types.UnionType):
    if value is None and type(None) in args:
      return None
    options = [a for a in args if a is not type(None)]
    if len(options) == 1:
      return _convert(options[0], value, path)
    for option in options:
      try:
        return _convert(option, value, path)
      except ValueError:
        continue
    raise _fail(path, tp, value)
  if dataclasses.is_dataclass(tp):
    if isinstance(value, tp):
      return value
    return from_dict(tp, value, path)
  if tp is tuple or origin is tuple:
    if not isinstance(value, (list, tuple)):
      raise _fail(path, tp, value)
    if not args:
      return _deep_tuple(value)
    if len(args) == 2 and args[1] is Ellipsis:
      return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if len(args) != len(value):
      raise _fail(path, tp, value)
    return tuple(_convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
  if tp in (dict, collections.abc.Mapping) or origin in (dict, collections.abc.Mapping):
    if not isinstance(value, collections.abc.Mapping):
      raise _fail(path, tp, value)
    value_type = args[1] if len(args) == 2 else Any
    return {k: _convert(value_type, v, f"{path}.{k}") for k, v in value.items()}
  if tp is float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      return float(value)
    raise _fail(path, tp, value)
  if tp in (int, str, bool):
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
      return value
    raise _fail(path, tp, value)
  if isinstance(tp, type):
    if isinstance(value, tp):
      return value
    raise _fail(path, tp, value)
  return value


def from_dict(cls: type[T], mapping: Mapping[str, Any], path: str) -> T:
  """`cls` (a dataclass) built from `mapping`, recursively; errors name `path.field`.

  Raises ConfigError (a ValueError) for a key that is not a field, a missing required
  field, a value of the wrong type, and a value the dataclass's own checks reject.
  """
  if not isinstance(mapping, collections.abc.Mapping):
    raise ConfigError(f"{path}: expected a mapping of {cls.__name__}'s fields, got "
                    f"{type(mapping).__name__} {mapping!r}.")
  fields = [f for f in dataclasses.fields(cls) if f.init]
  names = [f.name for f in fields]
  section = path.rsplit(".", 1)[-1]
  for key in mapping:
    if key not in names:
      raise ConfigError(f"{path}.{key} is not a field; {section} accepts {sorted(names)}.")
  hints = _hints(cls)
  values = {}
  for f in fields:
    if f.name in mapping:
      values[f.name] = _convert(hints[f.name], mapping[f.name], f"{path}.{f.name}")
    elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
      raise ConfigError(f"{path}.{f.name} is required ({cls.__name__} has no default for it).")
  try:
    return cls(**values)
  except (TypeError, ValueError) as e:
    raise ConfigError(f"{path} is invalid: {e}") from e
