"""Quick model metrics: accuracy, the loss-threshold membership AUC (Yeom et al.), true-class
margins and the unseen profile a model card reports."""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from workbench.auc import auc
from workbench.card import PROFILE_LEVELS, MarginMap, UnseenProfile
from workbench.errors import warn_caller
from workbench.margin_features import (  # true_class_margin: read from here too
    MAP_FEATURES,
    map_features,
    true_class_margin,
)
from workbench.neighbours import calibrate_sigma, smoothed_logits
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
# the smoothing noise of the unseen profile, as a share of the calibrated neighbour noise
# (the same half the synthetic method smoothed with before the profile existed)
SMOOTHING_SCALE = 0.5
# neighbours per member in the profile's smoothing (tuning requests: 64 instead of 16 took the
# share of forgotten records outside the retrains' 95% from 0.091-0.220 to 0.071-0.203)
SMOOTHING_DRAWS = 64
# width (in rank, 0..1) of the Gaussian kernel behind the profile's expected margins: each
# value weighs about a sixth of the members (effective count n * 0.05 * 2 * sqrt(pi))
EXPECTED_BANDWIDTH = 0.05
# fewer members than this: no expected margins (a mean at the 1% or 99% rank would weigh
# fewer than 10 of them)
MIN_EXPECTED_MEMBERS = 120
# the margin map is fitted on at most this many members (a seeded sample): one backward pass
# each
MAP_MEMBERS = 5000


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


def unseen_profile(model: nn.Module, table: RecordTable, *, folds: int = PROFILE_FOLDS,
                   repeats: int = PROFILE_REPEATS, seed: int = 0,
                   device: str = "cpu") -> UnseenProfile:
    """How sure a model that never saw a member would be of it (:class:`UnseenProfile`).

    The members are dealt into ``folds`` folds (shuffled by ``seed``), ``repeats`` times with
    fresh shuffles; for each fold a fresh copy of ``model`` (weights re-drawn) is trained with
    the table's recipe on the other folds and scores the fold's members (out-of-fold) and the
    held-out records. The profile's margins are ``model``'s own held-out margins plus, at each
    quantile, how much lower those models put the members they never saw than the held-out
    records (members can be harder or easier than held-out records; a fold model's own scale
    can be wider than ``model``'s). The smoothing noise is half the neighbour noise at which
    ``model``'s accuracy on its members' neighbours equals its held-out accuracy. The
    expected margins (with ``MIN_EXPECTED_MEMBERS`` members or more) average each member's
    out-of-fold margins over the repeats, move them onto the profile's scale by their rank,
    and take their kernel mean at each rank of the members' smoothed margins; the margin map
    fits the same moved margins, by least squares, on each member's
    :data:`~workbench.margin_features.MAP_FEATURES` and class (at most ``MAP_MEMBERS`` of
    them). Computed once, with the training data at hand, so that an erasure later reads only
    the model, the forget records and this card. ``model`` outputs ``(N, C >= 2)`` (or one
    logit); ``repeats * folds`` models are trained.

    Raises:
        ValueError: the table has no recipe, fewer than 2 folds or 1 repeat, too few members
            for ``folds`` folds, or no held-out records.
    """
    if table.recipe is None:
        raise ValueError("an unseen profile trains with the model's recipe; the table has none "
                         "(give the RecordTable a TrainRecipe)")
    members, held_out = table.members(), table.held_out()
    if folds < 2 or repeats < 1:
        raise ValueError(f"an unseen profile needs at least 2 folds and 1 repeat, got "
                         f"folds={folds}, repeats={repeats}")
    if len(members) < 2 * folds:
        raise ValueError(f"an unseen profile needs at least {2 * folds} members for {folds} "
                         f"folds; the table has {len(members)}")
    if not len(held_out):
        raise ValueError("an unseen profile compares members with held-out records; the table "
                         "has none")
    x, y = members.inputs(), members.labels()
    x_out, y_out = held_out.inputs(), held_out.labels()
    generator = torch.Generator().manual_seed(seed)
    unseen, fold_out = torch.zeros(repeats, len(x)), []
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
            unseen[repeat, held] = model_margins(fresh, x[held], y[held])
            fold_out.append(model_margins(fresh, x_out, y_out))
    own_out = model_margins(model, x_out, y_out)
    margins = np.sort(_quantiles(own_out) + _quantiles(unseen.flatten())
                      - _quantiles(torch.cat(fold_out)))
    teacher = copy.deepcopy(model).eval().requires_grad_(False)
    where = next(teacher.parameters()).device
    x, y = x.to(where), y.to(where)
    accuracy = float((own_out > 0).float().mean())
    sigma = SMOOTHING_SCALE * calibrate_sigma(teacher, x, y, table.input_space, accuracy,
                                              seed=seed)
    smoothed = true_class_margin(two_class_logits(smoothed_logits(
        teacher, x, sigma, table.input_space, torch.Generator().manual_seed(seed),
        draws=SMOOTHING_DRAWS)), y).cpu()
    smoothed_quantiles = _quantiles(smoothed)
    expected, margin_map = None, None
    if len(members) >= MIN_EXPECTED_MEMBERS:
        scaled = _on_scale(unseen.mean(0).numpy(), margins)
        expected = _rounded(_expected_margins(
            unseen.mean(0).numpy(), margins,
            np.interp(smoothed.numpy(), smoothed_quantiles, PROFILE_LEVELS)))
        margin_map = _margin_map(teacher, x, y, smoothed, scaled, seed, table.num_classes)
    return UnseenProfile(margins=_rounded(margins), smoothing_sigma=round(sigma, 6),
                         smoothed_margins=_rounded(smoothed_quantiles),
                         smoothing_draws=SMOOTHING_DRAWS, expected_margins=expected,
                         margin_map=margin_map)


def _on_scale(unseen: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """``(M,)`` the members' unseen margins ``(M,)`` moved onto the model's scale: each one's
    rank among them read off the profile's ``margins`` ``(99,)`` (ties share a rank)."""
    ranks = rankdata(unseen, method="average")
    return np.interp((ranks - 0.5) / len(unseen), PROFILE_LEVELS, margins)


def _margin_map(model: nn.Module, x: torch.Tensor, y: torch.Tensor, smoothed: torch.Tensor,
                scaled: np.ndarray, seed: int, num_classes: int) -> MarginMap:
    """The members' unseen margins on the model's scale ``scaled`` ``(M,)``, fitted by least
    squares on their :data:`MAP_FEATURES` (``x`` ``(M, ...)``, ``y`` ``(M,)``, smoothed margins
    ``(M,)``) and one offset per class after the first; at most ``MAP_MEMBERS`` of them, drawn
    with ``seed``. A class with no member among them gets the mean level of the others (its
    records' predictions then lean on the features alone), listed as imputed, with a
    warning."""
    rows = np.arange(len(x))
    if len(rows) > MAP_MEMBERS:
        rows = np.sort(np.random.default_rng(seed).choice(len(x), MAP_MEMBERS, replace=False))
    index = torch.as_tensor(rows)
    labels = y[index.to(y.device)].cpu().numpy()
    features = map_features(model, x[index.to(x.device)], y[index.to(y.device)], smoothed[index])
    counts = np.bincount(labels, minlength=num_classes)
    present = np.flatnonzero(counts)
    design = np.column_stack([features, labels[:, None] == present[None, :]])
    coefficients = np.linalg.lstsq(design, scaled[rows], rcond=None)[0]
    width = features.shape[1]
    levels = np.full(num_classes, np.average(coefficients[width:], weights=counts[present]))
    levels[present] = coefficients[width:]  # a class without members gets the mean level
    absent = [int(c) for c in np.flatnonzero(counts == 0)]
    if absent:
        warn_caller(f"the margin map was fitted on {len(rows):,} members without a record of "
                    f"class(es) {absent}: their offset is the other classes' mean level, so "
                    "their records' targets are only as good as that; fit the profile on "
                    "members of every class", RuntimeWarning)
    return MarginMap(MAP_FEATURES, _rounded(coefficients[:width]), round(float(levels[0]), 4),
                     _rounded(np.quantile(design @ coefficients, PROFILE_LEVELS)),
                     _rounded(features.min(0)), _rounded(features.max(0)),
                     (0.0, *_rounded(levels[1:] - levels[0])), tuple(absent))


def _expected_margins(unseen: np.ndarray, margins: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """``(99,)``: at each profile level, the kernel-weighted mean of the members' unseen
    margins ``(M,)`` (each moved onto the model's scale: its rank among them read off
    ``margins`` ``(99,)``), weighted by how near each member's smoothed rank ``ranks`` ``(M,)``
    lies to the level."""
    scaled = _on_scale(unseen, margins)
    weights = np.exp(-0.5 * ((ranks[None, :] - PROFILE_LEVELS[:, None])
                             / EXPECTED_BANDWIDTH) ** 2)
    return (weights @ scaled) / weights.sum(1)


def model_margins(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N,)`` true-class margins of ``model`` on inputs ``x`` with labels ``y`` (CPU)."""
    return true_class_margin(two_class_logits(predict_logits(model, x)), y)


def _quantiles(values: torch.Tensor) -> np.ndarray:
    return np.quantile(values.numpy(), PROFILE_LEVELS)


def _rounded(values: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(v), 4) for v in values)
