"""A mixin that gives frozen dataclasses a JSON-native ``to_dict`` / ``from_dict``.

Fields may hold ``str``, ``int``, ``float``, ``bool``, ``None``, tuples, ``dict[str, ...]``
and other ``JsonRecord`` dataclasses. Tuples become lists in JSON and tuples again when
read back, so ``from_dict(to_dict(x)) == x``. numpy or torch values are refused when
writing, so a result can never smuggle one into a JSON file. A field marked
``metadata={"json": False}`` stays in memory only (and should be ``compare=False``); one
marked ``metadata={"key": "old_name"}`` is written and read under that JSON key (a Python
rename that leaves signed records unchanged).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


class JsonRecord:
    """Mixin for frozen dataclasses made only of JSON-native values."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-native form: dicts, lists, strings, finite numbers, booleans and None."""
        return {_key(f): _dump(getattr(self, f.name), f"{type(self).__name__}.{f.name}")
                for f in _fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Rebuild from :meth:`to_dict` output; unknown or missing fields raise ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__} expects a JSON object, got {type(data).__name__}")
        hints = get_type_hints(cls)
        keys = {_key(f): f.name for f in _fields(cls)}
        unknown = sorted(set(data) - set(keys))
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {unknown}")
        required = [_key(f) for f in _fields(cls)
                    if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        missing = [k for k in required if k not in data]
        if missing:
            raise ValueError(f"{cls.__name__} is missing field(s) {missing}")
        return cls(**{n: _load(hints[n], data[k], f"{cls.__name__}.{k}")
                      for k, n in keys.items() if k in data})


def _fields(record: Any) -> list[dataclasses.Field]:
    """The fields written to JSON: all but those marked ``metadata={"json": False}`` (kept
    in memory only)."""
    return [f for f in dataclasses.fields(record) if f.metadata.get("json", True)]


def _key(f: dataclasses.Field) -> str:
    """The JSON key of field ``f``: its name, or the key it kept through a rename."""
    return f.metadata.get("key", f.name)


def _dump(value: Any, where: str) -> Any:
    if isinstance(value, JsonRecord):
        return value.to_dict()
    if value is None or type(value) in (str, bool, int):
        return value
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; results hold finite numbers or None")
        return value
    if isinstance(value, tuple | list):
        return [_dump(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _dump(v, where) for k, v in value.items()}
    raise TypeError(f"{where} holds a {type(value).__module__}.{type(value).__name__}; "
                    "results hold only JSON-native values (convert with float()/int()/list)")


def _load(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None:
            if len(options) < len(get_args(hint)):
                return None
            raise ValueError(f"{where} may not be null")
        return _load(options[0], value, where)
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} should be a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise ValueError(f"{where} should hold {len(args)} values, got {len(value)}")
        return tuple(_load(a, v, where) for a, v in zip(args, value, strict=True))
    if origin is dict:
        _, value_hint = get_args(hint)
        return {str(k): _load(value_hint, v, where) for k, v in value.items()}
    if origin is Literal:
        if value not in get_args(hint):
            raise ValueError(f"{where} is {value!r}; expected one of {get_args(hint)}")
        return value
    if isinstance(hint, type) and issubclass(hint, JsonRecord):
        return hint.from_dict(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} should be a number, got {value!r}")
        return float(value)
    if hint in (int, str, bool):
        if type(value) is not hint:
            raise ValueError(f"{where} should be {hint.__name__}, got {value!r}")
        return value
    if hint is typing.Any:
        return value
    raise TypeError(f"{where}: unsupported field type {hint!r}")  # pragma: no cover - a code bug
