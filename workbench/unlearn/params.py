"""Hyperparameters as data: frozen dataclasses whose fields carry defaults, bounds and help.

Widgets build their controls from :func:`param_specs`; :meth:`Params.from_mapping` turns
user input into a validated instance.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar


def param(default: Any, *, low: float | None = None, high: float | None = None,
          help: str = "", choices: tuple[Any, ...] = ()) -> Any:
    """A dataclass field with bounds (inclusive), allowed choices and a help text."""
    return dataclasses.field(default=default, metadata={
        "low": low, "high": high, "help": help, "choices": tuple(choices)})


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter as a widget sees it."""

    name: str
    default: Any
    kind: str
    low: float | None
    high: float | None
    choices: tuple[Any, ...]
    help: str
    integer: bool = False  # the field is annotated ``int`` (or ``int | None``): whole numbers only


@dataclass(frozen=True)
class Params:
    """Base class of every method's parameters; subclasses add :func:`param` fields."""

    method: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for spec in param_specs(type(self)):
            check_value(spec, getattr(self, spec.name), self.method)

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> Params:
        """Defaults overridden by ``values``; an unknown name raises ``ValueError``."""
        values = dict(values or {})
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for method {cls.method!r}; "
                             f"valid: {valid}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def param_specs(cls: type[Params]) -> list[ParamSpec]:
    """The fields of a ``Params`` class with their defaults, bounds and help."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        kind = type(f.default).__name__ if f.default is not None else "optional"
        out.append(ParamSpec(f.name, f.default, kind, meta.get("low"), meta.get("high"),
                             meta.get("choices", ()), meta.get("help", ""),
                             integer=_is_integer_annotation(f.type)))
    return out


def _is_integer_annotation(annotation: Any) -> bool:
    """True for ``int`` and ``int | None``, given as a type or (postponed) as a string."""
    if isinstance(annotation, str):
        return {part.strip() for part in annotation.split("|")} - {"None"} == {"int"}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set(typing.get_args(annotation)) - {type(None)} == {int}
    return annotation is int


def check_value(spec: ParamSpec, value: Any, method: str) -> None:
    """Raise ``ValueError`` when ``value`` is outside the spec's bounds or choices."""
    where = f"parameter {spec.name!r} of method {method!r}"
    if value is None:
        if spec.default is not None:
            raise ValueError(f"{where} cannot be None")
        return
    if spec.choices and value not in spec.choices:
        raise ValueError(f"{where} is {value!r}; choose one of {list(spec.choices)}")
    if spec.integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{where} must be a whole number, got {value!r}")
    if spec.low is None and spec.high is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if value != value:  # NaN
        raise ValueError(f"{where} is NaN")
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise ValueError(f"{where} is {value}; it must lie in [{spec.low}, {spec.high}]")
