"""Stages 1 and 2 of the membership audit: signals and attack scores, on planted cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from audit_toys import toy_model, toy_table
from torch.nn import functional as F

from workbench.audit import AttackOptions, ShadowSignals, Signals, attack_scores, record_signals
from workbench.audit.attacks import (
    RMIA_A_GRID,
    lira_attack,
    loss_attack,
    rmia_attack,
    rmia_ratio,
    tune_rmia_a,
)
from workbench.audit.metrics import roc_auc
from workbench.audit.shadow import membership_masks
from workbench.models import TabularMLP

torch.set_num_threads(1)


def make_signals(logits, labels) -> Signals:
    logits = torch.as_tensor(logits, dtype=torch.float32)
    return Signals.from_logits(tuple(f"r{i}" for i in range(len(logits))), logits,
                               torch.as_tensor(labels))


def test_signals_follow_their_definitions():
    logits = torch.randn(50, 3, generator=torch.Generator().manual_seed(0)) * 3
    labels = torch.randint(0, 3, (50,), generator=torch.Generator().manual_seed(1))
    s = make_signals(logits, labels)
    p = F.softmax(logits.double(), dim=1)[torch.arange(50), labels].numpy()
    np.testing.assert_allclose(s.confidence, p, rtol=1e-10)
    np.testing.assert_allclose(s.scaled_confidence, np.log(p) - np.log1p(-p), rtol=1e-9)
    np.testing.assert_allclose(s.loss, F.cross_entropy(logits.double(), labels,
                                                       reduction="none").numpy(), rtol=1e-10)
    np.testing.assert_array_equal(s.predicted, logits.argmax(1).numpy())
    assert s.num_classes == 3 and len(s) == 50
    part = s.take(np.array([3, 1]))
    assert part.ids == ("r3", "r1") and part.loss[0] == s.loss[3]


def test_logit_scaled_confidence_is_stable_for_confident_models():
    s = make_signals([[60.0, -60.0], [-60.0, 60.0]], [0, 0])
    assert s.scaled_confidence.tolist() == [120.0, -120.0]
    assert np.isfinite(s.loss).all()


@pytest.mark.parametrize("logits, match", [
    (torch.zeros(3, 1), "C >= 2"), (torch.tensor([[0.0, float("nan")]] * 3), "non-finite")])
def test_bad_logits_are_refused(logits, match):
    with pytest.raises(ValueError, match=match):
        Signals.from_logits(("a", "b", "c"), logits, torch.zeros(3, dtype=torch.int64))


def test_signals_refuse_a_model_that_does_not_fit_the_records():
    table = toy_table(40)
    with pytest.raises(ValueError, match="features do not fit the model"):
        record_signals(TabularMLP(5, 2, (8,)), table, name="the model")
    with pytest.raises(ValueError, match="has 2 classes"):
        record_signals(TabularMLP(4, 3, (8,)), table)
    with pytest.raises(ValueError, match="torch.nn.Module"):
        record_signals("not a model", table)


def test_signals_of_a_record_set_are_in_its_order():
    table = toy_table(40)
    model = toy_model(table)
    held = table.held_out()
    s = record_signals(model, held)
    whole = record_signals(model, table)
    assert s.ids == held.ids
    np.testing.assert_allclose(s.loss, whole.take(table.positions(held.ids)).loss)


def planted(seed: int = 0, k: int = 8, n: int = 400):
    """Records whose typical confidence varies a lot; members sit 2.5 sd above their OUT mean."""
    rng = np.random.default_rng(seed)
    member_of_target = rng.random(n) < 0.5
    mu = rng.normal(0.0, 3.0, n)  # per-record difficulty swamps the membership signal
    ref_phi = mu + rng.normal(0.0, 1.0, (k, n))
    mask = membership_masks(n, k, seed)
    ref_phi = np.where(mask, ref_phi + 2.5, ref_phi)
    target_phi = mu + rng.normal(0.0, 1.0, n) + 2.5 * member_of_target
    to_conf = lambda phi: 1.0 / (1.0 + np.exp(-phi))  # noqa: E731
    logits = np.stack([target_phi, np.zeros(n)], axis=1)
    target = make_signals(logits, np.zeros(n, dtype=np.int64))
    reference = ShadowSignals(to_conf(ref_phi), ref_phi, mask)
    return target, reference, member_of_target


def test_lira_and_rmia_see_through_per_record_difficulty_that_fools_loss():
    target, reference, member = planted()
    loss_auc = roc_auc(loss_attack(target), member)
    lira_auc = roc_auc(lira_attack(target, reference), member)
    rmia = rmia_attack(target, reference, population=np.flatnonzero(~member), a=1.0)
    assert loss_auc < 0.75
    assert lira_auc > 0.9 and roc_auc(rmia, member) > loss_auc + 0.05
    per_record = lira_attack(target, reference, fixed_variance=False)
    assert roc_auc(per_record, member) > 0.85


def test_rmia_score_is_a_share_of_the_population_and_monotone_in_the_ratio():
    target, reference, member = planted(1)
    population = np.flatnonzero(~member)
    scores = rmia_attack(target, reference, population=population, a=0.5)
    ratio = rmia_ratio(target.confidence, reference, 0.5)
    assert scores.min() >= 0 and scores.max() <= 1
    order = np.argsort(ratio)
    assert (np.diff(scores[order]) >= 0).all()
    stricter = rmia_attack(target, reference, population=population, a=0.5, gamma=2.0)
    assert (stricter <= scores).all()


def test_rmia_a_is_tuned_on_reference_models_alone():
    target, reference, _ = planted(2)
    a = tune_rmia_a(reference)
    assert a in RMIA_A_GRID
    two = ShadowSignals(reference.confidence[:2], reference.scaled_confidence[:2],
                           membership_masks(reference.member.shape[1], 2, 0))
    assert tune_rmia_a(two) is None


def test_offline_attacks_need_out_models_for_every_record():
    target, reference, member = planted(3, k=2)
    with pytest.raises(ValueError, match="at least 2 OUT"):
        lira_attack(target, reference)
    all_in = ShadowSignals(reference.confidence, reference.scaled_confidence,
                              np.ones_like(reference.member))
    with pytest.raises(ValueError, match="OUT of at least one"):
        rmia_attack(target, all_in, population=np.arange(5))
    with pytest.raises(ValueError, match="population"):
        rmia_attack(target, reference, population=np.array([], dtype=int))


def test_attack_scores_dispatches_by_name_and_checks_its_inputs():
    target, reference, member = planted(4)
    options = AttackOptions(population=np.flatnonzero(~member))
    np.testing.assert_array_equal(attack_scores("loss", target), -target.loss)
    np.testing.assert_array_equal(attack_scores("lira", target, reference, options),
                                  lira_attack(target, reference))
    with pytest.raises(ValueError, match="unknown attack"):
        attack_scores("shokri", target)
    with pytest.raises(ValueError, match="needs shadow models"):
        attack_scores("rmia", target, None, options)
    with pytest.raises(ValueError, match="same records"):
        attack_scores("lira", target.take(np.arange(10)), reference, options)


def test_membership_masks_split_every_record_in_half():
    mask = membership_masks(101, 6, seed=3)
    assert mask.shape == (6, 101)
    np.testing.assert_array_equal(mask.sum(axis=0), 3)
    assert abs(mask.sum(axis=1) - 50.5).max() < 15
    np.testing.assert_array_equal(mask, membership_masks(101, 6, seed=3))
    assert not np.array_equal(mask, membership_masks(101, 6, seed=4))
    for bad in (1, 3):
        with pytest.raises(ValueError, match="even number"):
            membership_masks(10, bad, 0)


def test_membership_masks_follow_a_small_member_fraction():
    mask = membership_masks(1000, 4, seed=0, in_fraction=0.1)
    sizes = mask.sum(axis=1)
    assert np.all((sizes >= 95) & (sizes <= 100))  # each model trains on about 10%
    assert np.all((~mask).sum(axis=0) >= 2)  # every record has two OUT models (LiRA)
    np.testing.assert_array_equal(mask, membership_masks(1000, 4, seed=0, in_fraction=0.1))
    # a large fraction would leave records IN (nearly) every model; they are taken out
    assert np.all((~membership_masks(50, 2, seed=1, in_fraction=0.9)).sum(axis=0) >= 1)
    assert np.all((~membership_masks(50, 6, seed=1, in_fraction=0.9)).sum(axis=0) >= 2)
    # near one half the balanced design (and so every cached entry) is unchanged
    np.testing.assert_array_equal(membership_masks(101, 6, 3, in_fraction=0.52),
                                  membership_masks(101, 6, 3))
    with pytest.raises(ValueError, match="in_fraction"):
        membership_masks(10, 2, 0, in_fraction=1.0)
