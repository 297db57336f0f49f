"""Checks on a user's DataFrame on its way into a ``RecordTable``: ids, labels, membership and
features.

Nothing is converted silently: "False" or "no" is never read as a member, a stray ``"n/a"``
never turns a numeric column into hundreds of one-hot columns, ``" P7 "`` and ``"P7"`` are
one id. Each refusal is a ``ValueError`` that names the column, the records (by id) and the
values, and says what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Number

import numpy as np
import pandas as pd

from workbench.encoders import Encoder
from workbench.schema import FeatureSchema

TRUE_WORDS = frozenset({"true", "t", "1", "1.0", "yes", "y", "member", "in"})
FALSE_WORDS = frozenset({"false", "f", "0", "0.0", "no", "n", "non-member", "out"})
NUMERIC_SHARE = 0.5  # a text column with at least this share of numbers is a numeric column
SHOWN = 5  # ids or values shown in a message
RESERVED_COLUMNS = ("record_id", "label", "member")  # a record table's own columns


def parse_membership(column: pd.Series) -> np.ndarray:
    """A member column as booleans: bools, 0/1, or the words true/false, yes/no, y/n (any
    case, surrounding spaces ignored).

    Anything else (missing values, other text, other numbers) is an error naming the column
    and the values, so that "False" or "no" is never read as a member.
    """
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=bool)
    words = column.astype(str).str.strip().str.lower()
    known = words.isin(TRUE_WORDS | FALSE_WORDS) & column.notna().to_numpy()
    if not known.all():
        bad = sorted({str(v) for v in column[~known]})[:SHOWN]
        raise ValueError(f"the member column {column.name!r} holds values that are neither true "
                         f"nor false: {bad} ({int((~known).sum())} record(s)); use true/false, "
                         "1/0, yes/no or y/n for every record")
    return words.isin(TRUE_WORDS).to_numpy()


def clean_ids(column: pd.Series) -> np.ndarray:
    """Record ids as text without surrounding spaces (``" P7 "`` is ``"P7"``, on load and on
    every lookup). Missing or blank ids are an error naming their rows."""
    text = column.astype(str).str.strip()
    blank = column.isna().to_numpy() | (text == "").to_numpy()
    if blank.any():
        rows = np.flatnonzero(blank)
        raise ValueError(f"the id column {column.name!r} is empty in {len(rows)} row(s) (rows "
                         f"{rows[:SHOWN].tolist()}, counting from 0); every record needs an id")
    return text.to_numpy(dtype=object)


def class_names(column: pd.Series, ids: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """The classes (sorted: numbers by value, text alphabetically) and each record's index.

    Raises:
        ValueError: records without a label (named), or labels that mix numbers and text.
    """
    missing = column.isna().to_numpy()
    if missing.any():
        raise ValueError(f"some records have no label in the label column {column.name!r}: "
                         f"{_ids(ids, missing)}; drop or label them first")
    values = column.tolist()
    numbers = [isinstance(v, Number) and not isinstance(v, bool) for v in values]
    if any(numbers) and not all(numbers):
        number = next(v for v, n in zip(values, numbers, strict=True) if n)
        text = next(v for v, n in zip(values, numbers, strict=True) if not n)
        raise ValueError(f"the label column {column.name!r} mixes numbers and text (e.g. "
                         f"{number!r} and {text!r}); make every label one type, e.g. "
                         f"frame[{column.name!r}] = frame[{column.name!r}].astype(str)")
    classes = tuple(str(c) for c in sorted(set(values)))
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[str(v)] for v in values], dtype=np.int64)


def check_members(member: np.ndarray, column: str | None) -> None:
    """A table needs training members: an all-false member column is an error."""
    if len(member) and not member.any():
        raise ValueError(f"the member column {column!r} marks none of the {len(member)} records "
                         "as a training member; mark the records the model was trained on "
                         "true (1, yes)")


def check_features(frame: pd.DataFrame, ids: np.ndarray,
                   categorical: Iterable[str] = ()) -> pd.DataFrame:
    """The feature columns, checked: declared ``categorical`` columns become text; a text
    column that is mostly numbers, or a numeric column with infinite values, is an error
    naming the column, the records and the values."""
    categorical = list(categorical)
    unknown = [c for c in categorical if c not in frame.columns]
    if unknown:
        raise ValueError(f"categorical={unknown} names column(s) that are not features; "
                         f"features are {list(frame.columns)[:20]}")
    out = frame.reset_index(drop=True).copy()
    for name in out.columns:
        column = out[name]
        if name in categorical:
            out[name] = column.where(column.isna(), column.astype(str))
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            infinite = np.isinf(column.to_numpy(dtype=np.float64))
            if infinite.any():
                raise ValueError(f"feature column {name!r} holds infinite values in records "
                                 f"{_ids(ids, infinite)}; replace them with finite numbers or "
                                 "drop those records")
        else:
            _refuse_stray_text(column, ids)
    return out


def _refuse_stray_text(column: pd.Series, ids: np.ndarray) -> None:
    present = column.notna().to_numpy()
    numeric = pd.to_numeric(column.where(present), errors="coerce").notna().to_numpy()
    stray = present & ~numeric
    share = numeric.sum() / max(int(present.sum()), 1)
    if stray.any() and share >= NUMERIC_SHARE:
        values = sorted({str(v) for v in column[stray]})[:SHOWN]
        raise ValueError(f"feature column {column.name!r} holds numbers except in "
                         f"{int(stray.sum())} record(s) {_ids(ids, stray)}, with values "
                         f"{values}: read as text it would become one one-hot column per "
                         "distinct value. Fix or empty those cells (then impute), or declare "
                         f"the column categorical (categorical=[{column.name!r}])")


def _ids(ids: np.ndarray, mask: np.ndarray) -> str:
    chosen = [str(i) for i in ids[mask]]
    return f"{chosen[:SHOWN]}{' ...' if len(chosen) > SHOWN else ''}"


@dataclass(frozen=True)
class Encoding:
    """Which columns of a user's frame are features, and how they are encoded.

    Attributes:
        features: the feature columns (None: every column but the id, label and member ones).
        encoder: your own fitted encoder (its schema names the features' kinds); None: numeric
            features standardised on the member rows, text features one-hot encoded.
    """

    features: Sequence[str] | None = None
    encoder: Encoder | None = None


def validate_frame(frame: pd.DataFrame, schema: FeatureSchema) -> None:
    """Refuse a record table's frame without its own columns, with duplicate ids, missing
    labels or labels outside the schema's classes (``ValueError`` naming the problem)."""
    missing = [c for c in RESERVED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"records are missing the column(s) {missing}; a record table needs "
                         f"{list(RESERVED_COLUMNS)} plus the features")
    ids = frame["record_id"].astype(str).str.strip()
    if ids.duplicated().any():
        dupes = sorted(ids[ids.duplicated()].unique())[:10]
        raise ValueError(f"record ids are not unique: {dupes}")
    if frame["label"].isna().any():
        raise ValueError("some records have no label; drop or label them first")
    labels = frame["label"].to_numpy()
    if labels.min() < 0 or labels.max() >= len(schema.classes):
        raise ValueError(f"labels must be class indices 0..{len(schema.classes) - 1}")
