"""Stage 3 of the membership audit: ROC metrics against scikit-learn, planted answers, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from workbench.audit.metrics import (
    ROC_POINTS,
    AttackMetrics,
    attack_metrics,
    bootstrap_weights,
    roc_auc,
    roc_curve,
    thin_roc,
    tpr_at_fpr,
)


def random_case(rng: np.random.Generator, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(10, 2500))
    member = rng.random(n) < rng.uniform(0.05, 0.95)
    member[:2] = [True, False]
    scores = rng.normal(size=n) + member * rng.uniform(0.0, 2.0)
    return (np.round(scores, 1) if ties else scores), member


@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_and_tpr_at_fpr_match_scikit_learn(ties):
    rng = np.random.default_rng(int(ties))
    for _ in range(40):
        scores, member = random_case(rng, ties)
        assert roc_auc(scores, member) == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
        fpr_sk, tpr_sk, _ = sk_roc_curve(member, scores, drop_intermediate=False)
        fpr, tpr = roc_curve(scores, member)
        np.testing.assert_allclose(fpr, fpr_sk, atol=1e-12)
        np.testing.assert_allclose(tpr, tpr_sk, atol=1e-12)
        for target in (0.001, 0.01, 0.1):
            assert tpr_at_fpr(scores, member, target) == tpr_sk[fpr_sk <= target].max()


def test_attack_metrics_point_values_match_scikit_learn():
    scores, member = random_case(np.random.default_rng(5), ties=False)
    m = attack_metrics(scores, member, n_bootstrap=200, seed=0)
    fpr, tpr, _ = sk_roc_curve(member, scores, drop_intermediate=False)
    assert m.auc == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    assert m.tpr_at_1pct_fpr == tpr[fpr <= 0.01].max()
    assert m.tpr_at_01pct_fpr == tpr[fpr <= 0.001].max()
    assert m.balanced_accuracy == pytest.approx(np.max(1 - (fpr + (1 - tpr)) / 2))
    assert (m.n_members, m.n_non_members) == (int(member.sum()), int((~member).sum()))
    assert m.min_resolvable_fpr == pytest.approx(1 / m.n_non_members)
    for name in ("auc", "balanced_accuracy", "tpr_at_1pct_fpr"):
        low, high = getattr(m, f"{name}_ci")
        assert low <= getattr(m, name) <= high


def test_a_memorising_model_gives_auc_near_one():
    rng = np.random.default_rng(0)
    member = np.r_[np.ones(300, bool), np.zeros(300, bool)]
    loss = np.where(member, rng.exponential(0.001, 600), rng.exponential(1.0, 600) + 0.05)
    m = attack_metrics(-loss, member, seed=0)
    assert m.auc == 1.0 and m.tpr_at_1pct_fpr == 1.0 and m.balanced_accuracy == 1.0
    assert m.auc_ci == pytest.approx((1.0, 1.0))


def test_identical_distributions_give_auc_one_half_within_the_interval():
    covered = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        member = rng.random(800) < 0.3
        m = attack_metrics(rng.normal(size=800), member, n_bootstrap=400, seed=seed)
        assert abs(m.auc - 0.5) < 0.08
        covered += m.auc_ci[0] <= 0.5 <= m.auc_ci[1]
    assert covered >= 17  # a 95% interval should miss about 1 time in 20


def test_constant_scores_are_a_coin_flip():
    member = np.r_[np.ones(10, bool), np.zeros(30, bool)]
    m = attack_metrics(np.zeros(40), member, n_bootstrap=100)
    assert m.auc == 0.5 and m.tpr_at_1pct_fpr == 0.0 and m.balanced_accuracy == 0.5


def test_bootstrap_is_seeded_and_stratified():
    member = np.r_[np.ones(7, bool), np.zeros(13, bool)]
    a, b = bootstrap_weights(member, 50, 3), bootstrap_weights(member, 50, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, bootstrap_weights(member, 50, 4))
    np.testing.assert_array_equal(a[:, member].sum(axis=1), 7)
    np.testing.assert_array_equal(a[:, ~member].sum(axis=1), 13)
    scores = np.random.default_rng(0).normal(size=20) + member
    assert attack_metrics(scores, member, seed=1) == attack_metrics(scores, member, seed=1)
    assert attack_metrics(scores, member, seed=1) != attack_metrics(scores, member, seed=2)


def test_roc_is_thinned_for_plots_but_keeps_both_ends_and_the_low_fpr_corner():
    rng = np.random.default_rng(2)
    member = rng.random(20_000) < 0.5
    fpr, tpr = roc_curve(rng.normal(size=20_000) + member, member)
    thin_fpr, thin_tpr = thin_roc(fpr, tpr)
    assert len(thin_fpr) <= ROC_POINTS + 2
    assert (thin_fpr[0], thin_tpr[0]) == (0.0, 0.0) and (thin_fpr[-1], thin_tpr[-1]) == (1.0, 1.0)
    assert min(f for f in thin_fpr if f > 0) < 1e-3
    assert list(thin_fpr) == sorted(thin_fpr) and list(thin_tpr) == sorted(thin_tpr)


def test_metrics_round_trip_through_json():
    import json

    scores, member = random_case(np.random.default_rng(9), ties=True)
    m = attack_metrics(scores, member, n_bootstrap=100)
    assert AttackMetrics.from_dict(json.loads(json.dumps(m.to_dict()))) == m


@pytest.mark.parametrize("scores, member, match", [
    ([0.1, 0.2], [True, True], "at least one member and one non-member"),
    ([0.1, np.nan], [True, False], "NaN"),
    ([0.1, 0.2, 0.3], [True, False], "same length"),
])
def test_bad_input_is_refused(scores, member, match):
    with pytest.raises(ValueError, match=match):
        attack_metrics(np.array(scores), np.array(member))


def test_too_few_bootstrap_samples_are_refused():
    with pytest.raises(ValueError, match="n_bootstrap"):
        attack_metrics(np.array([0.0, 1.0]), np.array([False, True]), n_bootstrap=10)


def test_binomial_two_sided_matches_exact_tails():
    from workbench.audit.sets import binomial_two_sided
    assert binomial_two_sided(10, 10, 0.5) == pytest.approx(2 * 0.5 ** 10)
    assert binomial_two_sided(0, 10, 0.5) == pytest.approx(2 * 0.5 ** 10)
    assert binomial_two_sided(5, 10, 0.5) == 1.0
    # P(X >= 9) for X ~ Bin(11, 0.25), doubled
    tail = sum(math.comb(11, k) * 0.25 ** k * 0.75 ** (11 - k) for k in (9, 10, 11))
    assert binomial_two_sided(9, 11, 0.25) == pytest.approx(2 * tail)


def test_weighted_auc_matches_scikit_learn_sample_weights():
    rng = np.random.default_rng(3)
    scores = np.round(rng.normal(size=300), 1)  # ties
    member = rng.random(300) < 0.3
    weights = rng.choice([0.0, 0.5, 2.0], size=300)
    weights[member] = 1.0
    expected = roc_auc_score(member, scores, sample_weight=weights)
    assert roc_auc(scores, member, weights) == pytest.approx(expected, abs=1e-12)
    metrics = attack_metrics(scores, member, n_bootstrap=200, weights=weights)
    assert metrics.auc == pytest.approx(expected, abs=1e-12)
    assert np.isfinite(metrics.auc_ci).all()


def test_weighted_bootstrap_keeps_each_weight_group_whole():
    member = np.r_[np.ones(5, bool), np.zeros(12, bool)]
    weights = np.r_[np.ones(5), np.full(10, 0.2), np.full(2, 4.0)]  # 2 rare, heavy records
    boot = bootstrap_weights(member, 500, 0, weights)
    assert np.allclose(boot[:, 15:].sum(1), 8.0)  # always two draws of the heavy group
    assert np.allclose(boot[:, 5:15].sum(1), 2.0) and np.allclose(boot[:, :5].sum(1), 5.0)
    assert np.array_equal(bootstrap_weights(member, 500, 0), bootstrap_weights(member, 500, 0))


def test_upper_quantile_leaves_the_asked_share_above():
    from workbench.audit.metrics import upper_quantile
    values = np.arange(100.0)
    assert upper_quantile(values, 0.95) == 94.0  # 5 of 100 values lie above it
    assert (values > upper_quantile(values, 0.95)).mean() == pytest.approx(0.05)
    weights = np.r_[np.zeros(50), np.ones(50)]  # only 50..99 count
    assert upper_quantile(values, 0.9, weights) == 94.0


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_auc_is_the_bootstrap_stats_auc(ties):
    from workbench.audit.metrics import bootstrap_auc, bootstrap_stats, bootstrap_weights

    rng = np.random.default_rng(3)
    scores = rng.normal(size=400)
    scores = np.round(scores, 1) if ties else scores
    member = rng.random(400) < 0.2
    weights = bootstrap_weights(member, 300, 1, np.where(member, 1.0, rng.random(400) + 0.5))
    assert np.allclose(bootstrap_auc(scores, member, weights),
                       bootstrap_stats(scores, member, weights)["auc"], atol=1e-6)
