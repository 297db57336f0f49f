"""Tensor helpers of the synthetic method: losses against soft or logit targets, the saliency
mask of the weights, chunked forward passes, and the package's one AUC (:mod:`workbench.auc`)
on tensors. No randomness; only the saliency mask touches a model (its gradients, cleared)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from workbench.auc import auc
from workbench.neighbours import CHUNK, chunked


def logit_distance(logits: torch.Tensor, targets: torch.Tensor,
                   weight: float = 1.0) -> torch.Tensor:
    """``weight`` x mean squared difference of centred logits ``(N, C)`` and target logits
    ``(N, C)`` (centred: softmax ignores a shift common to all classes)."""
    logits = logits.float()
    centred = logits - logits.mean(1, keepdim=True)
    return weight * ((centred - (targets - targets.mean(1, keepdim=True))) ** 2).mean()


def sharpen_to(probs: torch.Tensor, confidence: float, iterations: int = 30) -> torch.Tensor:
    """``probs ** (1/T)`` renormalised; T makes the mean top probability ``confidence``."""
    log_probs = probs.clamp_min(1e-12).log()
    low, high = 0.01, 1.0  # temperatures: low sharpens hardest, 1 leaves probs unchanged
    if float(probs.max(1).values.mean()) >= confidence:
        return probs
    for _ in range(iterations):
        middle = (low + high) / 2
        if float(F.softmax(log_probs / middle, 1).max(1).values.mean()) > confidence:
            low = middle
        else:
            high = middle
    return F.softmax(log_probs / ((low + high) / 2), 1)


def soft_predictions(model: nn.Module, x: torch.Tensor, masked: tuple[int, ...] = (),
                     batch_size: int = CHUNK) -> torch.Tensor:
    """Softmax outputs ``(N, C)`` with the ``masked`` classes removed and the rest renormalised."""
    with torch.no_grad():
        logits = chunked(model, x, batch_size)
    if masked:
        logits[:, list(masked)] = float("-inf")
    return F.softmax(logits.float(), dim=1)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` ``(N, C)`` against soft ``targets`` ``(N, C)``."""
    log_probs = F.log_softmax(logits.float(), dim=1)
    return -(targets * log_probs.clamp_min(-1e4)).sum(dim=1).mean()


def mann_whitney_auc(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """P(score of a positive > score of a negative), ties counting half: the ROC AUC of
    :func:`workbench.auc.auc`, the package's one AUC."""
    scores = torch.cat([positive, negative]).detach().double().cpu().numpy()
    truth = np.r_[np.ones(len(positive), bool), np.zeros(len(negative), bool)]
    return auc(scores, truth)


def fit_logits(logits: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Squared error of centred logits ``(N, C)`` against the logits behind ``probs``."""
    return logit_distance(logits, probs.clamp_min(1e-30).log())


def saliency_masks(model: nn.Module, x: torch.Tensor, targets: torch.Tensor,
                   fraction: float) -> list[torch.Tensor] | None:
    """0/1 masks keeping the ``fraction`` of weights with the largest overwrite gradient."""
    if fraction >= 1.0:
        return None
    model.zero_grad(set_to_none=True)
    soft_cross_entropy(model(x), targets).backward()
    grads = [p.grad.abs() if p.grad is not None else torch.zeros_like(p)
             for p in model.parameters()]
    flat = torch.cat([g.flatten() for g in grads])
    k = max(1, int(fraction * flat.numel()))
    threshold = flat.kthvalue(flat.numel() - k + 1).values
    model.zero_grad(set_to_none=True)
    return [(g >= threshold).float() for g in grads]
