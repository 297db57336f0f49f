"""Stage 3 of the membership audit: scores and true membership in, attack metrics out.

ROC AUC, balanced accuracy (``max 1 - (FPR + FNR) / 2``), TPR at 1% and 0.1% FPR (the
largest TPR at any threshold whose FPR does not exceed the target), ROC arrays for log-log
plots, and stratified bootstrap intervals. The bootstrap draws how many times each record
is resampled (members and non-members separately) and evaluates every replicate at once on
the weighted ROC, so a thousand replicates cost one sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.auc import auc, auc_rows
from workbench.audit._json import JsonRecord

LOW_FPRS = (0.01, 0.001)
ROC_POINTS = 200
METRIC_NAMES = ("auc", "balanced_accuracy", "tpr_at_1pct_fpr", "tpr_at_01pct_fpr")


@dataclass(frozen=True)
class AttackMetrics(JsonRecord):
    """How well one attack's scores tell members from non-members.

    ``*_ci`` are (low, high) percentile bootstrap intervals at ``confidence_level``.
    ``min_resolvable_fpr`` is ``1 / n_non_members`` (weighted: the smallest non-member's
    share of the weight): TPR at an FPR below it is measured at FPR 0. ``roc_fpr`` /
    ``roc_tpr`` are the ROC, thinned to at most about 200 points spread evenly on both linear
    and log FPR axes.
    """

    n_members: int
    n_non_members: int
    auc: float
    auc_ci: tuple[float, float]
    balanced_accuracy: float
    balanced_accuracy_ci: tuple[float, float]
    tpr_at_1pct_fpr: float
    tpr_at_1pct_fpr_ci: tuple[float, float]
    tpr_at_01pct_fpr: float
    tpr_at_01pct_fpr_ci: tuple[float, float]
    min_resolvable_fpr: float
    roc_fpr: tuple[float, ...]
    roc_tpr: tuple[float, ...]
    bootstrap_samples: int
    bootstrap_seed: int
    confidence_level: float


def _check(scores: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    is_member = np.asarray(is_member, dtype=bool)
    if scores.ndim != 1 or scores.shape != is_member.shape:
        raise ValueError(f"scores {scores.shape} and membership {is_member.shape} must be two "
                         "1-D arrays of the same length")
    if is_member.all() or not is_member.any():
        raise ValueError("attack metrics need at least one member and one non-member")
    if not np.isfinite(scores).all():
        raise ValueError("attack scores contain NaN or inf")
    return scores, is_member


def roc_curve(scores: np.ndarray, is_member: np.ndarray,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every ROC point ``(fpr, tpr)`` from (0, 0) to (1, 1), one per distinct score;
    ``weights`` ``(N,)`` weigh the records (default: all 1)."""
    scores, is_member = _check(scores, is_member)
    row = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    fpr, tpr = _weighted_roc(scores, is_member, row[None])
    return fpr[0], tpr[0]


def roc_auc(scores: np.ndarray, is_member: np.ndarray,
            weights: np.ndarray | None = None) -> float:
    """Area under the (record-``weights``-weighted) ROC curve (ties count half): the one
    AUC of :mod:`workbench.auc`, after the audit's checks of its inputs."""
    scores, is_member = _check(scores, is_member)
    return auc(scores, is_member, weights)


def tpr_at_fpr(scores: np.ndarray, is_member: np.ndarray, fpr_target: float) -> float:
    """Largest TPR at a threshold whose FPR is at most ``fpr_target``."""
    fpr, tpr = roc_curve(scores, is_member)
    return float(_tpr_at(fpr[None], tpr[None], fpr_target)[0])


def _weighted_roc(scores: np.ndarray, is_member: np.ndarray,
                  weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC points for each row of record ``weights`` ``(B, N)``: two ``(B, G + 1)`` arrays."""
    order = np.argsort(-scores, kind="stable")
    ranked, member = scores[order], is_member[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # last record of each tie
    members_upto = np.cumsum(member)[ends]
    # float32 counts are exact integers (float64 weights stay float64); rates in float64
    tp = _prefix_sums(weights[:, order[member]], members_upto).astype(np.float64)
    fp = _prefix_sums(weights[:, order[~member]], ends + 1 - members_upto).astype(np.float64)
    fpr = np.zeros((len(weights), len(ends) + 1))
    tpr = np.zeros_like(fpr)
    np.divide(tp, tp[:, -1:], out=tpr[:, 1:])
    np.divide(fp, fp[:, -1:], out=fpr[:, 1:])
    return fpr, tpr


def _prefix_sums(weights: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per row, the sum of the first ``counts[j]`` columns, for each ``j``."""
    totals = np.cumsum(weights, axis=1)
    out = np.zeros((len(weights), len(counts)), dtype=weights.dtype)
    some = counts > 0
    out[:, some] = totals[:, counts[some] - 1]
    return out


def _tpr_at(fpr: np.ndarray, tpr: np.ndarray, target: float) -> np.ndarray:
    return np.where(fpr <= target, tpr, 0.0).max(axis=1)


def _stats(scores: np.ndarray, is_member: np.ndarray, weights: np.ndarray
           ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each metric for each row of ``weights`` ``(B, N)``, and the ROC points they read."""
    area = auc_rows(scores, is_member, weights)  # before the ROC: the two peak apart
    fpr, tpr = _weighted_roc(scores, is_member, weights)
    return ({"auc": area,
             "balanced_accuracy": ((1.0 + tpr - fpr) / 2.0).max(axis=1),
             "tpr_at_1pct_fpr": _tpr_at(fpr, tpr, LOW_FPRS[0]),
             "tpr_at_01pct_fpr": _tpr_at(fpr, tpr, LOW_FPRS[1])}, fpr, tpr)


def bootstrap_weights(is_member: np.ndarray, n: int, seed: int,
                      record_weights: np.ndarray | None = None) -> np.ndarray:
    """``(n, N)`` resampling counts: members and non-members each resampled with replacement.

    With ``record_weights`` ``(N,)`` the non-members are resampled within each group of equal
    weight (a stratified bootstrap: every replicate keeps each group's size, so a weighted
    statistic never loses a group) and the counts are multiplied by the weights.
    The same inputs, ``n`` and ``seed`` always give the same result.
    """
    is_member = np.asarray(is_member, dtype=bool)
    non_members = np.flatnonzero(~is_member)
    groups = [np.flatnonzero(is_member), non_members]
    if record_weights is not None:  # non-members split into strata of equal weight
        row = np.asarray(record_weights, dtype=np.float32)
        strata = np.unique(row, return_inverse=True)[1][non_members]
        groups[1:] = [non_members[strata == k] for k in np.unique(strata)]
    rng = np.random.default_rng(seed)
    weights = np.zeros((n, len(is_member)), dtype=np.float32)  # exact counts up to 2**24
    rows = np.arange(n)[:, None]
    for group in groups:
        size = len(group)
        draws = rng.integers(0, size, size=(n, size)) + rows * size
        weights[:, group] = np.bincount(draws.ravel(), minlength=n * size).reshape(n, size)
    return weights if record_weights is None else weights * row


def upper_quantile(values: np.ndarray, q: float, weights: np.ndarray | None = None) -> float:
    """The smallest value at or below which a share ``q`` of ``values`` (by ``weights``,
    default 1 each) lies: the inverted empirical CDF, so about ``1 - q`` lie above it."""
    order = np.argsort(values, kind="stable")
    mass = np.ones(len(values)) if weights is None else np.asarray(weights, np.float64)[order]
    cumulative = np.cumsum(mass) / mass.sum()
    position = min(int(np.searchsorted(cumulative, q - 1e-12, side="left")), len(values) - 1)
    return float(values[order][position])


def bootstrap_stats(scores: np.ndarray, is_member: np.ndarray,
                    weights: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric on each bootstrap replicate: ``{name: (B,)}``."""
    scores, is_member = _check(scores, is_member)
    return _stats(scores, is_member, weights)[0]


def bootstrap_auc(scores: np.ndarray, is_member: np.ndarray,
                  weights: np.ndarray) -> np.ndarray:
    """The AUC alone on each replicate of ``weights`` ``(B, N)``: ``(B,)``, equal to
    ``bootstrap_stats(...)["auc"]`` (ties count half) at a fraction of its cost, since it
    needs no ROC (:func:`workbench.auc.auc_rows`)."""
    scores, is_member = _check(scores, is_member)
    return auc_rows(scores, is_member, weights)


def interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of ``values`` at confidence ``level``."""
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def attack_metrics(scores: np.ndarray, is_member: np.ndarray, *, n_bootstrap: int = 1000,
                   seed: int = 0, confidence_level: float = 0.95,
                   weights: np.ndarray | None = None,
                   replicates: np.ndarray | None = None) -> AttackMetrics:
    """Metrics of membership ``scores`` (higher = member) against the truth ``is_member``.

    Args:
        scores: ``(N,)`` attack scores.
        is_member: ``(N,)`` bool, True for members.
        n_bootstrap: bootstrap replicates for the intervals (at least 100).
        seed: seeds the bootstrap; the same seed and records give the same intervals.
        weights: ``(N,)`` record weights (default all 1), e.g. non-members reweighted to
            the members' class mix.
        replicates: ``(n_bootstrap, N)`` resampling weights already drawn with
            :func:`bootstrap_weights` for these records (default: drawn here from ``seed``).
    """
    scores, is_member = _check(scores, is_member)
    if n_bootstrap < 100:
        raise ValueError(f"n_bootstrap must be at least 100 for a usable interval, got "
                         f"{n_bootstrap}")
    row = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    point, fpr, tpr = _stats(scores, is_member, row[None])
    if replicates is None:
        replicates = bootstrap_weights(is_member, n_bootstrap, seed, weights)
    boot = bootstrap_stats(scores, is_member, replicates)
    roc_fpr, roc_tpr = thin_roc(fpr[0], tpr[0])
    values: dict[str, Any] = {}  # each metric and its interval, by AttackMetrics field
    for name in METRIC_NAMES:
        values[name] = float(point[name][0])
        values[f"{name}_ci"] = interval(boot[name], confidence_level)
    non_member_weights = row[~is_member]
    resolution = non_member_weights[non_member_weights > 0].min() / non_member_weights.sum()
    return AttackMetrics(
        n_members=int(is_member.sum()), n_non_members=int((~is_member).sum()), **values,
        min_resolvable_fpr=float(resolution), roc_fpr=roc_fpr, roc_tpr=roc_tpr,
        bootstrap_samples=n_bootstrap, bootstrap_seed=seed, confidence_level=confidence_level)


def thin_roc(fpr: np.ndarray, tpr: np.ndarray,
             points: int = ROC_POINTS) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """At most about ``points`` ROC points, spaced evenly in log FPR (1e-5..1) and linear FPR.

    Each grid value keeps the last ROC point at or below it, so the low-FPR corner that
    log-log plots show survives. Values are rounded to 6 decimals.
    """
    if len(fpr) <= points:
        keep = np.arange(len(fpr))
    else:
        grid = np.r_[np.logspace(-5, 0, points * 3 // 4), np.linspace(0, 1, points // 4)]
        keep = np.unique(np.r_[0, np.searchsorted(fpr, grid, side="right") - 1, len(fpr) - 1])
    return (tuple(round(float(v), 6) for v in fpr[keep]),
            tuple(round(float(v), 6) for v in tpr[keep]))
