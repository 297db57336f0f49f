"""What every audit test measures on: one shared record resampling, and its yardsticks.

A :class:`Comparison` is members against others at fixed table rows with one bootstrap
resampling, shared by every model so that differences between models are paired. A
yardstick (target, spread, the target's uncertainty) comes from the gold ensemble
(:func:`ensemble_yardstick`) or from one reference model (:func:`pair_yardstick`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.audit.metrics import bootstrap_auc, bootstrap_weights, roc_auc
from workbench.audit.verdict import GOLD, Yardstick

Values = tuple[float, np.ndarray]  # (point value, (B,) bootstrap replicates)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Members vs others at table rows ``positions``, with one shared resampling.

    ``replicates`` ``(B, n)``: how often each record is drawn in each bootstrap replicate
    (times its record weight); every model is evaluated on the same replicates, so
    differences between models are paired.
    """

    positions: np.ndarray
    truth: np.ndarray
    weights: np.ndarray | None
    replicates: np.ndarray

    @classmethod
    def of(cls, members: np.ndarray, others: np.ndarray, weights: np.ndarray | None,
           n_bootstrap: int, seed: int) -> Comparison:
        truth = np.r_[np.ones(len(members), bool), np.zeros(len(others), bool)]
        return cls(np.r_[members, others], truth, weights,
                   bootstrap_weights(truth, n_bootstrap, seed, weights))

    def auc(self, scores: np.ndarray) -> Values:
        """Membership AUC of ``(N,)`` table-wide scores, and its replicates."""
        s = scores[self.positions]
        return (roc_auc(s, self.truth, self.weights),
                bootstrap_auc(s, self.truth, self.replicates))

    def accuracy(self, correct: np.ndarray, members: bool) -> Values:
        """Accuracy on the members (or the weighted others), and its replicates."""
        side = self.truth if members else ~self.truth
        hits = correct[self.positions[side]].astype(np.float64)
        w = np.ones(len(hits)) if self.weights is None else self.weights[side]
        counts = self.replicates[:, side]
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = (counts @ hits) / counts.sum(axis=1)
        return float((hits * w).sum() / w.sum()), reps

    @property
    def n_members(self) -> int:
        return int(self.truth.sum())

    def null_auc_sd(self) -> float:
        """SD of the AUC when members and others are exchangeable (Mann-Whitney), with the
        others' effective size under their weights."""
        n1 = self.n_members
        w = np.ones(len(self.truth) - n1) if self.weights is None else self.weights[~self.truth]
        n0 = w.sum() ** 2 / (w ** 2).sum()
        return math.sqrt((n1 + n0 + 1.0) / (12.0 * n1 * n0))


def ensemble_yardstick(gold: list[Values], floor: float) -> Yardstick:
    """Target, spread and uncertainty from ``K >= 2`` gold models' values and replicates.

    The spread is the larger of two estimates of how far one retrain lands from the
    ensemble's mean: the between-retrain standard deviation (``K - 1`` degrees of freedom)
    and the record bootstrap's (each member's replicates around the ensemble's, per
    replicate). Measured on the calibration requests, this ``max`` makes the standardised
    difference of an independent retrain close to unit variance (0.94-0.99 for K = 8),
    where either estimate alone runs wide tails with few retrains.
    """
    points = np.array([g[0] for g in gold])
    reps = np.stack([g[1] for g in gold])
    k = len(points)
    between = points.var(ddof=1)
    boot = float(np.nansum(np.nanvar(reps - reps.mean(axis=0), axis=1)) / (k - 1))
    spread = math.sqrt(max(between, boot))
    return Yardstick(GOLD, k, float(points.mean()), spread, spread / math.sqrt(k), floor)


def pair_yardstick(reference: Values, value: Values, compared_to: str, floor: float, *,
                   models: int = 0, spread_from_pair: bool) -> Yardstick:
    """One reference model against ``value``: its record-bootstrap deviation.

    ``spread_from_pair``: the reference is one draw of a random retrain (one gold model),
    so the pair's bootstrap SD / sqrt(2) is both the spread and the target's uncertainty;
    otherwise the reference is fixed (the original model) and only the paired difference's
    uncertainty counts.
    """
    sd = float(np.nanstd(value[1] - reference[1]))
    if spread_from_pair:
        return Yardstick(compared_to, models, reference[0], sd / math.sqrt(2.0),
                         sd / math.sqrt(2.0), floor)
    return Yardstick(compared_to, models, reference[0], 0.0, sd, floor)
