"""The decision rule: equivalence bands, yardsticks, power, small requests, calibration."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from workbench.audit import Verdict, VerdictConfig
from workbench.audit.checks import CheckSpec, run_check, verdicts
from workbench.audit.sets import AuditSets
from workbench.audit.verdict import (
    COLLATERAL,
    ERASURE,
    FAIL,
    GOLD,
    INCONCLUSIVE,
    LOWER,
    NON_MEMBERS,
    PASS,
    TWO_SIDED,
    UPPER,
    UTILITY,
    Yardstick,
    band,
    decide,
    group_status,
    overall_status,
)
from workbench.audit.yardsticks import Comparison, ensemble_yardstick, pair_yardstick

CONFIG = VerdictConfig()
Z_BAND = CONFIG.band_z(TWO_SIDED)  # 2.576
Z_CI = CONFIG.interval_z  # 1.645


def stick(target=0.5, spread=0.02, target_sd=0.01, floor=0.0):
    return Yardstick(GOLD, 8, target, spread, target_sd, floor)


@pytest.mark.parametrize("difference, status", [
    (0.0, PASS),                                   # |d| + 1.645u <= 2.576 s
    (0.02, PASS),
    (2.576 * 0.02 - 1.645 * 0.01 + 0.001, INCONCLUSIVE),   # the interval crosses the edge
    (2.576 * 0.02 + 1.645 * 0.01 + 0.001, FAIL),           # wholly outside
    (-(2.576 * 0.02 + 1.645 * 0.01 + 0.001), FAIL),        # below: over-forgetting fails too
])
def test_equivalence_rule_two_sided(difference, status):
    assert decide(difference, stick(), TWO_SIDED, CONFIG)[0] == status


def test_one_sided_bands_and_the_floor():
    s = stick(spread=0.001, target_sd=0.0, floor=0.02)
    assert band(s, LOWER, CONFIG) == (-0.02, None)  # the floor beats 2.33 x 0.001
    assert band(s, UPPER, CONFIG) == (None, 0.02)
    assert decide(+0.30, s, LOWER, CONFIG)[0] == PASS  # an improvement is fine
    assert decide(-0.03, s, LOWER, CONFIG)[0] == FAIL
    assert decide(-0.30, s, UPPER, CONFIG)[0] == PASS
    wide = stick(spread=0.05, target_sd=0.0)
    assert band(wide, UPPER, CONFIG)[1] == pytest.approx(CONFIG.band_z(UPPER) * 0.05)
    assert CONFIG.band_z(UPPER) == pytest.approx(2.326, abs=1e-3)
    assert decide(float("nan"), s, TWO_SIDED, CONFIG)[0] == INCONCLUSIVE


def test_the_rule_is_written_with_the_numbers_used():
    config = VerdictConfig(band_coverage=0.95, confidence_level=0.8, min_forget_records=30)
    assert "95% of the values" in config.rule and "(80%, two-sided)" in config.rule
    assert "fewer than 30 records" in config.rule
    assert "PASS: the interval lies inside the band" in CONFIG.rule


def test_ensemble_yardstick_takes_the_larger_spread_estimate():
    rng = np.random.default_rng(0)
    points = [0.50, 0.52, 0.48, 0.51]
    tight = [(p, p + rng.normal(0, 0.001, 500)) for p in points]
    s = ensemble_yardstick(tight, floor=0.0)
    assert s.target == pytest.approx(np.mean(points))
    assert s.spread == pytest.approx(np.std(points, ddof=1), rel=0.05)  # between dominates
    assert s.target_sd == pytest.approx(s.spread / 2)  # spread / sqrt(K)
    noisy = [(p, p + rng.normal(0, 0.05, 500)) for p in points]
    assert ensemble_yardstick(noisy, 0.0).spread == pytest.approx(0.05 * math.sqrt(4 / 3 * 0.75),
                                                                 rel=0.15)


def test_pair_yardsticks():
    rng = np.random.default_rng(1)
    gold = (0.5, rng.normal(0.5, 0.03, 2000))
    cand = (0.55, rng.normal(0.55, 0.03, 2000))
    one = pair_yardstick(gold, cand, GOLD, 0.0, models=1, spread_from_pair=True)
    assert one.spread == one.target_sd == pytest.approx(0.03, rel=0.1)  # sd(c-g)/sqrt(2)
    fixed = pair_yardstick(gold, cand, "original model", 0.02, spread_from_pair=False)
    assert fixed.spread == 0.0 and fixed.target_sd == pytest.approx(0.03 * math.sqrt(2), rel=0.1)


def spec(values: dict[str, float], group=ERASURE, side=TWO_SIDED, floor=0.01):
    rng = np.random.default_rng(2)
    reps = {m: v + rng.normal(0, 0.01, 300) for m, v in values.items()}
    return CheckSpec("mia_forget_loss", group, "q", "AUC", side, floor,
                     lambda m: (values[m], reps[m]),
                     lambda m: Yardstick(NON_MEMBERS, 0, 0.5, 0.01, 0.0, floor))


def test_a_test_the_original_passes_too_has_no_power():
    gold = {f"g{k}": 0.5 + 0.01 * (k % 3 - 1) for k in range(6)}
    s = spec({**gold, "unlearned": 0.5, "original": 0.505})
    verdict = run_check(s, list(gold), 100, CONFIG)
    assert verdict.status == INCONCLUSIVE and verdict.power is False
    assert verdict.original_status == PASS and "no power at this size" in verdict.reason
    powered = run_check(spec({**gold, "unlearned": 0.5, "original": 0.9}), list(gold), 100,
                        CONFIG)
    assert powered.status == PASS and powered.power and powered.original_status == FAIL
    assert Verdict.from_dict(json.loads(json.dumps(powered.to_dict()))) == powered


def test_a_small_request_cannot_pass_but_can_fail():
    gold = {f"g{k}": 0.5 + 0.01 * (k % 3 - 1) for k in range(6)}
    small = run_check(spec({**gold, "unlearned": 0.5, "original": 0.9}), list(gold), 10, CONFIG)
    assert small.status == INCONCLUSIVE and "too small to decide" in small.reason
    failed = run_check(spec({**gold, "unlearned": 0.9, "original": 0.9}), list(gold), 10, CONFIG)
    assert failed.status == FAIL


def test_over_forgetting_is_flagged_not_praised():
    gold = {f"g{k}": 0.6 + 0.01 * (k % 3 - 1) for k in range(6)}
    verdict = run_check(spec({**gold, "unlearned": 0.3, "original": 0.9}), list(gold), 50,
                        CONFIG)
    assert verdict.status == FAIL and verdict.over_forgetting
    assert "Streisand" in verdict.reason and "less like training members" in verdict.reason


def make(status, group=ERASURE, power=True):
    s = stick()
    return Verdict("t", group, "q", "m", status, 0.0, 0.0, 0.0, (0.0, 0.0), (-1.0, 1.0),
                   TWO_SIDED, s, power if group == ERASURE else None, None, None, False, "")


def test_group_verdicts_are_separate_questions():
    tests = [make(PASS), make(PASS), make(FAIL, UTILITY), make(PASS, COLLATERAL)]
    assert group_status(tests, ERASURE) == PASS
    assert overall_status(tests) == PASS  # a utility FAIL never fails the erasure
    assert group_status(tests, UTILITY) == FAIL
    assert group_status([make(PASS), make(INCONCLUSIVE, power=False)], ERASURE) == PASS
    assert group_status([make(INCONCLUSIVE, power=False)], ERASURE) == INCONCLUSIVE
    assert group_status([make(PASS), make(INCONCLUSIVE)], ERASURE) == INCONCLUSIVE
    assert group_status([make(PASS), make(FAIL, power=False)], ERASURE) == FAIL
    assert group_status([], UTILITY) == INCONCLUSIVE


@pytest.mark.parametrize("field, value", [
    ("band_coverage", 1.0), ("confidence_level", 0.2), ("test_accuracy_drop", -0.1),
    ("n_bootstrap", 10), ("min_forget_records", 0), ("record_flag_fpr", 0.0)])
def test_config_is_validated(field, value):
    with pytest.raises(ValueError, match=field):
        VerdictConfig(**{field: value})


def simulated_request(rng, n_forget=40, n_held=400, n_retain=400, k=8, memorise=0.0):
    """Scores of K retrains, an independent retrain, an original and a candidate that
    memorises the forget set by ``memorise``: per-record difficulty shared by every model
    plus per-model training noise, as in a real table."""
    n = n_forget + n_retain + n_held
    difficulty = rng.normal(0, 1, n)
    forget, retain = np.arange(n_forget), np.arange(n_forget, n_forget + n_retain)
    held = np.arange(n_forget + n_retain, n)

    def model(seen_forget: bool, shift: float = 0.0):
        score = -difficulty + rng.normal(0, 0.5, n)
        score[retain] += 1.0  # every model trains on the retain set
        if seen_forget:
            score[forget] += 1.0 + shift
        return score

    names = [f"gold_{i}" for i in range(k)]
    scores = {name: model(False) for name in names}
    scores |= {"retrain": model(False), "original": model(True),
               "partial": model(False) + np.r_[np.full(n_forget, memorise), np.zeros(n - n_forget)]}
    correct = {m: s > -0.5 for m, s in scores.items()}
    sets = AuditSets(forget=forget, retain=retain, non_members=held, retain_non_members=held,
                     test=held, forgotten_class_test=np.zeros(0, np.int64), population=held,
                     non_member_rule="held-out records", test_rule="held-out records")
    return {"loss": scores}, correct, sets, names


def test_calibration_a_retrain_passes_and_the_original_fails():
    """The outsider's check on simulated requests: an independent retrain is rarely FAILed,
    the memorising original nearly always."""
    rng = np.random.default_rng(7)
    config = VerdictConfig(n_bootstrap=200)
    outcome = {"retrain": [], "original": []}
    for seed in range(40):
        scores, correct, sets, gold = simulated_request(rng)
        for candidate in outcome:
            named = {"loss": {**scores["loss"], "unlearned": scores["loss"][candidate]}}
            tests = verdicts(named, {**correct, "unlearned": correct[candidate]}, sets, gold,
                             config, seed)
            outcome[candidate].append(group_status(tests, ERASURE))
    assert outcome["retrain"].count(FAIL) <= 2  # at most 5%
    assert outcome["retrain"].count(PASS) >= 28  # INCONCLUSIVE at most 25%
    assert outcome["original"].count(FAIL) >= 38  # at least 95%


def test_comparison_resampling_is_shared_and_seeded():
    truth_members, others = np.arange(5), np.arange(5, 30)
    a = Comparison.of(truth_members, others, None, 200, seed=3)
    b = Comparison.of(truth_members, others, None, 200, seed=3)
    assert np.array_equal(a.replicates, b.replicates) and a.replicates.shape == (200, 30)
    assert (a.replicates[:, :5].sum(axis=1) == 5).all()  # members resampled among themselves
    assert a.null_auc_sd() == pytest.approx(math.sqrt((5 + 25 + 1) / (12 * 5 * 25)))
