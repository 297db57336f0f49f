"""The audit on the shipped sample models (CPU, a few seconds each)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.audit import (
    AttackOptions,
    AuditOptions,
    TrainingOptions,
    attack_metrics,
    attack_scores,
    audit_model,
    record_signals,
    shadow_models,
)
from workbench.audit.attacks import tune_rmia_a
from workbench.unlearn import unlearn_model

torch.set_num_threads(1)


def test_rmia_and_lira_beat_loss_at_low_fpr_on_an_overfit_sample(samples, tmp_path):
    # credit: train accuracy 1.0, test 0.74. benchmarks/attacks.py measures clinic too.
    sample = samples["credit"]
    table = sample.records
    refs = shadow_models(sample.model, table, count=4, training=TrainingOptions(cache_dir=tmp_path))
    reference = refs.signals(table)
    member = table.frame["member"].to_numpy(dtype=bool)
    options = AttackOptions(population=np.flatnonzero(~member), rmia_a=tune_rmia_a(reference))
    target = record_signals(sample.model, table)
    tpr = {a: attack_metrics(attack_scores(a, target, reference, options), member,
                             n_bootstrap=100).tpr_at_1pct_fpr for a in ("loss", "rmia", "lira")}
    assert tpr["rmia"] > tpr["loss"] + 0.03 and tpr["lira"] > tpr["loss"] + 0.03


@pytest.mark.slow
def test_full_audit_of_clinic_with_a_random_five_percent_forget_set(samples, tmp_path):
    sample = samples["clinic"]
    table = sample.records
    members = np.array(table.members().ids)
    forget = table.select(ids=np.random.default_rng(0).choice(members, 53, replace=False))
    unlearned = unlearn_model(sample.model, forget, device="cpu")
    gold = unlearn_model(sample.model, forget, method="retrain", retain=table.retain_for(forget),
                         device="cpu")
    cold = audit_model(sample.model, unlearned, records=table, forget=forget, gold_standard=gold,
                       options=AuditOptions(training=TrainingOptions(cache_dir=tmp_path)))
    warm = audit_model(sample.model, unlearned, records=table, forget=forget, gold_standard=gold,
                       options=AuditOptions(training=TrainingOptions(cache_dir=tmp_path)))
    assert not cold.shadow_models.from_cache and warm.shadow_models.from_cache
    assert warm.wall_time_s < 30  # the budget is "well under a minute" on 2 cores
    assert warm.metrics("rmia") == cold.metrics("rmia")
    for attack in ("rmia", "lira"):
        assert cold.metrics(attack, "original").auc > 0.55
        assert 0.3 < cold.metrics(attack, "gold_standard").auc < 0.6
    assert cold.flags.attack == "lira" and cold.flags.n_forget == 53
    assert {v.test for v in cold.verdicts} >= {"mia_forget_lira", "test_accuracy"}
    assert cold.data_sha256 == warm.data_sha256
