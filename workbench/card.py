"""The model card: what a model's owner reported when it was trained. Plain values, no
record: how it was trained (:class:`TrainRecipe`), and what was measured on data an erasure
never reads (the held-out accuracy and the unseen profile, with its margin map).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PROFILE_LEVELS = np.linspace(0.01, 0.99, 99)  # the profile's quantile levels: 1%, 2%, ..., 99%


@dataclass(frozen=True)
class TrainRecipe:
    """How a model was trained: enough to retrain it from scratch."""

    epochs: int
    lr: float
    batch_size: int
    weight_decay: float = 0.0
    optimizer: str = "adam"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainRecipe:
        keys = ("epochs", "lr", "batch_size", "weight_decay", "optimizer")
        return cls(**{k: data[k] for k in keys if k in data})


def _checked_quantiles(values: Any, name: str, *, ordered: bool = True) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if len(out) != len(PROFILE_LEVELS) or not np.all(np.isfinite(out)):
        raise ValueError(f"UnseenProfile.{name} holds {len(PROFILE_LEVELS)} finite quantiles "
                         f"(1%..99%), got {len(out)}")
    if ordered and any(b < a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"UnseenProfile.{name} must be sorted (quantiles, lowest first)")
    return out


def _checked_means(values: Any, margins: tuple[float, ...]) -> tuple[float, ...]:
    """Expected margins: 99 finite means of margins, so within the margins' range."""
    out = tuple(float(v) for v in values)
    if len(out) != len(PROFILE_LEVELS):
        raise ValueError(f"UnseenProfile.expected_margins holds one mean per level "
                         f"({len(PROFILE_LEVELS)}, 1%..99%), got {len(out)}")
    if not np.all(np.isfinite(out)):
        raise ValueError("UnseenProfile.expected_margins must be finite numbers")
    slack = 1e-3 * max(1.0, margins[-1] - margins[0])  # the manifest rounds to 4 decimals
    if min(out) < margins[0] - slack or max(out) > margins[-1] + slack:
        raise ValueError(f"UnseenProfile.expected_margins are means of the profile's margins, "
                         f"so within [{margins[0]}, {margins[-1]}]; got [{min(out)}, "
                         f"{max(out)}]")
    return out


@dataclass(frozen=True)
class MarginMap:
    """An affine map of a record's features under the model (``features``: the names of
    :data:`workbench.margin_features.MAP_FEATURES`, in order) to the margin a model that never
    saw it would give it, fitted by least squares on the members' out-of-fold margins (moved
    onto the model's scale, as :attr:`UnseenProfile.expected_margins`).

    Attributes:
        features: the feature names the weights apply to.
        weights: one per feature.
        intercept: added to the weighted sum.
        mapped_margins: 99 quantiles (1%..99%) of the map's values on the members: where a
            record's mapped margin falls among them is its rank.
        lower, upper: per feature, the smallest and largest value among the members the map
            was fitted on; a record's features are held inside them (an affine map does not
            extrapolate well: a saturated network's zero gradient logs to -18).
        class_offsets: one per class, added for a record of that class (the first class's is
            0): the members' out-of-fold margins differ by class beyond what the features
            say. None (a card from before they were fitted): no offset.
        imputed_classes: classes that had no member among those the map was fitted on: their
            offset is not fitted but the other classes' count-weighted mean level (their
            records' margins lean on the features alone). Empty on a card fitted on every
            class.
    """

    features: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float
    mapped_margins: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    class_offsets: tuple[float, ...] | None = None
    imputed_classes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.features, str) or not all(isinstance(f, str) for f in self.features):
            raise ValueError(f"MarginMap.features must be a list of feature names, got "
                             f"{self.features!r}")
        features = tuple(self.features)
        columns = [tuple(float(v) for v in values)
                   for values in (self.weights, self.lower, self.upper)]
        if not features or len(set(features)) != len(features) \
                or any(len(values) != len(features) for values in columns):
            raise ValueError(f"MarginMap needs distinct feature names and one weight, lower "
                             f"and upper bound per feature; got features {list(features)}, "
                             f"{[len(values) for values in columns]} values")
        if not (np.all(np.isfinite(columns)) and np.isfinite(float(self.intercept))):
            raise ValueError("MarginMap weights, intercept and bounds must be finite numbers")
        if any(low > high for low, high in zip(columns[1], columns[2], strict=True)):
            raise ValueError("MarginMap bounds: each lower bound must be at most its upper one")
        object.__setattr__(self, "features", features)
        for name, values in zip(("weights", "lower", "upper"), columns, strict=True):
            object.__setattr__(self, name, values)
        object.__setattr__(self, "intercept", float(self.intercept))
        if self.class_offsets is not None:
            offsets = tuple(float(v) for v in self.class_offsets)
            if len(offsets) < 2 or not np.all(np.isfinite(offsets)) or offsets[0] != 0.0:
                raise ValueError(f"MarginMap.class_offsets holds one finite offset per class "
                                 f"(at least 2), the first 0; got {list(self.class_offsets)}")
            object.__setattr__(self, "class_offsets", offsets)
        imputed = tuple(self.imputed_classes)
        classes = 0 if self.class_offsets is None else len(self.class_offsets)
        if len(set(imputed)) != len(imputed) or not all(
                isinstance(c, int) and 0 <= c < classes for c in imputed):
            raise ValueError(f"MarginMap.imputed_classes lists distinct class indices of its "
                             f"class offsets; got {list(imputed)}")
        object.__setattr__(self, "imputed_classes", imputed)
        object.__setattr__(self, "mapped_margins",
                           _checked_quantiles(self.mapped_margins, "margin_map.mapped_margins"))

    def predict(self, features: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """``(N,)`` mapped margins of records with ``features`` ``(N, len(self.features))``,
        each feature first held inside the members' range, and class indices ``labels``
        ``(N,)`` (needed when the map has class offsets)."""
        features = np.asarray(features, dtype=float)
        if features.ndim != 2 or features.shape[1] != len(self.weights):
            raise ValueError(f"MarginMap.predict needs (N, {len(self.weights)}) features "
                             f"({', '.join(self.features)}); got shape {features.shape}")
        held = np.clip(features, self.lower, self.upper)
        mapped = held @ np.asarray(self.weights) + self.intercept
        if self.class_offsets is None:
            return mapped
        if labels is None:
            raise ValueError("this margin map has class offsets: MarginMap.predict needs the "
                             "records' labels")
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iub":
            raise ValueError(f"MarginMap.predict needs integer class indices as labels; got "
                             f"{labels.dtype}")
        if labels.shape != (len(features),) or len(labels) and not (
                labels.min() >= 0 and labels.max() < len(self.class_offsets)):
            raise ValueError(f"MarginMap.predict needs one class index in "
                             f"[0, {len(self.class_offsets)}) per record; got labels of shape "
                             f"{labels.shape}")
        return mapped + np.asarray(self.class_offsets)[labels.astype(np.int64)]

    def ranks(self, mapped: np.ndarray) -> np.ndarray:
        """``(N,)`` rank levels (0.01..0.99) of mapped margins ``(N,)`` among the members'."""
        return np.interp(mapped, self.mapped_margins, PROFILE_LEVELS)

    def to_dict(self) -> dict[str, Any]:
        out = {"features": list(self.features), "weights": list(self.weights),
               "intercept": self.intercept, "mapped_margins": list(self.mapped_margins),
               "lower": list(self.lower), "upper": list(self.upper)}
        if self.class_offsets is not None:  # (a card from before them has none)
            out["class_offsets"] = list(self.class_offsets)
        if self.imputed_classes:  # (only a card fitted without some class has them)
            out["imputed_classes"] = list(self.imputed_classes)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarginMap:
        return cls(tuple(data["features"]), tuple(data["weights"]), data["intercept"],
                   tuple(data["mapped_margins"]), tuple(data["lower"]), tuple(data["upper"]),
                   None if data.get("class_offsets") is None else tuple(data["class_offsets"]),
                   tuple(data.get("imputed_classes", ())))


@dataclass(frozen=True)
class UnseenProfile:
    """How sure a model that never saw a member would be of it, on this model's own scale
    (measured by :func:`workbench.metrics.unseen_profile` while the training data was at hand).

    Attributes:
        margins: 99 quantiles (1%..99%) of the true-class margin (logit of the label minus
            the best other) that a member gets from a model trained without it, moved onto
            this model's scale: this model's margins on held-out records, plus how much lower
            such models put members than held-out records.
        smoothing_sigma: noise of the neighbours behind ``smoothed_margins``.
        smoothed_margins: 99 quantiles of this model's smoothed margins of its members (its
            logits averaged over ``smoothing_draws`` neighbours of each, at
            ``smoothing_sigma``): where a record's smoothed margin falls among them is its
            rank among the members, which a memorised record's own margin would hide.
        smoothing_draws: neighbours per record in that average (a record to forget is
            smoothed the same way).
        expected_margins: at each of the 99 ranks of ``smoothed_margins``, the mean margin
            (on this model's scale, as ``margins``) that models trained without them gave
            the members ranked there (a kernel over ranks; each value weighs about a sixth of
            the members, a twelfth at the 1% and 99% ranks): what one record's rank predicts
            of its margin. ``margins`` is wider at the low and high ranks: it keeps the
            spread of the members' margins, which one record's rank predicts only in part.
            Within ``[margins[0], margins[-1]]``. None: not measured (an earlier card, or too
            few members for means over many of them).
        margin_map: a :class:`MarginMap` of each record's margin, smoothed margin and
            gradient norms to its expected unseen margin, a sharper prediction than the rank
            of the smoothed margin alone. None: not measured (an earlier card, or too few
            members).
        drift_allowance: logits by which ``synthetic`` lowered the model's margins on its
            held-out records when it erased random member requests
            (:func:`workbench.unlearn.synthetic_card.measure_drift`): its targets sit that much
            below the unseen margins, so that the forgotten records stand to the moved
            non-members as to a retrain's. At least 0. None: not measured (an earlier card):
            the method's default allowance.
    """

    margins: tuple[float, ...]
    smoothing_sigma: float
    smoothed_margins: tuple[float, ...]
    smoothing_draws: int
    expected_margins: tuple[float, ...] | None = None
    margin_map: MarginMap | None = None
    drift_allowance: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "margins", _checked_quantiles(self.margins, "margins"))
        if self.drift_allowance is not None:
            allowance = float(self.drift_allowance)
            if not (np.isfinite(allowance) and allowance >= 0):
                raise ValueError(f"UnseenProfile.drift_allowance must be a finite number of "
                                 f"logits, at least 0; got {self.drift_allowance}")
            object.__setattr__(self, "drift_allowance", allowance)
        object.__setattr__(self, "smoothed_margins",
                           _checked_quantiles(self.smoothed_margins, "smoothed_margins"))
        if not float(self.smoothing_sigma) > 0:
            raise ValueError(f"UnseenProfile.smoothing_sigma must be positive, got "
                             f"{self.smoothing_sigma}")
        object.__setattr__(self, "smoothing_sigma", float(self.smoothing_sigma))
        if int(self.smoothing_draws) != self.smoothing_draws or self.smoothing_draws < 1:
            raise ValueError(f"UnseenProfile.smoothing_draws must be a positive whole number, "
                             f"got {self.smoothing_draws}")
        object.__setattr__(self, "smoothing_draws", int(self.smoothing_draws))
        if self.expected_margins is not None:
            object.__setattr__(self, "expected_margins",
                               _checked_means(self.expected_margins, self.margins))
        if isinstance(self.margin_map, dict):  # as a manifest holds it
            object.__setattr__(self, "margin_map", MarginMap.from_dict(self.margin_map))
        if self.margin_map is not None and not isinstance(self.margin_map, MarginMap):
            raise TypeError(f"UnseenProfile.margin_map must be a MarginMap (or its dict), got "
                            f"{type(self.margin_map).__name__}")

    def margins_at(self, smoothed: np.ndarray) -> np.ndarray:
        """``(N,)`` margins a model that never saw them would give records whose smoothed
        margins are ``smoothed`` ``(N,)``: the profile's margin at their rank among the
        members (ranks beyond 1% or 99% are held there)."""
        return np.interp(self.ranks(smoothed), PROFILE_LEVELS, self.margins)

    def expected_at(self, smoothed: np.ndarray) -> np.ndarray | None:
        """``(N,)`` the ``expected_margins`` at the ranks of ``smoothed`` ``(N,)`` among the
        members (None when the card has none)."""
        if self.expected_margins is None:
            return None
        return np.interp(self.ranks(smoothed), PROFILE_LEVELS, self.expected_margins)

    def ranks(self, smoothed: np.ndarray) -> np.ndarray:
        """``(N,)`` rank levels (0.01..0.99) of smoothed margins ``(N,)`` among the members."""
        return np.interp(smoothed, self.smoothed_margins, PROFILE_LEVELS)

    def to_dict(self) -> dict[str, Any]:
        out = {"margins": list(self.margins), "smoothing_sigma": self.smoothing_sigma,
               "smoothed_margins": list(self.smoothed_margins),
               "smoothing_draws": self.smoothing_draws}
        if self.expected_margins is not None:
            out["expected_margins"] = list(self.expected_margins)
        if self.margin_map is not None:
            out["margin_map"] = self.margin_map.to_dict()
        if self.drift_allowance is not None:
            out["drift_allowance"] = self.drift_allowance
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnseenProfile:
        expected, mapped = data.get("expected_margins"), data.get("margin_map")
        return cls(data["margins"], data["smoothing_sigma"], data["smoothed_margins"],
                   data["smoothing_draws"], None if expected is None else tuple(expected),
                   None if mapped is None else MarginMap.from_dict(mapped),
                   data.get("drift_allowance"))


@dataclass(frozen=True)
class ModelCard:
    """What the model's owner reported: the accuracy on held-out records and the unseen
    profile (:class:`UnseenProfile`). None: not reported."""

    test_accuracy: float | None = None
    unseen: UnseenProfile | None = None
