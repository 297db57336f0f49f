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
        gap = original[rows].mean(-1) - retrain[rows].mean(-1)
        return (original[rows].mean(-1) - method[rows].mean(-1)) / np.where(gap > 0, gap, np.nan)

    return _bootstrap(closed, len(group), draws, seed)


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
