"""Neighbours of records in input space, and how far they lie.

A model that never saw a record predicts it the way the original predicts unseen points near
it; "near" is the noise level at which the original's accuracy on neighbours equals its
reported test accuracy (one declared scalar of non-member information). The synthetic method
draws its neighbours here; so does the model card's unseen profile
(:func:`workbench.metrics.unseen_profile`), with the same noise, so the two compare.
Everything here reads only the given records, the model and the ``InputSpace``.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn
from torch.nn import functional as F

from workbench.schema import InputSpace

SIGMA_RANGE = (0.02, 8.0)
ITERATIONS = 12  # false-position trials of the sigma search (it usually stops after 3-6)
MAX_CHECKED = 512  # forget records the stopping check and sigma calibration look at
CALIBRATION_SIZE = 2048  # neighbours per trial of sigma (at least 4 per record)
LARGE_INPUT = 512  # inputs of this many values (28x28 images) use half as many: each costs more

# Offsets that give the calibration its own random streams, independent of the method's own
# draws from ``seed`` (any fixed numbers unlikely to collide would do; these are primes).
ROWS_STREAM = 104729  # which forget records the calibration checks
NEIGHBOURS_STREAM = 7919  # the noise of the neighbours at each trial sigma
CHUNK = 256  # records per forward pass outside the training step (CPU caches; GPU memory)
MEAN_DRAWS = 16  # neighbours averaged into a smoothed prediction


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


def chunked(model: nn.Module, x: torch.Tensor, size: int = CHUNK) -> torch.Tensor:
    """``model(x)`` computed ``size`` records at a time (same values, less memory traffic)."""
    return torch.cat([model(x[i:i + size]) for i in range(0, len(x), size)])


def categorical_flip_probability(sigma: float) -> float:
    """How often a neighbour re-draws a binary or categorical feature at noise ``sigma``."""
    return min(0.5, 0.25 * sigma)


def perturb(x: torch.Tensor, sigma: float, space: InputSpace,
            generator: torch.Generator) -> torch.Tensor:
    """Random neighbours of ``x`` (shape ``(N, *space.shape)``) within the schema's bounds.

    Continuous columns get Gaussian noise of ``sigma`` (in units of ``space.spread``) and are
    clamped to their range; discrete and one-hot features are re-drawn uniformly with
    probability :func:`categorical_flip_probability`. The random draws do not depend on
    ``sigma``, so the same generator state gives neighbours that move smoothly with it.
    """
    flat = x.reshape(len(x), -1).clone()
    device = flat.device
    if space.continuous:
        idx = torch.tensor(space.continuous, device=device)
        noise = torch.randn(len(flat), len(idx), generator=generator).to(device)
        spread = torch.tensor(space.spread, device=device)
        moved = flat[:, idx] + sigma * spread * noise
        lower = torch.tensor(space.lower, device=device)
        upper = torch.tensor(space.upper, device=device)
        flat[:, idx] = torch.maximum(torch.minimum(moved, upper), lower)
    flip = categorical_flip_probability(sigma)
    for column, values in space.discrete:
        redraw = torch.rand(len(flat), generator=generator).to(device) < flip
        choice = torch.randint(len(values), (len(flat),), generator=generator).to(device)
        new = torch.tensor(values, device=device)[choice]
        flat[:, column] = torch.where(redraw, new, flat[:, column])
    for group in space.onehot:
        redraw = torch.rand(len(flat), generator=generator).to(device) < flip
        choice = torch.randint(len(group), (len(flat),), generator=generator).to(device)
        cols = torch.tensor(group, device=device)
        fresh = F.one_hot(choice, len(group)).to(flat.dtype)
        flat[:, cols] = torch.where(redraw[:, None], fresh, flat[:, cols])
    return flat.reshape(x.shape)


def repeat_rows(x: torch.Tensor, times: int) -> torch.Tensor:
    """``(times * N, ...)``: ``x`` ``(N, ...)`` stacked ``times`` times."""
    return x.repeat(times, *([1] * (x.dim() - 1)))


def smoothed_logits(teacher: nn.Module, x: torch.Tensor, sigma: float, space: InputSpace,
                    generator: torch.Generator, draws: int = MEAN_DRAWS) -> torch.Tensor:
    """``(N, C)``: the teacher's logits averaged over ``draws`` neighbours (noise ``sigma``) of
    each row of ``x`` ``(N, ...)``: the teacher smoothed, so that a bump it fitted around one
    memorised record, narrower than ``sigma``, no longer shows."""
    many = perturb(repeat_rows(x, draws), sigma, space, generator)
    with torch.no_grad():
        logits = chunked(teacher, many).float()
    return logits.reshape(draws, len(x), -1).mean(0)
