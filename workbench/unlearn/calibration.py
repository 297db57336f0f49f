"""Sigma calibration of the synthetic method: how far a neighbour of a forget record lies.

A model that never saw a record predicts it the way the original predicts unseen points near
it; "near" is the noise level at which the original's accuracy on neighbours equals its
reported test accuracy (one declared scalar of non-member information).
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn
from torch.nn import functional as F

from workbench.schema import InputSpace
from workbench.unlearn.objectives import chunked
from workbench.unlearn.synthesis import perturb, repeat_rows

SIGMA_RANGE = (0.02, 8.0)
ITERATIONS = 12  # false-position trials of the sigma search (it usually stops after 3-6)
MAX_CHECKED = 512  # forget records the stopping check and sigma calibration look at
CALIBRATION_SIZE = 2048  # neighbours per trial of sigma (at least 4 per record)
LARGE_INPUT = 512  # inputs of this many values (28x28 images) use half as many: each costs more

# Offsets that give the calibration its own random streams, independent of the method's own
# draws from ``seed`` (any fixed numbers unlikely to collide would do; these are primes).
ROWS_STREAM = 104729  # which forget records the calibration checks
NEIGHBOURS_STREAM = 7919  # the noise of the neighbours at each trial sigma


def checked_rows(n: int, seed: int, device: torch.device,
                 limit: int = MAX_CHECKED) -> torch.Tensor:
    """All of ``range(n)``, or a seeded subset of ``limit`` of them when larger."""
    if n <= limit:
        return torch.arange(n, device=device)
    generator = torch.Generator().manual_seed(seed + ROWS_STREAM)
    return torch.randperm(n, generator=generator)[:limit].sort().values.to(device)


def calibrate_sigma(teacher: nn.Module, x: torch.Tensor, y: torch.Tensor, space: InputSpace,
                    accuracy: float, *, seed: int, draws: int | None = None,
                    average: bool = False) -> float:
    """Noise level at which the model's accuracy on neighbours of ``x`` equals ``accuracy``.

    A root search on a log scale over ``SIGMA_RANGE``: sigma grows fourfold from the bottom
    until the accuracy falls below the target, then false position with the Illinois step
    (at most ``ITERATIONS`` trials); every trial uses the same random
    draws, so the search is deterministic for a given ``seed``. It stops once the accuracy is
    within half a standard error of the estimate (about 0.4 points for 2,048 neighbours):
    finer is noise. At most ``MAX_CHECKED`` records (a seeded subset) take part, each with
    ``draws`` neighbours (default: 16, fewer for many records, about ``CALIBRATION_SIZE`` in
    all but at least 4 each); inputs of ``LARGE_INPUT`` values or more, which cost more per
    trial, use half as many records and neighbours.
    """
    share = 1 if x[0].numel() < LARGE_INPUT else 2  # large inputs: half the records and draws
    if len(x) > MAX_CHECKED // share:
        keep = checked_rows(len(x), seed, x.device, MAX_CHECKED // share)
        x, y = x[keep], y[keep]
    if draws is None:
        draws = max(4, min(16, CALIBRATION_SIZE // share // len(x)))
    repeated = repeat_rows(x, draws)
    labels = y.repeat(draws)

    @functools.cache
    def reached(log_sigma: float) -> float:
        """Accuracy on neighbours at ``exp(log_sigma)`` (falls with sigma)."""
        neighbours = perturb(repeated, math.exp(log_sigma), space,
                             torch.Generator().manual_seed(seed + NEIGHBOURS_STREAM))
        with torch.no_grad():
            probs = F.softmax(chunked(teacher, neighbours).float(), 1)
        if average:  # accuracy of the neighbourhood's average prediction
            probs = probs.reshape(draws, len(x), -1).mean(0)
            return float((probs.argmax(1) == y).float().mean())
        return float((probs.argmax(1) == labels).float().mean())

    tolerance = 0.5 * math.sqrt(max(accuracy * (1 - accuracy), 1e-4) / len(labels))
    low, high = bracket(reached, accuracy, tolerance)
    if high is None:
        return math.exp(low)
    f_low, f_high = reached(low) - accuracy, reached(high) - accuracy
    kept_side = 0  # +1 / -1 when the same end moved twice: halve the other end's value
    for _ in range(ITERATIONS):
        middle = (low * f_high - high * f_low) / (f_high - f_low)
        f_middle = reached(middle) - accuracy
        if abs(f_middle) <= tolerance:
            return math.exp(middle)
        if f_middle > 0:
            low, f_low = middle, f_middle
            f_high = f_high / 2 if kept_side == 1 else f_high
            kept_side = 1
        else:
            high, f_high = middle, f_middle
            f_low = f_low / 2 if kept_side == -1 else f_low
            kept_side = -1
    return math.exp((low * f_high - high * f_low) / (f_high - f_low))


def bracket(reached, accuracy: float, tolerance: float) -> tuple[float, float | None]:
    """Log sigmas ``(low, high)`` with ``reached(low) > accuracy > reached(high)``, found by
    growing sigma fourfold from the bottom of ``SIGMA_RANGE`` (the answer is usually small);
    ``(log sigma, None)`` when a trial already lands within ``tolerance`` or at an end."""
    step = math.log(4.0)
    low, top = math.log(SIGMA_RANGE[0]), math.log(SIGMA_RANGE[1])
    if reached(low) - accuracy <= tolerance:
        return low, None
    while low < top:
        high = min(low + step, top)
        gap = reached(high) - accuracy
        if abs(gap) <= tolerance or (gap > 0 and high >= top):
            return high, None
        if gap < 0:
            return low, high
        low = high
    return top, None
