"""What the synthetic method trains on, made from the model and the forget records alone:
overwrite targets, retain proxies and simulated non-members.

Every draw comes from the ``generator`` passed in, in a fixed order, so a seed fixes the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from workbench.metrics import PROFILE_LEVELS, true_class_margin
from workbench.schema import InputSpace
from workbench.unlearn.objectives import chunked, sharpen_to, soft_predictions
from workbench.unlearn.synthesis import (
    invert_classes,
    invert_features,
    perturb,
    random_inputs,
    repeat_rows,
)

MEAN_DRAWS = 16  # neighbours averaged into a target's neighbourhood mean
REFERENCE_SIZE = 1024  # simulated non-members of the stopping check (at most 8 per record)
# Share of the unseen-margin profile in a shifted target (tuning requests, seeds 30000-30023:
# 1 left clinic's forgotten records more member-like than retraining does, 0.5 did not)
UNSEEN_SHARE = 0.5


def overwrite_targets(teacher: nn.Module, x_forget: torch.Tensor, sigma: float,
                      space: InputSpace, masked: tuple[int, ...], generator: torch.Generator, *,
                      target: str = "sample", mean_share: float = 0.0) -> torch.Tensor:
    """Soft targets ``(N, C)`` for the forget records ``x_forget`` ``(N, ...)``.

    A class request (``masked`` classes): the teacher's prediction without those classes.
    A record request: the teacher's prediction at one random neighbour (noise ``sigma``),
    blended with ``mean_share`` of its mean prediction over ``MEAN_DRAWS`` neighbours;
    ``target="sharpened"``: that mean sharpened to the sampled targets' mean confidence.
    """
    if masked:
        return soft_predictions(teacher, x_forget, masked)
    sampled = soft_predictions(teacher, perturb(x_forget, sigma, space, generator))
    if target == "sample" and not mean_share:
        return sampled
    many = perturb(repeat_rows(x_forget, MEAN_DRAWS), sigma, space, generator)
    average = soft_predictions(teacher, many).reshape(MEAN_DRAWS, len(x_forget), -1).mean(0)
    if target == "sample":
        return (1 - mean_share) * sampled + mean_share * average
    return sharpen_to(average, float(sampled.max(1).values.mean()))


def smoothed_logits(teacher: nn.Module, x: torch.Tensor, sigma: float, space: InputSpace,
                    generator: torch.Generator, draws: int = MEAN_DRAWS) -> torch.Tensor:
    """``(N, C)``: the teacher's logits averaged over ``draws`` neighbours (noise ``sigma``) of
    each row of ``x`` ``(N, ...)``: the teacher smoothed, so that a bump it fitted around one
    memorised record, narrower than ``sigma``, no longer shows."""
    many = perturb(repeat_rows(x, draws), sigma, space, generator)
    with torch.no_grad():
        logits = chunked(teacher, many).float()
    return logits.reshape(draws, len(x), -1).mean(0)


def shifted_targets(teacher: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: float,
                    space: InputSpace, generator: torch.Generator,
                    accuracy: float | None,
                    unseen_margins: Sequence[float] | None = None) -> torch.Tensor:
    """Soft targets ``(N, C)`` for the records ``x`` ``(N, ...)`` with labels ``y`` ``(N,)``.

    The teacher's logits smoothed over neighbours (noise ``sigma``) say which records a model
    that never saw them would find hard; the true class's logit is lowered by one common
    margin so that a share ``accuracy`` of the records stay predicted right (the "shift").
    With ``unseen_margins`` (the model card's 99 quantiles, 1%..99%, of the true-class margins
    that models trained without a member give it; :func:`workbench.metrics.unseen_margin_profile`)
    each record's target margin is instead the mean of its shifted margin and the profile's
    margin at its rank (level ``(r + 0.5) / N``, ``UNSEEN_SHARE``): the smoothing alone is
    compressed against a retrained model's spread of confidences, the profile alone knows the
    spread but not the record. ``accuracy`` None: the smoothed prediction (no profile used).
    Only the true class's logit moves.
    """
    logits = smoothed_logits(teacher, x, sigma, space, generator)
    if not len(x) or accuracy is None:
        return torch.softmax(logits, 1)
    rows = torch.arange(len(y), device=logits.device)
    margin = true_class_margin(logits, y)
    wanted = margin - torch.quantile(margin, 1.0 - accuracy)
    if unseen_margins is not None:
        levels = (margin.argsort().argsort().double().cpu().numpy() + 0.5) / len(x)
        profile = np.interp(levels, PROFILE_LEVELS, np.asarray(unseen_margins, dtype=float))
        wanted = ((1 - UNSEEN_SHARE) * wanted + UNSEEN_SHARE
                  * torch.as_tensor(profile, dtype=logits.dtype, device=logits.device))
    logits[rows, y] -= margin - wanted
    return torch.softmax(logits, 1)


class ProxyBudget(NamedTuple):
    """How many proxies (``total``), the share drawn next to the forget records
    (``local_fraction``), and the model-inversion steps of the others."""

    total: int
    local_fraction: float
    inversion_steps: int

    @property
    def local(self) -> int:
        """How many proxies are neighbours of the forget records (the last ones)."""
        return int(round(self.total * self.local_fraction))


def retain_proxies(teacher: nn.Module, x_forget: torch.Tensor, sigma: float, space: InputSpace,
                   kept: list[int], generator: torch.Generator, budget: ProxyBudget,
                   encode: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``budget.total`` proxies: neighbours of the forget records (``budget.local_fraction``
    of them, last) and random inputs moved by ``budget.inversion_steps`` until ``teacher``
    predicts a random ``kept`` class. With ``encode`` (a frozen trunk) the proxies are its
    features and the inversion runs in feature space, through ``teacher`` = the head: trunk
    forward passes only."""
    count, inversion_steps, n_local = budget.total, budget.inversion_steps, budget.local
    device = x_forget.device
    repeats = max(1, -(-n_local // len(x_forget)))
    local = perturb(repeat_rows(x_forget, repeats), sigma, space, generator)[:n_local]
    local = local.to(device)
    n_global = count - n_local
    start = random_inputs(n_global, space, generator).to(device)
    if encode is not None:
        start, local = encode(start), encode(local)
    if inversion_steps and n_global:  # every proxy local (local_fraction 1): nothing to invert
        classes = torch.tensor(kept)[torch.randint(len(kept), (n_global,),
                                                   generator=generator)].to(device)
        start = (invert_classes(teacher, space, start, classes, steps=inversion_steps)
                 if encode is None else
                 invert_features(teacher, start, classes, steps=inversion_steps))
    return torch.cat([start, local])


def reference_inputs(x: torch.Tensor, sigma: float, space: InputSpace,
                     generator: torch.Generator) -> tuple[torch.Tensor, int]:
    """Simulated non-members: ``draws`` fresh neighbours of each record of ``x`` (8, fewer when
    there are many: about ``REFERENCE_SIZE`` in all), so a stopping check costs a fraction of
    a step. Returns ``(draws * N, ...)`` and ``draws``."""
    draws = max(1, min(8, REFERENCE_SIZE // len(x)))
    return perturb(repeat_rows(x, draws), sigma, space, generator), draws
