"""Per-record features of a trained model that say how sure a model that never saw the record
would be of it: the card's margin map (:class:`workbench.card.MarginMap`) reads them.

Besides the record's margin and its smoothed margin (the model's logits averaged over nearby
inputs), two gradient norms of the margin: with respect to the weights (how much the weights
would have to move to change the record's prediction) and with respect to the input (how
steep the prediction is around it). Together they separate records the model bent itself to
fit from records it predicts from their neighbourhood: on the tuning requests an affine map of
the four, fitted on the members' out-of-fold margins, put fewer forgotten records outside the
retrained models' 95% interval than the smoothed margin's rank alone (``benchmarks/RESULTS.md``,
"A margin map on the card").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from workbench.models.fit import two_class_logits

if TYPE_CHECKING:
    from workbench.card import MarginMap

MAP_FEATURES = ("margin", "smoothed_margin", "log_weight_gradient", "log_input_gradient")
_FLOOR = 1e-8  # a gradient norm of 0 (a saturated ReLU region) logs to log(1e-8)


def margin_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N, 2)``: per record of ``x`` ``(N, ...)`` with labels ``y`` ``(N,)``, the log norm
    of its margin's gradient with respect to every weight of ``model``, and with respect to
    its input (in eval mode; the model is left as it was). One backward pass per record:
    about 1 ms on the tabular samples' MLPs, on the CPU."""
    weights = list(model.parameters())
    frozen = [w for w in weights if not w.requires_grad]
    was_training = model.training
    model.eval()
    norms = torch.zeros(len(x), 2)
    try:
        for w in frozen:  # a frozen teacher: differentiable for this pass only
            w.requires_grad_(True)
        _each_record(model, weights, x, y, norms)
    finally:
        for w in frozen:
            w.requires_grad_(False)
        model.train(was_training)
    return norms.clamp_min(_FLOOR).log()


@torch.enable_grad()
def _each_record(model: nn.Module, weights: list[nn.Parameter], x: torch.Tensor,
                 y: torch.Tensor, norms: torch.Tensor) -> None:
    for row in range(len(x)):
        one = x[row:row + 1].detach().clone().requires_grad_(True)
        margin = true_class_margin(two_class_logits(model(one).float()), y[row:row + 1]).sum()
        grads = torch.autograd.grad(margin, [*weights, one], allow_unused=True)
        squared = sum(float(g.pow(2).sum()) for g in grads[:-1] if g is not None)
        norms[row, 0] = squared ** 0.5
        norms[row, 1] = 0.0 if grads[-1] is None else float(grads[-1].norm())


def true_class_margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N,)``: the logit of the label ``y`` ``(N,)`` minus the largest other logit of
    ``logits`` ``(N, C)``; positive where the prediction is right (differentiable: the
    ``-inf`` goes into a copy)."""
    rows = torch.arange(len(y), device=logits.device)
    others = logits.clone()
    others[rows, y] = -torch.inf
    return logits[rows, y] - others.max(1).values


def map_features(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 smoothed: torch.Tensor) -> np.ndarray:
    """``(N, 4)`` the :data:`MAP_FEATURES` of records ``x`` ``(N, ...)`` with labels ``y``
    ``(N,)`` and smoothed margins ``smoothed`` ``(N,)`` (computed by the caller, at the
    card's noise)."""
    was_training = model.training
    try:
        with torch.no_grad():
            margins = true_class_margin(two_class_logits(model.eval()(x).float()), y).cpu()
    finally:
        model.train(was_training)
    columns = [margins, smoothed.float().cpu(), *margin_gradients(model, x, y).T]
    return torch.stack(columns, 1).double().numpy()


def unreadable_map(margin_map: MarginMap | None, num_classes: int | None) -> str | None:
    """Why this release cannot read a card's margin map, in words (None: it can, or there is
    none): it reads other features than :data:`MAP_FEATURES`, or its class offsets do not
    match ``num_classes`` (None: not checked)."""
    if margin_map is None:
        return None
    if margin_map.features != MAP_FEATURES:
        return (f"of other features ({list(margin_map.features)}) than this release computes "
                f"({list(MAP_FEATURES)})")
    offsets = margin_map.class_offsets
    if num_classes is not None and offsets is not None and len(offsets) != num_classes:
        return f"with {len(offsets)} class offsets for a model of {num_classes} classes"
    return None
