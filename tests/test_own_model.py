"""Your own model, end to end (issue 16): a user's nn.Module class named by import path, a CSV
with its own column names (string ids, text labels, a yes/no member column) and its training
recipe in the records source; the erasure is queried by the user's column names, recorded
with the class and its arguments, and verifies only when the verifier names that class."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from cli_toys import run_cli
from own_toys import RECIPE, own_world

import workbench as wb
from workbench.errors import InputError
from workbench.evidence import load_record
from workbench.models.user_class import build_user_model, import_class
from workbench.records import RecordTable
from workbench.samples.load import load_folder

torch.set_num_threads(1)


@pytest.fixture
def own(tmp_path, monkeypatch):
    _, table = own_world(tmp_path, monkeypatch)
    csv = tmp_path / "cancer.csv"
    return tmp_path, table.csv_source(csv)


@pytest.fixture
def packed(own):
    """The same model and records as a model package, written by ``workbench pack``."""
    root, source = own
    code, out, err = run_cli("pack", "--model", root / "net.safetensors", "--model-class",
                             "mymodels:Net", "--model-kwargs", json.dumps({"width": 16}),
                             "--records", source, "--out", root / "package")
    assert code == 0, err
    return root, root / "package"


def test_own_class_and_csv_erase_and_verify(own):
    root, source = own
    assert "recipe" not in source and "epochs=20" in source  # the recipe travels with it
    code, out, err = run_cli(
        "erase", "--model", root / "net.safetensors", "--model-class", "mymodels:Net",
        "--model-kwargs", json.dumps({"width": 16}), "--records", source,
        "--where", "diagnosis == 'malignant' and mean_radius > 17",
        "--out", root / "out", "--ledger", root / "ledger.sqlite", "--gold-models", "2",
        "--attacks", "loss", "--pdf-renderer", "matplotlib", "--quiet",
        "--params", json.dumps({"steps": 20, "min_steps": 0, "inversion_steps": 5}))
    assert code == 0, err
    record = load_record(root / "out" / "record.json")
    assert record.model.architecture == {"class": "mymodels:Net", "kwargs": {"width": 16}}
    assert record.erased.selection.kind == "query"
    assert record.erased.count > 25

    code, _, err = run_cli("verify", root / "out" / "record.json", "--ledger",
                           root / "ledger.sqlite")
    assert code == 2 and "--model-class mymodels:Net" in err  # never imported unasked
    code, out, err = run_cli("verify", root / "out" / "record.json", "--ledger",
                             root / "ledger.sqlite", "--model-class", "mymodels:Net")
    assert code == 0, out + err
    assert "ok   gold standard 2/2" in out and "ok   erasure verdict" in out


@pytest.mark.parametrize(("path", "message"), [
    ("mymodels", "must read package.module:Class"),
    ("no_such_module_xyz:Net", "cannot be imported"),
    ("mymodels:Missing", "has no 'Missing'"),
    ("mymodels:torch", "is not a torch.nn.Module subclass"),
])
def test_bad_class_paths_are_named(own, path, message):
    with pytest.raises(InputError, match=message):
        import_class(path)


def test_bad_constructor_arguments_are_named(own):
    with pytest.raises(InputError, match="cannot be built with arguments"):
        build_user_model("mymodels:Net", {"depth": 3})


def test_a_model_package_erases_and_verifies(packed):
    root, package = packed
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["architecture"] == {"class": "mymodels:Net", "kwargs": {"width": 16}}
    assert manifest["recipe"]["epochs"] == 20 and manifest["source_columns"]["label"] == \
        "diagnosis"
    code, _, err = run_cli("erase", "--package", package, "--where", "mean_radius > 20",
                           "--out", root / "o", "--ledger", root / "l.sqlite")
    assert code == 2 and "--model-class mymodels:Net" in err  # never imported unasked
    code, _, err = run_cli(
        "erase", "--package", package, "--model-class", "mymodels:Net",
        "--where", "diagnosis == 'malignant' and mean_radius > 17", "--out", root / "o",
        "--ledger", root / "l.sqlite", "--gold-models", "2", "--attacks", "loss",
        "--pdf-renderer", "matplotlib", "--quiet",
        "--params", json.dumps({"steps": 20, "min_steps": 0, "inversion_steps": 5}))
    assert code == 0, err
    record = load_record(root / "o" / "record.json")
    assert record.erased.records_source == f"folder:{package}"
    # the record keeps the card value the method read; changing the card afterwards (it is
    # not hashed) changes no evidence: verify still reproduces the verdicts
    read = record.method.resolved["reported_test_accuracy"]
    assert read == manifest["metrics"]["test_accuracy"]
    original = (package / "manifest.json").read_text()
    manifest["metrics"]["test_accuracy"] = 0.11
    (package / "manifest.json").write_text(json.dumps(manifest))
    try:
        code, out, err = run_cli("verify", root / "o" / "record.json", "--ledger",
                                 root / "l.sqlite", "--model-class", "mymodels:Net")
    finally:
        (package / "manifest.json").write_text(original)  # the package other tests share
    assert code == 0, out + err


def test_pack_refuses_a_used_folder_and_a_table_without_recipe(own, tmp_path):
    root, _ = own
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("mine")
    net = build_user_model("mymodels:Net", {"width": 16})
    table = RecordTable.from_csv(root / "cancer.csv", id_column="patient",
                                 label_column="diagnosis", member_column="in_training")
    with pytest.raises(InputError, match="no training recipe"):
        wb.pack(net, table, tmp_path / "new")
    with_recipe = RecordTable.from_csv(root / "cancer.csv", id_column="patient",
                                       label_column="diagnosis", member_column="in_training",
                                       recipe=RECIPE)
    with pytest.raises(InputError, match="not an empty folder"):
        wb.pack(net, with_recipe, tmp_path / "used")
    assert not (tmp_path / "new").exists() and (tmp_path / "used" / "x").read_text() == "mine"


def test_the_recorded_command_line_reruns_a_package_request(packed):
    root, package = packed
    code, _, err = run_cli(
        "erase", "--package", package, "--model-class", "mymodels:Net", "--where",
        "mean_radius > 20", "--out", root / "o", "--ledger", root / "l.sqlite",
        "--reference", "none", "--attacks", "loss", "--pdf-renderer", "matplotlib", "--quiet",
        "--params", json.dumps({"steps": 20, "min_steps": 0, "inversion_steps": 5}))
    assert code == 0, err
    command = load_record(root / "o" / "record.json").method.command
    assert f"--package {package}" in command and "--model-class mymodels:Net" in command
    assert "--model None" not in command


def test_pack_can_report_an_unseen_profile_that_the_package_then_carries(packed, own):
    root, package = packed
    _, source = own
    plain = json.loads((package / "manifest.json").read_text())
    assert "unseen_profile" not in plain["metrics"]  # only when asked (10 trainings)
    assert load_folder(package, model_class="mymodels:Net").records.reported_unseen_profile \
        is None
    code, _, err = run_cli("pack", "--model", root / "net.safetensors", "--model-class",
                           "mymodels:Net", "--model-kwargs", json.dumps({"width": 16}),
                           "--records", source, "--out", root / "profiled", "--unseen-profile")
    assert code == 0, err
    profile = json.loads((root / "profiled" / "manifest.json").read_text())[
        "metrics"]["unseen_profile"]
    assert len(profile["margins"]) == 99 and profile["margins"] == sorted(profile["margins"])
    assert profile["drift_allowance"] >= 0  # measured on 16 erasures of the package's model
    sample = load_folder(root / "profiled", model_class="mymodels:Net")
    assert sample.records.reported_unseen_profile.to_dict() == profile


def test_pack_refuses_an_unseen_profile_it_cannot_measure_before_writing(own, tmp_path):
    root, _ = own
    frame = pd.read_csv(root / "cancer.csv")
    frame["in_training"] = np.where(np.arange(len(frame)) < 8, "yes", "no")  # 8 members
    frame.to_csv(tmp_path / "few.csv", index=False)
    few = RecordTable.from_csv(tmp_path / "few.csv", id_column="patient",
                               label_column="diagnosis", member_column="in_training",
                               recipe=RECIPE)
    net = build_user_model("mymodels:Net", {"width": 16})
    with pytest.raises(InputError, match="unseen profile: .*at least 10 members"):
        wb.pack(net, few, tmp_path / "new", unseen_profile=True)
    assert not (tmp_path / "new").exists()
