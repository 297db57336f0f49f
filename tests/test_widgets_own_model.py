"""The notebook's own-model route (issue 16): a user's nn.Module class by import path with its
arguments, a CSV with its own column names and the training recipe, or a model package folder;
the app erases, exports, and the exported record verifies when the verifier names the class.
Every bad field is refused in words next to it, before any work."""

from __future__ import annotations

import html
import re

import pytest
import torch
from own_toys import RECIPE, own_world

import workbench as wb
from workbench.errors import InputError
from workbench.evidence import load_record
from workbench.evidence.verify import verify_record
from workbench.widgets import ErasureApp, RunSettings
from workbench.widgets.own import FILES, PACKAGE
from workbench.widgets.picker import OWN

torch.set_num_threads(1)
FAST = {"steps": 20, "min_steps": 0, "inversion_steps": 5, "proxies": 256}
QUERY = "diagnosis == 'malignant' and mean_radius > 17"
INTERNALS = ("Error:", "Traceback", "pandas", "FileNotFoundError", "JSONDecodeError",
             "TypeError", "--model-kwargs", "--model-class")
GOOD = {"model_class": "mymodels:Net", "model_kwargs": '{"width": 16}',
        "columns": "patient, diagnosis, in_training", "epochs": "20", "lr": "0.003",
        "batch_size": "32"}


@pytest.fixture
def own(tmp_path, monkeypatch):
    """As tests/test_own_model.py: the user's class in a module of their own, a CSV of
    scikit-learn's bundled breast-cancer data with their column names, a trained model."""
    net, table = own_world(tmp_path, monkeypatch)
    return tmp_path, net, table


def _app(root, **fields) -> ErasureApp:
    """An app on the own-model route with ``fields`` typed in (paths to the fixture's files)."""
    a = ErasureApp(None, background=False, settings=RunSettings(gold_models=2),
                   ledger=root / "ledger.sqlite")
    a.source.sample.value = OWN
    files = {"model": "net.safetensors", "records": "cancer.csv"}
    files.update((k, v) for k, v in fields.items() if k in files)
    values = {**GOOD, **fields, **{k: str(root / v) for k, v in files.items()}}
    for key, value in values.items():
        a.source.fields[key].value = value
    return a


def _said(a: ErasureApp, field: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", a.source.hints[field].value))


def _erase_and_export(a: ErasureApp, root) -> str:
    """Select by the user's own column names, run a small erasure, export; the record's path."""
    a.finder.query.value = QUERY
    a.finder.add_matching_button.click()
    assert a.finder.messages.error is None and len(a.forget) > 25
    for name, value in FAST.items():
        spec, control = a.method.controls[name]
        control.value = str(value) if spec.default is None else value
    a.run.run_button.click()
    assert a.run.messages.error is None, a.run.messages.error
    a.export.folder.value = str(root / "evidence")
    a.export.export_button.click()
    assert a.export.messages.error is None, a.export.messages.error
    return str(a.export.files["record"])


def test_own_class_csv_and_recipe_erase_export_and_verify(own):
    root, _, table = own
    a = _app(root)
    assert a.source.own.layout.display == ""
    assert a.source.rows["package"].layout.display == "none"
    a.source.load_button.click()
    assert a.source.messages.error is None, a.source.messages.error
    assert a.table.recipe == RECIPE and a.table.source_columns["label"] == "diagnosis"
    assert a.source.records_source == table.csv_source(root / "cancer.csv")
    assert "epochs=20" in a.source.records_source and a.source.hints["epochs"].value == ""
    record = _erase_and_export(a, root)
    loaded = load_record(record)
    assert loaded.model.architecture == {"class": "mymodels:Net", "kwargs": {"width": 16}}
    assert loaded.erased.selection.kind == "query"
    with pytest.raises(InputError, match="mymodels:Net"):  # never imported unasked
        verify_record(record, ledger=root / "ledger.sqlite")
    report = verify_record(record, ledger=root / "ledger.sqlite", model_class="mymodels:Net")
    assert report.ok, report.checks


def test_a_model_package_loads_only_with_its_class_then_erases_and_verifies(own):
    root, net, table = own
    wb.pack(net, table, root / "package")
    a = _app(root)
    a.source.route.value = PACKAGE
    assert a.source.rows["package"].layout.display == ""
    assert a.source.rows["epochs"].layout.display == "none"
    a.source.fields["model_class"].value = ""
    a.source.fields["package"].value = str(root / "package")
    a.source.load_button.click()
    assert "holds your own class 'mymodels:Net'" in _said(a, "model_class")
    assert a.table is None
    a.source.fields["model_class"].value = "mymodels:Other"
    a.source.load_button.click()
    assert "not the package's class 'mymodels:Net'" in _said(a, "model_class")
    a.source.fields["model_class"].value = "mymodels:Net"
    a.source.load_button.click()
    assert a.source.messages.error is None, a.source.messages.error
    assert a.source.records_source == f"folder:{(root / 'package').resolve()}"
    assert a.source.model_file is None and a.table.recipe == RECIPE
    record = _erase_and_export(a, root)
    report = verify_record(record, ledger=root / "ledger.sqlite", model_class="mymodels:Net")
    assert report.ok, report.checks


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"model_class": "mymodels"}, "model_class", "must read package.module:Class"),
    ({"model_class": "no_such_module_xyz:Net"}, "model_class", "cannot be imported"),
    ({"model_class": "mymodels:Missing"}, "model_class", "has no 'Missing'"),
    ({"model_class": ""}, "model_kwargs", "name it in Model class"),
    ({"model_class": "", "model_kwargs": ""}, "model_class", "does not say its architecture"),
    ({"model_kwargs": "{width: 16"}, "model_kwargs", "not JSON"),
    ({"model_kwargs": "[16]"}, "model_kwargs", "JSON object"),
    ({"model_kwargs": '{"depth": 3}'}, "model_kwargs", "cannot be built with arguments"),
    ({"model_kwargs": '{"width": 8}'}, "model_kwargs", "do not fit mymodels:Net built with"),
    ({"model": "cancer.csv"}, "model", "cannot be read as safetensors"),
    ({"lr": "", "batch_size": ""}, "lr", "give the learning rate too"),
    ({"epochs": "-3"}, "epochs", "a whole number above 0"),
    ({"lr": "fast"}, "lr", "a number above 0"),
    ({"columns": "patient, diagnosis"}, "columns", "name three columns"),
    ({"records": "missing.csv"}, "records", "does not exist"),
])
def test_each_bad_field_is_said_next_to_it_before_any_work(own, fields, field, says):
    root, _, _ = own
    a = _app(root, **fields)
    a.source.load_button.click()
    said = _said(a, field)
    assert says in said, said
    assert not any(word in said for word in INTERNALS), said
    assert a.table is None and a.source.records_source == ""
    assert all(hint.value == "" for key, hint in a.source.hints.items() if key != field)


def test_a_package_folder_that_is_not_one_is_said_next_to_it(own):
    root, _, _ = own
    a = _app(root)
    a.source.route.value = PACKAGE
    a.source.fields["package"].value = str(root / "nowhere")
    a.source.load_button.click()
    assert "does not exist" in _said(a, "package")
    a.source.fields["package"].value = str(root)  # a folder, but no manifest
    a.source.load_button.click()
    assert "manifest.json does not exist" in _said(a, "package") and a.table is None


def test_without_a_recipe_retraining_steps_are_refused_next_to_the_recipe(own):
    root, _, _ = own
    a = _app(root, epochs="", lr="", batch_size="")
    a.source.load_button.click()
    assert a.source.messages.error is None, a.source.messages.error
    assert a.table.recipe is None and "&epochs=" not in a.source.records_source
    assert "no training recipe" in _said(a, "epochs")  # said at load, not at the end of a run
    a.finder.query.value = QUERY
    a.finder.add_matching_button.click()
    a.run.run_button.click()  # the gold standard is on by default
    said = _said(a, "epochs")
    assert "the gold standard retrains the model" in said and "LOSS attack only" in said
    assert said in a.run.messages.error and a.outcome is None
    a.method.method.value = "retrain"
    a.method.gold.value = False
    a.run.run_button.click()
    assert "the retrain method retrains the model" in _said(a, "epochs")
    assert a.outcome is None
    a.method.method.value = "synthetic"
    for name, value in FAST.items():
        spec, control = a.method.controls[name]
        control.value = str(value) if spec.default is None else value
    a.run.run_button.click()  # no step retrains: the run goes ahead without a recipe
    assert a.run.messages.error is None, a.run.messages.error
    assert a.outcome is not None and "no training recipe" in _said(a, "epochs")
    assert a.source.route.value == FILES
