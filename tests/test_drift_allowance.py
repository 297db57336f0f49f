"""The card's drift allowance: how far ``synthetic`` lowers held-out margins, measured once by
the owner, and how the targets read it."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pytest
import torch

from workbench.card import MarginMap, UnseenProfile
from workbench.hashing import weights_sha256
from workbench.margin_features import MAP_FEATURES
from workbench.metrics import true_class_margin, unseen_profile
from workbench.samples import load_sample
from workbench.training import predict_logits
from workbench.unlearn.synthetic_card import measure_drift, with_drift_allowance
from workbench.unlearn.synthetic_data import DRIFT_ALLOWANCE, _profile_targets
from workbench.unlearn.tiny import build_tiny_world

LEVELS = tuple(np.linspace(-10.0, 20.0, 99))
MARGINS = tuple(np.linspace(-6.0, 12.0, 99))


@pytest.fixture(scope="module")
def world():
    return build_tiny_world()


@pytest.fixture(scope="module")
def profile(world):
    return unseen_profile(world.model, world.table, folds=3, repeats=1, seed=4)


def test_the_allowance_round_trips_and_an_earlier_card_has_none():
    card = UnseenProfile(MARGINS, 0.5, LEVELS, 16, drift_allowance=0.25)
    data = json.loads(json.dumps(card.to_dict()))
    assert data["drift_allowance"] == 0.25
    assert UnseenProfile.from_dict(data) == card
    del data["drift_allowance"]
    assert UnseenProfile.from_dict(data).drift_allowance is None
    assert "drift_allowance" not in UnseenProfile(MARGINS, 0.5, LEVELS, 16).to_dict()


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_a_negative_or_non_finite_allowance_is_refused(bad):
    with pytest.raises(ValueError, match="drift_allowance must be a finite number"):
        UnseenProfile(MARGINS, 0.5, LEVELS, 16, drift_allowance=bad)


def test_targets_sit_the_cards_allowance_below_the_profile_or_the_default_without_one():
    smoothed = np.array([-3.0, 2.0, 9.0])
    without = _profile_targets(UnseenProfile(MARGINS, 0.5, LEVELS, 16), smoothed)
    carded = _profile_targets(UnseenProfile(MARGINS, 0.5, LEVELS, 16, drift_allowance=0.1),
                              smoothed)
    assert carded == pytest.approx(without + DRIFT_ALLOWANCE - 0.1)
    none = _profile_targets(UnseenProfile(MARGINS, 0.5, LEVELS, 16, drift_allowance=0.0),
                            smoothed)
    assert none == pytest.approx(without + DRIFT_ALLOWANCE)


def test_the_margin_maps_targets_read_the_allowance_too():
    card_map = MarginMap(MAP_FEATURES, (0.0, 1.0, 0.0, 0.0), 0.0, LEVELS, (-50.0,) * 4,
                         (50.0,) * 4)
    features = np.array([[9.0, -10.0, 0.0, 0.0], [9.0, 5.0, 1.0, 1.0]])
    default = _profile_targets(UnseenProfile(MARGINS, 0.5, LEVELS, 16, margin_map=card_map),
                               np.zeros(2), features)
    carded = _profile_targets(UnseenProfile(MARGINS, 0.5, LEVELS, 16, margin_map=card_map,
                                            drift_allowance=1.5), np.zeros(2), features)
    assert carded == pytest.approx(default + DRIFT_ALLOWANCE - 1.5)


def test_image_cards_are_left_without_an_allowance(profile, monkeypatch):
    monkeypatch.setattr("workbench.unlearn.synthetic_card.measure_drift",
                        lambda *args, **kwargs: pytest.fail("measured on images"))
    digits = load_sample("digits")
    assert with_drift_allowance(digits.model, digits.records, profile) is profile


def test_measuring_the_drift_is_seeded_and_leaves_model_and_table_as_they_were(world, profile):
    model, table = world.model, world.table
    weights, card = weights_sha256(model), table.card
    first = measure_drift(model, table, profile, requests=2, seed=3)
    assert np.isfinite(first)
    assert measure_drift(model, table, profile, requests=2, seed=3) == first
    assert measure_drift(model, table, profile, requests=2, seed=4) != first
    assert weights_sha256(model) == weights and table.card is card


def _halved_head(model):
    """A copy of ``model`` whose last layer's weights and bias are halved."""
    halved = copy.deepcopy(model)
    with torch.no_grad():
        for p in list(halved.parameters())[-2:]:
            p.mul_(0.5)
    return halved


class _Erased(NamedTuple):
    model: torch.nn.Module

    def require_model(self):
        return self.model


def test_the_measured_drift_is_the_mean_lowering_of_held_out_margins(world, profile,
                                                                     monkeypatch):
    calls = []

    def stand_in(model, forget, **kwargs):  # an erasure that halves the last layer
        calls.append((len(forget), kwargs["params"], forget.table.reported_unseen_profile,
                      forget.table.reported_test_accuracy))
        return _Erased(_halved_head(model))

    monkeypatch.setattr("workbench.unlearn.api.unlearn_model", stand_in)
    table = world.table
    held_out = table.held_out()
    x, y = held_out.inputs(), held_out.labels()
    margins = [true_class_margin(predict_logits(m, x), y)
               for m in (world.model, _halved_head(world.model))]
    expected = float((margins[0] - margins[1]).mean())
    carded = replace(profile, drift_allowance=0.9)
    measured = measure_drift(world.model, table, carded, requests=3, fraction=0.1,
                             test_accuracy=0.625)
    assert measured == pytest.approx(expected, abs=1e-4) and measured != 0
    size = max(1, round(0.1 * len(table.members())))
    # each erasure reads the profile being measured, with the default allowance, and the
    # accuracy the card will report
    assert calls == [(size, {"target": "shifted"}, profile, 0.625)] * 3
    calls.clear()
    measure_drift(world.model, table, carded, requests=1)
    assert calls[0][3] == table.reported_test_accuracy


def test_a_negative_measurement_is_reported_as_zero(world, profile, monkeypatch):
    monkeypatch.setattr("workbench.unlearn.synthetic_card.measure_drift",
                        lambda *args, **kwargs: -0.3)
    assert with_drift_allowance(world.model, world.table, profile).drift_allowance == 0.0


@pytest.mark.parametrize("requests, fraction", [(0, 0.05), (2, 0.0), (2, 1.0)])
def test_bad_measurement_settings_are_refused(world, profile, requests, fraction):
    with pytest.raises(ValueError, match="requests >= 1 and 0 < fraction"):
        measure_drift(world.model, world.table, profile, requests=requests, fraction=fraction)


@pytest.mark.parametrize("name", ["clinic", "credit"])
def test_the_shipped_tabular_cards_carry_a_measured_allowance(name):
    profile = load_sample(name).records.reported_unseen_profile
    assert profile is not None and profile.drift_allowance is not None
    assert 0.0 < profile.drift_allowance < 2.0
