"""The card's margin map: per-record gradient features, the map itself, how the unseen profile
fits it and how ``synthetic``'s targets read it."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

from workbench.card import PROFILE_LEVELS, MarginMap, UnseenProfile
from workbench.margin_features import MAP_FEATURES, map_features, margin_gradients
from workbench.metrics import _margin_map, true_class_margin, unseen_profile
from workbench.neighbours import smoothed_logits
from workbench.samples import load_sample
from workbench.unlearn.synthetic_data import (
    DRIFT_ALLOWANCE,
    MAP_SPREAD,
    _profile_targets,
    shifted_targets,
)
from workbench.unlearn.tiny import build_tiny_world

LEVELS = np.linspace(-10.0, 20.0, 99)


@pytest.fixture(scope="module")
def world():
    return build_tiny_world()


def _by_hand(model, x, y) -> np.ndarray:
    """``(N, 2)`` log gradient norms of each record's margin, one autograd call per record."""
    weights = list(model.parameters())
    out = []
    for row in range(len(x)):
        one = x[row:row + 1].clone().requires_grad_(True)
        margin = true_class_margin(model(one), y[row:row + 1]).sum()
        grads = torch.autograd.grad(margin, [*weights, one])
        out.append([float(sum(g.pow(2).sum() for g in grads[:-1]).sqrt().log()),
                    float(grads[-1].norm().log())])
    return np.asarray(out)


def test_margin_gradients_match_autograd_and_leave_the_model_as_it_was(world):
    model, members = world.model, world.table.members()
    x, y = members.inputs()[:12], members.labels()[:12]
    model.eval()
    expected = _by_hand(model, x, y)
    frozen = copy.deepcopy(model).train().requires_grad_(False)  # as synthetic's teacher
    before = [p.clone() for p in frozen.parameters()]
    got = margin_gradients(frozen, x, y).numpy()
    assert got == pytest.approx(expected, abs=1e-5)
    assert frozen.training and not any(p.requires_grad for p in frozen.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, frozen.parameters(), strict=True))
    # one record at a time: a batch gives each record its own gradients
    assert margin_gradients(frozen, x[3:4], y[3:4]).numpy() == pytest.approx(got[3:4], abs=1e-5)
    assert margin_gradients(frozen, x[:0], y[:0]).shape == (0, 2)


def test_map_features_are_the_margin_the_smoothed_margin_and_both_gradient_norms(world):
    model, members = world.model.eval(), world.table.members()
    x, y = members.inputs()[:8], members.labels()[:8]
    smoothed = torch.linspace(-1.0, 1.0, 8)
    model.train()
    features = map_features(model, x, y, smoothed)
    assert model.training  # left in the mode it was in
    model.eval()
    assert features.shape == (8, len(MAP_FEATURES))
    with torch.no_grad():
        margins = true_class_margin(model(x), y)
    assert features[:, 0] == pytest.approx(margins.numpy(), abs=1e-5)
    assert features[:, 1] == pytest.approx(smoothed.numpy())
    assert features[:, 2:] == pytest.approx(_by_hand(model, x, y), abs=1e-5)


def _map(weights=(0.0, 1.0, 0.0, 0.0), intercept=0.0, offsets=None) -> MarginMap:
    return MarginMap(MAP_FEATURES, weights, intercept, tuple(LEVELS), (-50.0,) * 4, (50.0,) * 4,
                     offsets)


def test_a_margin_map_predicts_ranks_and_round_trips():
    card_map = _map((0.5, 1.0, -2.0, 0.0), 3.0)
    features = np.array([[2.0, 1.0, 0.5, 7.0], [0.0, -4.0, 0.0, 1.0]])
    assert card_map.predict(features) == pytest.approx([1.0 + 1.0 - 1.0 + 3.0, -4.0 + 3.0])
    assert card_map.ranks(np.array([-1e6, 5.0, 1e6])) == pytest.approx([0.01, 0.5, 0.99])
    assert MarginMap.from_dict(card_map.to_dict()) == card_map
    profile = UnseenProfile(tuple(LEVELS), 0.5, tuple(LEVELS), 16, margin_map=card_map)
    assert UnseenProfile.from_dict(profile.to_dict()) == profile
    earlier = {k: v for k, v in profile.to_dict().items() if k != "margin_map"}
    assert UnseenProfile.from_dict(earlier).margin_map is None  # an earlier card
    with pytest.raises(ValueError, match=r"\(N, 4\) features"):
        card_map.predict(features[:, :3])
    # outside the members' range a feature is held at its edge (no extrapolation)
    held = MarginMap(MAP_FEATURES, (0.0, 0.0, 2.0, 0.0), 0.0, tuple(LEVELS),
                     (0.0, 0.0, 3.0, 0.0), (1.0, 1.0, 5.0, 1.0))
    saturated = np.array([[0.0, 0.0, np.log(1e-8), 0.0], [0.0, 0.0, 4.0, 0.0]])
    assert held.predict(saturated) == pytest.approx([6.0, 8.0])
    # a manifest's dict is read as a map; anything else is refused
    assert UnseenProfile(tuple(LEVELS), 0.5, tuple(LEVELS), 16,
                         margin_map=card_map.to_dict()).margin_map == card_map
    with pytest.raises(TypeError, match="MarginMap"):
        UnseenProfile(tuple(LEVELS), 0.5, tuple(LEVELS), 16, margin_map=[1.0])


@pytest.mark.parametrize("change, message", [
    ({"weights": (1.0, 2.0)}, "one weight, lower"),
    ({"weights": (1.0, np.nan, 0.0, 0.0)}, "finite"),
    ({"intercept": np.inf}, "finite"),
    ({"mapped_margins": tuple(LEVELS[::-1])}, "sorted"),
    ({"mapped_margins": (0.0, 1.0)}, "99 finite quantiles"),
    ({"features": "abcd"}, "list of feature names"),
    ({"features": ("margin", "margin", "a", "b")}, "distinct feature names"),
    ({"lower": (0.0, 0.0, 0.0)}, "lower and upper bound per feature"),
    ({"lower": (99.0,) * 4}, "at most its upper"),
    ({"class_offsets": (1.0, 0.0)}, "the first 0"),
    ({"class_offsets": (0.0,)}, "at least 2"),
    ({"class_offsets": (0.0, np.nan)}, "one finite offset per class"),
    ({"class_offsets": (0.0, 1.0), "imputed_classes": (2,)}, "imputed_classes lists"),
    ({"class_offsets": (0.0, 1.0), "imputed_classes": (1, 1)}, "distinct class indices"),
    ({"imputed_classes": (0,)}, "of its class offsets"),  # no offsets: nothing to impute
])
def test_a_malformed_margin_map_is_refused(change, message):
    good = _map().to_dict()
    with pytest.raises(ValueError, match=message):
        MarginMap(**{**good, **change})


def test_class_offsets_add_the_records_class_offset_and_need_labels():
    card_map = _map((0.5, 1.0, -2.0, 0.0), 3.0, offsets=(0.0, -2.5))
    features = np.array([[2.0, 1.0, 0.5, 7.0], [0.0, -4.0, 0.0, 1.0], [0.0, -4.0, 0.0, 1.0]])
    plain = _map((0.5, 1.0, -2.0, 0.0), 3.0).predict(features)
    assert card_map.predict(features, np.array([1, 0, 1])) == pytest.approx(
        plain + [-2.5, 0.0, -2.5])
    assert MarginMap.from_dict(card_map.to_dict()) == card_map
    earlier = {k: v for k, v in card_map.to_dict().items() if k != "class_offsets"}
    assert MarginMap.from_dict(earlier).class_offsets is None  # a card from before offsets
    with pytest.raises(ValueError, match="needs the records' labels"):
        card_map.predict(features)
    with pytest.raises(ValueError, match=r"one class index in \[0, 2\)"):
        card_map.predict(features, np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="one class index"):
        card_map.predict(features, np.array([0, 1]))
    with pytest.raises(ValueError, match="integer class indices"):  # 0.9 is no class
        card_map.predict(features, np.array([0.9, 0.0, 1.0]))
    # a map from before the offsets writes none (its record reads as it did)
    assert "class_offsets" not in _map().to_dict()


def test_the_map_fit_recovers_a_class_offset(world):
    """Margins that are an exact affine function of the features, 3 logits less for class 1
    and 1.5 more for class 2: least squares gives back the weights, intercept and offsets."""
    model, members = world.model.eval(), world.table.members()
    x, y = members.inputs(), members.labels()
    smoothed = torch.linspace(-2.0, 2.0, len(x))
    features = map_features(model, x, y, smoothed)
    weights = np.array([0.5, 1.0, -0.25, 0.75])
    assert world.table.num_classes == 3
    scaled = features @ weights + 1.0 - 3.0 * (y.numpy() == 1) + 1.5 * (y.numpy() == 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # every class is there: no warning
        fitted = _margin_map(model, x, y, smoothed, scaled, seed=0, num_classes=3)
    assert fitted.weights == pytest.approx(weights, abs=1e-3)
    assert fitted.intercept == pytest.approx(1.0, abs=1e-3)
    assert fitted.class_offsets == pytest.approx((0.0, -3.0, 1.5), abs=1e-3)
    assert fitted.predict(features, y.numpy()) == pytest.approx(scaled, abs=1e-2)
    assert fitted.imputed_classes == () and "imputed_classes" not in fitted.to_dict()


@pytest.mark.parametrize("absent", [0, 2])
def test_a_class_without_members_in_the_map_fit_gets_the_mean_level_and_a_warning(world, absent):
    """The members the map is fitted on hold no record of class ``absent``: least squares
    cannot see its offset, so the fit gives it the other classes' mean level (weighted by
    their counts) and says so, rather than silently the first class's level."""
    model, members = world.model.eval(), world.table.members()
    x, y = members.inputs(), members.labels()
    first_present = 1 if absent == 0 else 0  # keep a third of it: clearly unequal counts
    within = torch.cumsum((y == first_present).long(), 0)  # its records' running count
    thinned = (y == first_present) & (within % 3 != 0)
    keep = (y != absent) & ~thinned
    x, y = x[keep], y[keep]
    smoothed = torch.linspace(-2.0, 2.0, len(x))
    features = map_features(model, x, y, smoothed)
    weights = np.array([0.5, 1.0, -0.25, 0.75])
    level = np.array([1.0, -2.0, 2.5])
    scaled = features @ weights + level[y.numpy()]
    with pytest.warns(RuntimeWarning,
                      match=rf"without a record of class\(es\) \[{absent}\]") as caught:
        fitted = _margin_map(model, x, y, smoothed, scaled, seed=0, num_classes=3)
    assert caught[0].filename == __file__  # the caller's line, not the package's
    counts = np.bincount(y.numpy(), minlength=3)
    expected = level.copy()
    expected[absent] = np.average(level, weights=counts)
    present = np.flatnonzero(counts)
    assert abs(expected[absent] - level[present].mean()) > 0.1  # weighting is what is tested
    assert fitted.weights == pytest.approx(weights, abs=1e-3)
    predicted = fitted.predict(np.repeat(features[:1], 3, 0), np.arange(3))
    assert predicted - predicted[0] == pytest.approx(expected - expected[0], abs=1e-3)
    assert fitted.class_offsets[0] == 0.0
    assert fitted.imputed_classes == (absent,)  # the card says which offset is not fitted
    assert MarginMap.from_dict(fitted.to_dict()) == fitted
    assert fitted.predict(features, y.numpy()) == pytest.approx(scaled, abs=1e-2)


def test_the_unseen_profile_fits_a_margin_map_on_the_members(world):
    table, model = world.table, world.model
    profile = unseen_profile(model, table, folds=3, repeats=1, seed=4)
    card_map = profile.margin_map
    assert card_map is not None and card_map.features == MAP_FEATURES
    assert unseen_profile(model, table, folds=3, repeats=1, seed=4).margin_map == card_map
    members = table.members()
    x, y = members.inputs(), members.labels()
    teacher = copy.deepcopy(model).eval()
    smoothed = true_class_margin(smoothed_logits(
        teacher, x, profile.smoothing_sigma, table.input_space,
        torch.Generator().manual_seed(4), profile.smoothing_draws), y)
    assert card_map.class_offsets is not None
    assert len(card_map.class_offsets) == table.num_classes
    mapped = card_map.predict(map_features(teacher, x, y, smoothed), y.numpy())
    # least squares with an intercept: on the members the map averages what it was fitted
    # to, the members' unseen margins at uniform ranks of the profile
    assert mapped.mean() == pytest.approx(np.mean(profile.margins), abs=0.1 * np.std(mapped))
    assert np.quantile(mapped, 0.5) == pytest.approx(card_map.mapped_margins[49],
                                                     abs=0.1 * np.std(mapped))


def test_targets_read_the_margin_map_a_quarter_of_the_way_towards_the_profiles_spread():
    margins = tuple(np.linspace(-6.0, 12.0, 99))
    profile = UnseenProfile(margins, 0.5, tuple(LEVELS), 16, margin_map=_map())
    features = np.array([[9.0, -10.0, 0.0, 0.0], [9.0, 5.0, 1.0, 1.0], [0.0, 20.0, 0.0, 0.0]])
    spread = np.interp((features[:, 1] + 10.0) / 30.0 * 0.98 + 0.01, PROFILE_LEVELS, margins)
    mapped = features[:, 1]  # weights (0, 1, 0, 0): the smoothed margin
    expected = mapped + MAP_SPREAD * (spread - mapped) - DRIFT_ALLOWANCE
    got = _profile_targets(profile, np.zeros(3), features)
    assert got == pytest.approx(expected)
    # with class offsets each record's mapped margin moves by its class's offset first
    offset = UnseenProfile(margins, 0.5, tuple(LEVELS), 16, margin_map=_map(offsets=(0.0, -4.0)))
    labels = np.array([1, 0, 1])
    moved = mapped - 4.0 * labels
    at_rank = np.interp((moved + 10.0) / 30.0 * 0.98 + 0.01, PROFILE_LEVELS, margins)
    assert _profile_targets(offset, np.zeros(3), features, labels) == pytest.approx(
        moved + MAP_SPREAD * (at_rank - moved) - DRIFT_ALLOWANCE)
    # without features (or without a map) the smoothed margin's rank is read, as before
    assert _profile_targets(profile, features[:, 1]) == pytest.approx(spread - DRIFT_ALLOWANCE)


def test_shifted_targets_compute_the_features_the_map_reads():
    credit = load_sample("credit")
    table, teacher = credit.records, credit.model.eval()
    ids = table.members().ids[:20]
    x, y = table.inputs(ids), table.labels(ids)
    card_map = _map((0.25, 0.5, -1.0, 1.0), 0.5)
    profile = UnseenProfile(tuple(np.linspace(-6.0, 12.0, 99)), 0.5, tuple(LEVELS), 16,
                            margin_map=card_map)
    targets = true_class_margin(shifted_targets(teacher, x, y, 9.9, table.input_space,
                                                torch.Generator().manual_seed(3), 0.75,
                                                profile).log(), y)
    smoothed = true_class_margin(smoothed_logits(teacher, x, 0.5, table.input_space,
                                                 torch.Generator().manual_seed(3), 16), y)
    features = map_features(teacher, x, y, smoothed)
    assert targets.numpy() == pytest.approx(_profile_targets(profile, smoothed.numpy(),
                                                             features), abs=1e-3)
    # a map with class offsets reads each record's label
    offsets = UnseenProfile(profile.margins, 0.5, tuple(LEVELS), 16,
                            margin_map=_map((0.25, 0.5, -1.0, 1.0), 0.5, offsets=(0.0, -3.0)))
    with_labels = true_class_margin(shifted_targets(teacher, x, y, 9.9, table.input_space,
                                                    torch.Generator().manual_seed(3), 0.75,
                                                    offsets).log(), y)
    assert with_labels.numpy() == pytest.approx(
        _profile_targets(offsets, smoothed.numpy(), features, y.numpy()), abs=1e-3)
    assert with_labels.numpy() != pytest.approx(targets.numpy(), abs=0.5)
    three = UnseenProfile(profile.margins, 0.5, tuple(LEVELS), 16,
                          margin_map=_map((0.25, 0.5, -1.0, 1.0), 0.5, offsets=(0.0, 1.0, 2.0)))
    with pytest.raises(ValueError, match="3 class offsets for a model of 2 classes.*re-pack"):
        shifted_targets(teacher, x, y, 9.9, table.input_space, torch.Generator(), 0.75, three)
    renamed = MarginMap(("margin", "a", "b", "c"), card_map.weights, 0.5, tuple(LEVELS),
                        card_map.lower, card_map.upper)
    other = UnseenProfile(profile.margins, 0.5, tuple(LEVELS), 16, margin_map=renamed)
    with pytest.raises(ValueError, match="re-pack the model with `workbench pack --unseen"):
        shifted_targets(teacher, x, y, 9.9, table.input_space, torch.Generator(), 0.75, other)


@pytest.mark.parametrize("name", ["clinic", "credit"])
def test_the_shipped_tabular_cards_carry_a_margin_map(name):
    profile = load_sample(name).records.reported_unseen_profile
    assert profile is not None and profile.margin_map is not None
    assert profile.margin_map.features == MAP_FEATURES
    assert profile.margin_map.class_offsets is not None
    assert len(profile.margin_map.class_offsets) == load_sample(name).records.num_classes

