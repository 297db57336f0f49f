"""Per-example epsilon and the forget score F (NeurIPS 2023 unlearning challenge)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from audit_toys import forget_ids, toy_model, toy_table

from workbench.audit import (
    EpsilonEstimate,
    TrainingOptions,
    estimate_epsilon,
    forget_score,
    per_example_epsilon,
)
from workbench.audit.epsilon import (
    DELTA,
    EPSILON_CAP,
    bucket_points,
    example_epsilon,
    original_models,
)
from workbench.hashing import weights_sha256

torch.set_num_threads(1)


def test_a_hand_computed_example():
    # Best rule: "retrained above 3" (or the interval [0, 2] for the peakier unlearned side):
    # FPR = FNR = 1/4, so epsilon = log((1 - delta - 1/4) / (1/4)).
    eps = example_epsilon(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.5, 4.0, 5.0, 6.0]))
    assert eps == pytest.approx(math.log((0.75 - DELTA) / 0.25), abs=1e-12)


def test_perfect_separation_and_peaky_unlearning_hit_the_cap():
    u = np.arange(8.0)
    assert example_epsilon(u, u + 100.0) == EPSILON_CAP
    assert example_epsilon(np.full(8, 2.0) + np.arange(8) * 1e-6, u) == EPSILON_CAP
    assert example_epsilon(np.full(8, 2.0), np.full(8, 3.0)) == EPSILON_CAP
    assert example_epsilon(np.full(8, 2.0), np.full(8, 2.0)) == 0.0


def test_indistinguishable_models_score_better_than_distinguishable_ones():
    # Even identical distributions give epsilon around log 5 at small N: the sweep over
    # thresholds finds chance tails (the challenge's metric is as harsh; hence "small-N").
    rng = np.random.default_rng(0)
    same = per_example_epsilon(rng.normal(size=(16, 200)), rng.normal(size=(16, 200)))
    nearer = per_example_epsilon(rng.normal(size=(16, 200)) + 1.0, rng.normal(size=(16, 200)))
    apart = per_example_epsilon(rng.normal(size=(16, 200)) + 4.0, rng.normal(size=(16, 200)))
    assert np.median(same) < np.median(nearer) < np.median(apart) == EPSILON_CAP
    assert forget_score(same, 16) > forget_score(nearer, 16) > 2 * forget_score(apart, 16)
    below = per_example_epsilon(rng.normal(size=(16, 50)) - 4.0, rng.normal(size=(16, 50)))
    assert np.median(below) == EPSILON_CAP  # over-forgetting is just as distinguishable


def test_buckets_follow_the_number_of_models():
    assert bucket_points(8) == (1.0, 0.5, 0.25, 0.125)  # ceil(log 7) = 2
    assert len(bucket_points(512)) == 14  # ceil(log 511) = 7
    eps = np.array([0.2, 0.7, 1.2, 1.7, 2.0, 50.0])
    assert forget_score(eps, 8) == pytest.approx((1 + 0.5 + 0.25 + 0.125) / 6)


@pytest.mark.parametrize("u, r, match", [
    (np.zeros((4, 3)), np.zeros((4, 2)), "same examples"),
    (np.zeros(4), np.zeros(4), "same examples"),
    (np.zeros((2, 3)), np.zeros((2, 3)), "at least 3 models"),
])
def test_bad_shapes_are_refused(u, r, match):
    with pytest.raises(ValueError, match=match):
        per_example_epsilon(u, r)


def test_estimate_epsilon_draws_both_sides_from_training_randomness(tmp_path):
    table = toy_table(160)
    model = toy_model(table)
    forget = table.select(ids=forget_ids(table, 8))
    estimate = estimate_epsilon(model, forget, method="finetune", n_models=4, seed=0,
                                training=TrainingOptions(cache_dir=tmp_path))
    originals = original_models(model, table, count=4, cache_dir=tmp_path)
    hashes = {weights_sha256(m) for m in originals}
    assert len(hashes) == 4 and weights_sha256(model) not in hashes  # retrained from scratch
    assert (tmp_path / "originals").is_dir() and (tmp_path / "gold-standard").is_dir()
    assert estimate.record_ids == tuple(sorted(forget.ids, key=table.ids.index))
    assert len(estimate.epsilons) == 8 and all(0 <= e <= EPSILON_CAP for e in estimate.epsilons)
    assert 0.0 <= estimate.forget_score <= 1.0 and estimate.small_n
    assert "small-N estimate from 4 originals" in estimate.note
    assert estimate.final_score == pytest.approx(
        estimate.forget_score * estimate.retain_accuracy_ratio * estimate.test_accuracy_ratio)
    assert EpsilonEstimate.from_dict(json.loads(json.dumps(estimate.to_dict()))) == estimate
    again = estimate_epsilon(model, forget, method="finetune", n_models=4, seed=0,
                             training=TrainingOptions(cache_dir=tmp_path / "fresh"))
    assert again == estimate
    with pytest.raises(ValueError, match="at least 4 models"):
        estimate_epsilon(model, forget, n_models=3)
