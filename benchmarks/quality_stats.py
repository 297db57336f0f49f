"""Intervals for the rates benchmarks/synthetic_quality.py prints: what an outsider checks
before believing "P ratio 0.9" from 30 requests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95% by default) of a rate ``hits / n``."""
    if not n:
        return float("nan"), float("nan")
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def ratio_interval(mine: list[bool], theirs: list[list[bool]], draws: int = 2000,
                   seed: int = 0) -> tuple[float, float, float]:
    """``mean(mine) / mean(theirs)`` and its 95% percentile-bootstrap interval, resampling
    requests in pairs (``mine[i]``: the method PASSed request i; ``theirs[i]``: each retrain's
    PASS on it, averaged per request). NaN where retrains never PASS (no ratio)."""
    method = np.asarray(mine, float)
    retrain = np.asarray([np.mean(t) for t in theirs], float)

    def ratio(rows: np.ndarray) -> np.ndarray:
        below = retrain[rows].mean(-1)
        return method[rows].mean(-1) / np.where(below > 0, below, np.nan)

    return _bootstrap(ratio, len(method), draws, seed)


def _bootstrap(statistic: Callable[[np.ndarray], np.ndarray], n: int, draws: int,
               seed: int) -> tuple[float, float, float]:
    """``statistic`` of all ``n`` requests, and the 2.5% and 97.5% quantiles of it over
    ``draws`` resamples of the requests (``statistic`` takes row indices ``(..., n)``). The
    interval is NaN when more than 2.5% of the resamples are undefined (NaN), since dropping
    them would condition it."""
    values = statistic(np.random.default_rng(seed).integers(n, size=(draws, n)))
    point = float(statistic(np.arange(n)))
    if not n or np.isnan(values).mean() > 0.025:
        return point, float("nan"), float("nan")
    low, high = np.nanquantile(values, [0.025, 0.975])
    return point, float(low), float(high)


def gap_closed(group: list[dict], draws: int = 2000,
               seed: int = 0) -> tuple[float, float, float]:
    """Share of the per-record gap between the untouched original and an independent retrain
    that the method closes, (original - method) / (original - retrain) of the mean share
    outside the retrains' 95%, with a 95% bootstrap interval over requests (seed 0). NaN where
    the original lies no further out than the retrains (no gap to close)."""
    original = np.array([r.get("original_outside", np.nan) for r in group])  # older rows lack it
    method = np.array([r["outside"] for r in group])
    retrain = np.array([np.mean(r["retrain_outside"]) for r in group])

    def closed(rows: np.ndarray) -> np.ndarray:
        return share_closed(original[rows].mean(-1), method[rows].mean(-1),
                            retrain[rows].mean(-1))

    return _bootstrap(closed, len(group), draws, seed)


def share_closed(original, method, retrain):
    """``(original - method) / (original - retrain)`` of shares outside the retrains' 95%
    (scalars or arrays); NaN where the original lies no further out than a retrain (no gap
    to close)."""
    gap = np.asarray(original - retrain, float)
    return (original - method) / np.where(gap > 0, gap, np.nan)


def lost_share(changes: list[float], points: float = 1.0) -> float:
    """Share of requests whose test accuracy fell by more than ``points`` (rounding-safe)."""
    known = np.asarray(changes, float)
    known = known[~np.isnan(known)]
    return float(np.mean(known < -points - 1e-9)) if len(known) else float("nan")


def below_every(changes: list[float], gold: list[list[float]]) -> float:
    """Share of requests whose test-accuracy change ``changes[i]`` lies below every gold
    model's change on that request (``gold[i]``, K models): a utility loss retraining would
    not have caused. A model exchangeable with K gold models does so on 1 / (K + 1)."""
    worse = [c < min(g) - 1e-9 for c, g in zip(changes, gold, strict=True)]
    return float(np.mean(worse)) if worse else float("nan")


def retrain_below_every(retrains: list[list[float]]) -> float:
    """:func:`below_every` for each retrain of a request against the others (its rate
    is 1 / K for K retrains per request, up to ties)."""
    return below_every([c for g in retrains for c in g],
                       [g[:k] + g[k + 1:] for g in retrains for k in range(len(g))])


def held_out_fits(features: list[np.ndarray], targets: list[np.ndarray],
                  regressor: Callable[[], object] | None = None,
                  keys: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Leave-one-request-out fits: for each request ``i``, a map of ``features`` to
    ``targets`` fitted on every *other* request, applied to request ``i``.

    ``features[i]`` is ``(n_i, d)``, ``targets[i]`` ``(n_i,)``; returns ``[(n_i,), ...]``.
    The map is affine (least squares), or ``regressor()`` (a scikit-learn estimator) for a
    nonlinear one. ``keys[i]`` ``(n_i,)`` names each request's records: a record of request
    ``i`` is left out of its fit wherever it appears, since a flexible map would otherwise
    recall its answer from another request that forgot it too. The fit reads the targets: a
    reference for how well such a map of these features can predict them, not a bound on
    every method."""
    if len(features) < 2:
        raise ValueError("held_out_fits needs at least two requests (one is left out)")
    fitted = []
    for i in range(len(features)):
        x_parts, y_parts = [], []
        for j in (j for j in range(len(features)) if j != i):
            kept = (np.ones(len(targets[j]), bool) if keys is None
                    else ~np.isin(keys[j], keys[i]))
            x_parts.append(features[j][kept])
            y_parts.append(targets[j][kept])
        x, y = np.concatenate(x_parts), np.concatenate(y_parts)
        if not len(x):
            raise ValueError(f"held_out_fits: request {i} shares every record with the others, "
                             "so nothing is left to fit it on")
        if regressor is None:
            weights = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)[0]
            fitted.append(features[i] @ weights[:-1] + weights[-1])
        else:
            fitted.append(np.asarray(regressor().fit(x, y).predict(features[i])))
    return fitted
