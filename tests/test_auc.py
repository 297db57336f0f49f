"""The package's one AUC (workbench/auc.py) against scikit-learn, and every AUC in the package
is that one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from workbench.auc import auc, auc_rows
from workbench.audit.metrics import bootstrap_auc, bootstrap_weights, roc_auc
from workbench.unlearn.objectives import mann_whitney_auc


def _data(seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    positive = rng.random(300) < 0.3
    scores = rng.normal(size=300) + positive
    if ties:
        scores = np.round(scores, 1)  # many tied scores, across both classes
    return scores, positive, rng.uniform(0.1, 3.0, size=300)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_scikit_learn_with_ties_and_weights(seed: int, ties: bool):
    scores, positive, weights = _data(seed, ties)
    assert auc(scores, positive) == pytest.approx(roc_auc_score(positive, scores), abs=1e-12)
    expected = roc_auc_score(positive, scores, sample_weight=weights)
    assert auc(scores, positive, weights) == pytest.approx(expected, abs=1e-12)


def test_auc_rows_gives_each_row_its_own_weighted_auc():
    scores, positive, weights = _data(3, ties=True)
    rows = np.stack([np.ones_like(weights), weights, weights ** 2])
    assert auc_rows(scores, positive, rows) == pytest.approx(
        [roc_auc_score(positive, scores, sample_weight=row) for row in rows], abs=1e-12)


def test_the_audit_and_the_synthetic_method_use_the_one_auc():
    scores, positive, weights = _data(4, ties=True)
    assert roc_auc(scores, positive, weights) == auc(scores, positive, weights)
    replicates = bootstrap_weights(positive, 100, seed=0)
    assert np.array_equal(bootstrap_auc(scores, positive, replicates),
                          auc_rows(scores, positive, replicates))
    tensor = torch.from_numpy(scores)
    assert mann_whitney_auc(tensor[positive], tensor[~positive]) == auc(scores, positive)


def test_auc_extremes():
    positive = np.array([True, True, False, False])
    assert auc(np.array([3.0, 2.0, 1.0, 0.0]), positive) == 1.0
    assert auc(np.array([0.0, 1.0, 2.0, 3.0]), positive) == 0.0
    assert auc(np.ones(4), positive) == 0.5
