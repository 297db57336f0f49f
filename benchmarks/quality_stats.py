"""Intervals for the rates benchmarks/synthetic_quality.py prints: what an outsider checks
before believing "P ratio 0.9" from 30 requests."""

from __future__ import annotations

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
                   seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of ``mean(mine) / mean(theirs)``, resampling requests
    (``mine[i]``: the method PASSed request i; ``theirs[i]``: each retrain's PASS on it)."""
    rng = np.random.default_rng(seed)
    method = np.asarray(mine, float)
    retrain = np.asarray([np.mean(t) for t in theirs], float)
    picks = rng.integers(len(method), size=(draws, len(method)))
    ratios = method[picks].mean(1) / np.maximum(retrain[picks].mean(1), 1e-9)
    return float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))


def gap_closed(group: list[dict], draws: int = 2000,
               seed: int = 0) -> tuple[float, float, float]:
    """Share of the per-record gap between the untouched original and an independent retrain
    that the method closes, (original - method) / (original - retrain) of the mean share
    outside the retrains' 95%, with a 95% bootstrap interval over requests (seed 0)."""
    original = np.array([r["original_outside"] for r in group])
    method = np.array([r["outside"] for r in group])
    retrain = np.array([np.mean(r["retrain_outside"]) for r in group])

    def closed(rows: np.ndarray) -> np.ndarray:
        gap = original[rows].mean(-1) - retrain[rows].mean(-1)
        return (original[rows].mean(-1) - method[rows].mean(-1)) / np.where(gap > 0, gap, np.nan)

    picks = np.random.default_rng(seed).integers(len(group), size=(draws, len(group)))
    low, high = np.nanquantile(closed(picks), [0.025, 0.975])
    return float(closed(np.arange(len(group)))), float(low), float(high)


def lost_share(changes: list[float], points: float = 1.0) -> float:
    """Share of requests whose test accuracy fell by more than ``points`` (rounding-safe)."""
    return float(np.mean(np.asarray(changes) < -points - 1e-9)) if changes else float("nan")
