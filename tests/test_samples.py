"""Loading the shipped sample models, and every way a damaged sample folder must be refused."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch.nn import functional as F

import workbench
from workbench.samples.load import IntegrityError, load_folder

SHIPPED = Path(workbench.__file__).resolve().parents[1] / "sample_models"
SAMPLE_NAMES = ("clinic", "credit", "digits")
TABULAR = ("clinic", "credit")

# Manifest metrics are rounded to 4 decimals. Accuracy is a count ratio, so a recomputation on
# the same weights must agree to that rounding. The loss-MIA AUC ranks per-record losses;
# near-ties between float32 losses computed in a different batch order may flip, so allow a
# little more.
ACCURACY_TOL = 1e-4
MIA_AUC_TOL = 2e-3


def shipped_ids(name: str) -> list[str]:
    """The record_id column of the shipped file, read here as plain text (no pandas dtype guess)."""
    with gzip.open(SHIPPED / name / "records.csv.gz", "rt") as handle:
        lines = handle.read().splitlines()
    assert lines[0].split(",")[0] == "record_id"
    return [line.split(",", 1)[0] for line in lines[1:]]


# --- a good sample --------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_model_maps_inputs_to_logits(samples, name):
    sample = samples[name]
    records = sample.records
    inputs = records.inputs()
    assert inputs.dtype == torch.float32
    assert tuple(inputs.shape) == (len(records), *sample.manifest["input_shape"])
    assert torch.isfinite(inputs).all()
    with torch.no_grad():
        logits = sample.model(inputs)
    assert tuple(logits.shape) == (len(records), len(sample.manifest["features"]["classes"]))
    assert torch.isfinite(logits).all()
    assert not sample.model.training, "a loaded model is in eval mode"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_frame_has_reserved_columns_and_raw_features(samples, name):
    sample = samples[name]
    frame = sample.records.frame
    feature_names = [f["name"] for f in sample.manifest["features"]["features"]]
    assert list(frame.columns) == ["record_id", "label", "member", *feature_names]
    assert frame["member"].dtype == bool
    metrics = sample.manifest["metrics"]
    assert len(frame) == metrics["n_records"]
    assert int(frame["member"].sum()) == metrics["n_members"]
    assert int((~frame["member"]).sum()) == metrics["n_held_out"]
    labels = sample.records.labels()
    assert labels.dtype == torch.int64
    assert labels.tolist() == frame["label"].tolist()
    assert set(labels.tolist()) == set(range(sample.records.num_classes))
    # frame is a copy: editing it must not reach the table
    frame.loc[0, "label"] = 99
    assert sample.records.frame.loc[0, "label"] != 99


def test_raw_features_are_raw_not_encoded(samples):
    credit = samples["credit"].records.frame
    assert credit.loc[0, "purpose"] == "radio/television"  # APP-0001 in german.data
    assert credit.loc[0, "credit_amount"] == 1169
    digits = samples["digits"].records.frame
    assert digits.filter(like="px").to_numpy().max() == 16  # pixels 0..16, not scaled
    assert samples["digits"].records.inputs().max() == 1.0


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_ids_unique_strings_and_in_file_order(samples, name):
    ids = samples[name].records.ids
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, str) for i in ids)
    assert list(ids) == shipped_ids(name)


def test_id_formats():
    clinic = workbench.load_sample("clinic", root=SHIPPED).records.ids
    assert clinic[:3] == ("10056", "10059", "10089")  # pidnum, the trial's patient numbers
    assert all(i.isdigit() and not i.startswith("0") for i in clinic)
    credit = workbench.load_sample("credit", root=SHIPPED).records.ids
    assert credit == tuple(f"APP-{i:04d}" for i in range(1, 1001))
    digits = workbench.load_sample("digits", root=SHIPPED).records.ids
    assert digits == tuple(f"IMG-{i:04d}" for i in range(1, 1798))


def test_ids_and_inputs_stable_across_loads_and_copies(samples, copy_samples):
    root = copy_samples("clinic")
    again = workbench.load_sample("clinic", root=root)
    first = samples["clinic"]
    assert again.records.ids == first.records.ids
    assert torch.equal(again.records.inputs(), first.records.inputs())
    assert torch.equal(again.records.inputs(["10089", "10056"]),
                       first.records.inputs()[[2, 0]])
    assert workbench.weights_sha256(again.model) == workbench.weights_sha256(first.model)
    assert again.path == root / "clinic"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_manifest_metrics_match_recomputation(samples, name):
    """Recomputed with torch and sklearn directly, not through workbench.metrics."""
    sample = samples[name]
    frame = sample.records.frame
    member = frame["member"].to_numpy(dtype=bool)
    with torch.no_grad():
        logits = sample.model(sample.records.inputs())
    labels = sample.records.labels()
    correct = (logits.argmax(1) == labels).numpy()
    loss = F.cross_entropy(logits, labels, reduction="none").numpy()
    metrics = sample.manifest["metrics"]
    assert correct[member].mean() == pytest.approx(metrics["train_accuracy"], abs=ACCURACY_TOL)
    assert correct[~member].mean() == pytest.approx(metrics["test_accuracy"], abs=ACCURACY_TOL)
    auc = roc_auc_score(member.astype(int), -loss)
    assert auc == pytest.approx(metrics["loss_mia_auc"], abs=MIA_AUC_TOL)
    assert sample.records.reported_test_accuracy == metrics["test_accuracy"]
    # the unseen profile is read with it; its margins are less sure of the members than the
    # model that trained on them, and as sure as the model is of held-out records, give or
    # take how much harder models that never saw them find members
    profile = metrics["unseen_profile"]
    assert sample.records.reported_unseen_profile.to_dict() == profile
    assert len(profile["margins"]) == 99 and profile["margins"] == sorted(profile["margins"])
    held_out = ~member
    own_out = logits.gather(1, labels[:, None]).squeeze(1) - logits.scatter(
        1, labels[:, None], float("-inf")).max(1).values
    assert profile["margins"][49] == pytest.approx(
        float(own_out[torch.from_numpy(held_out.copy())].median()), abs=1.5)
    profile = profile["margins"]
    margin = logits.gather(1, labels[:, None]).squeeze(1) - logits.scatter(
        1, labels[:, None], float("-inf")).max(1).values
    assert profile[49] < float(margin[torch.from_numpy(member.copy())].median())


@pytest.mark.parametrize("name", TABULAR)
def test_tabular_models_leak_membership(samples, name):
    """The samples exist to show erasure: their members must be visibly distinguishable."""
    assert samples[name].manifest["metrics"]["loss_mia_auc"] >= 0.6


def test_sample_carries_recipe_and_schema(samples):
    credit = samples["credit"]
    assert credit.records.recipe == workbench.TrainRecipe(epochs=50, lr=1e-3, batch_size=32)
    assert credit.records.schema.classes == ("bad", "good")
    assert credit.records.name == "credit"
    kinds = {f.name: f.kind for f in samples["clinic"].records.schema.features}
    assert kinds["strat"] == kinds["arms"] == "categorical"
    assert kinds["age"] == "numeric" and kinds["hemo"] == "binary"


def test_list_samples_reads_manifests(samples):
    rows = workbench.list_samples(root=SHIPPED)
    assert [r["name"] for r in rows] == list(SAMPLE_NAMES)
    for row in rows:
        metrics = samples[row["name"]].manifest["metrics"]
        assert row["records"] == metrics["n_records"]
        for key in ("train_accuracy", "test_accuracy", "loss_mia_auc"):
            assert row[key] == metrics[key]


# --- bad input: always on copies ---------------------------------------------------------


def test_unknown_sample_name_lists_available():
    with pytest.raises(ValueError, match="unknown sample model 'mnist'") as info:
        workbench.load_sample("mnist", root=SHIPPED)
    for name in SAMPLE_NAMES:
        assert name in str(info.value)


def test_missing_weights_file(copy_samples):
    folder = copy_samples("credit") / "credit"
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"weights file .*model\.safetensors is missing"):
        workbench.load_sample("credit", root=folder.parent)


def test_missing_manifest(copy_samples):
    folder = copy_samples("credit") / "credit"
    (folder / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"credit.manifest\.json does not exist"):
        workbench.load_sample("credit", root=folder.parent)


def test_missing_sample_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        workbench.load_sample("digits", root=tmp_path)


def test_manifest_not_json(copy_samples):
    folder = copy_samples("credit") / "credit"
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"manifest\.json is not valid JSON"):
        workbench.load_sample("credit", root=folder.parent)


def test_manifest_wrong_schema_version(copy_samples):
    folder = copy_samples("credit") / "credit"
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="schema_version 99"):
        workbench.load_sample("credit", root=folder.parent)


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_manifest_files_must_stay_inside_the_sample_folder(copy_samples, kind):
    """A manifest that points outside its folder is refused, even with a matching hash."""
    folder = copy_samples("credit") / "credit"
    outside = folder.parent / "elsewhere.safetensors"
    named = "../elsewhere.safetensors" if kind == "relative" else str(outside)
    outside.write_bytes((folder / "model.safetensors").read_bytes())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["weights"]["path"] = named
    (folder / "manifest.json").write_text(json.dumps(manifest))
    try:
        with pytest.raises(IntegrityError, match="points outside the sample folder"):
            workbench.load_sample("credit", root=folder.parent)
    finally:
        outside.unlink()


def test_corrupt_weights_fail_the_hash_check(copy_samples):
    folder = copy_samples("credit") / "credit"
    (folder / "model.safetensors").write_bytes(b"\x00garbage, not a safetensors file" * 10)
    with pytest.raises(IntegrityError, match=r"weights file .*model\.safetensors does not match"):
        workbench.load_sample("credit", root=folder.parent)


def test_corrupt_weights_with_matching_hash_are_still_refused(copy_samples):
    """Even if the manifest is re-signed for the garbage, the reader must not crash obscurely."""
    folder = copy_samples("credit") / "credit"
    garbage = b"\x00garbage, not a safetensors file" * 10
    (folder / "model.safetensors").write_bytes(garbage)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["weights"]["sha256"] = workbench.hashing.sha256_bytes(garbage)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"model\.safetensors is corrupt or not a safetensors"):
        workbench.load_sample("credit", root=folder.parent)


def test_changed_weights_fail_the_state_hash(copy_samples):
    folder = copy_samples("credit") / "credit"
    model = workbench.load_model(folder / "model.safetensors")
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1.0
    workbench.save_model(model, folder / "model.safetensors")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["weights"]["sha256"] = workbench.hashing.sha256_file(
        folder / "model.safetensors")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="do not match the manifest's state hash"):
        workbench.load_sample("credit", root=folder.parent)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_one_changed_byte_in_records_fails_the_hash(copy_samples, name):
    folder = copy_samples(name) / name
    path = folder / "records.csv.gz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"records file .*records\.csv\.gz does not match "
                                             r"its manifest") as info:
        workbench.load_sample(name, root=folder.parent)
    assert isinstance(info.value, ValueError)  # callers may catch ValueError


def test_changed_preprocessing_fails_the_hash(copy_samples):
    folder = copy_samples("clinic") / "clinic"
    with open(folder / "preprocessing.json", "a") as handle:
        handle.write(" ")
    with pytest.raises(IntegrityError, match=r"preprocessing file .*preprocessing\.json"):
        workbench.load_sample("clinic", root=folder.parent)


def test_records_without_record_id(copy_samples, rewrite_records):
    folder = copy_samples("credit") / "credit"
    rewrite_records(folder, lambda f: f.drop(columns=["record_id"]))
    with pytest.raises(ValueError, match=r"records file .*records\.csv\.gz is missing the "
                                         r"column\(s\) \['record_id'\]"):
        workbench.load_sample("credit", root=folder.parent)


def test_records_with_duplicate_ids(copy_samples, rewrite_records):
    folder = copy_samples("credit") / "credit"

    def duplicate(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[1, "record_id"] = frame.loc[0, "record_id"]
        return frame

    rewrite_records(folder, duplicate)
    with pytest.raises(ValueError, match=r"record ids are not unique: \['APP-0001'\]"):
        workbench.load_sample("credit", root=folder.parent)


def _set_value(row: int, column: str, value):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return edit


@pytest.mark.parametrize(("name", "column"), [("credit", "credit_amount"), ("clinic", "age"),
                                              ("digits", "px10")])
def test_nan_in_features_is_refused_at_load(copy_samples, rewrite_records, name, column):
    folder = copy_samples(name) / name
    rewrite_records(folder, _set_value(7, column, np.nan))
    with pytest.raises(ValueError, match="NaN") as info:
        workbench.load_sample(name, root=folder.parent)
    assert "records.csv.gz" in str(info.value)


def test_unknown_category_is_refused_at_load(copy_samples, rewrite_records):
    folder = copy_samples("credit") / "credit"
    rewrite_records(folder, _set_value(3, "purpose", "spaceship"))
    with pytest.raises(ValueError, match=r"feature 'purpose' has categories \['spaceship'\]") \
            as info:
        workbench.load_sample("credit", root=folder.parent)
    assert "records.csv.gz" in str(info.value)


def test_unknown_numeric_category_is_refused_at_load(copy_samples, rewrite_records):
    folder = copy_samples("clinic") / "clinic"
    rewrite_records(folder, _set_value(0, "arms", 7))
    with pytest.raises(ValueError, match=r"feature 'arms' has categories \['7'\]"):
        workbench.load_sample("clinic", root=folder.parent)


def test_records_missing_a_feature_column(copy_samples, rewrite_records):
    folder = copy_samples("credit") / "credit"
    rewrite_records(folder, lambda f: f.drop(columns=["housing"]))
    with pytest.raises(ValueError, match=r"missing feature columns \['housing'\]"):
        workbench.load_sample("credit", root=folder.parent)


def test_copy_is_independent_of_shipped(copy_samples):
    """Sanity check of the fixture itself: a copy lives under tmp_path, not sample_models/."""
    root = copy_samples("digits")
    assert SHIPPED not in (root / "digits").resolve().parents
    shutil.rmtree(root / "digits")
    assert (SHIPPED / "digits" / "manifest.json").is_file()


def _with_metrics(tmp_path: Path, change) -> Path:
    """A copy of the shipped credit sample whose manifest's metrics ``change`` edits."""
    folder = tmp_path / "credit"
    shutil.copytree(SHIPPED / "credit", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest["metrics"])
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_an_earlier_releases_profile_is_not_read_and_says_how_to_get_a_new_one(tmp_path):
    def earlier(metrics):
        metrics["unseen_margin_quantiles"] = metrics.pop("unseen_profile")["margins"]

    with pytest.warns(UserWarning,
                      match="re-pack it with `workbench pack --unseen-profile`") as caught:
        sample = load_folder(_with_metrics(tmp_path, earlier))
    assert caught[0].filename == __file__  # the line that loaded it, not the loader's
    assert sample.records.reported_unseen_profile is None
    assert sample.records.reported_test_accuracy is not None


@pytest.mark.parametrize("missing, message", [
    ("expected_margins", "without expected margins"),
    ("margin_map", "without a margin map"),
])
def test_a_profile_of_an_earlier_release_is_read_with_a_warning_that_says_how_to_complete_it(
        tmp_path, missing, message):
    def earlier(metrics):
        del metrics["unseen_profile"][missing]

    with pytest.warns(UserWarning, match=f"{message}.*`workbench pack --unseen-profile`"):
        sample = load_folder(_with_metrics(tmp_path, earlier))
    profile = sample.records.reported_unseen_profile
    assert profile is not None and getattr(profile, missing) is None
    shipped = json.loads((SHIPPED / "credit" / "manifest.json").read_text())
    assert list(profile.margins) == shipped["metrics"]["unseen_profile"]["margins"]


@pytest.mark.parametrize("key, value, message", [
    ("features", ["a", "b", "c", "d"],
     "margin map of other features.*not read.*`workbench pack --unseen-profile`"),
    ("class_offsets", [0.0, -1.0, 0.5],
     "3 class offsets for a model of 2 classes.*not read.*`workbench pack --unseen-profile`"),
])
def test_a_margin_map_this_release_cannot_read_is_dropped_and_says_how_to_get_one(
        tmp_path, key, value, message):
    def unreadable(metrics):
        metrics["unseen_profile"]["margin_map"][key] = value

    with pytest.warns(UserWarning, match=message):
        sample = load_folder(_with_metrics(tmp_path, unreadable))
    profile = sample.records.reported_unseen_profile
    assert profile is not None and profile.margin_map is None
    assert profile.expected_margins is not None


def test_an_unreadable_map_is_dropped_even_on_a_card_without_expected_margins(tmp_path):
    def both(metrics):
        del metrics["unseen_profile"]["expected_margins"]
        metrics["unseen_profile"]["margin_map"]["class_offsets"] = [0.0, 1.0, 2.0]

    with pytest.warns(UserWarning, match="3 class offsets for a model of 2 classes"):
        sample = load_folder(_with_metrics(tmp_path, both))
    assert sample.records.reported_unseen_profile.margin_map is None


def test_the_shipped_margin_map_is_read_with_its_class_offsets(tmp_path):
    sample = load_folder(_with_metrics(tmp_path, lambda metrics: None))
    margin_map = sample.records.reported_unseen_profile.margin_map
    assert margin_map is not None and len(margin_map.class_offsets) == 2


def test_a_malformed_profile_is_refused_with_what_to_do(tmp_path):
    def truncated(metrics):
        metrics["unseen_profile"]["margins"] = metrics["unseen_profile"]["margins"][:10]

    with pytest.raises(ValueError, match="malformed unseen_profile .*99 finite quantiles.*re-pack"):
        load_folder(_with_metrics(tmp_path, truncated))
