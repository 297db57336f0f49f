"""Verdict rules: two-sided tolerance bands, interval width, over-forgetting, the config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.audit import Verdict, VerdictConfig
from workbench.audit.verdict import (
    FAIL,
    GOLD,
    INCONCLUSIVE,
    PASS,
    decide,
    make_verdict,
    mean_difference,
    overall_status,
)


@pytest.mark.parametrize("difference, ci, low, high, status", [
    (0.01, (-0.03, 0.04), -0.05, 0.05, PASS),            # interval inside the band
    (0.20, (0.10, 0.30), -0.05, 0.05, FAIL),             # interval above the band
    (-0.20, (-0.30, -0.10), -0.05, 0.05, FAIL),          # below it: over-forgetting fails too
    (0.03, (-0.02, 0.09), -0.05, 0.05, PASS),            # narrow, across an edge: point decides
    (0.08, (0.02, 0.14), -0.05, 0.05, FAIL),
    (0.03, (-0.15, 0.20), -0.05, 0.05, INCONCLUSIVE),    # too wide to decide
    (0.12, (-0.01, 0.30), -0.05, 0.05, INCONCLUSIVE),
    (-0.50, (-0.60, -0.40), -0.02, None, FAIL),          # one-sided: a drop beyond the limit
    (0.30, (0.20, 0.40), -0.02, None, PASS),             # an improvement is fine
])
def test_decide(difference, ci, low, high, status):
    assert decide(difference, ci, low, high, max_width=0.2)[0] == status


def test_over_forgetting_is_flagged_not_praised():
    config = VerdictConfig()
    verdict = make_verdict("mia_forget_loss", "q", "AUC", (0.30, 0.50, -0.20, (-0.28, -0.12)),
                           (-0.05, 0.05), GOLD, config, over_forgetting_below=-0.05)
    assert verdict.status == FAIL and verdict.over_forgetting
    assert "Streisand" in verdict.reason and "gold standard" in verdict.reason
    assert Verdict.from_dict(json.loads(json.dumps(verdict.to_dict()))) == verdict
    fine = make_verdict("mia_forget_loss", "q", "AUC", (0.51, 0.50, 0.01, (-0.04, 0.05)),
                        (-0.05, 0.05), GOLD, config, over_forgetting_below=-0.05)
    assert fine.status == PASS and not fine.over_forgetting


def test_overall_status():
    assert overall_status(()) == PASS
    verdicts = [make_verdict("t", "q", "m", (0.0, 0.0, d, ci), (-0.05, 0.05), GOLD,
                             VerdictConfig())
                for d, ci in ((0.0, (-0.01, 0.01)), (0.1, (-0.2, 0.3)), (0.5, (0.4, 0.6)))]
    assert [x.status for x in verdicts] == [PASS, INCONCLUSIVE, FAIL]
    assert overall_status(tuple(verdicts[:1])) == PASS
    assert overall_status(tuple(verdicts[:2])) == INCONCLUSIVE
    assert overall_status(tuple(verdicts)) == FAIL


def test_mean_difference_pairs_records_only_when_asked():
    config = VerdictConfig(n_bootstrap=500)
    a = np.r_[np.ones(40), np.zeros(10)]
    paired = mean_difference(a, a.copy(), config, 0, paired=True)
    assert paired[2] == 0.0 and paired[3] == (0.0, 0.0)  # same records, same answers
    unpaired = mean_difference(a, np.random.default_rng(0).permutation(a), config, 0,
                               paired=False)
    assert unpaired[2] == 0.0 and unpaired[3][0] < -0.05 < 0.05 < unpaired[3][1]
    with pytest.raises(ValueError, match="same length"):
        mean_difference(a, a[:10], config, 0, paired=True)


def test_config_is_data_with_checked_bounds():
    config = VerdictConfig(mia_auc_tolerance=0.03)
    assert VerdictConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.to_dict()["test_accuracy_drop"] == 0.02
    for bad in ({"mia_auc_tolerance": 1.5}, {"record_flag_fpr": 0.0},
                {"confidence_level": 1.0}, {"n_bootstrap": 10}):
        with pytest.raises(ValueError):
            VerdictConfig(**bad)
    with pytest.raises(ValueError, match="no field"):
        VerdictConfig.from_dict({"mia_tolerance": 0.1})


def test_an_interval_that_could_not_be_estimated_is_inconclusive():
    status, reason = decide(0.0, (float("nan"), float("nan")), -0.05, 0.05, 0.2)
    assert status == INCONCLUSIVE and "no bootstrap interval" in reason
