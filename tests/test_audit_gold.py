"""The gold-standard ensemble: training, caching, checks in audit_model(), and the cache purge."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from audit_toys import forget_ids, toy_model, toy_table

from workbench.audit import AuditOptions, TrainingOptions, VerdictConfig, audit_model, shadow_models
from workbench.audit.gold import GoldStandard, gold_standard, member_seed
from workbench.audit.model_cache import purge_trained_on
from workbench.audit.shadow import table_sha256
from workbench.hashing import weights_sha256
from workbench.models import TabularMLP
from workbench.unlearn import unlearn_model

torch.set_num_threads(1)
FAST = VerdictConfig(n_bootstrap=200)


@pytest.fixture(scope="module")
def request_():
    table = toy_table(240, seed=1)
    model = toy_model(table)
    forget = table.select(ids=forget_ids(table, 30))
    return table, model, forget


def test_an_ensemble_is_k_retrains_with_seeds_other_than_the_request_seed(request_, tmp_path):
    table, model, forget = request_
    gold = gold_standard(model, forget, count=3, seed=5,
                         training=TrainingOptions(cache_dir=tmp_path))
    assert gold.count == 3 and 5 not in gold.seeds and len(set(gold.seeds)) == 3
    assert gold.seeds == tuple(member_seed(5, k) for k in range(3))
    plain = unlearn_model(model, forget, method="retrain", retain=table.retain_for(forget),
                          seed=gold.seeds[1], device="cpu")
    assert gold.weights_sha256[1] == weights_sha256(plain.model)  # a member is a plain retrain
    independent = unlearn_model(model, forget, method="retrain", retain="auto", seed=5,
                                device="cpu")
    assert weights_sha256(independent.model) not in gold.weights_sha256
    assert len(set(gold.weights_sha256)) == 3  # different seeds, different models
    assert not gold.trained_on[:, table.positions(forget.ids)].any()
    assert gold.trained_on[:, table.positions(table.retain_for(forget).ids)].all()
    again = gold_standard(model, forget, count=3, seed=5,
                          training=TrainingOptions(cache_dir=tmp_path))
    assert again.from_cache and again.weights_sha256 == gold.weights_sha256
    other = gold_standard(model, table.select(ids=forget.ids[:-1]), count=3, seed=5,
                          training=TrainingOptions(cache_dir=tmp_path))
    assert not other.from_cache  # another forget set is another entry


def test_too_few_members_or_no_recipe_fail_before_anything_is_written(request_, tmp_path):
    table, model, forget = request_
    with pytest.raises(ValueError, match="at least 2 retrained models"):
        gold_standard(model, forget, count=1, training=TrainingOptions(cache_dir=tmp_path))
    bare = toy_table(240, seed=1, recipe=None)
    with pytest.raises(ValueError, match="no training recipe"):
        gold_standard(model, bare.select(ids=forget.ids), count=2,
                      training=TrainingOptions(cache_dir=tmp_path))
    assert not any(tmp_path.iterdir())


def test_audit_against_an_ensemble(request_, tmp_path):
    table, model, forget = request_
    gold = gold_standard(model, forget, count=4, training=TrainingOptions(cache_dir=tmp_path))
    result = audit_model(model, unlearn_model(model, forget, device="cpu"), records=table,
                         forget=forget, gold_standard=gold, attacks=("loss",),
                         options=AuditOptions(config=FAST))
    assert result.gold_standard_sha256s == gold.weights_sha256
    assert all(v.yardstick.models == 4 for v in result.verdicts)
    assert any("4 models retrained" in note for note in result.notes)
    # the drift table's gold standard is the ensemble's mean accuracy
    from workbench.audit.signals import record_signals
    tests = [record_signals(m, table).correct[table.positions(forget.ids)].mean()
             for m in gold.models]
    assert result.drift.gold_standard.forget == pytest.approx(np.mean(tests))
    as_list = audit_model(model, model, records=table, forget=forget,
                          gold_standard=list(gold.models), attacks=("loss",),
                          options=AuditOptions(config=FAST))
    assert as_list.gold_standard_sha256s == gold.weights_sha256


def test_a_retrain_passes_and_the_original_fails_against_the_ensemble(tmp_path):
    """The outsider's check on a real (tiny) model: an independent retrain is not FAILed,
    the untouched original is."""
    table = toy_table(400, seed=3, noise=2.0)
    model = toy_model(table, hidden=64)
    forget = table.select(ids=forget_ids(table, 40))
    gold = gold_standard(model, forget, count=6, training=TrainingOptions(cache_dir=tmp_path))
    independent = unlearn_model(model, forget, method="retrain", retain=table.retain_for(forget),
                                seed=999, device="cpu")
    fair = audit_model(model, independent, records=table, forget=forget, gold_standard=gold,
                       attacks=("loss",), options=AuditOptions(config=FAST))
    untouched = audit_model(model, model, records=table, forget=forget, gold_standard=gold,
                            attacks=("loss",), options=AuditOptions(config=FAST))
    assert fair.erasure != "FAIL" and untouched.erasure == "FAIL"
    assert untouched.verdict("mia_forget_loss").status == "FAIL"


def test_an_ensemble_for_another_request_or_trained_on_a_forgotten_record_is_refused(
        request_, tmp_path):
    table, model, forget = request_
    gold = gold_standard(model, forget, count=2, training=TrainingOptions(cache_dir=tmp_path))

    def run(reference, forget_=forget):
        return audit_model(model, model, records=table, forget=forget_, gold_standard=reference,
                           attacks=("loss",), options=AuditOptions(config=FAST))

    with pytest.raises(ValueError, match="another request"):
        run(gold, table.select(ids=forget.ids[:-1]))
    leaked = dataclasses.replace(gold, trained_on=np.ones_like(gold.trained_on))
    with pytest.raises(ValueError, match="in the training set of a gold-standard model"):
        run(leaked)
    with pytest.raises(ValueError, match="another model"):
        audit_model(toy_model(table, seed=4), model, records=table, forget=forget,
                    gold_standard=gold, attacks=("loss",))
    with pytest.raises(ValueError, match="disagree on their architecture"):
        run([gold.models[0], TabularMLP(table.input_space.size, 2, (8,))])
    with pytest.raises(ValueError, match="non-empty sequence"):
        run([])


def test_purge_deletes_every_cached_model_trained_on_an_erased_record(request_, tmp_path):
    table, model, forget = request_
    # shadow models: halves of the whole table
    shadow_models(model, table, count=2, training=TrainingOptions(cache_dir=tmp_path))
    this = gold_standard(model, forget, count=2, training=TrainingOptions(cache_dir=tmp_path))
    others = [i for i in table.members().ids if i not in forget.ids][:10]
    other = gold_standard(model, table.select(ids=others), count=2,
                          training=TrainingOptions(cache_dir=tmp_path))
    unrelated = toy_table(100, seed=9)
    shadow_models(toy_model(unrelated), unrelated, count=2,
                  training=TrainingOptions(cache_dir=tmp_path))
    report = purge_trained_on(table_sha256(table), table.positions(forget.ids), tmp_path)
    deleted = {p.split("/")[-2] for p in report.deleted}
    assert deleted == {"reference-models", "gold-standard"} and len(report.deleted) == 2
    assert str(other.path) in report.deleted  # it trained on this request's records
    assert str(this.path) in report.kept and this.path.exists()  # trained without them
    assert len(list((tmp_path / "reference-models").iterdir())) == 1  # the other table's
    assert report.unreadable == ()


def test_the_same_seed_gives_the_same_ensemble(request_, tmp_path):
    table, model, forget = request_
    a = gold_standard(model, forget, count=2, seed=1,
                      training=TrainingOptions(cache_dir=tmp_path / "a"))
    b = gold_standard(model, forget, count=2, seed=1,
                      training=TrainingOptions(cache_dir=tmp_path / "b"))
    assert a.weights_sha256 == b.weights_sha256
    assert isinstance(a, GoldStandard) and not b.from_cache
