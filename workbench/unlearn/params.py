"""Hyperparameters as data: frozen dataclasses whose fields carry defaults, bounds and help.

Widgets build their controls from :func:`param_specs`; :meth:`Params.from_mapping` turns
user input into a validated instance. Each field also carries what a screen shows: a
``label`` in words, its ``unit`` and whether it is ``advanced`` (rarely changed, folded away).
The usual optimiser settings (``lr``, ``epochs``, ``batch_size``, ...) take theirs from
:data:`STANDARD` unless the field names its own.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self


def param(default: Any, *, low: float | None = None, high: float | None = None,
          help: str = "", choices: tuple[Any, ...] = (), label: str = "", unit: str = "",
          advanced: bool | None = None) -> Any:
    """A dataclass field with bounds (inclusive), allowed choices, a help text, and what a
    screen shows: a label in words, the unit of the number, and whether it is advanced."""
    return dataclasses.field(default=default, metadata={
        "low": low, "high": high, "help": help, "choices": tuple(choices), "label": label,
        "unit": unit, "advanced": advanced})


class Shown(typing.NamedTuple):
    """How a screen shows one parameter."""

    label: str
    unit: str
    advanced: bool


# The optimiser settings most methods share: label, unit, folded away or not.
STANDARD: dict[str, Shown] = {
    "lr": Shown("Learning rate", "step size", False),
    "epochs": Shown("Training passes", "passes over the data", False),
    "batch_size": Shown("Batch size", "records per step", True),
    "momentum": Shown("Momentum", "share, 0 to 1", True),
    "weight_decay": Shown("Weight decay", "pull towards 0 per step", True),
    "clip": Shown("Gradient clip", "gradient norm (0: none)", True),
    "temperature": Shown("Softening temperature", "softmax divisor", True),
}


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
    label: str = ""  # in words, for screens (never the raw field name)
    unit: str = ""  # of the number ("steps", "share, 0 to 1"); empty for a choice
    advanced: bool = False  # rarely changed: screens fold it away


@dataclass(frozen=True)
class Params:
    """Base class of every method's parameters; subclasses add :func:`param` fields."""

    method: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for spec in param_specs(type(self)):
            check_value(spec, getattr(self, spec.name), self.method)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> Self:
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
        shown = STANDARD.get(f.name, Shown(f.name.replace("_", " "), "", False))
        advanced = meta.get("advanced")
        out.append(ParamSpec(f.name, f.default, kind, meta.get("low"), meta.get("high"),
                             meta.get("choices", ()), meta.get("help", ""),
                             integer=_is_integer_annotation(f.type),
                             label=meta.get("label") or shown.label,
                             unit=meta.get("unit") or shown.unit,
                             advanced=shown.advanced if advanced is None else advanced))
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
