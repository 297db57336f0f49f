"""The package's one ROC AUC: the Mann-Whitney statistic, ties counting half, with weights.

Everything that measures an AUC calls this module: the audit's attack metrics and bootstrap
(``workbench.audit.metrics``), the sample models' loss-threshold AUC (``workbench.metrics``)
and the synthetic method's stopping check (``workbench.unlearn.objectives``). It needs numpy
only, so any layer may import it.
"""

from __future__ import annotations

import numpy as np


def auc_rows(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted AUC once per row of record ``weights`` ``(B, N)``: ``(B,)``.

    The AUC is the weighted share of (positive, negative) pairs in which the positive scores
    higher, a tie counting half; with all weights 1 it is the ROC AUC of ``scores`` ``(N,)``
    (higher = positive) against ``positive`` ``(N,)`` bool. One sort serves every row, so a
    thousand bootstrap replicates cost one sort. A row whose positives or negatives weigh
    nothing gives NaN.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    order = np.argsort(scores, kind="stable")
    ranked, member = scores[order], positive[order]
    new = np.r_[True, ranked[1:] != ranked[:-1]]  # (N,) True at the first of each tie group
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1  # (N,) tie group of each ranked record
    ends = np.r_[starts[1:], len(ranked)]
    w = np.asarray(weights)[:, order]
    below = np.zeros((len(w), len(ranked) + 1), dtype=np.float64)
    np.cumsum(np.where(member, 0.0, w), axis=1, out=below[:, 1:])  # negative weight up to
    before, upto = below[:, starts], below[:, ends]  # (B, G): strictly below, up to and with
    with np.errstate(invalid="ignore", divide="ignore"):
        # the share of negative weight a positive beats, ties half: exactly 0, 1/2 or 1 at
        # the extremes, so a perfect separation gives AUC 1.0 to the last bit
        credit = (before + 0.5 * (upto - before)) / below[:, -1:]
        wins = (w[:, member] * credit[:, group[member]]).sum(axis=1)
        return wins / w[:, member].sum(axis=1)


def auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None) -> float:
    """ROC AUC of ``scores`` ``(N,)`` (higher = positive) against ``positive`` ``(N,)`` bool,
    ties counting half; ``weights`` ``(N,)`` weigh the records (default: all 1).

    Equal to scikit-learn's ``roc_auc_score(positive, scores, sample_weight=weights)``.
    """
    row = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(auc_rows(scores, positive, row[None])[0])
