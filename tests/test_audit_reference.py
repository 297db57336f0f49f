"""Reference models: trained on random halves (or member-sized subsets), cached by key,
verified on load, written whole."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from audit_toys import toy_model, toy_table

from workbench.audit import (
    CacheError,
    TrainingOptions,
    default_cache_dir,
    model_cache,
    shadow_models,
)
from workbench.audit import shadow as shadow_module
from workbench.executor import TrainData, run_job
from workbench.hashing import weights_sha256
from workbench.records import RecordTable

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy():
    table = toy_table(120)
    return table, toy_model(table)


def test_models_are_trained_once_then_read_from_the_cache(toy, tmp_path):
    table, model = toy
    first = shadow_models(model, table, count=4, seed=1,
                          training=TrainingOptions(cache_dir=tmp_path))
    assert not first.from_cache and first.count == 4 and first.train_time_s > 0
    np.testing.assert_array_equal(first.member.sum(axis=0), 2)
    again = shadow_models(model, table, count=4, seed=1,
                          training=TrainingOptions(cache_dir=tmp_path))
    assert again.from_cache and again.digest == first.digest
    assert [weights_sha256(m) for m in again.models] == [weights_sha256(m) for m in first.models]
    sidecar = json.loads((first.path / "key.json").read_text())
    assert sidecar["key"]["seed"] == 1 and sidecar["key"]["count"] == 4
    assert sidecar["key"]["model_sha256"] == weights_sha256(model)
    assert len(sidecar["membership"]) == 4 and len(sidecar["membership"][0]) == len(table)
    assert sorted(p.name for p in first.path.iterdir()) == [
        "key.json", *(f"model-{k:03d}.safetensors" for k in range(4))]
    ref = again.signals(table)
    assert ref.confidence.shape == (4, len(table))
    np.testing.assert_array_equal(ref.out_counts(), 2)


def test_each_model_trains_on_its_own_half(toy, tmp_path):
    table, model = toy
    refs = shadow_models(model, table, count=2, seed=0,
                         training=TrainingOptions(cache_dir=tmp_path))
    ref = refs.signals(table)
    for k in range(2):  # a memorising model is more confident on the records it trained on
        inside = ref.confidence[k, refs.member[k]].mean()
        outside = ref.confidence[k, ~refs.member[k]].mean()
        assert inside > outside + 0.05


def test_same_seed_same_models_other_seed_other_models(toy, tmp_path):
    table, model = toy
    a = shadow_models(model, table, count=2, seed=5,
                      training=TrainingOptions(cache_dir=tmp_path / "a"))
    b = shadow_models(model, table, count=2, seed=5,
                      training=TrainingOptions(cache_dir=tmp_path / "b"))
    c = shadow_models(model, table, count=2, seed=6,
                      training=TrainingOptions(cache_dir=tmp_path / "a"))
    hashes = [[weights_sha256(m) for m in r.models] for r in (a, b, c)]
    assert hashes[0] == hashes[1] != hashes[2]
    assert a.digest == b.digest != c.digest
    np.testing.assert_array_equal(a.member, b.member)


def test_the_job_function_trains_like_the_cached_models(toy, tmp_path):
    table, model = toy
    refs = shadow_models(model, table, count=2, seed=2,
                         training=TrainingOptions(cache_dir=tmp_path))
    data = TrainData.from_table(model, table, table.recipe)
    out = run_job(data, shadow_module.shadow_jobs(refs.member, 2)[1])
    assert out.weights_sha256 == weights_sha256(refs.models[1])
    sidecar = json.loads((refs.path / "key.json").read_text())
    assert sidecar["executor"].startswith("local")  # two models: trained in this process


def test_a_cache_entry_that_does_not_match_its_key_is_an_error(toy, tmp_path):
    table, model = toy
    refs = shadow_models(model, table, count=2, seed=0,
                         training=TrainingOptions(cache_dir=tmp_path))
    sidecar_path = refs.path / "key.json"
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["key"]["data_sha256"] = "0" * 64
    sidecar_path.write_text(json.dumps(sidecar))
    with pytest.raises(CacheError, match="does not match its key"):
        shadow_models(model, table, count=2, seed=0, training=TrainingOptions(cache_dir=tmp_path))


def test_tampered_masks_or_weights_are_errors(toy, tmp_path):
    table, model = toy
    refs = shadow_models(model, table, count=2, seed=0,
                         training=TrainingOptions(cache_dir=tmp_path))
    sidecar_path = refs.path / "key.json"
    original = sidecar_path.read_text()
    sidecar = json.loads(original)
    sidecar["membership"][0] = "1" * len(table)
    sidecar_path.write_text(json.dumps(sidecar))
    with pytest.raises(CacheError, match="training-set masks"):
        shadow_models(model, table, count=2, seed=0, training=TrainingOptions(cache_dir=tmp_path))
    sidecar_path.write_text(original)
    with open(refs.path / "model-001.safetensors", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CacheError, match="altered model file model-001"):
        shadow_models(model, table, count=2, seed=0, training=TrainingOptions(cache_dir=tmp_path))
    sidecar_path.unlink()
    with pytest.raises(CacheError, match="no readable key.json"):
        shadow_models(model, table, count=2, seed=0, training=TrainingOptions(cache_dir=tmp_path))


def test_a_crash_while_writing_leaves_no_entry_behind(toy, tmp_path, monkeypatch):
    table, model = toy
    real_save, saved = model_cache.save_model, []

    def failing_save(net, path):
        if saved:
            raise OSError("disk full")
        saved.append(path)
        return real_save(net, path)

    monkeypatch.setattr(model_cache, "save_model", failing_save)
    with pytest.raises(OSError, match="disk full"):
        shadow_models(model, table, count=2, seed=0, training=TrainingOptions(cache_dir=tmp_path))
    assert saved, "the first model was written before the crash"
    assert list((tmp_path / "reference-models").iterdir()) == []
    monkeypatch.setattr(model_cache, "save_model", real_save)
    refs = shadow_models(model, table, count=2, seed=0,
                         training=TrainingOptions(cache_dir=tmp_path))
    assert not refs.from_cache and (refs.path / "key.json").is_file()


def test_reference_models_need_a_recipe_and_their_own_table(toy, tmp_path):
    table, model = toy
    no_recipe = toy_table(120, recipe=None)
    with pytest.raises(ValueError, match="no training recipe"):
        shadow_models(model, no_recipe, count=2, training=TrainingOptions(cache_dir=tmp_path))
    refs = shadow_models(model, table, count=2, training=TrainingOptions(cache_dir=tmp_path))
    with pytest.raises(ValueError, match="another record table"):
        refs.signals(toy_table(100))


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("WORKBENCH_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "erasure-workbench"


def test_models_train_on_as_many_records_as_the_audited_model(tmp_path):
    table = toy_table(200)
    frame = table.frame.copy()
    frame["member"] = np.arange(len(frame)) % 5 == 0  # 20% members, like a small training set
    small = RecordTable.from_frame(frame, id_column="record_id", label_column="label",
                                   member_column="member", name="toy-20")
    small.recipe = table.recipe
    refs = shadow_models(toy_model(small), small, count=4, seed=0,
                         training=TrainingOptions(cache_dir=tmp_path))
    sizes = refs.member.sum(axis=1)  # 20% of 200, not 100, less the few records drawn into
    assert np.all((sizes >= 36) & (sizes <= 40)), sizes  # 3 or 4 models (2 OUTs each)
    assert np.all((~refs.member).sum(axis=0) >= 2)
    assert refs.key["in_fraction"] == 0.2
    halves = shadow_models(toy_model(table), table, count=4, seed=0,
                           training=TrainingOptions(cache_dir=tmp_path))
    assert "in_fraction" not in halves.key  # the balanced design keeps its cache keys
