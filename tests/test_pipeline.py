"""One pipeline: the same request through the CLI, the Python API and the notebook app gives
the same erasure, verdicts and record (rule included), and every route verifies."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from cli_toys import run_cli

from workbench.evidence import load_record, verify_ledger
from workbench.evidence.vault import open_vault
from workbench.evidence.verify import verify_record
from workbench.models import TabularMLP, save_model
from workbench.pipeline import (
    ErasureRequest,
    EvidenceOptions,
    Selection,
    check_request,
    run_request,
    write_evidence,
)
from workbench.records import RecordTable, TrainRecipe
from workbench.training import train_classifier
from workbench.widgets import ErasureApp, RunSettings

torch.set_num_threads(1)
FAST = {"steps": 20, "min_steps": 0, "inversion_steps": 5, "proxies": 256}
MATPLOTLIB = EvidenceOptions(pdf_renderer="matplotlib")


def cli_erase(tmp_path, name, *selection):
    return run_cli("erase", "--sample", "credit", *selection, "--out", tmp_path / name,
                   "--ledger", tmp_path / "ledger.sqlite", "--params", json.dumps(FAST),
                   "--gold-models", "2", "--attacks", "loss", "--pdf-renderer", "matplotlib",
                   "--quiet")


def api_request(samples, selection) -> ErasureRequest:
    sample = samples["credit"]
    return ErasureRequest(model=sample.model, table=sample.records, selection=selection,
                          params=FAST, gold_models=2, attacks=("loss",), model_name="credit",
                          records_source="sample:credit")


def same_erasure(a, b) -> None:
    assert a.model.after_sha256 == b.model.after_sha256
    assert a.erased.selection.kind == b.erased.selection.kind
    # the ids are keyed with each request's own secret: equal only through the vaults
    assert a.erased.record_ids != b.erased.record_ids
    assert open_vault(a.erased.vault_id).ids == open_vault(b.erased.vault_id).ids
    assert [(v.test, v.status) for v in a.tests.audit.verdicts] == \
        [(v.test, v.status) for v in b.tests.audit.verdicts]
    assert a.tests.audit.gold_standard_sha256s == b.tests.audit.gold_standard_sha256s


def test_a_class_request_is_the_same_from_cli_api_and_notebook(samples, tmp_path):
    code, _, err = cli_erase(tmp_path, "cli", "--class", "bad")
    assert code == 0, err
    by_cli = load_record(tmp_path / "cli" / "record.json")
    assert by_cli.erased.selection == Selection.of_classes(["bad"])
    assert by_cli.erased.is_class_request

    outcome = run_request(api_request(samples, Selection.of_classes(["bad"])))
    by_api = write_evidence(outcome, tmp_path / "api", ledger=tmp_path / "ledger.sqlite",
                            options=MATPLOTLIB).record

    app = ErasureApp("credit", background=False,
                     settings=RunSettings(gold_models=2, attacks=("loss",)))
    app.finder.klass.value = app.table.schema.classes.index("bad")
    app.finder.whole_class_button.click()
    for name, value in FAST.items():
        spec, control = app.method.controls[name]
        control.value = str(value) if spec.default is None else value
    app.run.run_button.click()
    assert app.run.messages.error is None, app.run.messages.error
    app.export.ledger = tmp_path / "ledger.sqlite"
    app.export.folder.value = str(tmp_path / "app")
    app.export.export_button.click()
    assert app.export.messages.error is None, app.export.messages.error
    by_app = load_record(app.export.files["record"])

    same_erasure(by_cli, by_api)
    same_erasure(by_cli, by_app)
    for record_file in (tmp_path / "cli" / "record.json", tmp_path / "api" / "record.json",
                        app.export.files["record"]):
        report = verify_record(record_file, ledger=tmp_path / "ledger.sqlite")
        assert report.ok, [c for c in report.checks if not c[1]]
        assert ("selection", True) in [(n, ok) for n, ok, _ in report.checks]
    assert verify_ledger(tmp_path / "ledger.sqlite").entries == 6  # records and report hashes


def test_a_condition_request_records_its_rule_and_verifies(samples, tmp_path):
    query = "duration_in_month > 40 and label == 1"
    code, _, err = cli_erase(tmp_path, "cli", "--where", query)
    assert code == 0, err
    record = load_record(tmp_path / "cli" / "record.json")
    assert record.erased.selection == Selection.where(query)
    assert record.erased.rule == f"query: {query}"
    assert "--where" in record.method.command and query in record.method.command
    code, out, _ = run_cli("verify", tmp_path / "cli" / "record.json")
    assert code == 0, out

    app = ErasureApp("credit", background=False)
    app.finder.query.value = query
    app.finder.add_matching_button.click()
    assert app.finder.selection == Selection.where(query)
    assert app.request().selection == record.erased.selection


def test_a_users_own_model_and_csv_erase_and_verify(samples, tmp_path):
    frame = samples["credit"].records.frame.rename(columns={"record_id": "applicant",
                                                            "label": "risk",
                                                            "member": "in_training"})
    frame["risk"] = frame["risk"].map({0: "bad", 1: "good"})
    frame["in_training"] = frame["in_training"].map({True: "yes", False: "no"})
    csv = tmp_path / "applicants.csv"
    frame.to_csv(csv, index=False)
    table = RecordTable.from_csv(csv, id_column="applicant", label_column="risk",
                                 member_column="in_training")
    members = table.members()
    model = train_classifier(TabularMLP(table.input_space.size, 2, (16,)), members.inputs(),
                             members.labels(), TrainRecipe(epochs=20, lr=0.01, batch_size=32),
                             seed=0)
    model_file = save_model(model, tmp_path / "mine.safetensors")
    request = ErasureRequest(
        model=model, table=table, selection=Selection.by_ids(members.ids[:30]), params=FAST,
        gold_models=0, attacks=("loss",), model_name="mine", before_file=str(model_file),
        records_source=table.csv_source(csv, id_column="applicant", label_column="risk",
                                        member_column="in_training"))
    written = write_evidence(run_request(request), tmp_path / "out",
                             ledger=tmp_path / "l.sqlite", options=MATPLOTLIB)
    assert written.record.erased.records_source.startswith("csv:")
    assert written.record.erased.selection.kind == "ids"
    report = verify_record(tmp_path / "out" / "record.json")  # records re-read from the CSV
    assert report.ok, [c for c in report.checks if not c[1]]
    # the user deletes the erased rows from their data: the vault still lets verify re-run
    erased = set(members.ids[:30])
    frame[~frame["applicant"].isin(erased)].to_csv(csv, index=False)
    report = verify_record(tmp_path / "out" / "record.json")
    assert report.ok, [c for c in report.checks if not c[1]]


@pytest.mark.parametrize("selection, message", [
    (Selection.where("duration_in_month > 500"), "matched no training records"),
    (Selection.of_classes(["excellent"]), "does not exist"),
    (Selection.by_ids(["APP-9999"]), "not in table"),
])
def test_bad_selections_are_refused_before_any_work(samples, selection, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        check_request(api_request(samples, selection))
    code, _, err = cli_erase(tmp_path, "x", *selection.cli_args())
    assert code == 2 and message in err
    assert not (tmp_path / "ledger.sqlite").exists() and not (tmp_path / "x").exists()


def test_a_request_without_a_recipe_cannot_ask_for_a_gold_standard(samples):
    request = api_request(samples, Selection.by_ids(["APP-0001"]))
    table = samples["credit"].records
    bare = RecordTable(table.frame, table.schema, table.encoder, name="bare")
    with pytest.raises(ValueError, match="no training recipe"):
        check_request(ErasureRequest(model=request.model, table=bare,
                                     selection=request.selection, gold_models=2))


def write_batch(path, text: str):
    path.write_text(text)
    return path


def test_a_batch_runs_every_good_row_and_reports_the_bad_one(samples, tmp_path):
    ids = " ".join(samples["credit"].records.members().ids[:26])
    batch = write_batch(tmp_path / "requests.csv",
                        "request_id,ids,where,class,due\n"
                        f"DSR-1,{ids},,,2026-12-31\n"
                        "DSR-2,,duration_in_month > 40 and label == 1,,\n"
                        "DSR-3,,,excellent,\n")
    code, out, err = run_cli("erase", "--sample", "credit", "--batch", batch, "--out",
                         tmp_path / "out", "--ledger", tmp_path / "ledger.sqlite", "--params",
                         json.dumps(FAST), "--gold-models", "2", "--attacks", "loss",
                         "--pdf-renderer", "matplotlib", "--quiet")
    assert code == 2 and "request DSR-3 not run: line 4: class 'excellent' does not exist" in err
    assert "| DSR-1 | 26 | synthetic |" in out and "| DSR-3 | - |" in out
    assert "2 of 3 requests erased" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["DSR-1", "DSR-2"]
    assert verify_ledger(tmp_path / "ledger.sqlite").entries == 4
    record = load_record(tmp_path / "out" / "DSR-2" / "record.json")
    assert record.request.reference == "DSR-2" and record.erased.selection.kind == "query"
    assert load_record(tmp_path / "out" / "DSR-1" / "record.json").request.due.startswith(
        "2026-12-31")


@pytest.mark.parametrize("text, message", [
    ("ids\nAPP-0001\n", "no request_id column"),
    ("request_id,ids\nA,APP-0001\nA,APP-0002\n", "line 3: request_id 'A' repeats line 2"),
    ("request_id,ids,where\nA,APP-0001,label == 1\n", "line 2 (A): give exactly one of"),
    ("request_id,owner\nA,me\n", "none of the selection columns"),
])
def test_a_bad_batch_file_writes_nothing(tmp_path, text, message):
    batch = write_batch(tmp_path / "requests.csv", text)
    code, _, err = run_cli("erase", "--sample", "credit", "--batch", batch, "--out",
                       tmp_path / "out", "--ledger", tmp_path / "ledger.sqlite")
    assert code == 2 and message in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "ledger.sqlite").exists()


def test_a_failing_erasure_climbs_the_escalation_ladder_and_records_every_attempt(
        samples, tmp_path):
    members = samples["credit"].records.members().ids
    request = dataclasses.replace(api_request(samples, Selection.by_ids(members[:40])),
                                  method="ssd", params=None, escalate=("retrain",))
    outcome = run_request(request)
    first = outcome.attempts[0]
    assert first.method == "ssd" and first.erasure == "FAIL"  # ssd leaves these records as is
    assert [a.method for a in outcome.attempts] == ["ssd", "retrain"]
    assert outcome.unlearned.method == "retrain" and outcome.audit.erasure != "FAIL"
    assert outcome.attempts[1].weights_sha256 == outcome.unlearned.weights_sha256
    written = write_evidence(outcome, tmp_path / "out", ledger=tmp_path / "l.sqlite",
                             options=MATPLOTLIB)
    assert written.record.attempts == outcome.attempts
    assert "ssd" in (tmp_path / "out" / "report.html").read_text()
    with pytest.raises(ValueError, match="forgets whole classes only"):
        check_request(dataclasses.replace(request, escalate=("unsir",)))
