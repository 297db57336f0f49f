"""Quick model metrics: accuracy, the loss-threshold membership AUC (Yeom et al.), true-class
margins and the unseen-margin profile a model card reports."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from workbench.auc import auc
from workbench.records import RecordSet, RecordTable
from workbench.training import (
    accuracy,
    per_record_loss,
    predict_logits,
    reinitialise,
    train_classifier,
    two_class_logits,
)

PROFILE_FOLDS = 5  # folds of the members behind the unseen-margin profile
PROFILE_REPEATS = 2  # shuffles of the members into folds (each member scored this often)
PROFILE_LEVELS = np.linspace(0.01, 0.99, 99)  # its quantile levels: 1%, 2%, ..., 99%


def loss_mia_auc(model: nn.Module, members: RecordSet, non_members: RecordSet) -> float:
    """ROC AUC of the score ``-loss`` for telling ``members`` from ``non_members``.

    0.5 is no membership signal; higher means members have visibly lower loss.
    """
    if len(members) == 0 or len(non_members) == 0:
        raise ValueError("a membership AUC needs at least one member and one non-member")
    member_loss = per_record_loss(model, members.inputs(), members.labels()).numpy()
    other_loss = per_record_loss(model, non_members.inputs(), non_members.labels()).numpy()
    scores = -np.concatenate([member_loss, other_loss])
    truth = np.r_[np.ones(len(member_loss), bool), np.zeros(len(other_loss), bool)]
    return auc(scores, truth)


def set_accuracy(model: nn.Module, records: RecordSet) -> float:
    """Accuracy of ``model`` on a record set."""
    return accuracy(model, records.inputs(), records.labels())


def true_class_margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N,)``: the logit of the label ``y`` ``(N,)`` minus the largest other logit of
    ``logits`` ``(N, C)``; positive where the prediction is right."""
    rows = torch.arange(len(y), device=logits.device)
    others = logits.clone()
    others[rows, y] = -torch.inf
    return logits[rows, y] - others.max(1).values


def unseen_margin_profile(model: nn.Module, table: RecordTable, *, folds: int = PROFILE_FOLDS,
                          repeats: int = PROFILE_REPEATS, seed: int = 0,
                          device: str = "cpu") -> list[float]:
    """How confident a model that never saw a member is on it, as 99 quantiles (1%..99%).

    The members are dealt into ``folds`` folds (shuffled by ``seed``), ``repeats`` times with
    fresh shuffles; for each fold a fresh copy of ``model`` (weights re-drawn) is trained with
    the table's recipe on the other folds and scores the fold's records. Returns the quantiles
    of all those out-of-fold true-class margins (logit of the label minus the best other;
    ``repeats`` per member, pooled: one model's margins vary with its seed). It is what a
    model card can report next to its test accuracy: computed once, with the training data at
    hand, so that an erasure later needs only the model and the records to forget. ``model``
    outputs ``(N, C >= 2)``; ``repeats * folds`` models are trained.

    Raises:
        ValueError: the table has no recipe, or too few members for ``folds`` folds.
    """
    if table.recipe is None:
        raise ValueError("an unseen-margin profile trains with the model's recipe; the table "
                         "has none (give the RecordTable a TrainRecipe)")
    members = table.members()
    if len(members) < 2 * folds:
        raise ValueError(f"an unseen-margin profile needs at least {2 * folds} members for "
                         f"{folds} folds; the table has {len(members)}")
    x, y = members.inputs(), members.labels()
    generator = torch.Generator().manual_seed(seed)
    margins = []
    for repeat in range(repeats):
        order = torch.randperm(len(x), generator=generator)
        for fold in range(folds):
            held = order[fold::folds]
            keep = torch.ones(len(x), dtype=torch.bool)
            keep[held] = False
            model_seed = seed + 1 + repeat * folds + fold
            fresh = reinitialise(model, model_seed).requires_grad_(True).train()
            train_classifier(fresh, x[keep], y[keep], table.recipe, seed=model_seed,
                             device=device)
            logits = two_class_logits(predict_logits(fresh, x[held]))
            margins.append(true_class_margin(logits, y[held]))
    pooled = torch.cat(margins).numpy()
    return [round(float(q), 4) for q in np.quantile(pooled, PROFILE_LEVELS)]
