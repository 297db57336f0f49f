"""``synthetic_retain``: the data-free overwrite plus a seeded sample of kept records.

The shared conformance table (tests/test_unlearn.py) runs it like every method; these tests
hold what is its own: which kept records it reads, that the record says so, and that they
anchor the model."""

from __future__ import annotations

import pytest
import torch

from workbench.hashing import ids_sha256
from workbench.record_sets import RecordSet
from workbench.samples import load_sample
from workbench.unlearn import unlearn_model, unused_params
from workbench.unlearn.objectives import logit_distance
from workbench.unlearn.synthetic_retain import SAMPLE_SEED_OFFSET

FAST = {"steps": 60, "proxies": 512, "inversion_steps": 2}


@pytest.fixture(scope="module")
def clinic():
    sample = load_sample("clinic")
    table = sample.records
    forget = table.select(ids=table.members().ids[:30])
    return sample, forget, table.retain_for(forget)


def picked_ids(retain: RecordSet, seed: int, count: int) -> list[str]:
    generator = torch.Generator().manual_seed(seed + SAMPLE_SEED_OFFSET)
    return [retain.ids[i] for i in torch.randperm(len(retain), generator=generator)[:count]]


def run(sample, forget, retain, seed=3, **params):
    return unlearn_model(sample.model, forget, method="synthetic_retain", retain=retain,
                         seed=seed, device="cpu", params={**FAST, **params})


def test_it_reads_a_seeded_sample_and_the_record_says_which(clinic):
    sample, forget, retain = clinic
    result = run(sample, forget, retain, retain_records=50)
    assert result.records_used == {"forget": 30, "retain": 50}  # read, not offered
    assert result.data_access == "forget_and_retain"
    declared = result.declared_inputs
    assert declared["retain_records_read"] == 50
    assert declared["retain_ids_sha256"] == ids_sha256(picked_ids(retain, 3, 50))
    again = run(sample, forget, retain, retain_records=50)
    assert again.weights_sha256 == result.weights_sha256  # same seed, same sample, same model
    # the same records listed in another order: the same sample, the same model
    reordered = RecordSet(retain.table, retain.ids[::-1], "the same records, reversed")
    same = run(sample, forget, reordered, retain_records=50)
    assert same.declared_inputs["retain_ids_sha256"] == declared["retain_ids_sha256"]
    assert same.weights_sha256 == result.weights_sha256
    # same seed, other kept records offered: another sample, and another model
    fewer = RecordSet(retain.table, retain.ids[1:], "all but the first kept record")
    other = run(sample, forget, fewer, retain_records=50)
    assert other.declared_inputs["retain_ids_sha256"] != declared["retain_ids_sha256"]
    assert other.weights_sha256 != result.weights_sha256


def test_fewer_kept_records_than_the_budget_are_all_read(clinic):
    sample, forget, retain = clinic
    few = RecordSet(retain.table, retain.ids[:20], "20 kept records")
    result = run(sample, forget, few)
    assert result.records_used["retain"] == 20
    assert result.declared_inputs["retain_ids_sha256"] == ids_sha256(few.ids)


def test_the_kept_records_it_reads_stay_as_the_original_predicts_them(clinic):
    """The sampled kept records are distilled on: the model moves less there than the
    data-free method, same seed and settings, moves it."""
    sample, forget, retain = clinic
    read = RecordSet(retain.table, tuple(picked_ids(retain, 3, 50)), "read")
    with torch.no_grad():
        original = sample.model(read.inputs())
    moved = {}
    for method in ("synthetic", "synthetic_retain"):
        result = unlearn_model(sample.model, forget, method=method, seed=3, device="cpu",
                               retain=retain if method == "synthetic_retain" else None,
                               params={**FAST, **({"retain_records": 50}
                                                  if method == "synthetic_retain" else {})})
        with torch.no_grad():
            moved[method] = float(logit_distance(result.model(read.inputs()), original))
    print(moved)
    assert moved["synthetic_retain"] < 0.5 * moved["synthetic"], moved


def test_where_only_the_head_trains_the_kept_records_are_its_features_too():
    """8x8 digits with ``update="head"``: the sampled images pass the frozen trunk once and the
    head distils on their features, so the more of them among the stand-ins, the less the
    head moves there (it moves anyway: a head alone cannot keep them and overwrite 20 of
    179 training images)."""
    sample = load_sample("digits")
    table = sample.records
    forget = table.select(ids=table.members().ids[:20])
    retain = table.retain_for(forget)
    read = RecordSet(table, tuple(picked_ids(retain, 3, 40)), "read")
    with torch.no_grad():
        original = sample.model(read.inputs())
    moved = []
    for share in (None, 0.16, 0.5):  # None: the data-free method
        extra = {} if share is None else {"retain_records": 40, "retain_share": share}
        result = unlearn_model(sample.model, forget, seed=3, device="cpu",
                               method="synthetic" if share is None else "synthetic_retain",
                               retain=None if share is None else retain,
                               params={**FAST, "update": "head", **extra})
        assert result.declared_inputs["updated"] == "head"
        assert result.records_used["retain"] == (0 if share is None else 40)
        with torch.no_grad():
            moved.append(float(logit_distance(result.model(read.inputs()), original)))
    assert moved[0] > moved[1] > moved[2], moved  # measured 1.10, 0.95, 0.74


def test_a_one_label_retrain_reads_no_kept_record():
    """Forgetting one of credit's two classes retrains from scratch on schema draws (as
    ``synthetic`` does): the record says no kept record was read, and which settings went
    unused."""
    sample = load_sample("credit")
    forget = sample.records.select(classes=[1])
    result = unlearn_model(sample.model, forget, method="synthetic_retain", retain="auto",
                           device="cpu")
    assert result.records_used["retain"] == 0
    assert result.declared_inputs["retain_records_read"] == 0
    unused = unused_params(sample.model, forget, method="synthetic_retain")
    assert {"retain_records", "retain_share"} <= set(unused)


def test_it_refuses_to_run_without_kept_records(clinic):
    sample, forget, _ = clinic
    with pytest.raises(ValueError, match="needs the retain records"):
        unlearn_model(sample.model, forget, method="synthetic_retain")


@pytest.mark.parametrize("params, word", [({"retain_records": 0}, "retain_records"),
                                          ({"retain_share": 0.95}, "retain_share")])
def test_bad_settings_are_refused_before_any_work(clinic, params, word):
    sample, forget, retain = clinic
    with pytest.raises(ValueError, match=word):
        run(sample, forget, retain, **params)
