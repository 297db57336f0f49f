"""Feature schemas: what raw records look like, and what the encoded input space looks like.

The schema (names, kinds, ranges, categories) describes raw records and goes into a
sample model's manifest. ``InputSpace`` tells synthetic methods which encoded columns are
continuous, discrete or one-hot, and their bounds. The encoders that turn a raw frame into
model inputs are in :mod:`workbench.encoders` (also importable from here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from workbench.deprecation import warn

FeatureKind = Literal["numeric", "binary", "categorical", "pixel"]
FEATURE_KINDS: tuple[str, ...] = ("numeric", "binary", "categorical", "pixel")


@dataclass(frozen=True)
class FeatureSpec:
    """One raw feature: its kind, numeric range or categories."""

    name: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"feature {self.name!r}: unknown kind {self.kind!r}; "
                             f"use one of {FEATURE_KINDS}")

    def bounds(self) -> tuple[float, float]:
        """(minimum, maximum) of a numeric feature; ``ValueError`` naming it if one is unset."""
        if self.minimum is None or self.maximum is None:
            raise ValueError(f"feature {self.name!r} ({self.kind}) has no numeric range "
                             f"(minimum {self.minimum!r}, maximum {self.maximum!r})")
        return float(self.minimum), float(self.maximum)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "categorical":
            out["categories"] = list(self.categories)
        else:
            out["minimum"], out["maximum"] = self.minimum, self.maximum
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(
            name=data["name"],
            kind=data["kind"],
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
            categories=tuple(data.get("categories", ())),
        )


@dataclass(frozen=True)
class FeatureSchema:
    """The raw features of a record table, in column order, plus the label's class names."""

    features: tuple[FeatureSpec, ...]
    classes: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.features]

    def to_dict(self) -> dict[str, Any]:
        return {"features": [f.to_dict() for f in self.features], "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSchema:
        return cls(
            features=tuple(FeatureSpec.from_dict(f) for f in data["features"]),
            classes=tuple(str(c) for c in data["classes"]),
        )

    @classmethod
    def infer(cls, frame: pd.DataFrame, classes: tuple[str, ...]) -> FeatureSchema:
        """Infer kinds from dtypes: text is categorical, {0, 1} is binary, other numbers numeric."""
        specs = []
        for name in frame.columns:
            column = frame[name]
            if not pd.api.types.is_numeric_dtype(column):
                cats = tuple(sorted(str(v) for v in column.dropna().unique()))
                specs.append(FeatureSpec(name, "categorical", categories=cats))
                continue
            kind = "binary" if set(column.dropna().unique()) <= {0, 1} else "numeric"
            specs.append(FeatureSpec(name, kind, float(column.min()), float(column.max())))
        return cls(tuple(specs), classes)


@dataclass(frozen=True)
class InputSpace:
    """What the encoded input space looks like, for methods that synthesise inputs.

    Attributes:
        shape: shape of one encoded record, e.g. ``(D,)`` or ``(1, 8, 8)``.
        continuous: flat indices of continuous columns.
        lower, upper: bounds of those columns in encoded units (same length as ``continuous``).
        discrete: ``(flat index, allowed encoded values)`` per discrete column.
        onehot: flat index groups, one group per categorical feature.
        spread: typical scale of each continuous column (1 for standardised features).
    """

    shape: tuple[int, ...]
    continuous: tuple[int, ...] = ()
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    discrete: tuple[tuple[int, tuple[float, ...]], ...] = ()
    onehot: tuple[tuple[int, ...], ...] = ()
    spread: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


_MOVED = ("TabularEncoder", "ImageEncoder", "Encoder", "encoder_from_dict")


def __getattr__(name: str) -> Any:
    """The encoders, which moved to :mod:`workbench.encoders`, by their old path."""
    if name in _MOVED:
        from workbench import encoders

        warn(f"workbench.schema.{name} moved: import it from workbench.encoders", stacklevel=3)
        return getattr(encoders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
