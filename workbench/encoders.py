"""Encoders: the preprocessing that turns raw records into model inputs, saved as JSON.

``TabularEncoder`` standardises numeric features, passes binary ones and one-hot encodes
categoricals; ``ImageEncoder`` reshapes pixel columns. Each is saved as JSON (never a
pickle) and rebuilt with :func:`encoder_from_dict`; each says what its encoded input space
looks like (:class:`~workbench.schema.InputSpace`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.schema import FeatureSchema, FeatureSpec, InputSpace


def _check_columns(frame: pd.DataFrame, names: list[str]) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(f"records are missing feature columns {missing}; "
                         f"the schema expects {names}")


class TabularEncoder:
    """Standardise numeric features, pass binary ones as 0/1, one-hot encode categoricals.

    Output: float32 tensor of shape ``(N, D)``.
    """

    kind = "tabular"

    def __init__(self, schema: FeatureSchema, means: dict[str, float], stds: dict[str, float]):
        self.schema = schema
        self.means = means
        self.stds = stds

    @classmethod
    def fit(cls, frame: pd.DataFrame, schema: FeatureSchema) -> TabularEncoder:
        """Fit numeric features' means and standard deviations on ``frame`` (training rows)."""
        numeric = [f.name for f in schema.features if f.kind in ("numeric", "pixel")]
        _check_columns(frame, numeric)
        means = {n: float(frame[n].mean()) for n in numeric}
        stds = {n: float(frame[n].std(ddof=0)) or 1.0 for n in numeric}
        return cls(schema, means, stds)

    def transform(self, frame: pd.DataFrame) -> torch.Tensor:
        """Encode ``frame``. Missing (NaN), infinite or text values of a numeric feature are
        errors naming the feature, the rows and (with a ``record_id`` column) the records."""
        _check_columns(frame, self.schema.names)
        broken = [n for n in self.means
                  if not (np.isfinite(self.means[n]) and np.isfinite(self.stds[n]))]
        if broken:
            raise ValueError(f"the preprocessing of feature(s) {broken[:5]} has a non-finite "
                             "mean or spread (fitted on no training records, or on infinite "
                             "values); rebuild the table from records with training members")
        blocks: list[np.ndarray] = []
        bad: dict[str, np.ndarray] = {}  # feature -> rows that are NaN (1) or infinite (2)
        for spec in self.schema.features:
            values = frame[spec.name]
            if spec.kind == "categorical":
                blocks.append(_one_hot(values, spec))
                continue
            raw = _numbers(values, spec.name, frame)
            if not np.isfinite(raw).all():
                bad[spec.name] = np.isnan(raw) + 2 * np.isinf(raw)
            if spec.kind == "binary":
                blocks.append(raw[:, None])
            else:
                blocks.append(((raw - self.means[spec.name]) / self.stds[spec.name])[:, None])
        _refuse_non_finite(bad, frame, 2, "infinite", "replace them with finite numbers or drop "
                                                      "those records")
        _refuse_non_finite(bad, frame, 1, "NaN", "impute or drop them before building a "
                                                 "RecordTable")
        matrix = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))
        return torch.from_numpy(matrix.astype(np.float32))

    def input_space(self) -> InputSpace:
        cont, lower, upper, spread, discrete, onehot = [], [], [], [], [], []
        col = 0
        for spec in self.schema.features:
            if spec.kind == "categorical":
                onehot.append(tuple(range(col, col + len(spec.categories))))
                col += len(spec.categories)
                continue
            if spec.kind == "binary":
                discrete.append((col, (0.0, 1.0)))
            else:
                mean, std = self.means[spec.name], self.stds[spec.name]
                minimum, maximum = spec.bounds()
                cont.append(col)
                lower.append((minimum - mean) / std)
                upper.append((maximum - mean) / std)
                spread.append(1.0)
            col += 1
        return InputSpace((col,), tuple(cont), tuple(lower), tuple(upper),
                          tuple(discrete), tuple(onehot), tuple(spread))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "schema": self.schema.to_dict(),
                "means": self.means, "stds": self.stds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularEncoder:
        return cls(FeatureSchema.from_dict(data["schema"]), dict(data["means"]), dict(data["stds"]))


def _numbers(values: pd.Series, name: str, frame: pd.DataFrame) -> np.ndarray:
    """A numeric feature as float64; text that is not a number is an error naming it."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    text = np.isnan(numbers) & values.notna().to_numpy()
    if text.any():
        shown = sorted({str(v) for v in values[text]})[:5]
        raise ValueError(f"numeric feature {name!r} holds text that is not a number: {shown} "
                         f"(first rows by position: {_rows(text)}){_ids(frame, text)}; fix or "
                         "empty those cells")
    return numbers


def _refuse_non_finite(bad: dict[str, np.ndarray], frame: pd.DataFrame, code: int, what: str,
                       advice: str) -> None:
    columns = [name for name, rows in bad.items() if (rows == code).any()]
    if columns:
        mask = np.logical_or.reduce([bad[name] == code for name in columns])
        raise ValueError(f"records contain {what} features (first rows by position: "
                         f"{_rows(mask)}) in column(s) {columns[:5]}{_ids(frame, mask)}; {advice}")


def _rows(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask)[:5].tolist()


def _ids(frame: pd.DataFrame, mask: np.ndarray) -> str:
    if "record_id" not in frame.columns:
        return ""
    return f", record ids {[str(i) for i in frame['record_id'].to_numpy()[mask][:5]]}"


def _one_hot(values: pd.Series, spec: FeatureSpec) -> np.ndarray:
    text = values.astype(str)
    unknown = sorted(set(text) - set(spec.categories))
    if unknown:
        raise ValueError(f"feature {spec.name!r} has categories {unknown[:5]} that the schema "
                         f"does not know; known: {list(spec.categories)}")
    index = {c: i for i, c in enumerate(spec.categories)}
    out = np.zeros((len(values), len(spec.categories)))
    out[np.arange(len(values)), text.map(index).to_numpy()] = 1.0
    return out


class ImageEncoder:
    """Reshape pixel columns into ``(N, *image_shape)`` and divide by ``scale`` (to [0, 1])."""

    kind = "image"

    def __init__(self, schema: FeatureSchema, image_shape: tuple[int, ...], scale: float):
        self.schema = schema
        self.image_shape = tuple(image_shape)
        self.scale = float(scale)

    def transform(self, frame: pd.DataFrame) -> torch.Tensor:
        _check_columns(frame, self.schema.names)
        pixels = frame[self.schema.names].to_numpy(dtype=np.float32) / self.scale
        if np.isnan(pixels).any():
            raise ValueError("records contain NaN pixels; an image record must be complete")
        return torch.from_numpy(pixels).reshape(len(frame), *self.image_shape)

    def input_space(self) -> InputSpace:
        n = int(np.prod(self.image_shape))
        # one unit of noise is a quarter of the pixel range, about one pixel standard deviation
        return InputSpace(self.image_shape, tuple(range(n)), (0.0,) * n, (1.0,) * n,
                          spread=(0.25,) * n)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "schema": self.schema.to_dict(),
                "image_shape": list(self.image_shape), "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageEncoder:
        schema = FeatureSchema.from_dict(data["schema"])
        return cls(schema, tuple(data["image_shape"]), data["scale"])


Encoder = TabularEncoder | ImageEncoder
_ENCODERS: dict[str, type[TabularEncoder] | type[ImageEncoder]] = {
    "tabular": TabularEncoder, "image": ImageEncoder}


def encoder_from_dict(data: dict[str, Any]) -> Encoder:
    """Rebuild an encoder from its JSON form."""
    kind = data.get("kind")
    if kind not in _ENCODERS:
        raise ValueError(f"unknown preprocessing kind {kind!r}; known: {sorted(_ENCODERS)}")
    return _ENCODERS[kind].from_dict(data)
