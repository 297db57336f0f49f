"""``audit``: planted answers, the result record, determinism and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from audit_toys import forget_ids, toy_model, toy_table
from torch import nn

from workbench.audit import AuditOptions, AuditResult, TrainingOptions, VerdictConfig, audit_model
from workbench.audit.verdict import FAIL, GOLD, INCONCLUSIVE, NON_MEMBERS, PASS
from workbench.models import TabularMLP
from workbench.records import RecordTable
from workbench.unlearn import unlearn_model

torch.set_num_threads(1)


class Lookup(nn.Module):
    """A planted model: ``strength`` logits for the true label of the records it holds, and
    uniform outputs for every other record."""

    def __init__(self, table, ids, strength: float = 10.0, classes: int | None = None):
        super().__init__()
        self.keys = table.inputs(ids)
        self.labels = table.labels(ids)
        self.strength = strength
        self.classes = classes or table.num_classes
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        out = torch.zeros(len(x), self.classes) + 0 * self.dummy
        match = (x[:, None, :] == self.keys[None, :, :]).all(-1)
        hit = match.any(1)
        out[hit, self.labels[match[hit].float().argmax(1)]] = self.strength
        return out


def json_native(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_native(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_native(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


@pytest.fixture(scope="module")
def planted():
    table = toy_table(200)
    forget = table.select(ids=forget_ids(table, 30))  # at least min_forget_records (25)
    retain = table.retain_for(forget)
    return table, forget, Lookup(table, table.members().ids), Lookup(table, retain.ids)


def test_planted_memoriser_and_a_perfect_erasure(planted):
    table, forget, original, erased = planted
    result = audit_model(original, erased, records=table, forget=forget, gold_standard=erased,
                         attacks=("loss",))
    assert result.metrics("loss", "original").auc == 1.0
    assert result.metrics("loss", "original").tpr_at_01pct_fpr == 1.0
    assert result.metrics("loss", "unlearned").auc == 0.5  # all ties with the non-members
    assert result.metrics("loss", "original", "retain").auc == 1.0
    verdict = result.verdict("mia_forget_loss")
    assert verdict.status == PASS and verdict.power and verdict.original_status == FAIL
    assert verdict.yardstick.models == 1 and verdict.group == "erasure"
    assert result.overall == result.erasure == PASS and result.compared_to == GOLD
    assert any("One retrained model" in note for note in result.notes)
    assert result.decision_rule == VerdictConfig().rule
    assert result.flags.n_flagged == 0 and result.flags.n_flagged_original == len(forget)
    assert result.shadow_models is None
    assert [r.original for r in result.confidence.records] == pytest.approx(
        [1.0] * len(forget), abs=1e-3)


def test_over_forgetting_is_flagged(planted):
    table, forget, original, erased = planted
    worse = Lookup(table, forget.ids, strength=-10.0)  # confidently wrong on the forget set
    result = audit_model(original, worse, records=table, forget=forget, gold_standard=erased,
                         attacks=("loss",))
    verdict = result.verdict("mia_forget_loss")
    assert result.metrics("loss", "unlearned").auc < 0.05
    assert verdict.status == FAIL and verdict.over_forgetting and "Streisand" in verdict.reason
    assert result.verdict("forget_accuracy").over_forgetting  # always wrong, gold is not
    assert result.overall == FAIL


def test_without_a_gold_standard_the_verdict_targets_non_members_and_says_so(planted):
    table, forget, original, erased = planted
    result = audit_model(original, erased, records=table, forget=forget, attacks=("loss",))
    verdict = result.verdict("mia_forget_loss")
    assert result.compared_to == NON_MEMBERS and verdict.compared_to == NON_MEMBERS
    assert verdict.target == 0.5 and "held-out non-members" in verdict.reason
    assert result.verdict("forget_accuracy").compared_to == NON_MEMBERS
    assert result.verdict("test_accuracy").compared_to == "original model"
    assert any("No gold standard" in note for note in result.notes)
    assert result.gold_standard_sha256s == () and result.drift.gold_standard is None
    assert all(m.model != "gold_standard" for m in result.membership)


def test_a_class_skewed_record_request_without_gold_notes_the_confound(planted):
    table, forget, original, erased = planted
    assert not any("class mix" in note for note in
                   audit_model(original, erased, records=table, forget=forget,
                               attacks=("loss",)).notes)  # a random selection: no note
    members = table.members()
    one_class = [i for i, y in zip(members.ids, members.labels().tolist(), strict=True)
                 if y == 1][:20]
    skewed = table.select(ids=one_class)  # a record request, every record of class1
    result = audit_model(original, erased, records=table, forget=skewed, attacks=("loss",))
    note = next(note for note in result.notes if "class mix" in note)
    assert "class class1: 100% of the forget set" in note and "gold_standard=" in note
    assert "weight the non-members" in note
    with_gold = audit_model(original, erased, records=table, forget=skewed, gold_standard=original,
                            attacks=("loss",))
    assert not any("class mix" in note for note in with_gold.notes)  # gold cancels the mix


class FavoursClassZero(nn.Module):
    """Every record gets the same logits, class 0 ahead: class-0 records have the lower loss."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.tensor([[2.0, 0.0]]).expand(len(x), 2) + 0 * self.dummy


def test_without_gold_non_members_are_weighted_to_the_forget_set_class_mix(planted):
    table = planted[0]
    members = table.members()
    ones = [i for i, y in zip(members.ids, members.labels().tolist(), strict=True) if y == 1]
    forget = table.select(ids=ones[:20])
    model = FavoursClassZero()  # no memory at all: any gap is the class mix, not membership
    result = audit_model(model, model, records=table, forget=forget, attacks=("loss",))
    mia, accuracy = result.verdict("mia_forget_loss"), result.verdict("forget_accuracy")
    # unweighted, class-0 non-members (lower loss, always right) would make the forget set
    # look over-forgotten: AUC about 0.25, accuracy 0 against about 0.5
    assert mia.value == pytest.approx(0.5) and mia.difference == pytest.approx(0.0)
    assert accuracy.value == 0.0 and accuracy.target == pytest.approx(0.0)
    assert "class mix" in accuracy.metric
    # the "original" is this memory-free model too: the test has nothing to detect
    assert mia.status == accuracy.status == INCONCLUSIVE and mia.power is False
    table_auc = result.metrics("loss", "unlearned", "forget").auc  # the table agrees
    assert table_auc == pytest.approx(mia.value)
    held_ones = int((table.held_out().labels() == 1).sum())  # so does the confidence plot
    assert result.confidence.non_members["unlearned"].count == held_ones
    assert "class mix" in result.confidence.non_member_rule
    assert {r.unlearned_percentile for r in result.confidence.records} == {100.0}


def test_a_forget_class_with_few_held_out_records_still_gives_a_finite_verdict():
    frame = pd.DataFrame({"rid": [f"R{i:03d}" for i in range(120)],
                          "f0": np.linspace(-1, 1, 120), "y": ["a"] * 60 + ["b"] * 60,
                          "member": [i % 60 >= 40 for i in range(60)] + [i < 116 for i in
                                                                       range(60, 120)]})
    table = RecordTable.from_frame(frame, id_column="rid", label_column="y",
                                   member_column="member", name="few")
    forget = table.select(ids=[f"R{i:03d}" for i in range(60, 90)])  # 30 of class b
    model = FavoursClassZero()  # class b has 4 held-out records against 40 of class a
    result = audit_model(model, model, records=table, forget=forget, attacks=("loss",))
    mia = result.verdict("mia_forget_loss")
    # every bootstrap replicate keeps the 4 class-b non-members (an unstratified one often
    # drew none: a NaN interval and an audit record that could not be written)
    assert mia.interval == (0.0, 0.0) and mia.difference == 0.0  # class b scores alike
    assert mia.status == INCONCLUSIVE and "no power" in mia.reason  # original == unlearned
    json.dumps(result.to_dict(), allow_nan=False)
    assert any("Only 4 non-members of the forget set's classes" in n for n in result.notes)


def test_class_matching_weights_give_the_forget_mix():
    from workbench.audit.sets import class_matching
    held = np.array([0, 0, 0, 1, 2])
    weights = class_matching(np.array([1, 1, 1, 0]), held)
    assert weights.mean() == pytest.approx(1.0) and weights[4] == 0.0
    assert weights[held == 1].sum() / weights.sum() == pytest.approx(0.75)
    assert class_matching(np.array([3]), held) is None  # class 3 has no held-out record


@pytest.fixture(scope="module")
def trained():
    table = toy_table(240, seed=1)
    model = toy_model(table)
    forget = table.select(ids=forget_ids(table, 24))
    unlearned = unlearn_model(model, forget, device="cpu")
    gold = unlearn_model(model, forget, method="retrain", retain=table.retain_for(forget),
                         device="cpu")
    return table, model, forget, unlearned, gold


def test_full_audit_of_a_trained_model(trained, tmp_path):
    table, model, forget, unlearned, gold = trained
    result = audit_model(model, unlearned, records=table, forget=forget, gold_standard=gold,
                         options=AuditOptions(config=VerdictConfig(n_bootstrap=200),
                                              training=TrainingOptions(cache_dir=tmp_path)))
    data = result.to_dict()
    assert json_native(data)
    assert AuditResult.from_dict(json.loads(json.dumps(data))) == result
    assert {(m.attack, m.model, m.comparison) for m in result.membership} == {
        (a, m, c) for a in ("loss", "rmia", "lira")
        for m in ("original", "unlearned", "gold_standard") for c in ("forget", "retain")}
    assert [v.test for v in result.verdicts] == [
        "mia_forget_loss", "mia_retain_loss", "mia_forget_rmia", "mia_retain_rmia",
        "mia_forget_lira", "mia_retain_lira", "forget_accuracy", "test_accuracy"]
    assert {v.group for v in result.verdicts} == {"erasure", "collateral", "utility"}
    assert result.config.n_bootstrap == 200 and data["config"]["band_coverage"] == 0.99
    assert result.shadow_models.count == 4 and result.shadow_models.out_per_record == 2
    assert "small-K" in result.shadow_models.note and result.shadow_models.lira_fixed_variance
    assert result.metrics("lira", "original", "retain").auc > 0.6  # the toy model memorises
    assert [r.record_id for r in result.confidence.records] == sorted(
        forget.ids, key=table.ids.index)
    drift = result.drift
    assert drift.unlearned_minus_gold_standard.test == pytest.approx(
        drift.unlearned.test - drift.gold_standard.test)
    assert set(drift.original.per_class) == set(table.schema.classes)
    assert (result.forget_count, result.unlearned_method) == (24, "synthetic")
    assert len(result.metrics("rmia").roc_fpr) <= 202
    with pytest.raises(KeyError):
        result.metrics("shokri")
    with pytest.raises(ValueError, match="schema_version"):
        AuditResult.from_dict({**data, "schema_version": 99})


def test_same_seed_same_reference_models_same_scores(trained, tmp_path):
    table, model, forget, unlearned, gold = trained
    config = VerdictConfig(n_bootstrap=200)
    runs = [audit_model(model, unlearned.model, records=table, forget=forget,
                        gold_standard=gold.model,
                        options=AuditOptions(config=config, seed=3, training=TrainingOptions(
                            cache_dir=tmp_path / name)))
            for name in ("a", "b", "a")]
    assert [r.shadow_models.from_cache for r in runs] == [False, False, True]

    def comparable(result):
        data = result.to_dict()
        data.pop("wall_time_s")
        data["reference"].pop("from_cache")
        data["reference"].pop("train_time_s")
        return data

    assert comparable(runs[0]) == comparable(runs[1]) == comparable(runs[2])
    other = audit_model(model, unlearned.model, records=table, forget=forget,
                        gold_standard=gold.model,
                        options=AuditOptions(config=config, seed=4, training=TrainingOptions(
                            cache_dir=tmp_path / "a")))
    assert other.shadow_models.cache_key_sha256 != runs[0].shadow_models.cache_key_sha256
    assert other.metrics("lira").auc != runs[0].metrics("lira").auc


def test_a_class_request_compares_with_held_out_records_of_that_class(tmp_path):
    table = toy_table(240, classes=3, seed=2)
    model = toy_model(table)
    forget = table.select(classes=["class1"])
    gold = unlearn_model(model, forget, method="retrain", retain=table.retain_for(forget),
                         device="cpu")
    result = audit_model(model, gold, records=table, forget=forget, gold_standard=gold,
                         attacks=("loss", "rmia"),
                         options=AuditOptions(config=VerdictConfig(n_bootstrap=200),
                                              training=TrainingOptions(cache_dir=tmp_path)))
    assert result.is_class_request and "class class1" in result.non_member_rule
    held = table.held_out()
    assert result.non_member_count == int((table.labels(held.ids) == 1).sum())
    assert result.drift.gold_standard.forgotten_class_test == 0.0
    assert result.drift.unlearned.forget == 0.0
    assert "other classes" in result.drift.test_rule


def test_per_example_epsilon_can_ride_along(trained, tmp_path):
    table, model, forget, unlearned, gold = trained
    result = audit_model(model, unlearned, records=table, forget=forget, gold_standard=gold,
                         attacks=("loss",),
                         options=AuditOptions(epsilon_models=4,
                                              config=VerdictConfig(n_bootstrap=100)))
    assert result.epsilon.n_models == 4 and result.epsilon.method == "synthetic"
    assert len(result.epsilon.epsilons) == len(forget) and result.epsilon.small_n
    with pytest.raises(ValueError, match="needs the UnlearnResult"):
        audit_model(model, unlearned.model, records=table, forget=forget, attacks=("loss",),
                    options=AuditOptions(epsilon_models=4))


def test_bad_input_is_refused_clearly(trained, planted):
    table, model, forget, unlearned, gold = trained

    def run(original=model, unlearned_=unlearned.model, **kwargs):
        kwargs.setdefault("records", table)
        kwargs.setdefault("forget", forget)
        kwargs.setdefault("attacks", ("loss",))
        return audit_model(original, unlearned_, **kwargs)

    with pytest.raises(ValueError, match="the unlearned model outputs 3 value"):
        run(unlearned_=TabularMLP(4, 3, (8,)))
    with pytest.raises(ValueError, match="features do not fit the original model"):
        run(original=TabularMLP(5, 2, (8,)))
    with pytest.raises(ValueError, match="table 'toy' has 2 classes"):
        run(original=TabularMLP(4, 3, (8,)), unlearned_=TabularMLP(4, 3, (8,)))
    with pytest.raises(ValueError, match="made from another model"):
        run(original=toy_model(table, seed=9), unlearned_=unlearned)
    with pytest.raises(ValueError, match="forgot another selection"):
        run(unlearned_=unlearned, forget=table.select(ids=forget.ids[:5]))
    with pytest.raises(ValueError, match="must be retrained models"):
        run(gold_standard=unlearned)
    with pytest.raises(ValueError, match="attacks must be"):
        run(attacks=("loss", "shokri"))
    with pytest.raises(ValueError, match="not from the records given"):
        run(records=planted[0])
    with pytest.raises(ValueError, match="RecordTable"):
        run(records=table.frame)


def test_a_forget_set_with_no_held_out_counterpart_is_an_error():
    table = toy_table(120, classes=3, seed=4)
    frame = table.frame
    frame.loc[frame["label"] == 2, "member"] = True  # every class-2 record was trained on
    table = RecordTable(frame, table.schema, table.encoder, name="no-holdout")
    forget = table.select(classes=[2])
    model = Lookup(table, table.members().ids)
    with pytest.raises(ValueError, match="no held-out counterpart"):
        audit_model(model, model, records=table, forget=forget, attacks=("loss",))


def test_evaluation_sets_are_the_audits_held_out_records():
    from workbench.audit.sets import audit_sets, evaluation_sets
    table = toy_table(120, classes=3)
    for forget in (table.select(ids=forget_ids(table, 10)), table.select(classes=[1])):
        attack, test = evaluation_sets(table, forget)
        sets = audit_sets(table, forget)
        assert attack.ids == tuple(table.ids[i] for i in sets.non_members)
        assert test.ids == tuple(table.ids[i] for i in sets.test)
        assert not set(attack.ids) & set(table.members().ids)  # held out, never trained on


def test_compared_groups_are_bounded_and_the_rules_say_so():
    """A large table: each compared group is a seeded sample of ``compare_limit`` records (the
    forget set never), the rules name the sample, and the same seed gives the same result."""
    table = toy_table(5000)
    forget = table.select(ids=forget_ids(table, 30))
    original = Lookup(table, table.members().ids)
    erased = Lookup(table, table.retain_for(forget).ids)
    bounded = VerdictConfig(compare_limit=1000)
    result = audit_model(original, erased, records=table, forget=forget, attacks=("loss",),
                         options=AuditOptions(config=bounded, seed=3))
    assert "(a random 1,000 of 2,500)" in result.confidence.non_member_rule
    assert result.metrics("loss", "original").auc == 1.0  # the planted memoriser still shows
    again = audit_model(original, erased, records=table, forget=forget, attacks=("loss",),
                        options=AuditOptions(config=bounded, seed=3))
    assert again.to_dict()["verdicts"] == result.to_dict()["verdicts"]
    every = audit_model(original, erased, records=table, forget=forget, attacks=("loss",),
                        options=AuditOptions(config=VerdictConfig(compare_limit=None), seed=3))
    assert "a random" not in every.confidence.non_member_rule
    with pytest.raises(ValueError, match="compare_limit must be at least 1000"):
        VerdictConfig(compare_limit=10)
